//! Errors: why a text could not be parsed.

use crate::span::Span;

/// Why a LaTeX or plain-text answer could not be turned into an expression tree.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text breaks the grammar at `span`.
    #[error("{message} at bytes {}..{}", span.start, span.end)]
    Parse {
        /// Where the parser stopped.
        span: Span,
        /// What went wrong.
        message: &'static str,
        /// What the parser expected instead, when one thing would have fitted.
        expected: Option<&'static str>,
    },
    /// The text is longer than [`crate::MAX_ANSWER_LEN`]; shorten it (extract the answer first).
    #[error("answer is {len} bytes, more than the limit of {limit}")]
    TooLong {
        /// Length of the text.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Brackets or groups nest deeper than [`crate::MAX_DEPTH`].
    #[error("nesting deeper than {limit} at byte {}", span.start)]
    TooDeep {
        /// Where the limit was reached.
        span: Span,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    /// Renders the error for `source` (the text that was parsed) with a caret line under the offending span:
    ///
    /// ```text
    /// error: expected `}` at bytes 6..6
    ///   \frac{1
    ///         ^
    /// ```
    pub fn render(&self, source: &str) -> String {
        let span = match self {
            Error::Parse { span, .. } | Error::TooDeep { span, .. } => *span,
            Error::TooLong { .. } => return format!("error: {self}"),
        };
        let start = floor_char(source, span.start.min(source.len()));
        let end = floor_char(source, span.end.min(source.len())).max(start);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let line = &source[line_start..line_end];
        let pad = source[line_start..start].chars().count();
        let width = source[start..end.min(line_end)].chars().count().max(1);
        let head = match self {
            Error::Parse { message, expected: Some(e), .. } => format!("error: {message}, expected {e}"),
            _ => format!("error: {self}"),
        };
        format!("{head}\n  {line}\n  {}{}", " ".repeat(pad), "^".repeat(width))
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

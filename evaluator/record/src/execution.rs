//! The result of one execution, as the sandbox reports it and as trajectories store it.
//!
//! JSON form (one object; `schema` lives on the enclosing record):
//!
//! | field | type | meaning |
//! | --- | --- | --- |
//! | `status` | string | one of [`Status`], snake_case |
//! | `stdout`, `stderr` | string | what the guest wrote, lossily decoded as UTF-8, capped (see `truncated`) |
//! | `error` | string or null | one-line summary: the last line of a traceback (`NameError: name 'y' is not defined`), or the limit that was hit |
//! | `exit_code` | integer or null | the guest's `sys.exit` code when it called it |
//! | `duration_ms` | number | wall-clock time of the execution on the host |
//! | `truncated` | bool | true when output passed the output cap and was cut |

use serde::{Deserialize, Serialize};

/// How an execution ended. Each limit has its own status so callers can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Ran to completion (or `sys.exit(0)`).
    Ok,
    /// Raised an uncaught Python exception, or exited with a non-zero code.
    Error,
    /// Passed its wall-clock deadline.
    Timeout,
    /// Tried to grow linear memory past the cap.
    MemoryLimit,
    /// Wrote more than the output cap over stdout and stderr; output is cut there.
    OutputLimit,
    /// Used up its fuel (instruction budget).
    FuelExhausted,
    /// The guest trapped for another reason (stack exhaustion in the interpreter, `unreachable`).
    Crash,
}

impl Status {
    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Timeout => "timeout",
            Status::MemoryLimit => "memory_limit",
            Status::OutputLimit => "output_limit",
            Status::FuelExhausted => "fuel_exhausted",
            Status::Crash => "crash",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of running one code block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// How it ended.
    pub status: Status,
    /// Standard output, capped.
    pub stdout: String,
    /// Standard error, capped.
    pub stderr: String,
    /// One-line summary of what went wrong; `None` when the status is [`Status::Ok`].
    pub error: Option<String>,
    /// Exit code passed to `sys.exit`, when the guest called it.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Host wall-clock duration in milliseconds.
    pub duration_ms: f64,
    /// True when output passed the output cap and was cut.
    #[serde(default)]
    pub truncated: bool,
}

impl Execution {
    /// An empty result with the given status.
    pub fn new(status: Status) -> Self {
        Execution {
            status,
            stdout: String::new(),
            stderr: String::new(),
            error: None,
            exit_code: None,
            duration_ms: 0.0,
            truncated: false,
        }
    }

    /// The exact text appended to a trajectory after the code block that produced this result
    /// (CIR-METHOD §1): `"\n```output\n" + CONTENT + "\n```\n"`.
    ///
    /// CONTENT is the trimmed stdout when the run succeeded (also when only its output was cut), `Timeout Error` on a
    /// timeout, otherwise the one-line error summary; longer than [`FEEDBACK_LIMIT`] characters it becomes the first
    /// 200 + `...` + the last 200.
    pub fn feedback(&self) -> String {
        let content = match self.status {
            Status::Ok | Status::OutputLimit => self.stdout.trim(),
            Status::Timeout => "Timeout Error",
            _ => self.error.as_deref().unwrap_or(self.status.as_str()),
        };
        feedback(content)
    }
}

/// The kind of error report a code block's feedback carried: how the error-feedback statistics split trajectories
/// ([`crate::metrics::ErrorFeedback`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The code did not compile: `SyntaxError` and its subclasses `IndentationError` and `TabError`.
    Syntax,
    /// A name was used before it was defined: `NameError` and its subclass `UnboundLocalError`.
    Name,
    /// The deadline passed (the feedback is `Timeout Error`).
    Timeout,
    /// Any other exception, a non-zero exit, a resource limit other than the output cap, a crash, or a block the
    /// sandbox refused.
    Other,
}

impl ErrorKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [ErrorKind; 4] = [ErrorKind::Syntax, ErrorKind::Name, ErrorKind::Timeout, ErrorKind::Other];

    /// The snake_case name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Name => "name",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

impl Execution {
    /// The kind of error report this execution fed back, or `None` when its feedback was the program's output
    /// ([`Status::Ok`], and [`Status::OutputLimit`], whose feedback is the output as far as it was kept).
    ///
    /// The exception is read from the error line (`NameError: name 'y' is not defined`), the name before the first
    /// `:`, module prefix ignored.
    ///
    /// ```
    /// use cir_record::{ErrorKind, Execution, Status};
    ///
    /// let e = Execution { error: Some("IndentationError: unexpected indent".into()), ..Execution::new(Status::Error) };
    /// assert_eq!(e.error_kind(), Some(ErrorKind::Syntax));
    /// assert_eq!(Execution::new(Status::Ok).error_kind(), None);
    /// ```
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self.status {
            Status::Ok | Status::OutputLimit => None,
            Status::Timeout => Some(ErrorKind::Timeout),
            Status::Error => {
                let line = self.error.as_deref().unwrap_or("");
                let exception = line.split(':').next().unwrap_or("").trim();
                let name = exception.rsplit('.').next().unwrap_or(exception);
                Some(match name {
                    "SyntaxError" | "IndentationError" | "TabError" => ErrorKind::Syntax,
                    "NameError" | "UnboundLocalError" => ErrorKind::Name,
                    _ => ErrorKind::Other,
                })
            }
            Status::MemoryLimit | Status::FuelExhausted | Status::Crash => Some(ErrorKind::Other),
        }
    }
}

/// Longest CONTENT fed back as it is; longer content keeps its first and last `FEEDBACK_LIMIT / 2` characters.
pub const FEEDBACK_LIMIT: usize = 400;

/// Wraps `content` as tool feedback: `"\n```output\n" + content + "\n```\n"`, with `content` cut in the middle past
/// [`FEEDBACK_LIMIT`] characters.
pub fn feedback(content: &str) -> String {
    format!("\n```output\n{}\n```\n", truncate_middle(content, FEEDBACK_LIMIT))
}

/// The part of `feedback` (a [`feedback`] text) to append after sampled text ending with `sampled_end`: all of it,
/// or without its leading newline when the sampled text already ends with one — the token that closed the fence
/// carried the newline, and a sampled token is never changed — so the joined text is the reference's
/// `"```" + "\n```output\n…"` either way.
///
/// ```
/// use cir_record::{feedback, feedback_after};
/// let fb = feedback("4");
/// assert_eq!(feedback_after("print(2+2)\n```", &fb), "\n```output\n4\n```\n");
/// assert_eq!(feedback_after("print(2+2)\n```\n", &fb), "```output\n4\n```\n");
/// ```
pub fn feedback_after<'a>(sampled_end: &str, feedback: &'a str) -> &'a str {
    if sampled_end.ends_with('\n') { feedback.strip_prefix('\n').unwrap_or(feedback) } else { feedback }
}

/// `text` when it has at most `limit` characters, else its first and last `limit / 2` characters joined by `...`.
/// Counts Unicode scalar values, so a cut never splits a character.
pub fn truncate_middle(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    let count = text.chars().count();
    if count <= limit {
        return text.into();
    }
    let half = limit / 2;
    let head_end = text.char_indices().nth(half).map_or(text.len(), |(i, _)| i);
    let tail_start = text.char_indices().nth(count - half).map_or(text.len(), |(i, _)| i);
    format!("{}...{}", &text[..head_end], &text[tail_start..]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: Status, stdout: &str, error: Option<&str>) -> Execution {
        Execution { stdout: stdout.into(), error: error.map(Into::into), ..Execution::new(status) }
    }

    #[test]
    fn ok_feeds_back_trimmed_stdout() {
        assert_eq!(run(Status::Ok, "  x\n\n", None).feedback(), "\n```output\nx\n```\n");
    }

    #[test]
    fn error_feeds_back_the_error_line_not_stdout() {
        let r = run(Status::Error, "partial\n", Some("NameError: name 'y' is not defined"));
        assert_eq!(r.feedback(), "\n```output\nNameError: name 'y' is not defined\n```\n");
    }

    #[test]
    fn timeout_feeds_back_the_reference_string() {
        assert_eq!(run(Status::Timeout, "1\n2\n", None).feedback(), "\n```output\nTimeout Error\n```\n");
    }

    #[test]
    fn long_content_is_cut_in_the_middle() {
        let text: String = (0..1000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let cut = truncate_middle(&text, 400);
        assert_eq!(cut.chars().count(), 403);
        assert_eq!(&cut[..200], &text[..200]);
        assert_eq!(&cut[200..203], "...");
        assert_eq!(&cut[203..], &text[800..]);
        assert_eq!(truncate_middle(&text[..400], 400), &text[..400]);
    }

    #[test]
    fn cut_respects_multibyte_characters() {
        let text = "é".repeat(500);
        let cut = truncate_middle(&text, 400);
        assert_eq!(cut.chars().count(), 403);
    }

    #[test]
    fn error_kinds_follow_the_exception_and_the_status() {
        for (status, error, kind) in [
            (Status::Ok, None, None),
            (Status::OutputLimit, Some("output limit"), None),
            (Status::Timeout, None, Some(ErrorKind::Timeout)),
            (Status::Error, Some("SyntaxError: '(' was never closed"), Some(ErrorKind::Syntax)),
            (Status::Error, Some("IndentationError: expected an indented block"), Some(ErrorKind::Syntax)),
            (Status::Error, Some("TabError: inconsistent use of tabs"), Some(ErrorKind::Syntax)),
            (Status::Error, Some("NameError: name 'y' is not defined"), Some(ErrorKind::Name)),
            (Status::Error, Some("UnboundLocalError: cannot access local variable 'x'"), Some(ErrorKind::Name)),
            (Status::Error, Some("sympy.core.sympify.SympifyError: bad"), Some(ErrorKind::Other)),
            (Status::Error, Some("ZeroDivisionError: division by zero"), Some(ErrorKind::Other)),
            (Status::Error, Some("the sandbox did not run the code: empty"), Some(ErrorKind::Other)),
            (Status::Error, None, Some(ErrorKind::Other)),
            (Status::MemoryLimit, Some("MemoryError"), Some(ErrorKind::Other)),
            (Status::FuelExhausted, None, Some(ErrorKind::Other)),
            (Status::Crash, None, Some(ErrorKind::Other)),
        ] {
            assert_eq!(run(status, "", error).error_kind(), kind, "{status} {error:?}");
        }
    }

    #[test]
    fn json_round_trip_uses_snake_case_status() {
        let r = run(Status::MemoryLimit, "", Some("MemoryError: linear memory limit of 512 MiB reached"));
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"status\":\"memory_limit\""), "{json}");
        assert_eq!(serde_json::from_str::<Execution>(&json).unwrap(), r);
    }
}

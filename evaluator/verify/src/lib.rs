//! `cir-verify`: is a model's final answer equivalent to the gold answer?
//!
//! Phases: [`extract_answer`] finds the final answer in a whole response (last `\boxed{…}`, "the final answer is",
//! last math segment, last number); the lexer turns LaTeX or plain text into tokens with byte spans; [`parse`]
//! builds a [`Node`] tree by recursive descent; the equivalence phase compares two trees exactly (big rationals),
//! symbolically (canonical forms and randomized evaluation) or numerically (decimals at the precision written),
//! and [`verify`] returns a [`Verdict`] with a short [`Reason`].
//!
//! ```
//! use cir_verify::{verify, Reason};
//! let v = verify("so the answer is $\\boxed{\\dfrac{1}{2}}$", "0.5");
//! assert!(v.equivalent);
//! assert_eq!(v.reason, Reason::Exact);
//! // A decimal equals a value to the precision it was written with.
//! assert!(verify("0.333", "\\frac{1}{3}").equivalent);
//! assert!(!verify("0.334", "\\frac{1}{3}").equivalent);
//! ```
//!
//! Bounded and total: inputs are capped ([`MAX_INPUT_LEN`], [`MAX_ANSWER_LEN`]), nesting is capped
//! ([`MAX_DEPTH`]), exact arithmetic falls back to floats past a size limit, and no input panics. Pure: no I/O,
//! threads or clocks, so it builds for `wasm32-unknown-unknown`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ast::{Bracket, Constant, Func, Node, NumberSet, RelOp, SetOp};
pub use equiv::POINTS;
pub use error::Error;
pub use options::{Options, PercentMode};
pub use span::Span;

mod ast;
mod equiv;
mod error;
mod extract;
mod latex;
mod lexer;
mod options;
mod parser;
mod span;
mod words;

/// Longest response or gold text read, in bytes (default 1 MiB): longer texts are read from their last 1 MiB,
/// where the final answer is. Bounds extraction time.
pub const MAX_INPUT_LEN: usize = 1 << 20;

/// Longest extracted answer parsed, in bytes (4 KiB): final answers are short; this bounds parse and compare time.
pub const MAX_ANSWER_LEN: usize = 4096;

/// Deepest nesting of brackets and operators accepted (64): deeper input is an error, not a stack overflow.
pub const MAX_DEPTH: usize = 64;

/// Largest decimal exponent written in scientific notation that is honoured (`1e400` is read as 1e400; `1e99999`
/// as 1e400): bounds the size of literals.
pub(crate) const MAX_EXPONENT_DIGITS: i64 = 400;

/// The reason given when a response holds no final answer ([`Reason::NoAnswer`] as text): the one spelling every
/// crate that grades uses.
pub const NO_ANSWER: &str = "no answer found";

/// Why two answers were judged equal or different.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The same expression once normalized.
    Identical,
    /// Equal exact values.
    Exact,
    /// Equal numbers within the written precision or tolerance.
    Numeric,
    /// Equal expressions at every test point, or equal relations.
    Symbolic,
    /// Equal sets, tuples or intervals.
    Set,
    /// The same words.
    Text,
    /// Parsed, compared, not equivalent.
    Different,
    /// The comparison needed more steps than the work limit allows (huge lists of expressions): judged not
    /// equivalent.
    LimitReached,
    /// The prediction holds no answer.
    NoAnswer,
    /// The gold text holds no answer.
    NoGold,
    /// The prediction's answer could not be parsed (and differs from the gold as text).
    UnparseablePrediction,
    /// The gold answer could not be parsed (and differs from the prediction as text).
    UnparseableGold,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reason::Identical => "equal: identical",
            Reason::Exact => "equal: exact",
            Reason::Numeric => "equal: numeric",
            Reason::Symbolic => "equal: symbolic",
            Reason::Set => "equal: set",
            Reason::Text => "equal: text",
            Reason::Different => "different",
            Reason::LimitReached => "different: work limit reached",
            Reason::NoAnswer => NO_ANSWER,
            Reason::NoGold => "no gold answer found",
            Reason::UnparseablePrediction => "unparseable prediction",
            Reason::UnparseableGold => "unparseable gold",
        })
    }
}

/// The result of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the prediction is equivalent to the gold answer.
    pub equivalent: bool,
    /// Why.
    pub reason: Reason,
    /// The answer extracted from the prediction (what [`extract_answer`] finds, under the options' extraction
    /// rules), or `None` when it holds none.
    pub pred_answer: Option<String>,
    /// The answer extracted from the gold text, or `None` when it holds none.
    pub gold_answer: Option<String>,
}

/// Verifies `pred` (a bare answer or a whole response) against `gold` (a bare answer or a worked solution whose
/// last `\boxed` is the answer) with the default [`Options`].
pub fn verify(pred: &str, gold: &str) -> Verdict {
    verify_with(pred, gold, &Options::default())
}

/// [`verify`] with explicit options.
pub fn verify_with(pred: &str, gold: &str, opts: &Options) -> Verdict {
    let gold_answer = extract_with(gold, opts);
    let pred_answer = extract_with(pred, opts);
    let (equivalent, reason) = match (&pred_answer, &gold_answer) {
        (_, None) => (false, Reason::NoGold),
        (None, _) => (false, Reason::NoAnswer),
        (Some(p), Some(g)) => compare(p, g, opts),
    };
    Verdict { equivalent, reason, pred_answer, gold_answer }
}

/// Compares two extracted answers.
fn compare(p: &str, g: &str, opts: &Options) -> (bool, Reason) {
    let no = |reason| (false, reason);
    let mut p = p;
    if let Some(letter) = choice_letter(g) {
        if let Some(pl) = choice_in(p) {
            return if pl == letter { (true, Reason::Text) } else { no(Reason::Different) };
        }
        p = p.trim();
    }
    let mut pn = parse_readings(p);
    if pn.is_empty() {
        // Prose inside math (`$? just about 1$`): its last number.
        if let Some(n) = extract::last_number(p) {
            pn = parse_readings(&n);
        }
    }
    let gn = parse_readings(g);
    let same_text = || normalize_text(p) == normalize_text(g);
    if pn.is_empty() {
        return if same_text() { (true, Reason::Identical) } else { no(Reason::UnparseablePrediction) };
    }
    if gn.is_empty() {
        return if same_text() { (true, Reason::Identical) } else { no(Reason::UnparseableGold) };
    }
    let ctx = equiv::Ctx::new(opts);
    for a in &pn {
        for b in &gn {
            if let Some(r) = equiv::equivalent(a, b, &ctx) {
                return (true, r);
            }
        }
    }
    no(if ctx.exhausted() { Reason::LimitReached } else { Reason::Different })
}

/// The final answer in a response or worked solution, or `None` when none is found.
///
/// ```
/// assert_eq!(cir_verify::extract_answer("so $x = \\boxed{\\frac{1}{2}}$.").as_deref(), Some("\\frac{1}{2}"));
/// assert_eq!(cir_verify::extract_answer("The final answer is 34. I hope it is correct.").as_deref(), Some("34"));
/// ```
pub fn extract_answer(text: &str) -> Option<String> {
    extract_with(text, &Options::default())
}

fn extract_with(text: &str, opts: &Options) -> Option<String> {
    let mut start = text.len().saturating_sub(MAX_INPUT_LEN);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    extract::extract(&text[start..], opts.lenient_last_line)
}

/// Parses one answer (LaTeX or plain text, no extraction) into a tree.
///
/// # Errors
/// [`Error::Parse`] with the span where the grammar broke, [`Error::TooLong`] past [`MAX_ANSWER_LEN`],
/// [`Error::TooDeep`] past [`MAX_DEPTH`].
///
/// ```
/// let e = cir_verify::parse("\\frac{1}{").unwrap_err();
/// assert!(e.render("\\frac{1}{").contains('^'));
/// ```
pub fn parse(latex: &str) -> Result<Node, Error> {
    let text = extract::undouble(latex);
    parser::parse_with(&text, lexer::NumberStyle { thousands_comma: true, decimal_comma: false })
}

/// Readings of an answer whose commas are ambiguous (`1,000`: one thousand or a list; `2,74`: a decimal comma).
fn parse_readings(answer: &str) -> Vec<Node> {
    let text = extract::undouble(answer);
    let t = text.trim();
    let b = t.as_bytes();
    let digit_comma = b.windows(2).any(|w| w[0] == b',' && w[1].is_ascii_digit())
        && b.windows(2).any(|w| w[0].is_ascii_digit() && w[1] == b',');
    let mut styles = vec![lexer::NumberStyle { thousands_comma: true, decimal_comma: false }];
    if digit_comma {
        styles.push(lexer::NumberStyle { thousands_comma: false, decimal_comma: false });
        let core = t.trim_start_matches('-');
        let parts: Vec<&str> = core.split(',').collect();
        let is_dec = parts.len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit() || c == b'.'));
        if is_dec && !parts[0].contains('.') && !parts[1].contains('.') {
            styles.push(lexer::NumberStyle { thousands_comma: false, decimal_comma: true });
        }
    }
    let mut out = Vec::new();
    for s in styles {
        if let Ok(n) = parser::parse_with(&text, s)
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

fn normalize_text(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '$').collect::<String>().to_lowercase()
}

/// A multiple-choice letter A–E written alone: `C`, `(C)`, `\text{C}`, `\textbf{(C)}`.
fn choice_letter(s: &str) -> Option<char> {
    let mut t = s.trim().to_string();
    for w in ["\\textbf", "\\text", "\\mathrm", "\\mathbf", "{", "}", "(", ")", "$", ".", " "] {
        t = t.replace(w, "");
    }
    let mut cs = t.chars();
    match (cs.next(), cs.next()) {
        (Some(c @ 'A'..='E'), None) => Some(c),
        _ => None,
    }
}

/// The choice a prediction makes: a letter alone, or the first `(X)` in it.
fn choice_in(p: &str) -> Option<char> {
    if let Some(c) = choice_letter(p) {
        return Some(c);
    }
    let b = p.as_bytes();
    (0..b.len().saturating_sub(2))
        .find(|&i| b[i] == b'(' && (b'A'..=b'E').contains(&b[i + 1]) && b[i + 2] == b')')
        .map(|i| b[i + 1] as char)
}

//! The fence rule: where a tool call starts and ends. This one function decides it for every policy: the loop applies
//! it to the text a policy returns, the burn sampler to stop generation on the exact token, `cir-train serve` to its
//! `stop_at_code_block` extension.
//!
//! - A tool call opens with `` ```python `` followed, on the same line, only by spaces or tabs, then a newline: so
//!   `` ```python3 ``, `` ```pythonic `` and `` ```python x `` open no tool call (the reference runs only
//!   `` ```python `` blocks). The opening fence need not start a line (models write `Let me compute:```python`).
//! - It closes at the first three backticks that start a line inside it (right after the opening line's newline for
//!   an empty block, else after a newline). Backticks elsewhere in a line (`` s = '```' ``) close nothing.
//! - The block is closed as soon as those three backticks are there: what follows them on the line is not part of
//!   the rule.

use std::ops::Range;

/// The opening fence of a tool call.
pub const OPEN: &str = "```python";

/// The stop string given to an OpenAI-compatible server: a closing fence and its newline. An opening
/// `` ```python `` fence does not contain it; a bare fence opening another block does, which the loop recognises
/// (no Python block closes there) and generation goes on.
pub const CODE_STOP: &str = "```\n";

/// A closed code block found in a text, as byte offsets into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Where the opening fence starts.
    pub start: usize,
    /// The code: from after the opening line to before the newline that precedes the closing fence.
    pub code: Range<usize>,
    /// Just past the closing fence's three backticks.
    pub end: usize,
}

/// The first closed tool-call block of `text`, by the rule of the [module](self).
///
/// ```
/// use cir_rollout::find_block;
/// let text = "Compute:\n```python\nprint(2 + 2)\n```\n";
/// let b = find_block(text).unwrap();
/// assert_eq!((&text[b.code.clone()], &text[b.start..b.end]), ("print(2 + 2)", "```python\nprint(2 + 2)\n```"));
/// assert_eq!(find_block("```python3\nprint(1)\n```"), None);
/// ```
pub fn find_block(text: &str) -> Option<Block> {
    let mut from = 0;
    while let Some(at) = text[from..].find(OPEN) {
        let start = from + at;
        from = start + OPEN.len();
        let Some(code_start) = opening_line_end(text, start) else { continue };
        if let Some(close) = closing_fence(text, code_start) {
            let code_end = if close > code_start { close - 1 } else { close };
            return Some(Block { start, code: code_start..code_end, end: close + 3 });
        }
        // An open block: later openers are inside it.
        return None;
    }
    None
}

/// True when `text` ends inside an open tool-call block (its opening line complete, no closing fence yet).
pub fn ends_inside_block(text: &str) -> bool {
    let mut from = 0;
    while let Some(at) = text[from..].find(OPEN) {
        let start = from + at;
        from = start + OPEN.len();
        let Some(code_start) = opening_line_end(text, start) else { continue };
        match closing_fence(text, code_start) {
            Some(close) => from = close + 3,
            None => return true,
        }
    }
    false
}

/// The offset after the newline that ends a valid opening line at `start`, or `None` when the line holds more than
/// whitespace after the fence or has no newline yet.
fn opening_line_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start + OPEN.len()..];
    let newline = rest.find('\n')?;
    rest[..newline].chars().all(|c| c == ' ' || c == '\t' || c == '\r').then_some(start + OPEN.len() + newline + 1)
}

/// The offset of the first line-initial fence at or after `code_start`.
fn closing_fence(text: &str, code_start: usize) -> Option<usize> {
    if text[code_start..].starts_with("```") {
        return Some(code_start);
    }
    text[code_start..].find("\n```").map(|i| code_start + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a found block splits the text into: prose before it, the code, the block's own text.
    type Split = (&'static str, &'static str, &'static str);

    /// (text, the expected split).
    const CASES: &[(&str, Option<Split>)] = &[
        ("Hi\n```python\nprint(1)\n```\n```output\n9\n```", Some(("Hi\n", "print(1)", "```python\nprint(1)\n```"))),
        ("```python\nx = 1\nprint(x)\n```", Some(("", "x = 1\nprint(x)", "```python\nx = 1\nprint(x)\n```"))),
        ("Then:```python\nprint(2)\n```", Some(("Then:", "print(2)", "```python\nprint(2)\n```"))),
        ("```python  \nprint(3)\n```x", Some(("", "print(3)", "```python  \nprint(3)\n```"))),
        ("```python\n```", Some(("", "", "```python\n```"))),
        ("```python\ns = '```'\n```", Some(("", "s = '```'", "```python\ns = '```'\n```"))),
        // The first valid opener counts; an invalid one is skipped.
        ("```python3\nx\n```\nand ```python\ny\n```", Some(("```python3\nx\n```\nand ", "y", "```python\ny\n```"))),
        ("```python\nprint(1)\n", None),
        ("```python", None),
        ("```js\nx\n```", None),
        ("```python3\nx\n```", None),
        ("use ```python blocks\n```", None),
        ("no code", None),
    ];

    #[test]
    fn the_fence_rule_table() {
        for (text, expected) in CASES {
            let got = find_block(text).map(|b| (&text[..b.start], &text[b.code.clone()], &text[b.start..b.end]));
            assert_eq!(got, *expected, "{text:?}");
        }
    }

    #[test]
    fn open_blocks_at_the_end() {
        assert!(ends_inside_block("Then:\n```python\n"));
        assert!(ends_inside_block("```python\nx\n```\nagain ```python\ny = 2\n"));
        assert!(!ends_inside_block("```python\nx\n```\n```output\n1\n```\n"));
        assert!(!ends_inside_block("```python"), "the opening line is not complete");
        assert!(!ends_inside_block("no code"));
    }
}

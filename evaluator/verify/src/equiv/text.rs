//! Strategy: words against words (`yes` = `true`, a leading "the" ignored); words against math are different.

use crate::Reason;
use crate::ast::Node;

use super::{Ctx, Step};

/// Decides every pair in which one side is text.
pub(super) fn compare(a: &Node, b: &Node, _ctx: &Ctx) -> Step {
    match (a, b) {
        (Node::Text(x), Node::Text(y)) => Step::Decided(text_eq(x, y).then_some(Reason::Text)),
        (Node::Text(_), _) | (_, Node::Text(_)) => Step::Decided(None),
        _ => Step::Pass,
    }
}

fn text_eq(x: &str, y: &str) -> bool {
    let norm = |s: &str| -> String {
        let s = s.strip_prefix("the ").unwrap_or(s);
        match s {
            "yes" | "true" | "correct" => "yes".into(),
            "no" | "false" | "incorrect" => "no".into(),
            other => other.replace(' ', ""),
        }
    };
    norm(x) == norm(y)
}

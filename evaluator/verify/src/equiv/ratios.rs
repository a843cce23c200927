//! Strategy: ratios `a : b : …`, equal item by item or, for two items, as the fraction a/b.

use crate::Reason;
use crate::ast::Node;

use super::collections::ordered_eq;
use super::scalars::scalar_eq;
use super::{Ctx, Step};

/// Decides two ratios.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    match (a, b) {
        (Node::Ratio(x), Node::Ratio(y)) => Step::Decided(ratio_eq(x, y, ctx)),
        _ => Step::Pass,
    }
}

fn ratio_eq(x: &[Node], y: &[Node], ctx: &Ctx) -> Option<Reason> {
    if x.len() != y.len() {
        return None;
    }
    if ordered_eq(x, y, ctx) {
        return Some(Reason::Exact);
    }
    if x.len() == 2 {
        let fx = Node::Div(Box::new(x[0].clone()), Box::new(x[1].clone()));
        let fy = Node::Div(Box::new(y[0].clone()), Box::new(y[1].clone()));
        return scalar_eq(&fx, &fy, ctx);
    }
    None
}

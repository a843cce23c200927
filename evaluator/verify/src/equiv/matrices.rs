//! Strategy: matrices entry by entry, and a column or row vector against a tuple or list written in the same order.

use crate::Reason;
use crate::ast::Node;

use super::collections::ordered_eq;
use super::{Ctx, Step, equivalent};

/// Decides two matrices of the same shape, and a vector-shaped matrix against a tuple or list.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    if let (Node::Matrix(x), Node::Matrix(y)) = (a, b)
        && x.len() == y.len()
        && x.iter().zip(y).all(|(r, s)| r.len() == s.len())
    {
        let ok = x.iter().flatten().zip(y.iter().flatten()).all(|(c, d)| equivalent(c, d, ctx).is_some());
        return Step::Decided(ok.then_some(Reason::Exact));
    }
    if let Some(v) = vector_items(a).zip(vector_items(b))
        && let (Node::Matrix(_), _) | (_, Node::Matrix(_)) = (a, b)
    {
        return Step::Decided(ordered_eq(&v.0, &v.1, ctx).then_some(Reason::Exact));
    }
    Step::Pass
}

fn vector_items(n: &Node) -> Option<Vec<Node>> {
    match n {
        Node::Matrix(rows) if rows.iter().all(|r| r.len() == 1) => Some(rows.iter().map(|r| r[0].clone()).collect()),
        Node::Matrix(rows) if rows.len() == 1 => Some(rows[0].clone()),
        Node::Tuple { items, .. } | Node::List(items) => Some(items.clone()),
        _ => None,
    }
}

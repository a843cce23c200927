//! Questions about a tree that several strategies ask: its free symbols, whether it is a plain number, a percent,
//! an angle in degrees.

use std::collections::BTreeSet;

use crate::ast::{Constant, Node};

/// Free symbols of a tree.
pub(super) fn symbols(n: &Node, out: &mut BTreeSet<String>) {
    match n {
        Node::Sym(s) => {
            out.insert(s.clone());
        }
        Node::Num { .. } | Node::Const(_) | Node::Text(_) | Node::NumberSet(_) => {}
        Node::Neg(a) | Node::Percent(a) | Node::Degrees(a) => symbols(a, out),
        Node::Div(a, b) | Node::Pow(a, b) | Node::Root(a, b) | Node::PlusMinus(a, b, _) => {
            symbols(a, out);
            symbols(b, out);
        }
        Node::Add(v)
        | Node::Mul(v)
        | Node::Apply(_, v)
        | Node::Set(v)
        | Node::List(v)
        | Node::Groups(v)
        | Node::SetOp(_, v)
        | Node::Ratio(v)
        | Node::Opaque(_, v) => v.iter().for_each(|c| symbols(c, out)),
        Node::Tuple { items, .. } => items.iter().for_each(|c| symbols(c, out)),
        Node::Relation { sides, .. } => sides.iter().for_each(|c| symbols(c, out)),
        Node::Matrix(rows) => rows.iter().flatten().for_each(|c| symbols(c, out)),
    }
}

pub(super) fn has_symbols(n: &Node) -> bool {
    let mut s = BTreeSet::new();
    symbols(n, &mut s);
    !s.is_empty()
}

pub(super) fn all_symbols(a: &Node, b: &Node) -> Vec<String> {
    let mut s = BTreeSet::new();
    symbols(a, &mut s);
    symbols(b, &mut s);
    s.into_iter().collect()
}

/// Whether a node is a plain number literal written with decimals; returns their count.
pub(super) fn decimals_of(n: &Node) -> Option<u32> {
    match n {
        Node::Num { decimals, .. } => *decimals,
        Node::Neg(a) | Node::Percent(a) | Node::Degrees(a) => decimals_of(a),
        _ => None,
    }
}

pub(super) fn is_numeric_tree(n: &Node) -> bool {
    match n {
        Node::Num { .. } | Node::Sym(_) | Node::Const(_) => true,
        Node::Neg(a) | Node::Percent(a) | Node::Degrees(a) => is_numeric_tree(a),
        Node::Div(a, b) | Node::Pow(a, b) | Node::Root(a, b) => is_numeric_tree(a) && is_numeric_tree(b),
        Node::Add(v) | Node::Mul(v) | Node::Apply(_, v) => v.iter().all(is_numeric_tree),
        Node::Matrix(rows) => rows.iter().flatten().all(is_numeric_tree),
        _ => false,
    }
}

pub(super) fn has_percent(n: &Node) -> bool {
    match n {
        Node::Percent(_) => true,
        Node::Neg(a) => has_percent(a),
        Node::Div(a, b) | Node::Pow(a, b) => has_percent(a) || has_percent(b),
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_percent),
        _ => false,
    }
}

pub(super) fn has_degrees(n: &Node) -> bool {
    match n {
        Node::Degrees(_) => true,
        Node::Neg(a) | Node::Percent(a) => has_degrees(a),
        Node::Div(a, b) | Node::Pow(a, b) => has_degrees(a) || has_degrees(b),
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_degrees),
        _ => false,
    }
}

/// Degrees written as radians: x° → x·π/180.
pub(super) fn to_radians(n: &Node) -> Node {
    match n {
        Node::Degrees(a) => {
            Node::Mul(vec![(**a).clone(), Node::Div(Box::new(Node::Const(Constant::Pi)), Box::new(Node::int(180)))])
        }
        Node::Neg(a) => Node::Neg(Box::new(to_radians(a))),
        Node::Percent(a) => Node::Percent(Box::new(to_radians(a))),
        Node::Div(a, b) => Node::Div(Box::new(to_radians(a)), Box::new(to_radians(b))),
        Node::Pow(a, b) => Node::Pow(Box::new(to_radians(a)), Box::new(to_radians(b))),
        Node::Add(v) => Node::Add(v.iter().map(to_radians).collect()),
        Node::Mul(v) => Node::Mul(v.iter().map(to_radians).collect()),
        other => other.clone(),
    }
}

//! Answer views: the readings of one answer that are compared (`x = 3` is also `3`, `a = b = c` is `c`,
//! `x \in S` is `S`), and labels (what an answer names before `=`).

use crate::ast::{Constant, Node, RelOp};

use super::tree::has_symbols;

/// A label: a named quantity that a final answer states before `=` (`x`, `a_3`, `f(x)`, `|AB|`, `NO/BO`,
/// `(p, q)`, `A:B`, `m\angle PQR`, `\sin A`, `\text{area}`): names multiplied, divided, raised to a number or under a
/// function, never a sum (`x + y = 10` is an equation, not a value of 10).
pub(super) fn is_label(n: &Node) -> bool {
    match n {
        Node::Sym(_) | Node::Text(_) => true,
        Node::Const(Constant::E | Constant::I) => true,
        Node::Mul(v) | Node::Ratio(v) => v.iter().all(is_label),
        Node::Div(a, b) => is_label(a) && is_label(b),
        Node::Apply(_, v) => v.iter().any(is_label) && v.iter().all(|x| is_label(x) || matches!(x, Node::Num { .. })),
        Node::Tuple { items, .. } | Node::List(items) => !items.is_empty() && items.iter().all(is_label),
        Node::Pow(a, b) => is_label(a) && matches!(&**b, Node::Num { .. } | Node::Neg(_)),
        _ => false,
    }
}

/// Alternative readings of one answer (see the module doc).
pub(super) fn views(n: &Node) -> Vec<Node> {
    match n {
        Node::Relation { sides, ops } if ops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx)) => {
            let mut sides = sides.clone();
            let mut ops = ops.clone();
            // `a = b ≈ c`: the approximation after the exact value is dropped; `x ≈ c` keeps c.
            if let Some(k) = ops.iter().position(|o| *o == RelOp::Approx)
                && k > 0
            {
                sides.truncate(k + 1);
                ops.truncate(k);
            }
            let last = sides.last().cloned().unwrap_or(Node::List(Vec::new()));
            if sides.len() >= 3 {
                return vec![last];
            }
            if sides.len() == 1 {
                return vec![last];
            }
            if is_label(&sides[0]) {
                return vec![Node::Relation { sides, ops }, last];
            }
            if !sides.iter().any(has_symbols) {
                return vec![last];
            }
            vec![Node::Relation { sides, ops }]
        }
        Node::Relation { sides, ops } if ops.len() == 1 && ops[0] == RelOp::In && is_label(&sides[0]) => {
            vec![sides[1].clone(), n.clone()]
        }
        Node::List(items) if items.len() == 1 => views(&items[0]),
        _ => vec![n.clone()],
    }
}

/// An item of a list with its label removed (`x = 3` → 3).
pub(super) fn strip_label(n: &Node) -> Node {
    let v = views(n);
    v.last().cloned().unwrap_or_else(|| n.clone())
}

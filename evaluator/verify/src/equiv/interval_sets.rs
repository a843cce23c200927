//! Strategy: sets of reals. Intervals, unions, intersections and differences, the number sets ℤ, ℕ, ℚ (ℝ parses
//! as (−∞, ∞)) and single-variable inequalities (`x \geq 5` is `[5, \infty)`, `x \neq 2` is ℝ ∖ {2},
//! `a \le |x| \le b` two intervals) are normalized ([`RealSet`]) and compared piece by piece; sets whose endpoints
//! are not numbers are compared as written, other set operations term by term.

use crate::Reason;
use crate::ast::{Bracket, Constant, Node, RelOp, SetOp};

use super::collections::unordered_eq;
use super::real_set::{Lattice, RealSet, Written};
use super::tree::has_symbols;
use super::{Ctx, Step, equivalent};

/// Decides pairs in which one side is a relation, a set operation or a number set.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    let a_rel = matches!(a, Node::Relation { .. });
    let b_rel = matches!(b, Node::Relation { .. });
    let involved = |n: &Node| matches!(n, Node::Relation { .. } | Node::SetOp(..) | Node::NumberSet(_));
    if !involved(a) && !involved(b) {
        return Step::Pass;
    }
    let setlike = |n: &Node| matches!(n, Node::SetOp(..) | Node::Tuple { .. } | Node::Set(_) | Node::NumberSet(_));
    let b_in = matches!(b, Node::Relation { ops, .. } if ops.as_slice() == [RelOp::In]);
    let a_ineq = a_rel && !matches!(a, Node::Relation { ops, .. } if ops.as_slice() == [RelOp::In]);
    let allowed = !(a_ineq && (setlike(b) || b_in) && !ctx.opts.relation_vs_set);
    if allowed {
        if let (Some(x), Some(y)) = (real_set(a, ctx), real_set(b, ctx)) {
            return Step::Decided(x.same(&y, ctx).then_some(Reason::Set));
        }
        if let (Some(x), Some(y)) = (intervals(a), intervals(b)) {
            return Step::Decided(intervals_eq(&x, &y, ctx).then_some(Reason::Set));
        }
    }
    if a_rel || b_rel {
        return Step::Decided(None);
    }
    match (a, b) {
        (Node::SetOp(o1, x), Node::SetOp(o2, y)) => {
            Step::Decided((o1 == o2 && unordered_eq(x, y, ctx)).then_some(Reason::Set))
        }
        // Number sets equal only themselves (the identical check came first).
        (Node::NumberSet(_), _) | (_, Node::NumberSet(_)) => Step::Decided(None),
        _ => Step::Pass,
    }
}

/// The normalized set of reals a node denotes, or `None` when it is not one with numeric endpoints.
fn real_set(n: &Node, ctx: &Ctx) -> Option<RealSet> {
    match n {
        Node::NumberSet(s) => RealSet::number_set(*s),
        Node::SetOp(op, parts) => {
            let (first, rest) = parts.split_first()?;
            let mut acc = real_set(first, ctx)?;
            for p in rest {
                acc = acc.combine(*op, real_set(p, ctx)?)?;
            }
            Some(acc)
        }
        Node::Relation { sides, ops } if ops.as_slice() == [RelOp::In] => real_set(&sides[1], ctx),
        other => {
            let written: Vec<Written> =
                intervals(other)?.into_iter().map(|i| (i.lo, i.hi, i.lo_closed, i.hi_closed)).collect();
            RealSet::of_intervals(Lattice::Reals, written, ctx)
        }
    }
}

/// An interval `lo..hi` with closedness.
#[derive(Clone, Debug)]
struct Interval {
    lo: Node,
    hi: Node,
    lo_closed: bool,
    hi_closed: bool,
}

fn is_inf(n: &Node) -> bool {
    match n {
        Node::Const(Constant::Infinity) => true,
        Node::Neg(a) => is_inf(a),
        _ => false,
    }
}

/// A set of reals as intervals: interval literals, unions, and single-variable inequalities.
fn intervals(n: &Node) -> Option<Vec<Interval>> {
    let neg_inf = || Node::Neg(Box::new(Node::Const(Constant::Infinity)));
    let inf = || Node::Const(Constant::Infinity);
    match n {
        Node::Tuple { open, close, items } if items.len() == 2 => Some(vec![Interval {
            lo: items[0].clone(),
            hi: items[1].clone(),
            lo_closed: *open == Bracket::Square,
            hi_closed: *close == Bracket::Square,
        }]),
        Node::Set(items) if items.iter().all(|i| !has_symbols(i)) => Some(
            items.iter().map(|i| Interval { lo: i.clone(), hi: i.clone(), lo_closed: true, hi_closed: true }).collect(),
        ),
        Node::SetOp(SetOp::Union, parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(intervals(p)?);
            }
            Some(out)
        }
        Node::Relation { sides, ops } => {
            if ops.len() == 1 && ops[0] == RelOp::In {
                return intervals(&sides[1]);
            }
            // A variable or a name such as `f(x)`, never a function or power of one: `|x| < 3`, `x^2 < 4` and
            // `\sin x > 0` do not say that x is below 3 or 4, or positive.
            let var_side = |s: &Node| match s {
                Node::Sym(_) => true,
                Node::Mul(v) => v.iter().all(|f| matches!(f, Node::Sym(_))),
                _ => false,
            };
            let abs_of_var =
                |s: &Node| matches!(s, Node::Apply(crate::ast::Func::Abs, v) if v.len() == 1 && var_side(&v[0]));
            let closed = |o: RelOp| matches!(o, RelOp::Le | RelOp::Ge);
            match (sides.len(), ops.as_slice()) {
                // `x \neq c`: every real but c.
                (2, [RelOp::Ne]) => {
                    let c = if var_side(&sides[0]) && !has_symbols(&sides[1]) {
                        sides[1].clone()
                    } else if var_side(&sides[1]) && !has_symbols(&sides[0]) {
                        sides[0].clone()
                    } else {
                        return None;
                    };
                    Some(vec![
                        Interval { lo: neg_inf(), hi: c.clone(), lo_closed: false, hi_closed: false },
                        Interval { lo: c, hi: inf(), lo_closed: false, hi_closed: false },
                    ])
                }
                (2, [op]) if !matches!(op, RelOp::Eq | RelOp::Approx | RelOp::In) => {
                    let (var_left, c) = if var_side(&sides[0]) && !has_symbols(&sides[1]) {
                        (true, sides[1].clone())
                    } else if var_side(&sides[1]) && !has_symbols(&sides[0]) {
                        (false, sides[0].clone())
                    } else {
                        return None;
                    };
                    // Normalize to `x op c`.
                    let op = if var_left { *op } else { op.flipped() };
                    Some(vec![match op {
                        RelOp::Lt | RelOp::Le => {
                            Interval { lo: neg_inf(), hi: c, lo_closed: false, hi_closed: closed(op) }
                        }
                        _ => Interval { lo: c, hi: inf(), lo_closed: closed(op), hi_closed: false },
                    }])
                }
                (3, [o1, o2]) if matches!((o1, o2), (RelOp::Lt | RelOp::Le, RelOp::Lt | RelOp::Le)) => {
                    if has_symbols(&sides[0]) || has_symbols(&sides[2]) {
                        return None;
                    }
                    if abs_of_var(&sides[1]) {
                        // a ≤ |x| ≤ b  ⇔  x ∈ [-b, -a] ∪ [a, b]
                        let (a, b) = (sides[0].clone(), sides[2].clone());
                        return Some(vec![
                            Interval {
                                lo: Node::Neg(Box::new(b.clone())),
                                hi: Node::Neg(Box::new(a.clone())),
                                lo_closed: closed(*o2),
                                hi_closed: closed(*o1),
                            },
                            Interval { lo: a, hi: b, lo_closed: closed(*o1), hi_closed: closed(*o2) },
                        ]);
                    }
                    if !var_side(&sides[1]) {
                        return None;
                    }
                    Some(vec![Interval {
                        lo: sides[0].clone(),
                        hi: sides[2].clone(),
                        lo_closed: closed(*o1),
                        hi_closed: closed(*o2),
                    }])
                }
                (3, [o1, o2]) if matches!((o1, o2), (RelOp::Gt | RelOp::Ge, RelOp::Gt | RelOp::Ge)) => {
                    let rev = Node::Relation {
                        sides: sides.iter().rev().cloned().collect(),
                        ops: vec![o2.flipped(), o1.flipped()],
                    };
                    intervals(&rev)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn intervals_eq(a: &[Interval], b: &[Interval], ctx: &Ctx) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let one = |x: &Interval, y: &Interval| {
        (x.lo_closed == y.lo_closed || is_inf(&x.lo))
            && (x.hi_closed == y.hi_closed || is_inf(&x.hi))
            && equivalent(&x.lo, &y.lo, ctx).is_some()
            && equivalent(&x.hi, &y.hi, ctx).is_some()
    };
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (k, y) in b.iter().enumerate() {
            if !used[k] && one(x, y) {
                used[k] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

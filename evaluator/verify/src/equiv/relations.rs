//! Strategy: relations. Equations are equal up to side swap and non-zero scaling (`2x + 4y - 3 = 0` is
//! `y = -\frac12 x + \frac34`), inequalities up to flipping and positive scaling; chains side by side.

use num_rational::BigRational;
use num_traits::Zero;

use crate::Reason;
use crate::ast::{Node, RelOp};

use super::collections::ordered_eq;
use super::eval::{self, PercentRead, Val, close, eval};
use super::points::points;
use super::tree::all_symbols;
use super::{Ctx, Step};

/// Accepts two relations that are the same relation; every other pair goes on to the interval sets, which read
/// single-variable inequalities as sets.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    match relation_eq(a, b, ctx) {
        Some(r) => Step::Decided(Some(r)),
        None => Step::Pass,
    }
}

/// Equations equal up to side swap and non-zero scaling; inequalities up to flipping and positive scaling.
fn relation_eq(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    let (Node::Relation { sides: sa, ops: oa }, Node::Relation { sides: sb, ops: ob }) = (a, b) else { return None };
    if oa.len() != 1 || ob.len() != 1 {
        if oa == ob && sa.len() == sb.len() {
            return ordered_eq(sa, sb, ctx).then_some(Reason::Symbolic);
        }
        return None;
    }
    let norm = |l: &Node, op: RelOp, r: &Node| -> Option<(Node, RelOp)> {
        let diff = |x: &Node, y: &Node| Node::Add(vec![x.clone(), Node::Neg(Box::new(y.clone()))]);
        Some(match op {
            RelOp::Eq | RelOp::Ne | RelOp::Lt | RelOp::Le => (diff(l, r), op),
            RelOp::Gt => (diff(r, l), RelOp::Lt),
            RelOp::Ge => (diff(r, l), RelOp::Le),
            RelOp::Approx | RelOp::In => return None,
        })
    };
    let (da, opa) = norm(&sa[0], oa[0], &sa[1])?;
    let (db, opb) = norm(&sb[0], ob[0], &sb[1])?;
    if opa != opb {
        return None;
    }
    let positive = matches!(opa, RelOp::Lt | RelOp::Le);
    proportional(&da, &db, positive, ctx).then_some(Reason::Symbolic)
}

/// Whether `a = c·b` for a constant `c ≠ 0` (`c > 0` when `positive`), checked at random points.
fn proportional(a: &Node, b: &Node, positive: bool, ctx: &Ctx) -> bool {
    let syms = all_symbols(a, b);
    let mut ratio: Option<Val> = None;
    let mut valid = 0;
    for env in points(&syms) {
        let (Ok(x), Ok(y)) = (eval(a, &env, PercentRead::Unit, &ctx.work), eval(b, &env, PercentRead::Unit, &ctx.work))
        else {
            continue;
        };
        let zero = Val::Exact(num_complex::Complex::new(BigRational::zero(), BigRational::zero()));
        let yz = close(&y, &zero, 1e-12, 1e-12);
        let xz = close(&x, &zero, 1e-12, 1e-12);
        if yz || xz {
            if yz && xz {
                continue;
            }
            return false;
        }
        let Ok(r) = eval::ratio(x, y) else { return false };
        match &ratio {
            None => {
                if positive {
                    let Some(c) = r.to_complex() else { return false };
                    if c.re <= 0.0 || c.im.abs() > 1e-9 * c.re {
                        return false;
                    }
                }
                ratio = Some(r);
            }
            Some(r0) => {
                if !close(r0, &r, 1e-9, 1e-12) {
                    return false;
                }
            }
        }
        valid += 1;
        if !ctx.spend() {
            return false;
        }
    }
    valid >= 2 || (valid >= 1 && syms.is_empty())
}

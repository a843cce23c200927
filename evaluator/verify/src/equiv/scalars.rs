//! Strategy: scalars. Numbers without variables are compared exactly (Gaussian big rationals) or, for decimals,
//! at their written precision; expressions with variables at [`POINTS`](super::POINTS) pseudo-random points;
//! percents by [`PercentMode`]; degrees also as radians; renaming when the options allow it.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use crate::Reason;
use crate::ast::Node;
use crate::options::{Options, PercentMode};

use super::eval::{self, Env, NoValue, PercentRead, Val, close, eval};
use super::points::{POINTS, points};
use super::renaming::renamed_eq;
use super::tree::{all_symbols, decimals_of, has_degrees, has_percent, is_numeric_tree, to_radians};
use super::{Ctx, Step};

/// Decides every pair (the last strategy): numeric trees are compared, anything else is different.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    Step::Decided(scalar_eq(a, b, ctx))
}

pub(super) fn scalar_eq(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    if !is_numeric_tree(a) || !is_numeric_tree(b) {
        return None;
    }
    let syms = all_symbols(a, b);
    for (ra, rb) in percent_readings(a, b, ctx.opts.percent) {
        let r = if syms.is_empty() { numeric_eq(a, b, ra, rb, ctx) } else { symbolic_eq(a, b, &syms, ra, rb, ctx) };
        if r.is_some() {
            return r;
        }
    }
    // An angle in degrees against one in radians: `30^\circ` = `\frac{\pi}{6}`.
    if has_degrees(a) != has_degrees(b) {
        let (ra, rb) = (to_radians(a), to_radians(b));
        let r = if syms.is_empty() {
            numeric_eq(&ra, &rb, PercentRead::Unit, PercentRead::Unit, ctx)
        } else {
            symbolic_eq(&ra, &rb, &syms, PercentRead::Unit, PercentRead::Unit, ctx)
        };
        if r.is_some() {
            return r;
        }
    }
    if ctx.opts.allow_renaming && !syms.is_empty() {
        return renamed_eq(a, b, ctx);
    }
    None
}

/// The readings of `%` tried on each side. Under [`PercentMode::Lenient`] a bare number is compared with a percent
/// read both ways (`28` and `0.28` both equal `28\%`), but two percents are compared as written (`0.4\%` is not
/// `40\%`); [`PercentMode::EachSide`] reads each side's `%` both ways independently.
fn percent_readings(a: &Node, b: &Node, mode: PercentMode) -> Vec<(PercentRead, PercentRead)> {
    let both_ways = [PercentRead::Unit, PercentRead::Scaled];
    let reads = |n: &Node| -> &[PercentRead] {
        match (has_percent(n), mode) {
            (false, _) | (true, PercentMode::Unit) => &both_ways[..1],
            (true, PercentMode::Scaled) => &both_ways[1..],
            (true, PercentMode::Lenient | PercentMode::EachSide) => &both_ways,
        }
    };
    if has_percent(a) && has_percent(b) && mode == PercentMode::Lenient {
        return vec![(PercentRead::Unit, PercentRead::Unit)];
    }
    reads(a).iter().flat_map(|&ra| reads(b).iter().map(move |&rb| (ra, rb))).collect()
}

fn numeric_eq(a: &Node, b: &Node, ra: PercentRead, rb: PercentRead, ctx: &Ctx) -> Option<Reason> {
    let env = Env::new();
    let (x, y) = (eval(a, &env, ra, &ctx.work).ok()?, eval(b, &env, rb, &ctx.work).ok()?);
    // A percent read as a fraction has two more decimal places than written: `28.5\%` is 0.285.
    let places = |n: &Node, read: PercentRead| {
        decimals_of(n).map(|d| if read == PercentRead::Scaled && has_percent(n) { d + 2 } else { d })
    };
    if values_eq(&x, &y, places(a, ra), places(b, rb), ctx.opts) {
        let exact = matches!((&x, &y), (Val::Exact(p), Val::Exact(q)) if p == q);
        return Some(if exact { Reason::Exact } else { Reason::Numeric });
    }
    if ctx.opts.percent_scaling && (decimals_of(a).is_some() || decimals_of(b).is_some()) {
        let hundred = Val::Exact(num_complex::Complex::new(BigRational::from_integer(100.into()), BigRational::zero()));
        for (p, q) in [(x.clone(), y.clone()), (y, x)] {
            if let Ok(scaled) = eval::ratio(p, hundred.clone())
                && close(&scaled, &q, 1e-10, 1e-13)
            {
                return Some(Reason::Numeric);
            }
        }
    }
    None
}

/// Numbers equal exactly, or within the relative tolerance, or (a decimal literal with `dx` or `dy` places against a
/// value with no finite decimal form, such as 1/3 or π) within half a unit in the decimal's last written place.
/// Two decimals, or a decimal and a value with a finite decimal form, are equal only when they are the same number,
/// unless [`Options::coarser_decimal_precision`](crate::Options::coarser_decimal_precision) is set.
fn values_eq(x: &Val, y: &Val, dx: Option<u32>, dy: Option<u32>, opts: &Options) -> bool {
    if let (Val::Exact(p), Val::Exact(q)) = (x, y)
        && p == q
    {
        return true;
    }
    if matches!(x, Val::Matrix(_)) || matches!(y, Val::Matrix(_)) {
        return close(x, y, 1e-10, 1e-13);
    }
    let places = if opts.coarser_decimal_precision {
        // The rule before issue 17: the coarser of two decimals sets the precision, whatever the other value is.
        match (dx, dy) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    } else {
        match (dx, dy) {
            (Some(d), None) if !has_finite_decimal_form(y) => Some(d),
            (None, Some(d)) if !has_finite_decimal_form(x) => Some(d),
            _ => None,
        }
    };
    if let Some(d) = places {
        let half = BigRational::new(BigInt::from(5), num_traits::pow(BigInt::from(10), d as usize + 1));
        if let Ok(diff) = eval::sub(x.clone(), y.clone()) {
            match eval::abs_exact(&diff) {
                Some(ad) => {
                    if ad <= half {
                        return true;
                    }
                }
                None => {
                    let h = num_traits::ToPrimitive::to_f64(&half).unwrap_or(0.0);
                    if let Some(c) = diff.to_complex() {
                        let scale = x.to_complex().map_or(0.0, |v| v.norm());
                        if c.norm() <= h + 1e-12 * scale {
                            return true;
                        }
                    }
                }
            }
        }
    }
    if let Some(r) = opts.relative_tolerance {
        let as_float = |v: &Val| v.to_complex().map(Val::Float);
        if let (Some(fx), Some(fy)) = (as_float(x), as_float(y)) {
            return close(&fx, &fy, r, 0.0);
        }
    }
    match (x, y) {
        (Val::Exact(_), Val::Exact(_)) => false,
        _ => close(x, y, 1e-10, 1e-13),
    }
}

/// Whether a value is known to have a finite decimal form: an exact rational whose denominator has no prime
/// factor but 2 and 5 (and, to stay strict, any exact non-real value). Floats (π, √2, e) are taken to have none.
fn has_finite_decimal_form(v: &Val) -> bool {
    match v {
        Val::Exact(q) if q.im.is_zero() => {
            let mut d = q.re.denom().clone();
            for p in [2u32, 5] {
                let p = BigInt::from(p);
                while (&d % &p).is_zero() {
                    d /= &p;
                }
            }
            d == BigInt::from(1)
        }
        Val::Exact(_) => true,
        Val::Float(_) | Val::Matrix(_) => false,
    }
}

pub(super) fn symbolic_eq(
    a: &Node,
    b: &Node,
    syms: &[String],
    ra: PercentRead,
    rb: PercentRead,
    ctx: &Ctx,
) -> Option<Reason> {
    let mut valid = 0;
    for env in points(syms) {
        if valid >= POINTS {
            break;
        }
        if !ctx.spend() {
            return None;
        }
        match (eval(a, &env, ra, &ctx.work), eval(b, &env, rb, &ctx.work)) {
            (Ok(x), Ok(y)) => {
                if !close(&x, &y, 1e-9, 1e-12) {
                    return None;
                }
                valid += 1;
            }
            (Err(NoValue::Undefined), Err(NoValue::Undefined)) => {}
            _ => return None,
        }
    }
    (valid >= POINTS - 1).then_some(Reason::Symbolic)
}

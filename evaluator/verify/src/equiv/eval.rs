//! Evaluation of expression trees: exact Gaussian rationals while that stays cheap, complex floats otherwise.

use std::cell::Cell;
use std::collections::HashMap;

use num_bigint::BigInt;
use num_complex::{Complex, Complex64};
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::ast::{Constant, Func, Node};

use super::tree::{has_degrees, to_radians};

/// Exact values larger than this many bits (numerator + denominator, both parts) fall back to floats, which bounds
/// the time and memory of `10^{10^{10}}` and friends.
pub(crate) const MAX_BITS: u64 = 1 << 14;

/// Tree nodes evaluated per verification (all points, both sides) before giving up: bounds a call's time.
pub(crate) const MAX_WORK: u32 = 200_000;

/// Largest matrix dimension multiplied or raised to a power (16): bounds the cubic cost of products.
const MAX_MATRIX_DIM: usize = 16;

/// Exact complex rational.
pub(crate) type Q = Complex<BigRational>;

/// A value: exact, floating, or a matrix of values.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Exact(Q),
    Float(Complex64),
    Matrix(Vec<Vec<Val>>),
}

/// Why a tree has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoValue {
    /// Division by zero, log of zero, a pole.
    Undefined,
    /// A construct that is not a number (sets, text, relations, sums).
    NotNumeric,
}

/// How `%` is read during evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PercentRead {
    /// `28%` is 28.
    Unit,
    /// `28%` is 0.28.
    Scaled,
}

/// Symbol values for one evaluation point.
pub(crate) type Env = HashMap<String, Val>;

fn q_real(r: BigRational) -> Q {
    Complex::new(r, BigRational::zero())
}

fn q_int(v: i64) -> Q {
    q_real(BigRational::from_integer(BigInt::from(v)))
}

fn bits(q: &Q) -> u64 {
    q.re.numer().bits() + q.re.denom().bits() + q.im.numer().bits() + q.im.denom().bits()
}

fn to_f(q: &Q) -> Complex64 {
    Complex64::new(q.re.to_f64().unwrap_or(f64::NAN), q.im.to_f64().unwrap_or(f64::NAN))
}

impl Val {
    pub(crate) fn to_complex(&self) -> Option<Complex64> {
        match self {
            Val::Exact(q) => Some(to_f(q)),
            Val::Float(f) => Some(*f),
            Val::Matrix(_) => None,
        }
    }
    fn exact(q: Q) -> Val {
        if bits(&q) > MAX_BITS { Val::Float(to_f(&q)) } else { Val::Exact(q) }
    }
}

type Res = Result<Val, NoValue>;

/// Evaluates `node` with symbols from `env`, counting visited nodes in `work`: past [`MAX_WORK`] the tree has no
/// value (bounds the time of one comparison whatever the input).
pub(crate) fn eval(node: &Node, env: &Env, pct: PercentRead, work: &Cell<u32>) -> Res {
    let w = work.get();
    if w >= MAX_WORK {
        return Err(NoValue::NotNumeric);
    }
    work.set(w + 1);
    Ok(match node {
        Node::Num { value, .. } => Val::exact(q_real(value.clone())),
        Node::Sym(s) => env.get(s).cloned().ok_or(NoValue::NotNumeric)?,
        Node::Const(c) => match c {
            Constant::Pi => Val::Float(Complex64::new(std::f64::consts::PI, 0.0)),
            Constant::E => Val::Float(Complex64::new(std::f64::consts::E, 0.0)),
            Constant::I => Val::Exact(Complex::new(BigRational::zero(), BigRational::one())),
            Constant::Infinity => Val::Float(Complex64::new(f64::INFINITY, 0.0)),
        },
        Node::Neg(a) => neg(eval(a, env, pct, work)?),
        Node::Add(items) => {
            let (first, rest) = items.split_first().ok_or(NoValue::NotNumeric)?;
            let mut acc = eval(first, env, pct, work)?;
            for it in rest {
                acc = add(acc, eval(it, env, pct, work)?)?;
            }
            acc
        }
        Node::Mul(items) => {
            let (first, rest) = items.split_first().ok_or(NoValue::NotNumeric)?;
            let mut acc = eval(first, env, pct, work)?;
            for it in rest {
                acc = mul(acc, eval(it, env, pct, work)?)?;
            }
            acc
        }
        Node::Div(a, b) => div(eval(a, env, pct, work)?, eval(b, env, pct, work)?)?,
        Node::Pow(a, b) => pow(eval(a, env, pct, work)?, eval(b, env, pct, work)?)?,
        Node::Root(a, n) => {
            let n = eval(n, env, pct, work)?;
            let inv = div(Val::Exact(q_int(1)), n)?;
            root_or_pow(eval(a, env, pct, work)?, inv)?
        }
        Node::Apply(f, args) => apply(*f, args, env, pct, work)?,
        // Degrees are read as the number written; `equiv` also tries them as radians.
        Node::Degrees(a) => eval(a, env, pct, work)?,
        Node::Percent(a) => {
            let v = eval(a, env, pct, work)?;
            match pct {
                PercentRead::Unit => v,
                PercentRead::Scaled => div(v, Val::Exact(q_int(100)))?,
            }
        }
        Node::Matrix(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut row = Vec::with_capacity(r.len());
                for c in r {
                    row.push(eval(c, env, pct, work)?);
                }
                out.push(row);
            }
            if out.iter().any(|r| r.len() != out[0].len()) {
                return Err(NoValue::NotNumeric);
            }
            Val::Matrix(out)
        }
        _ => return Err(NoValue::NotNumeric),
    })
}

fn map_mat(m: Vec<Vec<Val>>, f: &mut impl FnMut(Val) -> Res) -> Res {
    let mut out = Vec::with_capacity(m.len());
    for r in m {
        let mut row = Vec::with_capacity(r.len());
        for c in r {
            row.push(f(c)?);
        }
        out.push(row);
    }
    Ok(Val::Matrix(out))
}

fn neg(a: Val) -> Val {
    match a {
        Val::Exact(q) => Val::Exact(-q),
        Val::Float(f) => Val::Float(-f),
        Val::Matrix(m) => map_mat(m, &mut |v| Ok(neg(v))).unwrap_or(Val::Matrix(Vec::new())),
    }
}

fn add(a: Val, b: Val) -> Res {
    Ok(match (a, b) {
        (Val::Exact(x), Val::Exact(y)) => Val::exact(x + y),
        (Val::Matrix(x), Val::Matrix(y)) => {
            if x.len() != y.len() || x.iter().zip(&y).any(|(r, s)| r.len() != s.len()) {
                return Err(NoValue::Undefined);
            }
            let mut out = Vec::new();
            for (r, s) in x.into_iter().zip(y) {
                let mut row = Vec::new();
                for (c, d) in r.into_iter().zip(s) {
                    row.push(add(c, d)?);
                }
                out.push(row);
            }
            Val::Matrix(out)
        }
        (Val::Matrix(_), _) | (_, Val::Matrix(_)) => return Err(NoValue::Undefined),
        (x, y) => Val::Float(x.to_complex().unwrap_or_default() + y.to_complex().unwrap_or_default()),
    })
}

fn mul(a: Val, b: Val) -> Res {
    Ok(match (a, b) {
        (Val::Exact(x), Val::Exact(y)) => Val::exact(x * y),
        (Val::Matrix(x), Val::Matrix(y)) => {
            let inner = y.len();
            if x.iter().any(|r| r.len() != inner) || inner == 0 || x.len().max(inner) > MAX_MATRIX_DIM {
                return Err(NoValue::Undefined);
            }
            let cols = y[0].len();
            let mut out = Vec::new();
            for r in &x {
                let mut row = Vec::new();
                for j in 0..cols {
                    let mut acc = Val::Exact(q_int(0));
                    for (k, c) in r.iter().enumerate() {
                        let d = y[k].get(j).cloned().ok_or(NoValue::Undefined)?;
                        acc = add(acc, mul(c.clone(), d)?)?;
                    }
                    row.push(acc);
                }
                out.push(row);
            }
            Val::Matrix(out)
        }
        (Val::Matrix(m), s) | (s, Val::Matrix(m)) => map_mat(m, &mut |v| mul(v, s.clone()))?,
        (x, y) => Val::Float(x.to_complex().unwrap_or_default() * y.to_complex().unwrap_or_default()),
    })
}

fn div(a: Val, b: Val) -> Res {
    match b {
        Val::Exact(y) => {
            if y.re.is_zero() && y.im.is_zero() {
                return Err(NoValue::Undefined);
            }
            match a {
                Val::Exact(x) => Ok(Val::exact(x / y)),
                Val::Matrix(m) => map_mat(m, &mut |v| div(v, Val::Exact(y.clone()))),
                Val::Float(f) => Ok(Val::Float(f / to_f(&y))),
            }
        }
        Val::Float(y) => {
            if y == Complex64::zero() {
                return Err(NoValue::Undefined);
            }
            match a {
                Val::Matrix(m) => map_mat(m, &mut |v| div(v, Val::Float(y))),
                x => Ok(Val::Float(x.to_complex().unwrap_or_default() / y)),
            }
        }
        Val::Matrix(_) => Err(NoValue::Undefined),
    }
}

fn is_real(q: &Q) -> bool {
    q.im.is_zero()
}

/// Exact integer powers while the result stays under [`MAX_BITS`]; exact roots of perfect powers; floats otherwise.
fn pow(a: Val, b: Val) -> Res {
    if let (Val::Exact(x), Val::Exact(y)) = (&a, &b) {
        if is_real(y) && y.re.is_integer() {
            let n = y.re.to_integer();
            if let Some(n) = n.to_i64() {
                // Size of the result: the bits of |x| (numerator and denominator) times |n|.
                let size = if is_real(x) { x.re.numer().bits() + x.re.denom().bits() - 1 } else { bits(x) };
                let est = size.saturating_mul(n.unsigned_abs());
                if n.unsigned_abs() <= 1 << 16 && est <= MAX_BITS {
                    return int_pow(x.clone(), n);
                }
            }
        } else if is_real(y) && is_real(x) {
            return root_or_pow(a, b);
        }
    }
    if let (Val::Matrix(m), Val::Exact(y)) = (&a, &b) {
        if is_real(y) && y.re.is_integer() {
            let n = y.re.to_integer().to_i64().ok_or(NoValue::Undefined)?;
            if (1..=16).contains(&n) && m.len() <= MAX_MATRIX_DIM {
                let mut acc = Val::Matrix(m.clone());
                for _ in 1..n {
                    acc = mul(acc, Val::Matrix(m.clone()))?;
                }
                return Ok(acc);
            }
        }
        return Err(NoValue::Undefined);
    }
    let (x, y) = (a.to_complex().ok_or(NoValue::Undefined)?, b.to_complex().ok_or(NoValue::Undefined)?);
    float_pow(x, y)
}

fn float_pow(x: Complex64, y: Complex64) -> Res {
    let r = float_pow_raw(x, y)?;
    match r.to_complex() {
        Some(c) if c.re.is_finite() && c.im.is_finite() => Ok(r),
        _ => Err(NoValue::Undefined),
    }
}

fn float_pow_raw(x: Complex64, y: Complex64) -> Res {
    if x == Complex64::zero() {
        return if y.re > 0.0 { Ok(Val::Float(Complex64::zero())) } else { Err(NoValue::Undefined) };
    }
    if x.im == 0.0 && y.im == 0.0 {
        if x.re > 0.0 {
            return Ok(Val::Float(Complex64::new(x.re.powf(y.re), 0.0)));
        }
        // Odd roots of negative numbers are real: (-8)^(1/3) = -2.
        let inv = 1.0 / y.re;
        if (inv - inv.round()).abs() < 1e-12 && (inv.round() as i64) % 2 != 0 {
            return Ok(Val::Float(Complex64::new(-(-x.re).powf(y.re), 0.0)));
        }
        if y.re == y.re.round() {
            return Ok(Val::Float(Complex64::new(x.re.powf(y.re), 0.0)));
        }
    }
    Ok(Val::Float(x.powc(y)))
}

/// A power whose exact value passed [`MAX_BITS`]: a float when it still fits one, else no value (`10^{10^{10}}`
/// is compared only structurally).
fn too_big(q: &Q) -> Res {
    let f = to_f(q);
    if f.re.is_finite() && f.im.is_finite() { Ok(Val::Float(f)) } else { Err(NoValue::Undefined) }
}

fn int_pow(x: Q, n: i64) -> Res {
    if n < 0 && x.re.is_zero() && x.im.is_zero() {
        return Err(NoValue::Undefined);
    }
    let mut base = if n < 0 { Q::one() / x } else { x };
    let mut e = n.unsigned_abs();
    let mut acc = Q::one();
    while e > 0 {
        if e & 1 == 1 {
            acc *= base.clone();
            if bits(&acc) > MAX_BITS {
                return too_big(&acc);
            }
        }
        e >>= 1;
        if e > 0 {
            base = base.clone() * base;
            if bits(&base) > MAX_BITS && e > 0 {
                return too_big(&base);
            }
        }
    }
    Ok(Val::exact(acc))
}

/// `a^(p/q)` for a real rational `a`: exact when `a` is a perfect q-th power, else a float.
fn root_or_pow(a: Val, e: Val) -> Res {
    if let (Val::Exact(x), Val::Exact(y)) = (&a, &e)
        && is_real(x)
        && is_real(y)
        && !y.re.is_zero()
    {
        let p = y.re.numer().to_i64();
        let q = y.re.denom().to_u32();
        if let (Some(p), Some(q)) = (p, q) {
            if (2..=64).contains(&q) {
                let neg = x.re.is_negative();
                if !neg || q % 2 == 1 {
                    let abs = x.re.abs();
                    let rn = abs.numer().nth_root(q);
                    let rd = abs.denom().nth_root(q);
                    if num_traits::pow(rn.clone(), q as usize) == *abs.numer()
                        && num_traits::pow(rd.clone(), q as usize) == *abs.denom()
                    {
                        let mut r = BigRational::new(rn, rd);
                        if neg {
                            r = -r;
                        }
                        return pow(Val::Exact(q_real(r)), Val::Exact(q_int(p)));
                    }
                }
            } else if q == 1 {
                return pow(a, e);
            }
        }
    }
    let (x, y) = (a.to_complex().ok_or(NoValue::Undefined)?, e.to_complex().ok_or(NoValue::Undefined)?);
    float_pow(x, y)
}

fn real_int(v: &Val) -> Option<i64> {
    match v {
        Val::Exact(q) if is_real(q) && q.re.is_integer() => q.re.to_integer().to_i64(),
        _ => None,
    }
}

fn apply(f: Func, args: &[Node], env: &Env, pct: PercentRead, work: &Cell<u32>) -> Res {
    // A trigonometric function's argument is an angle: degrees in it are always radians (`\sin 30^\circ` = 1/2).
    let angle = matches!(f, Func::Sin | Func::Cos | Func::Tan | Func::Sec | Func::Csc | Func::Cot);
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        vals.push(if angle && has_degrees(a) {
            eval(&to_radians(a), env, pct, work)?
        } else {
            eval(a, env, pct, work)?
        });
    }
    let first = vals.first().cloned().ok_or(NoValue::NotNumeric)?;
    match f {
        Func::Abs => {
            return Ok(match first {
                Val::Exact(q) if is_real(&q) => Val::Exact(q_real(q.re.abs())),
                v => Val::Float(Complex64::new(v.to_complex().ok_or(NoValue::Undefined)?.norm(), 0.0)),
            });
        }
        Func::Factorial => {
            let n = real_int(&first).ok_or(NoValue::Undefined)?;
            if !(0..=2000).contains(&n) {
                return Err(NoValue::Undefined);
            }
            let mut acc = BigInt::one();
            for k in 2..=n {
                acc *= k;
            }
            return Ok(Val::exact(q_real(BigRational::from_integer(acc))));
        }
        Func::Binom => {
            let n = real_int(&first).ok_or(NoValue::Undefined)?;
            let k = vals.get(1).and_then(real_int).ok_or(NoValue::Undefined)?;
            if !(0..=100_000).contains(&n) || k < 0 || k > n || k.min(n - k) > 2000 {
                return Ok(Val::Exact(q_int(0)));
            }
            let k = k.min(n - k);
            let mut acc = BigInt::one();
            for j in 0..k {
                acc = acc * (n - j) / (j + 1);
            }
            return Ok(Val::exact(q_real(BigRational::from_integer(acc))));
        }
        Func::Floor | Func::Ceil => {
            if let Val::Exact(q) = &first
                && is_real(q)
            {
                let r = if f == Func::Floor { q.re.floor() } else { q.re.ceil() };
                return Ok(Val::Exact(q_real(r)));
            }
            let x = first.to_complex().ok_or(NoValue::Undefined)?.re;
            return Ok(Val::Float(Complex64::new(if f == Func::Floor { x.floor() } else { x.ceil() }, 0.0)));
        }
        _ => {}
    }
    // Exact special values.
    if let Val::Exact(q) = &first {
        if q.re.is_zero()
            && q.im.is_zero()
            && matches!(f, Func::Sin | Func::Tan | Func::Asin | Func::Atan | Func::Sinh | Func::Tanh)
        {
            return Ok(Val::Exact(q_int(0)));
        }
        if q.re.is_zero() && q.im.is_zero() && matches!(f, Func::Cos | Func::Exp | Func::Cosh) {
            return Ok(Val::Exact(q_int(1)));
        }
        if *q == Q::one() && f == Func::Ln {
            return Ok(Val::Exact(q_int(0)));
        }
    }
    let x = first.to_complex().ok_or(NoValue::Undefined)?;
    let y = match f {
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.tan(),
        Func::Sec => Complex64::one() / x.cos(),
        Func::Csc => Complex64::one() / x.sin(),
        Func::Cot => Complex64::one() / x.tan(),
        Func::Asin => x.asin(),
        Func::Acos => x.acos(),
        Func::Atan => x.atan(),
        Func::Sinh => x.sinh(),
        Func::Cosh => x.cosh(),
        Func::Tanh => x.tanh(),
        Func::Exp => x.exp(),
        Func::Ln => {
            if x == Complex64::zero() {
                return Err(NoValue::Undefined);
            }
            x.ln()
        }
        Func::Log => {
            let arg = vals.get(1).and_then(Val::to_complex).ok_or(NoValue::Undefined)?;
            if x == Complex64::zero() || arg == Complex64::zero() || x == Complex64::one() {
                return Err(NoValue::Undefined);
            }
            // Exact logarithms of exact powers: log_2 8 = 3.
            if let (Val::Exact(b), Some(Val::Exact(a))) = (&first, vals.get(1))
                && let Some(k) = exact_log(b, a)
            {
                return Ok(Val::Exact(q_int(k)));
            }
            arg.ln() / x.ln()
        }
        _ => return Err(NoValue::NotNumeric),
    };
    if !y.re.is_finite() || !y.im.is_finite() {
        return Err(NoValue::Undefined);
    }
    Ok(Val::Float(y))
}

fn exact_log(base: &Q, arg: &Q) -> Option<i64> {
    if !is_real(base) || !is_real(arg) || base.re <= BigRational::one() && base.re >= BigRational::zero() {
        return None;
    }
    let mut acc = BigRational::one();
    for k in 0..64 {
        if acc == arg.re {
            return Some(k);
        }
        acc *= base.re.clone();
        if acc.abs() > arg.re.abs() * BigRational::from_integer(2.into()) && arg.re.abs() >= BigRational::one() {
            break;
        }
    }
    None
}

/// Whether two scalar values are equal: exactly when both are exact, else within `rel`·scale + `abs`.
pub(crate) fn close(a: &Val, b: &Val, rel: f64, abs: f64) -> bool {
    match (a, b) {
        (Val::Exact(x), Val::Exact(y)) => x == y,
        (Val::Matrix(x), Val::Matrix(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(r, s)| r.len() == s.len() && r.iter().zip(s).all(|(c, d)| close(c, d, rel, abs)))
        }
        (Val::Matrix(_), _) | (_, Val::Matrix(_)) => false,
        _ => {
            let (x, y) = (a.to_complex().unwrap_or_default(), b.to_complex().unwrap_or_default());
            if x.re.is_infinite() || y.re.is_infinite() {
                return x.re == y.re && (x.im - y.im).abs() <= abs;
            }
            if !(x.re.is_finite() && x.im.is_finite() && y.re.is_finite() && y.im.is_finite()) {
                return false;
            }
            let scale = x.norm().max(y.norm());
            (x - y).norm() <= rel * scale + abs
        }
    }
}

/// `a - b` for scalars (used for tolerance checks).
pub(crate) fn sub(a: Val, b: Val) -> Res {
    add(a, neg(b))
}

/// Absolute value of a scalar as an exact rational when possible.
pub(crate) fn abs_exact(v: &Val) -> Option<BigRational> {
    match v {
        Val::Exact(q) if is_real(q) => Some(q.re.abs()),
        _ => None,
    }
}

/// `a / b` for scalars.
pub(crate) fn ratio(a: Val, b: Val) -> Res {
    div(a, b)
}

//! The set algebra the interval-set strategy normalizes with: a set of reals is a *lattice* (ℝ, ℤ, ℕ or ℚ)
//! intersected with a union of intervals, kept sorted, disjoint and merged, so that two ways of writing one set
//! (`\mathbb{R} \setminus \{2\}` and `(-\infty, 2) \cup (2, \infty)`) become the same pieces.
//!
//! Endpoints must evaluate to real numbers. Two endpoints are ordered exactly when both are exact rationals, else
//! as floats; floats closer than 1e-9 relative cannot be ordered safely and the normalization gives up (the
//! strategy then falls back to comparing the pieces as written).

use std::cmp::Ordering;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, ToPrimitive, Zero};

use crate::ast::{Constant, Node, NumberSet, SetOp};

use super::eval::{Env, PercentRead, Val, eval};
use super::{Ctx, equivalent};

/// Integer pieces expanded into their points when a set has at most this many: `\mathbb{Z} \cap [1, 3]` is
/// `\{1, 2, 3\}`. Bounds the size of the expansion.
const MAX_POINTS: usize = 64;

/// Which numbers a set holds within its pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lattice {
    /// Every real in the pieces.
    Reals,
    /// The integers in the pieces.
    Integers,
    /// The naturals in the pieces (whether 0 is one is left open: such sets equal only sets of naturals).
    Naturals,
    /// The rationals in the pieces.
    Rationals,
}

/// An endpoint's position on the extended real line.
#[derive(Clone, Debug)]
enum Key {
    NegInf,
    Exact(BigRational),
    Float(f64),
    PosInf,
}

impl Key {
    fn of(n: &Node, ctx: &Ctx) -> Option<Key> {
        match eval(n, &Env::new(), PercentRead::Unit, &ctx.work).ok()? {
            Val::Exact(q) if q.im.is_zero() => Some(Key::Exact(q.re)),
            Val::Float(c) if c.im == 0.0 && c.re == f64::INFINITY => Some(Key::PosInf),
            Val::Float(c) if c.im == 0.0 && c.re == f64::NEG_INFINITY => Some(Key::NegInf),
            Val::Float(c) if c.im == 0.0 && c.re.is_finite() => Some(Key::Float(c.re)),
            _ => None,
        }
    }
    fn is_infinite(&self) -> bool {
        matches!(self, Key::NegInf | Key::PosInf)
    }
    fn to_f64(&self) -> f64 {
        match self {
            Key::NegInf => f64::NEG_INFINITY,
            Key::Exact(q) => q.to_f64().unwrap_or(f64::NAN),
            Key::Float(f) => *f,
            Key::PosInf => f64::INFINITY,
        }
    }
    /// The order of two endpoints, or `None` when floats are too close to tell.
    fn cmp(&self, other: &Key) -> Option<Ordering> {
        match (self, other) {
            (Key::NegInf, Key::NegInf) | (Key::PosInf, Key::PosInf) => Some(Ordering::Equal),
            (Key::NegInf, _) | (_, Key::PosInf) => Some(Ordering::Less),
            (_, Key::NegInf) | (Key::PosInf, _) => Some(Ordering::Greater),
            (Key::Exact(x), Key::Exact(y)) => Some(x.cmp(y)),
            _ => {
                let (x, y) = (self.to_f64(), other.to_f64());
                if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0) { None } else { x.partial_cmp(&y) }
            }
        }
    }
}

/// One end of a piece.
#[derive(Clone, Debug)]
struct End {
    node: Node,
    key: Key,
    closed: bool,
}

/// A non-empty interval.
#[derive(Clone, Debug)]
struct Piece {
    lo: End,
    hi: End,
}

/// A set of reals: `lattice` ∩ (the union of `pieces`), pieces sorted, disjoint and not touching.
#[derive(Clone, Debug)]
pub(super) struct RealSet {
    lattice: Lattice,
    pieces: Vec<Piece>,
}

/// An interval as written, before normalization: `(lo, hi, lo_closed, hi_closed)`.
pub(super) type Written = (Node, Node, bool, bool);

impl RealSet {
    /// The set of the written intervals' union, or `None` when an endpoint is not a real number or two cannot be
    /// ordered.
    pub(super) fn of_intervals(lattice: Lattice, written: Vec<Written>, ctx: &Ctx) -> Option<RealSet> {
        let mut pieces = Vec::with_capacity(written.len());
        for (lo, hi, lo_closed, hi_closed) in written {
            let (lk, hk) = (Key::of(&lo, ctx)?, Key::of(&hi, ctx)?);
            // `(3, 1)` is a point, not an interval.
            if lk.cmp(&hk)? == Ordering::Greater {
                return None;
            }
            pieces.push(Piece {
                lo: End { node: lo, key: lk, closed: lo_closed },
                hi: End { node: hi, key: hk, closed: hi_closed },
            });
        }
        RealSet::new(lattice, pieces)
    }

    /// A number set: ℤ, ℕ, ℚ over the whole line; ℂ is not a set of reals (`None`).
    pub(super) fn number_set(set: NumberSet) -> Option<RealSet> {
        let lattice = match set {
            NumberSet::Naturals => Lattice::Naturals,
            NumberSet::Integers => Lattice::Integers,
            NumberSet::Rationals => Lattice::Rationals,
            NumberSet::Complexes => return None,
        };
        let inf = Node::Const(Constant::Infinity);
        let whole = Piece {
            lo: End { node: Node::Neg(Box::new(inf.clone())), key: Key::NegInf, closed: false },
            hi: End { node: inf, key: Key::PosInf, closed: false },
        };
        RealSet::new(lattice, vec![whole])
    }

    /// `self op other`, or `None` when the result is not a lattice ∩ intervals (`\mathbb{R} \setminus \mathbb{Z}`,
    /// `\mathbb{N} \cup \{0\}`) or endpoints cannot be ordered.
    pub(super) fn combine(self, op: SetOp, other: RealSet) -> Option<RealSet> {
        use Lattice::{Integers, Rationals, Reals};
        let lattice = match (self.lattice, other.lattice, op) {
            (l, m, _) if l == m => l,
            (l, Reals, SetOp::Intersection | SetOp::Minus) => l,
            (Reals, m, SetOp::Intersection) => m,
            // Points of the lattice join it: ℤ ∪ {1/2} is no lattice set, ℤ ∪ {-1} is.
            (l @ (Integers | Rationals), Reals, SetOp::Union) if other.points_in(l) => l,
            (Reals, m @ (Integers | Rationals), SetOp::Union) if self.points_in(m) => m,
            _ if self.pieces.is_empty() && op != SetOp::Minus => other.lattice,
            _ if other.pieces.is_empty() => self.lattice,
            _ => return None,
        };
        let pieces = match op {
            SetOp::Union => self.pieces.into_iter().chain(other.pieces).collect(),
            SetOp::Intersection => intersect(&self.pieces, &other.pieces)?,
            SetOp::Minus => intersect(&self.pieces, &complement(&other.pieces))?,
        };
        RealSet::new(lattice, pieces)
    }

    /// Same lattice and the same pieces (endpoints equivalent, closedness equal).
    pub(super) fn same(&self, other: &RealSet, ctx: &Ctx) -> bool {
        let ends_eq = |x: &End, y: &End| x.closed == y.closed && equivalent(&x.node, &y.node, ctx).is_some();
        (self.lattice == other.lattice || self.pieces.is_empty())
            && self.pieces.len() == other.pieces.len()
            && self.pieces.iter().zip(&other.pieces).all(|(p, q)| ends_eq(&p.lo, &q.lo) && ends_eq(&p.hi, &q.hi))
    }

    /// Whether every piece is one point of `lattice` (exact; an integer for ℤ).
    fn points_in(&self, lattice: Lattice) -> bool {
        self.pieces.iter().all(|p| match (&p.lo.key, p.is_point()) {
            (Key::Exact(q), true) => lattice != Lattice::Integers || q.is_integer(),
            _ => false,
        })
    }

    /// Normalizes: empty pieces dropped, infinite ends open, sorted, overlapping or touching pieces merged; integer
    /// lattices get integer ends and small finite sets become their points.
    fn new(lattice: Lattice, pieces: Vec<Piece>) -> Option<RealSet> {
        let mut pieces = normalize(pieces)?;
        let mut lattice = lattice;
        if matches!(lattice, Lattice::Integers | Lattice::Naturals) {
            pieces = integer_ends(lattice, pieces)?;
            if let Some(points) = expand_points(lattice, &pieces) {
                pieces = points;
                lattice = Lattice::Reals;
            }
        }
        if pieces.is_empty()
            || (lattice == Lattice::Rationals
                && pieces.iter().all(|p| p.is_point() && matches!(p.lo.key, Key::Exact(_))))
        {
            lattice = Lattice::Reals;
        }
        Some(RealSet { lattice, pieces })
    }
}

impl Piece {
    fn is_point(&self) -> bool {
        matches!(self.lo.key.cmp(&self.hi.key), Some(Ordering::Equal))
    }
}

/// Sorted, disjoint, merged pieces; `None` when two endpoints cannot be ordered.
fn normalize(pieces: Vec<Piece>) -> Option<Vec<Piece>> {
    let mut kept = Vec::with_capacity(pieces.len());
    for mut p in pieces {
        if p.lo.key.is_infinite() {
            p.lo.closed = false;
        }
        if p.hi.key.is_infinite() {
            p.hi.closed = false;
        }
        match p.lo.key.cmp(&p.hi.key)? {
            Ordering::Greater => {}
            Ordering::Equal if !(p.lo.closed && p.hi.closed) => {}
            _ => kept.push(p),
        }
    }
    // Sort by lower end, a closed end first on ties; a comparison that cannot be made aborts.
    let mut unordered = false;
    kept.sort_by(|a, b| match a.lo.key.cmp(&b.lo.key) {
        Some(Ordering::Equal) => b.lo.closed.cmp(&a.lo.closed),
        Some(o) => o,
        None => {
            unordered = true;
            Ordering::Equal
        }
    });
    if unordered {
        return None;
    }
    let mut out: Vec<Piece> = Vec::with_capacity(kept.len());
    for p in kept {
        if let Some(last) = out.last_mut() {
            let touches = match p.lo.key.cmp(&last.hi.key)? {
                Ordering::Less => true,
                Ordering::Equal => p.lo.closed || last.hi.closed,
                Ordering::Greater => false,
            };
            if touches {
                match p.hi.key.cmp(&last.hi.key)? {
                    Ordering::Greater => last.hi = p.hi,
                    Ordering::Equal => last.hi.closed |= p.hi.closed,
                    Ordering::Less => {}
                }
                continue;
            }
        }
        out.push(p);
    }
    Some(out)
}

/// Pairwise intersections of two normalized piece lists.
fn intersect(a: &[Piece], b: &[Piece]) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    for p in a {
        for q in b {
            let lo = match p.lo.key.cmp(&q.lo.key)? {
                Ordering::Greater => p.lo.clone(),
                Ordering::Less => q.lo.clone(),
                Ordering::Equal => End { closed: p.lo.closed && q.lo.closed, ..p.lo.clone() },
            };
            let hi = match p.hi.key.cmp(&q.hi.key)? {
                Ordering::Less => p.hi.clone(),
                Ordering::Greater => q.hi.clone(),
                Ordering::Equal => End { closed: p.hi.closed && q.hi.closed, ..p.hi.clone() },
            };
            out.push(Piece { lo, hi });
        }
    }
    normalize(out)
}

/// The gaps between normalized pieces: the complement on the real line.
fn complement(pieces: &[Piece]) -> Vec<Piece> {
    let inf = Node::Const(Constant::Infinity);
    let mut start = End { node: Node::Neg(Box::new(inf.clone())), key: Key::NegInf, closed: false };
    let mut out = Vec::with_capacity(pieces.len() + 1);
    for p in pieces {
        out.push(Piece { lo: start, hi: End { closed: !p.lo.closed, ..p.lo.clone() } });
        start = End { closed: !p.hi.closed, ..p.hi.clone() };
    }
    out.push(Piece { lo: start, hi: End { node: inf, key: Key::PosInf, closed: false } });
    out
}

/// Integer lattices: each finite end moved to the nearest integer inside the piece (`(0, \infty)` is `[1, \infty)`
/// in ℤ), pieces below 0 dropped for ℕ, and pieces one apart merged. `None` when a finite end is not exact.
fn integer_ends(lattice: Lattice, pieces: Vec<Piece>) -> Option<Vec<Piece>> {
    let one = BigRational::one();
    let int_end =
        |q: BigRational| End { node: Node::Num { value: q.clone(), decimals: None }, key: Key::Exact(q), closed: true };
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for p in pieces {
        let lo = match &p.lo.key {
            Key::Exact(q) => Some(if p.lo.closed || !q.is_integer() { q.ceil() } else { q + &one }),
            Key::NegInf => None,
            _ => return None,
        };
        let hi = match &p.hi.key {
            Key::Exact(q) => Some(if p.hi.closed || !q.is_integer() { q.floor() } else { q - &one }),
            Key::PosInf => None,
            _ => return None,
        };
        // No natural is negative, whichever convention holds for 0.
        let lo = match lo {
            Some(l) if lattice == Lattice::Naturals && l < BigRational::zero() => Some(BigRational::zero()),
            None if lattice == Lattice::Naturals => Some(BigRational::zero()),
            other => other,
        };
        if let (Some(l), Some(h)) = (&lo, &hi)
            && l > h
        {
            continue;
        }
        let lo = lo.map_or(p.lo, int_end);
        let hi = hi.map_or(p.hi, int_end);
        if let Some(last) = out.last_mut()
            && let (Key::Exact(prev), Key::Exact(next)) = (&last.hi.key, &lo.key)
            && &(prev + &one) == next
        {
            last.hi = hi;
            continue;
        }
        out.push(Piece { lo, hi });
    }
    Some(out)
}

/// The points of a finite integer set of at most [`MAX_POINTS`] (for ℕ only when every point is at least 1, so that
/// the convention on 0 never matters).
fn expand_points(lattice: Lattice, pieces: &[Piece]) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    for p in pieces {
        let (Key::Exact(lo), Key::Exact(hi)) = (&p.lo.key, &p.hi.key) else { return None };
        if lattice == Lattice::Naturals && lo < &BigRational::one() {
            return None;
        }
        let count = (hi - lo).to_integer().to_usize()? + 1;
        if out.len() + count > MAX_POINTS {
            return None;
        }
        let mut k = lo.to_integer();
        while BigRational::from_integer(k.clone()) <= *hi {
            let q = BigRational::from_integer(k.clone());
            let end = End { node: Node::Num { value: q.clone(), decimals: None }, key: Key::Exact(q), closed: true };
            out.push(Piece { lo: end.clone(), hi: end });
            k += BigInt::one();
        }
    }
    Some(out)
}

//! Equivalence of two parsed answers: a small dispatcher over one strategy per file.
//!
//! [`equivalent`] first compares canonical forms ([`canon`]), then every pair of answer views ([`views`]: `x = 3`
//! → `3`, `a = b = c` → `c`, `x \in S` → `S`), and for each pair runs the strategies of [`STRATEGIES`] in order.
//! The first strategy that recognises the pair decides it:
//!
//! 1. [`text`]: words against words;
//! 2. [`relations`]: equations up to side swap and non-zero scaling, inequalities up to flipping and positive
//!    scaling;
//! 3. [`interval_sets`]: sets of reals (intervals, unions, differences, intersections, `\mathbb{R}`, `\mathbb{Z}`,
//!    `\mathbb{N}`, single-variable inequalities), normalized to disjoint pieces;
//! 4. [`matrices`]: matrices entry by entry, and column or row vectors against tuples;
//! 5. [`collections`]: sets and lists unordered, tuples, points and intervals ordered;
//! 6. [`ratios`]: `a : b` as a ratio;
//! 7. [`scalars`]: numbers exactly or at their written precision, expressions with variables at [`POINTS`]
//!    pseudo-random points ([`points`]), renaming ([`renaming`]) when the options allow it.
//!
//! Scalars without variables are evaluated exactly (Gaussian big rationals, [`eval`]) where possible and else as
//! complex floats with relative tolerance 1e-10. Two decimals are equal when they are the same number; a decimal
//! equals a value with no finite decimal form only to the precision it was written with: `0.3333` = 1/3 because
//! |1/3 − 0.3333| ≤ 0.00005.
//!
//! Scalars with free variables are compared at [`POINTS`] pseudo-random points (deterministic: no clock). Each
//! variable gets an independent value p/q with p uniform in 1..=2^15 and q in 1..=32 (at least 2^15 distinct values
//! per variable). **False-positive bound**: when both sides are rational functions evaluated exactly (no roots,
//! logs, trig or π), a wrong "equal" needs the non-zero numerator of their difference, of total degree d, to vanish
//! at every point; by the Schwartz–Zippel lemma that has probability at most (d / 2^15)^POINTS, e.g. below 2^-44
//! for d ≤ 64. When floats are involved (transcendental functions), values are compared with relative tolerance
//! 1e-9, and the bound is heuristic: a false positive needs the difference to be below 1e-9 relative at every point.

mod canon;
mod collections;
mod eval;
mod interval_sets;
mod matrices;
mod points;
mod ratios;
mod real_set;
mod relations;
mod renaming;
mod scalars;
mod text;
mod tree;
mod views;

#[cfg(test)]
mod test;

use std::cell::Cell;

use crate::Reason;
use crate::ast::Node;
use crate::options::Options;

pub(crate) use canon::canon;
pub use points::POINTS;

/// Comparisons (recursive calls) allowed per pair before giving up as different: bounds the work on big lists.
const BUDGET: u32 = 20_000;

/// The options of one verification and the work it may still do.
pub(crate) struct Ctx<'a> {
    opts: &'a Options,
    budget: Cell<u32>,
    /// Nodes evaluated so far (see [`eval::MAX_WORK`]).
    work: Cell<u32>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(opts: &'a Options) -> Self {
        Self { opts, budget: Cell::new(BUDGET), work: Cell::new(0) }
    }
    /// Whether the work budget ran out during the comparisons.
    pub(crate) fn exhausted(&self) -> bool {
        self.budget.get() == 0 || self.work.get() >= eval::MAX_WORK
    }
    fn spend(&self) -> bool {
        let b = self.budget.get();
        if b == 0 {
            return false;
        }
        self.budget.set(b - 1);
        true
    }
}

/// What a strategy says about a pair of views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The pair is this strategy's kind: equal with the reason, or different (`None`).
    Decided(Option<Reason>),
    /// Not this strategy's kind: the next one is asked.
    Pass,
}

/// A comparison strategy: one file of this module each.
type Strategy = fn(&Node, &Node, &Ctx) -> Step;

/// The strategies in the order they are asked (see the module doc), with the names the tests use.
pub(crate) const STRATEGIES: &[(&str, Strategy)] = &[
    ("text", text::compare),
    ("relations", relations::compare),
    ("interval_sets", interval_sets::compare),
    ("matrices", matrices::compare),
    ("collections", collections::compare),
    ("ratios", ratios::compare),
    ("scalars", scalars::compare),
];

/// Whether `p` (prediction) and `g` (gold) are equivalent, with the reason.
pub(crate) fn equivalent(p: &Node, g: &Node, ctx: &Ctx) -> Option<Reason> {
    if !ctx.spend() {
        return None;
    }
    if canon(p) == canon(g) {
        return Some(Reason::Identical);
    }
    let pv = views::views(p);
    let gv = views::views(g);
    for a in &pv {
        for b in &gv {
            if canon(a) == canon(b) {
                return Some(Reason::Identical);
            }
            if let Some(r) = dispatch(a, b, ctx) {
                return Some(r);
            }
        }
    }
    None
}

/// Asks the strategies in order; the first that recognises the pair decides.
fn dispatch(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    if !ctx.spend() {
        return None;
    }
    for (_, strategy) in STRATEGIES {
        if let Step::Decided(r) = strategy(a, b, ctx) {
            return r;
        }
    }
    None
}

//! Renaming: a consistent renaming of variables (`f(y)` for `f(x)`), tried when [`Options::allow_renaming`] is set.
//!
//! [`Options::allow_renaming`]: crate::Options::allow_renaming

use std::collections::BTreeSet;

use crate::Reason;
use crate::ast::Node;

use super::Ctx;
use super::eval::PercentRead;
use super::scalars::symbolic_eq;
use super::tree::symbols;

/// Variables compared under renaming: all permutations of at most this many.
const MAX_RENAMED: usize = 4;

/// Tries every bijection between the two sides' variables (at most [`MAX_RENAMED`] of them).
pub(super) fn renamed_eq(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    let mut sa = BTreeSet::new();
    let mut sb = BTreeSet::new();
    symbols(a, &mut sa);
    symbols(b, &mut sb);
    if sa.len() != sb.len() || sa.is_empty() || sa.len() > MAX_RENAMED {
        return None;
    }
    let sa: Vec<String> = sa.into_iter().collect();
    let sb: Vec<String> = sb.into_iter().collect();
    let mut perm: Vec<usize> = (0..sb.len()).collect();
    loop {
        let renamed = rename(a, &|s: &str| sa.iter().position(|x| x == s).map(|k| sb[perm[k]].clone()));
        if symbolic_eq(&renamed, b, &sb, PercentRead::Unit, PercentRead::Unit, ctx).is_some() {
            return Some(Reason::Symbolic);
        }
        if !next_perm(&mut perm) {
            return None;
        }
    }
}

fn next_perm(p: &mut [usize]) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    let mut i = n - 1;
    while i > 0 && p[i - 1] >= p[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = n - 1;
    while p[j] <= p[i - 1] {
        j -= 1;
    }
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

fn rename(n: &Node, f: &dyn Fn(&str) -> Option<String>) -> Node {
    let r = |x: &Node| Box::new(rename(x, f));
    let rv = |v: &[Node]| v.iter().map(|x| rename(x, f)).collect::<Vec<_>>();
    match n {
        Node::Sym(s) => Node::Sym(f(s).unwrap_or_else(|| s.clone())),
        Node::Neg(a) => Node::Neg(r(a)),
        Node::Percent(a) => Node::Percent(r(a)),
        Node::Degrees(a) => Node::Degrees(r(a)),
        Node::Add(v) => Node::Add(rv(v)),
        Node::Mul(v) => Node::Mul(rv(v)),
        Node::Div(a, b) => Node::Div(r(a), r(b)),
        Node::Pow(a, b) => Node::Pow(r(a), r(b)),
        Node::Root(a, b) => Node::Root(r(a), r(b)),
        Node::Apply(func, v) => Node::Apply(*func, rv(v)),
        other => other.clone(),
    }
}

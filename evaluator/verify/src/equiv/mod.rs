//! Equivalence of two parsed answers.
//!
//! Order of checks: identical canonical forms; answer views (`x = 3` → `3`, `a = b = c` → `c`, `x \in S` → `S`);
//! text; relations (equations up to side swap and non-zero scaling, inequalities up to flipping and positive
//! scaling); interval sets (intervals, unions, single-variable inequalities); collections (sets and lists
//! unordered, tuples ordered); matrices; ratios; and last scalars.
//!
//! Scalars without variables are evaluated exactly (Gaussian big rationals) where possible and else as complex
//! floats with relative tolerance 1e-10. A decimal literal equals a value only to the precision it was written
//! with: `0.3333` = 1/3 because |1/3 − 0.3333| ≤ 0.00005.
//!
//! Scalars with free variables are compared at [`POINTS`] pseudo-random points (deterministic: no clock). Each
//! variable gets an independent value p/q with p uniform in 1..=2^15 and q in 1..=32 (at least 2^15 distinct values
//! per variable). **False-positive bound**: when both sides are rational functions evaluated exactly (no roots,
//! logs, trig or π), a wrong "equal" needs the non-zero numerator of their difference, of total degree d, to vanish
//! at every point; by the Schwartz–Zippel lemma that has probability at most (d / 2^15)^POINTS, e.g. below 2^-44
//! for d ≤ 64. When floats are involved (transcendental functions), values are compared with relative tolerance
//! 1e-9, and the bound is heuristic: a false positive needs the difference to be below 1e-9 relative at every point.

mod eval;

use std::cell::Cell;
use std::collections::BTreeSet;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use crate::Reason;
use crate::ast::{Bracket, Constant, Node, RelOp, SetOp};
use crate::options::{Options, PercentMode};
use eval::{Env, NoValue, PercentRead, Val, close, eval};

/// Points at which expressions with variables are compared.
pub const POINTS: usize = 4;

/// Comparisons (recursive calls) allowed per pair before giving up as different: bounds the work on big lists.
const BUDGET: u32 = 20_000;

/// Variables compared under renaming: all permutations of at most this many.
const MAX_RENAMED: usize = 4;

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

/// Whether `p` (prediction) and `g` (gold) are equivalent, with the reason.
pub(crate) fn equivalent(p: &Node, g: &Node, ctx: &Ctx) -> Option<Reason> {
    if !ctx.spend() {
        return None;
    }
    if canon(p) == canon(g) {
        return Some(Reason::Identical);
    }
    let pv = views(p);
    let gv = views(g);
    for a in &pv {
        for b in &gv {
            if canon(a) == canon(b) {
                return Some(Reason::Identical);
            }
            if let Some(r) = core(a, b, ctx) {
                return Some(r);
            }
        }
    }
    None
}

/// A canonical text of a tree: commutative operands sorted.
pub(crate) fn canon(n: &Node) -> String {
    let mut s = String::new();
    write_canon(n, &mut s, 0);
    s
}

fn write_canon(n: &Node, s: &mut String, depth: usize) {
    if depth > crate::MAX_DEPTH * 4 || s.len() > 1 << 16 {
        return;
    }
    let sorted = |items: &[Node]| {
        let mut v: Vec<String> = items
            .iter()
            .map(|i| {
                let mut t = String::new();
                write_canon(i, &mut t, depth + 1);
                t
            })
            .collect();
        v.sort();
        v.join(",")
    };
    match n {
        Node::Num { value, .. } => s.push_str(&value.to_string()),
        Node::Sym(x) => s.push_str(x),
        Node::Const(c) => s.push_str(&format!("{c:?}")),
        Node::Add(v) => s.push_str(&format!("+({})", sorted(v))),
        Node::Mul(v) => s.push_str(&format!("*({})", sorted(v))),
        Node::Set(v) => s.push_str(&format!("set({})", sorted(v))),
        Node::List(v) => {
            // Lists keep their order here: unordered comparison is the matcher's job (see `Options::ordered_lists`).
            let items: Vec<String> = v.iter().map(canon).collect();
            s.push_str(&format!("list({})", items.join(",")));
        }
        Node::Groups(v) => s.push_str(&format!("groups({})", sorted(v))),
        Node::Text(t) => s.push_str(&format!("text({t})")),
        other => {
            // Structural form for the rest: variant name and children in order.
            let (name, kids): (String, Vec<&Node>) = match other {
                Node::Neg(a) => ("neg".into(), vec![a]),
                Node::Div(a, b) => ("div".into(), vec![a, b]),
                Node::Pow(a, b) => ("pow".into(), vec![a, b]),
                Node::Root(a, b) => ("root".into(), vec![a, b]),
                Node::Apply(f, a) => (format!("{f:?}"), a.iter().collect()),
                Node::PlusMinus(a, b, m) => (format!("pm{m}"), vec![a, b]),
                Node::Percent(a) => ("pct".into(), vec![a]),
                Node::Degrees(a) => ("deg".into(), vec![a]),
                Node::Tuple { open, close, items } => (format!("tuple{open:?}{close:?}"), items.iter().collect()),
                Node::SetOp(op, items) => (format!("{op:?}"), items.iter().collect()),
                Node::Matrix(rows) => (format!("mat{}", rows.len()), rows.iter().flatten().collect()),
                Node::Relation { sides, ops } => (format!("rel{ops:?}"), sides.iter().collect()),
                Node::Ratio(v) => ("ratio".into(), v.iter().collect()),
                Node::Opaque(name, v) => (format!("op:{name}"), v.iter().collect()),
                _ => (String::new(), Vec::new()),
            };
            s.push_str(&name);
            s.push('(');
            for (k, c) in kids.iter().enumerate() {
                if k > 0 {
                    s.push(',');
                }
                write_canon(c, s, depth + 1);
            }
            s.push(')');
        }
    }
}

/// A label: what a final answer names before `=` (`x`, `a_3`, `f(x)`, `|AB|`, `NO/BO`, `(p, q)`, `A:B`).
fn is_label(n: &Node) -> bool {
    match n {
        Node::Sym(_) => true,
        Node::Const(Constant::E | Constant::I) => true,
        Node::Mul(v) | Node::Ratio(v) => v.iter().all(is_label),
        Node::Div(a, b) => is_label(a) && is_label(b),
        Node::Apply(crate::ast::Func::Abs, v) => v.iter().all(is_label),
        Node::Tuple { items, .. } | Node::List(items) => !items.is_empty() && items.iter().all(is_label),
        Node::Pow(a, b) => is_label(a) && matches!(&**b, Node::Num { .. } | Node::Neg(_)),
        _ => false,
    }
}

/// Free symbols of a tree.
fn symbols(n: &Node, out: &mut BTreeSet<String>) {
    match n {
        Node::Sym(s) => {
            out.insert(s.clone());
        }
        Node::Num { .. } | Node::Const(_) | Node::Text(_) => {}
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

fn has_symbols(n: &Node) -> bool {
    let mut s = BTreeSet::new();
    symbols(n, &mut s);
    !s.is_empty()
}

/// Alternative readings of one answer (see the module doc).
fn views(n: &Node) -> Vec<Node> {
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
                return vec![n.clone(), last];
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
fn strip_label(n: &Node) -> Node {
    let v = views(n);
    v.last().cloned().unwrap_or_else(|| n.clone())
}

/// Items of a collection and whether their order matters.
enum Coll {
    /// Tuples, points, intervals, vectors: ordered, with brackets.
    Tuple(Bracket, Bracket, Vec<Node>),
    /// Bare lists: unordered by default, but equal to a tuple written in the same order.
    List(Vec<Node>),
    /// Sets `\{…\}`.
    Set(Vec<Node>),
}

fn collection(n: &Node) -> Option<Coll> {
    match n {
        Node::Tuple { open, close, items } => Some(Coll::Tuple(*open, *close, items.clone())),
        Node::Set(items) => Some(Coll::Set(items.iter().flat_map(expand_pm).collect())),
        Node::List(items) => Some(Coll::List(items.iter().map(strip_label).flat_map(|i| expand_pm(&i)).collect())),
        Node::Groups(gs) => {
            let lens: Vec<Option<usize>> =
                gs.iter().map(|g| if let Node::List(v) = g { Some(v.len()) } else { None }).collect();
            let tuple_len = lens.first().copied().flatten();
            if tuple_len.is_some_and(|l| l >= 2) && lens.iter().all(|l| *l == tuple_len) {
                let items = gs
                    .iter()
                    .map(|g| match g {
                        Node::List(v) => Node::Tuple {
                            open: Bracket::Paren,
                            close: Bracket::Paren,
                            items: v.iter().map(strip_label).collect(),
                        },
                        other => other.clone(),
                    })
                    .collect();
                return Some(Coll::List(items));
            }
            let mut items = Vec::new();
            for g in gs {
                match g {
                    Node::List(v) => items.extend(v.iter().map(strip_label)),
                    other => items.push(strip_label(other)),
                }
            }
            Some(Coll::List(items.iter().flat_map(expand_pm).collect()))
        }
        Node::PlusMinus(..) => {
            let v = expand_pm(n);
            if v.len() > 1 { Some(Coll::List(v)) } else { None }
        }
        _ => None,
    }
}

/// `a ± b` → `[a + b, a − b]` (every ± in the tree, at most 2^6 combinations).
fn expand_pm(n: &Node) -> Vec<Node> {
    fn go(n: &Node, budget: &mut u32) -> Vec<Node> {
        match n {
            Node::PlusMinus(a, b, mp) if *budget > 0 => {
                *budget -= 1;
                let mut out = Vec::new();
                for x in go(a, budget) {
                    for y in go(b, budget) {
                        let plus = Node::Add(vec![x.clone(), y.clone()]);
                        let minus = Node::Add(vec![x.clone(), Node::Neg(Box::new(y))]);
                        if *mp {
                            out.push(minus);
                            out.push(plus);
                        } else {
                            out.push(plus);
                            out.push(minus);
                        }
                    }
                }
                out
            }
            Node::Neg(a) => go(a, budget).into_iter().map(|x| Node::Neg(Box::new(x))).collect(),
            Node::Add(v) | Node::Mul(v) => {
                let mut acc: Vec<Vec<Node>> = vec![Vec::new()];
                for c in v {
                    let alts = go(c, budget);
                    let mut next = Vec::new();
                    for prefix in &acc {
                        for a in &alts {
                            let mut p = prefix.clone();
                            p.push(a.clone());
                            next.push(p);
                        }
                    }
                    acc = next;
                    if acc.len() > 64 {
                        acc.truncate(64);
                    }
                }
                acc.into_iter()
                    .map(|items| if matches!(n, Node::Add(_)) { Node::Add(items) } else { Node::Mul(items) })
                    .collect()
            }
            Node::Div(a, b) => {
                let bs = go(b, budget);
                go(a, budget)
                    .into_iter()
                    .flat_map(|x| bs.iter().map(move |y| Node::Div(Box::new(x.clone()), Box::new(y.clone()))))
                    .collect()
            }
            Node::Pow(a, b) => {
                let bs = go(b, budget);
                go(a, budget)
                    .into_iter()
                    .flat_map(|x| bs.iter().map(move |y| Node::Pow(Box::new(x.clone()), Box::new(y.clone()))))
                    .collect()
            }
            other => vec![other.clone()],
        }
    }
    fn has_pm(n: &Node) -> bool {
        match n {
            Node::PlusMinus(..) => true,
            Node::Neg(a) => has_pm(a),
            Node::Div(a, b) | Node::Pow(a, b) => has_pm(a) || has_pm(b),
            Node::Add(v) | Node::Mul(v) => v.iter().any(has_pm),
            _ => false,
        }
    }
    if !has_pm(n) {
        return vec![n.clone()];
    }
    let mut budget = 6;
    go(n, &mut budget)
}

fn core(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    if !ctx.spend() {
        return None;
    }
    if let (Node::Text(x), Node::Text(y)) = (a, b) {
        return text_eq(x, y).then_some(Reason::Text);
    }
    if matches!(a, Node::Text(_)) || matches!(b, Node::Text(_)) {
        return None;
    }
    // Relations.
    if let (Node::Relation { .. }, Node::Relation { .. }) = (a, b)
        && let Some(r) = relation_eq(a, b, ctx)
    {
        return Some(r);
    }
    let a_rel = matches!(a, Node::Relation { .. });
    let b_rel = matches!(b, Node::Relation { .. });
    let setlike = |n: &Node| matches!(n, Node::SetOp(..) | Node::Tuple { .. } | Node::Set(_));
    if a_rel || b_rel || (matches!(a, Node::SetOp(..)) || matches!(b, Node::SetOp(..))) {
        let b_in = matches!(b, Node::Relation { ops, .. } if ops.as_slice() == [RelOp::In]);
        let a_ineq = a_rel && !matches!(a, Node::Relation { ops, .. } if ops.as_slice() == [RelOp::In]);
        let allowed = !(a_ineq && (setlike(b) || b_in) && !ctx.opts.relation_vs_set);
        if allowed && let (Some(x), Some(y)) = (intervals(a), intervals(b)) {
            return intervals_eq(&x, &y, ctx).then_some(Reason::Set);
        }
        if a_rel || b_rel {
            return None;
        }
    }
    if let (Node::SetOp(o1, x), Node::SetOp(o2, y)) = (a, b) {
        return (o1 == o2 && unordered_eq(x, y, ctx)).then_some(Reason::Set);
    }
    // Matrices and vectors.
    if let (Node::Matrix(x), Node::Matrix(y)) = (a, b)
        && x.len() == y.len()
        && x.iter().zip(y).all(|(r, s)| r.len() == s.len())
    {
        let ok = x.iter().flatten().zip(y.iter().flatten()).all(|(c, d)| equivalent(c, d, ctx).is_some());
        return ok.then_some(Reason::Exact);
    }
    if let Some(v) = vector_items(a).zip(vector_items(b))
        && let (Node::Matrix(_), _) | (_, Node::Matrix(_)) = (a, b)
    {
        return ordered_eq(&v.0, &v.1, ctx).then_some(Reason::Exact);
    }
    // Collections.
    match (collection(a), collection(b)) {
        (Some(x), Some(y)) => return collections_eq(x, y, ctx),
        (Some(x), None) => {
            return match x {
                Coll::List(v) | Coll::Set(v) if all_same(&v, ctx) => equivalent(&v[0], b, ctx),
                _ => None,
            };
        }
        (None, Some(y)) => {
            return match y {
                Coll::List(v) | Coll::Set(v) if all_same(&v, ctx) => equivalent(a, &v[0], ctx),
                _ => None,
            };
        }
        (None, None) => {}
    }
    if let (Node::Ratio(x), Node::Ratio(y)) = (a, b) {
        return ratio_eq(x, y, ctx);
    }
    scalar_eq(a, b, ctx)
}

/// A list of one value, or of one value written several ways (`15\frac{39}{40}` or `\frac{639}{40}`).
fn all_same(v: &[Node], ctx: &Ctx) -> bool {
    !v.is_empty() && v.len() <= 8 && v[1..].iter().all(|x| equivalent(x, &v[0], ctx).is_some())
}

fn text_eq(x: &str, y: &str) -> bool {
    let norm = |s: &str| -> String {
        let s = s.strip_prefix("the ").unwrap_or(s);
        match s {
            "yes" | "true" | "correct" => "yes".into(),
            "no" | "false" | "incorrect" => "no".into(),
            other => other.replace(' ', ""),
        }
    };
    norm(x) == norm(y)
}

fn vector_items(n: &Node) -> Option<Vec<Node>> {
    match n {
        Node::Matrix(rows) if rows.iter().all(|r| r.len() == 1) => Some(rows.iter().map(|r| r[0].clone()).collect()),
        Node::Matrix(rows) if rows.len() == 1 => Some(rows[0].clone()),
        Node::Tuple { items, .. } | Node::List(items) => Some(items.clone()),
        _ => None,
    }
}

fn collections_eq(x: Coll, y: Coll, ctx: &Ctx) -> Option<Reason> {
    let ok = match (x, y) {
        (Coll::Tuple(o1, c1, a), Coll::Tuple(o2, c2, b)) => {
            let parens = [o1, c1, o2, c2].iter().all(|b| *b == Bracket::Paren);
            o1 == o2
                && c1 == c2
                && (ordered_eq(&a, &b, ctx) || (ctx.opts.unordered_tuples && parens && unordered_eq(&a, &b, ctx)))
        }
        // A bare list written in order matches a tuple: `1, 3` vs `(1, 3)`.
        (Coll::Tuple(_, _, a), Coll::List(b)) | (Coll::List(a), Coll::Tuple(_, _, b)) => {
            let tuple_items = a.len() >= 2 && a.iter().all(|i| !matches!(i, Node::Tuple { .. }));
            if tuple_items && b.len() == a.len() {
                ordered_eq(&a, &b, ctx)
            } else if b.len() == 1 {
                // `(1, 2)` vs a one-item list holding a tuple.
                equivalent(&b[0], &Node::Tuple { open: Bracket::Paren, close: Bracket::Paren, items: a }, ctx).is_some()
            } else {
                false
            }
        }
        (Coll::Tuple(..), Coll::Set(_)) | (Coll::Set(_), Coll::Tuple(..)) => false,
        (Coll::List(a) | Coll::Set(a), Coll::List(b) | Coll::Set(b)) => {
            if ctx.opts.ordered_lists {
                ordered_eq(&a, &b, ctx)
            } else {
                unordered_eq(&a, &b, ctx)
            }
        }
    };
    ok.then_some(Reason::Set)
}

fn ordered_eq(a: &[Node], b: &[Node], ctx: &Ctx) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equivalent(x, y, ctx).is_some())
}

/// Multiset equality by matching (duplicates collapsed: `\{1, 1, 2\}` = `\{1, 2\}`).
fn unordered_eq(a: &[Node], b: &[Node], ctx: &Ctx) -> bool {
    let dedup = |v: &[Node]| -> Vec<Node> {
        let mut seen = std::collections::HashSet::new();
        v.iter().filter(|x| seen.insert(canon(x))).cloned().collect()
    };
    let (mut a, mut b) = (dedup(a), dedup(b));
    if a.len() != b.len() {
        return false;
    }
    // Items written identically match first (linear), the rest by equivalence (quadratic, on what is left).
    let mut by_canon: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    for (k, y) in b.iter().enumerate() {
        by_canon.entry(canon(y)).or_default().push(k);
    }
    let mut taken = vec![false; b.len()];
    a.retain(|x| match by_canon.get_mut(&canon(x)).and_then(Vec::pop) {
        Some(k) => {
            taken[k] = true;
            false
        }
        None => true,
    });
    let mut k = 0;
    b.retain(|_| {
        k += 1;
        !taken[k - 1]
    });
    let mut used = vec![false; b.len()];
    'outer: for x in &a {
        for (k, y) in b.iter().enumerate() {
            if !used[k] && equivalent(x, y, ctx).is_some() {
                used[k] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

fn ratio_eq(x: &[Node], y: &[Node], ctx: &Ctx) -> Option<Reason> {
    if x.len() != y.len() {
        return None;
    }
    if ordered_eq(x, y, ctx) {
        return Some(Reason::Exact);
    }
    if x.len() == 2 {
        let fx = Node::Div(Box::new(x[0].clone()), Box::new(x[1].clone()));
        let fy = Node::Div(Box::new(y[0].clone()), Box::new(y[1].clone()));
        return scalar_eq(&fx, &fy, ctx);
    }
    None
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
            let var_side = |s: &Node| matches!(s, Node::Sym(_)) || is_label(s) && has_symbols(s);
            let abs_of_var =
                |s: &Node| matches!(s, Node::Apply(crate::ast::Func::Abs, v) if v.len() == 1 && var_side(&v[0]));
            let closed = |o: RelOp| matches!(o, RelOp::Le | RelOp::Ge);
            match (sides.len(), ops.as_slice()) {
                (2, [op]) if !matches!(op, RelOp::Eq | RelOp::Ne | RelOp::Approx | RelOp::In) => {
                    let (var_left, c) = if var_side(&sides[0]) && !has_symbols(&sides[1]) {
                        (true, sides[1].clone())
                    } else if var_side(&sides[1]) && !has_symbols(&sides[0]) {
                        (false, sides[0].clone())
                    } else {
                        return None;
                    };
                    // Normalize to `x op c`.
                    let op = if var_left { *op } else { flip(*op) };
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
                        ops: vec![flip(*o2), flip(*o1)],
                    };
                    intervals(&rev)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn flip(o: RelOp) -> RelOp {
    match o {
        RelOp::Lt => RelOp::Gt,
        RelOp::Gt => RelOp::Lt,
        RelOp::Le => RelOp::Ge,
        RelOp::Ge => RelOp::Le,
        other => other,
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

fn all_symbols(a: &Node, b: &Node) -> Vec<String> {
    let mut s = BTreeSet::new();
    symbols(a, &mut s);
    symbols(b, &mut s);
    s.into_iter().collect()
}

/// SplitMix64: a tiny deterministic generator (no clock, no global state).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`POINTS`] assignments of the symbols, plus two spares used when a point hits a pole.
fn points(syms: &[String]) -> Vec<Env> {
    let mut state = 0x00C1_2A5E_ED00_0001u64;
    (0..POINTS + 2)
        .map(|_| {
            syms.iter()
                .map(|s| {
                    let p = (splitmix(&mut state) % (1 << 15)) as i64 + 1;
                    let q = (splitmix(&mut state) % 32) as i64 + 1;
                    let v = BigRational::new(BigInt::from(p), BigInt::from(q));
                    (s.clone(), Val::Exact(num_complex::Complex::new(v, BigRational::zero())))
                })
                .collect()
        })
        .collect()
}

/// Whether a node is a plain number literal written with decimals; returns their count.
fn decimals_of(n: &Node) -> Option<u32> {
    match n {
        Node::Num { decimals, .. } => *decimals,
        Node::Neg(a) | Node::Percent(a) | Node::Degrees(a) => decimals_of(a),
        _ => None,
    }
}

fn is_numeric_tree(n: &Node) -> bool {
    match n {
        Node::Num { .. } | Node::Sym(_) | Node::Const(_) => true,
        Node::Neg(a) | Node::Percent(a) | Node::Degrees(a) => is_numeric_tree(a),
        Node::Div(a, b) | Node::Pow(a, b) | Node::Root(a, b) => is_numeric_tree(a) && is_numeric_tree(b),
        Node::Add(v) | Node::Mul(v) | Node::Apply(_, v) => v.iter().all(is_numeric_tree),
        Node::Matrix(rows) => rows.iter().flatten().all(is_numeric_tree),
        _ => false,
    }
}

fn has_percent(n: &Node) -> bool {
    match n {
        Node::Percent(_) => true,
        Node::Neg(a) => has_percent(a),
        Node::Div(a, b) | Node::Pow(a, b) => has_percent(a) || has_percent(b),
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_percent),
        _ => false,
    }
}

fn scalar_eq(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
    if !is_numeric_tree(a) || !is_numeric_tree(b) {
        return None;
    }
    let reads = |n: &Node| -> Vec<PercentRead> {
        if !has_percent(n) {
            return vec![PercentRead::Unit];
        }
        match ctx.opts.percent {
            PercentMode::Lenient => vec![PercentRead::Unit, PercentRead::Scaled],
            PercentMode::Unit => vec![PercentRead::Unit],
            PercentMode::Scaled => vec![PercentRead::Scaled],
        }
    };
    let syms = all_symbols(a, b);
    for ra in reads(a) {
        for rb in reads(b) {
            let r = if syms.is_empty() { numeric_eq(a, b, ra, rb, ctx) } else { symbolic_eq(a, b, &syms, ra, rb, ctx) };
            if r.is_some() {
                return r;
            }
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

fn has_degrees(n: &Node) -> bool {
    match n {
        Node::Degrees(_) => true,
        Node::Neg(a) | Node::Percent(a) => has_degrees(a),
        Node::Div(a, b) | Node::Pow(a, b) => has_degrees(a) || has_degrees(b),
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_degrees),
        _ => false,
    }
}

/// Degrees written as radians: x° → x·π/180.
fn to_radians(n: &Node) -> Node {
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

fn numeric_eq(a: &Node, b: &Node, ra: PercentRead, rb: PercentRead, ctx: &Ctx) -> Option<Reason> {
    let env = Env::new();
    let (x, y) = (eval(a, &env, ra, &ctx.work).ok()?, eval(b, &env, rb, &ctx.work).ok()?);
    if values_eq(&x, &y, decimals_of(a), decimals_of(b), ctx.opts.relative_tolerance) {
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

/// Numbers equal exactly, or within the written precision of a decimal literal, or within the relative tolerance.
fn values_eq(x: &Val, y: &Val, dx: Option<u32>, dy: Option<u32>, rel: Option<f64>) -> bool {
    if let (Val::Exact(p), Val::Exact(q)) = (x, y)
        && p == q
    {
        return true;
    }
    if matches!(x, Val::Matrix(_)) || matches!(y, Val::Matrix(_)) {
        return close(x, y, 1e-10, 1e-13);
    }
    // Half a unit in the last written place of the coarser decimal.
    let places = match (dx, dy) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
    if let Some(r) = rel {
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

fn symbolic_eq(a: &Node, b: &Node, syms: &[String], ra: PercentRead, rb: PercentRead, ctx: &Ctx) -> Option<Reason> {
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

/// Tries every bijection between the two sides' variables (at most [`MAX_RENAMED`] of them).
fn renamed_eq(a: &Node, b: &Node, ctx: &Ctx) -> Option<Reason> {
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

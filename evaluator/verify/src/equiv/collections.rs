//! Strategy: collections. Sets and bare lists are unordered (duplicates collapsed), tuples, points and intervals
//! ordered; a bare list written in order equals a tuple; `a \pm b` is the list of both values; a list of one value
//! written several ways equals that value.

use crate::Reason;
use crate::ast::{Bracket, Node};

use super::views::strip_label;
use super::{Ctx, Step, canon, equivalent};

/// Decides every pair in which one side is a collection.
pub(super) fn compare(a: &Node, b: &Node, ctx: &Ctx) -> Step {
    let one_value = |c: Coll, other: &Node, pred_first: bool| match c {
        Coll::List(v) | Coll::Set(v) if all_same(&v, ctx) => {
            if pred_first {
                equivalent(&v[0], other, ctx)
            } else {
                equivalent(other, &v[0], ctx)
            }
        }
        _ => None,
    };
    Step::Decided(match (collection(a), collection(b)) {
        (Some(x), Some(y)) => collections_eq(x, y, ctx),
        (Some(x), None) => one_value(x, b, true),
        (None, Some(y)) => one_value(y, a, false),
        (None, None) => return Step::Pass,
    })
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

/// A list of one value, or of one value written several ways (`15\frac{39}{40}` or `\frac{639}{40}`).
fn all_same(v: &[Node], ctx: &Ctx) -> bool {
    !v.is_empty() && v.len() <= 8 && v[1..].iter().all(|x| equivalent(x, &v[0], ctx).is_some())
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

pub(super) fn ordered_eq(a: &[Node], b: &[Node], ctx: &Ctx) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equivalent(x, y, ctx).is_some())
}

/// Multiset equality by matching (duplicates collapsed: `\{1, 1, 2\}` = `\{1, 2\}`).
pub(super) fn unordered_eq(a: &[Node], b: &[Node], ctx: &Ctx) -> bool {
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

//! Canonical text of a tree: the "identical" check that precedes every strategy.

use crate::ast::Node;

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
        Node::NumberSet(set) => s.push_str(&format!("{set:?}")),
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

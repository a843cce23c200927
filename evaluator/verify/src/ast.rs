//! The expression tree an answer parses into.

use std::fmt;

use num_rational::BigRational;

/// Named constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Constant {
    /// π
    Pi,
    /// Euler's number e (a bare `e` is always this constant).
    E,
    /// The imaginary unit (a bare `i` is always this constant).
    I,
    /// ∞ (signed by an enclosing [`Node::Neg`]).
    Infinity,
}

/// Functions applied to arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Func {
    /// sin
    Sin,
    /// cos
    Cos,
    /// tan
    Tan,
    /// sec
    Sec,
    /// csc
    Csc,
    /// cot
    Cot,
    /// arcsin
    Asin,
    /// arccos
    Acos,
    /// arctan
    Atan,
    /// sinh
    Sinh,
    /// cosh
    Cosh,
    /// tanh
    Tanh,
    /// Natural logarithm (`\ln`, and `\log` without a base).
    Ln,
    /// Logarithm with a base: arguments `[base, x]`.
    Log,
    /// exp
    Exp,
    /// |x|
    Abs,
    /// n!
    Factorial,
    /// binomial coefficient: arguments `[n, k]`.
    Binom,
    /// ⌊x⌋
    Floor,
    /// ⌈x⌉
    Ceil,
}

/// The standard number sets, written `\mathbb{N}`, `\mathbb{Z}`, `\mathbb{Q}`, `\mathbb{C}` (`\mathbb{R}` parses as the
/// interval (−∞, ∞)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NumberSet {
    /// ℕ (whether it holds 0 is a convention: it is compared only with ℕ).
    Naturals,
    /// ℤ
    Integers,
    /// ℚ
    Rationals,
    /// ℂ
    Complexes,
}

/// Bracket kinds of tuples and intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bracket {
    /// `(` or `)`: open end.
    Paren,
    /// `[` or `]`: closed end.
    Square,
}

/// Relations between the sides of a [`Node::Relation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelOp {
    /// =
    Eq,
    /// ≈ (the right side is an approximation of the left)
    Approx,
    /// ≠
    Ne,
    /// <
    Lt,
    /// ≤
    Le,
    /// >
    Gt,
    /// ≥
    Ge,
    /// ∈
    In,
}

impl RelOp {
    /// The relation with its sides swapped: `<` ↔ `>`, `≤` ↔ `≥`; the others are symmetric (or, for `∈`, kept).
    pub(crate) fn flipped(self) -> RelOp {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Gt => RelOp::Lt,
            RelOp::Le => RelOp::Ge,
            RelOp::Ge => RelOp::Le,
            other => other,
        }
    }
}

/// Set operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetOp {
    /// ∪
    Union,
    /// ∩
    Intersection,
    /// ∖
    Minus,
}

/// An answer's expression tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A number literal; `decimals` is the count of digits written after the decimal point (`None` for integers
    /// and for exact values such as fractions), used to compare it at the precision it was written with.
    Num {
        /// Exact value of the literal.
        value: BigRational,
        /// Digits written after the decimal point.
        decimals: Option<u32>,
    },
    /// A variable or other named symbol (subscripts and primes are part of the name: `a_{37}`, `f'`).
    Sym(String),
    /// A named constant.
    Const(Constant),
    /// −x
    Neg(Box<Node>),
    /// a + b + …
    Add(Vec<Node>),
    /// a · b · …
    Mul(Vec<Node>),
    /// a / b
    Div(Box<Node>, Box<Node>),
    /// a ^ b
    Pow(Box<Node>, Box<Node>),
    /// n-th root: `[radicand, index]`.
    Root(Box<Node>, Box<Node>),
    /// A function applied to its arguments.
    Apply(Func, Vec<Node>),
    /// a ± b (or a ∓ b when `minus_first`).
    PlusMinus(Box<Node>, Box<Node>, bool),
    /// x % (read as a unit or as x/100, see [`crate::PercentMode`]).
    Percent(Box<Node>),
    /// x° (read as the number x, or as the angle x·π/180 when compared with radians).
    Degrees(Box<Node>),
    /// `(a, b)`, `[a, b)`, …: ordered; with two items also an interval.
    Tuple {
        /// Left bracket.
        open: Bracket,
        /// Right bracket.
        close: Bracket,
        /// Items in order.
        items: Vec<Node>,
    },
    /// `\{a, b\}`: unordered.
    Set(Vec<Node>),
    /// `a, b, c` without brackets (also `{a, b}` in LaTeX grouping braces).
    List(Vec<Node>),
    /// Groups separated by `;`, "and", "or": each group is a node (often a [`Node::List`]).
    Groups(Vec<Node>),
    /// A standard number set.
    NumberSet(NumberSet),
    /// Unions, intersections, differences of sets.
    SetOp(SetOp, Vec<Node>),
    /// Matrix rows (a column vector has one item per row).
    Matrix(Vec<Vec<Node>>),
    /// A chain of relations: `sides.len() == ops.len() + 1`.
    Relation {
        /// The sides, left to right.
        sides: Vec<Node>,
        /// The relation between each pair of neighbouring sides.
        ops: Vec<RelOp>,
    },
    /// a : b : …
    Ratio(Vec<Node>),
    /// Words (lower-cased, single spaces).
    Text(String),
    /// A construct compared only structurally (sums, integrals, limits): name and parts.
    Opaque(String, Vec<Node>),
}

impl Node {
    /// An integer literal.
    pub(crate) fn int(v: i64) -> Node {
        Node::Num { value: BigRational::from_integer(v.into()), decimals: None }
    }
}

/// A compact prefix form of the tree, for tests and debugging: `(+ (* 2 x) 1)`, `(cos (* 2 x))`,
/// `(tuple[) 0 1)`, `(setminus (tuple() (- inf) inf) (set 2))`. Numbers print as written when they are decimals
/// (`2.50`) and as reduced fractions otherwise (`1/3`); words print quoted.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, head: &str, items: &[&Node]| -> fmt::Result {
            write!(f, "({head}")?;
            for it in items {
                write!(f, " {it}")?;
            }
            f.write_str(")")
        };
        match self {
            Node::Num { value, decimals } => match decimals {
                Some(d) => f.write_str(&decimal_text(value, *d)),
                None => write!(f, "{value}"),
            },
            Node::Sym(s) => f.write_str(s),
            Node::Const(c) => f.write_str(match c {
                Constant::Pi => "pi",
                Constant::E => "e",
                Constant::I => "i",
                Constant::Infinity => "inf",
            }),
            Node::Neg(a) => list(f, "-", &[a]),
            Node::Add(v) => list(f, "+", &all(v)),
            Node::Mul(v) => list(f, "*", &all(v)),
            Node::Div(a, b) => list(f, "/", &[a, b]),
            Node::Pow(a, b) => list(f, "^", &[a, b]),
            Node::Root(a, n) => list(f, "root", &[a, n]),
            Node::Apply(func, v) => list(f, &format!("{func:?}").to_lowercase(), &all(v)),
            Node::PlusMinus(a, b, minus_first) => list(f, if *minus_first { "-+" } else { "+-" }, &[a, b]),
            Node::Percent(a) => list(f, "%", &[a]),
            Node::Degrees(a) => list(f, "deg", &[a]),
            Node::Tuple { open, close, items } => {
                let o = if *open == Bracket::Paren { "(" } else { "[" };
                let c = if *close == Bracket::Paren { ")" } else { "]" };
                list(f, &format!("tuple{o}{c}"), &all(items))
            }
            Node::Set(v) => list(f, "set", &all(v)),
            Node::List(v) => list(f, "list", &all(v)),
            Node::Groups(v) => list(f, "groups", &all(v)),
            Node::NumberSet(s) => f.write_str(match s {
                NumberSet::Naturals => "N",
                NumberSet::Integers => "Z",
                NumberSet::Rationals => "Q",
                NumberSet::Complexes => "C",
            }),
            Node::SetOp(op, v) => list(
                f,
                match op {
                    SetOp::Union => "cup",
                    SetOp::Intersection => "cap",
                    SetOp::Minus => "setminus",
                },
                &all(v),
            ),
            Node::Matrix(rows) => {
                f.write_str("(matrix")?;
                for r in rows {
                    f.write_str(" ")?;
                    list(f, "row", &all(r))?;
                }
                f.write_str(")")
            }
            Node::Relation { sides, ops } => {
                f.write_str("(rel")?;
                for (k, side) in sides.iter().enumerate() {
                    if k > 0 {
                        let op = match ops.get(k - 1) {
                            Some(RelOp::Eq) => "=",
                            Some(RelOp::Approx) => "~",
                            Some(RelOp::Ne) => "!=",
                            Some(RelOp::Lt) => "<",
                            Some(RelOp::Le) => "<=",
                            Some(RelOp::Gt) => ">",
                            Some(RelOp::Ge) => ">=",
                            Some(RelOp::In) => "in",
                            None => "?",
                        };
                        write!(f, " {op}")?;
                    }
                    write!(f, " {side}")?;
                }
                f.write_str(")")
            }
            Node::Ratio(v) => list(f, ":", &all(v)),
            Node::Text(t) => write!(f, "{t:?}"),
            Node::Opaque(name, v) => list(f, &format!("op:{name}"), &all(v)),
        }
    }
}

fn all(v: &[Node]) -> Vec<&Node> {
    v.iter().collect()
}

/// `value` written with `d` digits after the decimal point (it has exactly that many: it came from such a literal).
fn decimal_text(value: &BigRational, d: u32) -> String {
    let scaled = value * BigRational::from_integer(num_traits::pow(num_bigint::BigInt::from(10), d as usize));
    if !scaled.is_integer() {
        return value.to_string();
    }
    let digits = scaled.to_integer().magnitude().to_string();
    let d = d as usize;
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    let sign = if value < &BigRational::from_integer(0.into()) { "-" } else { "" };
    if d == 0 { format!("{sign}{int}.") } else { format!("{sign}{int}.{frac}") }
}

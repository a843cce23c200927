//! The expression tree an answer parses into.

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

//! Recursive-descent parser: tokens → [`Node`].
//!
//! Precedence, loosest first: groups (`;`, "and", "or") → list (`,`) → relation chain → ratio (`:`) → set
//! operations → sums → products (explicit and implicit) → unary signs → powers → postfix (`!`, `%`, `°`, `'`,
//! subscripts) → primaries. Units and prose after a quantity are dropped.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::One;

use crate::MAX_DEPTH;
use crate::ast::{Bracket, Constant, Func, Node, RelOp, SetOp};
use crate::error::Error;
use crate::lexer::{Kind, NumberStyle, Token, lex, number_parts};
use crate::span::Span;

/// Words dropped after a quantity (units, currencies and filler).
pub(crate) const UNITS: &[&str] = &[
    "cm",
    "mm",
    "km",
    "m",
    "meter",
    "meters",
    "metre",
    "metres",
    "kg",
    "g",
    "gram",
    "grams",
    "mg",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "min",
    "mins",
    "minute",
    "minutes",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "unit",
    "units",
    "dollar",
    "dollars",
    "cent",
    "cents",
    "yuan",
    "euro",
    "euros",
    "inch",
    "inches",
    "in",
    "ft",
    "foot",
    "feet",
    "yd",
    "yard",
    "yards",
    "mile",
    "miles",
    "mph",
    "kmh",
    "liter",
    "liters",
    "litre",
    "litres",
    "l",
    "ml",
    "sq",
    "square",
    "cubic",
    "degree",
    "degrees",
    "deg",
    "rad",
    "radians",
    "radian",
    "people",
    "ways",
    "times",
    "points",
    "student",
    "students",
    "items",
    "pages",
    "books",
    "boxes",
    "apples",
    "marbles",
    "coins",
    "tiles",
    "cubes",
    "numbers",
    "integers",
    "values",
    "sides",
    "triangles",
    "squares",
    "rs",
    "rupees",
    "pounds",
    "lb",
    "lbs",
    "oz",
    "ounces",
    "gallons",
    "quarts",
    "pints",
    "cups",
    "mL",
    "km/h",
    "hz",
    "kw",
    "w",
    "v",
    "j",
    "n",
    "pa",
    "atm",
    "K",
    "percentile",
    "only",
    "total",
];

/// Words that separate answers like `;`.
fn is_group_word(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "und" | "et")
}

fn is_percent_word(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "percent" | "pct" | "percentage" | "percents")
}

fn func_named(name: &str) -> Option<Func> {
    Some(match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" | "tg" => Func::Tan,
        "sec" => Func::Sec,
        "csc" | "cosec" => Func::Csc,
        "cot" | "ctg" => Func::Cot,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" | "log" | "lg" => Func::Ln,
        "exp" => Func::Exp,
        _ => return None,
    })
}

/// Commands whose argument is a group read as math (`\mathrm{e}`, `\overline{AB}`, `\boxed{…}`).
const TRANSPARENT: &[&str] = &[
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathnormal",
    "boldsymbol",
    "bm",
    "operatorname",
    "mathbb",
    "mathcal",
    "mathfrak",
    "vec",
    "overline",
    "underline",
    "hat",
    "bar",
    "widehat",
    "widetilde",
    "tilde",
    "overrightarrow",
    "overleftrightarrow",
    "boxed",
    "fbox",
    "framebox",
    "pmb",
    "color",
    "textcolor",
    "phantom",
];

/// Parses `src` with `style` for digit groups.
pub(crate) fn parse_with(src: &str, style: NumberStyle) -> Result<Node, Error> {
    if src.len() > crate::MAX_ANSWER_LEN {
        return Err(Error::TooLong { len: src.len(), limit: crate::MAX_ANSWER_LEN });
    }
    let toks = lex(src, style);
    let mut p = Parser { src, toks, pos: 0, depth: 0, style, abs_depth: 0, paren_depth: 0 };
    let node = p.answer()?;
    if p.pos < p.toks.len() {
        return Err(p.err("unexpected token", None));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    style: NumberStyle,
    /// Open `|…|` pairs: a `|` then closes instead of opening.
    abs_depth: usize,
    /// Open brackets: inside them `;` separates items like `,`.
    paren_depth: usize,
}

type R = Result<Node, Error>;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Kind> {
        self.toks.get(self.pos).map(|t| t.kind)
    }
    fn peek_at(&self, k: usize) -> Option<Kind> {
        self.toks.get(self.pos + k).map(|t| t.kind)
    }
    fn text(&self) -> &'a str {
        self.toks.get(self.pos).map_or("", |t| &self.src[t.span.start..t.span.end])
    }
    fn span(&self) -> Span {
        self.toks.get(self.pos).map_or(Span::new(self.src.len(), self.src.len()), |t| t.span)
    }
    fn err(&self, message: &'static str, expected: Option<&'static str>) -> Error {
        Error::Parse { span: self.span(), message, expected }
    }
    fn eat(&mut self, k: Kind) -> bool {
        if self.peek() == Some(k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, k: Kind, what: &'static str) -> Result<(), Error> {
        if self.eat(k) { Ok(()) } else { Err(self.err("missing delimiter", Some(what))) }
    }
    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::TooDeep { span: self.span(), limit: MAX_DEPTH });
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }
    /// Runs a chain rule whose every link nests the tree one level deeper, then restores the depth it started at.
    fn chain(&mut self, body: fn(&mut Self) -> R) -> R {
        let before = self.depth;
        let r = body(self);
        self.depth = before;
        r
    }
    /// Consumes the sign at the cursor and parses its operand with `rule`, one nesting level deeper.
    fn after_sign(&mut self, rule: fn(&mut Self) -> R) -> R {
        self.pos += 1;
        self.enter()?;
        let operand = rule(self);
        self.leave();
        operand
    }
    fn at_group_sep(&self) -> bool {
        match self.peek() {
            Some(Kind::Semicolon) => true,
            Some(Kind::Word) => is_group_word(self.text()),
            Some(Kind::Text) => is_group_word(self.text().trim()),
            _ => false,
        }
    }
    fn at_end_of_item(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(
                Kind::Comma
                    | Kind::Semicolon
                    | Kind::RParen
                    | Kind::RBracket
                    | Kind::RBrace
                    | Kind::SetClose
                    | Kind::Amp
                    | Kind::RowSep
                    | Kind::End
            )
        ) || self.at_group_sep()
    }

    /// `answer := groups EOF`, where `groups := list ((';' | "and" | "or") list)*`.
    fn answer(&mut self) -> R {
        let node = self.groups()?;
        // Trailing prose or stray closers: tolerated when nothing else follows them.
        while self.pos < self.toks.len() {
            match self.peek() {
                Some(Kind::Text | Kind::Word | Kind::Other | Kind::RBrace | Kind::Bang) => self.pos += 1,
                _ => return Err(self.err("unexpected token", None)),
            }
        }
        Ok(node)
    }

    /// `groups := list ((';' | "and" | "or") list)*`
    fn groups(&mut self) -> R {
        let mut groups = Vec::new();
        loop {
            while self.at_group_sep() || self.peek() == Some(Kind::Comma) {
                self.pos += 1;
            }
            if self.at_end_of_item() {
                break;
            }
            groups.push(self.list()?);
            if !self.at_group_sep() {
                break;
            }
        }
        Ok(match groups.len() {
            0 => Node::List(Vec::new()),
            1 => groups.pop().unwrap_or(Node::List(Vec::new())),
            _ => Node::Groups(groups),
        })
    }

    /// `list := relation (',' relation)*` (inside brackets `;` also separates items).
    fn list(&mut self) -> R {
        let mut items = vec![self.relation()?];
        loop {
            let sep =
                self.peek() == Some(Kind::Comma) || (self.paren_depth > 0 && self.peek() == Some(Kind::Semicolon));
            if !sep {
                break;
            }
            self.pos += 1;
            if self.at_end_of_item() {
                continue;
            }
            items.push(self.relation()?);
        }
        Ok(if items.len() == 1 { items.pop().unwrap_or(Node::List(Vec::new())) } else { Node::List(items) })
    }

    fn relop(&self) -> Option<RelOp> {
        Some(match self.peek()? {
            Kind::Eq => RelOp::Eq,
            Kind::Lt => RelOp::Lt,
            Kind::Gt => RelOp::Gt,
            Kind::Le => RelOp::Le,
            Kind::Ge => RelOp::Ge,
            Kind::Ne => RelOp::Ne,
            Kind::Approx => RelOp::Approx,
            Kind::Command => match self.text() {
                "in" => RelOp::In,
                "equiv" | "coloneqq" | "eqqcolon" => RelOp::Eq,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// `relation := ratio (relop ratio)*` with `relop := = | < | > | \le | \ge | \ne | \approx | \in`
    fn relation(&mut self) -> R {
        let first = self.ratio()?;
        let mut sides = vec![first];
        let mut ops = Vec::new();
        while let Some(op) = self.relop() {
            self.pos += 1;
            ops.push(op);
            sides.push(self.ratio()?);
        }
        Ok(if ops.is_empty() { sides.pop().unwrap_or(Node::List(Vec::new())) } else { Node::Relation { sides, ops } })
    }

    /// `ratio := setexpr (':' setexpr)*`
    fn ratio(&mut self) -> R {
        let mut parts = vec![self.setexpr()?];
        while self.peek() == Some(Kind::Colon) && !self.at_end_after(1) {
            self.pos += 1;
            parts.push(self.setexpr()?);
        }
        Ok(if parts.len() == 1 { parts.pop().unwrap_or(Node::List(Vec::new())) } else { Node::Ratio(parts) })
    }

    fn at_end_after(&self, k: usize) -> bool {
        self.peek_at(k).is_none()
    }

    /// `setexpr := additive (('\cup' | '\cap' | '\setminus') additive)*`
    fn setexpr(&mut self) -> R {
        self.chain(Self::setexpr_chain)
    }

    /// The body of [`Self::setexpr`]: a change of set operation nests the tree and counts against the limit.
    fn setexpr_chain(&mut self) -> R {
        let first = self.additive()?;
        let mut op = None;
        let mut items = vec![first];
        loop {
            let this = match (self.peek(), self.text()) {
                (Some(Kind::Command), "cup" | "bigcup") => SetOp::Union,
                (Some(Kind::Command), "cap" | "bigcap") => SetOp::Intersection,
                (Some(Kind::Command), "setminus" | "backslash") => SetOp::Minus,
                (Some(Kind::Word), "U")
                    if self.peek_at(1).is_some_and(|k| matches!(k, Kind::LParen | Kind::LBracket)) =>
                {
                    SetOp::Union
                }
                _ => break,
            };
            if op.is_some_and(|o| o != this) {
                self.enter()?;
                let prev = std::mem::take(&mut items);
                items.push(Node::SetOp(op.unwrap_or(this), prev));
            }
            op = Some(this);
            self.pos += 1;
            items.push(self.additive()?);
        }
        Ok(match op {
            None => items.pop().unwrap_or(Node::List(Vec::new())),
            Some(o) => Node::SetOp(o, items),
        })
    }

    /// `additive := unary (('+' | '-' | '\pm' | '\mp') term)*`
    fn additive(&mut self) -> R {
        self.chain(Self::additive_chain)
    }

    /// The body of [`Self::additive`]: every `±` nests the tree and counts against the depth limit.
    fn additive_chain(&mut self) -> R {
        let mut acc = self.unary()?;
        loop {
            match self.peek() {
                Some(Kind::Plus) => {
                    self.pos += 1;
                    if self.at_end_of_item() {
                        break; // `(1, +)`: a dangling sign
                    }
                    let t = self.term()?;
                    acc = add(acc, t);
                }
                Some(Kind::Minus) => {
                    self.pos += 1;
                    let t = self.term()?;
                    acc = add(acc, Node::Neg(Box::new(t)));
                }
                Some(Kind::PlusMinus) => {
                    let mp = self.text() == "mp";
                    self.pos += 1;
                    self.enter()?;
                    let t = self.term()?;
                    acc = Node::PlusMinus(Box::new(acc), Box::new(t), mp);
                }
                _ => break,
            }
        }
        Ok(acc)
    }

    /// `unary := ('-' | '+' | '\pm') unary | term`
    fn unary(&mut self) -> R {
        match self.peek() {
            Some(Kind::Minus) => Ok(Node::Neg(Box::new(self.after_sign(Self::unary)?))),
            Some(Kind::Plus) => self.after_sign(Self::unary),
            Some(Kind::PlusMinus) => {
                let mp = self.text() == "mp";
                Ok(Node::PlusMinus(Box::new(Node::int(0)), Box::new(self.after_sign(Self::unary)?), mp))
            }
            _ => self.term(),
        }
    }

    /// `term := power (('*' | '\cdot' | '\times' | '/' | '\div') signed | power | unit)*`
    fn term(&mut self) -> R {
        self.chain(Self::term_chain)
    }

    /// The body of [`Self::term`]: every `/` and `%` nests the tree and counts against the depth limit.
    fn term_chain(&mut self) -> R {
        let mut factors = vec![self.power()?];
        loop {
            match self.peek() {
                Some(Kind::Star | Kind::Dot | Kind::Times) => {
                    self.pos += 1;
                    factors.push(self.signed()?);
                }
                Some(Kind::Slash) => {
                    self.pos += 1;
                    self.enter()?;
                    let d = self.signed()?;
                    let num = mul(std::mem::take(&mut factors));
                    factors.push(Node::Div(Box::new(num), Box::new(d)));
                }
                Some(Kind::Percent) => {
                    self.pos += 1;
                    self.enter()?;
                    let last = factors.pop().unwrap_or(Node::int(1));
                    factors.push(Node::Percent(Box::new(last)));
                }
                Some(Kind::Word) if is_percent_word(self.text()) => {
                    self.pos += 1;
                    let last = factors.pop().unwrap_or(Node::int(1));
                    factors.push(Node::Percent(Box::new(last)));
                }
                Some(Kind::Word) if self.is_unit_word() => {
                    self.pos += 1;
                    self.skip_unit_power();
                }
                Some(Kind::Text) if self.is_unit_text() => {
                    let t = self.text().trim().to_ascii_lowercase();
                    self.pos += 1;
                    if is_percent_word(&t) {
                        let last = factors.pop().unwrap_or(Node::int(1));
                        factors.push(Node::Percent(Box::new(last)));
                    }
                    self.skip_unit_power();
                }
                Some(Kind::Command) if matches!(self.text(), "dots" | "ldots" | "cdots") => break,
                _ if self.starts_primary() => {
                    let next = self.power()?;
                    // Mixed number `3\frac12` = 3 + 1/2 (an integer right before a fraction of integers).
                    if let (Some(Node::Num { value, decimals: None }), Node::Div(n, d)) = (factors.last(), &next) {
                        let int = |x: &Node| matches!(x, Node::Num { value, decimals: None } if value.is_integer());
                        if value.is_integer() && factors.len() == 1 && int(n) && int(d) {
                            let whole = factors.pop().unwrap_or(Node::int(0));
                            factors.push(Node::Add(vec![whole, next]));
                            continue;
                        }
                    }
                    factors.push(next)
                }
                _ => break,
            }
        }
        Ok(mul(factors))
    }

    /// A word after a quantity that is a unit: two or more letters, in the unit list or four or more letters and
    /// no function, and last in its item (`5 cm`, `3 hours`; never the `n` of `2n`).
    fn is_unit_word(&self) -> bool {
        let w = self.text();
        if w.len() < 2 || is_group_word(w) || func_named(w).is_some() || matches!(w, "pi" | "sqrt") {
            return false;
        }
        let known = UNITS.contains(&w) || UNITS.contains(&w.to_ascii_lowercase().as_str()) || w.len() >= 4;
        if !known {
            return false;
        }
        // Only trailing words: what follows is the end of the item, a unit power, or more words.
        let mut k = 1;
        if self.peek_at(k) == Some(Kind::Caret) {
            k += 2;
        }
        matches!(
            self.peek_at(k),
            None | Some(
                Kind::Comma
                    | Kind::Semicolon
                    | Kind::RParen
                    | Kind::RBracket
                    | Kind::RBrace
                    | Kind::SetClose
                    | Kind::Word
                    | Kind::Text
                    | Kind::Other
                    | Kind::Amp
                    | Kind::RowSep
                    | Kind::End
                    | Kind::Slash
            )
        )
    }

    fn is_unit_text(&self) -> bool {
        let t = self.text().trim();
        !t.is_empty() && !is_group_word(t) && t.chars().any(|c| c.is_alphabetic()) && !looks_mathy(t)
    }

    /// `unit_power := ('^' (digit | '{' digit '}'))?` after a unit (`\text{cm}^2`).
    fn skip_unit_power(&mut self) {
        if self.peek() == Some(Kind::Caret) {
            match (self.peek_at(1), self.peek_at(2), self.peek_at(3)) {
                (Some(Kind::Number), _, _) => self.pos += 2,
                (Some(Kind::LBrace), Some(Kind::Number), Some(Kind::RBrace)) => self.pos += 4,
                _ => {}
            }
        }
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Some(
                Kind::Number
                | Kind::LParen
                | Kind::LBrace
                | Kind::Pi
                | Kind::Infinity
                | Kind::Sqrt
                | Kind::Begin
                | Kind::SetOpen,
            ) => true,
            Some(Kind::Word) => !is_group_word(self.text()) && !is_percent_word(self.text()),
            Some(Kind::Pipe) => self.abs_depth == 0,
            Some(Kind::Text) => {
                let t = self.text().trim();
                !is_group_word(t) && !t.is_empty()
            }
            Some(Kind::Command) => !matches!(
                self.text(),
                "in" | "cup"
                    | "cap"
                    | "setminus"
                    | "equiv"
                    | "dots"
                    | "ldots"
                    | "cdots"
                    | "to"
                    | "rightarrow"
                    | "Rightarrow"
                    | "implies"
                    | "iff"
                    | "quad"
                    | "rfloor"
                    | "rceil"
                    | "rangle"
                    | "bigcup"
                    | "coloneqq"
                    | "eqqcolon"
            ),
            _ => false,
        }
    }

    /// `signed := ('-' | '+') signed | power`
    fn signed(&mut self) -> R {
        match self.peek() {
            Some(Kind::Minus) => Ok(Node::Neg(Box::new(self.after_sign(Self::signed)?))),
            Some(Kind::Plus) => self.after_sign(Self::signed),
            _ => self.power(),
        }
    }

    /// `power := postfix ('^' exponent)?` (right-associative; `^\circ` is a degree sign)
    fn power(&mut self) -> R {
        let base = self.postfix()?;
        self.power_tail(base)
    }

    fn power_tail(&mut self, base: Node) -> R {
        // Each `^` nests the tree one level deeper: it counts against the depth limit like a bracket.
        let before = self.depth;
        let r = self.power_chain(base);
        self.depth = before;
        r
    }

    fn power_chain(&mut self, mut base: Node) -> R {
        // A loop, not recursion: `x^2^2^2…` must not grow the stack.
        while self.peek() == Some(Kind::Caret) {
            self.enter()?;
            let t = self.text();
            if t == "²" || t == "³" {
                self.pos += 1;
                let e = if t == "²" { 2 } else { 3 };
                base = Node::Pow(Box::new(base), Box::new(Node::int(e)));
                continue;
            }
            self.pos += 1;
            // Degrees: `^\circ`, `^{\circ}`.
            if self.peek() == Some(Kind::Degree) {
                self.pos += 1;
                return Ok(Node::Degrees(Box::new(base)));
            }
            if self.peek() == Some(Kind::LBrace)
                && self.peek_at(1) == Some(Kind::Degree)
                && self.peek_at(2) == Some(Kind::RBrace)
            {
                self.pos += 3;
                return Ok(Node::Degrees(Box::new(base)));
            }
            let exp = self.exponent()?;
            base = Node::Pow(Box::new(base), Box::new(exp));
        }
        Ok(base)
    }

    /// `exponent := '{' groups '}' | ('-' | '+') exponent | atom` where `atom` is one digit, letter or primary.
    fn exponent(&mut self) -> R {
        self.enter()?;
        let r = match self.peek() {
            Some(Kind::Minus) => {
                self.pos += 1;
                Ok(Node::Neg(Box::new(self.exponent()?)))
            }
            Some(Kind::Plus) => {
                self.pos += 1;
                self.exponent()
            }
            Some(Kind::Number) => Ok(self.single_digit_or_number(false)),
            Some(Kind::Word) => Ok(self.single_letter()),
            _ => self.postfix(),
        };
        self.leave();
        r
    }

    /// Takes one digit of a number token (LaTeX `\frac12`, `x^23` read the first digit only when `first_only`).
    fn single_digit_or_number(&mut self, first_only: bool) -> Node {
        let tok = self.toks[self.pos];
        let text = &self.src[tok.span.start..tok.span.end];
        if first_only && text.len() > 1 && text.as_bytes()[0].is_ascii_digit() {
            let d = (text.as_bytes()[0] - b'0') as i64;
            self.toks[self.pos].span.start += 1;
            return Node::int(d);
        }
        self.pos += 1;
        number_node(text, self.style)
    }

    /// Takes one letter of a word token (`x^ab` is x^a·b).
    fn single_letter(&mut self) -> Node {
        let tok = self.toks[self.pos];
        let text = &self.src[tok.span.start..tok.span.end];
        if text.len() > 1 && func_named(text).is_none() && text != "pi" {
            self.toks[self.pos].span.start += 1;
            return letter_node(&text[..1]);
        }
        self.word_primary().unwrap_or_else(|_| Node::Sym(text.to_string()))
    }

    /// `postfix := primary ('!' | '%' | '°' | "'" | '_' subscript)*`
    fn postfix(&mut self) -> R {
        self.chain(Self::postfix_chain)
    }

    /// The body of [`Self::postfix`]: every `!`, `'` and subscript nests the tree and counts against the limit.
    fn postfix_chain(&mut self) -> R {
        let mut node = self.primary()?;
        loop {
            if matches!(self.peek(), Some(Kind::Bang | Kind::Prime | Kind::Underscore)) {
                self.enter()?;
            }
            match self.peek() {
                Some(Kind::Bang) if self.peek_at(1) != Some(Kind::Eq) => {
                    self.pos += 1;
                    node = Node::Apply(Func::Factorial, vec![node]);
                }
                Some(Kind::Degree) => {
                    self.pos += 1;
                    if !matches!(node, Node::Degrees(_)) {
                        node = Node::Degrees(Box::new(node));
                    }
                }
                Some(Kind::Prime) => {
                    self.pos += 1;
                    node = match node {
                        Node::Sym(s) => Node::Sym(format!("{s}'")),
                        other => Node::Opaque("prime".into(), vec![other]),
                    };
                }
                Some(Kind::Underscore) => {
                    self.pos += 1;
                    let sub = self.subscript_text()?;
                    node = match node {
                        Node::Sym(s) => Node::Sym(format!("{s}_{sub}")),
                        Node::Num { value, decimals: None } => {
                            based_number(&value, &sub).unwrap_or(Node::Num { value, decimals: None })
                        }
                        Node::Const(c) => Node::Sym(format!("{c:?}_{sub}")),
                        other => other, // subscripts on other things (units, labels) carry no value
                    };
                }
                _ => break,
            }
        }
        Ok(node)
    }

    /// `subscript := '{' tokens '}' | token`: returned as normalized source text (spaces removed).
    fn subscript_text(&mut self) -> Result<String, Error> {
        let start = self.span().start;
        let end;
        if self.peek() == Some(Kind::LBrace) {
            let mut depth = 0usize;
            loop {
                match self.peek() {
                    None => return Err(self.err("unclosed subscript", Some("`}`"))),
                    Some(Kind::LBrace) => depth += 1,
                    Some(Kind::RBrace) => {
                        depth -= 1;
                        if depth == 0 {
                            end = self.span().end;
                            self.pos += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                self.pos += 1;
            }
        } else if self.peek() == Some(Kind::Number) || self.peek() == Some(Kind::Word) {
            // `x_12` is x_1·2 in LaTeX, but answers mean x_{12}; keep the whole token.
            end = self.span().end;
            self.pos += 1;
        } else if self.pos < self.toks.len() {
            end = self.span().end;
            self.pos += 1;
        } else {
            return Err(self.err("missing subscript", None));
        }
        let raw = &self.src[start..end];
        let s: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '{' && *c != '}').collect();
        Ok(s)
    }

    /// `primary := number | word | command | '(' groups ')' | '[' groups ']' | '{' groups '}' | '\{' groups '\}'
    ///           | '|' additive '|' | matrix | text`
    fn primary(&mut self) -> R {
        self.enter()?;
        let r = self.primary_inner();
        self.leave();
        r
    }

    fn primary_inner(&mut self) -> R {
        let Some(kind) = self.peek() else { return Err(self.err("expected a value", None)) };
        match kind {
            Kind::Number => {
                let n = self.single_digit_or_number(false);
                Ok(self.repeating_decimal(n))
            }
            Kind::Word => self.word_primary(),
            Kind::Pi => {
                self.pos += 1;
                Ok(Node::Const(Constant::Pi))
            }
            Kind::Infinity => {
                self.pos += 1;
                Ok(Node::Const(Constant::Infinity))
            }
            Kind::Sqrt => {
                self.pos += 1;
                let x = self.arg()?;
                Ok(Node::Root(Box::new(x), Box::new(Node::int(2))))
            }
            Kind::LParen | Kind::LBracket => self.bracketed(),
            Kind::LBrace => {
                self.pos += 1;
                let inner = self.inside(Kind::RBrace, "`}`")?;
                Ok(inner)
            }
            Kind::SetOpen => {
                self.pos += 1;
                let inner = self.inside(Kind::SetClose, "`\\}`")?;
                Ok(Node::Set(match inner {
                    Node::List(items) => items,
                    Node::Groups(gs) => gs,
                    other => vec![other],
                }))
            }
            Kind::Pipe => {
                self.pos += 1;
                self.abs_depth += 1;
                let inner = self.additive();
                self.abs_depth -= 1;
                let inner = inner?;
                self.expect(Kind::Pipe, "`|`")?;
                Ok(Node::Apply(Func::Abs, vec![inner]))
            }
            Kind::Begin => self.environment(),
            Kind::Text => self.text_primary(),
            Kind::Command => self.command(),
            Kind::Degree => {
                self.pos += 1;
                self.primary()
            }
            _ => Err(self.err("expected a value", None)),
        }
    }

    /// `repeating := number '.'? ('\overline' | '\bar') '{' digits '}'`: `0.\overline{3}` = 1/3.
    fn repeating_decimal(&mut self, n: Node) -> Node {
        let Node::Num { value, decimals } = &n else { return n };
        let mut k = 0;
        if self.peek() == Some(Kind::Other) && self.text() == "." && decimals.is_none() {
            k = 1;
        }
        let is_bar = self.peek_at(k) == Some(Kind::Command)
            && matches!(
                self.toks.get(self.pos + k).map(|t| &self.src[t.span.start..t.span.end]),
                Some("overline" | "bar")
            );
        if !is_bar || self.peek_at(k + 1) != Some(Kind::LBrace) || self.peek_at(k + 3) != Some(Kind::RBrace) {
            return n;
        }
        let Some(tok) = self.toks.get(self.pos + k + 2).copied() else { return n };
        let digits = &self.src[tok.span.start..tok.span.end];
        if tok.kind != Kind::Number || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 50 {
            return n;
        }
        let Ok(rep) = digits.parse::<BigInt>() else { return n };
        let ten = BigInt::from(10);
        let d = decimals.unwrap_or(0) as usize;
        let denom = num_traits::pow(ten.clone(), d) * (num_traits::pow(ten, digits.len()) - BigInt::one());
        self.pos += k + 4;
        Node::Num { value: value.clone() + BigRational::new(rep, denom), decimals: None }
    }

    /// Reads the rest of a bracketed group up to `close`, with `;` as an item separator.
    fn inside(&mut self, close: Kind, what: &'static str) -> R {
        self.paren_depth += 1;
        let saved_abs = self.abs_depth;
        self.abs_depth = 0;
        let inner = self.groups();
        self.abs_depth = saved_abs;
        self.paren_depth -= 1;
        let inner = inner?;
        self.expect(close, what)?;
        Ok(inner)
    }

    /// `bracketed := ('(' | '[') groups (')' | ']')`: a grouping, a tuple or an interval.
    fn bracketed(&mut self) -> R {
        let open = if self.peek() == Some(Kind::LParen) { Bracket::Paren } else { Bracket::Square };
        self.pos += 1;
        self.paren_depth += 1;
        let saved_abs = self.abs_depth;
        self.abs_depth = 0;
        let inner = self.groups();
        self.abs_depth = saved_abs;
        self.paren_depth -= 1;
        let inner = inner?;
        let close = match self.peek() {
            Some(Kind::RParen) => Bracket::Paren,
            Some(Kind::RBracket) => Bracket::Square,
            _ => return Err(self.err("unclosed bracket", Some("`)` or `]`"))),
        };
        self.pos += 1;
        Ok(match inner {
            Node::List(items) if items.len() >= 2 => Node::Tuple { open, close, items },
            Node::Groups(items) => Node::Tuple { open, close, items },
            Node::List(items) if items.is_empty() => Node::Tuple { open, close, items },
            other if open == Bracket::Paren && close == Bracket::Paren => other,
            other if open == Bracket::Square && close == Bracket::Square => other,
            other => Node::Tuple { open, close, items: vec![other] },
        })
    }

    /// `arg := '{' groups '}' | single token` (the argument of `\frac`, `\sqrt`, …).
    fn arg(&mut self) -> R {
        match self.peek() {
            Some(Kind::LBrace) => {
                self.pos += 1;
                self.inside(Kind::RBrace, "`}`")
            }
            Some(Kind::Number) => Ok(self.single_digit_or_number(true)),
            Some(Kind::Word) => Ok(self.single_letter()),
            Some(_) => self.postfix(),
            None => Err(self.err("missing argument", Some("`{`"))),
        }
    }

    /// A word: a function name, a constant, a unit or prose, or letters multiplied together.
    fn word_primary(&mut self) -> R {
        let w = self.text();
        if let Some(f) = func_named(w) {
            self.pos += 1;
            return self.func_call(f, w == "log");
        }
        self.pos += 1;
        match w {
            "pi" => return Ok(Node::Const(Constant::Pi)),
            "inf" | "infty" | "infinity" | "oo" => return Ok(Node::Const(Constant::Infinity)),
            "sqrt" => {
                let x = self.arg()?;
                return Ok(Node::Root(Box::new(x), Box::new(Node::int(2))));
            }
            _ => {}
        }
        if w.len() >= 3 || matches!(w, "no" | "No" | "yes" | "Yes") {
            // A word of prose; consecutive words form one text.
            let mut text = w.to_ascii_lowercase();
            while self.peek() == Some(Kind::Word) && !is_group_word(self.text()) {
                text.push(' ');
                text.push_str(&self.text().to_ascii_lowercase());
                self.pos += 1;
            }
            return Ok(Node::Text(text));
        }
        Ok(mul(w.chars().map(|c| letter_node(&c.to_string())).collect()))
    }

    /// `func_call := ('^' exponent)? ('_' base)? (paren_group | power)`
    fn func_call(&mut self, f: Func, is_log: bool) -> R {
        let mut pow = None;
        let mut base = None;
        for _ in 0..2 {
            if self.peek() == Some(Kind::Caret) {
                self.pos += 1;
                pow = Some(self.exponent()?);
            } else if self.peek() == Some(Kind::Underscore) && is_log {
                self.pos += 1;
                base = Some(self.exponent_or_group()?);
            }
        }
        let arg = if self.peek() == Some(Kind::LParen) { self.bracketed()? } else { self.power()? };
        let mut node = match (f, base) {
            (Func::Ln, Some(b)) => Node::Apply(Func::Log, vec![b, arg]),
            (f, _) => Node::Apply(f, vec![arg]),
        };
        if let Some(p) = pow {
            node = Node::Pow(Box::new(node), Box::new(p));
        }
        Ok(node)
    }

    fn exponent_or_group(&mut self) -> R {
        if self.peek() == Some(Kind::LBrace) {
            self.pos += 1;
            return self.inside(Kind::RBrace, "`}`");
        }
        self.exponent()
    }

    /// `\text{…}`: prose, a unit, or math written inside text (`\text{(C)}`, `\text{13}`).
    fn text_primary(&mut self) -> R {
        let span = self.span();
        let t = self.text().trim();
        self.pos += 1;
        if t.is_empty() {
            return if self.starts_primary() { self.primary() } else { Ok(Node::Text(String::new())) };
        }
        if looks_mathy(t) {
            // Math inside `\text{}`: parse the content in place.
            let sub = &self.src[span.start..span.end];
            let toks = lex(sub, self.style);
            let mut inner = Parser {
                src: self.src,
                toks: toks
                    .into_iter()
                    .map(|tk| Token {
                        kind: tk.kind,
                        span: Span::new(tk.span.start + span.start, tk.span.end + span.start),
                    })
                    .collect(),
                pos: 0,
                depth: self.depth,
                style: self.style,
                abs_depth: 0,
                paren_depth: 0,
            };
            return inner.answer();
        }
        let words = normalize_words(t);
        if matches!(words.as_str(), "all real numbers" | "all reals" | "all real values" | "all real x") {
            return Ok(all_reals());
        }
        Ok(Node::Text(words))
    }

    /// `\name …`
    fn command(&mut self) -> R {
        let name = self.text();
        self.pos += 1;
        match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let a = self.arg()?;
                let b = self.arg()?;
                Ok(Node::Div(Box::new(a), Box::new(b)))
            }
            "sqrt" => {
                let index = if self.peek() == Some(Kind::LBracket) {
                    self.pos += 1;
                    let n = self.groups()?;
                    self.expect(Kind::RBracket, "`]`")?;
                    n
                } else {
                    Node::int(2)
                };
                let x = self.arg()?;
                Ok(Node::Root(Box::new(x), Box::new(index)))
            }
            "binom" | "dbinom" | "tbinom" | "choose" => {
                let a = self.arg()?;
                let b = self.arg()?;
                Ok(Node::Apply(Func::Binom, vec![a, b]))
            }
            "exp" => self.func_call(Func::Exp, false),
            "log" => self.func_call(Func::Ln, true),
            "lfloor" | "lceil" => {
                let f = if name == "lfloor" { Func::Floor } else { Func::Ceil };
                let x = self.additive()?;
                if matches!(self.text(), "rfloor" | "rceil") {
                    self.pos += 1;
                }
                Ok(Node::Apply(f, vec![x]))
            }
            "emptyset" | "varnothing" | "empty" => Ok(Node::Set(Vec::new())),
            "infty" => Ok(Node::Const(Constant::Infinity)),
            "sum" | "prod" | "int" | "lim" | "iint" | "oint" | "max" | "min" | "gcd" | "lcm" | "det" | "arg"
            | "deg" | "mod" | "bmod" | "pmod" => {
                let mut parts = Vec::new();
                for _ in 0..2 {
                    if matches!(self.peek(), Some(Kind::Underscore | Kind::Caret)) {
                        self.pos += 1;
                        parts.push(self.exponent_or_group()?);
                    }
                }
                if !self.at_end_of_item() && self.starts_primary() {
                    parts.push(self.term()?);
                }
                Ok(Node::Opaque(name.to_string(), parts))
            }
            _ if TRANSPARENT.contains(&name) => {
                if matches!(name, "color" | "textcolor") && self.peek() == Some(Kind::LBrace) {
                    self.arg()?; // the colour name
                }
                if self.peek() == Some(Kind::LBrace) {
                    self.pos += 1;
                    let inner = self.inside(Kind::RBrace, "`}`")?;
                    Ok(match inner {
                        // `\mathbb{R}`: the real line.
                        Node::Sym(r) if name == "mathbb" && r == "R" => all_reals(),
                        // `\mathrm{cm}` and other words: one name.
                        Node::Text(t) if !t.contains(' ') => Node::Sym(t),
                        other => other,
                    })
                } else {
                    self.primary()
                }
            }
            _ => {
                if let Some(f) = func_named(name) {
                    return self.func_call(f, false);
                }
                Ok(match name {
                    "e" => Node::Const(Constant::E),
                    "imath" => Node::Const(Constant::I),
                    _ => Node::Sym(name.to_string()),
                })
            }
        }
    }

    /// `\begin{env} rows \end{env}`: matrices (`pmatrix`, `bmatrix`, `array`, …); other environments by content.
    fn environment(&mut self) -> R {
        let env = self.text().trim_end_matches('*').to_string();
        self.pos += 1;
        if env == "array" && self.peek() == Some(Kind::LBrace) {
            // Column specification `{cc}`.
            let mut depth = 0usize;
            while let Some(k) = self.peek() {
                self.pos += 1;
                match k {
                    Kind::LBrace => depth += 1,
                    Kind::RBrace => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut rows: Vec<Vec<Node>> = vec![Vec::new()];
        loop {
            match self.peek() {
                None => return Err(self.err("unclosed environment", Some("`\\end`"))),
                Some(Kind::End) => {
                    self.pos += 1;
                    break;
                }
                Some(Kind::Amp) => {
                    self.pos += 1;
                    if rows.last().is_some_and(Vec::is_empty)
                        && let Some(r) = rows.last_mut()
                    {
                        r.push(Node::List(Vec::new()));
                    }
                }
                Some(Kind::RowSep) => {
                    self.pos += 1;
                    rows.push(Vec::new());
                }
                _ => {
                    let cell = self.groups()?;
                    if let Some(r) = rows.last_mut() {
                        if r.last() == Some(&Node::List(Vec::new())) {
                            r.pop();
                        }
                        r.push(cell);
                    }
                    if !matches!(self.peek(), Some(Kind::Amp | Kind::RowSep | Kind::End) | None) {
                        return Err(self.err("unexpected token in environment", Some("`&`, `\\\\` or `\\end`")));
                    }
                }
            }
        }
        rows.retain(|r| !r.is_empty());
        let is_matrix = env.ends_with("matrix") || env == "array";
        if !is_matrix && rows.len() == 1 && rows[0].len() == 1 {
            return Ok(rows.remove(0).remove(0));
        }
        if !is_matrix {
            return Ok(Node::List(rows.into_iter().flatten().collect()));
        }
        Ok(Node::Matrix(rows))
    }
}

/// Text content that is math rather than prose: no run of two or more letters except known names.
fn looks_mathy(t: &str) -> bool {
    let mut run = 0;
    let mut word = String::new();
    let mut ok = true;
    for c in t.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() {
            run += 1;
            word.push(c);
        } else {
            if run >= 2 && func_named(&word).is_none() && word != "pi" && word != "sqrt" {
                ok = false;
            }
            run = 0;
            word.clear();
        }
    }
    ok && t.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Prose normalized for comparison: lower case, punctuation dropped, single spaces.
pub(crate) fn normalize_words(t: &str) -> String {
    let cleaned: String =
        t.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect::<String>();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The interval (−∞, ∞).
fn all_reals() -> Node {
    let inf = Node::Const(Constant::Infinity);
    Node::Tuple { open: Bracket::Paren, close: Bracket::Paren, items: vec![Node::Neg(Box::new(inf.clone())), inf] }
}

fn letter_node(l: &str) -> Node {
    match l {
        "e" => Node::Const(Constant::E),
        "i" => Node::Const(Constant::I),
        _ => Node::Sym(l.to_string()),
    }
}

/// The node for a number token's text.
pub(crate) fn number_node(text: &str, style: NumberStyle) -> Node {
    let (digits, decimals, exp) = number_parts(text, style);
    let mant = digits.parse::<BigInt>().unwrap_or_default();
    let scale = decimals.unwrap_or(0) as i64 - exp.clamp(-crate::MAX_EXPONENT_DIGITS, crate::MAX_EXPONENT_DIGITS);
    let ten = BigInt::from(10);
    let value = if scale >= 0 {
        BigRational::new(mant, num_traits::pow(ten, scale as usize))
    } else {
        BigRational::from_integer(mant * num_traits::pow(ten, (-scale) as usize))
    };
    // Scientific notation is an exact value as written: only plain decimals carry a precision.
    let decimals = if exp != 0 { None } else { decimals };
    Node::Num { value, decimals }
}

/// `204_5`: digits read in base 2–36 (the digits were written in decimal characters).
fn based_number(value: &BigRational, sub: &str) -> Option<Node> {
    let base: u32 = sub.parse().ok()?;
    if !(2..=36).contains(&base) || !value.is_integer() {
        return None;
    }
    let digits = value.to_integer().to_string();
    let v = BigInt::parse_bytes(digits.as_bytes(), base)?;
    Some(Node::Num { value: BigRational::from_integer(v), decimals: None })
}

fn add(a: Node, b: Node) -> Node {
    match a {
        Node::Add(mut v) => {
            v.push(b);
            Node::Add(v)
        }
        a => Node::Add(vec![a, b]),
    }
}

fn mul(mut factors: Vec<Node>) -> Node {
    if factors.len() == 1 {
        return factors.pop().unwrap_or(Node::int(1));
    }
    if factors.is_empty() {
        return Node::Num { value: BigRational::one(), decimals: None };
    }
    Node::Mul(factors)
}

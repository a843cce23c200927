//! Recursive-descent parser: tokens → [`Node`].
//!
//! Precedence, loosest first: groups (`;`, "and", "or") → list (`,`) → relation chain → ratio (`:`) → set
//! operations → sums → products (explicit and implicit) → unary signs → powers → postfix (`!`, `%`, `°`, `'`,
//! subscripts) → primaries. Units and prose after a quantity are dropped.
//!
//! This file holds the entry point and the rules from groups down to products; [`primary`] the rules from powers
//! down to numbers, words and brackets; [`commands`] LaTeX commands, environments and `\text{}`.

mod commands;
mod primary;
#[cfg(test)]
mod test;

use num_rational::BigRational;
use num_traits::One;

use crate::MAX_DEPTH;
use crate::ast::{Node, RelOp, SetOp};
use crate::error::Error;
use crate::latex;
use crate::lexer::{Kind, NumberStyle, Token, lex};
use crate::span::Span;
use crate::words;

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
            Some(Kind::Word) => words::is_group_word(self.text()),
            Some(Kind::Text) => words::is_group_word(self.text().trim()),
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
            let this = match self.peek() {
                Some(Kind::Command) => match latex::set_operation(self.text()) {
                    Some(op) => op,
                    None => break,
                },
                // `U` before a bracket: a union written with a capital letter.
                Some(Kind::Word)
                    if self.text() == "U"
                        && self.peek_at(1).is_some_and(|k| matches!(k, Kind::LParen | Kind::LBracket)) =>
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
                Some(Kind::Word) if words::is_percent_word(self.text()) => {
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
                    if words::is_percent_word(&t) {
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
        if w.len() < 2 || words::is_group_word(w) || latex::function(w).is_some() || matches!(w, "pi" | "sqrt") {
            return false;
        }
        let known = words::is_unit(w) || w.len() >= 4;
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
        !t.is_empty() && !words::is_group_word(t) && t.chars().any(|c| c.is_alphabetic()) && !commands::looks_mathy(t)
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
            Some(Kind::Word) => !words::is_group_word(self.text()) && !words::is_percent_word(self.text()),
            Some(Kind::Pipe) => self.abs_depth == 0,
            Some(Kind::Text) => {
                let t = self.text().trim();
                !words::is_group_word(t) && !t.is_empty()
            }
            Some(Kind::Command) => !latex::ends_operand(self.text()),
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

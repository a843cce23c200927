//! Rules from powers down: exponents, postfix operators, subscripts, primaries (numbers, words, brackets, `|x|`),
//! function calls.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::One;

use crate::ast::{Bracket, Constant, Func, Node};
use crate::error::Error;
use crate::latex;
use crate::lexer::{Kind, NumberStyle, number_parts};
use crate::words;

use super::{Parser, R, mul};

impl<'a> Parser<'a> {
    /// `power := postfix ('^' exponent)?` (right-associative; `^\circ` is a degree sign)
    pub(super) fn power(&mut self) -> R {
        let base = self.postfix()?;
        self.power_tail(base)
    }

    pub(super) fn power_tail(&mut self, base: Node) -> R {
        // Each `^` nests the tree one level deeper: it counts against the depth limit like a bracket.
        let before = self.depth;
        let r = self.power_chain(base);
        self.depth = before;
        r
    }

    pub(super) fn power_chain(&mut self, mut base: Node) -> R {
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
    pub(super) fn exponent(&mut self) -> R {
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
    pub(super) fn single_digit_or_number(&mut self, first_only: bool) -> Node {
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
    pub(super) fn single_letter(&mut self) -> Node {
        let tok = self.toks[self.pos];
        let text = &self.src[tok.span.start..tok.span.end];
        if text.len() > 1 && latex::function(text).is_none() && text != "pi" {
            self.toks[self.pos].span.start += 1;
            return letter_node(&text[..1]);
        }
        self.word_primary().unwrap_or_else(|_| Node::Sym(text.to_string()))
    }

    /// `postfix := primary ('!' | '%' | '°' | "'" | '_' subscript)*`
    pub(super) fn postfix(&mut self) -> R {
        self.chain(Self::postfix_chain)
    }

    /// The body of [`Self::postfix`]: every `!`, `'` and subscript nests the tree and counts against the limit.
    pub(super) fn postfix_chain(&mut self) -> R {
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
    pub(super) fn subscript_text(&mut self) -> Result<String, Error> {
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
    pub(super) fn primary(&mut self) -> R {
        self.enter()?;
        let r = self.primary_inner();
        self.leave();
        r
    }

    pub(super) fn primary_inner(&mut self) -> R {
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
    pub(super) fn repeating_decimal(&mut self, n: Node) -> Node {
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
    pub(super) fn inside(&mut self, close: Kind, what: &'static str) -> R {
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
    pub(super) fn bracketed(&mut self) -> R {
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
    pub(super) fn arg(&mut self) -> R {
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
    pub(super) fn word_primary(&mut self) -> R {
        let w = self.text();
        if let Some(f) = latex::function(w) {
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
            while self.peek() == Some(Kind::Word) && !words::is_group_word(self.text()) {
                text.push(' ');
                text.push_str(&self.text().to_ascii_lowercase());
                self.pos += 1;
            }
            return Ok(Node::Text(text));
        }
        Ok(mul(w.chars().map(|c| letter_node(&c.to_string())).collect()))
    }

    /// `func_call := ('^' exponent)? ('_' base)? (paren_group | func_arg)`
    pub(super) fn func_call(&mut self, f: Func, is_log: bool) -> R {
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
        let arg = if self.peek() == Some(Kind::LParen) { self.bracketed()? } else { self.func_arg()? };
        // `\sin^{-1} x` is arcsin x, not 1/sin x.
        if pow.as_ref().is_some_and(|p| *p == Node::Neg(Box::new(Node::int(1))))
            && let Some(inverse) = inverse_trig(f, &arg)
        {
            return Ok(inverse);
        }
        let mut node = match (f, base) {
            (Func::Ln, Some(b)) => Node::Apply(Func::Log, vec![b, arg]),
            (f, _) => Node::Apply(f, vec![arg]),
        };
        if let Some(p) = pow {
            node = Node::Pow(Box::new(node), Box::new(p));
        }
        Ok(node)
    }

    /// `func_arg := signed power*`: an argument written without parentheses runs to the next operator, as LaTeX
    /// is read (`\cos 2x` is cos(2x), `\sin \frac{\pi}{6}` is sin(π/6)); it also ends before another function
    /// (`\sin x \cos x`), an explicit product (`\sin x \cdot y`) and a unit word.
    fn func_arg(&mut self) -> R {
        self.enter()?;
        let first = self.signed();
        let mut factors = vec![first?];
        loop {
            let ends = match self.peek() {
                Some(Kind::Word) => latex::function(self.text()).is_some() || self.is_unit_word(),
                Some(Kind::Command) => latex::function(self.text()).is_some(),
                Some(Kind::Text) => self.is_unit_text(),
                _ => false,
            };
            if ends || !self.starts_primary() {
                break;
            }
            factors.push(self.power()?);
        }
        self.leave();
        Ok(mul(factors))
    }

    pub(super) fn exponent_or_group(&mut self) -> R {
        if self.peek() == Some(Kind::LBrace) {
            self.pos += 1;
            return self.inside(Kind::RBrace, "`}`");
        }
        self.exponent()
    }
}

fn letter_node(l: &str) -> Node {
    match l {
        "e" => Node::Const(Constant::E),
        "i" => Node::Const(Constant::I),
        _ => Node::Sym(l.to_string()),
    }
}

/// The node for a number token's text.
fn number_node(text: &str, style: NumberStyle) -> Node {
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

/// The inverse of a trigonometric function applied to `arg` (`\sec^{-1} x` is arccos(1/x)); `None` for the others.
fn inverse_trig(f: Func, arg: &Node) -> Option<Node> {
    let recip = || Node::Div(Box::new(Node::int(1)), Box::new(arg.clone()));
    Some(match f {
        Func::Sin => Node::Apply(Func::Asin, vec![arg.clone()]),
        Func::Cos => Node::Apply(Func::Acos, vec![arg.clone()]),
        Func::Tan => Node::Apply(Func::Atan, vec![arg.clone()]),
        Func::Csc => Node::Apply(Func::Asin, vec![recip()]),
        Func::Sec => Node::Apply(Func::Acos, vec![recip()]),
        Func::Cot => Node::Apply(Func::Atan, vec![recip()]),
        _ => return None,
    })
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

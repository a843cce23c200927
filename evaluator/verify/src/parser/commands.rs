//! LaTeX commands (`\frac`, `\sqrt`, `\binom`, wrappers such as `\mathrm`, functions, constants), environments
//! (matrices) and `\text{…}`.

use crate::ast::{Bracket, Constant, Func, Node, NumberSet};
use crate::latex;
use crate::lexer::{Kind, Token, lex};
use crate::span::Span;

use super::{Parser, R};

impl<'a> Parser<'a> {
    /// `\text{…}`: prose, a unit, or math written inside text (`\text{(C)}`, `\text{13}`).
    pub(super) fn text_primary(&mut self) -> R {
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
    pub(super) fn command(&mut self) -> R {
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
            _ if latex::OPAQUE.contains(&name) => {
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
            _ if latex::TRANSPARENT.contains(&name) => {
                if matches!(name, "color" | "textcolor") && self.peek() == Some(Kind::LBrace) {
                    self.arg()?; // the colour name
                }
                let braced = self.peek() == Some(Kind::LBrace);
                let inner = if braced {
                    self.pos += 1;
                    self.inside(Kind::RBrace, "`}`")?
                } else {
                    self.primary()?
                };
                Ok(match inner {
                    // `\mathbb{R}`, `\mathbb{Z}`, …: the number sets.
                    Node::Sym(letter) if name == "mathbb" => number_set(&letter).unwrap_or(Node::Sym(letter)),
                    // `\mathrm{cm}` and other words: one name.
                    Node::Text(t) if braced && !t.contains(' ') => Node::Sym(t),
                    other => other,
                })
            }
            _ => {
                if let Some(f) = latex::function(name) {
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
    pub(super) fn environment(&mut self) -> R {
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
pub(super) fn looks_mathy(t: &str) -> bool {
    let mut run = 0;
    let mut word = String::new();
    let mut ok = true;
    for c in t.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() {
            run += 1;
            word.push(c);
        } else {
            if run >= 2 && latex::function(&word).is_none() && word != "pi" && word != "sqrt" {
                ok = false;
            }
            run = 0;
            word.clear();
        }
    }
    ok && t.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Prose normalized for comparison: lower case, punctuation dropped, single spaces.
fn normalize_words(t: &str) -> String {
    let cleaned: String =
        t.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect::<String>();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The set `\mathbb{letter}` denotes: ℝ as the interval (−∞, ∞), ℕ, ℤ, ℚ and ℂ as themselves.
fn number_set(letter: &str) -> Option<Node> {
    Some(match letter {
        "R" => all_reals(),
        "N" => Node::NumberSet(NumberSet::Naturals),
        "Z" => Node::NumberSet(NumberSet::Integers),
        "Q" => Node::NumberSet(NumberSet::Rationals),
        "C" => Node::NumberSet(NumberSet::Complexes),
        _ => return None,
    })
}

/// The interval (−∞, ∞).
fn all_reals() -> Node {
    let inf = Node::Const(Constant::Infinity);
    Node::Tuple { open: Bracket::Paren, close: Bracket::Paren, items: vec![Node::Neg(Box::new(inf.clone())), inf] }
}

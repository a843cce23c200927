//! Lexer: LaTeX or plain text → small `Copy` tokens with byte spans.
//!
//! Spacing commands (`\,`, `\quad`, `\left`, …) and currency signs produce no token. Numbers keep their raw text
//! (thousands separators included); [`number_value`] reads them. `\text{…}`-like commands become one
//! [`Kind::Text`] token whose span is the braced content.

#[cfg(test)]
mod test;

use crate::latex;
use crate::span::Span;

/// How digits around a comma are read; the verifier tries several readings of an ambiguous answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NumberStyle {
    /// `1,000` is one thousand (else the comma separates list items).
    pub thousands_comma: bool,
    /// `2,74` is 2.74 (European decimal comma).
    pub decimal_comma: bool,
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Digits with an optional decimal part, separators and exponent: the span is the raw text.
    Number,
    /// A run of ASCII letters.
    Word,
    /// `\name`: the span covers the name without the backslash.
    Command,
    /// Content of `\text{…}`, `\mbox{…}`, …: the span covers the content.
    Text,
    /// `\begin{name}`: the span covers the name.
    Begin,
    /// `\end{name}`: the span covers the name.
    End,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `\{`
    SetOpen,
    /// `\}`
    SetClose,
    Pipe,
    Comma,
    Semicolon,
    Colon,
    Plus,
    Minus,
    PlusMinus,
    Star,
    Slash,
    Caret,
    Underscore,
    Bang,
    Prime,
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    Ne,
    Approx,
    Amp,
    /// `\\`
    RowSep,
    Percent,
    Degree,
    Pi,
    Infinity,
    Sqrt,
    Times,
    Dot,
    /// A character with no meaning here (`?`, `@`, unknown symbols).
    Other,
}

/// One token: its kind and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub span: Span,
}

/// Splits `src` into tokens. Never fails: unknown characters become [`Kind::Other`].
pub(crate) fn lex(src: &str, style: NumberStyle) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let mut push = |kind, end: usize| out.push(Token { kind, span: Span::new(start, end) });
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'~' | b'$' | 0x0b | 0x0c => i += 1,
            b'0'..=b'9' => {
                i = scan_number(b, i, style);
                push(Kind::Number, i);
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = scan_number(b, i, style);
                push(Kind::Number, i);
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                push(Kind::Word, i);
            }
            b'\\' => {
                i += 1;
                let Some(&n) = b.get(i) else { break };
                if n.is_ascii_alphabetic() {
                    let name_start = i;
                    while i < b.len() && b[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    let mut name = &src[name_start..i];
                    // `\quadx` (no space after `\quad`) is `\quad x`.
                    for sp in ["qquad", "quad"] {
                        if name.len() > sp.len() && name.starts_with(sp) && !is_known_long(name) {
                            i = name_start + sp.len();
                            name = sp;
                            break;
                        }
                    }
                    i = command(src, name, name_start, i, &mut out);
                } else {
                    i += src[i..].chars().next().map_or(1, char::len_utf8);
                    let kind = match n {
                        b'{' => Some(Kind::SetOpen),
                        b'}' => Some(Kind::SetClose),
                        b'\\' => Some(Kind::RowSep),
                        b'%' => Some(Kind::Percent),
                        b'|' => Some(Kind::Pipe),
                        b'#' | b'&' | b'_' => Some(Kind::Other),
                        _ => None, // `\,` `\!` `\;` `\:` `\ ` `\$` and others: spacing or currency
                    };
                    if let Some(k) = kind {
                        push(k, i);
                    }
                }
            }
            _ if c < 0x80 => {
                i += 1;
                let two = b.get(i).copied();
                let kind = match c {
                    b'{' => Kind::LBrace,
                    b'}' => Kind::RBrace,
                    b'(' => Kind::LParen,
                    b')' => Kind::RParen,
                    b'[' => Kind::LBracket,
                    b']' => Kind::RBracket,
                    b'|' => Kind::Pipe,
                    b',' => Kind::Comma,
                    b';' => Kind::Semicolon,
                    b':' => Kind::Colon,
                    b'+' if two == Some(b'-') => {
                        i += 1;
                        Kind::PlusMinus
                    }
                    b'+' => Kind::Plus,
                    b'-' => Kind::Minus,
                    b'*' if two == Some(b'*') => {
                        i += 1;
                        Kind::Caret
                    }
                    b'*' => Kind::Star,
                    b'/' => Kind::Slash,
                    b'^' => Kind::Caret,
                    b'_' => Kind::Underscore,
                    b'!' if two == Some(b'=') => {
                        i += 1;
                        Kind::Ne
                    }
                    b'!' => Kind::Bang,
                    b'\'' => Kind::Prime,
                    b'=' if two == Some(b'=') => {
                        i += 1;
                        Kind::Eq
                    }
                    b'=' if two == Some(b'<') => {
                        i += 1;
                        Kind::Le
                    }
                    b'=' => Kind::Eq,
                    b'<' if two == Some(b'=') => {
                        i += 1;
                        Kind::Le
                    }
                    b'<' => Kind::Lt,
                    b'>' if two == Some(b'=') => {
                        i += 1;
                        Kind::Ge
                    }
                    b'>' => Kind::Gt,
                    b'&' => Kind::Amp,
                    b'%' => Kind::Percent,
                    _ => Kind::Other,
                };
                push(kind, i);
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or(' ');
                i += ch.len_utf8();
                let kind = match ch {
                    '−' | '–' => Some(Kind::Minus),
                    '±' => Some(Kind::PlusMinus),
                    '×' => Some(Kind::Times),
                    '·' | '⋅' => Some(Kind::Dot),
                    '÷' => Some(Kind::Slash),
                    '≤' | '⩽' => Some(Kind::Le),
                    '≥' | '⩾' => Some(Kind::Ge),
                    '≠' => Some(Kind::Ne),
                    '≈' => Some(Kind::Approx),
                    '∞' => Some(Kind::Infinity),
                    'π' => Some(Kind::Pi),
                    '√' => Some(Kind::Sqrt),
                    '°' => Some(Kind::Degree),
                    '²' | '³' => Some(Kind::Caret), // handled by the parser via the span text
                    '€' | '£' | '¥' | '\u{a0}' | '\u{2009}' | '\u{202f}' => None,
                    _ => Some(Kind::Other),
                };
                if let Some(k) = kind {
                    push(k, i);
                }
            }
        }
    }
    out
}

fn is_known_long(name: &str) -> bool {
    matches!(name, "quad" | "qquad")
}

/// Lexes the command `\name` (name is `src[name_start..i]`), pushing its tokens; returns the next byte.
fn command(src: &str, name: &str, name_start: usize, mut i: usize, out: &mut Vec<Token>) -> usize {
    let b = src.as_bytes();
    let span = Span::new(name_start, i);
    let mut push = |kind| out.push(Token { kind, span });
    if latex::SPACING.contains(&name) {
        // `\left.` and `\right.` are invisible delimiters.
        if matches!(name, "left" | "right") && b.get(i) == Some(&b'.') {
            i += 1;
        }
        return i;
    }
    if latex::TEXT_COMMANDS.contains(&name) {
        let j = skip_ws(b, i);
        if b.get(j) == Some(&b'{') {
            let end = matching_brace(b, j);
            out.push(Token { kind: Kind::Text, span: Span::new(j + 1, end.min(b.len())) });
            return (end + 1).min(b.len());
        }
        return i;
    }
    if matches!(name, "begin" | "end") {
        let j = skip_ws(b, i);
        if b.get(j) == Some(&b'{') {
            let end = matching_brace(b, j);
            let kind = if name == "begin" { Kind::Begin } else { Kind::End };
            out.push(Token { kind, span: Span::new(j + 1, end.min(b.len())) });
            return (end + 1).min(b.len());
        }
        return i;
    }
    push(latex::symbol(name).unwrap_or(Kind::Command));
    i
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Index of the `}` matching the `{` at `open` (escaped braces skipped), or `b.len()` when unclosed.
pub(crate) fn matching_brace(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Scans a number from `i`: digits, thousands groups, decimal part, exponent. Returns its end.
fn scan_number(b: &[u8], mut i: usize, style: NumberStyle) -> usize {
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    // Thousands groups: only after a first group of 1–3 digits that does not start with 0.
    let first = i - int_start;
    if (1..=3).contains(&first) && !(first > 1 && b[int_start] == b'0') && !(first == 1 && b[int_start] == b'0') {
        while let Some(sep) = thousands_sep(b, i, style) {
            let g = i + sep;
            if b.len() >= g + 3
                && b[g..g + 3].iter().all(u8::is_ascii_digit)
                && !b.get(g + 3).is_some_and(u8::is_ascii_digit)
            {
                i = g + 3;
            } else {
                break;
            }
        }
    }
    let dec = |c: u8| c == b'.' || (style.decimal_comma && c == b',');
    if i < b.len() && dec(b[i]) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    // Scientific notation `3.2e4`, `3.54e-07`: the `e` must be followed by digits and then no letter.
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let ds = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > ds && !b.get(j).is_some_and(u8::is_ascii_alphabetic) {
            i = j;
        }
    }
    i
}

/// Length of a thousands separator at `i`, if one is there: `,` (when `style.thousands_comma`), `{,}`, `{, }`,
/// `\,`, `\!`, `\ `, a single space, or a comma followed by one of the LaTeX spaces (`,\!`). A plain comma followed
/// by a plain space (`32, 349`) separates list items.
fn thousands_sep(b: &[u8], i: usize, style: NumberStyle) -> Option<usize> {
    let mut j = i;
    let mut comma = false;
    let mut latex_space = false;
    let mut spaces = 0;
    while b.get(j) == Some(&b' ') {
        j += 1;
        spaces += 1;
    }
    if b.get(j) == Some(&b'{') {
        let mut k = j + 1;
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        if b.get(k) != Some(&b',') {
            return (spaces == 1).then_some(1);
        }
        k += 1;
        while b.get(k) == Some(&b' ') {
            k += 1;
        }
        if b.get(k) != Some(&b'}') {
            return None;
        }
        j = k + 1;
        comma = true;
        latex_space = true;
    } else if b.get(j) == Some(&b',') {
        if !style.thousands_comma || spaces > 0 {
            return None;
        }
        j += 1;
        comma = true;
    }
    let before_spaces = j;
    loop {
        match (b.get(j), b.get(j + 1)) {
            (Some(b'\\'), Some(b'!' | b',' | b' ' | b';' | b':')) => {
                j += 2;
                latex_space = true;
            }
            (Some(b' '), _) => j += 1,
            _ => break,
        }
    }
    if comma && !latex_space && j > before_spaces {
        return None; // `32, 349`
    }
    if !comma && !latex_space {
        return (j - i == 1).then_some(1); // `1 000`
    }
    Some(j - i)
}

/// The value of a [`Kind::Number`] token's raw text: `(numerator digits, denominator power of ten, exponent)`.
///
/// Returns the mantissa digits without separators, the count of digits written after the decimal point (`None`
/// for integers), and the decimal exponent written with `e`.
pub(crate) fn number_parts(text: &str, style: NumberStyle) -> (String, Option<u32>, i64) {
    let (mant, exp) = match text.find(['e', 'E']) {
        Some(k) => (&text[..k], text[k + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let mut digits = String::new();
    let mut decimals: Option<u32> = None;
    let bytes = mant.as_bytes();
    for (k, &c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() {
            digits.push(c as char);
            if let Some(d) = decimals.as_mut() {
                *d += 1;
            }
        } else if (c == b'.' || (c == b',' && style.decimal_comma && !mant[k + 1..].contains(',')))
            && decimals.is_none()
        {
            // A decimal comma is the last comma; earlier commas were thousands separators.
            let tail = &bytes[k + 1..];
            if c == b'.' || tail.iter().all(u8::is_ascii_digit) {
                decimals = Some(0);
            }
        }
    }
    (digits, decimals, exp)
}

//! Lexer tables: input → token kinds.

use super::{Kind::*, NumberStyle, lex};

const US: NumberStyle = NumberStyle { thousands_comma: true, decimal_comma: false };

fn kinds(s: &str, style: NumberStyle) -> Vec<super::Kind> {
    lex(s, style).into_iter().map(|t| t.kind).collect()
}

#[test]
fn token_table() {
    let table: &[(&str, &[super::Kind])] = &[
        ("1,000", &[Number]),
        ("1{,}000", &[Number]),
        ("1\\,000", &[Number]),
        ("1\\!000", &[Number]),
        ("1 000", &[Number]),
        ("32, 349", &[Number, Comma, Number]),
        ("3.2e4", &[Number]),
        ("2e", &[Number, Word]),
        (".5", &[Number]),
        ("\\frac12", &[Command, Number]),
        ("x<=2", &[Word, Le, Number]),
        ("x \\geq 5", &[Word, Ge, Number]),
        ("a != b", &[Word, Ne, Word]),
        ("\\left( x \\right)", &[LParen, Word, RParen]),
        ("\\{1\\}", &[SetOpen, Number, SetClose]),
        ("10\\text{ cm}", &[Number, Text]),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", &[Begin, Number, RowSep, Number, End]),
        ("90^\\circ", &[Number, Caret, Degree]),
        ("\\quadx", &[Word]),
        ("±√π∞", &[PlusMinus, Sqrt, Pi, Infinity]),
        ("28\\%", &[Number, Percent]),
        ("\\$10", &[Number]),
    ];
    for (src, want) in table {
        assert_eq!(&kinds(src, US), want, "lexing {src:?}");
    }
}

#[test]
fn comma_styles() {
    let list = NumberStyle { thousands_comma: false, decimal_comma: false };
    let euro = NumberStyle { thousands_comma: false, decimal_comma: true };
    assert_eq!(kinds("1,000", list), vec![Number, Comma, Number]);
    assert_eq!(kinds("2,74", euro), vec![Number]);
    assert_eq!(kinds("0,111", US), vec![Number, Comma, Number]);
}

#[test]
fn spans_are_byte_ranges() {
    let toks = lex("ab + \\pi", US);
    assert_eq!((toks[0].span.start, toks[0].span.end), (0, 2));
    assert_eq!((toks[2].span.start, toks[2].span.end), (6, 8));
}

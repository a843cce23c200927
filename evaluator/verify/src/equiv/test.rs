//! Strategy tables: each strategy alone on parsed pairs, and the answer views. A strategy that decides a pair it
//! should pass on (or the reverse) shows here even when the dispatcher's later strategies hide it.

use super::{Ctx, STRATEGIES, Step, views};
use crate::{Options, Reason, parse};

/// `(pred, gold, expected)`: `Some(Some(reason))` equal, `Some(None)` different, `None` passed on.
type Row<'a> = (&'a str, &'a str, Option<Option<Reason>>);

#[track_caller]
fn check(strategy: &str, rows: &[Row]) {
    let (_, run) = STRATEGIES.iter().find(|(name, _)| *name == strategy).expect("a strategy of that name");
    let opts = Options::default();
    for (pred, gold, want) in rows {
        let (p, g) = (parse(pred).expect(pred), parse(gold).expect(gold));
        let got = match run(&p, &g, &Ctx::new(&opts)) {
            Step::Decided(r) => Some(r),
            Step::Pass => None,
        };
        assert_eq!(got, *want, "{strategy}: {pred:?} vs {gold:?} (trees {p} and {g})");
    }
}

const PASS: Option<Option<Reason>> = None;
const DIFFERENT: Option<Option<Reason>> = Some(None);
const fn equal(r: Reason) -> Option<Option<Reason>> {
    Some(Some(r))
}

#[test]
fn the_order_is_the_documented_one() {
    let names: Vec<&str> = STRATEGIES.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["text", "relations", "interval_sets", "matrices", "collections", "ratios", "scalars"]);
}

#[test]
fn text() {
    check(
        "text",
        &[
            ("\\text{yes}", "\\text{true}", equal(Reason::Text)),
            ("\\text{the circle}", "\\text{circle}", equal(Reason::Text)),
            ("\\text{yes}", "1", DIFFERENT),
            ("1", "2", PASS),
        ],
    );
}

#[test]
fn relations() {
    check(
        "relations",
        &[
            ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}", equal(Reason::Symbolic)),
            ("5 \\geq x", "x \\leq 5", equal(Reason::Symbolic)),
            ("-x > -1", "x < 1", equal(Reason::Symbolic)),
            // Not the same relation: passed on (the interval sets read inequalities as sets).
            ("x > -1", "x < 1", PASS),
            ("x = 1", "1", PASS),
        ],
    );
}

#[test]
fn interval_sets() {
    check(
        "interval_sets",
        &[
            ("\\mathbb{R} \\setminus \\{2\\}", "(-\\infty, 2) \\cup (2, \\infty)", equal(Reason::Set)),
            ("x \\geq 5", "[5, \\infty)", equal(Reason::Set)),
            ("x \\neq 2", "(-\\infty, 2) \\cup (2, \\infty)", equal(Reason::Set)),
            ("(1,3)\\cup[2,5]", "(1,5]", equal(Reason::Set)),
            ("\\mathbb{Z} \\cap [1, 3]", "\\{1, 2, 3\\}", equal(Reason::Set)),
            ("[0,1)\\cup(1,2]", "[0,2]", DIFFERENT),
            ("|x| < 3", "(-\\infty, 3)", DIFFERENT),
            ("x^2 < 4", "(-\\infty, 4)", DIFFERENT),
            ("\\mathbb{N}", "\\mathbb{Z}", DIFFERENT),
            ("(a, b) \\cup (c, d)", "(c, d) \\cup (a, b)", equal(Reason::Set)),
            ("[0, 1]", "[0, 1]", PASS),
            ("1", "2", PASS),
        ],
    );
}

#[test]
fn matrices() {
    check(
        "matrices",
        &[
            (
                "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
                "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
                equal(Reason::Exact),
            ),
            ("\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", DIFFERENT),
            ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1, 2)", equal(Reason::Exact)),
            ("(1, 2)", "(1, 2)", PASS),
        ],
    );
}

#[test]
fn collections() {
    check(
        "collections",
        &[
            ("\\{1,2\\}", "\\{2,1\\}", equal(Reason::Set)),
            ("1, -2", "-2, 1", equal(Reason::Set)),
            ("\\{1, 1, 2\\}", "\\{1, 2\\}", equal(Reason::Set)),
            ("(1,2)", "(2,1)", DIFFERENT),
            ("[1, 3]", "(1, 3)", DIFFERENT),
            ("1, 3", "(1, 3)", equal(Reason::Set)),
            ("\\pm 2", "\\{2, -2\\}", equal(Reason::Set)),
            ("2, 2", "2", Some(Some(Reason::Identical))),
            ("1, 2", "1", DIFFERENT),
            ("1", "2", PASS),
        ],
    );
}

#[test]
fn ratios() {
    check(
        "ratios",
        &[
            ("7:32", "7:32", equal(Reason::Exact)),
            ("1:2", "2:4", equal(Reason::Exact)),
            ("1:00", "12:00", DIFFERENT),
            ("1", "2", PASS),
        ],
    );
}

#[test]
fn scalars() {
    check(
        "scalars",
        &[
            ("\\frac{1}{2}", "0.5", equal(Reason::Exact)),
            ("2.50", "2.5", equal(Reason::Exact)),
            ("0.3333", "\\frac{1}{3}", equal(Reason::Numeric)),
            ("3.14", "\\pi", equal(Reason::Numeric)),
            // Issue 17: decimals are compared as numbers; the written precision is only for values with no finite
            // decimal form.
            ("3.14", "3.1", DIFFERENT),
            ("0.0052", "0.005", DIFFERENT),
            ("0.3", "\\frac{1}{4}", DIFFERENT),
            ("0.4\\%", "40\\%", DIFFERENT),
            ("0.4", "40\\%", equal(Reason::Exact)),
            ("x^2+2x+1", "(x+1)^2", equal(Reason::Symbolic)),
            ("\\cos 2x", "\\cos^2 x - \\sin^2 x", equal(Reason::Symbolic)),
            ("30^\\circ", "\\frac{\\pi}{6}", equal(Reason::Numeric)),
            ("x^3+2x+1", "x^2+2x+1", DIFFERENT),
            ("\\{1\\}", "1", DIFFERENT),
        ],
    );
}

#[test]
fn answer_views() {
    let table: &[(&str, &[&str])] = &[
        ("x = 3", &["(rel x = 3)", "3"]),
        ("x = 5+5+1 = 11", &["11"]),
        ("x = \\frac{1}{3} \\approx 0.33", &["(rel x = (/ 1 3))", "(/ 1 3)"]),
        ("x \\in [0, 1]", &["(tuple[] 0 1)", "(rel x in (tuple[] 0 1))"]),
        // Issue 17: any named quantity is a label, a sum is not.
        ("m\\angle PQR = 75^\\circ", &["(rel (* m angle \"pqr\") = (deg 75))", "(deg 75)"]),
        ("\\sin A = \\frac{3}{5}", &["(rel (sin A) = (/ 3 5))", "(/ 3 5)"]),
        ("x + y = 10", &["(rel (+ x y) = 10)"]),
        ("7 = 11a + c", &["(rel 7 = (+ (* 11 a) c))"]),
        ("2 + 2 = 4", &["4"]),
    ];
    for (src, want) in table {
        let got: Vec<String> = views::views(&parse(src).expect(src)).iter().map(ToString::to_string).collect();
        assert_eq!(got, *want, "views of {src:?}");
    }
}

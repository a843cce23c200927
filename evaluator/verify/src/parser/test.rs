//! Parse-tree tables: input → the tree's compact printed form (see `Node`'s `Display`). A wrong tree that happens
//! to compare equal to the right answer is caught here, not by the verdicts.

use crate::parse;

#[track_caller]
fn check(table: &[(&str, &str)]) {
    for (src, want) in table {
        match parse(src) {
            Ok(tree) => assert_eq!(tree.to_string(), *want, "parsing {src:?}"),
            Err(e) => panic!("parsing {src:?}: {}", e.render(src)),
        }
    }
}

#[test]
fn numbers() {
    check(&[
        ("42", "42"),
        ("0.50", "0.50"),
        ("1,000", "1000"),
        ("1{,}000", "1000"),
        ("1\\,000", "1000"),
        ("3.2e4", "32000"),
        ("0.\\overline{3}", "1/3"),
        ("1112_3", "41"),
        ("\\$5", "5"),
        ("10\\text{ cm}", "10"),
    ]);
}

#[test]
fn arithmetic() {
    check(&[
        ("\\frac{1}{2}", "(/ 1 2)"),
        ("\\dfrac12", "(/ 1 2)"),
        ("3\\frac{1}{2}", "(+ 3 (/ 1 2))"),
        ("-x^2", "(- (^ x 2))"),
        ("x^2^3", "(^ (^ x 2) 3)"),
        ("2^{10}", "(^ 2 10)"),
        ("\\sqrt{2}", "(root 2 2)"),
        ("\\sqrt[3]{8}", "(root 8 3)"),
        ("\\pi r^2", "(* pi (^ r 2))"),
        ("e^{i\\pi}", "(^ e (* i pi))"),
        ("x/y/z", "(/ (/ x y) z)"),
        ("\\frac{x}{y}z", "(* (/ x y) z)"),
        ("\\cfrac{1}{1+\\cfrac{1}{2}}", "(/ 1 (+ 1 (/ 1 2)))"),
        ("|x - 1|", "(abs (+ x (- 1)))"),
        ("5!", "(factorial 5)"),
        ("\\binom{5}{2}", "(binom 5 2)"),
        ("\\lfloor 2.5 \\rfloor", "(floor 2.5)"),
        ("\\pm \\sqrt{2}", "(+- 0 (root 2 2))"),
        ("1 \\pm \\sqrt{5}", "(+- 1 (root 5 2))"),
    ]);
}

#[test]
fn functions() {
    check(&[
        ("\\log_2 8", "(log 2 8)"),
        ("\\ln x", "(ln x)"),
        ("\\sin^2 x", "(^ (sin x) 2)"),
        ("\\arcsin\\frac{1}{2}", "(asin (/ 1 2))"),
        // Issue 17: an argument without parentheses runs to the next operator.
        ("\\cos 2x", "(cos (* 2 x))"),
        ("\\sin x y + 1", "(+ (sin (* x y)) 1)"),
        ("\\sin x \\cos x", "(* (sin x) (cos x))"),
        ("\\sin x \\cdot y", "(* (sin x) y)"),
        ("\\sin -x", "(sin (- x))"),
        ("\\sin(a+b)", "(sin (+ a b))"),
        ("sin x cos x", "(* (sin x) (cos x))"),
        ("\\sin 30^\\circ", "(sin (deg 30))"),
        // `\tan^{-1}` is the inverse function, not a reciprocal.
        ("\\tan^{-1} x", "(atan x)"),
        ("\\sin^{-1}(x)", "(asin x)"),
        ("\\cot^{-1} x", "(atan (/ 1 x))"),
    ]);
}

#[test]
fn names() {
    check(&[
        ("f(x)", "(* f x)"),
        ("a_{12}", "a_12"),
        ("f'(x)", "(* f' x)"),
        ("\\overline{AB}", "(* A B)"),
        ("\\mathrm{e}", "e"),
        ("m\\angle PQR", "(* m angle \"pqr\")"),
        ("\\text{yes}", "\"yes\""),
        ("\\textbf{(C)}", "C"),
    ]);
}

#[test]
fn units_and_percents() {
    check(&[("28\\%", "(% 28)"), ("28 percent", "(% 28)"), ("30^\\circ", "(deg 30)"), ("5 \\text{ hours}", "5")]);
}

#[test]
fn collections() {
    check(&[
        ("(1, 2)", "(tuple() 1 2)"),
        ("[0, 1)", "(tuple[) 0 1)"),
        ("\\left( \\frac{1}{2}, 3 \\right]", "(tuple(] (/ 1 2) 3)"),
        ("\\{1, 2\\}", "(set 1 2)"),
        ("\\emptyset", "(set)"),
        ("1, 2, 3", "(list 1 2 3)"),
        ("1; 2", "(groups 1 2)"),
        ("x = 1 \\text{ or } x = 2", "(groups (rel x = 1) (rel x = 2))"),
        ("\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}", "(matrix (row 1 2) (row 3 4))"),
        ("3:4", "(: 3 4)"),
    ]);
}

#[test]
fn sets_of_reals() {
    check(&[
        ("(1,2)\\cup[3,4]", "(cup (tuple() 1 2) (tuple[] 3 4))"),
        ("\\infty", "inf"),
        ("-\\infty", "(- inf)"),
        // Issue 17: `\setminus`, `\backslash` and the number sets.
        ("\\mathbb{R}\\setminus\\{2\\}", "(setminus (tuple() (- inf) inf) (set 2))"),
        ("\\mathbb{R} \\backslash \\{2\\}", "(setminus (tuple() (- inf) inf) (set 2))"),
        ("\\mathbb{Z}", "Z"),
        ("\\mathbb N", "N"),
        ("\\mathbb{Z} \\cap [1, 3]", "(cap Z (tuple[] 1 3))"),
        ("A \\cup B \\cap C", "(cap (cup A B) C)"),
    ]);
}

#[test]
fn relations() {
    check(&[
        ("x \\in [0, 1]", "(rel x in (tuple[] 0 1))"),
        ("-2 \\le x < 7", "(rel (- 2) <= x < 7)"),
        ("x = 5+5+1 = 11", "(rel x = (+ 5 5 1) = 11)"),
        ("2x + 4y = 3", "(rel (+ (* 2 x) (* 4 y)) = 3)"),
        ("a \\ne b", "(rel a != b)"),
        ("x \\approx 0.33", "(rel x ~ 0.33)"),
        ("\\sum_{k=1}^{n} k", "(op:sum (rel k = 1) n k)"),
    ]);
}

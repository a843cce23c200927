use super::{t, t_with};
use cir_verify::Options;

#[test]
fn expanded_square() {
    t("(r+5)^2", "(r+5)(r+5)", true)
}
#[test]
fn polynomial_forms() {
    t("x^2 + 2*x - (-1)", "x^2+2x+1", true)
}
#[test]
fn different_degree() {
    t("x^3+2x+1", "x^2+2x+1", false)
}
#[test]
fn extra_variable() {
    t("x+1", "x+2n+1", false)
}
#[test]
fn commuted() {
    t("y + x", "x + y", true)
}
#[test]
fn trig_identity() {
    t("\\sec^2(y)", "\\tan^2(y)+1", true)
}
#[test]
fn sum_to_product() {
    t("2 \\sin b \\cos a", "\\sin(a+b) - \\sin(a-b)", true)
}
#[test]
fn fractional_power() {
    t("\\frac{1}{3x^{2/3}}", "\\frac{1}{3\\sqrt[3]{x}^2}", true)
}
#[test]
fn nested_radicals() {
    t(
        "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}",
        "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}",
        true,
    )
}
#[test]
fn radical_simplified() {
    t("\\frac{10\\sqrt{10.5}}{27}", "\\frac{5\\sqrt{42}}{27}", true)
}
#[test]
fn e_constant() {
    t("1 - \\frac{1}{\\mathrm{e}}", "1 - e^{-1}", true)
}
#[test]
fn e_sign_matters() {
    t("1 + \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{\\mathrm{e}}", false)
}
#[test]
fn renaming_off_by_default() {
    t("f(y)", "f(x)", false)
}
#[test]
fn renaming_option() {
    let o = Options { allow_renaming: true, ..Options::default() };
    t_with("f(y)", "f(x)", &o, true);
}
#[test]
fn sums_by_structure() {
    t("F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k", "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", true)
}
#[test]
fn sums_with_other_bounds() {
    t("F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}", "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", false)
}

// Issue 17: a function's argument written without parentheses runs to the next operator.
#[test]
fn trig_argument_runs_to_next_operator() {
    t("\\cos 2x", "\\cos^2 x - \\sin^2 x", true)
}
#[test]
fn trig_argument_is_not_a_factor_after() {
    t("\\cos 2x", "x\\cos(2)", false)
}
#[test]
fn trig_argument_stops_at_next_function() {
    t("\\sin x \\cos x", "\\frac{1}{2}\\sin 2x", true)
}
#[test]
fn sine_of_degrees_is_an_angle() {
    t("\\sin 30^\\circ", "\\frac{1}{2}", true)
}
#[test]
fn inverse_trig_notation() {
    t("\\tan^{-1} 1", "\\frac{\\pi}{4}", true)
}
#[test]
fn inverse_tangent_is_not_cotangent() {
    t("\\tan^{-1} x", "\\cot x", false)
}

use super::{t, t_with};
use cir_verify::Options;

#[test]
fn same_interval() {
    t("[0,1)", "[0,1)", true)
}
#[test]
fn different_endpoint() {
    t("[0,1)", "[0,9)", false)
}
#[test]
fn different_openness() {
    t("[0,9)", "(0,9)", false)
}
#[test]
fn union_order() {
    t("(1,2)\\cup[3,4]", "[3,4]\\cup(1,2)", true)
}
#[test]
fn union_with_fractions() {
    t("[-1, -\\tfrac12) \\cup (1, \\infty)", "[-1, -\\frac{1}{2}) \\cup (1, \\infty)", true)
}
#[test]
fn inequality_as_interval() {
    t("x \\geq 5", "[5, \\infty)", true)
}
#[test]
fn chain_as_interval() {
    t("(-793, 10)", "-793 < a < 10", true)
}
#[test]
fn interval_vs_relation() {
    t("x \\in [-2,7]", "-2 \\le x \\le 7", true)
}
#[test]
fn abs_inequality() {
    t(
        "z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]",
        "1\\leq|z|\\leq \\frac{3}{2}",
        true,
    )
}
#[test]
fn relation_vs_set_option() {
    let o = Options { relation_vs_set: false, ..Options::default() };
    t_with("-2 \\le x \\le 7", "x \\in [-2,7]", &o, false);
    t_with("-2 \\le x \\le 7", "x \\in [-2,7]", &Options::default(), true);
}
#[test]
fn point_is_not_closed_interval() {
    t("(1,3)", "[1,3]", false)
}

#[test]
fn real_line() {
    t("(-\\infty, \\infty)", "\\mathbb{R}", true);
    t("\\text{all real numbers}", "(-\\infty,\\infty)", true);
}

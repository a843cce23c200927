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

// Issue 17: set differences and number sets, normalized as sets of reals.
#[test]
fn reals_minus_a_point() {
    t("\\mathbb{R} \\setminus \\{2\\}", "(-\\infty, 2) \\cup (2, \\infty)", true)
}
#[test]
fn reals_minus_another_point() {
    t("\\mathbb{R} \\setminus \\{3\\}", "(-\\infty, 2) \\cup (2, \\infty)", false)
}
#[test]
fn reals_minus_two_points() {
    t("\\mathbb{R}\\setminus\\{1,2\\}", "(-\\infty,1)\\cup(1,2)\\cup(2,\\infty)", true)
}
#[test]
fn backslash_is_set_difference() {
    t("\\mathbb{R} \\backslash \\{2\\}", "(-\\infty, 2) \\cup (2, \\infty)", true)
}
#[test]
fn not_equal_is_reals_minus_a_point() {
    t("x \\neq 2", "\\mathbb{R} \\setminus \\{2\\}", true)
}
#[test]
fn integers_minus_zero() {
    t("\\mathbb{Z} \\setminus \\{0\\}", "\\mathbb{Z} \\cap ((-\\infty, 0) \\cup (0, \\infty))", true)
}
#[test]
fn integers_in_bounds_are_points() {
    t("\\mathbb{Z} \\cap [1, 3]", "\\{1, 2, 3\\}", true)
}
#[test]
fn integers_are_not_reals() {
    t("\\mathbb{Z}", "(-\\infty, \\infty)", false)
}
#[test]
fn naturals_are_not_integers() {
    t("\\mathbb{N}", "\\mathbb{Z}", false)
}
#[test]
fn naturals_with_zero_depend_on_convention() {
    t("\\mathbb{N} \\cup \\{0\\}", "\\mathbb{N}", false)
}
#[test]
fn naturals_from_one() {
    t("\\mathbb{N} \\setminus \\{0\\}", "\\mathbb{N} \\cap [1, \\infty)", true)
}
#[test]
fn overlapping_union_merged() {
    t("(1,3)\\cup[2,5]", "(1,5]", true)
}
#[test]
fn closed_pieces_touching_merge() {
    t("[0,1]\\cup[1,2]", "[0,2]", true)
}
#[test]
fn open_pieces_touching_leave_a_hole() {
    t("[0,1)\\cup(1,2]", "[0,2]", false)
}
#[test]
fn abs_inequality_is_not_a_half_line() {
    t("|x| < 3", "(-\\infty, 3)", false)
}
#[test]
fn square_inequality_is_not_a_half_line() {
    t("x^2 < 4", "(-\\infty, 4)", false)
}

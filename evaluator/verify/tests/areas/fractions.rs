use super::t;

#[test]
fn frac_forms() {
    t("\\frac{1}{2}", "0.5", true)
}
#[test]
fn dfrac_tfrac() {
    t("\\dfrac{3}{4}", "\\tfrac34", true)
}
#[test]
fn frac_single_digits() {
    t("\\frac12", "1/2", true)
}
#[test]
fn frac_digit_then_group() {
    t("\\frac3{3}", "1", true)
}
#[test]
fn slash_fraction() {
    t("10/9", "\\frac{10}{9}", true)
}
#[test]
fn mixed_number() {
    t("3\\frac12", "\\frac72", true)
}
#[test]
fn mixed_number_decimal() {
    t("918\\frac{1}{2}", "918.5", true)
}
#[test]
fn unreduced_fraction() {
    t("\\frac{4}{8}", "\\frac{1}{2}", true)
}
#[test]
fn different_fraction() {
    t("\\frac{1}{3}", "\\frac{1}{2}", false)
}
#[test]
fn negative_fraction() {
    t("-\\frac{10}{9}", "\\frac{-10}{9}", true)
}
#[test]
fn fraction_of_roots() {
    t("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true)
}
#[test]
fn sum_of_fractions_not_equal() {
    t("\\tfrac{1}{2} + \\frac1{72}", "\\frac{1}{2} + 2/3", false)
}
#[test]
fn division_by_zero_is_no_value() {
    t("\\frac{1}{0}", "1", false)
}

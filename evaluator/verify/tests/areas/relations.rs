use super::t;

#[test]
fn label_matches_value() {
    t("x = 3", "3", true)
}
#[test]
fn value_matches_label() {
    t("3", "k = 3", true)
}
#[test]
fn chain_takes_last() {
    t("x = 5+5+1 = 7 = 11", "x = 11", true)
}
#[test]
fn approx_dropped() {
    t("x = 1/3 \\approx 0.3", "1/3", true)
}
#[test]
fn equation_not_value() {
    t("11a+c", "7 = 11a+c", false)
}
#[test]
fn equation_scaled() {
    t("y=-\\frac{1}{2}x+\\frac{3}{4}", "2x+4y-3=0", true)
}
#[test]
fn equation_sides_swapped() {
    t("-34x-45y+20z-100=0", "34x+45y-20z+100=0", true)
}
#[test]
fn different_planes() {
    t("5x - 7y + 11z + 4 = 0", "x + y - z + 2 = 0", false)
}
#[test]
fn inequality_flipped() {
    t("5 \\geq x", "x \\leq 5", true)
}
#[test]
fn inequality_negated() {
    t("-x > -1", "x < 1", true)
}
#[test]
fn inequality_wrong_direction() {
    t("x > -1", "x < 1", false)
}
#[test]
fn not_equal() {
    t("x \\neq 3", "x != 3", true)
}
#[test]
fn equation_in_many_variables_vs_number() {
    t("0", "a + 3z = 0", false)
}
#[test]
fn function_label() {
    t("1", "f(x) = 1", true)
}
#[test]
fn ratio_label() {
    t("7:32", "S_{MBCN}:S = 7:32", true)
}
#[test]
fn time_is_not_ratio() {
    t("1:00", "12:00", false)
}

#[test]
fn inverse_function_label() {
    t("f^{-1}(x) = 2x+1", "2x+1", true)
}

// Issue 17: an equation whose left side is a named quantity states its value.
#[test]
fn angle_measure_label() {
    t("m\\angle PQR = 75^\\circ", "75^\\circ", true)
}
#[test]
fn function_value_label() {
    t("\\sin A = \\frac{3}{5}", "\\frac{3}{5}", true)
}
#[test]
fn word_label() {
    t("\\text{area} = 12", "12", true)
}
#[test]
fn sum_before_equals_is_an_equation() {
    t("10", "x + y = 10", false)
}
#[test]
fn named_quantity_with_wrong_value() {
    t("m\\angle PQR = 75^\\circ", "65^\\circ", false)
}

use super::t;

#[test]
fn text_unit() {
    t("10\\text{ units}", "10", true)
}
#[test]
fn text_unit_wrong_number() {
    t("10\\text{ units}", "100", false)
}
#[test]
fn mbox_unit_squared() {
    t("15\\mbox{ cm}^2", "15", true)
}
#[test]
fn plain_unit_word() {
    t("125 miles", "125", true)
}
#[test]
fn degrees_circ() {
    t("90^\\circ", "90", true)
}
#[test]
fn degrees_sign() {
    t("90°", "90", true)
}
#[test]
fn textbf_unit() {
    t("\\frac{1}{3} \\textbf{meters}", "1/3", true)
}
#[test]
fn any_text_after_number() {
    t("17\\text{ any text}", "17", true)
}
#[test]
fn words_are_text() {
    t("\\text{Evelyn}", "Evelyn", true)
}
#[test]
fn words_case_insensitive() {
    t("white", "White", true)
}
#[test]
fn yes_no_synonyms() {
    t("false", "no", true)
}
#[test]
fn misspelled_word() {
    t("\\text{oddd}", "odd", false)
}
#[test]
fn choice_letter() {
    t("\\text{(C)}", "C", true)
}
#[test]
fn choice_with_value() {
    t("\\textbf{(C) }12", "C", true)
}
#[test]
fn wrong_choice() {
    t("(B)", "C", false)
}
#[test]
fn mathrm_letter() {
    t("\\mathrm{E}", "E", true)
}
#[test]
fn mathrm_letter_times_two() {
    t("\\mathrm{E}*2", "E", false)
}

#[test]
fn letter_is_not_a_unit() {
    t("2n", "2", false)
}

#[test]
fn subscripted_letters_are_symbols() {
    t("x j_3", "j_3 x", true)
}

#[test]
fn degrees_as_radians() {
    t("\\frac{\\pi}{6}", "30^\\circ", true);
    t("30^{\\circ}", "\\frac{\\pi}{6}", true);
    t("\\frac{\\pi}{3}", "30^\\circ", false);
}

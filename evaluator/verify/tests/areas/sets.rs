use super::{t, t_with};
use cir_verify::Options;

#[test]
fn set_unordered() {
    t("\\{1,2\\}", "\\{2,1\\}", true)
}
#[test]
fn list_unordered_by_default() {
    t("1,-2", "-2,1", true)
}
#[test]
fn list_ordered_option() {
    let o = Options { ordered_lists: true, ..Options::default() };
    t_with("10, 4, -2", "4, 10, -2", &o, false);
    t_with("10, 4, -2", "10, 4, -2", &o, true);
}
#[test]
fn tuple_ordered() {
    t("(1,2)", "(2,1)", false)
}
#[test]
fn tuple_decimal() {
    t("(1,4.5)", "(1,\\frac{9}{2})", true)
}
#[test]
fn bare_list_matches_tuple_in_order() {
    t("{1,3}", "(1,3)", true)
}
#[test]
fn bare_list_out_of_order() {
    t("{1,3}", "(3,1)", false)
}
#[test]
fn plus_minus() {
    t("\\{-2021, 2021\\}", "\\pm 2021", true)
}
#[test]
fn plus_minus_not_one_value() {
    t("2021", "\\pm 2021", false)
}
#[test]
fn roots_with_pm() {
    t("\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt5", true)
}
#[test]
fn missing_element() {
    t("\\sqrt{67}", "\\sqrt{67},-\\sqrt{85}", false)
}
#[test]
fn labelled_list() {
    t("4, 5", "AB=4,CD=5", true)
}
#[test]
fn groups_as_tuples() {
    t("(5,2),(7,2)", "p=5,q=2;p=7,q=2", true)
}
#[test]
fn words_join_items() {
    t("19, 46, \\text{ and } 82", "19, 46, and 82", true)
}
#[test]
fn matrix_forms() {
    t("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", true)
}
#[test]
fn matrix_entry_differs() {
    t("\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", false)
}
#[test]
fn matrix_sum() {
    t(
        "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
        "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
        true,
    )
}
#[test]
fn column_vector_vs_list() {
    t("1,2", "\\begin{array}1\\\\2\\end{array}", true)
}
#[test]
fn empty_set() {
    t("\\emptyset", "\\varnothing", true)
}

#[test]
fn unordered_tuples_option() {
    let o = Options { unordered_tuples: true, ..Options::default() };
    t_with("(2,1)", "(1,2)", &o, true);
    t_with("[2,1)", "[1,2)", &o, false);
}

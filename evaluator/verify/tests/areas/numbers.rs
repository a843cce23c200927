use super::{t, t_with};
use cir_verify::{Options, PercentMode};

#[test]
fn big_integers() {
    t("123456789012345678901234567890", "123456789012345678901234567890", true)
}
#[test]
fn big_integers_differ() {
    t("123456789012345678901234567890", "123456789012345678901234567891", false)
}
#[test]
fn thousands_comma() {
    t("7,425,000", "7425000", true)
}
#[test]
fn thousands_braced_comma() {
    t("1{,}000", "1000", true)
}
#[test]
fn thousands_thin_space() {
    t("1\\,000", "1000", true)
}
#[test]
fn thousands_negative_space() {
    t("1\\!000", "1000", true)
}
#[test]
fn thousands_space() {
    t("1 000", "1000", true)
}
#[test]
fn comma_space_is_a_list() {
    t("32, 349", "32349", false)
}
#[test]
fn decimal_comma() {
    t("2,74", "2.74", true)
}
#[test]
fn scientific_latex() {
    t("3.2\\times10^{4}", "32000", true)
}
#[test]
fn scientific_e() {
    t("3.2e4", "32000", true)
}
#[test]
fn scientific_negative() {
    t("3.54e-07", "3.54*10^{-7}", true)
}
#[test]
fn leading_dot() {
    t(".4", "0.4", true)
}
#[test]
fn trailing_zero() {
    t("1000.0", "1000", true)
}
#[test]
fn decimal_at_written_precision() {
    t("0.3333", "\\frac{1}{3}", true)
}
#[test]
fn decimal_beyond_written_precision() {
    t("0.3334", "\\frac{1}{3}", false)
}
#[test]
fn decimal_vs_integer() {
    t("5.001", "5", false)
}
#[test]
fn exact_sum_of_decimals() {
    t("0.3", "0.1 + 0.2", true)
}
#[test]
fn sqrt_decimal() {
    t("\\sqrt{17}", "4.123105625617661", true)
}
#[test]
fn pi_decimal() {
    t("3.14", "\\pi", true)
}
#[test]
fn pi_written_precision() {
    t("3.1", "\\pi", true)
}
#[test]
fn pi_wrong_decimal() {
    t("3.15", "\\pi", false)
}
#[test]
fn base_subscript() {
    t("204_5", "54", true)
}
#[test]
fn base_subscript_differs() {
    t("1112122_3", "1112112_3", false)
}
#[test]
fn complex_unit() {
    t("(1+i)^2", "2i", true)
}
#[test]
fn factorial() {
    t("5!", "120", true)
}
#[test]
fn binomial() {
    t("\\binom{5}{2}", "10", true)
}
#[test]
fn log_base() {
    t("\\log_2 8", "3", true)
}
#[test]
fn abs_value() {
    t("|-3|", "3", true)
}
#[test]
fn percent_as_unit() {
    t("28", "28\\%", true)
}
#[test]
fn percent_as_value() {
    t("0.28", "28\\%", true)
}
#[test]
fn not_a_percent() {
    t("28", "0.28", false)
}
#[test]
fn percent_word() {
    t("28 percent", "28\\%", true)
}
#[test]
fn currency() {
    t("\\$10", "10", true)
}
#[test]
fn dollar_thousands() {
    t("\\$23{,}000", "23000", true)
}

#[test]
fn repeating_decimal() {
    t("0.\\overline{3}", "\\frac{1}{3}", true)
}

#[test]
fn repeating_decimal_after_digits() {
    t("1.\\overline{6}", "\\frac{5}{3}", true)
}

#[test]
fn repeating_decimal_differs() {
    t("0.\\overline{3}", "0.34", false)
}

#[test]
fn big_powers_exact() {
    t("2\\cdot 2^{2018} - 2020", "2^{2019} - 2020", true)
}

#[test]
fn big_powers_differ_by_one() {
    t("2^{2019} - 2021", "2^{2019} - 2020", false)
}

// Issue 17: no false accepts between decimals and between percents.
#[test]
fn decimal_with_extra_digits_is_another_number() {
    t("3.14", "3.1", false)
}
#[test]
fn decimal_with_extra_small_digits_is_another_number() {
    t("0.0052", "0.005", false)
}
#[test]
fn decimals_equal_as_numbers() {
    t("2.50", "2.5", true)
}
#[test]
fn decimal_against_a_finite_fraction_is_exact() {
    t("0.3", "\\frac{1}{4}", false)
}
#[test]
fn coarser_decimal_precision_option() {
    let o = Options { coarser_decimal_precision: true, ..Options::default() };
    t_with("3.14", "3.1", &o, true);
    t_with("1.2500125", "1.25", &o, true);
    t_with("3.2", "3.1", &o, false);
}
#[test]
fn two_percents_compared_as_written() {
    t("0.4\\%", "40\\%", false)
}
#[test]
fn bare_number_against_a_percent_stays_lenient() {
    t("0.4", "40\\%", true)
}
#[test]
fn each_side_percent_option() {
    let o = Options { percent: PercentMode::EachSide, ..Options::default() };
    t_with("0.4\\%", "40\\%", &o, true);
    t_with("0.5\\%", "40\\%", &o, false);
}
#[test]
fn scaled_percent_has_two_more_decimal_places() {
    t("28.5\\%", "\\frac{1}{3}", false)
}

use super::t;
use cir_verify::extract_answer;

#[track_caller]
fn x(text: &str, want: Option<&str>) {
    assert_eq!(extract_answer(text).as_deref(), want, "extract_answer({text:?})");
}

#[test]
fn last_boxed() {
    x("first \\boxed{1} then \\boxed{2}", Some("2"))
}
#[test]
fn boxed_nested_braces() {
    x("\\boxed{\\frac{1}{2}}", Some("\\frac{1}{2}"))
}
#[test]
fn boxed_without_braces() {
    x("so \\boxed 7 is it", Some("7"))
}
#[test]
fn fbox() {
    x("\\fbox{5}", Some("5"))
}
#[test]
fn boxes_joined_by_and() {
    t("\\boxed{1} and \\boxed{2}", "\\{1,2\\}", true)
}
#[test]
fn boxes_split_by_prose() {
    t("\\boxed{1} no no no no no \\boxed{2}", "2", true)
}
#[test]
fn final_answer_sentence() {
    x("Final Answer: The final answer is $34$. I hope it is correct.", Some("34"))
}
#[test]
fn final_answer_after_box() {
    t("= \\boxed{255} so $10,455$. The final answer is $10,455$.", "10455", true)
}
#[test]
fn last_math_segment() {
    x("We find that $x \\lt 3$.", Some("x \\lt 3"))
}
#[test]
fn display_math() {
    x("Answer \\[ 9 \\]", Some(" 9 "))
}
#[test]
fn inline_math_over_lines() {
    t("Answer $ \n 9 \n $", "9", true)
}
#[test]
fn last_number_in_prose() {
    t("the number is not 10 which is 1,000.99€", "1000.99", true)
}
#[test]
fn number_glued_to_letters_is_no_answer() {
    t("AZYUK2A", "2", false)
}
#[test]
fn worked_solution_gold() {
    t("14916", "Therefore, $\\boxed{14{,}916}$ is our answer.", true)
}
#[test]
fn double_escaped_commands() {
    t("\\\\boxed{004}", "4", true)
}
#[test]
fn no_answer() {
    x("", None)
}

#[test]
fn verdict_carries_the_extracted_answers() {
    let v = cir_verify::verify("so the answer is $\\boxed{\\dfrac{1}{2}}$.", "The answer: \\boxed{0.5}");
    assert_eq!((v.pred_answer.as_deref(), v.gold_answer.as_deref()), (Some("\\dfrac{1}{2}"), Some("0.5")));
    let none = cir_verify::verify("", "\\boxed{3}");
    assert_eq!(
        (none.reason, none.pred_answer, none.gold_answer.as_deref()),
        (cir_verify::Reason::NoAnswer, None, Some("3"))
    );
}

#[test]
fn no_answer_reason_is_the_shared_constant() {
    let v = cir_verify::verify("   ", "7");
    assert_eq!((v.equivalent, v.reason.to_string()), (false, cir_verify::NO_ANSWER.to_string()));
}

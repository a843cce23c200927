//! Grading: how the loop extracts a final answer and compares it with the gold answer.
//!
//! The loop grades through the [`Grader`] trait so that it does not depend on one verifier. [`PlaceholderGrader`] is
//! a stand-in until `cir-verify` lands: it extracts the last `\boxed{…}` and compares strings after trimming — it is
//! not a verifier and undercounts every answer written differently from the gold one.

use cir_record::Verdict;

/// Extracts and grades answers. Implementations must be total: any text in, a verdict out.
pub trait Grader: Send + Sync {
    /// The final answer of a model response, if it has one.
    fn extract(&self, response: &str) -> Option<String>;
    /// The gold answer held in a dataset field: a bare answer, or a worked solution whose last `\boxed{}` is it.
    fn gold(&self, solution: &str) -> String;
    /// Whether `answer` is equivalent to `gold`, with a short reason.
    fn verify(&self, answer: &str, gold: &str) -> Verdict;
    /// Grades a whole response: extraction, then verification.
    fn grade(&self, response: &str, gold: &str) -> (Option<String>, Verdict) {
        match self.extract(response) {
            Some(answer) => {
                let verdict = self.verify(&answer, gold);
                (Some(answer), verdict)
            }
            None => (None, Verdict { equivalent: false, reason: "no answer found".into() }),
        }
    }
}

/// PLACEHOLDER until `cir-verify` lands: last `\boxed{…}` extraction and exact string comparison after trimming.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlaceholderGrader;

impl Grader for PlaceholderGrader {
    fn extract(&self, response: &str) -> Option<String> {
        last_boxed(response)
    }

    fn gold(&self, solution: &str) -> String {
        last_boxed(solution).unwrap_or_else(|| solution.trim().to_owned())
    }

    fn verify(&self, answer: &str, gold: &str) -> Verdict {
        let equivalent = answer.trim() == gold.trim();
        Verdict { equivalent, reason: if equivalent { "equal: string" } else { "different: string" }.into() }
    }
}

/// The content of the last `\boxed{…}` (balanced braces), trimmed.
fn last_boxed(text: &str) -> Option<String> {
    let start = text.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(text[start..start + i].trim().to_owned());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_extracts_the_last_balanced_box() {
        let g = PlaceholderGrader;
        assert_eq!(g.extract("\\boxed{1} then \\boxed{\\frac{1}{2}}").as_deref(), Some("\\frac{1}{2}"));
        assert_eq!(g.extract("\\boxed{unclosed"), None);
        assert_eq!(g.gold("  42 "), "42");
        assert_eq!(g.gold("so \\boxed{7}."), "7");
        assert!(g.grade("\\boxed{ 7 }", "7").1.equivalent);
        assert_eq!(g.grade("no box", "7").1.reason, "no answer found");
    }
}

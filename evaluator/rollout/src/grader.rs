//! Grading: how the loop extracts a final answer and compares it with the gold answer.
//!
//! The loop grades through the [`Grader`] trait so that callers can swap the grading convention; [`Verifier`] is the
//! project's verifier (`cir-verify`) and the default everywhere.

use cir_record::Verdict;

/// Extracts and grades answers. Implementations must be total: any text in, a verdict out.
pub trait Grader: Sync {
    /// The final answer of a model response, if it has one.
    fn extract(&self, response: &str) -> Option<String>;
    /// The gold answer held in a dataset field: a bare answer, or a worked solution whose last `\boxed{}` is it.
    fn gold(&self, solution: &str) -> String;
    /// Whether the answer `answer` is equivalent to `gold`, with a short reason.
    fn verify(&self, answer: &str, gold: &str) -> Verdict;
    /// Grades a whole response: extraction, then verification.
    fn grade(&self, response: &str, gold: &str) -> (Option<String>, Verdict) {
        match self.extract(response) {
            Some(answer) => {
                let verdict = self.verify(&answer, gold);
                (Some(answer), verdict)
            }
            None => (None, Verdict { equivalent: false, reason: cir_verify::NO_ANSWER.into() }),
        }
    }
}

/// The project's verifier, `cir-verify`, with its options (default: exact mathematical equivalence, see
/// [`cir_verify::Options`]).
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    /// Grading conventions.
    pub options: cir_verify::Options,
}

impl Grader for Verifier {
    fn extract(&self, response: &str) -> Option<String> {
        cir_verify::extract_answer(response)
    }

    /// The last `\boxed{}` of a worked solution; a bare answer as it is (trimmed).
    fn gold(&self, solution: &str) -> String {
        let boxed = solution.contains("\\boxed") || solution.contains("\\fbox");
        boxed.then(|| cir_verify::extract_answer(solution)).flatten().unwrap_or_else(|| solution.trim().to_owned())
    }

    fn verify(&self, answer: &str, gold: &str) -> Verdict {
        cir_verify::verify_with(answer, gold, &self.options).into()
    }

    /// The verifier reads the whole response itself and reports the answer it extracted: one call, the same the
    /// browser viewer's re-grade makes.
    fn grade(&self, response: &str, gold: &str) -> (Option<String>, Verdict) {
        let v = cir_verify::verify_with(response, gold, &self.options);
        (v.pred_answer.clone(), v.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_grades_whole_responses_and_bare_answers() {
        let g = Verifier::default();
        let (answer, verdict) = g.grade("so the answer is \\boxed{\\dfrac{1}{2}}.", "0.5");
        assert_eq!(
            (answer.as_deref(), verdict.equivalent, verdict.reason.as_str()),
            (Some("\\dfrac{1}{2}"), true, "equal: exact")
        );
        assert!(!g.grade("no answer here", "7").1.equivalent);
        assert!(!g.grade("\\boxed{8}", "7").1.equivalent);
        assert_eq!(g.gold("  42 "), "42");
        assert_eq!(g.gold("so \\boxed{7}."), "7");
        assert_eq!(g.gold("\\left( 3, \\frac{\\pi}{2} \\right)"), "\\left( 3, \\frac{\\pi}{2} \\right)");
        assert!(g.verify("1/2", "0.5").equivalent);
    }
}

//! `cir-eval score`: re-grade trajectories with the current grader (extraction and verification), keeping
//! everything else as it was generated.

use std::path::Path;
use std::time::Instant;

use cir_record::{Finish, Trajectory};

use cir_rollout::Grader;

use crate::{Error, trajectories};

/// What re-grading changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScoreSummary {
    /// Trajectories graded.
    pub graded: usize,
    /// Trajectories whose verdict's `equivalent` flipped.
    pub flipped: usize,
    /// Failed samples (finish `error`), left ungraded.
    pub failed: usize,
}

/// Re-grades `trajectories` in place: the answer is extracted again from the response text and verified against the
/// recorded gold answer.
pub fn regrade(trajectories: &mut [Trajectory], grader: &dyn Grader) -> ScoreSummary {
    let mut summary = ScoreSummary::default();
    for t in trajectories {
        if t.finish == Finish::Error {
            summary.failed += 1;
            continue;
        }
        let was = t.is_correct();
        let start = Instant::now();
        let (answer, verdict) = grader.grade(&t.response_text(), &t.gold);
        t.timing.grading_ms = start.elapsed().as_secs_f64() * 1000.0;
        t.answer = answer;
        t.verdict = Some(verdict);
        summary.graded += 1;
        summary.flipped += usize::from(was != t.is_correct());
    }
    summary
}

/// Re-grades the file at `path` and writes the result to `out` (default: `path` itself, replaced atomically).
///
/// # Errors
/// [`Error::Io`] or [`Error::Trajectory`] when the file cannot be read or written.
pub fn score(path: &Path, out: Option<&Path>, grader: &dyn Grader) -> Result<(ScoreSummary, Vec<Trajectory>), Error> {
    let mut ts = trajectories::read(path)?;
    let summary = regrade(&mut ts, grader);
    trajectories::write_all(out.unwrap_or(path), &ts)?;
    Ok((summary, ts))
}

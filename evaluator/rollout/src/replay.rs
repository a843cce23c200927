//! Replay: run every code block of stored trajectories again, with the recorded sandbox seed and mode, and report
//! every output that differs byte for byte — the sandbox's determinism made useful (a trajectory file is evidence
//! that can be checked).
//!
//! What it guarantees: the same interpreter build, limits and echo setting give byte-identical executions for the
//! same code and seed, in a fresh interpreter per block or in a session replayed block by block. What it cannot: a
//! trajectory written by another interpreter build (another wheel or snapshot) or with other limits may differ
//! without anything being wrong; wall-clock durations are never compared.

use cir_record::{Execution, Segment, Trajectory};

use crate::CodeRunner;
use crate::sample::execute;

/// One execution whose replay differs from the record.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The trajectory's dataset.
    pub dataset: String,
    /// The trajectory's problem id.
    pub problem_id: String,
    /// The trajectory's sample index.
    pub sample: u32,
    /// Which code block of the trajectory (0-based).
    pub block: usize,
    /// The first field that differs (`status`, `stdout`, `stderr`, `error`, `exit_code`, `truncated`, `feedback`).
    pub field: &'static str,
    /// The recorded value.
    pub recorded: String,
    /// The replayed value.
    pub replayed: String,
}

/// Replays one trajectory's blocks in order (stateful trajectories in one session, as they ran); returns the
/// number of blocks replayed and the differences.
pub fn replay_one<R: CodeRunner>(t: &Trajectory, runner: &R) -> (usize, Vec<Difference>) {
    let mut session = None;
    let mut differences = Vec::new();
    let mut block = 0;
    let mut segments = t.segments.iter().peekable();
    while let Some(segment) = segments.next() {
        let Segment::Code { code, .. } = segment else { continue };
        let Some(Segment::Output { execution: recorded, feedback, .. }) = segments.next_if(|s| !s.is_sampled()) else {
            continue;
        };
        let replayed = execute(runner, &mut session, code, t.sampling.sandbox_seed, t.sampling.stateful);
        let replayed_feedback = replayed.feedback();
        if let Some((field, a, b)) = first_difference(recorded, &replayed) {
            differences.push(Difference {
                dataset: t.dataset.clone(),
                problem_id: t.problem_id.clone(),
                sample: t.sample,
                block,
                field,
                recorded: a,
                replayed: b,
            });
        } else if !feedback.is_empty() && !replayed_feedback.ends_with(feedback.as_str()) {
            // The recorded feedback may lack its leading newline (a closing token carried it): compare the rest.
            differences.push(Difference {
                dataset: t.dataset.clone(),
                problem_id: t.problem_id.clone(),
                sample: t.sample,
                block,
                field: "feedback",
                recorded: feedback.clone(),
                replayed: replayed_feedback,
            });
        }
        block += 1;
    }
    (block, differences)
}

fn first_difference(a: &Execution, b: &Execution) -> Option<(&'static str, String, String)> {
    let fields: [(&'static str, String, String); 6] = [
        ("status", a.status.to_string(), b.status.to_string()),
        ("stdout", a.stdout.clone(), b.stdout.clone()),
        ("stderr", a.stderr.clone(), b.stderr.clone()),
        ("error", format!("{:?}", a.error), format!("{:?}", b.error)),
        ("exit_code", format!("{:?}", a.exit_code), format!("{:?}", b.exit_code)),
        ("truncated", a.truncated.to_string(), b.truncated.to_string()),
    ];
    fields.into_iter().find(|(_, x, y)| x != y)
}

//! Error feedback, the paper's third insight: code that fails produces an error report, and the model revises.
//!
//! A trajectory is *errored* when at least one of its executions fed back an error report
//! ([`Execution::error_kind`](crate::Execution::error_kind): an exception, a timeout, a resource limit other than the
//! output cap), and is classed by its first one. What happened next is read from its segments: whether the model
//! wrote another code block after that report (*revised*), and whether that next block ran cleanly (status `ok`:
//! *recovered*; a block left unexecuted at the end of the budget did not). Its accuracy is set against the *clean*
//! trajectories: those that ran code and never got an error report back. Trajectories that ran no code are in
//! [`ToolStats::accuracy_without_code`](super::ToolStats::accuracy_without_code).

use serde::{Deserialize, Serialize};

use super::{mean_of, rate};
use crate::{ErrorKind, Segment, Status, Trajectory};

/// What followed error reports, over a set of trajectories.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorFeedback {
    /// Trajectories that ran code and never got an error report.
    pub clean: usize,
    /// Their accuracy, when there are any.
    pub clean_accuracy: Option<f64>,
    /// Every errored trajectory (its `kind` is `None`).
    pub errored: ErrorGroup,
    /// The errored trajectories by the kind of their first error report: one entry per [`ErrorKind::ALL`], in that
    /// order, empty ones included.
    pub by_kind: Vec<ErrorGroup>,
}

/// Errored trajectories of one kind (or all of them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorGroup {
    /// The kind of the first error report; `None` for all kinds together.
    pub kind: Option<ErrorKind>,
    /// Trajectories.
    pub trajectories: usize,
    /// Their share of all trajectories.
    pub share: f64,
    /// Share of them whose model wrote another code block after the first error report.
    pub revised: f64,
    /// Share of them whose next code block ran cleanly.
    pub recovered: f64,
    /// Their accuracy, when there are any.
    pub accuracy: Option<f64>,
}

/// The first error report of a trajectory and what followed it.
struct FirstError {
    kind: ErrorKind,
    revised: bool,
    recovered: bool,
    correct: bool,
}

impl ErrorFeedback {
    /// The statistics of `trajectories` (already made unique).
    pub(crate) fn compute(trajectories: &[&Trajectory]) -> ErrorFeedback {
        let errored: Vec<FirstError> = trajectories.iter().filter_map(|t| first_error(t)).collect();
        let clean: Vec<f64> = trajectories
            .iter()
            .filter(|t| t.executions().next().is_some() && t.executions().all(|e| e.error_kind().is_none()))
            .map(|t| f64::from(u8::from(t.is_correct())))
            .collect();
        let group = |kind: Option<ErrorKind>| {
            let members: Vec<&FirstError> = errored.iter().filter(|e| kind.is_none_or(|k| e.kind == k)).collect();
            let share = |pred: fn(&FirstError) -> bool| rate(members.iter().filter(|e| pred(e)).count(), members.len());
            ErrorGroup {
                kind,
                trajectories: members.len(),
                share: rate(members.len(), trajectories.len()),
                revised: share(|e| e.revised),
                recovered: share(|e| e.recovered),
                accuracy: mean_of(members.iter().map(|e| f64::from(u8::from(e.correct))).collect()),
            }
        };
        ErrorFeedback {
            clean: clean.len(),
            clean_accuracy: mean_of(clean),
            errored: group(None),
            by_kind: ErrorKind::ALL.iter().map(|k| group(Some(*k))).collect(),
        }
    }
}

fn first_error(t: &Trajectory) -> Option<FirstError> {
    let mut segments = t.segments.iter();
    let kind = segments.by_ref().find_map(|s| match s {
        Segment::Output { execution, .. } => execution.error_kind(),
        _ => None,
    })?;
    let mut after = segments.skip_while(|s| !matches!(s, Segment::Code { .. }));
    let revised = after.next().is_some();
    let recovered = matches!(after.next(), Some(Segment::Output { execution, .. }) if execution.status == Status::Ok);
    Some(FirstError { kind, revised, recovered, correct: t.is_correct() })
}

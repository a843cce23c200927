//! Metrics over graded trajectories: per dataset, overall, per value of a field, and several runs side by side.
//!
//! - `avg@n`: mean correctness over every sample (the reference's "accuracy"; greedy accuracy when n = 1).
//! - `pass@k` for every k ≤ n: the unbiased estimator 1 − C(n−c, k)/C(n, k) per problem (n samples, c correct),
//!   averaged over problems. When problems have different sample counts, k goes up to the smallest n.
//! - `maj@k` for every k ≤ n: a majority vote among the first k samples (by sample index) that have an answer,
//!   answers grouped by the equivalence function the caller gives (the verifier); the vote is correct when the
//!   winning group's first answer was graded correct. Ties go to the group seen first.
//! - greedy accuracy: mean correctness of the samples drawn at temperature 0, when there are any.
//! - tool statistics: [`ToolStats`]; error feedback (does the model revise after an error report?):
//!   [`ErrorFeedback`].
//! - [`Breakdown`]: all of the above per value of a field of the dataset line (`subject`, `level`, … from the
//!   trajectory's `meta`, or `dataset`), through [`Metrics::compute_by`].
//! - [`Comparison`]: several runs side by side, one column per run with deltas against the first; [`LengthHistogram`]:
//!   their response lengths over shared bins.
//!
//! A sample that appears twice (same dataset, problem, index: a resumed run that retried it) counts once, the last
//! line winning, everywhere in this module ([`unique`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Finish, Status, Trajectory};

pub use compare::{Comparison, Stat, StatKind, Table, Tables};
pub use error_feedback::{ErrorFeedback, ErrorGroup};
pub use groups::{Breakdown, MISSING, group_value, meta_fields};
pub use lengths::{LengthHistogram, LengthSeries};

mod compare;
mod error_feedback;
mod groups;
mod lengths;
#[cfg(test)]
mod tests;

/// Metrics of every dataset of a set of trajectories, of all of them together, and per value of the fields asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// One entry per dataset, in name order.
    pub datasets: Vec<DatasetMetrics>,
    /// All trajectories pooled (named `overall`).
    pub overall: DatasetMetrics,
    /// Mean of the datasets' `avg` (the paper's "average" column).
    pub macro_avg: f64,
    /// One breakdown per field given to [`Metrics::compute_by`], in that order; empty (and absent from JSON)
    /// otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<Breakdown>,
}

/// Metrics of one dataset (or of the pool, or of one group of a [`Breakdown`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetMetrics {
    /// Dataset name; `overall` for the pool; the field's value for a group of a [`Breakdown`].
    pub dataset: String,
    /// Distinct problems.
    pub problems: usize,
    /// Trajectories.
    pub samples: usize,
    /// Smallest sample count of a problem: the largest k with a pass@k.
    pub n: u32,
    /// Mean correctness over all samples (avg@n).
    pub avg: f64,
    /// pass@k for k = 1..=n.
    pub pass_at_k: Vec<AtK>,
    /// maj@k for k = 1..=n.
    pub maj_at_k: Vec<AtK>,
    /// Mean correctness of the temperature-0 samples, when there are any.
    pub greedy_accuracy: Option<f64>,
    /// How the tool was used.
    pub tools: ToolStats,
    /// What followed an error report.
    #[serde(default)]
    pub error_feedback: ErrorFeedback,
}

/// A metric's value at one k.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtK {
    /// The number of samples considered.
    pub k: u32,
    /// The metric's value in `[0, 1]`.
    pub value: f64,
}

/// Tool-use statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolStats {
    /// `calls_histogram[i]` trajectories made exactly `i` tool calls.
    pub calls_histogram: Vec<u64>,
    /// Mean tool calls per trajectory.
    pub mean_calls: f64,
    /// Share of trajectories with at least one tool call.
    pub tool_use_rate: f64,
    /// Code blocks executed.
    pub executions: u64,
    /// Share of executions that ended in a Python error (or any limit other than the deadline).
    pub execution_error_rate: f64,
    /// Share of executions that hit the deadline.
    pub execution_timeout_rate: f64,
    /// Accuracy of the trajectories that ran code, when there are any.
    pub accuracy_with_code: Option<f64>,
    /// Accuracy of the trajectories that did not, when there are any.
    pub accuracy_without_code: Option<f64>,
    /// Share of trajectories that ended with the budget spent and a block left unexecuted.
    pub budget_exhausted_rate: f64,
    /// Share of trajectories cut by the token limit.
    pub length_rate: f64,
    /// Share of samples that failed (server errors and the like).
    pub error_rate: f64,
    /// Mean completion tokens per trajectory (the response's sampled tokens, tool output excluded), over those the
    /// policy reported.
    pub mean_completion_tokens: Option<f64>,
}

impl Metrics {
    /// Computes the metrics of `trajectories`; `equivalent(a, b)` groups answers for majority voting (pass the
    /// verifier).
    pub fn compute(trajectories: &[Trajectory], equivalent: &dyn Fn(&str, &str) -> bool) -> Metrics {
        Metrics::compute_by(trajectories, &[], equivalent)
    }

    /// As [`Metrics::compute`], with a [`Breakdown`] per field of `fields` (see [`group_value`] for what a field
    /// names).
    pub fn compute_by(
        trajectories: &[Trajectory],
        fields: &[&str],
        equivalent: &dyn Fn(&str, &str) -> bool,
    ) -> Metrics {
        Metrics::of_unique(&unique(trajectories), fields, equivalent)
    }

    /// The metrics of trajectories already made [`unique`].
    pub(crate) fn of_unique(
        unique: &[&Trajectory],
        fields: &[&str],
        equivalent: &dyn Fn(&str, &str) -> bool,
    ) -> Metrics {
        let mut datasets: BTreeMap<&str, Vec<&Trajectory>> = BTreeMap::new();
        for t in unique {
            datasets.entry(&t.dataset).or_default().push(t);
        }
        let datasets: Vec<DatasetMetrics> =
            datasets.into_iter().map(|(name, ts)| DatasetMetrics::compute(name, &ts, equivalent)).collect();
        let macro_avg = mean(datasets.iter().map(|d| d.avg));
        let by = fields.iter().map(|field| Breakdown::of_unique(unique, field, equivalent)).collect();
        Metrics { overall: DatasetMetrics::compute("overall", unique, equivalent), datasets, macro_avg, by }
    }
}

/// The trajectories as every metric counts them: one per (dataset, problem id, sample index), the last one given
/// winning, in key order.
pub fn unique<'a>(trajectories: impl IntoIterator<Item = &'a Trajectory>) -> Vec<&'a Trajectory> {
    let mut by_key: BTreeMap<(&str, &str, u32), &Trajectory> = BTreeMap::new();
    for t in trajectories {
        by_key.insert((&t.dataset, &t.problem_id, t.sample), t);
    }
    by_key.into_values().collect()
}

impl DatasetMetrics {
    /// The metrics of `trajectories` (already [`unique`]) under the name `name`.
    pub(crate) fn compute(
        name: &str,
        trajectories: &[&Trajectory],
        equivalent: &dyn Fn(&str, &str) -> bool,
    ) -> DatasetMetrics {
        // Problems keyed by dataset too, so the pooled "overall" keeps same-named problems of two datasets apart.
        let mut problems: BTreeMap<(&str, &str), Vec<&Trajectory>> = BTreeMap::new();
        for t in trajectories {
            problems.entry((&t.dataset, &t.problem_id)).or_default().push(t);
        }
        for samples in problems.values_mut() {
            samples.sort_by_key(|t| t.sample);
        }
        let n = problems.values().map(|s| s.len() as u32).min().unwrap_or(0);
        let pass_at_k = (1..=n)
            .map(|k| AtK {
                k,
                value: mean(problems.values().map(|s| {
                    let c = s.iter().filter(|t| t.is_correct()).count() as u64;
                    pass_at_k(s.len() as u64, c, u64::from(k))
                })),
            })
            .collect();
        let votes: Vec<Votes> = problems.values().map(|s| Votes::new(&s[..n as usize], equivalent)).collect();
        let maj_at_k = (1..=n)
            .map(|k| AtK { k, value: mean(votes.iter().map(|v| f64::from(u8::from(v.majority_correct(k as usize))))) })
            .collect();
        let greedy: Vec<f64> =
            trajectories.iter().filter(|t| t.sampling.temperature == 0.0).map(|t| correct(t)).collect();
        DatasetMetrics {
            dataset: name.to_owned(),
            problems: problems.len(),
            samples: trajectories.len(),
            n,
            avg: mean(trajectories.iter().map(|t| correct(t))),
            pass_at_k,
            maj_at_k,
            greedy_accuracy: (!greedy.is_empty()).then(|| mean(greedy.into_iter())),
            tools: ToolStats::compute(trajectories),
            error_feedback: ErrorFeedback::compute(trajectories),
        }
    }

    /// pass@k at `k`, when `k ≤ n`.
    pub fn pass_at(&self, k: u32) -> Option<f64> {
        self.pass_at_k.iter().find(|a| a.k == k).map(|a| a.value)
    }

    /// maj@k at `k`, when `k ≤ n`.
    pub fn maj_at(&self, k: u32) -> Option<f64> {
        self.maj_at_k.iter().find(|a| a.k == k).map(|a| a.value)
    }
}

impl ToolStats {
    fn compute(trajectories: &[&Trajectory]) -> ToolStats {
        let count = trajectories.len();
        let mut histogram = vec![0u64; trajectories.iter().map(|t| t.tool_calls as usize + 1).max().unwrap_or(0)];
        for t in trajectories {
            histogram[t.tool_calls as usize] += 1;
        }
        let executions: Vec<Status> = trajectories.iter().flat_map(|t| t.executions().map(|e| e.status)).collect();
        let share = |pred: &dyn Fn(&Trajectory) -> bool| rate(trajectories.iter().filter(|t| pred(t)).count(), count);
        let with_code: Vec<f64> = trajectories.iter().filter(|t| t.tool_calls > 0).map(|t| correct(t)).collect();
        let without_code: Vec<f64> = trajectories.iter().filter(|t| t.tool_calls == 0).map(|t| correct(t)).collect();
        let tokens: Vec<f64> =
            trajectories.iter().filter_map(|t| t.usage.completion_tokens).map(|x| x as f64).collect();
        ToolStats {
            calls_histogram: histogram,
            mean_calls: mean(trajectories.iter().map(|t| f64::from(t.tool_calls))),
            tool_use_rate: share(&|t| t.tool_calls > 0),
            executions: executions.len() as u64,
            execution_error_rate: rate(
                executions.iter().filter(|s| !matches!(s, Status::Ok | Status::Timeout)).count(),
                executions.len(),
            ),
            execution_timeout_rate: rate(
                executions.iter().filter(|s| **s == Status::Timeout).count(),
                executions.len(),
            ),
            accuracy_with_code: mean_of(with_code),
            accuracy_without_code: mean_of(without_code),
            budget_exhausted_rate: share(&|t| t.finish == Finish::BudgetExhausted),
            length_rate: share(&|t| t.finish == Finish::Length),
            error_rate: share(&|t| t.finish == Finish::Error),
            mean_completion_tokens: mean_of(tokens),
        }
    }
}

/// The unbiased pass@k estimator for one problem with `n` samples of which `c` are correct:
/// 1 − C(n−c, k)/C(n, k), computed as a product so that no binomial overflows. 0 when `k > n` or `n = 0`.
pub fn pass_at_k(n: u64, c: u64, k: u64) -> f64 {
    if k == 0 || k > n {
        return 0.0;
    }
    if n - c.min(n) < k {
        return 1.0;
    }
    // C(n−c, k)/C(n, k) = Π_{i = n−c+1}^{n} (1 − k/i)
    1.0 - (n - c + 1..=n).map(|i| 1.0 - k as f64 / i as f64).product::<f64>()
}

/// One problem's samples as votes: each answer's group, assigned once in sample order, so that every k reads the
/// same grouping — the first k samples' groups are exactly what grouping those k alone gives, since a group is
/// represented by its first answer.
struct Votes {
    /// Per sample, its answer's group; `None` without an answer.
    group: Vec<Option<usize>>,
    /// Per group, whether its first answer was graded correct.
    correct: Vec<bool>,
}

impl Votes {
    fn new(samples: &[&Trajectory], equivalent: &dyn Fn(&str, &str) -> bool) -> Votes {
        let mut representatives: Vec<&str> = Vec::new();
        let mut correct = Vec::new();
        let group = samples
            .iter()
            .map(|t| {
                let answer = t.answer.as_deref()?;
                let found = representatives.iter().position(|rep| *rep == answer || equivalent(rep, answer));
                Some(found.unwrap_or_else(|| {
                    representatives.push(answer);
                    correct.push(t.is_correct());
                    representatives.len() - 1
                }))
            })
            .collect();
        Votes { group, correct }
    }

    /// True when the majority group among the first `k` samples was graded correct; ties go to the group seen first
    /// (the lowest index).
    fn majority_correct(&self, k: usize) -> bool {
        let mut votes = vec![0usize; self.correct.len()];
        for g in self.group.iter().take(k).flatten() {
            votes[*g] += 1;
        }
        let mut best: Option<(usize, usize)> = None;
        for (g, v) in votes.into_iter().enumerate() {
            if v > 0 && best.is_none_or(|(_, most)| v > most) {
                best = Some((g, v));
            }
        }
        best.is_some_and(|(g, _)| self.correct[g])
    }
}

fn correct(t: &Trajectory) -> f64 {
    f64::from(u8::from(t.is_correct()))
}

/// The mean of `values`; 0 when there are none.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// The mean of `values`, `None` when there are none.
fn mean_of(values: Vec<f64>) -> Option<f64> {
    (!values.is_empty()).then(|| mean(values.into_iter()))
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

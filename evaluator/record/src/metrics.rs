//! Metrics over graded trajectories: per dataset and overall.
//!
//! - `avg@n`: mean correctness over every sample (the reference's "accuracy"; greedy accuracy when n = 1).
//! - `pass@k` for every k ≤ n: the unbiased estimator 1 − C(n−c, k)/C(n, k) per problem (n samples, c correct),
//!   averaged over problems. When problems have different sample counts, k goes up to the smallest n.
//! - `maj@k` for k = 1, 2, 4, … and n: a majority vote among the first k samples (by sample index) that have an
//!   answer, answers grouped by the equivalence function the caller gives (the verifier); the vote is correct when the
//!   winning group's answers were graded correct. Ties go to the group seen first.
//! - greedy accuracy: mean correctness of the samples drawn at temperature 0, when there are any.
//! - tool statistics: [`ToolStats`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Finish, Status, Trajectory};

/// Metrics of every dataset of a set of trajectories, and of all of them together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// One entry per dataset, in name order.
    pub datasets: Vec<DatasetMetrics>,
    /// All trajectories pooled (named `overall`).
    pub overall: DatasetMetrics,
    /// Mean of the datasets' `avg` (the paper's "average" column).
    pub macro_avg: f64,
}

/// Metrics of one dataset (or of the pool).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetMetrics {
    /// Dataset name.
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
    /// maj@k for k = 1, 2, 4, … and n.
    pub maj_at_k: Vec<AtK>,
    /// Mean correctness of the temperature-0 samples, when there are any.
    pub greedy_accuracy: Option<f64>,
    /// How the tool was used.
    pub tools: ToolStats,
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
    /// Mean completion tokens per trajectory, over those the server reported.
    pub mean_completion_tokens: Option<f64>,
}

impl Metrics {
    /// Computes the metrics of `trajectories`; `equivalent(a, b)` groups answers for majority voting (pass the
    /// verifier). A sample that appears twice (same dataset, problem, index) counts once: the last one wins.
    pub fn compute(trajectories: &[Trajectory], equivalent: &dyn Fn(&str, &str) -> bool) -> Metrics {
        let mut by_key: BTreeMap<(&str, &str, u32), &Trajectory> = BTreeMap::new();
        for t in trajectories {
            by_key.insert((&t.dataset, &t.problem_id, t.sample), t);
        }
        let unique: Vec<&Trajectory> = by_key.into_values().collect();
        let mut datasets: BTreeMap<&str, Vec<&Trajectory>> = BTreeMap::new();
        for t in &unique {
            datasets.entry(&t.dataset).or_default().push(t);
        }
        let datasets: Vec<DatasetMetrics> =
            datasets.into_iter().map(|(name, ts)| DatasetMetrics::compute(name, &ts, equivalent)).collect();
        let macro_avg =
            if datasets.is_empty() { 0.0 } else { datasets.iter().map(|d| d.avg).sum::<f64>() / datasets.len() as f64 };
        Metrics { overall: DatasetMetrics::compute("overall", &unique, equivalent), datasets, macro_avg }
    }
}

impl DatasetMetrics {
    fn compute(name: &str, trajectories: &[&Trajectory], equivalent: &dyn Fn(&str, &str) -> bool) -> DatasetMetrics {
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
        let maj_at_k = maj_ks(n)
            .map(|k| AtK {
                k,
                value: mean(
                    problems.values().map(|s| f64::from(u8::from(majority_correct(&s[..k as usize], equivalent)))),
                ),
            })
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
        }
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
            accuracy_with_code: (!with_code.is_empty()).then(|| mean(with_code.into_iter())),
            accuracy_without_code: (!without_code.is_empty()).then(|| mean(without_code.into_iter())),
            budget_exhausted_rate: share(&|t| t.finish == Finish::BudgetExhausted),
            length_rate: share(&|t| t.finish == Finish::Length),
            error_rate: share(&|t| t.finish == Finish::Error),
            mean_completion_tokens: (!tokens.is_empty()).then(|| mean(tokens.into_iter())),
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

/// True when the majority answer among `samples` (those with an answer) was graded correct.
fn majority_correct(samples: &[&Trajectory], equivalent: &dyn Fn(&str, &str) -> bool) -> bool {
    // (representative answer, votes, correct)
    let mut groups: Vec<(&str, usize, bool)> = Vec::new();
    for t in samples {
        let Some(answer) = t.answer.as_deref() else { continue };
        match groups.iter_mut().find(|(rep, _, _)| *rep == answer || equivalent(rep, answer)) {
            Some(group) => group.1 += 1,
            None => groups.push((answer, 1, t.is_correct())),
        }
    }
    let mut best: Option<(usize, bool)> = None;
    for (_, votes, ok) in groups {
        if best.is_none_or(|(v, _)| votes > v) {
            best = Some((votes, ok));
        }
    }
    best.is_some_and(|(_, ok)| ok)
}

fn maj_ks(n: u32) -> impl Iterator<Item = u32> {
    let mut ks: Vec<u32> = std::iter::successors(Some(1u32), |k| k.checked_mul(2)).take_while(|k| *k < n).collect();
    if n > 0 {
        ks.push(n);
    }
    ks.into_iter()
}

fn correct(t: &Trajectory) -> f64 {
    f64::from(u8::from(t.is_correct()))
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Execution, Sampling, Segment, Usage, Verdict};

    fn traj(dataset: &str, problem: &str, sample: u32, answer: Option<&str>, ok: bool) -> Trajectory {
        Trajectory {
            schema: 1,
            dataset: dataset.into(),
            problem_id: problem.into(),
            sample,
            prompt: String::new(),
            prompt_ids: None,
            gold: String::new(),
            segments: Vec::new(),
            finish: Finish::Stop,
            tool_calls: 0,
            usage: Usage::default(),
            answer: answer.map(Into::into),
            verdict: Some(Verdict { equivalent: ok, reason: String::new() }),
            timing: Default::default(),
            sampling: Sampling { temperature: 1.0, ..Sampling::default() },
            error: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn binom(n: u64, k: u64) -> f64 {
        (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
    }

    #[test]
    fn pass_at_k_matches_the_binomial_formula() {
        for n in 1..=16u64 {
            for c in 0..=n {
                for k in 1..=n {
                    let expected = 1.0 - binom(n - c, k) / binom(n, k);
                    assert!((pass_at_k(n, c, k) - expected).abs() < 1e-9, "n={n} c={c} k={k}");
                }
            }
        }
        assert_eq!(pass_at_k(16, 1, 1), 1.0 / 16.0);
        assert_eq!(pass_at_k(4, 0, 4), 0.0);
        assert_eq!(pass_at_k(4, 1, 4), 1.0);
        assert_eq!(pass_at_k(4, 1, 5), 0.0);
        // Large n does not overflow.
        assert!(close(pass_at_k(1024, 512, 1), 0.5));
    }

    #[test]
    fn per_dataset_avg_pass_and_overall() {
        // Problem a: 1 of 4 correct; problem b: 4 of 4; dataset y: one problem 0 of 4.
        let mut ts = Vec::new();
        for i in 0..4 {
            ts.push(traj("x", "a", i, Some(if i == 0 { "1" } else { "2" }), i == 0));
            ts.push(traj("x", "b", i, Some("7"), true));
            ts.push(traj("y", "a", i, None, false));
        }
        let m = Metrics::compute(&ts, &|a, b| a == b);
        let x = &m.datasets[0];
        assert_eq!((x.dataset.as_str(), x.problems, x.samples, x.n), ("x", 2, 8, 4));
        assert!(close(x.avg, 5.0 / 8.0));
        let p: Vec<f64> = x.pass_at_k.iter().map(|a| a.value).collect();
        assert!(close(p[0], (0.25 + 1.0) / 2.0));
        assert!(close(p[1], (0.5 + 1.0) / 2.0));
        assert!(close(p[3], 1.0));
        // maj@k on problem a: k=1 takes sample 0 ("1", right); k=2 is a tie that the first group ("1") wins; at k=4
        // "2" (wrong) has three votes.
        let maj: Vec<(u32, f64)> = x.maj_at_k.iter().map(|a| (a.k, a.value)).collect();
        assert_eq!(maj, vec![(1, 1.0), (2, 1.0), (4, 0.5)]);
        assert_eq!(m.datasets[1].avg, 0.0);
        assert_eq!(m.overall.problems, 3);
        assert!(close(m.overall.avg, 5.0 / 12.0));
        assert!(close(m.macro_avg, 5.0 / 16.0));
        assert_eq!(x.greedy_accuracy, None);
    }

    #[test]
    fn majority_groups_equivalent_answers_and_skips_missing() {
        // "1/2" and "0.5" are one group under the given equivalence: 2 votes beat "3" once; missing answers don't vote.
        let ts = vec![
            traj("d", "p", 0, Some("3"), false),
            traj("d", "p", 1, Some("1/2"), true),
            traj("d", "p", 2, Some("0.5"), true),
            traj("d", "p", 3, None, false),
        ];
        let eq = |a: &str, b: &str| matches!((a, b), ("1/2", "0.5") | ("0.5", "1/2"));
        let m = Metrics::compute(&ts, &eq);
        assert_eq!(m.overall.maj_at_k.last().map(|a| a.value), Some(1.0));
        let plain = Metrics::compute(&ts, &|a, b| a == b);
        // Without grouping every answer has one vote and the first ("3", wrong) wins the tie.
        assert_eq!(plain.overall.maj_at_k.last().map(|a| a.value), Some(0.0));
    }

    #[test]
    fn tool_stats_and_greedy() {
        let mut a = traj("d", "p", 0, Some("1"), true);
        a.tool_calls = 2;
        let e = Execution::new(Status::Ok);
        let t = Execution::new(Status::Timeout);
        a.segments = vec![Segment::output(e.clone(), e.feedback()), Segment::output(t.clone(), t.feedback())];
        a.usage.completion_tokens = Some(100);
        a.sampling.temperature = 0.0;
        let mut b = traj("d", "q", 0, None, false);
        b.finish = Finish::BudgetExhausted;
        b.tool_calls = 0;
        let mut c = traj("d", "r", 0, None, false);
        c.finish = Finish::Error;
        let m = Metrics::compute(&[a, b, c], &|x, y| x == y);
        let tools = &m.overall.tools;
        assert_eq!(tools.calls_histogram, vec![2, 0, 1]);
        assert!(close(tools.mean_calls, 2.0 / 3.0));
        assert_eq!(tools.executions, 2);
        assert_eq!((tools.execution_error_rate, tools.execution_timeout_rate), (0.0, 0.5));
        assert_eq!((tools.accuracy_with_code, tools.accuracy_without_code), (Some(1.0), Some(0.0)));
        assert!(close(tools.budget_exhausted_rate, 1.0 / 3.0));
        assert!(close(tools.error_rate, 1.0 / 3.0));
        assert_eq!(tools.mean_completion_tokens, Some(100.0));
        assert_eq!(m.overall.greedy_accuracy, Some(1.0));
    }

    #[test]
    fn duplicates_count_once_and_empty_input_is_zero() {
        let ts = vec![traj("d", "p", 0, Some("1"), false), traj("d", "p", 0, Some("1"), true)];
        let m = Metrics::compute(&ts, &|a, b| a == b);
        assert_eq!((m.overall.samples, m.overall.avg), (1, 1.0));
        let empty = Metrics::compute(&[], &|a, b| a == b);
        assert_eq!((empty.overall.samples, empty.overall.n, empty.macro_avg), (0, 0, 0.0));
        assert!(empty.overall.pass_at_k.is_empty() && empty.overall.maj_at_k.is_empty());
    }
}

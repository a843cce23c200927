//! Several runs side by side (the paper's comparisons of a code-integrated model with a text-only one): one column
//! per run, deltas against the first, overall and per value of a field.

use serde::{Deserialize, Serialize};

use super::groups::order;
use super::{DatasetMetrics, Metrics};
use crate::Trajectory;

/// Runs compared statistic by statistic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The runs' names, in the order given; the first is the baseline of every delta.
    pub runs: Vec<String>,
    /// The ks of the `pass@k` and `maj@k` rows.
    pub ks: Vec<u32>,
    /// Every trajectory of each run.
    pub overall: Table,
    /// Per field asked for, one table per value (values in the order of [`super::Breakdown`], over all runs).
    pub by: Vec<Tables>,
    /// Each run's full metrics (per dataset, pass@k for every k, error feedback, breakdowns), in run order.
    pub metrics: Vec<Metrics>,
}

/// One field's tables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    /// The field.
    pub field: String,
    /// One table per value.
    pub tables: Vec<Table>,
}

/// The statistics of one set of trajectories (all, or one group), one value per run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `overall`, or the field's value.
    pub group: String,
    /// In this order: `problems`, `samples`, `accuracy` (avg@n), `pass@k` and `maj@k` for each k, `response_tokens`
    /// (mean completion tokens), `tool_calls` (per trajectory), `code_share` (share of trajectories with a tool call).
    pub stats: Vec<Stat>,
}

/// One statistic across runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Its name (see [`Table::stats`]).
    pub name: String,
    /// What kind of number it is.
    pub kind: StatKind,
    /// One per run; `None` where the run has none (no trajectory in the group, k above its n, no token counts).
    pub values: Vec<Option<f64>>,
    /// Each run's value minus the first run's; `None` for the first run, for counts, and where either is missing.
    pub deltas: Vec<Option<f64>>,
}

/// What kind of number a [`Stat`] is, which says how to show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatKind {
    /// A number of problems or trajectories (no delta).
    Count,
    /// A share in `[0, 1]`; its delta is in the same unit (percentage points once shown as percent).
    Share,
    /// A mean (tokens, tool calls).
    Mean,
}

impl Comparison {
    /// Compares `runs` (name, trajectories), with a table per value of each of `fields` ([`super::group_value`]),
    /// `pass@k` and `maj@k` at each of `ks` (empty: 1 and the smallest n of the runs; k = 0 is ignored); answers are
    /// grouped for majority voting by `equivalent`.
    pub fn compute(
        runs: &[(&str, &[Trajectory])],
        fields: &[&str],
        ks: &[u32],
        equivalent: &dyn Fn(&str, &str) -> bool,
    ) -> Comparison {
        let metrics: Vec<Metrics> = runs.iter().map(|(_, ts)| Metrics::compute_by(ts, fields, equivalent)).collect();
        let mut ks: Vec<u32> = ks.iter().copied().filter(|k| *k > 0).collect();
        if ks.is_empty() {
            ks = vec![1, metrics.iter().map(|m| m.overall.n).min().unwrap_or(1).max(1)];
        }
        ks.sort_unstable();
        ks.dedup();
        let overall: Vec<Option<&DatasetMetrics>> = metrics.iter().map(|m| Some(&m.overall)).collect();
        let by = (0..fields.len())
            .map(|i| {
                let mut values: Vec<&str> =
                    metrics.iter().flat_map(|m| m.by[i].groups.iter().map(|g| g.dataset.as_str())).collect();
                values.sort_by(|a, b| order(a, b));
                values.dedup();
                let tables = values
                    .iter()
                    .map(|v| {
                        let columns: Vec<Option<&DatasetMetrics>> =
                            metrics.iter().map(|m| m.by[i].groups.iter().find(|g| g.dataset == *v)).collect();
                        Table::new(v, &columns, &ks)
                    })
                    .collect();
                Tables { field: fields[i].to_owned(), tables }
            })
            .collect();
        Comparison {
            runs: runs.iter().map(|(name, _)| (*name).to_owned()).collect(),
            overall: Table::new("overall", &overall, &ks),
            by,
            ks,
            metrics,
        }
    }
}

impl Table {
    fn new(group: &str, columns: &[Option<&DatasetMetrics>], ks: &[u32]) -> Table {
        let stat = |name: String, kind: StatKind, get: &dyn Fn(&DatasetMetrics) -> Option<f64>| {
            Stat::new(name, kind, columns.iter().map(|d| d.and_then(get)).collect())
        };
        let mut stats = vec![
            stat("problems".into(), StatKind::Count, &|d| Some(d.problems as f64)),
            stat("samples".into(), StatKind::Count, &|d| Some(d.samples as f64)),
            stat("accuracy".into(), StatKind::Share, &|d| Some(d.avg)),
        ];
        stats.extend(ks.iter().map(|k| stat(format!("pass@{k}"), StatKind::Share, &|d| d.pass_at(*k))));
        stats.extend(ks.iter().map(|k| stat(format!("maj@{k}"), StatKind::Share, &|d| d.maj_at(*k))));
        stats.extend([
            stat("response_tokens".into(), StatKind::Mean, &|d| d.tools.mean_completion_tokens),
            stat("tool_calls".into(), StatKind::Mean, &|d| Some(d.tools.mean_calls)),
            stat("code_share".into(), StatKind::Share, &|d| Some(d.tools.tool_use_rate)),
        ]);
        Table { group: group.to_owned(), stats }
    }
}

impl Stat {
    fn new(name: String, kind: StatKind, values: Vec<Option<f64>>) -> Stat {
        let base = values.first().copied().flatten();
        let deltas = values
            .iter()
            .enumerate()
            .map(|(i, v)| match (i, kind, base, v) {
                (0, ..) | (_, StatKind::Count, ..) => None,
                (_, _, Some(b), Some(v)) => Some(v - b),
                _ => None,
            })
            .collect();
        Stat { name, kind, values, deltas }
    }
}

//! Metrics per value of a field: the paper's "selective benefits" (large gains on some subjects, little on others)
//! come from splitting a run by the dataset line's `subject`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{DatasetMetrics, unique};
use crate::Trajectory;

/// The group of the trajectories that do not have the field.
pub const MISSING: &str = "(missing)";

/// The metrics of one field's groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The field, as given (`subject`, `level`, `dataset`).
    pub field: String,
    /// One entry per value, each named by it (its `dataset` is the value): values that read as numbers first in
    /// numeric order, then the others in text order, then [`MISSING`].
    pub groups: Vec<DatasetMetrics>,
}

impl Breakdown {
    /// The metrics of `trajectories` per value of `field` ([`group_value`]); answers are grouped for majority voting
    /// by `equivalent`.
    pub fn compute(trajectories: &[Trajectory], field: &str, equivalent: &dyn Fn(&str, &str) -> bool) -> Breakdown {
        Breakdown::of_unique(&unique(trajectories), field, equivalent)
    }

    pub(crate) fn of_unique(unique: &[&Trajectory], field: &str, equivalent: &dyn Fn(&str, &str) -> bool) -> Breakdown {
        let mut groups: BTreeMap<String, Vec<&Trajectory>> = BTreeMap::new();
        for t in unique {
            groups.entry(group_value(t, field).unwrap_or_else(|| MISSING.to_owned())).or_default().push(t);
        }
        let mut groups: Vec<(String, Vec<&Trajectory>)> = groups.into_iter().collect();
        groups.sort_by(|a, b| order(&a.0, &b.0));
        Breakdown {
            field: field.to_owned(),
            groups: groups.into_iter().map(|(value, ts)| DatasetMetrics::compute(&value, &ts, equivalent)).collect(),
        }
    }
}

/// The value a trajectory has for `field`, as text: `dataset` is the trajectory's dataset name; any other name is
/// looked up in its `meta` (the dataset line's own fields). `None` when it has no such field.
pub fn group_value(t: &Trajectory, field: &str) -> Option<String> {
    if field == "dataset" { Some(t.dataset.clone()) } else { t.meta.get(field).map(ToString::to_string) }
}

/// Every metadata field name that occurs in `trajectories`, in name order.
pub fn meta_fields(trajectories: &[Trajectory]) -> Vec<String> {
    let names: BTreeSet<&String> = trajectories.iter().flat_map(|t| t.meta.keys()).collect();
    names.into_iter().cloned().collect()
}

/// How group values are listed: numbers in numeric order (so level 10 follows level 9), then text, then
/// [`MISSING`].
pub(crate) fn order(a: &str, b: &str) -> Ordering {
    let rank = |v: &str| match (v == MISSING, v.parse::<f64>().ok().filter(|x| x.is_finite())) {
        (true, _) => (2, 0.0),
        (false, Some(x)) => (0, x),
        (false, None) => (1, 0.0),
    };
    let (ra, xa) = rank(a);
    let (rb, xb) = rank(b);
    ra.cmp(&rb).then(xa.total_cmp(&xb)).then_with(|| a.cmp(b))
}

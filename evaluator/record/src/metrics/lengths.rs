//! Response lengths, the paper's efficiency analysis (shorter reasoning with code than with long chains of
//! thought): one histogram per series over shared bins, so that runs compare bin by bin.

use serde::{Deserialize, Serialize};

use super::{mean_of, unique};
use crate::Trajectory;

/// Histograms of response lengths in tokens (the completion tokens the policy reported: sampled tokens, tool output
/// excluded), every series over the same bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LengthHistogram {
    /// Width of every bin in tokens: 1, 2 or 5 times a power of ten, the smallest such that the longest response
    /// falls within the bin limit.
    pub bin_width: u64,
    /// Number of bins; bin `i` holds the lengths in `[i · bin_width, (i + 1) · bin_width)`.
    pub bins: usize,
    /// One histogram per series, in the order given.
    pub series: Vec<LengthSeries>,
}

/// One series' response lengths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LengthSeries {
    /// The series' name (a run, a dataset).
    pub name: String,
    /// Trajectories counted: those with a reported token count.
    pub counted: usize,
    /// Trajectories left out because the policy reported no token count.
    pub unreported: usize,
    /// Trajectories per bin (`bins` entries).
    pub counts: Vec<u64>,
    /// Mean length, when any was counted.
    pub mean: Option<f64>,
    /// Median length (the mean of the two middle ones for an even count), when any was counted.
    pub median: Option<f64>,
}

impl LengthHistogram {
    /// The histograms of `series` (name, trajectories; each series made [`unique`] here) with at most `max_bins` bins
    /// (at least 1).
    pub fn compute<'a>(
        series: impl IntoIterator<Item = (String, Vec<&'a Trajectory>)>,
        max_bins: usize,
    ) -> LengthHistogram {
        let series: Vec<(String, Vec<&Trajectory>)> = series.into_iter().map(|(name, ts)| (name, unique(ts))).collect();
        let lengths: Vec<Vec<u64>> =
            series.iter().map(|(_, ts)| ts.iter().filter_map(|t| t.usage.completion_tokens).collect()).collect();
        let longest = lengths.iter().flatten().copied().max();
        let bin_width = longest.map_or(1, |max| nice_width(max, max_bins.max(1)));
        let bins = longest.map_or(0, |max| (max / bin_width) as usize + 1);
        let series = series
            .into_iter()
            .zip(lengths)
            .map(|((name, ts), mut lengths)| {
                let mut counts = vec![0u64; bins];
                for l in &lengths {
                    counts[(l / bin_width) as usize] += 1;
                }
                lengths.sort_unstable();
                let median = (!lengths.is_empty()).then(|| {
                    let mid = lengths.len() / 2;
                    if lengths.len() % 2 == 1 {
                        lengths[mid] as f64
                    } else {
                        (lengths[mid - 1] + lengths[mid]) as f64 / 2.0
                    }
                });
                LengthSeries {
                    name,
                    counted: lengths.len(),
                    unreported: ts.len() - lengths.len(),
                    counts,
                    mean: mean_of(lengths.iter().map(|l| *l as f64).collect()),
                    median,
                }
            })
            .collect();
        LengthHistogram { bin_width, bins, series }
    }
}

/// The smallest width of 1, 2 or 5 × 10^e with `max / width < max_bins`, i.e. `max` lands within `max_bins` bins.
fn nice_width(max: u64, max_bins: usize) -> u64 {
    let bins = max_bins as u64;
    let mut scale = 1u64;
    loop {
        for step in [1, 2, 5] {
            let Some(width) = scale.checked_mul(step) else { return u64::MAX };
            if max / width < bins {
                return width;
            }
        }
        scale = match scale.checked_mul(10) {
            Some(s) => s,
            None => return u64::MAX,
        };
    }
}

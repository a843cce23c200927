//! `cir-eval report`: metrics of trajectory files, per field, runs side by side, and their plots.

use std::path::PathBuf;

use cir_eval::report::{self, Format, Request, RunSpec};
use cir_rollout::Grader;

/// Command-line arguments of `cir-eval report`.
#[derive(Clone, Debug, clap::Args)]
pub struct ReportArgs {
    /// Trajectory files, pooled into one run (each trajectory keeps its dataset name).
    #[arg(required_unless_present = "runs", conflicts_with = "runs")]
    pub trajectories: Vec<PathBuf>,
    /// Compare runs side by side: `NAME=FILE`, once per run (the first is the baseline of every delta); repeat a name
    /// to pool several files into that run.
    #[arg(long = "run", value_name = "NAME=FILE")]
    pub runs: Vec<RunSpec>,
    /// Also split by this field of the dataset line (`subject`, `level`, … as the trajectories' `meta` has them, or
    /// `dataset`); repeat for one set of tables per field.
    #[arg(long = "by", value_name = "FIELD")]
    pub by: Vec<String>,
    /// The k of the pass@k and maj@k rows; repeat [default: with --run, 1 and the runs' smallest n; else 1, 2, 4, …
    /// and n].
    #[arg(long = "k", value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub k: Vec<u32>,
    /// Output format: md (Markdown tables) or json.
    #[arg(long, default_value = "md")]
    pub format: Format,
    /// Also write the pass@k curves (k = 1 … n, log axis) to this SVG file: one per run with --run, else one per
    /// dataset and overall.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Also write response-length histograms (completion tokens, shared bins) to this SVG file: one per run with
    /// --run, else one per dataset.
    #[arg(long, value_name = "SVG")]
    pub lengths: Option<PathBuf>,
}

impl ReportArgs {
    fn request(&self) -> Request {
        Request {
            trajectories: self.trajectories.clone(),
            runs: self.runs.clone(),
            by: self.by.clone(),
            k: self.k.clone(),
            format: self.format,
            plot: self.plot.clone(),
            lengths: self.lengths.clone(),
        }
    }
}

/// Runs `cir-eval report` and prints the report.
pub fn run(args: &ReportArgs, grader: &dyn Grader) -> anyhow::Result<()> {
    print!("{}", report::run(&args.request(), grader)?);
    Ok(())
}

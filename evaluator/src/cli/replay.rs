//! `cir-eval replay` flags.

use std::path::PathBuf;

use cir_eval::replay::ReplaySummary;

/// Command-line arguments of `cir-eval replay`.
#[derive(Clone, Debug, clap::Args)]
pub struct ReplayArgs {
    /// Trajectory file whose code blocks to run again.
    pub trajectories: PathBuf,
    /// The deadline per block the run used, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub exec_timeout: f64,
    /// The run fed back only what the code printed (`cir-eval run --no-echo`).
    #[arg(long)]
    pub no_echo: bool,
    /// Worker threads [default: the core count].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
}

/// Replays the file; returns what differs.
pub fn run(args: &ReplayArgs, report: &dyn Fn(&str)) -> anyhow::Result<ReplaySummary> {
    anyhow::ensure!(
        args.exec_timeout.is_finite() && args.exec_timeout > 0.0,
        "--exec-timeout must be a positive number of seconds"
    );
    let trajectories = cir_eval::trajectories::read(&args.trajectories)?;
    let sandbox = super::sandbox(args.exec_timeout, !args.no_echo, args.wheel.clone(), report)?;
    let workers = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    Ok(cir_eval::replay::replay(&trajectories, &sandbox, workers))
}

//! `cir-eval score`: re-grade a trajectory file with the current verifier.

use cir_eval::{report, score};
use cir_rollout::Grader;

/// Command-line arguments of `cir-eval score`.
#[derive(Clone, Debug, clap::Args)]
pub struct ScoreArgs {
    /// Trajectory file to re-grade.
    pub trajectories: std::path::PathBuf,
    /// Where to write the re-graded file [default: replace the input].
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// Runs `cir-eval score` and prints the metrics after it.
pub fn run(args: &ScoreArgs, grader: &dyn Grader) -> anyhow::Result<()> {
    let (summary, ts) = score::score(&args.trajectories, args.out.as_deref(), grader)?;
    eprintln!(
        "re-graded {} trajectories ({} verdicts flipped, {} failed samples left ungraded)",
        summary.graded, summary.flipped, summary.failed
    );
    print!("{}", report::render(&report::metrics(&ts, grader), report::Format::Md));
    Ok(())
}

//! The `cir-eval` command: parses arguments and dispatches to one library function per subcommand.

use anyhow::Context;
use cir_eval::{Grader, PlaceholderGrader, report, score};
use clap::{Parser, Subcommand};

/// Code-integrated reasoning: run model-written Python in a deterministic sandbox, grade answers, evaluate models.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-grade trajectories with the current grader.
    Score(score::ScoreArgs),
    /// Metrics of trajectory files: avg@n, pass@k, maj@k, greedy accuracy, tool statistics.
    Report(report::ReportArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let grader = PlaceholderGrader;
    match cli.cmd {
        Command::Score(args) => cmd_score(&args, &grader),
        Command::Report(args) => cmd_report(&args, &grader),
    }
}

fn cmd_score(args: &score::ScoreArgs, grader: &dyn Grader) -> anyhow::Result<()> {
    let (summary, ts) = score::score(&args.trajectories, args.out.as_deref(), grader)?;
    eprintln!(
        "re-graded {} trajectories ({} verdicts flipped, {} failed samples left ungraded)",
        summary.graded, summary.flipped, summary.failed
    );
    print!("{}", report::render(&report::metrics(&ts, grader), report::Format::Md));
    Ok(())
}

fn cmd_report(args: &report::ReportArgs, grader: &dyn Grader) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for path in &args.trajectories {
        all.extend(cir_eval::trajectories::read(path)?);
    }
    let metrics = report::metrics(&all, grader);
    print!("{}", report::render(&metrics, args.format));
    if let Some(plot) = &args.plot {
        std::fs::write(plot, report::svg(&metrics)).with_context(|| format!("writing {}", plot.display()))?;
    }
    Ok(())
}

//! The `cir-eval` command: parses arguments and dispatches to one library function per subcommand.

use std::process::ExitCode;

use cir_eval::report;
use cir_rollout::{Grader, Verifier};
use clap::{Parser, Subcommand};

mod cli;

/// Code-integrated reasoning: run model-written Python in a deterministic sandbox, grade answers, evaluate models.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a model on datasets: generate (a server, or the model in-process with --local), run every code block
    /// in the sandbox, grade, append trajectories.
    Run(Box<cli::run::RunArgs>),
    /// Run every code block of a trajectory file again (recorded seed and mode); exit 1 if any output differs.
    Replay(cli::replay::ReplayArgs),
    /// Re-grade trajectories with the current grader.
    Score(cli::score::ScoreArgs),
    /// Metrics of trajectory files: avg@n, pass@k, maj@k, greedy accuracy, tool and error-feedback statistics, per
    /// dataset and per field (--by); several runs side by side (--run); pass@k and response-length plots.
    Report(cli::report::ReportArgs),
    /// Is a predicted answer equivalent to the gold answer? Exit 0 equivalent, 1 not, 2 usage error.
    Grade(cli::grade::GradeArgs),
    /// Run Python in the sandbox: -c CODE, FILE, - (stdin), or --batch IN.jsonl.
    Exec(cli::exec::Args),
    /// Fetch, verify, snapshot and compile the interpreter ahead of time (idempotent).
    Setup(cli::setup::Args),
    /// Serve the browser trajectory viewer on 127.0.0.1 with a trajectory file preloaded; prints the URL.
    View(cli::view::ViewArgs),
    /// Serve the sandbox and the verifier over HTTP: SandboxFusion's /run_code, /v1/exec, /v1/verify, /metrics.
    Serve(cli::serve::ServeArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let grader = Verifier::default();
    match cli.cmd {
        Command::Run(args) => cmd_run(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Replay(args) => cmd_replay(&args),
        Command::Score(args) => cli::score::run(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => cli::report::run(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Grade(args) => cli::grade::run(args),
        Command::Exec(args) => cli::exec::run(&args).map(exit_code),
        Command::Setup(args) => cli::setup::run(&args).map(|()| ExitCode::SUCCESS),
        Command::View(args) => cli::view::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => {
            let shutdown = cir_eval::serve::run(&args.options(), &|msg| eprintln!("cir-eval serve: {msg}"))?;
            Ok(if shutdown.drained { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

fn cmd_run(args: &cli::run::RunArgs, grader: &dyn Grader) -> anyhow::Result<()> {
    let s = cli::run::run(args, grader, &|msg| eprintln!("cir-eval: {msg}"))?;
    eprintln!(
        "{} samples generated, {} already done in {}, {} failed{}",
        s.generated,
        s.resumed,
        args.out.display(),
        s.errors,
        s.first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    print!("{}", report::render(&report::metrics(&s.trajectories, grader), report::Format::Md));
    Ok(())
}

fn cmd_replay(args: &cli::replay::ReplayArgs) -> anyhow::Result<ExitCode> {
    let s = cli::replay::run(args, &|msg| eprintln!("cir-eval: {msg}"))?;
    for d in &s.differences {
        println!(
            "{} / {} #{} block {}: {} differs\n  recorded: {:?}\n  replayed: {:?}",
            d.dataset, d.problem_id, d.sample, d.block, d.field, d.recorded, d.replayed
        );
    }
    eprintln!("replayed {} code blocks of {} trajectories: {} differ", s.blocks, s.trajectories, s.differences.len());
    Ok(if s.differences.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `exec`'s documented exit statuses (0 ok, 1 Python error, 124 timeout, 125 another limit) as a process exit code.
fn exit_code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(125))
}

//! The `cir-eval` command: parses arguments and dispatches to one library function per subcommand.

use std::process::ExitCode;

use anyhow::Context;
use cir_eval::{report, score};
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
    Score(score::ScoreArgs),
    /// Metrics of trajectory files: avg@n, pass@k, maj@k, greedy accuracy, tool and error-feedback statistics, per
    /// dataset and per field (--by); several runs side by side (--run); pass@k and response-length plots.
    Report(report::ReportArgs),
    /// Is a predicted answer equivalent to the gold answer? Exit 0 equivalent, 1 not, 2 usage error.
    Grade(GradeArgs),
    /// Run Python in the sandbox: -c CODE, FILE, - (stdin), or --batch IN.jsonl.
    Exec(cir_eval::exec::Args),
    /// Fetch, verify, snapshot and compile the interpreter ahead of time (idempotent).
    Setup(cir_eval::setup::Args),
    /// Serve the browser trajectory viewer on 127.0.0.1 with a trajectory file preloaded; prints the URL.
    View(cir_eval::view::ViewArgs),
    /// Serve the sandbox and the verifier over HTTP: SandboxFusion's /run_code, /v1/exec, /v1/verify, /metrics.
    Serve(cir_eval::serve::Args),
}

/// `grade --pred P --gold G [--json]`, or `grade --cases IN.jsonl [--out OUT.jsonl]`.
#[derive(clap::Args)]
struct GradeArgs {
    /// The prediction: a bare answer or a whole response.
    #[arg(long, requires = "gold", conflicts_with = "cases")]
    pred: Option<String>,
    /// The gold answer: bare or a worked solution (its last `\boxed` is the answer).
    #[arg(long, requires = "pred")]
    gold: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Grade a JSONL file of `{"pred", "gold", "expected"?}` lines; summary on stderr.
    #[arg(long, required_unless_present = "pred")]
    cases: Option<std::path::PathBuf>,
    /// With `--cases`: write each line with `verdict`, `reason` and `micros` added.
    #[arg(long, requires = "cases")]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    conventions: cir_eval::grade::Conventions,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let grader = Verifier::default();
    match cli.cmd {
        Command::Run(args) => cmd_run(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Replay(args) => cmd_replay(&args),
        Command::Score(args) => cmd_score(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => cmd_report(&args, &grader).map(|()| ExitCode::SUCCESS),
        Command::Grade(args) => cmd_grade(args),
        Command::Exec(args) => cir_eval::exec::run(&args).map(exit_code),
        Command::Setup(args) => cir_eval::setup::run(&args).map(|()| ExitCode::SUCCESS),
        Command::View(args) => cmd_view(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => {
            let shutdown = cir_eval::serve::run(&args, &|msg| eprintln!("cir-eval serve: {msg}"))?;
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
    print!("{}", report::run(args, grader)?);
    Ok(())
}

fn cmd_view(args: &cir_eval::view::ViewArgs) -> anyhow::Result<()> {
    use cir_eval::view::{Site, assets};
    anyhow::ensure!(
        !assets().is_empty(),
        "this cir-eval was built without the viewer: run web/test.sh (or `npm ci && npm run build` in web/app), then \
         rebuild cir-eval"
    );
    let data = std::fs::read(&args.trajectories).with_context(|| format!("reading {}", args.trajectories.display()))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))
        .with_context(|| format!("binding 127.0.0.1:{} (pass --port 0 for a free port)", args.port))?;
    let port = listener.local_addr()?.port();
    println!("{}", Site::url(port));
    eprintln!("serving {} on 127.0.0.1:{port}; Ctrl-C to stop", args.trajectories.display());
    Site::new(assets(), data).serve(listener)?;
    Ok(())
}

fn cmd_grade(a: GradeArgs) -> anyhow::Result<ExitCode> {
    let opts = a.conventions.options();
    if let Some(cases) = a.cases {
        let s = cir_eval::grade::run_cases(&cases, a.out.as_deref(), &opts)?;
        for (line, why) in &s.malformed {
            eprintln!("{}:{line}: skipped: {why}", cases.display());
        }
        eprintln!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    let (pred, gold) = (a.pred.unwrap_or_default(), a.gold.unwrap_or_default());
    let (v, json) = cir_eval::grade::pair_json(&pred, &gold, &opts);
    if a.json {
        println!("{json}");
    } else {
        println!("{}", v.reason);
    }
    Ok(ExitCode::from(if v.equivalent { 0 } else { 1 }))
}

/// `exec`'s documented exit statuses (0 ok, 1 Python error, 124 timeout, 125 another limit) as a process exit code.
fn exit_code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(125))
}

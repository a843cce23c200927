//! The `cir-eval` command: parses arguments and dispatches to one library function per subcommand.

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
    /// Is a predicted answer equivalent to the gold answer? Exit 0 equivalent, 1 not, 2 usage error.
    Grade(GradeArgs),
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

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match cli.cmd {
        Command::Grade(a) => grade(a),
    }
}

fn grade(a: GradeArgs) -> anyhow::Result<std::process::ExitCode> {
    let opts = a.conventions.options();
    if let Some(cases) = a.cases {
        let s = cir_eval::grade::run_cases(&cases, a.out.as_deref(), &opts)?;
        for (line, why) in &s.malformed {
            eprintln!("{}:{line}: skipped: {why}", cases.display());
        }
        eprintln!("{s}");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let (pred, gold) = (a.pred.unwrap_or_default(), a.gold.unwrap_or_default());
    let (v, json) = cir_eval::grade::pair_json(&pred, &gold, &opts);
    if a.json {
        println!("{json}");
    } else {
        println!("{}", v.reason);
    }
    Ok(std::process::ExitCode::from(if v.equivalent { 0 } else { 1 }))
}

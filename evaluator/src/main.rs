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
    /// Run Python in the sandbox: -c CODE, FILE, - (stdin), or --batch IN.jsonl.
    Exec(cir_eval::exec::Args),
    /// Fetch, verify, snapshot and compile the interpreter ahead of time (idempotent).
    Setup(cir_eval::setup::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Command::Exec(args) => std::process::exit(cir_eval::exec::run(&args)?),
        Command::Setup(args) => cir_eval::setup::run(&args),
    }
}

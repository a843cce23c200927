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
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {}
}

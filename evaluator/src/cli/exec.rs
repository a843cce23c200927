//! `cir-eval exec`: run Python in the sandbox, one program or a JSONL batch.
//!
//! Exit status for one program: 0 ok, 1 a Python error (or non-zero `sys.exit`), 124 timeout, 125 another limit or a
//! crash. A batch exits 0 once every line has a record, whatever the records say.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use cir_runtime::{Execution, Limits, Pool, Sandbox, Status};
use serde::{Deserialize, Serialize};

/// Arguments of `cir-eval exec`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program's text.
    #[arg(short = 'c', value_name = "CODE", conflicts_with_all = ["file", "batch"])]
    pub code: Option<String>,
    /// A file holding the program, or `-` for standard input.
    #[arg(value_name = "FILE", conflicts_with = "batch")]
    pub file: Option<PathBuf>,
    /// Wall-clock deadline per execution, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub timeout: f64,
    /// Linear-memory cap per execution, in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub memory: u64,
    /// Seed of the guest's randomness (`random`, `numpy.random`, `os.urandom`); batch lines may give their own.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object (status, stdout, stderr, error, duration_ms, truncated) instead of the guest's output.
    #[arg(long)]
    pub json: bool,
    /// Do not print the value of a final bare expression (the reference executor's behaviour).
    #[arg(long)]
    pub no_echo: bool,
    /// Run every line `{"id": ..., "code": ..., "seed"?: N}` of this JSONL file; write one record per line, in order.
    #[arg(long, value_name = "IN.jsonl")]
    pub batch: Option<PathBuf>,
    /// Where batch records go (default: standard output).
    #[arg(long, value_name = "OUT.jsonl", requires = "batch")]
    pub out: Option<PathBuf>,
    /// Worker threads for a batch (default: the core count).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
}

/// One batch input line.
#[derive(Deserialize)]
struct BatchIn {
    #[serde(default)]
    id: serde_json::Value,
    code: String,
    seed: Option<u64>,
}

/// One batch output line: the `--json` object plus the input's id.
#[derive(Serialize)]
struct BatchOut {
    id: serde_json::Value,
    #[serde(flatten)]
    execution: Execution,
}

/// The exit status `cir-eval exec` gives for `status`.
pub fn exit_code(status: Status) -> i32 {
    match status {
        Status::Ok => 0,
        Status::Error => 1,
        Status::Timeout => 124,
        _ => 125,
    }
}

/// Runs `cir-eval exec`; returns the process exit status.
///
/// # Errors
///
/// Unreadable input, refused code (empty, NUL bytes, too long), an interpreter that cannot be prepared.
pub fn run(args: &Args) -> anyhow::Result<i32> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds");
    }
    let limits = Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        memory_bytes: args.memory.saturating_mul(1 << 20),
        ..Limits::default()
    };
    let options = cir_python_wasm::Options { wheel: args.wheel.clone(), ..Default::default() };
    let sandbox = Sandbox::builder()
        .limits(limits)
        .echo_last_expression(!args.no_echo)
        .interpreter(options)
        .build_with_progress(&|msg| eprintln!("cir-eval: {msg}"))
        .context("loading the sandbox")?;
    if let Some(batch) = &args.batch {
        return run_batch(&sandbox, args, batch);
    }
    let code = read_code(args)?;
    let execution = sandbox.exec(&code, args.seed)?;
    if args.json {
        println!("{}", serde_json::to_string(&execution)?);
    } else {
        print!("{}", execution.stdout);
        eprint!("{}", execution.stderr);
        if execution.status != Status::Ok && execution.status != Status::Error {
            eprintln!("cir-eval: {}", execution.error.as_deref().unwrap_or(execution.status.as_str()));
        }
    }
    std::io::stdout().flush()?;
    Ok(exit_code(execution.status))
}

fn read_code(args: &Args) -> anyhow::Result<String> {
    let bytes = match (&args.code, &args.file) {
        (Some(code), _) => return Ok(code.clone()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
            buf
        }
        (None, Some(path)) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        (None, None) => bail!("give the program: -c CODE, a FILE, - for standard input, or --batch IN.jsonl"),
    };
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("the program is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

/// A record for an input line that could not run.
fn refused(id: serde_json::Value, error: String) -> BatchOut {
    let mut execution = Execution::new(Status::Error);
    execution.error = Some(error);
    BatchOut { id, execution }
}

fn run_batch(sandbox: &Sandbox, args: &Args, path: &PathBuf) -> anyhow::Result<i32> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l)).collect();
    let jobs = args.jobs.unwrap_or_else(Pool::default_workers).max(1);
    let pool = Pool::new(sandbox, jobs, jobs * 2);
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let bar = indicatif::ProgressBar::new(lines.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    enum Pending {
        Running(serde_json::Value, cir_runtime::Ticket),
        Done(BatchOut),
    }
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Pending>(jobs * 4);
        let pool = &pool;
        let default_seed = args.seed;
        scope.spawn(move || {
            for (number, line) in lines {
                let pending = match serde_json::from_str::<BatchIn>(line) {
                    Err(e) => Pending::Done(refused(serde_json::Value::Null, format!("input line {number}: {e}"))),
                    Ok(input) => match pool.submit(input.code, input.seed.unwrap_or(default_seed)) {
                        Ok(ticket) => Pending::Running(input.id, ticket),
                        Err(e) => Pending::Done(refused(input.id, e.to_string())),
                    },
                };
                if tx.send(pending).is_err() {
                    break;
                }
            }
        });
        for pending in rx {
            let record = match pending {
                Pending::Done(record) => record,
                Pending::Running(id, ticket) => match ticket.wait() {
                    Ok(execution) => BatchOut { id, execution },
                    Err(e) => refused(id, e.to_string()),
                },
            };
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
            bar.inc(1);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    out.flush()?;
    Ok(0)
}

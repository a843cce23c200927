//! `cir-eval serve`: the sandbox and the verifier over HTTP, for agents and trainers written in other languages.
//!
//! Endpoints (JSON unless said otherwise):
//!
//! - `POST /run_code`: SandboxFusion's API (request and response as its PyPI client `sandbox-fusion` 0.3.7 models
//!   them), so a verl config or any SandboxFusion client only changes its URL. `language` must be `python`;
//!   `files` (base64 contents) are placed in the guest's `/tmp`, the folder the code starts in, and `fetch_files`
//!   come back base64-encoded in `files`, as SandboxFusion does, within the sandbox's `/tmp` quotas; `stdin` is the
//!   guest's standard input. Python runs as a script (no echo of a final expression). Errors come in SandboxFusion's
//!   format (`status: SandboxError`, `message`).
//! - `POST /v1/exec`: `{code, seed?, limits?: {timeout_s, memory_mib, output_bytes, fuel}, echo?, stateful?,
//!   session?}` → `{execution, feedback, session?, session_open?}`: cir's execution record and the exact CIR
//!   feedback text. `stateful: true` opens a session (one interpreter kept across calls) and returns its id;
//!   `session: ID` runs in it. Sessions close after an idle time, on `DELETE /v1/sessions/ID`, or when an execution
//!   stops the interpreter (a deadline, output limit, fuel or crash); at most `--max-sessions` are open.
//! - `POST /v1/verify`: `{pred, gold, options?}` → `{equivalent, reason, pred_answer, gold_answer, micros}`, or
//!   `{items: [{pred, gold, options?}], options?}` → `{results: [...]}`.
//! - `GET /healthz` (no token needed, 503 while draining), `GET /metrics` (Prometheus text).
//!
//! Executions run on `--jobs` worker threads behind a queue of `--queue` places; when it is full the request is
//! answered at once with 503 and `Retry-After: 1` instead of waiting in memory. Bodies over `--max-body` get 413.
//! With `CIR_TOKEN` set every endpoint but `/healthz` needs `Authorization: Bearer TOKEN` (401 otherwise). On
//! SIGTERM or SIGINT the server stops taking requests (new ones get 503), finishes the ones in flight for up to
//! `--grace` seconds, then exits (status 0 when all finished, 1 otherwise; a second signal exits at once).
//!
//! Requests with limits other than the server's defaults run in a sandbox built for those limits on first use
//! (seconds: the compiled module is loaded again) and kept for later requests; at most `--limit-sets` are kept.
//!
//! The modules follow a request: `server` accepts it, `routes` names its endpoint, `reply` checks the token and
//! reads the body, `handlers` answers it, `limits` turns its limits into the key of the sandbox `engine` keeps
//! for them, and the execution runs on a [`cir_runtime::Queue`].

mod api;
mod engine;
mod handlers;
mod limits;
mod metrics;
mod reply;
mod routes;
mod server;

pub use server::{Server, Shutdown};

use std::path::PathBuf;
use std::sync::Arc;

use crate::Error;

/// How `cir-eval serve` runs; `Default` gives the command's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to bind. Default loopback: put a proxy in front (or set `CIR_TOKEN`) before exposing it.
    pub host: String,
    /// Port to bind; 0 picks a free one (the address is reported on stderr).
    pub port: u16,
    /// Execution worker threads (default: the core count).
    pub jobs: Option<usize>,
    /// Executions that may wait for a worker; beyond that requests get 503 with `Retry-After`.
    pub queue: usize,
    /// Default wall-clock deadline per execution, in seconds.
    pub timeout: f64,
    /// Largest deadline a request may ask for, in seconds (`/run_code` clamps to it, `/v1/exec` refuses more).
    pub max_timeout: f64,
    /// Default linear-memory cap per execution, in MiB.
    pub memory: u64,
    /// Largest memory cap a request may ask for, in MiB (4096 is wasm32's own limit).
    pub max_memory: u64,
    /// Default cap on stdout + stderr per execution, in bytes.
    pub output: usize,
    /// Largest request body, in bytes; larger gets 413.
    pub max_body: usize,
    /// Most stateful sessions open at once (each keeps an interpreter: a few MiB to hundreds).
    pub max_sessions: usize,
    /// Seconds a session may stay unused before it is closed.
    pub session_idle: f64,
    /// Most distinct limit sets kept loaded at once (each ~350 MiB: the compiled module and its memory image).
    pub limit_sets: usize,
    /// Seconds to finish in-flight requests after SIGTERM/SIGINT before exiting anyway.
    pub grace: f64,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    pub wheel: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 8080,
            jobs: None,
            queue: 64,
            timeout: 5.0,
            max_timeout: 60.0,
            memory: 512,
            max_memory: 4096,
            output: 1 << 20,
            max_body: 8 << 20,
            max_sessions: 32,
            session_idle: 300.0,
            limit_sets: 4,
            grace: 30.0,
            wheel: None,
        }
    }
}

/// `cir-eval serve`: reads `CIR_TOKEN`, loads the sandbox, binds, reports `listening on http://ADDR` through
/// `report`, and serves until SIGTERM or SIGINT.
///
/// # Errors
///
/// As [`Server::bind`] and [`Server::run`], and a signal handler that cannot be installed.
pub fn run(args: &Options, report: &dyn Fn(&str)) -> Result<Shutdown, Error> {
    let token = std::env::var("CIR_TOKEN").ok();
    let server = Server::bind(args, token.clone(), report)?;
    let stop = server.stop_flag();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let failed = |source| Error::Serve { what: format!("installing the handler of signal {signal}"), source };
        // A second signal while draining exits at once (status 1); the first one starts the graceful shutdown.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop)).map_err(failed)?;
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(failed)?;
    }
    let addr = server.local_addr();
    if !addr.ip().is_loopback() && token.as_deref().is_none_or(str::is_empty) {
        report(&format!("warning: serving on {addr} without CIR_TOKEN: anyone who can reach it can run code"));
    }
    report(&format!("listening on http://{addr}"));
    let shutdown = server.run()?;
    report(if shutdown.drained {
        "stopped: every in-flight request finished"
    } else {
        "stopped: the grace period ended with requests still running"
    });
    Ok(shutdown)
}

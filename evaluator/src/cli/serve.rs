//! `cir-eval serve` flags; every default is [`cir_eval::serve::Options`]'s.

use std::path::PathBuf;

use cir_eval::serve::Options;

/// Arguments of `cir-eval serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to bind. Default loopback: put a proxy in front (or set `CIR_TOKEN`) before exposing it.
    #[arg(long, default_value_t = Options::default().host)]
    pub host: String,
    /// Port to bind; 0 picks a free one (the address is reported on stderr).
    #[arg(long, default_value_t = Options::default().port)]
    pub port: u16,
    /// Execution worker threads (default: the core count).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Executions that may wait for a worker; beyond that requests get 503 with `Retry-After`.
    #[arg(long, default_value_t = Options::default().queue, value_name = "N")]
    pub queue: usize,
    /// Default wall-clock deadline per execution, in seconds.
    #[arg(long, default_value_t = Options::default().timeout, value_name = "SECS")]
    pub timeout: f64,
    /// Largest deadline a request may ask for, in seconds (`/run_code` clamps to it, `/v1/exec` refuses more).
    #[arg(long, default_value_t = Options::default().max_timeout, value_name = "SECS")]
    pub max_timeout: f64,
    /// Default linear-memory cap per execution, in MiB.
    #[arg(long, default_value_t = Options::default().memory, value_name = "MIB")]
    pub memory: u64,
    /// Largest memory cap a request may ask for, in MiB (4096 is wasm32's own limit).
    #[arg(long, default_value_t = Options::default().max_memory, value_name = "MIB")]
    pub max_memory: u64,
    /// Default cap on stdout + stderr per execution, in bytes.
    #[arg(long, default_value_t = Options::default().output, value_name = "BYTES")]
    pub output: usize,
    /// Largest request body, in bytes; larger gets 413.
    #[arg(long, default_value_t = Options::default().max_body, value_name = "BYTES")]
    pub max_body: usize,
    /// Most stateful sessions open at once (each keeps an interpreter: a few MiB to hundreds).
    #[arg(long, default_value_t = Options::default().max_sessions, value_name = "N")]
    pub max_sessions: usize,
    /// Seconds a session may stay unused before it is closed.
    #[arg(long, default_value_t = Options::default().session_idle, value_name = "SECS")]
    pub session_idle: f64,
    /// Most distinct limit sets kept loaded at once (each ~350 MiB: the compiled module and its memory image).
    #[arg(long, default_value_t = Options::default().limit_sets, value_name = "N")]
    pub limit_sets: usize,
    /// Seconds to finish in-flight requests after SIGTERM/SIGINT before exiting anyway.
    #[arg(long, default_value_t = Options::default().grace, value_name = "SECS")]
    pub grace: f64,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
}

impl ServeArgs {
    /// The checked options.
    pub fn options(&self) -> Options {
        Options {
            host: self.host.clone(),
            port: self.port,
            jobs: self.jobs,
            queue: self.queue,
            timeout: self.timeout,
            max_timeout: self.max_timeout,
            memory: self.memory,
            max_memory: self.max_memory,
            output: self.output,
            max_body: self.max_body,
            max_sessions: self.max_sessions,
            session_idle: self.session_idle,
            limit_sets: self.limit_sets,
            grace: self.grace,
            wheel: self.wheel.clone(),
        }
    }
}

//! `cir-eval serve`: the sandbox and the verifier over HTTP, for agents and trainers written in other languages.
//!
//! Endpoints (JSON unless said otherwise):
//!
//! - `POST /run_code`: SandboxFusion's API (request and response as its PyPI client `sandbox-fusion` 0.3.7 models
//!   them), so a verl config or any SandboxFusion client only changes its URL. `language` must be `python`;
//!   `files`/`fetch_files` must be empty; `stdin` is the guest's standard input. Python runs as a script (no echo of a final
//!   expression). Errors come in SandboxFusion's format (`status: SandboxError`, `message`).
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

mod api;
mod engine;
mod metrics;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cir_record::{Execution, Status};
use serde::Serialize;
use serde_json::{Value, json};
use tiny_http::{Header, Method, Request, Response};

use crate::Error;
use api::{ExecRequest, ExecResponse, RunCodeRequest, RunCodeResponse, VerifyBatch, VerifyPair};
use engine::{Executor, Key, Refused, Sessions, Slot};
use metrics::{Gauges, Metrics};

/// Largest output cap a request may ask for: 64 MiB, so one reply stays a bounded allocation.
const MAX_OUTPUT_BYTES: usize = 64 << 20;

/// Arguments of `cir-eval serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Address to bind. Default loopback: put a proxy in front (or set `CIR_TOKEN`) before exposing it.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind; 0 picks a free one (the address is reported on stderr).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Execution worker threads (default: the core count).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Executions that may wait for a worker; beyond that requests get 503 with `Retry-After`.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub queue: usize,
    /// Default wall-clock deadline per execution, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub timeout: f64,
    /// Largest deadline a request may ask for, in seconds (`/run_code` clamps to it, `/v1/exec` refuses more).
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub max_timeout: f64,
    /// Default linear-memory cap per execution, in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub memory: u64,
    /// Largest memory cap a request may ask for, in MiB (4096 is wasm32's own limit).
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub max_memory: u64,
    /// Default cap on stdout + stderr per execution, in bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub output: usize,
    /// Largest request body, in bytes; larger gets 413.
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
    pub max_body: usize,
    /// Most stateful sessions open at once (each keeps an interpreter: a few MiB to hundreds).
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_sessions: usize,
    /// Seconds a session may stay unused before it is closed.
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    pub session_idle: f64,
    /// Most distinct limit sets kept loaded at once (each ~350 MiB: the compiled module and its memory image).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub limit_sets: usize,
    /// Seconds to finish in-flight requests after SIGTERM/SIGINT before exiting anyway.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub grace: f64,
    /// A local copy of the interpreter wheel (file or folder), for offline machines; also `CIR_WHEEL`.
    #[arg(long, value_name = "PATH")]
    pub wheel: Option<PathBuf>,
}

/// Server-wide limits and defaults, checked once.
struct Defaults {
    timeout: Duration,
    max_timeout: Duration,
    memory_mib: u64,
    max_memory_mib: u64,
    output_bytes: usize,
    max_body: usize,
}

/// Everything the request handlers share.
struct State {
    exec: Executor,
    sandboxes: engine::Sandboxes,
    sessions: Sessions,
    metrics: Metrics,
    token: Option<String>,
    defaults: Defaults,
    draining: AtomicBool,
}

/// A bound server with its sandbox loaded; [`run`](Server::run) serves until [`stop_flag`](Server::stop_flag) is
/// set.
pub struct Server {
    http: Arc<tiny_http::Server>,
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    handlers: usize,
    grace: Duration,
}

/// How a server's shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// True when every in-flight request finished within the grace period.
    pub drained: bool,
}

fn positive_secs(value: f64, flag: &str) -> Result<Duration, Error> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Config(format!("{flag} must be a positive number of seconds, not {value}")))
    }
}

impl Server {
    /// Loads the sandbox with the default limits (so the first request is not slow), then binds.
    /// `token`: when set, required as `Authorization: Bearer TOKEN` on every endpoint but `/healthz`.
    ///
    /// # Errors
    ///
    /// Invalid settings, an interpreter that cannot be prepared, an address that cannot be bound.
    pub fn bind(args: &Args, token: Option<String>, report: &dyn Fn(&str)) -> Result<Server, Error> {
        let defaults = Defaults {
            timeout: positive_secs(args.timeout, "--timeout")?,
            max_timeout: positive_secs(args.max_timeout, "--max-timeout")?,
            memory_mib: args.memory,
            max_memory_mib: args.max_memory,
            output_bytes: args.output,
            max_body: args.max_body,
        };
        if defaults.timeout > defaults.max_timeout || defaults.memory_mib > defaults.max_memory_mib {
            return Err(Error::Config("--timeout and --memory must not exceed --max-timeout and --max-memory".into()));
        }
        if args.output == 0 || args.output > MAX_OUTPUT_BYTES {
            return Err(Error::Config(format!("--output must be in [1, {MAX_OUTPUT_BYTES}] bytes")));
        }
        let idle = positive_secs(args.session_idle, "--session-idle")?;
        let grace = Duration::try_from_secs_f64(args.grace)
            .map_err(|_| Error::Config(format!("--grace must be a number of seconds ≥ 0, not {}", args.grace)))?;
        let token = token.filter(|t| !t.is_empty());
        let options = cir_python_wasm::Options { wheel: args.wheel.clone(), ..Default::default() };
        let sandboxes = engine::Sandboxes::new(options, args.limit_sets);
        let key = Key {
            timeout_ms: duration_ms(defaults.timeout),
            memory_bytes: defaults.memory_mib.saturating_mul(1 << 20),
            output_bytes: defaults.output_bytes,
            fuel: None,
            echo: true,
        };
        sandboxes.get(key, report)?;
        let jobs = args.jobs.unwrap_or_else(cir_runtime::Pool::default_workers).max(1);
        let queue = args.queue.max(1);
        let state = State {
            exec: Executor::new(jobs, queue),
            sandboxes,
            sessions: Sessions::new(args.max_sessions, idle),
            metrics: Metrics::default(),
            token,
            defaults,
            draining: AtomicBool::new(false),
        };
        let bind_err = |source| Error::Serve { what: format!("binding {}:{}", args.host, args.port), source };
        let listener = TcpListener::bind((args.host.as_str(), args.port)).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let http = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| Error::Serve { what: format!("serving on {addr}"), source: std::io::Error::other(e) })?;
        Ok(Server {
            http: Arc::new(http),
            addr,
            state: Arc::new(state),
            stop: Arc::new(AtomicBool::new(false)),
            // Every queued or running execution holds a handler thread while it waits; a few more answer the cheap
            // endpoints (and the 503s) while the queue is full.
            handlers: jobs + queue + 8,
            grace,
        })
    }

    /// The bound address (the real port when `--port 0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Setting this flag starts the graceful shutdown (SIGTERM and SIGINT set it in [`run`]).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Serves until the stop flag is set, then drains: new requests get 503, in-flight ones finish for up to the
    /// grace period.
    ///
    /// # Errors
    ///
    /// A handler thread that cannot be started.
    pub fn run(self) -> Result<Shutdown, Error> {
        let mut handlers = Vec::with_capacity(self.handlers);
        for i in 0..self.handlers {
            let (http, state, stop) = (Arc::clone(&self.http), Arc::clone(&self.state), Arc::clone(&self.stop));
            let handle = std::thread::Builder::new()
                .name(format!("cir-serve-http-{i}"))
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match http.recv_timeout(Duration::from_millis(50)) {
                            Ok(Some(request)) => handle(&state, request),
                            Ok(None) => {}
                            Err(_) => break,
                        }
                    }
                })
                .map_err(|source| Error::Serve { what: "starting a handler thread".into(), source });
            match handle {
                Ok(h) => handlers.push(h),
                Err(e) => {
                    self.stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        let mut last_expiry = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            if last_expiry.elapsed() >= Duration::from_secs(1) {
                self.state.sessions.expire();
                last_expiry = Instant::now();
            }
        }
        self.state.draining.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline && handlers.iter().any(|h| !h.is_finished()) {
            if let Ok(Some(request)) = self.http.recv_timeout(Duration::from_millis(20)) {
                let reply = Reply::error(503, "the server is shutting down").header("Connection", "close");
                self.state.metrics.request("draining", 503);
                let _ = request.respond(reply.into_response());
            }
        }
        let handlers_done = handlers.iter().all(|h| h.is_finished());
        let workers_done = self.state.exec.close(deadline);
        for h in handlers.into_iter().filter(|h| h.is_finished()) {
            let _ = h.join();
        }
        Ok(Shutdown { drained: handlers_done && workers_done })
    }
}

/// `cir-eval serve`: reads `CIR_TOKEN`, loads the sandbox, binds, reports `listening on http://ADDR` through
/// `report`, and serves until SIGTERM or SIGINT.
///
/// # Errors
///
/// As [`Server::bind`] and [`Server::run`], and a signal handler that cannot be installed.
pub fn run(args: &Args, report: &dyn Fn(&str)) -> Result<Shutdown, Error> {
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

/// A response before it is written.
struct Reply {
    code: u16,
    content_type: &'static str,
    body: String,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(code: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"serializing: {e}\"}}"));
        Reply { code, content_type: "application/json", body, headers: Vec::new() }
    }

    fn error(code: u16, message: impl std::fmt::Display) -> Reply {
        Reply::json(code, &json!({ "error": message.to_string() }))
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        let mut response = Response::from_string(self.body).with_status_code(self.code);
        let headers = std::iter::once(("Content-Type", self.content_type.to_owned())).chain(self.headers);
        for (name, value) in headers {
            if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(h);
            }
        }
        response
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(state: &State, request: &Request) -> bool {
    let Some(token) = &state.token else { return true };
    request.headers().iter().any(|h| {
        h.field.equiv("Authorization")
            && h.value
                .as_str()
                .strip_prefix("Bearer ")
                .is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes()))
    })
}

/// The body, or 413/400 when it is too large or cannot be read.
fn read_body(request: &mut Request, max: usize) -> Result<Vec<u8>, (u16, String)> {
    let too_large = || (413, format!("the request body is over the {max}-byte limit (--max-body)"));
    if request.body_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| (400, format!("reading the request body: {e}")))?;
    if body.len() > max {
        return Err(too_large());
    }
    Ok(body)
}

fn handle(state: &State, mut request: Request) {
    let started = Instant::now();
    let path = request.url().split('?').next().unwrap_or_default().to_owned();
    let method = request.method().clone();
    let (route, reply) = route(state, &mut request, &method, &path, started);
    state.metrics.request(route, reply.code);
    let _ = request.respond(reply.into_response());
}

fn route(state: &State, request: &mut Request, method: &Method, path: &str, started: Instant) -> (&'static str, Reply) {
    if path == "/healthz" {
        return ("/healthz", healthz(state, method));
    }
    let route = match path {
        "/metrics" => "/metrics",
        "/run_code" => "/run_code",
        "/v1/exec" => "/v1/exec",
        "/v1/verify" => "/v1/verify",
        p if p.starts_with("/v1/sessions/") => "/v1/sessions",
        _ => "other",
    };
    if !authorized(state, request) {
        let reply = Reply::error(401, "missing or wrong bearer token (Authorization: Bearer $CIR_TOKEN)")
            .header("WWW-Authenticate", "Bearer");
        return (route, reply);
    }
    let allowed = match route {
        "/metrics" => "GET",
        "/v1/sessions" => "DELETE",
        "other" => return (route, Reply::error(404, format!("no endpoint {path}"))),
        _ => "POST",
    };
    if method.as_str() != allowed {
        return (route, Reply::error(405, format!("{path} takes {allowed}")).header("Allow", allowed));
    }
    let reply = match route {
        "/metrics" => metrics(state),
        "/v1/sessions" => close_session(state, path.trim_start_matches("/v1/sessions/")),
        _ => {
            let body = match read_body(request, state.defaults.max_body) {
                Ok(body) => body,
                Err((code, message)) if route == "/run_code" => {
                    return (route, Reply::json(code, &RunCodeResponse::sandbox_error(message)));
                }
                Err((code, message)) => return (route, Reply::error(code, message)),
            };
            match route {
                "/run_code" => run_code(state, &body, started),
                "/v1/exec" => exec(state, &body, started),
                _ => verify(state, &body),
            }
        }
    };
    (route, reply)
}

fn healthz(state: &State, method: &Method) -> Reply {
    if *method != Method::Get {
        return Reply::error(405, "/healthz takes GET").header("Allow", "GET");
    }
    if state.draining.load(Ordering::SeqCst) {
        return Reply::json(503, &json!({ "status": "draining" }));
    }
    Reply::json(
        200,
        &json!({
            "status": "ok",
            "workers": state.exec.worker_count,
            "queue_depth": state.exec.depth(),
            "queue_capacity": state.exec.capacity,
            "sessions_open": state.sessions.len(),
        }),
    )
}

fn metrics(state: &State) -> Reply {
    let gauges = Gauges {
        queue_depth: state.exec.depth(),
        queue_capacity: state.exec.capacity,
        workers: state.exec.worker_count,
        in_flight: state.exec.in_flight(),
        sessions_open: state.sessions.len(),
        session_cap: state.sessions.cap,
    };
    Reply {
        code: 200,
        content_type: "text/plain; version=0.0.4; charset=utf-8",
        body: state.metrics.render(&gauges),
        headers: Vec::new(),
    }
}

/// What a worker hands back.
enum Outcome {
    Ran(Result<Execution, cir_runtime::Error>),
    /// Another request is running in the same session.
    Busy,
}

/// Queues `work`, waits for it, and counts the execution. Err is the reply for a refused or lost job.
fn submit_and_wait(
    state: &State,
    started: Instant,
    work: impl FnOnce() -> Outcome + Send + 'static,
) -> Result<Outcome, (u16, &'static str)> {
    let rx = match state.exec.submit(work) {
        Ok(rx) => rx,
        Err(Refused::Overloaded) => {
            state.metrics.overloaded();
            return Err((503, "the server is busy: every worker and queue place is taken; retry after a second"));
        }
        Err(Refused::Closed) => return Err((503, "the server is shutting down")),
    };
    let outcome = rx.recv().map_err(|_| (500, "the execution's worker stopped before answering"))?;
    if let Outcome::Ran(Ok(e)) = &outcome {
        state.metrics.execution(e.status.as_str(), started.elapsed());
    }
    Ok(outcome)
}

fn refusal(code: u16, message: &str, sandbox_fusion: bool) -> Reply {
    let reply = if sandbox_fusion {
        Reply::json(code, &RunCodeResponse::sandbox_error(message))
    } else {
        Reply::error(code, message)
    };
    if code == 503 { reply.header("Retry-After", "1") } else { reply }
}

fn run_code(state: &State, body: &[u8], started: Instant) -> Reply {
    let bad = |message: String| Reply::json(400, &RunCodeResponse::sandbox_error(message));
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the request body is not valid JSON: {e}")),
    };
    let req: RunCodeRequest = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid request: {e}")),
    };
    if !req.other.is_empty() {
        let names: Vec<_> = req.other.keys().map(String::as_str).collect();
        return bad(format!(
            "unsupported field(s) {}: cir's /run_code takes code, language, run_timeout, compile_timeout, \
             memory_limit_MB, stdin, files, fetch_files",
            names.join(", ")
        ));
    }
    if req.language != "python" {
        return bad(format!(
            "language {:?} is not supported: cir runs only \"python\" (CPython 3.15 in WebAssembly)",
            req.language
        ));
    }
    if req.files.values().any(Option::is_some) || !req.fetch_files.is_empty() {
        return bad("files and fetch_files are not supported: the sandbox's /tmp starts empty and is not kept".into());
    }
    if let Some(t) = req.compile_timeout
        && !t.is_finite()
    {
        return bad("compile_timeout must be a number".into());
    }
    let d = &state.defaults;
    let timeout = match req.run_timeout {
        None => d.timeout,
        Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t.min(d.max_timeout.as_secs_f64())),
        Some(t) => return bad(format!("run_timeout must be a positive number of seconds, not {t}")),
    };
    let memory_mib = match req.memory_limit_mb {
        Some(m) if m > 0 => u64::try_from(m).unwrap_or(u64::MAX).min(d.max_memory_mib),
        _ => d.memory_mib,
    };
    let (code, stdin) = (req.code, req.stdin.unwrap_or_default());
    if code.trim().is_empty() {
        // `python empty.py` succeeds without output; the sandbox refuses empty code, so answer here.
        return Reply::json(200, &RunCodeResponse::from_execution(&Execution::new(Status::Ok)));
    }
    let key = Key {
        timeout_ms: duration_ms(timeout),
        memory_bytes: memory_mib.saturating_mul(1 << 20),
        output_bytes: d.output_bytes,
        fuel: None,
        echo: false,
    };
    let sandbox = match state.sandboxes.get(key, &|_| {}) {
        Ok(s) => s,
        Err(e) => return Reply::json(500, &RunCodeResponse::sandbox_error(e.to_string())),
    };
    match submit_and_wait(state, started, move || Outcome::Ran(sandbox.exec_with_stdin(&code, 0, stdin.as_bytes()))) {
        Ok(Outcome::Ran(Ok(e))) => Reply::json(200, &RunCodeResponse::from_execution(&e)),
        // Refused input (NUL byte, too long): Python would fail to compile or read it.
        Ok(Outcome::Ran(Err(
            e @ (cir_runtime::Error::NulByte { .. }
            | cir_runtime::Error::CodeTooLarge { .. }
            | cir_runtime::Error::StdinTooLarge { .. }),
        ))) => {
            let mut failed = Execution::new(Status::Error);
            failed.stderr = format!("{e}\n");
            Reply::json(200, &RunCodeResponse::from_execution(&failed))
        }
        Ok(Outcome::Ran(Err(e))) => Reply::json(500, &RunCodeResponse::sandbox_error(e.to_string())),
        Ok(Outcome::Busy) => Reply::json(500, &RunCodeResponse::sandbox_error("internal: unexpected session state")),
        Err((code, message)) => refusal(code, message, true),
    }
}

fn exec(state: &State, body: &[u8], started: Instant) -> Reply {
    let req: ExecRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return Reply::error(400, format!("the request body is not valid JSON: {e}"));
        }
        Err(e) => return Reply::error(400, format!("invalid request: {e}")),
    };
    if let Some(id) = req.session {
        if req.stateful || req.limits.is_some() || req.seed.is_some() || req.echo.is_some() {
            return Reply::error(
                400,
                "a session's limits, seed and echo are fixed when it opens: send only code and session",
            );
        }
        return exec_in_session(state, id, req.code, started);
    }
    let d = &state.defaults;
    let limits = req.limits.unwrap_or_default();
    let timeout = match limits.timeout_s {
        None => d.timeout,
        Some(t) if t.is_finite() && t > 0.0 && t <= d.max_timeout.as_secs_f64() => Duration::from_secs_f64(t),
        Some(t) => {
            return Reply::error(
                400,
                format!(
                    "limits.timeout_s must be in (0, {}] seconds (--max-timeout), not {t}",
                    d.max_timeout.as_secs_f64()
                ),
            );
        }
    };
    let memory_mib = limits.memory_mib.unwrap_or(d.memory_mib);
    if memory_mib == 0 || memory_mib > d.max_memory_mib {
        return Reply::error(400, format!("limits.memory_mib must be in [1, {}] (--max-memory)", d.max_memory_mib));
    }
    let output_bytes = limits.output_bytes.unwrap_or(d.output_bytes);
    if output_bytes == 0 || output_bytes > MAX_OUTPUT_BYTES {
        return Reply::error(400, format!("limits.output_bytes must be in [1, {MAX_OUTPUT_BYTES}]"));
    }
    let key = Key {
        timeout_ms: duration_ms(timeout),
        memory_bytes: memory_mib.saturating_mul(1 << 20),
        output_bytes,
        fuel: limits.fuel,
        echo: req.echo.unwrap_or(true),
    };
    let sandbox = match state.sandboxes.get(key, &|_| {}) {
        Ok(s) => s,
        Err(e) => return Reply::error(500, e),
    };
    let (seed, code) = (req.seed.unwrap_or(0), req.code);
    if !req.stateful {
        return match submit_and_wait(state, started, move || Outcome::Ran(sandbox.exec(&code, seed))) {
            Ok(outcome) => exec_reply(state, outcome, None),
            Err((code, message)) => refusal(code, message, false),
        };
    }
    let Some((id, slot)) = state.sessions.reserve() else {
        state.metrics.session_refused();
        return Reply::error(
            429,
            format!("{} sessions are open (--max-sessions): close one with DELETE /v1/sessions/ID", state.sessions.cap),
        );
    };
    let job_slot = Arc::clone(&slot);
    let work = move || {
        let mut st = job_slot.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut session = match sandbox.session(seed) {
            Ok(s) => s,
            Err(e) => return Outcome::Ran(Err(e)),
        };
        let result = session.exec(&code);
        st.session = Some(session);
        st.last_used = Instant::now();
        Outcome::Ran(result)
    };
    match submit_and_wait(state, started, work) {
        Ok(outcome) => {
            // A first block that was refused leaves no session behind.
            if matches!(outcome, Outcome::Ran(Err(_))) {
                state.sessions.remove(&id);
            }
            exec_reply(state, outcome, Some(id))
        }
        Err((code, message)) => {
            state.sessions.remove(&id);
            refusal(code, message, false)
        }
    }
}

fn exec_in_session(state: &State, id: String, code: String, started: Instant) -> Reply {
    let Some(slot) = state.sessions.get(&id) else {
        return Reply::error(
            404,
            format!(
                "no open session {id}: it was closed, ended by a limit, or expired after {} s unused",
                state.sessions.idle.as_secs_f64()
            ),
        );
    };
    let work = move || run_in_slot(&slot, &code);
    match submit_and_wait(state, started, work) {
        Ok(outcome) => exec_reply(state, outcome, Some(id)),
        Err((code, message)) => refusal(code, message, false),
    }
}

fn run_in_slot(slot: &Slot, code: &str) -> Outcome {
    let Ok(mut st) = slot.state.try_lock() else { return Outcome::Busy };
    let result = match st.session.as_mut() {
        Some(session) => session.exec(code),
        None => Err(cir_runtime::Error::PoolClosed),
    };
    st.last_used = Instant::now();
    Outcome::Ran(result)
}

/// Statuses after which a session's interpreter is gone ([`cir_runtime::Session`]'s contract).
fn ends_session(status: Status) -> bool {
    matches!(status, Status::Timeout | Status::OutputLimit | Status::FuelExhausted | Status::Crash)
}

fn exec_reply(state: &State, outcome: Outcome, session: Option<String>) -> Reply {
    let close = |id: &Option<String>| {
        if let Some(id) = id {
            state.sessions.remove(id);
        }
    };
    match outcome {
        Outcome::Ran(Ok(execution)) => {
            let open = session.as_ref().map(|_| !ends_session(execution.status));
            if open == Some(false) {
                close(&session);
            }
            let feedback = execution.feedback();
            Reply::json(200, &ExecResponse { execution, feedback, session, session_open: open })
        }
        Outcome::Ran(Err(
            e @ (cir_runtime::Error::EmptyCode
            | cir_runtime::Error::NulByte { .. }
            | cir_runtime::Error::CodeTooLarge { .. }),
        )) => Reply::error(400, e),
        Outcome::Ran(Err(e @ cir_runtime::Error::SessionEnded(_))) => {
            close(&session);
            Reply::error(410, e)
        }
        Outcome::Ran(Err(e)) => {
            close(&session);
            Reply::error(500, e)
        }
        Outcome::Busy => Reply::error(409, "this session is running another request; send one at a time"),
    }
}

fn close_session(state: &State, id: &str) -> Reply {
    if state.sessions.remove(id) {
        Reply::json(200, &json!({ "closed": id }))
    } else {
        Reply::error(404, format!("no open session {id}"))
    }
}

fn verify(state: &State, body: &[u8]) -> Reply {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Reply::error(400, format!("the request body is not valid JSON: {e}")),
    };
    let grade = |pair: VerifyPair, batch_options: Option<&api::VerifyOptions>| {
        let options = pair.options.as_ref().or(batch_options).cloned().unwrap_or_default().resolve()?;
        Ok::<_, String>(crate::grade::pair_json(&pair.pred, &pair.gold, &options).1)
    };
    if value.get("items").is_some() {
        let batch: VerifyBatch = match serde_json::from_value(value) {
            Ok(b) => b,
            Err(e) => return Reply::error(400, format!("invalid batch: {e}")),
        };
        let n = batch.items.len();
        let mut results = Vec::with_capacity(n);
        for (i, pair) in batch.items.into_iter().enumerate() {
            match grade(pair, batch.options.as_ref()) {
                Ok(v) => results.push(v),
                Err(e) => return Reply::error(400, format!("items[{i}]: {e}")),
            }
        }
        state.metrics.verified(n);
        return Reply::json(200, &json!({ "results": results }));
    }
    let pair: VerifyPair = match serde_json::from_value(value) {
        Ok(p) => p,
        Err(e) => return Reply::error(400, format!("invalid request: {e}")),
    };
    match grade(pair, None) {
        Ok(v) => {
            state.metrics.verified(1);
            Reply::json(200, &v)
        }
        Err(e) => Reply::error(400, e),
    }
}

//! What each endpoint does with its request: one function per [`Route`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cir_record::Execution;
use cir_runtime::Error as SandboxError;
use serde_json::{Value, json};
use tiny_http::Request;

use super::api::{self, ExecRequest, ExecResponse, RunCodeRequest, RunCodeResponse, VerifyBatch, VerifyPair};
use super::engine::Slot;
use super::metrics::Gauges;
use super::reply::{Reply, read_body};
use super::routes::Route;
use super::server::State;

/// Answers a request for `route` (authorised, with the route's method).
pub(crate) fn respond(state: &State, request: &mut Request, route: &Route, started: Instant) -> Reply {
    let body = |request: &mut Request| read_body(request, state.defaults.max_body);
    match route {
        Route::Healthz => healthz(state),
        Route::Metrics => metrics(state),
        Route::CloseSession(id) => close_session(state, id),
        Route::RunCode => match body(request) {
            Ok(body) => run_code(state, &body, started),
            Err((code, message)) => Reply::json(code, &RunCodeResponse::sandbox_error(message)),
        },
        Route::Exec => match body(request) {
            Ok(body) => exec(state, &body, started),
            Err((code, message)) => Reply::error(code, message),
        },
        Route::Verify => match body(request) {
            Ok(body) => verify(state, &body),
            Err((code, message)) => Reply::error(code, message),
        },
    }
}

fn healthz(state: &State) -> Reply {
    if state.draining.load(Ordering::SeqCst) {
        return Reply::json(503, &json!({ "status": "draining" }));
    }
    Reply::json(
        200,
        &json!({
            "status": "ok",
            "workers": state.queue.workers(),
            "queue_depth": state.queue.waiting(),
            "queue_capacity": state.queue.capacity(),
            "sessions_open": state.sessions.len(),
        }),
    )
}

fn metrics(state: &State) -> Reply {
    let gauges = Gauges {
        queue_depth: state.queue.waiting(),
        queue_capacity: state.queue.capacity(),
        workers: state.queue.workers(),
        in_flight: state.queue.in_flight(),
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

/// Queues `job` (without waiting for a place: a full queue is refused at once and counted) and waits for its
/// result.
fn submit<T: Send + 'static>(
    state: &State,
    job: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, SandboxError> {
    let ticket = state.queue.try_submit(job).inspect_err(|e| {
        if matches!(e, SandboxError::QueueFull { .. }) {
            state.metrics.overloaded();
        }
    })?;
    ticket.wait()
}

/// Counts a finished execution: its status and the time from admission to result.
fn counted(state: &State, started: Instant, execution: Execution) -> Execution {
    state.metrics.execution(execution.status.as_str(), started.elapsed());
    execution
}

/// The status and message for a job the queue refused or lost; `None` for any other error.
fn refusal(e: &SandboxError) -> Option<(u16, &'static str)> {
    match e {
        SandboxError::QueueFull { .. } => {
            Some((503, "the server is busy: every worker and queue place is taken; retry after a second"))
        }
        SandboxError::PoolClosed => Some((503, "the server is shutting down, or the execution's worker stopped")),
        _ => None,
    }
}

fn refused(code: u16, message: &str, sandbox_fusion: bool) -> Reply {
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
    if let Some(t) = req.compile_timeout
        && !t.is_finite()
    {
        return bad("compile_timeout must be a number".into());
    }
    let key = match state.defaults.run_code_key(req.run_timeout, req.memory_limit_mb) {
        Ok(key) => key,
        Err(message) => return bad(message),
    };
    let input = match req.input() {
        Ok(input) => input,
        Err(message) => return bad(message),
    };
    let sandbox = match state.sandboxes.get(key, &|_| {}) {
        Ok(s) => s,
        Err(e) => return Reply::json(500, &RunCodeResponse::sandbox_error(e.to_string())),
    };
    // `python empty.py` succeeds without output; the sandbox refuses empty code, so an empty script is `pass`
    // (its files are still placed and fetched).
    let code = if req.code.trim().is_empty() { "pass".to_owned() } else { req.code };
    match submit(state, move || sandbox.run(&code, 0, &input)) {
        Ok(mut output) => {
            output.execution = counted(state, started, output.execution);
            Reply::json(200, &RunCodeResponse::from_output(&output))
        }
        // Refused input (NUL byte, too long): Python would fail to compile or read it.
        Err(
            e @ (SandboxError::NulByte { .. } | SandboxError::CodeTooLarge { .. } | SandboxError::StdinTooLarge { .. }),
        ) => {
            let mut failed = Execution::new(cir_record::Status::Error);
            failed.stderr = format!("{e}\n");
            Reply::json(200, &RunCodeResponse::from_execution(&failed))
        }
        Err(e @ SandboxError::File { .. }) => bad(e.to_string()),
        Err(e) => match refusal(&e) {
            Some((code, message)) => refused(code, message, true),
            None => Reply::json(500, &RunCodeResponse::sandbox_error(e.to_string())),
        },
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
    let key = match state.defaults.exec_key(&req.limits.unwrap_or_default(), req.echo) {
        Ok(key) => key,
        Err(message) => return Reply::error(400, message),
    };
    let sandbox = match state.sandboxes.get(key, &|_| {}) {
        Ok(s) => s,
        Err(e) => return Reply::error(500, e),
    };
    let (seed, code) = (req.seed.unwrap_or(0), req.code);
    if !req.stateful {
        let result = submit(state, move || sandbox.exec(&code, seed));
        return exec_reply(state, started, result.map(|e| (e, true)), None);
    }
    let Some((id, slot)) = state.sessions.reserve() else {
        state.metrics.session_refused();
        return Reply::error(
            429,
            format!("{} sessions are open (--max-sessions): close one with DELETE /v1/sessions/ID", state.sessions.cap),
        );
    };
    let job_slot = Arc::clone(&slot);
    let result = submit(state, move || {
        let mut st = job_slot.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut session = sandbox.session(seed)?;
        let result = session.exec(&code).map(|e| (e, session.is_open()));
        st.session = Some(session);
        st.last_used = Instant::now();
        result
    });
    if result.is_err() {
        // A first block that was refused or never ran leaves no session behind.
        state.sessions.remove(&id);
    }
    exec_reply(state, started, result, Some(id))
}

/// What a request to an open session found.
enum SessionRun {
    /// It ran; whether the interpreter is still open after it.
    Ran(Execution, bool),
    /// Another request is running in the session.
    Busy,
    /// The session has no interpreter (its first execution failed).
    Missing,
}

fn exec_in_session(state: &State, id: String, code: String, started: Instant) -> Reply {
    let not_open = |id: &str| {
        Reply::error(
            404,
            format!(
                "no open session {id}: it was closed, ended by a limit, or expired after {} s unused",
                state.sessions.idle.as_secs_f64()
            ),
        )
    };
    let Some(slot) = state.sessions.get(&id) else { return not_open(&id) };
    match submit(state, move || run_in_slot(&slot, &code)) {
        Ok(SessionRun::Ran(execution, open)) => exec_reply(state, started, Ok((execution, open)), Some(id)),
        Ok(SessionRun::Busy) => Reply::error(409, "this session is running another request; send one at a time"),
        Ok(SessionRun::Missing) => not_open(&id),
        Err(e) => exec_reply(state, started, Err(e), Some(id)),
    }
}

fn run_in_slot(slot: &Slot, code: &str) -> Result<SessionRun, SandboxError> {
    let Ok(mut st) = slot.state.try_lock() else { return Ok(SessionRun::Busy) };
    let result = match st.session.as_mut() {
        Some(session) => session.exec(code).map(|e| SessionRun::Ran(e, session.is_open())),
        None => Ok(SessionRun::Missing),
    };
    st.last_used = Instant::now();
    result
}

/// The reply to an execution; with a session, whether its interpreter is still open decides `session_open` (the
/// runtime's [`cir_runtime::Session::is_open`], the one place that decides it).
fn exec_reply(
    state: &State,
    started: Instant,
    result: Result<(Execution, bool), SandboxError>,
    session: Option<String>,
) -> Reply {
    let close = |id: &Option<String>| {
        if let Some(id) = id {
            state.sessions.remove(id);
        }
    };
    match result {
        Ok((execution, still_open)) => {
            let execution = counted(state, started, execution);
            let open = session.as_ref().map(|_| still_open);
            if open == Some(false) {
                close(&session);
            }
            let feedback = execution.feedback();
            Reply::json(200, &ExecResponse { execution, feedback, session, session_open: open })
        }
        Err(e @ (SandboxError::EmptyCode | SandboxError::NulByte { .. } | SandboxError::CodeTooLarge { .. })) => {
            Reply::error(400, e)
        }
        Err(e @ SandboxError::SessionEnded(_)) => {
            close(&session);
            Reply::error(410, e)
        }
        Err(e) => match refusal(&e) {
            Some((code, message)) => refused(code, message, false),
            None => {
                close(&session);
                Reply::error(500, e)
            }
        },
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

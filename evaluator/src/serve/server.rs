//! The server: binding, the handler threads, per-request routing and authorisation, and the graceful shutdown.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cir_runtime::Queue;
use tiny_http::Request;

use super::Options;
use super::engine::{Sandboxes, Sessions};
use super::handlers;
use super::limits::{Defaults, positive_secs};
use super::metrics::Metrics;
use super::reply::{Reply, authorized};
use super::routes::Route;
use crate::Error;

/// Everything the request handlers share.
pub(crate) struct State {
    pub queue: Queue,
    pub sandboxes: Sandboxes,
    pub sessions: Sessions,
    pub metrics: Metrics,
    pub token: Option<String>,
    pub defaults: Defaults,
    pub draining: AtomicBool,
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

impl Server {
    /// Loads the sandbox with the default limits (so the first request is not slow), then binds.
    /// `token`: when set, required as `Authorization: Bearer TOKEN` on every endpoint but `/healthz`.
    ///
    /// # Errors
    ///
    /// Invalid settings, an interpreter that cannot be prepared, an address that cannot be bound.
    pub fn bind(args: &Options, token: Option<String>, report: &dyn Fn(&str)) -> Result<Server, Error> {
        let defaults = Defaults::from_args(args)?;
        let idle = positive_secs(args.session_idle, "--session-idle")?;
        let grace = Duration::try_from_secs_f64(args.grace)
            .map_err(|_| Error::Config(format!("--grace must be a number of seconds ≥ 0, not {}", args.grace)))?;
        let token = token.filter(|t| !t.is_empty());
        let options = cir_python_wasm::Options { wheel: args.wheel.clone(), ..Default::default() };
        let sandboxes = Sandboxes::new(options, args.limit_sets);
        sandboxes.get(defaults.default_key(), report)?;
        let jobs = args.jobs.unwrap_or_else(cir_runtime::Pool::default_workers).max(1);
        let queue = args.queue.max(1);
        let state = State {
            queue: Queue::new("cir-serve-worker", jobs, queue),
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

    /// Setting this flag starts the graceful shutdown (SIGTERM and SIGINT set it in [`run`](super::run)).
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
        let workers_done = self.state.queue.close(deadline);
        for h in handlers.into_iter().filter(|h| h.is_finished()) {
            let _ = h.join();
        }
        Ok(Shutdown { drained: handlers_done && workers_done })
    }
}

/// Answers one request: its route, the token, the method, then the route's handler; counts it in the metrics.
fn handle(state: &State, mut request: Request) {
    let started = Instant::now();
    let path = request.url().split('?').next().unwrap_or_default().to_owned();
    let route = Route::parse(&path);
    let reply = match &route {
        _ if route.as_ref().is_none_or(Route::needs_token) && !authorized(state.token.as_deref(), &request) => {
            Reply::error(401, "missing or wrong bearer token (Authorization: Bearer $CIR_TOKEN)")
                .header("WWW-Authenticate", "Bearer")
        }
        None => Reply::error(404, format!("no endpoint {path}")),
        Some(route) if *request.method() != route.method() => {
            let allowed = route.method().as_str().to_owned();
            Reply::error(405, format!("{path} takes {allowed}")).header("Allow", allowed)
        }
        Some(route) => handlers::respond(state, &mut request, route, started),
    };
    state.metrics.request(route.as_ref().map_or("other", Route::label), reply.code);
    let _ = request.respond(reply.into_response());
}

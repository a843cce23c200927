//! Counters behind `GET /metrics`, rendered in the Prometheus text format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets: from a session call (~0.3 ms) to the longest deadline.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every status a run can end with, so each series exists from the start (Prometheus prefers no missing series).
const STATUSES: [&str; 7] = ["ok", "error", "timeout", "memory_limit", "output_limit", "fuel_exhausted", "crash"];

/// The server's counters. Updated lock-free except the per-status map (one short lock per execution).
#[derive(Default)]
pub(crate) struct Metrics {
    by_status: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    rejected_overload: AtomicU64,
    rejected_sessions: AtomicU64,
    verifications: AtomicU64,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

/// Gauges read at render time.
pub(crate) struct Gauges {
    pub queue_depth: usize,
    pub queue_capacity: usize,
    pub workers: usize,
    pub in_flight: usize,
    pub sessions_open: usize,
    pub session_cap: usize,
}

impl Metrics {
    /// One finished execution: its status and the time from admission to result (queue wait included).
    pub fn execution(&self, status: &str, latency: Duration) {
        *self.by_status.lock().unwrap_or_else(PoisonError::into_inner).entry(status.to_owned()).or_default() += 1;
        let secs = latency.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// A request refused with 503 because the queue was full.
    pub fn overloaded(&self) {
        self.rejected_overload.fetch_add(1, Ordering::Relaxed);
    }

    /// A session refused because the cap on open sessions was reached.
    pub fn session_refused(&self) {
        self.rejected_sessions.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` verdicts given by `/v1/verify`.
    pub fn verified(&self, n: usize) {
        self.verifications.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// One answered HTTP request, by route and status code.
    pub fn request(&self, route: &str, code: u16) {
        *self.requests.lock().unwrap_or_else(PoisonError::into_inner).entry((route.to_owned(), code)).or_default() += 1;
    }

    /// The Prometheus text exposition of every counter and the gauges.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let mut series = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let mut statuses: BTreeMap<String, u64> = STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
        statuses.extend(self.by_status.lock().unwrap_or_else(PoisonError::into_inner).clone());
        let lines: Vec<_> = statuses.iter().map(|(s, n)| (format!("{{status=\"{s}\"}}"), n.to_string())).collect();
        series("cir_executions_total", "counter", "Executions finished, by status.", &lines);

        let mut lines: Vec<_> = self
            .buckets
            .iter()
            .zip(BUCKETS)
            .map(|(b, bound)| (format!("_bucket{{le=\"{bound}\"}}"), b.load(Ordering::Relaxed).to_string()))
            .collect();
        let count = self.count.load(Ordering::Relaxed);
        lines.push(("_bucket{le=\"+Inf\"}".into(), count.to_string()));
        lines.push(("_sum".into(), format!("{}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6)));
        lines.push(("_count".into(), count.to_string()));
        let _ = writeln!(
            out,
            "# HELP cir_execution_seconds Time from admission to result (queue wait + execution).\n\
             # TYPE cir_execution_seconds histogram"
        );
        for (suffix, value) in lines {
            let _ = writeln!(out, "cir_execution_seconds{suffix} {value}");
        }

        let mut series = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        series("cir_queue_depth", "gauge", "Executions waiting for a worker.", g.queue_depth.to_string());
        series(
            "cir_queue_capacity",
            "gauge",
            "Room in the queue; beyond it requests get 503.",
            g.queue_capacity.to_string(),
        );
        series("cir_workers", "gauge", "Execution worker threads.", g.workers.to_string());
        series("cir_executions_in_flight", "gauge", "Executions admitted and not finished.", g.in_flight.to_string());
        series("cir_sessions_open", "gauge", "Open stateful sessions.", g.sessions_open.to_string());
        series("cir_sessions_cap", "gauge", "Most sessions open at once.", g.session_cap.to_string());
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        series(
            "cir_rejected_overload_total",
            "counter",
            "Requests answered 503 (queue full).",
            load(&self.rejected_overload),
        );
        series(
            "cir_rejected_sessions_total",
            "counter",
            "Sessions refused (cap reached).",
            load(&self.rejected_sessions),
        );
        series("cir_verifications_total", "counter", "Verdicts given by /v1/verify.", load(&self.verifications));

        let _ = writeln!(
            out,
            "# HELP cir_http_requests_total HTTP requests answered, by route and status code.\n\
             # TYPE cir_http_requests_total counter"
        );
        for ((route, code), n) in self.requests.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            let _ = writeln!(out, "cir_http_requests_total{{route=\"{route}\",code=\"{code}\"}} {n}");
        }
        out
    }
}

//! Load on `cir-eval serve` from a second process over loopback, side by side with `cir-eval exec --batch`.
//!
//! Three runs of the same N small programs (`print(i * i)`, each answer checked):
//! 1. `serve` with its default queue, N requests to `/v1/exec` from C client threads (keep-alive connections);
//! 2. `serve --queue 8`, the same load, so the queue overflows: deliberate 503s are counted apart from errors;
//! 3. `cir-eval exec --batch` on a JSONL file of the same programs (one process, no HTTP).
//!
//! Reported: requests/s, p50/p99 latency, errors, 503s, the server's resident memory after warm-up and after the
//! run. Stops by itself (a bounded number of requests).
//!
//! `cargo bench -p cir-eval --bench 2-serve-load [-- N C JOBS]` (default 10000 requests, concurrency 64, jobs = cores).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::agent;

#[path = "../tests/support/http.rs"]
mod http;

const BIN: &str = env!("CARGO_BIN_EXE_cir-eval");

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(extra)
            .env_remove("CIR_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning cir-eval serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines.next().expect("server exited before listening").expect("reading stderr");
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server { child, base }
    }

    /// Resident set size in MiB, from /proc.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    ok: usize,
    busy: usize,
    errors: Vec<String>,
}

/// Sends `n` requests from `concurrency` threads; returns the tally and the wall time.
fn load(base: &str, n: usize, concurrency: usize) -> (Tally, Duration) {
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let agent = agent();
                let mut local = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let body = serde_json::json!({ "code": format!("print({i} * {i})") }).to_string();
                    let t = Instant::now();
                    let reply = agent
                        .post(format!("{base}/v1/exec"))
                        .header("Content-Type", "application/json")
                        .send(body.as_bytes())
                        .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?)));
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    match reply {
                        Ok((200, text)) if text.contains(&format!("\"stdout\":\"{}\\n\"", i * i)) => {
                            local.ok += 1;
                            local.latencies_ms.push(ms);
                        }
                        Ok((503, _)) => local.busy += 1,
                        other => local.errors.push(format!("{i}: {other:?}")),
                    }
                }
                let mut all = tally.lock().expect("tally");
                all.latencies_ms.extend(local.latencies_ms);
                all.ok += local.ok;
                all.busy += local.busy;
                all.errors.extend(local.errors);
            });
        }
    });
    (tally.into_inner().expect("tally"), started.elapsed())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn serve_row(name: &str, extra: &[&str], n: usize, concurrency: usize) {
    let server = Server::start(extra);
    // Warm-up: every worker has run, so the memory figure before the run is the steady state's start.
    let (warm, _) = load(&server.base, 200, concurrency.min(16));
    assert!(warm.errors.is_empty(), "warm-up failed: {:?}", warm.errors.first());
    let rss_before = server.rss_mib();
    let (mut t, wall) = load(&server.base, n, concurrency);
    let rss_after = server.rss_mib();
    t.latencies_ms.sort_by(f64::total_cmp);
    println!(
        "| {name} | {n} | {concurrency} | {:.0} | {:.0} | {:.1} | {:.1} | {} | {} | {rss_before:.0} → {rss_after:.0} |",
        n as f64 / wall.as_secs_f64(),
        t.ok as f64 / wall.as_secs_f64(),
        percentile(&t.latencies_ms, 0.5),
        percentile(&t.latencies_ms, 0.99),
        t.errors.len(),
        t.busy,
    );
    if let Some(first) = t.errors.first() {
        eprintln!("{name}: {} errors, first: {first}", t.errors.len());
    }
}

fn batch_row(n: usize, jobs: usize) {
    let dir = std::env::temp_dir().join(format!("cir-serve-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("in.jsonl");
    let lines: String =
        (0..n).map(|i| format!("{}\n", serde_json::json!({"id": i, "code": format!("print({i} * {i})")}))).collect();
    std::fs::write(&input, lines).expect("writing the batch");
    let run = |input: &std::path::Path| {
        let t = Instant::now();
        let out = dir.join("out.jsonl");
        let status = Command::new(BIN)
            .args(["exec", "--batch"])
            .arg(input)
            .arg("--out")
            .arg(&out)
            .args(["--jobs", &jobs.to_string()])
            .stderr(Stdio::null())
            .status()
            .expect("running exec --batch");
        assert!(status.success());
        (t.elapsed(), std::fs::read_to_string(&out).unwrap_or_default())
    };
    let one = dir.join("one.jsonl");
    std::fs::write(&one, "{\"id\": 0, \"code\": \"print(0)\"}\n").expect("writing one line");
    let (startup, _) = run(&one);
    let (wall, out) = run(&input);
    let correct = out.lines().enumerate().filter(|(i, l)| l.contains(&format!("\"stdout\":\"{}\\n\"", i * i))).count();
    let work = wall.saturating_sub(startup).as_secs_f64();
    println!(
        "| `exec --batch --jobs {jobs}` (one process, no HTTP) | {n} | – | {:.0} (wall {:.1} s, incl. {:.1} s startup) | {:.0} without startup | – | – | {} | – | – |",
        n as f64 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        startup.as_secs_f64(),
        n as f64 / work,
        n - correct,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let nums: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = nums.first().copied().unwrap_or(10_000);
    let concurrency = nums.get(1).copied().unwrap_or(64);
    let jobs = nums.get(2).copied().unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let jobs_arg = jobs.to_string();
    println!(
        "| run | requests | concurrency | requests/s | ok/s | p50 ms | p99 ms | errors | 503s | server RSS MiB (after warm-up → after) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    serve_row(&format!("`serve --jobs {jobs}` (queue 64)"), &["--jobs", &jobs_arg], n, concurrency);
    serve_row(
        &format!("`serve --jobs {jobs} --queue 8` (overloaded)"),
        &["--jobs", &jobs_arg, "--queue", "8"],
        n,
        concurrency,
    );
    batch_row(n, jobs);
}

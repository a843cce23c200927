//! Per-execution latency (median, p90) and 2-worker throughput of the sandbox, plus resident memory per idle worker.
//!
//! Run: `cargo bench -p cir-runtime --bench exec` (add `CIR_BENCH_NO_PRELOAD=1` to also measure an interpreter
//! snapshotted without the math-stack preload; it is built and compiled on first use, minutes). The Python
//! baselines are `python3 runtime/benches/baseline.py`; `runtime/benches/before-after.sh COMMIT` runs the latency
//! table of this file built against an earlier commit and against this tree, alternately, in one run
//! (`CIR_BENCH_LATENCY_ONLY=1` and `CIR_BENCH_LABEL` are its knobs). `docs/sandbox.md` records the runs.
//!
//! Uses only the API every version of the sandbox has (`exec`, `session`, `Pool`), so that it builds against older
//! commits too.

use std::time::{Duration, Instant};

use cir_runtime::{Pool, Sandbox};

const SNIPPETS: &[(&str, &str, usize)] = &[
    ("trivial print", "print(1 + 1)", 300),
    ("sympy solve", "from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))", 100),
    ("itertools count", "import itertools\nprint(sum(1 for _ in itertools.islice(itertools.count(), 10000)))", 100),
    ("division by zero", "1 / 0", 200),
    (
        "1 MiB file write + read",
        "data = b'x' * (1 << 20)\nwith open('/tmp/f', 'wb') as f:\n    f.write(data)\n\
         with open('/tmp/f', 'rb') as f:\n    assert f.read() == data",
        200,
    ),
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn latency(name: &str, sandbox: &Sandbox, samples_scale: f64) {
    for &(snippet, code, n) in SNIPPETS {
        let n = ((n as f64 * samples_scale) as usize).max(3);
        for _ in 0..3 {
            sandbox.exec(code, 0).expect("runs");
        }
        let mut ms: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                sandbox.exec(code, 0).expect("runs");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!("| {name} | {snippet} | {n} | {:.2} | {:.2} |", percentile(&ms, 0.5), percentile(&ms, 0.9));
    }
}

/// The same snippets in one persistent session: no instantiation, so the difference to the fresh-instance rows is
/// the per-execution setup (scratch folder, store, instance, reseed turn).
fn session_latency(sandbox: &Sandbox) {
    let mut session = sandbox.session(0).expect("a session");
    for &(snippet, code, n) in SNIPPETS {
        let mut ms: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                session.exec(code).expect("runs");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "| cir-runtime session | {snippet} | {n} | {:.2} | {:.2} |",
            percentile(&ms, 0.5),
            percentile(&ms, 0.9)
        );
    }
}

fn throughput(sandbox: &Sandbox, workers: usize, count: usize) -> f64 {
    let pool = Pool::new(sandbox, workers, workers * 4);
    let started = Instant::now();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(workers * 4);
        let pool = &pool;
        s.spawn(move || {
            for _ in 0..count {
                if tx.send(pool.submit("print(1 + 1)", 0).expect("queued")).is_err() {
                    break;
                }
            }
        });
        for ticket in rx {
            ticket.wait().expect("runs");
        }
    });
    count as f64 / started.elapsed().as_secs_f64()
}

/// The runtime's name in the tables: `CIR_BENCH_LABEL` (the before/after script names the two builds), else
/// `cir-runtime`.
fn label() -> String {
    std::env::var("CIR_BENCH_LABEL").unwrap_or_else(|_| "cir-runtime".into())
}

fn main() {
    if std::env::var_os("CIR_BENCH_LATENCY_ONLY").is_some() {
        let sandbox = Sandbox::builder().build().expect("the sandbox loads (run `cir-eval setup` first)");
        latency(&format!("{} (reused instance)", label()), &sandbox, 1.0);
        let unpooled = Sandbox::builder().spare_instances(0).build().expect("loads");
        latency(&format!("{} (new instance each time)", label()), &unpooled, 0.3);
        return;
    }
    let rss_start = rss_mib();
    let t = Instant::now();
    let sandbox = Sandbox::builder().build().expect("the sandbox loads (run `cir-eval setup` first)");
    let load = t.elapsed();
    let rss_module = rss_mib();
    println!(
        "load: {:.2} s; RSS {:.0} MiB before, {:.0} MiB with the module loaded",
        load.as_secs_f64(),
        rss_start,
        rss_module
    );
    println!();
    println!("| runtime | snippet | runs | median ms | p90 ms |");
    println!("| --- | --- | --- | --- | --- |");
    latency("cir-runtime (snapshot, reused instance reset to it)", &sandbox, 1.0);
    let unpooled = Sandbox::builder().spare_instances(0).build().expect("loads");
    latency("cir-runtime (snapshot, new instance each time)", &unpooled, 0.3);
    session_latency(&sandbox);
    if std::env::var_os("CIR_BENCH_NO_PRELOAD").is_some() {
        let options = cir_python_wasm::Options { preload: Some("pass".into()), ..Default::default() };
        let plain = Sandbox::builder()
            .limits(cir_runtime::Limits { timeout: Duration::from_secs(60), ..Default::default() })
            .interpreter(options)
            .build()
            .expect("the plain sandbox loads");
        latency("cir-runtime (no preload)", &plain, 0.05);
    }
    println!();
    let workers = 2;
    let rate = throughput(&unpooled, workers, 500);
    println!("throughput, new instance each time: {rate:.0} trivial executions/s with {workers} workers");
    drop(unpooled);
    let rate = throughput(&sandbox, workers, 4000);
    println!("throughput, reused instances: {rate:.0} trivial executions/s with {workers} workers");
    std::thread::sleep(Duration::from_millis(200));
    let rss_idle = rss_mib();
    println!(
        "RSS after the pool ran and went idle: {rss_idle:.0} MiB, {:.1} MiB per worker beyond the loaded module",
        (rss_idle - rss_module) / workers as f64
    );
}

//! The evaluation loop's own overhead: a scripted server that answers at once (in this process, over real HTTP on
//! loopback), one tool call per sample, at concurrency 1, 8 and 64.
//!
//! Reported per configuration: samples/s, and per sample the mean host time spent outside the server wait
//! (`total − generation`: code execution, grading, bookkeeping) and per tool call. The generation column is the HTTP
//! round trips to the in-process server, whose own work shares the CPU with the loop.
//!
//! Two tables: with an instant scripted code runner (the loop alone), then with the real sandbox (`cir-runtime`,
//! fresh WASI CPython instance per block), so the difference is the sandbox's cost per tool call.
//!
//! `cargo bench -p cir-eval --bench 1-loop-overhead [-- SAMPLES]` (default 1000 samples per concurrency with the
//! scripted runner, at most 300 with the sandbox).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cir_data::{Api, Dataset, Problem, Template};
use cir_eval::run::{RunConfig, run};
use cir_eval::{Client, ClientConfig, EndpointPolicy};
use cir_rollout::{CodeRunner, Settings, Verifier};
use support::runner::ScriptedRunner;
use support::server::{Action, Options, Server};

fn model(_body: &serde_json::Value, text: &str) -> Action {
    if text.contains("```output\n") {
        Action::Generate(" so the answer is \\boxed{5}.".into())
    } else {
        Action::Generate("Compute.\n```python\nprint(2+3)\n```\n".into())
    }
}

fn main() {
    let samples: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let server = Server::start(model, Options::default());
    let dir = std::env::temp_dir().join(format!("cir-eval-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    table("scripted code runner (no execution)", &ScriptedRunner, samples, &server.url, &dir);
    let sandbox = cir_runtime::Sandbox::builder().build().expect("sandbox");
    table("cir-runtime sandbox (fresh instance per block)", &sandbox, samples.min(300), &server.url, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One table: samples/s and per-sample times at concurrency 1, 8 and 64 with `runner` executing the code blocks.
fn table<R: CodeRunner>(label: &str, runner: &R, samples: usize, url: &str, dir: &std::path::Path) {
    println!("\n{label}, {samples} samples per row\n");
    println!(
        "| concurrency | samples | samples/s | generation ms/sample | loop overhead ms/sample | overhead ms/tool call | of which tool ms | grading ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for concurrency in [1usize, 8, 64] {
        let problems = (0..samples).map(|i| Problem::new(i.to_string(), format!("P{i}"), "5")).collect();
        let out = dir.join(format!("c{concurrency}.jsonl"));
        let _ = std::fs::remove_file(&out);
        let cfg = RunConfig {
            datasets: vec![Dataset { name: "bench".into(), problems, skipped: Vec::new() }],
            template: Template::resolve("cir-qwen-math").expect("template"),
            n: 1,
            out,
            settings: Settings::default(),
            progress: false,
        };
        let mut config = ClientConfig::new(vec![url.to_owned()]);
        config.timeout = Duration::from_secs(30);
        let policy = EndpointPolicy {
            client: Client::new(config).expect("client"),
            model: "scripted".into(),
            api: Api::Completions,
            extra: serde_json::Map::new(),
            concurrency,
            tokens: false,
        };
        let start = Instant::now();
        let s = run(&cfg, &policy, runner, &Verifier::default()).expect("run");
        let wall = start.elapsed().as_secs_f64();
        let ts = &s.trajectories;
        assert!(ts.iter().all(|t| t.is_correct() && t.tool_calls == 1), "a sample failed");
        let n = ts.len() as f64;
        let mean = |f: &dyn Fn(&cir_record::Trajectory) -> f64| ts.iter().map(f).sum::<f64>() / n;
        let overhead = mean(&|t| t.timing.total_ms - t.timing.generation_ms);
        let calls = ts.iter().map(|t| f64::from(t.tool_calls)).sum::<f64>() / n;
        println!(
            "| {concurrency} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.4} | {:.4} |",
            ts.len(),
            n / wall,
            mean(&|t| t.timing.generation_ms),
            overhead,
            overhead / calls,
            mean(&|t| t.timing.tool_ms),
            mean(&|t| t.timing.grading_ms),
        );
    }
}

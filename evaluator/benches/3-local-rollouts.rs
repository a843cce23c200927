//! Whole rollouts of the built-in model in-process against plain decoding and against the same model over HTTP.
//!
//! SmolLM2-135M-Instruct (fetched once into CIR_HOME) on the first N problems of `builtin:arith` with its chat
//! template, one sample each at temperature 1, up to 256 new tokens, tool budget 5, the real sandbox. Rows:
//! - `rollouts, cache kept`: `LocalPolicy` as `cir-eval run --local` runs it (each row's KV cache kept between turns,
//!   only the feedback prefilled after a tool call);
//! - `rollouts, cache rebuilt`: the same with `--no-cache-reuse` (every turn prefills its whole context);
//! - `plain decode`: the same prompts through `generate_rows` with no code stop, each row as many new tokens as the
//!   cached run sampled for it (so rows end as raggedly as they did there) — the speed the loop would have with no
//!   tool at all;
//! - `rollouts over HTTP`: `cir-train serve`'s server in this process on loopback, `EndpointPolicy` with the
//!   template's API (N requests in flight; the server takes them one at a time).
//!
//! `cargo bench -p cir-eval --bench 3-local-rollouts [-- N]` (default N = 8). Prints a Markdown table.
//! Another model, benchmark and template: `CIR_BENCH_MODEL` (a name or a Hugging Face folder, e.g. a `cir-train rl`
//! checkpoint), `CIR_BENCH_DATASET`, `CIR_BENCH_TEMPLATE` (defaults `smollm2-135m`, `builtin:arith`, `cir-chat`), and
//! `CIR_BENCH_MAX_TOKENS` (default 256); `CIR_BENCH_SKIP_HTTP=1` leaves out the HTTP row.
//! SmolLM2-135M-Instruct seldom writes a code block with `cir-chat`; with the few-shot template `evaluator/benches/few-shot-code.txt` (three solved problems, each a code
//! block, its output and the boxed answer) it does. The RL demo's checkpoint on `builtin:mul` with `cir-plain` calls
//! the tool in every rollout.

use std::time::Instant;

use cir_data::{Api, Dataset, Fields, Template};
use cir_eval::{Client, ClientConfig, EndpointPolicy};
use cir_record::Trajectory;
use cir_rollout::{Job, Loop, Policy, Settings, Timed, Verifier};
use cir_trainer::{CompletionServer, LocalOptions, LocalPolicy, Row, SamplingParams, generate_rows, load};

struct Measured {
    label: &'static str,
    tokens: u64,
    wall: f64,
    generation: f64,
    tool_calls: u32,
    /// Tokens sampled per job, in the jobs' order.
    per_job: Vec<u64>,
}

fn rollouts<P: Policy>(label: &'static str, policy: &P, sandbox: &cir_runtime::Sandbox, jobs: &[Job]) -> Measured {
    let settings = Settings {
        max_tokens: env_or("CIR_BENCH_MAX_TOKENS", "256").parse().expect("a number"),
        top_p: 1.0,
        seed: 7,
        ..Settings::default()
    };
    let timed = Timed::new(policy);
    let start = Instant::now();
    let mut out: Vec<Trajectory> = Vec::new();
    Loop::new(&timed, sandbox, &Verifier::default(), &settings).run(jobs, &mut |t| {
        out.push(t);
        true
    });
    let wall = start.elapsed().as_secs_f64();
    assert!(out.iter().all(|t| t.error.is_none()), "{:?}", out.iter().find_map(|t| t.error.clone()));
    let generation = timed.seconds();
    Measured {
        label,
        tokens: out.iter().filter_map(|t| t.usage.completion_tokens).sum(),
        wall,
        generation,
        tool_calls: out.iter().map(|t| t.tool_calls).sum(),
        per_job: jobs
            .iter()
            .map(|j| {
                let t = out.iter().find(|t| t.problem_id == j.problem_id && t.sample == j.sample);
                t.and_then(|t| t.usage.completion_tokens).unwrap_or(0)
            })
            .collect(),
    }
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(8);
    let model = env_or("CIR_BENCH_MODEL", "smollm2-135m");
    let path = cir_trainer::models::resolve(&model, &cir_fetch::home(), None, &|m| eprintln!("{m}")).expect("model");
    let device = cir_trainer::DeviceKind::Cpu.device().expect("cpu");
    let sandbox = cir_runtime::Sandbox::builder().build().expect("sandbox");
    let dataset = env_or("CIR_BENCH_DATASET", "builtin:arith");
    let mut data = Dataset::open(&dataset, &Fields::default(), &Verifier::default()).expect("benchmark");
    data.problems.truncate(n);
    let template = Template::resolve(&env_or("CIR_BENCH_TEMPLATE", "cir-chat")).expect("template");
    let chat = template.api == Api::Chat;
    let jobs = data.jobs(&template, 1);
    let policy = |reuse_cache: bool| {
        let loaded = load(&path, &device).expect("loads");
        let options = LocalOptions { chat, max_rows: n, reuse_cache, ..LocalOptions::new(&model) };
        LocalPolicy::new(loaded.model, loaded.config, loaded.tokenizer.expect("tokenizer"), options).expect("policy")
    };
    println!("| run | sampled tokens | tool calls | wall s | tokens/s (wall) | of which generating s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let cached = policy(true);
    push(&mut rows, rollouts("rollouts, cache kept", &cached, &sandbox, &jobs));
    push(&mut rows, rollouts("rollouts, cache rebuilt", &policy(false), &sandbox, &jobs));

    // Plain decode: the same prompts, no stop at code, each row the cached run's sampled tokens for it.
    let per_job = rows[0].per_job.clone();
    let loaded = load(&path, &device).expect("loads");
    let tok = loaded.tokenizer.as_ref().expect("tokenizer");
    let decode_rows: Vec<Row> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| Row {
            ids: tok.encode(&cached.render(&j.prompt).expect("render")).expect("encode"),
            cache: None,
            max_new_tokens: (per_job[i] as usize).max(1),
            seed: i as u64,
            stop_at_code_block: false,
        })
        .collect();
    let params = SamplingParams { eos_token_ids: Some(Vec::new()), ..SamplingParams::default() };
    let start = Instant::now();
    let out = generate_rows(&loaded.model, &loaded.config, Some(tok), decode_rows, &params, false).expect("decode");
    let wall = start.elapsed().as_secs_f64();
    push(
        &mut rows,
        Measured {
            label: "plain decode (no tool, no stop)",
            tokens: out.iter().map(|r| r.completion.tokens.len() as u64).sum(),
            wall,
            generation: wall,
            tool_calls: 0,
            per_job: out.iter().map(|r| r.completion.tokens.len() as u64).collect(),
        },
    );

    // Over HTTP: the same model behind cir-train serve, in this process.
    if std::env::var_os("CIR_BENCH_SKIP_HTTP").is_some() {
        return;
    }
    let served = load(&path, &device).expect("loads");
    let server = CompletionServer::bind("127.0.0.1:0", served, model.clone()).expect("binds");
    let url = format!("http://{}", server.local_addr().expect("address"));
    std::thread::spawn(move || server.run());
    let http = EndpointPolicy {
        client: Client::new(ClientConfig::new(vec![url])).expect("client"),
        model: model.clone(),
        api: template.api,
        extra: serde_json::Map::new(),
        concurrency: n,
        tokens: false,
    };
    push(&mut rows, rollouts("rollouts over HTTP (cir-train serve)", &http, &sandbox, &jobs));
}

/// Prints a row of the table as soon as it is measured.
fn push(rows: &mut Vec<Measured>, r: Measured) {
    println!(
        "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
        r.label,
        r.tokens,
        r.tool_calls,
        r.wall,
        r.tokens as f64 / r.wall,
        r.generation
    );
    rows.push(r);
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

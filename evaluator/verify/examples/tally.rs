//! Agreement, false accepts and latency of `cir-verify` (default options) on JSONL case files, for the side-by-side
//! comparison in `bench/vs-math-verify.sh`.
//!
//! Usage: `cargo run --release -p cir-verify --example tally -- LABEL FILE.jsonl…`. Each line's `pred` and `gold`
//! are verified with `Options::default()`; one summary line per file: agreement with `expected`, false accepts
//! (judged equal where `expected` is false), false rejects, and the median and p99 time per pair (extraction,
//! parsing and comparison of both sides).

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(label) = args.next() else {
        eprintln!("usage: tally LABEL FILE.jsonl…");
        return ExitCode::from(2);
    };
    for path in args {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        };
        let (mut total, mut agree, mut false_accepts, mut false_rejects) = (0, 0, 0, 0);
        let mut micros = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(case) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let (Some(pred), Some(gold), Some(expected)) =
                (case["pred"].as_str(), case["gold"].as_str(), case["expected"].as_bool())
            else {
                continue;
            };
            let start = Instant::now();
            let got = cir_verify::verify(pred, gold).equivalent;
            micros.push(start.elapsed().as_secs_f64() * 1e6);
            total += 1;
            agree += usize::from(got == expected);
            false_accepts += usize::from(got && !expected);
            false_rejects += usize::from(!got && expected);
        }
        let name = path.rsplit('/').next().unwrap_or(&path);
        let pct = 100.0 * agree as f64 / total.max(1) as f64;
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| micros.get(((micros.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        println!(
            "{label} {name}: agreement {agree}/{total} ({pct:.1}%); false accepts {false_accepts}, false rejects {false_rejects}; median {:.1} µs, p99 {:.1} µs",
            at(0.5),
            at(0.99)
        );
    }
    ExitCode::SUCCESS
}

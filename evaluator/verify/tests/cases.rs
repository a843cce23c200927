//! Runs the shared JSONL case files (`../shared/verifier-cases/`) and reports disagreements by file and line.
//!
//! Each line is verified with the default options, except the settings a Math-Verify test ran with
//! (`mv_config.strict = false` → renaming allowed; `allow_set_relation_comp = false` → relation predictions are
//! not compared with set golds). Lines carrying `math_note` are Math-Verify policy choices: `DECISIONS` gives our
//! verdict for each and the test asserts it. other_cases.jsonl runs twice: with default options, and with the
//! convention of the grader each line comes from (Hendrycks: ordered lists; symeval: percent scaling and, with
//! `compare_sets`, unordered tuples; Qwen:
//! relative tolerance 1e-4). Agreement with `expected` is asserted against the targets.

use std::process::ExitCode;

use cir_verify::{Options, verify_with};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/verifier-cases/");

/// Our verdict on each `math_note` line of mathverify_cases.jsonl (line number, verdict, why).
const DECISIONS: &[(usize, bool, &str)] = &[
    (32, true, "inline math split across lines is still the answer 9: we extract it (Math-Verify does not)"),
    (33, true, "same as line 32 with \\( \\)"),
    (59, true, "28 for 28%: percent read as a unit is accepted (PercentMode::Lenient)"),
    (106, false, "7 = 11a+c is an equation, not a definition of 11a+c"),
    (169, true, "the bare list 1,3 written in order equals the tuple (1,3)"),
    (194, false, "with allow_set_relation_comp=false (this line's setting) relations are not compared with sets"),
    (259, false, "two boxes separated by prose are two answers: the last one (2) is taken"),
    (261, true, "with strict=false (this line's setting) f(y) matches f(x) by renaming"),
    (271, false, "1 + 1/e is not 1 - 1/e: Math-Verify's expectation is mathematically wrong"),
];

fn options_for(case: &Value) -> Options {
    let mut o = Options::default();
    if let Some(cfg) = case.get("mv_config") {
        if cfg.get("strict") == Some(&Value::Bool(false)) {
            o.allow_renaming = true;
        }
        if cfg.get("allow_set_relation_comp") == Some(&Value::Bool(false)) {
            o.relation_vs_set = false;
        }
    }
    if per_grader() {
        let grader = case.get("grader").and_then(Value::as_str).unwrap_or_default();
        if grader.starts_with("hendrycks") {
            o.ordered_lists = true;
        }
        if grader.starts_with("symeval") {
            o.percent_scaling = true;
            let kwargs = case.get("grader_kwargs");
            o.unordered_tuples = kwargs.and_then(|k| k.get("compare_sets")) == Some(&Value::Bool(true));
        }
        if grader.contains("rel_tol=1e-4") {
            o.relative_tolerance = Some(1e-4);
        }
    }
    o
}

thread_local! {
    static PER_GRADER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether other_cases lines run with the convention of the grader they come from (second pass).
fn per_grader() -> bool {
    PER_GRADER.with(std::cell::Cell::get)
}

struct Tally {
    total: usize,
    agree: usize,
    decided: usize,
    decided_ok: usize,
}

fn run(file: &str, decisions: &[(usize, bool, &str)], failures: &mut Vec<String>) -> Tally {
    let path = format!("{DIR}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut t = Tally { total: 0, agree: 0, decided: 0, decided_ok: 0 };
    for (k, line) in text.lines().enumerate() {
        let lineno = k + 1;
        let Ok(case) = serde_json::from_str::<Value>(line) else { continue };
        let pred = case["pred"].as_str().unwrap_or_default();
        let gold = case["gold"].as_str().unwrap_or_default();
        let expected = case["expected"].as_bool().unwrap_or(false);
        let v = verify_with(pred, gold, &options_for(&case));
        t.total += 1;
        if v.equivalent == expected {
            t.agree += 1;
        }
        if let Some((_, ours, why)) = decisions.iter().find(|d| d.0 == lineno) {
            t.decided += 1;
            if v.equivalent == *ours {
                t.decided_ok += 1;
            } else {
                failures.push(format!("{file}:{lineno}: decision broken ({why}): got {} ({})", v.equivalent, v.reason));
            }
        } else if v.equivalent != expected {
            let short = |s: &str| s.chars().rev().take(90).collect::<Vec<_>>().into_iter().rev().collect::<String>();
            failures.push(format!(
                "{file}:{lineno}: expected {expected}, got {} ({}) | pred …{:?} | gold …{:?}",
                v.equivalent,
                v.reason,
                short(pred),
                short(gold)
            ));
        }
    }
    t
}

fn main() -> ExitCode {
    // The libtest protocol that `cargo nextest` speaks: `--list` names the one test this binary runs.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("case_files: test");
        }
        return ExitCode::SUCCESS;
    }
    let mut failures = Vec::new();
    let mv = run("mathverify_cases.jsonl", DECISIONS, &mut failures);
    let other = run("other_cases.jsonl", &[], &mut failures);
    // Second pass: each grader's own convention as options (ordered lists, percent scaling, tolerance).
    PER_GRADER.with(|c| c.set(true));
    let mut graded_failures = Vec::new();
    let other_conv = run("other_cases.jsonl", &[], &mut graded_failures);
    PER_GRADER.with(|c| c.set(false));
    for f in &failures {
        eprintln!("{f}");
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    // Agreement where our deliberate decisions replace Math-Verify's policy verdicts.
    let mv_decided = mv.agree - mv_policy_agree(&mv) + mv.decided_ok;
    eprintln!(
        "mathverify_cases: {}/{} agree with expected ({:.1}%); with our {} decisions: {}/{} ({:.1}%)",
        mv.agree,
        mv.total,
        pct(mv.agree, mv.total),
        mv.decided,
        mv_decided,
        mv.total,
        pct(mv_decided, mv.total)
    );
    eprintln!(
        "other_cases: {}/{} agree with expected with default options ({:.1}%); with each grader's convention as options: {}/{} ({:.1}%)",
        other.agree,
        other.total,
        pct(other.agree, other.total),
        other_conv.agree,
        other_conv.total,
        pct(other_conv.agree, other_conv.total)
    );
    for f in &graded_failures {
        eprintln!("  (grader conventions) {f}");
    }
    // Targets: ≥ 99% on mathverify_cases (with our decisions on its policy lines), ≥ 95% on other_cases run with
    // each grader's convention; with one set of default options other_cases mixes conventions and must stay ≥ 93%.
    let ok = pct(mv_decided, mv.total) >= 99.0
        && pct(other_conv.agree, other_conv.total) >= 95.0
        && pct(other.agree, other.total) >= 93.0
        && mv.decided_ok == mv.decided;
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// How many decided lines agreed with Math-Verify's own expectation (they are counted by `decided_ok` instead).
fn mv_policy_agree(t: &Tally) -> usize {
    // Recomputed from the file so the two counts stay consistent.
    let path = format!("{DIR}mathverify_cases.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let _ = t;
    text.lines()
        .enumerate()
        .filter(|(k, _)| DECISIONS.iter().any(|d| d.0 == k + 1))
        .filter(|(_, line)| {
            let Ok(case) = serde_json::from_str::<Value>(line) else { return false };
            let v = verify_with(
                case["pred"].as_str().unwrap_or_default(),
                case["gold"].as_str().unwrap_or_default(),
                &options_for(&case),
            );
            Some(v.equivalent) == case["expected"].as_bool()
        })
        .count()
}

//! Runs the shared JSONL case files (`../shared/verifier-cases/`) and fails on any verdict that differs from the
//! case's `expected` unless that disagreement is listed, with its reason, in `tests/known_disagreements.jsonl`;
//! a listed disagreement that no longer happens fails too (the list must be kept exact). Cases are keyed by their
//! content (pass, pred, gold), never by line numbers.
//!
//! Three passes:
//! - `mathverify_cases`: each line with the settings its Math-Verify test ran with (`mv_config.strict = false` →
//!   renaming allowed; `allow_set_relation_comp = false` → relation predictions not compared with set golds);
//! - `other_cases`: every line with the default options;
//! - `other_cases+grader`: every line with the convention of the grader it comes from (Hendrycks: ordered lists;
//!   symeval: percent scaling and, with `compare_sets`, unordered tuples; Qwen: relative tolerance 1e-4).
//!
//! After a deliberate change of verdicts, `CIR_CASES_PRINT=1` prints every disagreement as a line of the list (with
//! an empty reason to fill in).

use std::collections::HashMap;
use std::process::ExitCode;

use cir_verify::{Options, verify_with};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/verifier-cases/");
const KNOWN: &str = include_str!("known_disagreements.jsonl");

/// How a pass chooses each line's options.
type OptionsFor = fn(&Value) -> Options;

/// The passes: name, case file, and how each line's options are chosen.
const PASSES: &[(&str, &str, OptionsFor)] = &[
    ("mathverify_cases", "mathverify_cases.jsonl", mv_config),
    ("other_cases", "other_cases.jsonl", |_| Options::default()),
    ("other_cases+grader", "other_cases.jsonl", grader_convention),
];

/// The settings a Math-Verify test ran with.
fn mv_config(case: &Value) -> Options {
    let mut o = Options::default();
    if let Some(cfg) = case.get("mv_config") {
        o.allow_renaming = cfg.get("strict") == Some(&Value::Bool(false));
        o.relation_vs_set = cfg.get("allow_set_relation_comp") != Some(&Value::Bool(false));
    }
    o
}

/// The convention of the grader an other_cases line comes from.
fn grader_convention(case: &Value) -> Options {
    let mut o = Options::default();
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
    o
}

/// A listed disagreement: our verdict and why it differs from the case's `expected`.
struct Known {
    verdict: bool,
    why: String,
    seen: bool,
}

/// The list, keyed by (pass, pred, gold).
fn known() -> Result<HashMap<(String, String, String), Known>, String> {
    let mut out = HashMap::new();
    for (k, line) in KNOWN.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = format!("known_disagreements.jsonl:{}", k + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{at}: {e}"))?;
        let field = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(pass), Some(pred), Some(gold), Some(why), Some(verdict)) =
            (field("pass"), field("pred"), field("gold"), field("why"), v.get("verdict").and_then(Value::as_bool))
        else {
            return Err(format!("{at}: needs string pass, pred, gold, why and bool verdict"));
        };
        if why.trim().is_empty() {
            return Err(format!("{at}: the reason (`why`) is empty"));
        }
        if out.insert((pass, pred, gold), Known { verdict, why, seen: false }).is_some() {
            return Err(format!("{at}: listed twice"));
        }
    }
    Ok(out)
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
    let print = std::env::var_os("CIR_CASES_PRINT").is_some();
    let mut known = match known() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failures = Vec::new();
    for (pass, file, options) in PASSES {
        let path = format!("{DIR}{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let (mut total, mut agree) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}: {e}: {line}"));
            let pred = case["pred"].as_str().unwrap_or_default();
            let gold = case["gold"].as_str().unwrap_or_default();
            let expected = case["expected"].as_bool().unwrap_or(false);
            let v = verify_with(pred, gold, &options(&case));
            total += 1;
            agree += usize::from(v.equivalent == expected);
            let key = (pass.to_string(), pred.to_string(), gold.to_string());
            match (v.equivalent == expected, known.get_mut(&key)) {
                (true, None) => {}
                (true, Some(k)) => {
                    k.seen = true;
                    failures.push(format!(
                        "{pass}: now agrees with expected, remove it from the list: {pred:?} vs {gold:?}"
                    ));
                }
                (false, Some(k)) if k.verdict == v.equivalent => k.seen = true,
                (false, _) => {
                    failures.push(format!(
                        "{pass}: expected {expected}, got {} ({}), not a known disagreement: {pred:?} vs {gold:?}",
                        v.equivalent, v.reason
                    ));
                    if print {
                        let entry = serde_json::json!({"pass": pass, "pred": pred, "gold": gold, "verdict": v.equivalent, "why": ""});
                        println!("{entry}");
                    }
                }
            }
        }
        eprintln!("{pass}: {agree}/{total} agree with expected ({:.1}%)", 100.0 * agree as f64 / total.max(1) as f64);
    }
    for ((pass, pred, gold), k) in &known {
        if !k.seen {
            failures.push(format!("{pass}: listed but not in the case files ({}): {pred:?} vs {gold:?}", k.why));
        }
    }
    eprintln!("{} known disagreements, each with its reason in tests/known_disagreements.jsonl", known.len());
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

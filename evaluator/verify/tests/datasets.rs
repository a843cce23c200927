//! Dataset self-consistency: every gold answer of `../shared/datasets/*.jsonl` against itself, against a
//! reformatted twin (`\dfrac`↔`\frac`, an added `\text{}` unit, an `x =` prefix), and against its neighbour's answer.
//! MATH_OAI's worked solutions are also checked against its `answer` field.

use std::process::ExitCode;

use cir_verify::{extract_answer, verify};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/datasets/");

/// Twins of a bare answer that must stay equivalent.
fn twins(a: &str) -> Vec<String> {
    let mut out = vec![a.replace("\\dfrac", "\\frac"), a.replace("\\frac", "\\dfrac")];
    let plain = !a.contains(['=', ',', '\\', '(', '[', '{', '<', '>']) || a.starts_with("\\frac") && !a.contains(',');
    if plain && !a.chars().any(|c| c.is_alphabetic() && c != 'e' && c != 'i') {
        out.push(format!("{a}\\text{{ units}}"));
    }
    if !a.contains('=') && !a.contains("\\text") && !a.contains("\\in") && !a.contains('<') && !a.contains('>') {
        out.push(format!("x = {a}"));
    }
    out
}

fn main() -> ExitCode {
    // The libtest protocol that `cargo nextest` speaks: `--list` names the one test this binary runs.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("dataset_consistency: test");
        }
        return ExitCode::SUCCESS;
    }
    let mut failures = Vec::new();
    let mut coincidences = Vec::new();
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(DIR).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    assert!(!files.is_empty(), "no datasets in {DIR}");
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let rows: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let golds: Vec<String> = rows
            .iter()
            .map(|r| {
                r.get("answer").or_else(|| r.get("solution")).and_then(Value::as_str).unwrap_or_default().to_string()
            })
            .collect();
        for (k, gold) in golds.iter().enumerate() {
            let line = k + 1;
            checked += 1;
            let Some(bare) = extract_answer(gold) else {
                failures.push(format!("{name}:{line}: no answer extracted from {gold:?}"));
                continue;
            };
            if !verify(gold, gold).equivalent {
                failures.push(format!("{name}:{line}: not equal to itself: {gold:?} ({})", verify(gold, gold).reason));
            }
            for twin in twins(&bare) {
                let v = verify(&twin, gold);
                if !v.equivalent {
                    failures.push(format!("{name}:{line}: twin {twin:?} of {bare:?}: {}", v.reason));
                }
            }
            if let Some(sol) = rows[k].get("solution").and_then(Value::as_str)
                && rows[k].get("answer").is_some()
                && !verify(sol, gold).equivalent
            {
                failures.push(format!("{name}:{line}: worked solution's last box differs from answer {gold:?}"));
            }
            let next = &golds[(k + 1) % golds.len()];
            if verify(next, gold).equivalent {
                let nb = extract_answer(next).unwrap_or_default();
                // A true coincidence: the neighbour's answer has the same value written the same way up to spacing.
                let squash = |s: &str| {
                    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                    // `x=5` states the same value as `5`.
                    let s = match s.split_once('=') {
                        Some((l, r)) if l.len() == 1 && l.chars().all(char::is_alphabetic) => r.to_string(),
                        _ => s,
                    };
                    s.replace("\\dfrac", "\\frac")
                };
                if squash(&nb) == squash(&bare) {
                    coincidences.push(format!("{name}:{line}: {bare:?} = neighbour {nb:?}"));
                } else {
                    failures.push(format!("{name}:{line}: {bare:?} judged equal to neighbour {nb:?}"));
                }
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "datasets: {checked} gold answers checked; {} failures; {} true coincidences with a neighbour",
        failures.len(),
        coincidences.len()
    );
    for c in &coincidences {
        eprintln!("  coincidence {c}");
    }
    if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

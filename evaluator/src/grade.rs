//! `cir-eval grade`: verify one prediction against a gold answer, or a JSONL file of cases.
//!
//! Case lines are objects with `pred`, `gold` and optional `expected` (bool); output lines repeat the input
//! object and add `verdict` (bool), `reason` (text) and `micros` (verification time). A malformed line is reported
//! in the summary and skipped; it never stops the run.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use cir_verify::{Options, Verdict, verify_with};
use serde_json::Value;

/// The verdict on one pair, as the `--json` output prints it.
pub fn pair_json(pred: &str, gold: &str, opts: &Options) -> (Verdict, Value) {
    let start = Instant::now();
    let v = verify_with(pred, gold, opts);
    let micros = start.elapsed().as_secs_f64() * 1e6;
    let json = serde_json::json!({
        "equivalent": v.equivalent,
        "reason": v.reason.to_string(),
        "pred_answer": cir_verify::extract_answer(pred),
        "gold_answer": cir_verify::extract_answer(gold),
        "micros": micros,
    });
    (v, json)
}

/// Counts and latencies of a `--cases` run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Lines graded.
    pub graded: usize,
    /// Lines skipped because they were not objects with string `pred` and `gold`: `(line number, why)`.
    pub malformed: Vec<(usize, String)>,
    /// Graded lines that carried `expected`.
    pub with_expected: usize,
    /// Of those, how many verdicts agreed with `expected`.
    pub agree: usize,
    /// Graded lines judged equivalent.
    pub equivalent: usize,
    /// Median verification time per pair, microseconds.
    pub median_micros: f64,
    /// 99th-percentile verification time per pair, microseconds.
    pub p99_micros: f64,
    /// Slowest pair, microseconds.
    pub max_micros: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "graded {} pairs ({} equivalent)", self.graded, self.equivalent)?;
        if self.with_expected > 0 {
            let pct = 100.0 * self.agree as f64 / self.with_expected as f64;
            write!(f, "; agreement with expected: {}/{} ({pct:.1}%)", self.agree, self.with_expected)?;
        }
        write!(
            f,
            "; latency per pair: median {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            self.median_micros, self.p99_micros, self.max_micros
        )?;
        if !self.malformed.is_empty() {
            write!(f, "; {} malformed lines skipped", self.malformed.len())?;
        }
        Ok(())
    }
}

/// Grades every line of `input`, writing result lines to `out` when given.
///
/// # Errors
/// When `input` cannot be read or `out` cannot be written; malformed lines are not errors.
pub fn run_cases(input: &Path, out: Option<&Path>, opts: &Options) -> Result<Summary, crate::Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| crate::Error::Io { path, source }
    };
    let file = std::fs::File::open(input).map_err(io(input))?;
    let mut writer = match out {
        Some(p) => Some(BufWriter::new(std::fs::File::create(p).map_err(io(p))?)),
        None => None,
    };
    let mut summary = Summary::default();
    let mut times = Vec::new();
    for (k, line) in BufReader::new(file).lines().enumerate() {
        let lineno = k + 1;
        let line = line.map_err(io(input))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut case = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                summary.malformed.push((lineno, "not a JSON object".into()));
                continue;
            }
            Err(e) => {
                summary.malformed.push((lineno, format!("invalid JSON: {e}")));
                continue;
            }
        };
        let (Some(pred), Some(gold)) =
            (case.get("pred").and_then(Value::as_str), case.get("gold").and_then(Value::as_str))
        else {
            summary.malformed.push((lineno, "missing string `pred` or `gold`".into()));
            continue;
        };
        let start = Instant::now();
        let v = verify_with(pred, gold, opts);
        let micros = start.elapsed().as_secs_f64() * 1e6;
        times.push(micros);
        summary.graded += 1;
        summary.equivalent += usize::from(v.equivalent);
        if let Some(e) = case.get("expected").and_then(Value::as_bool) {
            summary.with_expected += 1;
            summary.agree += usize::from(e == v.equivalent);
        }
        if let Some(w) = writer.as_mut() {
            case.insert("verdict".into(), Value::Bool(v.equivalent));
            case.insert("reason".into(), Value::String(v.reason.to_string()));
            case.insert("micros".into(), serde_json::json!(micros));
            let out_path = out.unwrap_or(input);
            serde_json::to_writer(&mut *w, &case).map_err(|e| io(out_path)(e.into()))?;
            w.write_all(b"\n").map_err(io(out_path))?;
        }
    }
    if let (Some(mut w), Some(out)) = (writer, out) {
        w.flush().map_err(io(out))?;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    summary.median_micros = at(0.5);
    summary.p99_micros = at(0.99);
    summary.max_micros = times.last().copied().unwrap_or(0.0);
    Ok(summary)
}

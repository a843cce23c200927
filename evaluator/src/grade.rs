//! `cir-eval grade`: verify one prediction against a gold answer, or a JSONL file of cases.
//!
//! Case lines are objects with `pred`, `gold` and optional `expected` (bool); output lines repeat the input
//! object and add `verdict` (bool), `reason` (text) and `micros` (verification time). A malformed line is reported
//! in the summary and skipped; it never stops the run.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use cir_verify::{Options, PercentMode, Verdict, verify_with};
use serde_json::Value;

/// Command-line flags for the conventions graders disagree on; every default is [`Options::default`].
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Conventions {
    /// Compare bare lists in order (default: unordered, like sets of roots).
    #[arg(long)]
    pub ordered_lists: bool,
    /// Compare parenthesized tuples as sets (symeval's compare_sets).
    #[arg(long)]
    pub unordered_tuples: bool,
    /// How `%` is read: `lenient` (a bare 28 or 0.28 equals 28%; two percents as written; default), `unit` (28
    /// only), `scaled` (0.28 only) or `each-side` (each side's % either way, so 0.4% equals 40%: Qwen2.5-Math's
    /// include_percentage).
    #[arg(long, value_parser = PercentMode::NAMES, default_value = "lenient")]
    pub percent: String,
    /// Also accept numbers 100× apart (symeval's convention).
    #[arg(long)]
    pub percent_scaling: bool,
    /// Accept a consistent renaming of variables (Math-Verify's strict=False).
    #[arg(long)]
    pub allow_renaming: bool,
    /// Do not compare a relation prediction with a set gold (Math-Verify's allow_set_relation_comp=False).
    #[arg(long)]
    pub no_relation_vs_set: bool,
    /// Compare a decimal at the precision of the shorter of the two written (3.14 equals 3.1: FinQA-style
    /// finqa_equal). Default: two decimals are equal only when they are the same number.
    #[arg(long)]
    pub coarser_decimal_precision: bool,
    /// Relative tolerance for numbers (default: none; a decimal counts to the precision written against a value
    /// with no finite decimal form).
    #[arg(long)]
    pub rel_tol: Option<f64>,
    /// When nothing else is found, take the last integer on the last line of a response.
    #[arg(long)]
    pub lenient_last_line: bool,
}

impl Conventions {
    /// The verifier options these flags select.
    pub fn options(&self) -> Options {
        Options {
            ordered_lists: self.ordered_lists,
            unordered_tuples: self.unordered_tuples,
            percent: self.percent.parse().unwrap_or_default(),
            percent_scaling: self.percent_scaling,
            allow_renaming: self.allow_renaming,
            relation_vs_set: !self.no_relation_vs_set,
            coarser_decimal_precision: self.coarser_decimal_precision,
            relative_tolerance: self.rel_tol,
            lenient_last_line: self.lenient_last_line,
        }
    }
}

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
pub fn run_cases(input: &Path, out: Option<&Path>, opts: &Options) -> anyhow::Result<Summary> {
    let file = std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let mut writer = match out {
        Some(p) => Some(BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)),
        None => None,
    };
    let mut summary = Summary::default();
    let mut times = Vec::new();
    for (k, line) in BufReader::new(file).lines().enumerate() {
        let lineno = k + 1;
        let line = line.with_context(|| format!("reading {} line {lineno}", input.display()))?;
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
            serde_json::to_writer(&mut *w, &case)?;
            w.write_all(b"\n")?;
        }
    }
    if let Some(mut w) = writer {
        w.flush()?;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    summary.median_micros = at(0.5);
    summary.p99_micros = at(0.99);
    summary.max_micros = times.last().copied().unwrap_or(0.0);
    Ok(summary)
}

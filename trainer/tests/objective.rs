//! The RL objective against verl: every case of the fixture made by `trainer/scripts/verl_objective.sh` (verl's
//! own `core_algos` functions) goes through `objective::run_json`, the code of `cir-train objective`, and every
//! number must match verl's to [`TOL`].
#![cfg(feature = "flex")]

use std::io::Write;
use std::process::{Command, Stdio};

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_trainer::objective::{entropy_from_logits, k3_kl, run_json};
use serde::Deserialize;
use serde_json::{Value, json};

/// `|ours − verl| ≤ TOL · max(1, |verl|)`: absolute below 1, relative above (f32 arithmetic in both, summed in
/// other orders).
const TOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Fixture {
    verl: String,
    batches: Vec<Batch>,
    k3_kl: KlCase,
    entropy: EntropyCase,
}

#[derive(Deserialize)]
struct Batch {
    name: String,
    input: serde_json::Map<String, Value>,
    advantages: std::collections::HashMap<String, Vec<Vec<f64>>>,
    losses: Vec<LossCase>,
}

#[derive(Deserialize)]
struct LossCase {
    estimator: String,
    loss_agg: String,
    pg_loss: f64,
    pg_clipfrac: f64,
    pg_clipfrac_lower: f64,
    ppo_kl: f64,
}

#[derive(Deserialize)]
struct KlCase {
    log_probs: Vec<Vec<f32>>,
    ref_log_probs: Vec<Vec<f32>>,
    kl: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct EntropyCase {
    logits: Vec<Vec<Vec<f32>>>,
    entropy: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct Output {
    advantages: Vec<Vec<f64>>,
    pg_loss: f64,
    pg_clipfrac: f64,
    pg_clipfrac_lower: f64,
    ppo_kl: f64,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/objective/verl.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture present")).expect("fixture parses")
}

/// The largest absolute and relative differences seen, and the check against [`TOL`].
#[derive(Default)]
struct Diff {
    abs: f64,
    rel: f64,
    /// verl's value where the relative difference is largest.
    rel_at: f64,
    count: usize,
}

impl Diff {
    #[track_caller]
    fn check(&mut self, ours: f64, verl: f64, what: &str) {
        let abs = (ours - verl).abs();
        self.abs = self.abs.max(abs);
        if verl != 0.0 && abs / verl.abs() > self.rel {
            self.rel = abs / verl.abs();
            self.rel_at = verl;
        }
        self.count += 1;
        assert!(abs <= TOL * verl.abs().max(1.0), "{what}: ours {ours}, verl {verl} (diff {abs:e})");
    }
}

/// A batch's input with the estimator and aggregation named.
fn input(batch: &Batch, estimator: &str, loss_agg: &str) -> String {
    let mut input = batch.input.clone();
    input.insert("estimator".into(), json!(estimator));
    input.insert("loss_agg".into(), json!(loss_agg));
    Value::Object(input).to_string()
}

#[test]
fn every_fixture_case_matches_verl() {
    let fixture = fixture();
    let mut diff = Diff::default();
    let mut cases = 0;
    for batch in &fixture.batches {
        for case in &batch.losses {
            let what = format!("{} / {} / {}", batch.name, case.estimator, case.loss_agg);
            let text =
                run_json(&input(batch, &case.estimator, &case.loss_agg)).unwrap_or_else(|e| panic!("{what}: {e}"));
            let out: Output = serde_json::from_str(&text).expect("output parses");
            let expected = &batch.advantages[&case.estimator];
            assert_eq!(out.advantages.len(), expected.len(), "{what}: rows");
            for (i, (ours, verl)) in out.advantages.iter().zip(expected).enumerate() {
                assert_eq!(ours.len(), verl.len(), "{what}: row {i} length");
                for (t, (a, b)) in ours.iter().zip(verl).enumerate() {
                    diff.check(*a, *b, &format!("{what}: advantages[{i}][{t}]"));
                }
            }
            diff.check(out.pg_loss, case.pg_loss, &format!("{what}: pg_loss"));
            diff.check(out.pg_clipfrac, case.pg_clipfrac, &format!("{what}: pg_clipfrac"));
            diff.check(out.pg_clipfrac_lower, case.pg_clipfrac_lower, &format!("{what}: pg_clipfrac_lower"));
            diff.check(out.ppo_kl, case.ppo_kl, &format!("{what}: ppo_kl"));
            cases += 1;
        }
    }
    assert_eq!(cases, 3 * 3 * fixture.batches.len(), "every estimator × aggregation in every batch");
    eprintln!(
        "verl {}: {cases} cases, {} numbers, max abs diff {:e}, max rel diff {:e} (at verl = {})",
        fixture.verl, diff.count, diff.abs, diff.rel, diff.rel_at
    );
}

#[test]
fn k3_kl_and_entropy_match_verl() {
    let fixture = fixture();
    let device = Device::flex();
    let matrix = |m: &[Vec<f32>]| Tensor::<2>::from_data(TensorData::new(m.concat(), [m.len(), m[0].len()]), &device);
    let mut diff = Diff::default();
    let kl = k3_kl(matrix(&fixture.k3_kl.log_probs), matrix(&fixture.k3_kl.ref_log_probs));
    let kl = kl.try_into_vec_as::<f32>().expect("read back");
    for (k, (ours, verl)) in kl.iter().zip(fixture.k3_kl.kl.iter().flatten()).enumerate() {
        diff.check(f64::from(*ours), *verl, &format!("k3_kl[{k}]"));
    }
    let logits = &fixture.entropy.logits;
    let (rows, t, vocab) = (logits.len(), logits[0].len(), logits[0][0].len());
    let flat: Vec<f32> = logits.iter().flatten().flatten().copied().collect();
    let entropy = entropy_from_logits(Tensor::<3>::from_data(TensorData::new(flat, [rows, t, vocab]), &device));
    let entropy = entropy.try_into_vec_as::<f32>().expect("read back");
    for (k, (ours, verl)) in entropy.iter().zip(fixture.entropy.entropy.iter().flatten()).enumerate() {
        diff.check(f64::from(*ours), *verl, &format!("entropy[{k}]"));
    }
    eprintln!(
        "k3_kl and entropy: max abs diff {:e}, max rel diff {:e} (at verl = {})",
        diff.abs, diff.rel, diff.rel_at
    );
}

/// Runs `cir-train objective` with `stdin`; returns (success, stdout, stderr).
fn cli(stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cir-train"))
        .arg("objective")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cir-train runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("cir-train exits");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn the_binary_reads_one_case_on_stdin() {
    let fixture = fixture();
    let batch = &fixture.batches[0];
    let case = &batch.losses[0];
    let (ok, stdout, stderr) = cli(&input(batch, &case.estimator, &case.loss_agg));
    assert!(ok, "{stderr}");
    let out: Output = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    let mut diff = Diff::default();
    diff.check(out.pg_loss, case.pg_loss, "pg_loss");
    diff.check(out.ppo_kl, case.ppo_kl, "ppo_kl");
    assert_eq!(out.advantages.len(), batch.advantages[&case.estimator].len());

    let (ok, stdout, stderr) = cli(r#"{"group_ids": ["a"]}"#);
    assert!(!ok && stdout.is_empty(), "bad input fails");
    assert!(stderr.contains("invalid objective input") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let fixture = fixture();
    let good = Value::Object(fixture.batches[0].input.clone());
    let set = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut at = &mut v;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value;
        v.to_string()
    };
    let remove = |key: &str| {
        let mut v = good.clone();
        v.as_object_mut().expect("object").remove(key);
        v.to_string()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("ragged row", set(&["log_probs", "2"], json!([-1.0, -2.0])), "log_probs[2] has 2 numbers"),
        ("too few rewards", set(&["rewards"], json!([1.0])), "rewards has 1 numbers, group_ids 10 rows"),
        ("too few mask rows", set(&["loss_mask"], json!([[1.0]])), "loss_mask has 1 rows"),
        ("NaN", good.to_string().replacen("\"rewards\":[", "\"rewards\":[NaN,", 1), "NaN"),
        (
            "overflowing number",
            set(&["old_log_probs", "0", "0"], json!(1e39)),
            "old_log_probs[0][0] is not a finite f32",
        ),
        ("unknown estimator", set(&["estimator"], json!("ppo")), "unknown variant `ppo`"),
        ("unknown aggregation", set(&["loss_agg"], json!("token-sum")), "unknown variant `token-sum`"),
        ("fractional mask", set(&["response_mask", "0", "0"], json!(0.5)), "response_mask[0][0] is 0.5"),
        ("dual clip at 1", set(&["dual_clip"], json!(1.0)), "dual clip 1"),
        ("missing field", remove("clip_high"), "missing field `clip_high`"),
        ("unknown field", set(&["entropy_coeff"], json!(0.0)), "unknown field `entropy_coeff`"),
        ("no rows", set(&["group_ids"], json!([])), "group_ids is empty"),
        ("not JSON", "{".to_owned(), "EOF"),
    ];
    for (name, text, needle) in cases {
        let err = run_json(&text).expect_err(name).to_string();
        assert!(err.starts_with("invalid objective input") && err.contains(needle), "{name}: {err}");
    }
}

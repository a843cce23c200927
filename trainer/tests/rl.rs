//! `cir-train rl` end to end on the CPU with the demo preset shrunk to seconds: everything a run writes, resuming
//! to identical weights, and bad input refused before any work.
#![cfg(feature = "flex")]

use std::path::{Path, PathBuf};

use cir_trainer::rl::config::RlConfig;
use cir_trainer::rl::{RunOptions, train};

fn tiny(seed: u64, steps: u64) -> RlConfig {
    RlConfig { seed, steps, ..RlConfig::preset("smoke").expect("the smoke preset") }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cir-rl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(config: RlConfig, out: &Path, resume: bool, steps: Option<u64>) -> cir_trainer::rl::RunSummary {
    let options = RunOptions { config, out: out.to_path_buf(), resume, steps, progress: false };
    train(&options, &|_| {}).expect("the run trains")
}

#[test]
fn a_short_run_writes_metrics_rollouts_checkpoints_and_validation() {
    let out = scratch("short");
    let s = run(tiny(1, 2), &out, false, None);
    assert_eq!((s.step, s.metrics.len()), (2, 2));
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    for (i, line) in lines.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["step"], i + 1);
        let reward = v["reward_mean"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&reward), "{line}");
        assert!(v["grad_norm"].as_f64().unwrap().is_finite());
        // Log-probs recomputed at the first forward equal the ones recorded when sampling (CPU, f32).
        assert!(v["logprob_diff_max"].as_f64().unwrap() < 1e-3, "{line}");
    }
    // Rollouts are schema-2, token-exact trajectories.
    let rollouts = std::fs::read_to_string(out.join("rollouts/step-000001.jsonl")).unwrap();
    let t: cir_record::Trajectory = serde_json::from_str(rollouts.lines().next().unwrap()).unwrap();
    assert_eq!(t.schema, 2);
    assert!(t.token_view().is_some());
    assert_eq!(rollouts.lines().count(), 8);
    // The checkpoint is a Hugging Face folder this crate (and transformers) loads, with the run state.
    let ckpt = out.join("checkpoints/step-000002");
    for file in ["config.json", "model.safetensors", "tokenizer.json", "optimizer.mpk", "state.json"] {
        assert!(ckpt.join(file).is_file(), "{file} missing");
    }
    assert_eq!(std::fs::read_to_string(out.join("checkpoints/latest")).unwrap(), "step-000002");
    cir_trainer::load_hf_dir(&ckpt, &burn::prelude::Device::flex()).expect("the checkpoint loads");
    // Validation before training and at step 2, with and without the tool at the ends.
    assert_eq!(s.validation.iter().map(|v| v.step).collect::<Vec<_>>(), [0, 2]);
    assert!(s.validation.iter().all(|v| v.accuracy_without_tool.is_some()));
    assert!(out.join("validation/step-000002.jsonl").is_file());
    // A second run into the same folder is refused; the config was written.
    let again = train(
        &RunOptions { config: tiny(1, 2), out: out.clone(), resume: false, steps: None, progress: false },
        &|_| {},
    );
    assert!(again.unwrap_err().to_string().contains("--resume"));
    assert!(std::fs::read_to_string(out.join("config.toml")).unwrap().contains("seed = 1"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_demo_warm_start_probes_through_the_loop_and_the_sandbox() {
    let out = scratch("probe");
    let mut c = tiny(2, 1);
    c.warm_start.check_every = 2;
    c.warm_start.probe = 4;
    c.warm_start.target = 1.0;
    run(c, &out, false, None);
    let history = std::fs::read_to_string(out.join("warmstart/probe.jsonl")).unwrap();
    let probes: Vec<serde_json::Value> = history.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(probes.iter().map(|p| p["step"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 4]);
    // An untrained model solves nothing, so the unreachable target lets every step run.
    assert!(probes.iter().all(|p| p["success"].as_f64() == Some(0.0)), "{history}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn four_steps_equal_two_then_resume_then_two() {
    let straight = scratch("straight");
    run(tiny(3, 4), &straight, false, None);
    let split = scratch("split");
    run(tiny(3, 2), &split, false, None);
    run(tiny(3, 2), &split, true, Some(4));
    let weights = |dir: &Path| std::fs::read(dir.join("checkpoints/step-000004/model.safetensors")).unwrap();
    assert!(weights(&straight) == weights(&split), "resumed weights differ from an uninterrupted run's");
    let metrics = |dir: &Path| std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let rewards = |text: String| {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["reward_mean"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(rewards(metrics(&straight)), rewards(metrics(&split)));
    std::fs::remove_dir_all(&straight).unwrap();
    std::fs::remove_dir_all(&split).unwrap();
}

#[test]
fn bad_input_is_refused_before_any_work() {
    let out = scratch("bad");
    let refuse = |config: RlConfig, resume: bool| {
        let options = RunOptions { config, out: out.clone(), resume, steps: None, progress: false };
        train(&options, &|_| {}).unwrap_err().to_string()
    };
    let mut c = tiny(0, 1);
    c.data.dataset = "builtin:nope".into();
    assert!(refuse(c, false).contains("built in"));
    let _ = std::fs::remove_dir_all(&out);
    let mut c = tiny(0, 1);
    c.model = "/no/such/model.gguf".into();
    assert!(refuse(c, false).contains("built-in model"));
    let _ = std::fs::remove_dir_all(&out);
    let mut c = tiny(0, 1);
    c.optim.micro_batch_tokens = 10;
    assert!(refuse(c, false).contains("micro_batch_tokens"));
    assert!(refuse(tiny(0, 1), true).contains("not a run folder"));
    assert!("2@5".parse::<cir_rollout::ToolBudget>().is_err());
    let _ = std::fs::remove_dir_all(&out);
}

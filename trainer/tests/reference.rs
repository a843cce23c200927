//! The decoder against Hugging Face transformers: fixtures made by
//! `trainer/scripts/make_fixtures.py` (tiny random models, reference logits, next-token
//! log-probs and greedy continuations).
#![cfg(feature = "flex")]

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_trainer::{
    Error, FinishReason, ModelConfig, SamplingParams, generate, load_hf_dir, save_hf_dir, token_log_probs,
};
use serde::Deserialize;

/// Max-abs tolerance on logits and log-probs (f32).
const TOL: f32 = 1e-4;

fn device() -> Device {
    Device::flex()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    prompt: Vec<u32>,
    logits: Vec<Vec<f32>>,
    next_token_logprobs: Vec<f32>,
    greedy: Vec<u32>,
}

fn reference(dir: &Path) -> Reference {
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

/// `prompt` as a one-row batch.
fn tokens(prompt: &[u32]) -> Tensor<2, Int> {
    let ids: Vec<i64> = prompt.iter().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(ids, [1, prompt.len()]), &device())
}

fn logits(model: &cir_trainer::Model, config: &ModelConfig, prompt: &[u32]) -> Vec<Vec<f32>> {
    let out = model.forward(tokens(prompt), config);
    let flat = out.try_into_vec_as::<f32>().expect("f32 logits");
    flat.chunks(config.vocab_size).map(<[f32]>::to_vec).collect()
}

/// `token_log_probs` of each prompt token after the first, from one forward pass.
fn next_token_log_probs(model: &cir_trainer::Model, config: &ModelConfig, prompt: &[u32]) -> Vec<f32> {
    let n = prompt.len();
    if n < 2 {
        return Vec::new();
    }
    let logits = model.forward(tokens(&prompt[..n - 1]), config);
    let targets = tokens(&prompt[1..]);
    token_log_probs(logits, targets).try_into_vec_as::<f32>().expect("f32 log-probs")
}

fn log_softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let z = max + row.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
    row.iter().map(|l| l - z).collect()
}

#[track_caller]
fn check_against_reference(name: &str) {
    let dir = fixture(name);
    let (config, model) = load_hf_dir(&dir, &device()).expect("fixture loads");
    for case in reference(&dir).cases {
        let ours = logits(&model, &config, &case.prompt);
        let diff =
            ours.iter().flatten().zip(case.logits.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff <= TOL, "{name}: max-abs logit diff {diff} > {TOL}");
        let on_device = next_token_log_probs(&model, &config, &case.prompt);
        for (i, want) in case.next_token_logprobs.iter().enumerate() {
            let got = log_softmax(&ours[i])[case.prompt[i + 1] as usize];
            assert!((got - want).abs() <= TOL, "{name}: log-prob at {i}: {got} vs {want}");
            let got = on_device[i];
            assert!((got - want).abs() <= TOL, "{name}: token_log_probs at {i}: {got} vs {want}");
        }
        let out = generate(
            &model,
            &config,
            None,
            std::slice::from_ref(&case.prompt),
            &SamplingParams::greedy(case.greedy.len()),
        )
        .expect("generates");
        assert_eq!(out[0].tokens, case.greedy, "{name}: greedy continuation");
        assert_eq!(out[0].finish, FinishReason::Length);
    }
}

#[test]
fn qwen2_f32_matches_transformers() {
    check_against_reference("qwen2-tiny");
}

#[test]
fn qwen2_bf16_sharded_matches_transformers() {
    check_against_reference("qwen2-tiny-bf16-sharded");
}

#[test]
fn llama_tied_matches_transformers() {
    check_against_reference("llama-tiny");
}

#[test]
fn qwen3_matches_transformers() {
    check_against_reference("qwen3-tiny");
}

#[test]
fn sampled_logprobs_are_the_models() {
    // The log-probs returned with sampled tokens equal a full forward's over prompt + sample.
    let dir = fixture("qwen2-tiny");
    let (config, model) = load_hf_dir(&dir, &device()).expect("fixture loads");
    let prompt = vec![3u32, 1, 4, 1, 5];
    let params = SamplingParams { max_new_tokens: 6, seed: 11, ..SamplingParams::default() };
    let out = generate(&model, &config, None, std::slice::from_ref(&prompt), &params).expect("generates");
    let full: Vec<u32> = prompt.iter().chain(&out[0].tokens).copied().collect();
    let rows = logits(&model, &config, &full);
    for (i, (&tok, &lp)) in out[0].tokens.iter().zip(&out[0].logprobs).enumerate() {
        let want = log_softmax(&rows[prompt.len() - 1 + i])[tok as usize];
        assert!((lp - want).abs() <= TOL, "token {i}: {lp} vs {want}");
    }
}

#[test]
fn batched_greedy_equals_one_by_one() {
    // Left padding and dropping finished rows must not change any row's continuation.
    let dir = fixture("llama-tiny");
    let (config, model) = load_hf_dir(&dir, &device()).expect("fixture loads");
    let prompts: Vec<Vec<u32>> = reference(&dir).cases.into_iter().map(|c| c.prompt).collect();
    let batched = generate(&model, &config, None, &prompts, &SamplingParams::greedy(8)).expect("batch");
    for (prompt, got) in prompts.iter().zip(&batched) {
        let single =
            generate(&model, &config, None, std::slice::from_ref(prompt), &SamplingParams::greedy(8)).expect("single");
        assert_eq!(got.tokens, single[0].tokens);
        for (a, b) in got.logprobs.iter().zip(&single[0].logprobs) {
            assert!((a - b).abs() <= TOL);
        }
    }
}

#[test]
fn save_then_load_round_trips() {
    // Qwen3 too: its q/k norms must be written back.
    for name in ["qwen2-tiny", "qwen3-tiny"] {
        let (config, model) = load_hf_dir(&fixture(name), &device()).expect("fixture loads");
        let dir = std::env::temp_dir().join(format!("cir-trainer-roundtrip-{name}-{}", std::process::id()));
        save_hf_dir(&dir, &config, &model).expect("saves");
        let (config2, model2) = load_hf_dir(&dir, &device()).expect("reloads");
        assert_eq!(config, config2);
        let prompt = [5u32, 6, 7];
        assert_eq!(logits(&model, &config, &prompt), logits(&model2, &config2, &prompt), "{name}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn missing_tensor_and_bad_architecture_are_named() {
    let dir = std::env::temp_dir().join(format!("cir-trainer-broken-{}", std::process::id()));
    let (config, model) = load_hf_dir(&fixture("llama-tiny"), &device()).expect("fixture loads");
    save_hf_dir(&dir, &config, &model).expect("saves");
    let mut wrong = config.clone();
    wrong.num_hidden_layers += 1;
    std::fs::write(dir.join("config.json"), wrong.to_hf_json().to_string()).expect("writes");
    match load_hf_dir(&dir, &device()) {
        Err(Error::MissingTensor(name)) => assert_eq!(name, "model.layers.2.input_layernorm.weight"),
        other => panic!("expected a missing tensor, got {other:?}"),
    }
    let mut wrong = config.clone();
    wrong.intermediate_size += 1;
    std::fs::write(dir.join("config.json"), wrong.to_hf_json().to_string()).expect("writes");
    assert!(matches!(load_hf_dir(&dir, &device()), Err(Error::ShapeMismatch { .. })));
    let mut json = config.to_hf_json();
    json["architectures"] = serde_json::json!(["MistralForCausalLM"]);
    std::fs::write(dir.join("config.json"), json.to_string()).expect("writes");
    assert!(matches!(load_hf_dir(&dir, &device()), Err(Error::UnsupportedArchitecture(_))));
    std::fs::remove_dir_all(&dir).ok();
}

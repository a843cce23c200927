//! The GPU code path through wgpu (in CI: Mesa's lavapipe, a software Vulkan driver).
//! Built with the `wgpu` feature (on by default); skipped with a message when no Vulkan driver is
//! installed (`apt-get install mesa-vulkan-drivers`), except under CI (`CI` set), where
//! that is a failure (as for the real-model tests).
#![cfg(feature = "wgpu")]

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_trainer::{DeviceKind, SamplingParams, generate, load_hf_dir, token_log_probs};

/// GPU reductions run in another order than the CPU's: a looser tolerance than the 1e-4 of
/// the CPU reference tests.
const TOL: f32 = 1e-3;

fn vulkan_driver_present() -> bool {
    ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
        .iter()
        .any(|d| std::fs::read_dir(d).is_ok_and(|mut entries| entries.next().is_some()))
}

/// True (after a message) when the test is to be skipped: no Vulkan driver, outside CI. Under CI a missing driver
/// fails the test.
fn skipped_without_vulkan() -> bool {
    if vulkan_driver_present() {
        return false;
    }
    assert!(std::env::var_os("CI").is_none(), "no Vulkan driver installed (apt-get install mesa-vulkan-drivers)");
    eprintln!("skipped: no Vulkan driver (apt-get install mesa-vulkan-drivers)");
    true
}

#[test]
fn wgpu_matches_the_cpu_backend() {
    if skipped_without_vulkan() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qwen2-tiny");
    let cpu = DeviceKind::Cpu.device().expect("cpu");
    let gpu = DeviceKind::Wgpu.device().expect("wgpu compiled in");
    let (config, cpu_model) = load_hf_dir(&dir, &cpu).expect("loads on cpu");
    let (_, gpu_model) = load_hf_dir(&dir, &gpu).expect("loads on wgpu");
    let prompt: Vec<i64> = vec![1, 5, 9, 200, 17];
    let run = |model: &cir_trainer::Model, device: &Device| {
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(prompt.clone(), [1, prompt.len()]), device);
        model.forward(tokens, &config).try_into_vec_as::<f32>().expect("f32")
    };
    let diff =
        run(&cpu_model, &cpu).iter().zip(run(&gpu_model, &gpu)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff <= TOL, "cpu vs wgpu max-abs logit diff {diff}");
    // Two prompts of different lengths: the shorter is left-padded, so blocked (-inf) mask entries and padding
    // queries run on the GPU too.
    let ids = vec![vec![1u32, 5, 9], vec![7u32, 3, 11, 200, 42, 8]];
    let a = generate(&cpu_model, &config, None, &ids, &SamplingParams::greedy(4)).expect("cpu");
    let b = generate(&gpu_model, &config, None, &ids, &SamplingParams::greedy(4)).expect("gpu");
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.tokens, b.tokens);
        assert!(b.logprobs.iter().all(|l| l.is_finite()), "{:?}", b.logprobs);
    }
}

/// The gradients of a loss of the log-probs through the whole model: on the CPU the attention's own backward pass
/// (recomputed probabilities), on wgpu burn's autodiff over the materialised scores.
#[test]
fn wgpu_gradients_match_the_cpu_backend() {
    if skipped_without_vulkan() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qwen2-tiny");
    let ids: Vec<i64> = (0..2 * 12).map(|i| (i * 37 + 5) % 250).collect();
    let grads = |kind: DeviceKind| {
        let device = kind.device().expect("compiled in").autodiff();
        let (config, model) = load_hf_dir(&dir, &device).expect("loads");
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [2, 12]), &device);
        let logits = model.forward(tokens.clone().slice([0..2, 0..11]), &config);
        let lp = token_log_probs(logits, tokens.slice([0..2, 1..12]));
        let weights =
            Tensor::<1>::from_data(TensorData::new((0..22).map(|i| (i % 5) as f32 - 2.0).collect(), [22]), &device);
        let grads = (lp.reshape([22]) * weights).sum().backward();
        let attn = &model.layers[0].self_attn;
        [&attn.q_proj.weight, &attn.k_proj.weight, &attn.v_proj.weight, &model.embed_tokens.weight]
            .map(|p| p.val().grad(&grads).expect("a gradient").try_into_vec_as::<f32>().expect("f32"))
    };
    let (cpu, gpu) = (grads(DeviceKind::Cpu), grads(DeviceKind::Wgpu));
    for (name, (c, g)) in ["q_proj", "k_proj", "v_proj", "embed_tokens"].iter().zip(cpu.iter().zip(&gpu)) {
        let scale = c.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        let diff = c.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff <= TOL * scale, "{name}: cpu vs wgpu max-abs gradient diff {diff} (largest {scale})");
    }
}

/// Two RL steps of the demo's tiny model with every tensor on wgpu (CI: lavapipe): rollouts, the update, the
/// checkpoint.
#[test]
fn two_rl_steps_train_on_wgpu() {
    if skipped_without_vulkan() {
        return;
    }
    let mut c = cir_trainer::rl::config::RlConfig::preset("smoke").expect("the smoke preset");
    c.device = "wgpu".into();
    // Lavapipe is slow: half the prompts, shorter rollouts, no validation.
    c.rollout.prompts_per_step = 2;
    c.rollout.max_response_tokens = 48;
    c.data.val_every = 0;
    let out = std::env::temp_dir().join(format!("cir-rl-wgpu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let options =
        cir_trainer::rl::RunOptions { config: c, out: out.clone(), resume: false, steps: None, progress: false };
    let s = cir_trainer::rl::train(&options, &|_| {}).expect("two steps train on wgpu");
    assert_eq!(s.metrics.len(), 2);
    assert!(s.metrics.iter().all(|m| m.grad_norm.is_finite() && m.entropy.is_finite()), "{:?}", s.metrics);
    assert!(out.join("checkpoints/step-000002/model.safetensors").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

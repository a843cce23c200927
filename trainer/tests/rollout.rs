//! Token-exact rollouts with the burn model in-process: SmolLM2-135M-Instruct (the built-in model, fetched by
//! `trainer/scripts/fetch-models.sh`) through the interaction loop with the real sandbox. The prompt ids and every
//! segment's ids decode to the trajectory's text byte for byte, and one forward pass over the whole sequence gives
//! back the log-probs recorded at sampling time.
#![cfg(feature = "flex")]

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_record::{Segment, Trajectory};
use cir_rollout::{Job, Loop, Settings, Verifier};
use cir_trainer::{Loaded, LocalOptions, LocalPolicy, load, token_log_probs};

/// Max-abs difference allowed between recorded and recomputed log-probs (f32 on the CPU).
const TOL: f32 = 1e-4;

fn model() -> Option<Loaded> {
    let home = cir_fetch::home();
    let path = home.join("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.exists() {
        assert!(std::env::var_os("CI").is_none(), "{} is missing: run trainer/scripts/fetch-models.sh", path.display());
        eprintln!("skipped: {} is missing", path.display());
        return None;
    }
    Some(load(&path, &Device::flex()).expect("the GGUF loads"))
}

const PROMPTS: [&str; 3] = [
    "Use Python to compute 123456789 * 987654321. Write one ```python code block that prints the result, then give the answer in \\boxed{}.",
    "Write a ```python block that prints the sum of the squares of 1 to 20, then state the result in \\boxed{}.",
    "What is 2 to the power 40? Use a ```python code block to print it, then answer in \\boxed{}.",
];

fn rollouts(reuse_cache: bool) -> Option<(Vec<Trajectory>, LocalPolicy, Loaded)> {
    let loaded = model()?;
    let again = model()?;
    let options = LocalOptions { chat: true, max_rows: 3, reuse_cache, ..LocalOptions::new("smollm2-135m") };
    let tokenizer = loaded.tokenizer.expect("GGUF tokenizer");
    let policy = LocalPolicy::new(loaded.model, loaded.config, tokenizer, options).expect("chat template");
    let sandbox = cir_runtime::Sandbox::builder().build().expect("the interpreter is prepared");
    let settings =
        Settings { temperature: 1.0, top_p: 1.0, max_tokens: 160, tool_budget: 2, seed: 3, ..Settings::default() };
    let jobs: Vec<Job> = PROMPTS.iter().enumerate().map(|(i, p)| Job::new("t", &i.to_string(), 0, p, "1")).collect();
    let mut out = Vec::new();
    Loop::new(&policy, &sandbox, &Verifier::default(), &settings).run(&jobs, &mut |t| {
        out.push(t);
        true
    });
    out.sort_by(|a, b| a.problem_id.cmp(&b.problem_id));
    Some((out, policy, again))
}

#[test]
fn in_process_rollouts_are_token_exact() {
    check_token_exact(true);
}

/// Prefilling every turn's whole context again (no kept cache) records log-probs that agree just as well.
#[test]
fn without_the_row_cache_too() {
    check_token_exact(false);
}

fn check_token_exact(reuse_cache: bool) {
    let Some((trajectories, policy, loaded)) = rollouts(reuse_cache) else { return };
    let tok = policy.tokenizer();
    let device = Device::flex();
    let mut worst = 0.0f32;
    let mut sampled = 0usize;
    for t in &trajectories {
        let view = t.token_view().unwrap_or_else(|| panic!("no token view: {t:?}"));
        // The ids decode to the text: the prompt with its chat markup, the rest without special tokens.
        assert_eq!(tok.decode(&view.ids[..view.prompt_len]).unwrap(), t.prompt);
        assert_eq!(tok.decode_text(&view.ids[view.prompt_len..]).unwrap(), t.response_text(), "{t:?}");
        for s in &t.segments {
            if let Segment::Output { feedback, ids, .. } = s {
                assert_eq!(&tok.decode(ids.as_deref().unwrap()).unwrap(), feedback, "feedback is tokenised alone");
            }
        }
        // One forward pass over the whole sequence gives the recorded log-probs of the sampled tokens.
        let ids: Vec<i64> = view.ids.iter().map(|&i| i64::from(i)).collect();
        let n = ids.len();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids[..n - 1].to_vec(), [1, n - 1]), &device);
        let target = Tensor::<2, Int>::from_data(TensorData::new(ids[1..].to_vec(), [1, n - 1]), &device);
        let logits = loaded.model.forward(input, &loaded.config);
        let recomputed = token_log_probs(logits, target).try_into_vec_as::<f32>().unwrap();
        for i in 1..n {
            if view.loss_mask[i] == 1 {
                worst = worst.max((recomputed[i - 1] - view.logprobs[i]).abs());
                sampled += 1;
            }
        }
    }
    eprintln!(
        "cache reuse {reuse_cache}: {} trajectories, {} tool calls, {sampled} sampled tokens: max |recorded - recomputed| log-prob = {worst:.2e}",
        trajectories.len(),
        trajectories.iter().map(|t| t.tool_calls).sum::<u32>()
    );
    assert!(worst <= TOL, "log-prob difference {worst} > {TOL}");
    assert!(trajectories.iter().any(|t| t.tool_calls > 0), "no tool call: the test needs one");
}

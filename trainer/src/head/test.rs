//! The chunked head against the plain autodiff of the full logits, on both of its paths.

use burn::prelude::*;
use burn::tensor::TensorData;

use super::*;
use crate::config::ModelConfig;
use crate::model::token_log_probs;
use crate::objective::{Clip, entropy_from_logits, ppo_token_losses};

const VOCAB: usize = 300;
const ROWS: usize = 3;
const SEQ: usize = 37;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

fn tensor(v: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// A pseudo-random value in `[-1, 1)` for index `i` and stream `s`.
fn noise(i: usize, s: usize) -> f32 {
    (((i * 2_654_435_761 + s * 40_503) % 1000) as f32) / 500.0 - 1.0
}

struct Case {
    model: Model,
    config: ModelConfig,
    inputs: Tensor<2, Int>,
    targets: Vec<u32>,
    old: Vec<f32>,
    adv: Vec<f32>,
    weight: Vec<f32>,
}

fn case(tied: bool) -> Case {
    let device = Device::flex().autodiff();
    let config = ModelConfig { tie_word_embeddings: tied, ..ModelConfig::tiny(VOCAB, 32, 2) };
    let model = config.init(&device);
    let ids: Vec<i64> = (0..ROWS * (SEQ + 1)).map(|i| ((i * 7919 + 13) % VOCAB) as i64).collect();
    let all = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [ROWS, SEQ + 1]), &device);
    let inputs = all.slice([0..ROWS, 0..SEQ]);
    let targets = (0..ROWS).flat_map(|r| (1..=SEQ).map(move |j| (r, j))).map(|(r, j)| ids[r * (SEQ + 1) + j] as u32);
    let n = ROWS * SEQ;
    Case {
        model,
        config,
        inputs,
        targets: targets.collect(),
        old: (0..n).map(|i| -5.8 + 0.6 * noise(i, 1)).collect(),
        adv: (0..n).map(|i| noise(i, 2)).collect(),
        weight: (0..n).map(|i| (1.0 + noise(i, 3)) / n as f32).collect(),
    }
}

fn param_grads(model: &Model, grads: &burn::tensor::Gradients) -> Vec<Vec<f32>> {
    let mut out = vec![values(model.embed_tokens.weight.grad(grads).unwrap())];
    if let Some(head) = &model.lm_head {
        out.push(values(head.weight.grad(grads).unwrap()));
    }
    out.push(values(model.layers[0].mlp.up_proj.weight.grad(grads).unwrap()));
    out.push(values(model.layers[1].self_attn.q_proj.weight.grad(grads).unwrap()));
    out
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 2e-5 * scale.max(1e-3), "{what}[{k}]: {g} vs {w} (scale {scale})");
    }
    assert_eq!(got.len(), want.len(), "{what}");
}

/// The loss `Σ weight · ppo_loss(log p)` differentiated through the whole `[rows, seq, vocab]` logits.
fn reference(c: &Case) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let device = c.inputs.device();
    let logits = c.model.forward(c.inputs.clone(), &c.config);
    let ids: Vec<i64> = c.targets.iter().map(|&t| i64::from(t)).collect();
    let targets = Tensor::<2, Int>::from_data(TensorData::new(ids, [ROWS, SEQ]), &device);
    let entropy = values(entropy_from_logits(logits.clone().detach()));
    let lp = token_log_probs(logits, targets).reshape([1, ROWS * SEQ]);
    let at = |v: &[f32]| tensor(v.to_vec(), &device).unsqueeze::<2>();
    let loss = (ppo_token_losses(lp.clone(), at(&c.old), at(&c.adv), &Clip::default()) * at(&c.weight)).sum();
    let grads = loss.backward();
    (values(lp), entropy, param_grads(&c.model, &grads))
}

/// The same through [`run`] in chunks of 16 rows (the last one short).
fn chunked(c: &Case, cpu: bool) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let hidden = c.model.forward_hidden(c.inputs.clone(), &c.config).reshape([ROWS * SEQ, 32]);
    let inner = hidden.device().inner();
    let mut grad = |lp: Tensor<1>, r: Range<usize>| {
        let leaf = lp.autodiff().require_grad();
        let at = |v: &[f32]| tensor(v[r.clone()].to_vec(), &inner).autodiff().unsqueeze::<2>();
        let losses = ppo_token_losses(leaf.clone().unsqueeze(), at(&c.old), at(&c.adv), &Clip::default());
        leaf.grad(&(losses * at(&c.weight)).sum().backward()).unwrap()
    };
    let (scores, head_grads) = run(&c.model, hidden.clone().inner(), &c.targets, Some(&mut grad), cpu, 16);
    let head_grads = head_grads.unwrap();
    let grads = surrogate(&c.model, hidden, head_grads).backward();
    (values(scores.log_probs), values(scores.entropy), param_grads(&c.model, &grads))
}

#[test]
fn chunked_log_probs_entropies_and_gradients_match_autodiff_through_the_full_logits() {
    for tied in [true, false] {
        let c = case(tied);
        let (lp, entropy, grads) = reference(&c);
        for cpu in [true, false] {
            let what = format!("tied {tied}, cpu path {cpu}");
            let (got_lp, got_entropy, got_grads) = chunked(&c, cpu);
            assert_close(&got_lp, &lp, &format!("{what}: log-probs"));
            assert_close(&got_entropy, &entropy, &format!("{what}: entropies"));
            for (k, (g, w)) in got_grads.iter().zip(&grads).enumerate() {
                assert_close(g, w, &format!("{what}: gradient {k}"));
            }
        }
    }
}

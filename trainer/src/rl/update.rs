//! The update of one training step: advantages, then per mini-batch the forward and backward of every micro-batch
//! (gradients accumulated), the global gradient-norm clip and one AdamW step.

use burn::optim::{GradientsAccumulator, GradientsParams};
use std::ops::Range;

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::batch::{MicroBatch, TrainRow, micro_batches};
use super::config::RlConfig;
use crate::config::ModelConfig;
use crate::head;
use crate::model::Model;
use crate::objective::{Clip, LossAgg, advantages, agg_weights, k3_kl, policy_loss, ppo_token_losses};
use crate::params::clip_grad_norm;

/// What an update measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateStats {
    /// Mean over micro-batches, weighted by their loss tokens.
    pub pg_loss: f32,
    /// Share of loss tokens whose ratio was clipped (verl's `pg_clipfrac`).
    pub clipfrac: f32,
    /// Share clipped by the dual clip (verl's `pg_clipfrac_lower`).
    pub clipfrac_lower: f32,
    /// Approximate KL between the old and the current policy on the loss tokens (verl's `ppo_kl`).
    pub ppo_kl: f32,
    /// Mean per-token entropy of the policy on the loss tokens.
    pub entropy: f32,
    /// Mean global gradient norm before clipping, over optimizer steps.
    pub grad_norm: f32,
    /// k3 KL to the reference model, when a reference is used.
    pub kl_ref: f32,
    /// At the first forward of the step, before any update: the largest and the mean |recomputed − recorded|
    /// log-prob of the sampled tokens (≈ 0 on the CPU; on a GPU the train/inference mismatch).
    pub logprob_diff_max: f32,
    /// See `logprob_diff_max`.
    pub logprob_diff_mean: f32,
    /// Optimizer steps taken.
    pub optimizer_steps: usize,
    /// Tokens through forward and backward.
    pub tokens: usize,
}

/// One step's update of `model` on `rows`: returns the new model and what was measured. `order` is the step's
/// mini-batch order (a permutation of the rows, from the run's seed); `reference` the frozen initial policy when the
/// config asks for a KL penalty.
#[allow(clippy::too_many_arguments)]
pub fn update(
    mut model: Model,
    model_config: &ModelConfig,
    optim: &mut burn::optim::ModuleOptimizer,
    rows: &[TrainRow],
    order: &[usize],
    config: &RlConfig,
    reference: Option<&Model>,
    device: &Device,
) -> (Model, UpdateStats) {
    let o = &config.objective;
    let rewards: Vec<f32> = rows.iter().map(|r| r.reward).collect();
    let groups: Vec<String> = rows.iter().map(|r| r.group.clone()).collect();
    let width = rows.iter().map(TrainRow::response_len).max().unwrap_or(0);
    let pad = |v: &[f32]| {
        let mut p = v.to_vec();
        p.resize(width, 0.0);
        p
    };
    let whiten: Vec<Vec<f32>> = rows.iter().map(|r| pad(&r.whiten_mask)).collect();
    let adv = advantages(o.estimator, &rewards, &groups, &whiten, o.estimator.default_eps());
    let clip = Clip { low: o.clip_low, high: o.clip_high, dual: o.dual_clip };
    let lens: Vec<usize> = rows.iter().map(|r| r.ids.len()).collect();
    let mut stats = UpdateStats::default();
    let mut weighted = 0.0f32;
    let mut first = true;
    let per_mini = order.len().div_ceil(config.optim.mini_batches);
    for _ in 0..config.optim.epochs {
        for mini in order.chunks(per_mini.max(1)) {
            let mini_tokens: f32 = mini.iter().map(|&i| rows[i].loss_mask.iter().sum::<f32>()).sum();
            let mut accumulator = GradientsAccumulator::<Model>::new();
            for micro in micro_batches(mini, &lens, config.optim.micro_batch_tokens) {
                let rs: Vec<&TrainRow> = micro.iter().map(|&i| &rows[i]).collect();
                let advs: Vec<&[f32]> = micro.iter().map(|&i| adv[i].as_slice()).collect();
                let b = MicroBatch::new(&rs, &advs, device);
                if b.loss_tokens == 0.0 {
                    continue;
                }
                // Each micro-batch's share of its mini-batch's mean: by loss tokens for a token mean, by rows for a
                // sequence mean.
                let share = match o.loss_agg {
                    LossAgg::TokenMean => b.loss_tokens / mini_tokens.max(1.0),
                    _ => micro.len() as f32 / mini.len() as f32,
                };
                let ref_lp = reference
                    .filter(|_| o.kl_coef > 0.0)
                    .map(|r| head::score(r, b.scored_hidden(r, model_config), &b.scored_targets).log_probs);
                let old = b.at_scored(b.old_logprobs.clone()).inner();
                let adv = b.at_scored(b.advantages.clone()).inner();
                let weights = b.at_scored(agg_weights(b.loss_mask.clone(), o.loss_agg)).mul_scalar(share);
                // ∂loss/∂log p of each scored token: its per-token loss (and KL) times its aggregation weight.
                let mut grad = |lp: Tensor<1>, r: Range<usize>| {
                    let leaf = lp.autodiff().require_grad();
                    let row = |t: &Tensor<1>| t.clone().slice(r.clone()).autodiff().unsqueeze::<2>();
                    let x = leaf.clone().unsqueeze::<2>();
                    let w = row(&weights);
                    let mut loss = (ppo_token_losses(x.clone(), row(&old), row(&adv), &clip) * w.clone()).sum();
                    if let Some(ref_lp) = &ref_lp {
                        loss = loss + (k3_kl(x, row(ref_lp)) * w).sum().mul_scalar(o.kl_coef);
                    }
                    leaf.grad(&loss.backward()).expect("the loss depends on the log-probs")
                };
                let hidden = b.scored_hidden(&model, model_config);
                let (scores, head_grads) =
                    head::score_and_backward(&model, hidden.clone(), &b.scored_targets, &mut grad);
                let log_probs = scores.log_probs;
                if first {
                    first = false;
                    let diff = (log_probs.clone() - old.clone()).abs();
                    stats.logprob_diff_max = diff.clone().max().into_scalar::<f32>();
                    stats.logprob_diff_mean = diff.sum().into_scalar::<f32>() / b.loss_tokens;
                }
                let [rows_n, width] = b.loss_mask.dims();
                let grid = Tensor::<1>::zeros([rows_n * width], &log_probs.device())
                    .select_assign(0, b.scored.clone().inner(), log_probs.clone(), IndexingUpdateOp::Add)
                    .reshape([rows_n, width])
                    .autodiff();
                let p = policy_loss(
                    grid,
                    b.old_logprobs.clone(),
                    b.advantages.clone(),
                    b.loss_mask.clone(),
                    &clip,
                    o.loss_agg,
                );
                if let Some(ref_lp) = &ref_lp {
                    let kl = k3_kl(log_probs.unsqueeze(), ref_lp.clone().unsqueeze()).mean();
                    stats.kl_ref += kl.into_scalar::<f32>() * b.loss_tokens;
                }
                let entropy = scores.entropy.mean();
                let w = b.loss_tokens;
                stats.pg_loss += p.loss.into_scalar::<f32>() * w;
                stats.clipfrac += p.clipfrac * w;
                stats.clipfrac_lower += p.clipfrac_lower * w;
                stats.ppo_kl += p.ppo_kl * w;
                stats.entropy += entropy.into_scalar::<f32>() * w;
                stats.tokens += micro.iter().map(|&i| rows[i].ids.len()).sum::<usize>();
                weighted += w;
                let loss = head::surrogate(&model, hidden, head_grads);
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                accumulator.accumulate(&model, grads);
            }
            let mut grads = accumulator.grads();
            if grads.is_empty() {
                continue;
            }
            stats.grad_norm += clip_grad_norm(&model, &mut grads, config.optim.grad_clip);
            model = optim.step(config.optim.lr, model, grads);
            stats.optimizer_steps += 1;
        }
    }
    if weighted > 0.0 {
        for v in [
            &mut stats.pg_loss,
            &mut stats.clipfrac,
            &mut stats.clipfrac_lower,
            &mut stats.ppo_kl,
            &mut stats.entropy,
            &mut stats.kl_ref,
        ] {
            *v /= weighted;
        }
    }
    if stats.optimizer_steps > 0 {
        stats.grad_norm /= stats.optimizer_steps as f32;
    }
    (model, stats)
}

/// The current policy's log-probs of every response token of `rows` (no gradient): what the loss uses as the old
/// log-probs of tool-output tokens when they are not masked (the sampler recorded none for them).
pub fn recompute_logprobs(
    model: &Model,
    model_config: &ModelConfig,
    rows: &[TrainRow],
    max_tokens: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let lens: Vec<usize> = rows.iter().map(|r| r.ids.len()).collect();
    let all: Vec<usize> = (0..rows.len()).collect();
    let mut out = vec![Vec::new(); rows.len()];
    for micro in micro_batches(&all, &lens, max_tokens) {
        // Every response token scored, whatever the loss mask says.
        let scored: Vec<TrainRow> = micro
            .iter()
            .map(|&i| TrainRow { loss_mask: vec![1.0; rows[i].response_len()], ..rows[i].clone() })
            .collect();
        let rs: Vec<&TrainRow> = scored.iter().collect();
        let none: Vec<&[f32]> = micro.iter().map(|_| &[][..]).collect();
        let b = MicroBatch::new(&rs, &none, device);
        let lp = head::score(model, b.scored_hidden(model, model_config), &b.scored_targets)
            .log_probs
            .try_into_vec_as::<f32>()
            .unwrap_or_default();
        let mut at = 0;
        for &i in &micro {
            let n = rows[i].response_len();
            out[i] = lp.get(at..at + n).map(<[f32]>::to_vec).unwrap_or_default();
            at += n;
        }
    }
    out
}

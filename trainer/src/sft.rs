//! Supervised warm start (`cir-train sft`): cross-entropy on the tokens a model wrote in trajectories of the record
//! format — the same rows and masks as RL, tool output masked — so a model learns the protocol's shape from a few
//! demonstrations before RL.

use std::ops::ControlFlow;

use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use cir_record::Trajectory;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::config::ModelConfig;
use crate::head;
use crate::model::Model;
use crate::params::clip_grad_norm;
use crate::rl::batch::{MicroBatch, RowOptions, TrainRow, micro_batches, row};

/// How to warm-start.
#[derive(Clone, Debug, PartialEq)]
pub struct SftConfig {
    /// Optimizer steps.
    pub steps: usize,
    /// Trajectories per step.
    pub batch: usize,
    /// Learning rate (AdamW).
    pub lr: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f32,
    /// Most tokens per forward/backward.
    pub micro_batch_tokens: usize,
    /// Seed of the order in which trajectories are visited.
    pub seed: u64,
}

/// The rows SFT trains on: every token-exact trajectory, tool output masked (its reward is irrelevant).
pub fn rows(trajectories: &[Trajectory]) -> Vec<TrainRow> {
    let o = RowOptions { reward_correct: 0.0, reward_wrong: 0.0, mask_tool_output: true, whiten_tool_tokens: false };
    trajectories.iter().filter_map(|t| row(t, &o)).collect()
}

/// Trains `model` for at most `config.steps` steps on `rows` (visited in a seeded order, reshuffled each pass).
/// After each step `after_step` hears the step's number (1-based), its mean loss and the model, and may stop the
/// training early. Returns the model and the losses of the steps taken.
pub fn train(
    mut model: Model,
    model_config: &ModelConfig,
    optim: &mut ModuleOptimizer,
    rows: &[TrainRow],
    config: &SftConfig,
    device: &Device,
    after_step: &mut dyn FnMut(usize, f32, &Model) -> ControlFlow<()>,
) -> (Model, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut at = order.len();
    let lens: Vec<usize> = rows.iter().map(|r| r.ids.len()).collect();
    let mut losses = Vec::with_capacity(config.steps);
    for step in 1..=config.steps {
        let mut picked = Vec::with_capacity(config.batch);
        while picked.len() < config.batch.min(rows.len()) {
            if at == order.len() {
                order.shuffle(&mut rng);
                at = 0;
            }
            picked.push(order[at]);
            at += 1;
        }
        let total: f32 = picked.iter().map(|&i| rows[i].loss_mask.iter().sum::<f32>()).sum();
        let mut accumulator = GradientsAccumulator::<Model>::new();
        let mut loss_sum = 0.0;
        for micro in micro_batches(&picked, &lens, config.micro_batch_tokens) {
            let rs: Vec<&TrainRow> = micro.iter().map(|&i| &rows[i]).collect();
            let none: Vec<&[f32]> = micro.iter().map(|_| &[][..]).collect();
            let b = MicroBatch::new(&rs, &none, device);
            if b.loss_tokens == 0.0 {
                continue;
            }
            // loss = −Σ mask · log p / total: each scored token's log-prob weighs −mask / total.
            let weights = b.at_scored(b.loss_mask.clone()).inner().div_scalar(-total.max(1.0));
            let mut grad = |_: Tensor<1>, r: std::ops::Range<usize>| weights.clone().slice(r);
            let hidden = b.scored_hidden(&model, model_config);
            let (scores, head_grads) = head::score_and_backward(&model, hidden.clone(), &b.scored_targets, &mut grad);
            loss_sum += (scores.log_probs * weights.clone()).sum().into_scalar::<f32>();
            let surrogate = head::surrogate(&model, hidden, head_grads);
            accumulator.accumulate(&model, GradientsParams::from_grads(surrogate.backward(), &model));
        }
        let mut grads = accumulator.grads();
        clip_grad_norm(&model, &mut grads, config.grad_clip);
        model = optim.step(config.lr, model, grads);
        losses.push(loss_sum);
        if after_step(step, loss_sum, &model).is_break() {
            break;
        }
    }
    (model, losses)
}

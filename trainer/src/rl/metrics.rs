//! One line of `metrics.jsonl` per step, and the validation lines.

use serde::{Deserialize, Serialize};

/// What a training step measured. Rates are over the step's rollouts; times are wall clock.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// The step (1-based).
    pub step: u64,
    /// Mean reward of the rollouts.
    pub reward_mean: f32,
    /// Share of rollouts graded correct.
    pub accuracy: f32,
    /// Tool calls per rollout.
    pub tool_calls: f32,
    /// Share of executions that ended in an error or a limit.
    pub tool_error_rate: f32,
    /// Mean sampled tokens per rollout (tool output not counted).
    pub response_tokens: f32,
    /// The tool budget in force.
    pub tool_budget: u32,
    /// Rollouts, and how many the filters kept.
    pub rollouts: usize,
    /// See `rollouts`.
    pub kept: usize,
    /// Policy-gradient loss.
    pub pg_loss: f32,
    /// verl's `pg_clipfrac`.
    pub clipfrac: f32,
    /// verl's `pg_clipfrac_lower`.
    pub clipfrac_lower: f32,
    /// verl's `ppo_kl`.
    pub ppo_kl: f32,
    /// Mean policy entropy on the loss tokens.
    pub entropy: f32,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f32,
    /// k3 KL to the initial policy (0 without a KL penalty).
    pub kl_ref: f32,
    /// Learning rate.
    pub lr: f64,
    /// Largest |recomputed − recorded| log-prob of a sampled token at the step's first forward.
    pub logprob_diff_max: f32,
    /// Mean of the same.
    pub logprob_diff_mean: f32,
    /// Sampled tokens per second of generation.
    pub rollout_tokens_per_s: f32,
    /// Tokens per second through the update's forward and backward.
    pub update_tokens_per_s: f32,
    /// Seconds generating.
    pub time_generation_s: f32,
    /// Seconds running code (the rollout's wall time not spent generating or grading).
    pub time_sandbox_s: f32,
    /// Seconds grading.
    pub time_grading_s: f32,
    /// Seconds updating.
    pub time_update_s: f32,
}

/// A validation pass (the paper's test curve), one line of `validation.jsonl`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValMetrics {
    /// The step the policy had reached (0: before training).
    pub step: u64,
    /// Accuracy with the tool (the step's budget).
    pub accuracy: f32,
    /// Tool calls per trajectory.
    pub tool_calls: f32,
    /// Share of executions that ended in an error or a limit.
    pub tool_error_rate: f32,
    /// Accuracy of the same policy with a tool budget of 0 (no code runs), when measured.
    pub accuracy_without_tool: Option<f32>,
}

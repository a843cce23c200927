//! The RL objective: outcome advantages, the PPO clipped policy loss and its aggregations, k3 KL, entropy.
//!
//! It follows verl 0.9.1's `verl/trainer/ppo/core_algos.py` (and the masked statistics of
//! `verl/utils/torch_functional.py`) function by function, so a run with the defaults optimises the same objective
//! as the paper's reference (CIR-METHOD.md §3): one small pure function per estimator and per aggregation, each
//! quoting its formula and source, chosen by name through [`Estimator`] and [`LossAgg`] (verl's registries).
//! `tests/objective.rs` checks every number against verl's own functions (fixture made by
//! `trainer/scripts/verl_objective.sh`).
//!
//! - Advantages ([`advantages`]) are computed on the host from one scalar reward per row: they are outside the
//!   autodiff graph (verl computes them under `torch.no_grad()`), and the group statistics are few numbers.
//! - The loss ([`policy_loss`]) works on `[rows, T]` tensors on any device and is differentiable in `log_probs`.
//!
//! Where verl raises on a degenerate batch (an empty loss mask, a whitening mask with fewer than two tokens), these
//! functions return zeros instead, which is the limit of the formula (see each function).

use std::collections::HashMap;
use std::str::FromStr;

use burn::prelude::*;
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod json;

pub use json::run_json;

/// `eps` of verl's `masked_whiten` (`torch.rsqrt(var + 1e-8)`), the default for
/// [`Estimator::ReinforcePpBaseline`].
pub const WHITEN_EPS: f32 = 1e-8;

/// `epsilon` of verl's `compute_grpo_outcome_advantage` (`(score - mean) / (std + 1e-6)`), the default for
/// [`Estimator::Grpo`]; verl's trainer does not override it.
pub const GRPO_EPS: f32 = 1e-6;

/// The bound on `|log_prob - old_log_prob|` before `exp` in the PPO ratio, and on `|ref_log_prob - log_prob|` in
/// [`k3_kl`]: verl's `torch.clamp(negative_approx_kl, min=-20.0, max=20.0)` "for stability" (e^20 ≈ 5e8 keeps the
/// ratio finite in f32). Beyond it the ratio is constant, so its gradient is zero.
pub const LOG_RATIO_CLAMP: f32 = 20.0;

/// The bound on the k3 KL value (verl's `low_var_kl`: `torch.clamp(kld, min=-10, max=10)`).
pub const K3_CLAMP: f32 = 10.0;

/// verl's `masked_mean` adds this to the mask's sum in the denominator (`mask.sum() + 1e-8`), so an empty mask
/// gives 0 rather than NaN.
const MASKED_MEAN_EPS: f32 = 1e-8;

/// How per-token advantages are made from one outcome reward per row (verl's `adv_estimator`).
///
/// Names (serde and [`FromStr`]): `reinforce_pp_baseline` (default; verl's `reinforce_plus_plus_baseline` is
/// accepted too), `grpo`, `rloo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// REINFORCE++ with a group baseline, the paper's reference: [`reinforce_pp_baseline_advantages`].
    #[default]
    #[serde(alias = "reinforce_plus_plus_baseline")]
    ReinforcePpBaseline,
    /// GRPO: group mean removed, divided by the group's std: [`grpo_advantages`].
    Grpo,
    /// RLOO: the mean of the group's other rewards removed: [`rloo_advantages`].
    Rloo,
}

impl Estimator {
    /// Every estimator, in the order of their documentation.
    pub const ALL: [Self; 3] = [Self::ReinforcePpBaseline, Self::Grpo, Self::Rloo];

    /// The name serde and [`FromStr`] use.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReinforcePpBaseline => "reinforce_pp_baseline",
            Self::Grpo => "grpo",
            Self::Rloo => "rloo",
        }
    }

    /// verl's `eps` for this estimator: [`WHITEN_EPS`] (1e-8) for REINFORCE++ baseline, [`GRPO_EPS`] (1e-6) for
    /// GRPO; RLOO has none (the value is unused).
    pub fn default_eps(self) -> f32 {
        match self {
            Self::ReinforcePpBaseline => WHITEN_EPS,
            Self::Grpo | Self::Rloo => GRPO_EPS,
        }
    }
}

impl FromStr for Estimator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        by_name(s)
    }
}

impl std::fmt::Display for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the per-token policy losses become one number (verl's `loss_agg_mode`, in `agg_loss`).
///
/// Names (serde and [`FromStr`]): `token-mean` (default), `seq-mean-token-mean`, `seq-mean-token-sum-norm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossAgg {
    /// The mean over every token of the batch in the mask: [`token_mean`] (verl's default and the reference's;
    /// DAPO's token-level loss).
    #[default]
    TokenMean,
    /// The mean over sequences of each sequence's token mean: [`seq_mean_token_mean`] (the original GRPO).
    SeqMeanTokenMean,
    /// The mean over sequences of each sequence's token sum, divided by the horizon `T`:
    /// [`seq_mean_token_sum_norm`] (Dr. GRPO).
    SeqMeanTokenSumNorm,
}

impl LossAgg {
    /// Every aggregation, in the order of their documentation.
    pub const ALL: [Self; 3] = [Self::TokenMean, Self::SeqMeanTokenMean, Self::SeqMeanTokenSumNorm];

    /// The name serde and [`FromStr`] use.
    pub fn name(self) -> &'static str {
        match self {
            Self::TokenMean => "token-mean",
            Self::SeqMeanTokenMean => "seq-mean-token-mean",
            Self::SeqMeanTokenSumNorm => "seq-mean-token-sum-norm",
        }
    }
}

impl FromStr for LossAgg {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        by_name(s)
    }
}

impl std::fmt::Display for LossAgg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a name with the type's serde names, so [`FromStr`] and the config files accept the same words.
fn by_name<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T> {
    T::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| Error::Objective(e.to_string()))
}

// ---------------------------------------------------------------------------------------------------------------
// Advantages (host side, one scalar reward per row).
// ---------------------------------------------------------------------------------------------------------------

/// Per-token advantages for `rewards` (one outcome reward per row) under `estimator`.
///
/// Rows with the same `group_ids` entry are the rollouts of one prompt (verl's `uid`); a group may be spread over
/// the batch. The result has one row per reward, each as long as its `whiten_mask` row, and is zero wherever the
/// mask is zero (verl multiplies by its `response_mask`).
///
/// `whiten_mask` is the mask verl calls `response_mask` here, and the switch the paper's quirk needs (CIR-METHOD.md
/// §3): pass the **response mask** (every token after the prompt, tool output included: the reference, whose
/// whitening statistics count tool-output tokens) or the **loss mask** (only the tokens the model sampled: tool
/// output neither counts in the statistics nor gets an advantage). It changes the numbers of
/// [`Estimator::ReinforcePpBaseline`] only (the only estimator with token statistics); GRPO and RLOO merely zero
/// the positions outside it, which the loss mask ignores anyway.
///
/// `eps` is the estimator's stabiliser: [`Estimator::default_eps`] gives verl's (1e-8 in the whitening of
/// REINFORCE++ baseline, 1e-6 added to GRPO's std; unused by RLOO).
///
/// # Panics
/// If `rewards`, `group_ids` and `whiten_mask` do not have the same length (a caller's bug; [`run_json`] checks
/// user input first).
pub fn advantages(
    estimator: Estimator,
    rewards: &[f32],
    group_ids: &[String],
    whiten_mask: &[Vec<f32>],
    eps: f32,
) -> Vec<Vec<f32>> {
    assert_eq!(rewards.len(), group_ids.len(), "one group id per reward");
    assert_eq!(rewards.len(), whiten_mask.len(), "one mask row per reward");
    match estimator {
        Estimator::ReinforcePpBaseline => reinforce_pp_baseline_advantages(rewards, group_ids, whiten_mask, eps),
        Estimator::Grpo => broadcast(&grpo_advantages(rewards, group_ids, eps), whiten_mask),
        Estimator::Rloo => broadcast(&rloo_advantages(rewards, group_ids), whiten_mask),
    }
}

/// A row's group: how many rows it has, their mean reward and their unbiased standard deviation.
#[derive(Debug, Clone, Copy)]
struct Group {
    n: usize,
    mean: f64,
    std: f64,
}

/// The group of each row. The statistics are in f64, where the mean of equal f32 rewards is exact, so such a group
/// has std 0 exactly (an f32 sum of values like 0.1 may not, and GRPO would divide its rounding error by 1e-6).
fn groups(rewards: &[f32], group_ids: &[String]) -> Vec<Group> {
    let mut members: HashMap<&str, Vec<f64>> = HashMap::new();
    for (r, id) in rewards.iter().zip(group_ids) {
        members.entry(id.as_str()).or_default().push(f64::from(*r));
    }
    let stats: HashMap<&str, Group> = members
        .into_iter()
        .map(|(id, rs)| {
            let n = rs.len();
            let mean = rs.iter().sum::<f64>() / n as f64;
            let var = if n > 1 { rs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
            (id, Group { n, mean, std: var.sqrt() })
        })
        .collect();
    group_ids.iter().map(|id| stats[id.as_str()]).collect()
}

/// REINFORCE++ with a group baseline (Hu et al., "REINFORCE++", arXiv 2501.03262; verl
/// `compute_reinforce_plus_plus_baseline_outcome_advantage`), the paper's estimator:
///
/// ```text
/// s_i   = r_i − mean_{j ∈ group(i)} r_j          (a group of one row: mean taken as 0, so s_i = r_i)
/// A_i,t = whiten(s_i · m_i,t over every (i, t) with m_i,t = 1) · m_i,t
/// ```
///
/// The whitening is token-weighted over the whole batch ([`masked_whiten`]): a long response weighs more than a
/// short one in the mean and variance.
pub fn reinforce_pp_baseline_advantages(
    rewards: &[f32],
    group_ids: &[String],
    whiten_mask: &[Vec<f32>],
    eps: f32,
) -> Vec<Vec<f32>> {
    let scores: Vec<f64> = groups(rewards, group_ids)
        .iter()
        .zip(rewards)
        .map(|(g, &r)| if g.n == 1 { f64::from(r) } else { f64::from(r) - g.mean })
        .collect();
    masked_whiten(&scores, whiten_mask, eps)
}

/// GRPO's outcome advantage (Shao et al., "DeepSeekMath", arXiv 2402.03300; verl
/// `compute_grpo_outcome_advantage` with `norm_adv_by_std_in_grpo=True`), one number per row:
///
/// ```text
/// A_i = (r_i − mean_{group(i)} r) / (std_{group(i)} r + eps)     std unbiased (torch.std), eps 1e-6
/// ```
///
/// A group of one row has mean 0 and std 1 in verl, so its advantage is `r_i / (1 + eps)`; a group whose rewards
/// are all equal gets 0.
pub fn grpo_advantages(rewards: &[f32], group_ids: &[String], eps: f32) -> Vec<f64> {
    groups(rewards, group_ids)
        .iter()
        .zip(rewards)
        .map(|(g, &r)| {
            let (mean, std) = if g.n == 1 { (0.0, 1.0) } else { (g.mean, g.std) };
            (f64::from(r) - mean) / (std + f64::from(eps))
        })
        .collect()
}

/// RLOO's advantage (Ahmadian et al., "Back to Basics", arXiv 2402.14740; verl `compute_rloo_outcome_advantage`),
/// one number per row: the reward minus the mean of the other rewards of its group,
///
/// ```text
/// A_i = r_i − (1 / (n − 1)) Σ_{j ∈ group(i), j ≠ i} r_j  =  n / (n − 1) · (r_i − mean_{group(i)} r)
/// ```
///
/// A group of one row keeps its raw reward (verl: no baseline when there is no other sample).
pub fn rloo_advantages(rewards: &[f32], group_ids: &[String]) -> Vec<f64> {
    groups(rewards, group_ids)
        .iter()
        .zip(rewards)
        .map(|(g, &r)| {
            let r = f64::from(r);
            if g.n == 1 {
                r
            } else {
                let n = g.n as f64;
                r * n / (n - 1.0) - g.mean * n / (n - 1.0)
            }
        })
        .collect()
}

/// One scalar per row spread over the row's tokens: `A_i,t = s_i · m_i,t` (verl's `scores.unsqueeze(-1) *
/// response_mask`).
fn broadcast(scores: &[f64], mask: &[Vec<f32>]) -> Vec<Vec<f32>> {
    scores.iter().zip(mask).map(|(&s, row)| row.iter().map(|&m| (s * f64::from(m)) as f32).collect()).collect()
}

/// Whitens per-row scores broadcast over the mask, token-weighted over the whole batch (verl `masked_whiten`,
/// `masked_mean`, `masked_var(unbiased=True)` in `verl/utils/torch_functional.py`):
///
/// ```text
/// v_i,t = s_i · m_i,t      N = Σ m      μ = Σ v·m / (N + 1e-8)
/// σ² = Σ (v − μ)²·m / (N + 1e-8) · N / (N − 1)
/// out_i,t = (v_i,t − μ) / sqrt(σ² + eps) · m_i,t
/// ```
///
/// With fewer than two tokens in the mask the variance is undefined and verl raises; here every value is zero
/// (a lone token equals the mean, so its centred value is 0).
pub fn masked_whiten(scores: &[f64], mask: &[Vec<f32>], eps: f32) -> Vec<Vec<f32>> {
    let n: f64 = mask.iter().flatten().map(|&m| f64::from(m)).sum();
    if n < 2.0 {
        return mask.iter().map(|row| vec![0.0; row.len()]).collect();
    }
    let denom = n + f64::from(MASKED_MEAN_EPS);
    let cells = || scores.iter().zip(mask).flat_map(|(&s, row)| row.iter().map(move |&m| (s * f64::from(m), m)));
    let mean = cells().map(|(v, m)| v * f64::from(m)).sum::<f64>() / denom;
    let var = cells().map(|(v, m)| (v - mean).powi(2) * f64::from(m)).sum::<f64>() / denom * n / (n - 1.0);
    let scale = 1.0 / (var + f64::from(eps)).sqrt();
    scores
        .iter()
        .zip(mask)
        .map(|(&s, row)| row.iter().map(|&m| ((s * f64::from(m) - mean) * scale * f64::from(m)) as f32).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The policy loss (tensors, differentiable in `log_probs`).
// ---------------------------------------------------------------------------------------------------------------

/// The PPO clip ranges. Defaults: the paper's reference (CIR-METHOD.md §3; SimpleTIR's too): low 0.2, high 0.28
/// ("clip-higher", DAPO arXiv 2503.14476), dual clip 3.0 (Ye et al., arXiv 1912.09729). verl's own defaults are
/// 0.2 / 0.2 / 3.0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Clip {
    /// ε_low: the ratio is clipped below at `1 − low` (verl `clip_ratio_low`). In `[0, 1)`.
    pub low: f32,
    /// ε_high: the ratio is clipped above at `1 + high` (verl `clip_ratio_high`). At least 0.
    pub high: f32,
    /// For a negative advantage the per-token loss is at most `−A · dual` (verl `clip_ratio_c`). Above 1.
    pub dual: f32,
}

impl Default for Clip {
    fn default() -> Self {
        Self { low: 0.2, high: 0.28, dual: 3.0 }
    }
}

impl Clip {
    /// Checks the ranges verl asserts or needs (`clip_ratio_c > 1`; a lower bound `1 − low` in `(0, 1]`).
    ///
    /// # Errors
    /// [`Error::Objective`] naming the bound out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Objective(what));
        if !(0.0..1.0).contains(&self.low) {
            return bad(format!("clip low {} is outside [0, 1)", self.low));
        }
        if !(self.high >= 0.0 && self.high.is_finite()) {
            return bad(format!("clip high {} must be a finite number ≥ 0", self.high));
        }
        if !(self.dual > 1.0 && self.dual.is_finite()) {
            return bad(format!("dual clip {} must be a finite number > 1 (verl asserts clip_ratio_c > 1)", self.dual));
        }
        Ok(())
    }
}

/// The policy loss and verl's statistics of it.
#[derive(Debug, Clone)]
pub struct PolicyLoss {
    /// The aggregated loss, shape `[1]`, differentiable in `log_probs` (verl `pg_loss`).
    pub loss: Tensor<1>,
    /// Fraction of the loss-mask tokens where the clipped branch is the larger loss (verl `pg_clipfrac`:
    /// `masked_mean(pg_losses2 > pg_losses1)`; counts both clip sides, for either sign of the advantage).
    pub clipfrac: f32,
    /// Fraction of the loss-mask tokens with a negative advantage where the dual clip binds (verl
    /// `pg_clipfrac_lower`: `masked_mean((clip_pg_losses1 > pg_losses3) · (A < 0))`).
    pub clipfrac_lower: f32,
    /// Mean over the loss-mask tokens of `old_log_prob − log_prob` after the ±20 clamp (verl `ppo_kl`, the k1
    /// estimate of KL(old ‖ new)).
    pub ppo_kl: f32,
}

/// PPO's clipped surrogate with asymmetric clipping and dual clip (Schulman et al., arXiv 1707.06347; DAPO's
/// clip-higher, arXiv 2503.14476; dual clip, arXiv 1912.09729), as verl's `compute_policy_loss_vanilla`:
///
/// ```text
/// ρ = exp(clamp(log_prob − old_log_prob, −20, 20))
/// l1 = −A·ρ      l2 = −A·clip(ρ, 1 − low, 1 + high)      c1 = max(l1, l2)
/// l3 = −A·dual   c2 = min(l3, c1)
/// loss_t = c2 if A < 0 else c1          loss = agg(loss_t over loss_mask)
/// ```
///
/// `loss_mask` is 1 on the tokens the model sampled (CIR-METHOD.md: tool output and prompt 0); the statistics are
/// means over it. Where the clipped branch wins, the token's gradient is zero.
///
/// # Shapes
/// - log_probs, old_log_probs, advantages, loss_mask: `[rows, T]`
/// - loss: `[1]`
///
/// # Panics
/// If the shapes differ, or the statistics cannot be read back from the device.
pub fn policy_loss(
    log_probs: Tensor<2>,
    old_log_probs: Tensor<2>,
    advantages: Tensor<2>,
    loss_mask: Tensor<2>,
    clip: &Clip,
    agg: LossAgg,
) -> PolicyLoss {
    let t = PpoTerms::new(log_probs, old_log_probs, advantages, clip);
    let ppo_kl = masked_mean(t.negative_approx_kl.detach().neg(), loss_mask.clone());
    let clipfrac = masked_mean(t.losses2.detach().greater(t.losses1.detach()).float(), loss_mask.clone());
    let dual_binds = t.clip_losses1.detach().greater(t.losses3).float() * t.negative.float();
    let clipfrac_lower = masked_mean(dual_binds, loss_mask.clone());
    let loss = agg_loss(t.losses, loss_mask, agg);

    // One read-back for the three statistics.
    let stats = Tensor::cat(vec![clipfrac, clipfrac_lower, ppo_kl], 0)
        .try_into_vec_as::<f32>()
        .expect("reading the policy-loss statistics back from the device");
    PolicyLoss { loss, clipfrac: stats[0], clipfrac_lower: stats[1], ppo_kl: stats[2] }
}

/// The per-token losses of [`policy_loss`] before aggregation (`loss_t` there), differentiable in `log_probs`.
///
/// # Shapes
/// - log_probs, old_log_probs, advantages, output: `[rows, T]`
pub fn ppo_token_losses(
    log_probs: Tensor<2>,
    old_log_probs: Tensor<2>,
    advantages: Tensor<2>,
    clip: &Clip,
) -> Tensor<2> {
    PpoTerms::new(log_probs, old_log_probs, advantages, clip).losses
}

/// The terms of the formula in [`policy_loss`], named as verl names them.
struct PpoTerms {
    negative_approx_kl: Tensor<2>,
    losses1: Tensor<2>,
    losses2: Tensor<2>,
    clip_losses1: Tensor<2>,
    losses3: Tensor<2>,
    negative: Tensor<2, Bool>,
    losses: Tensor<2>,
}

impl PpoTerms {
    fn new(log_probs: Tensor<2>, old_log_probs: Tensor<2>, advantages: Tensor<2>, clip: &Clip) -> Self {
        let negative_approx_kl = (log_probs - old_log_probs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP);
        let ratio = negative_approx_kl.clone().exp();
        let neg_adv = advantages.clone().neg();
        let losses1 = neg_adv.clone() * ratio.clone();
        let losses2 = neg_adv.clone() * ratio.clamp(1.0 - clip.low, 1.0 + clip.high);
        let clip_losses1 = losses1.clone().max_pair(losses2.clone());
        let losses3 = neg_adv * clip.dual;
        let clip_losses2 = losses3.clone().min_pair(clip_losses1.clone());
        let negative = advantages.lower_elem(0.0);
        let losses = clip_losses1.clone().mask_where(negative.clone(), clip_losses2);
        Self { negative_approx_kl, losses1, losses2, clip_losses1, losses3, negative, losses }
    }
}

/// The weight of each token's loss in [`agg_loss`]: its derivative there, which depends on the mask alone (every
/// aggregation is linear in the losses), so that `agg_loss(l, mask, agg) = Σ l · agg_weights(mask, agg)`. Taken
/// from `agg_loss` itself by autodiff. On the inner backend.
///
/// # Shapes
/// - mask, output: `[rows, T]`
pub fn agg_weights(mask: Tensor<2>, agg: LossAgg) -> Tensor<2> {
    let zeros = Tensor::<2>::zeros(mask.dims(), &mask.device().inner()).autodiff().require_grad();
    let loss = agg_loss(zeros.clone(), mask.autodiff(), agg);
    zeros.grad(&loss.backward()).expect("the aggregation depends on the losses")
}

/// Aggregates per-token losses over `mask` as `agg` says (verl `agg_loss` with one data-parallel rank and the
/// batch's own token / sequence counts).
///
/// # Shapes
/// - losses, mask: `[rows, T]`
/// - output: `[1]`
pub fn agg_loss(losses: Tensor<2>, mask: Tensor<2>, agg: LossAgg) -> Tensor<1> {
    match agg {
        LossAgg::TokenMean => token_mean(losses, mask),
        LossAgg::SeqMeanTokenMean => seq_mean_token_mean(losses, mask),
        LossAgg::SeqMeanTokenSumNorm => seq_mean_token_sum_norm(losses, mask),
    }
}

/// `token-mean` (verl `agg_loss`; DAPO's token-level loss, arXiv 2503.14476): every token of the batch weighs
/// the same,
///
/// ```text
/// loss = Σ_{i,t} l_i,t·m_i,t / Σ_{i,t} m_i,t
/// ```
///
/// An all-zero mask gives 0 (verl: 0/0 = NaN).
///
/// # Shapes
/// - losses, mask: `[rows, T]`
/// - output: `[1]`
pub fn token_mean(losses: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    masked_sum(losses, mask.clone()).sum() / nonzero_or_one(mask.sum())
}

/// `seq-mean-token-mean` (verl `agg_loss`; the original GRPO's per-sequence normalisation, arXiv 2402.03300):
/// each sequence's token mean, averaged over the sequences with at least one token in the mask,
///
/// ```text
/// n_i = Σ_t m_i,t     loss = Σ_{i: n_i > 0} (Σ_t l_i,t·m_i,t / (n_i + 1e-8)) / |{i: n_i > 0}|
/// ```
///
/// # Shapes
/// - losses, mask: `[rows, T]`
/// - output: `[1]`
pub fn seq_mean_token_mean(losses: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let counts = mask.clone().sum_dim(1); // [rows, 1]
    let per_seq = masked_sum(losses, mask).sum_dim(1) / (counts.clone() + MASKED_MEAN_EPS); // [rows, 1]
    mean_over_nonempty(per_seq, counts)
}

/// `seq-mean-token-sum-norm` (Dr. GRPO, Liu et al., "Understanding R1-Zero-Like Training", arXiv 2503.20783;
/// verl `agg_loss`): each sequence's token sum, averaged over the non-empty sequences, divided by a constant.
///
/// ```text
/// loss = Σ_{i: n_i > 0} Σ_t l_i,t·m_i,t / |{i: n_i > 0}| / T
/// ```
///
/// The constant is verl's default `loss_scale_factor = None`, i.e. the horizon `T = loss_mask.shape[-1]` (the
/// width of the padded response tensor), not the paper's fixed generation budget: pass tensors padded to the
/// maximum response length to get Dr. GRPO's constant normaliser.
///
/// # Shapes
/// - losses, mask: `[rows, T]`
/// - output: `[1]`
pub fn seq_mean_token_sum_norm(losses: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let horizon = mask.dims()[1];
    let counts = mask.clone().sum_dim(1); // [rows, 1]
    let per_seq = masked_sum(losses, mask).sum_dim(1); // [rows, 1]
    mean_over_nonempty(per_seq, counts) / horizon as f32
}

/// The mean of `per_seq` over the rows whose `counts` are non-zero (verl `masked_sum(seq_losses, seq_mask) /
/// seq_mask.sum()`); 0 when every row is empty.
///
/// # Shapes
/// - per_seq, counts: `[rows, 1]`
/// - output: `[1]`
fn mean_over_nonempty(per_seq: Tensor<2>, counts: Tensor<2>) -> Tensor<1> {
    let nonempty = counts.greater_elem(0.0).float();
    masked_sum(per_seq, nonempty.clone()).sum() / nonzero_or_one(nonempty.sum())
}

/// `values · mask`, with the values outside the mask set to 0 first so a NaN or infinity there cannot leak in
/// (verl `masked_sum`: `torch.where(mask.bool(), values, 0.0) * mask`).
fn masked_sum<const D: usize>(values: Tensor<D>, mask: Tensor<D>) -> Tensor<D> {
    values.mask_fill(mask.clone().equal_elem(0.0), 0.0) * mask
}

/// A count with 0 replaced by 1 (an empty mask's sum divides nothing).
fn nonzero_or_one(count: Tensor<1>) -> Tensor<1> {
    count.clone().mask_fill(count.equal_elem(0.0), 1.0)
}

/// The mean of `values` over `mask` (verl `masked_mean`): `Σ v·m / (Σ m + 1e-8)`; 0 for an empty mask.
///
/// # Shapes
/// - values, mask: `[rows, T]`
/// - output: `[1]`
pub fn masked_mean(values: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    masked_sum(values, mask.clone()).sum() / (mask.sum() + MASKED_MEAN_EPS)
}

/// The k3 estimate of KL(π ‖ π_ref) per token (Schulman, "Approximating KL divergence", 2020; verl
/// `kl_penalty_forward` for `low_var_kl` / `k3`), for the optional KL term to a frozen reference model:
///
/// ```text
/// d = clamp(ref_log_prob − log_prob, −20, 20)      kl = clamp(exp(d) − d − 1, −10, 10)
/// ```
///
/// Aggregate it with [`agg_loss`] over the loss mask, as verl does.
///
/// # Shapes
/// - log_probs, ref_log_probs: `[rows, T]`
/// - output: `[rows, T]`
pub fn k3_kl(log_probs: Tensor<2>, ref_log_probs: Tensor<2>) -> Tensor<2> {
    let d = (ref_log_probs - log_probs).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP);
    (d.clone().exp() - d - 1.0).clamp(-K3_CLAMP, K3_CLAMP)
}

/// The entropy of each token's distribution, from logits (verl `entropy_from_logits`:
/// `logsumexp(z) − Σ softmax(z)·z`), computed with the max subtracted first for stability. A metric: the
/// reference adds no entropy bonus (CIR-METHOD.md §3).
///
/// # Shapes
/// - logits: `[rows, T, vocab]`
/// - output: `[rows, T]`
pub fn entropy_from_logits(logits: Tensor<3>) -> Tensor<2> {
    let shifted = logits.clone() - logits.max_dim(2); // [rows, T, vocab]
    let log_z = shifted.clone().exp().sum_dim(2).log(); // [rows, T, 1]
    let p = (shifted.clone() - log_z.clone()).exp();
    (log_z - (p * shifted).sum_dim(2)).squeeze_dim(2)
}

#[cfg(all(test, feature = "flex"))]
mod test;

//! `cir-train objective`: one JSON object in, one out, so the formulas can be checked against verl's own
//! functions on the same numbers (`trainer/scripts/verl_objective.sh` writes such objects with verl's answers).

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::{Clip, Estimator, LossAgg, advantages, policy_loss};
use crate::DeviceKind;
use crate::error::{Error, Result};

/// The input object. Matrices are `rows × T`, one row per trajectory, `T` the same for every row and matrix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// One prompt id per row: rows with the same id form a group.
    group_ids: Vec<String>,
    /// One outcome reward per row.
    rewards: Vec<f32>,
    /// 1 on every response token (tool output included), 0 on padding: the advantages' whitening mask.
    response_mask: Vec<Vec<f32>>,
    /// 1 on the tokens the model sampled: the policy loss's mask.
    loss_mask: Vec<Vec<f32>>,
    /// Log-probs recorded at sampling time.
    old_log_probs: Vec<Vec<f32>>,
    /// Log-probs under the policy being trained.
    log_probs: Vec<Vec<f32>>,
    clip_low: f32,
    clip_high: f32,
    dual_clip: f32,
    #[serde(default)]
    estimator: Estimator,
    #[serde(default)]
    loss_agg: LossAgg,
}

/// The output object, with verl's names for the statistics.
#[derive(Debug, Serialize)]
struct Output {
    /// `rows × T`, computed with the response mask.
    advantages: Vec<Vec<f32>>,
    pg_loss: f32,
    pg_clipfrac: f32,
    pg_clipfrac_lower: f32,
    ppo_kl: f32,
}

/// Runs the objective on one JSON object and returns one: input fields `group_ids` (one string per row), `rewards`
/// (one number per row), `response_mask`, `loss_mask`, `old_log_probs`, `log_probs` (rows × T arrays of numbers),
/// `clip_low`, `clip_high`, `dual_clip`, optional `estimator` ([`Estimator`] name, default
/// `reinforce_pp_baseline`) and `loss_agg` ([`LossAgg`] name, default `token-mean`); output fields `advantages`
/// (rows × T, whitened with the response mask, verl's default eps), `pg_loss`, `pg_clipfrac`,
/// `pg_clipfrac_lower`, `ppo_kl` (over the loss mask, with those advantages). Computed on the CPU.
///
/// # Errors
/// [`Error::Objective`] for malformed input: invalid JSON, an unknown field or name, ragged or mismatched arrays,
/// a number that is not finite in f32, a mask value other than 0 or 1, clip bounds out of range
/// ([`Clip::check`]), or a result that overflows f32. [`Error::DeviceNotCompiled`] without the `flex` feature.
pub fn run_json(text: &str) -> Result<String> {
    let input: Input = serde_json::from_str(text).map_err(|e| {
        let hint = if e.classify() == serde_json::error::Category::Syntax {
            " (JSON has no NaN or Infinity: every number must be finite)"
        } else {
            ""
        };
        Error::Objective(format!("{e}{hint}"))
    })?;
    let (rows, horizon) = check(&input)?;
    let clip = Clip { low: input.clip_low, high: input.clip_high, dual: input.dual_clip };
    clip.check()?;

    let advantages = advantages(
        input.estimator,
        &input.rewards,
        &input.group_ids,
        &input.response_mask,
        input.estimator.default_eps(),
    );
    let device = DeviceKind::Cpu.device()?;
    let tensor = |m: &[Vec<f32>]| Tensor::<2>::from_data(TensorData::new(m.concat(), [rows, horizon]), &device);
    let out = policy_loss(
        tensor(&input.log_probs),
        tensor(&input.old_log_probs),
        tensor(&advantages),
        tensor(&input.loss_mask),
        &clip,
        input.loss_agg,
    );
    let pg_loss = out.loss.try_into_vec_as::<f32>().map_err(|e| Error::Device(e.to_string()))?[0];
    let output = Output {
        advantages,
        pg_loss,
        pg_clipfrac: out.clipfrac,
        pg_clipfrac_lower: out.clipfrac_lower,
        ppo_kl: out.ppo_kl,
    };
    let all = output.advantages.iter().flatten().chain([&output.pg_loss, &output.ppo_kl]);
    if !all.into_iter().all(|v| v.is_finite()) {
        return Err(Error::Objective("the result overflows f32: are the rewards or log-probs that large?".into()));
    }
    serde_json::to_string(&output).map_err(|e| Error::Objective(e.to_string()))
}

/// Checks the shapes and values; returns `(rows, T)`.
fn check(input: &Input) -> Result<(usize, usize)> {
    let bad = |what: String| Err(Error::Objective(what));
    let rows = input.group_ids.len();
    if rows == 0 {
        return bad("group_ids is empty: give at least one row".into());
    }
    if input.rewards.len() != rows {
        return bad(format!(
            "rewards has {} numbers, group_ids {rows} rows: give one reward per row",
            input.rewards.len()
        ));
    }
    if let Some(i) = input.rewards.iter().position(|r| !r.is_finite()) {
        return bad(format!("rewards[{i}] is not a finite f32"));
    }
    let horizon = input.response_mask.first().map_or(0, Vec::len);
    if horizon == 0 {
        return bad("response_mask has no columns: give at least one token per row".into());
    }
    let matrices = [
        ("response_mask", &input.response_mask),
        ("loss_mask", &input.loss_mask),
        ("old_log_probs", &input.old_log_probs),
        ("log_probs", &input.log_probs),
    ];
    for (name, m) in matrices {
        if m.len() != rows {
            return bad(format!("{name} has {} rows, group_ids {rows}: give one row per trajectory", m.len()));
        }
        for (i, row) in m.iter().enumerate() {
            if row.len() != horizon {
                return bad(format!(
                    "{name}[{i}] has {} numbers, response_mask[0] {horizon}: every row must have the same T",
                    row.len()
                ));
            }
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return bad(format!("{name}[{i}][{j}] is not a finite f32"));
            }
            if name.ends_with("_mask")
                && let Some(j) = row.iter().position(|&v| v != 0.0 && v != 1.0)
            {
                return bad(format!("{name}[{i}][{j}] is {}: a mask holds 0 or 1", row[j]));
            }
        }
    }
    Ok((rows, horizon))
}

//! From trajectories to training rows: the ids as sampled, which of them the loss sees, the log-probs recorded when
//! they were drawn, and each row's reward and group — then padded micro-batches for the forward pass.

use burn::prelude::*;
use burn::tensor::TensorData;
use cir_record::{Segment, Trajectory};

use crate::config::ModelConfig;
use crate::model::Model;

/// One trajectory as a training row. Every per-token vector covers the response (everything after the prompt).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainRow {
    /// The prompt's ids followed by the response's.
    pub ids: Vec<u32>,
    /// How many of `ids` are the prompt.
    pub prompt_len: usize,
    /// Per response token: 1 where the loss applies (what the model sampled; tool output too when it is not
    /// masked).
    pub loss_mask: Vec<f32>,
    /// Per response token: 1 where it enters the advantage whitening statistics.
    pub whiten_mask: Vec<f32>,
    /// Per response token: the log-prob recorded at sampling time (0 for tool output).
    pub old_logprobs: Vec<f32>,
    /// Per response token: whether the model sampled it (false for tool output).
    pub sampled: Vec<bool>,
    /// The trajectory's reward.
    pub reward: f32,
    /// Its group (the prompt): advantages compare rollouts of one prompt.
    pub group: String,
}

impl TrainRow {
    /// Response tokens.
    pub fn response_len(&self) -> usize {
        self.ids.len() - self.prompt_len
    }
}

/// How rows are made from trajectories.
#[derive(Clone, Copy, Debug)]
pub struct RowOptions {
    /// Reward of a correct answer.
    pub reward_correct: f32,
    /// Reward otherwise.
    pub reward_wrong: f32,
    /// Tool output has loss mask 0.
    pub mask_tool_output: bool,
    /// Tool output counts in the whitening statistics.
    pub whiten_tool_tokens: bool,
}

/// The training row of a token-exact trajectory; `None` for one recorded in text mode (never the case for the
/// in-process model).
pub fn row(t: &Trajectory, o: &RowOptions) -> Option<TrainRow> {
    let view = t.token_view()?;
    let mask: Vec<f32> = view.loss_mask[view.prompt_len..].iter().map(|&m| f32::from(m)).collect();
    let sampled = mask.iter().map(|&m| m > 0.0).collect();
    let loss_mask = if o.mask_tool_output { mask.clone() } else { vec![1.0; mask.len()] };
    let whiten_mask = if o.whiten_tool_tokens { vec![1.0; mask.len()] } else { mask };
    Some(TrainRow {
        sampled,
        old_logprobs: view.logprobs[view.prompt_len..].to_vec(),
        ids: view.ids,
        prompt_len: view.prompt_len,
        loss_mask,
        whiten_mask,
        reward: if t.is_correct() { o.reward_correct } else { o.reward_wrong },
        group: format!("{}/{}", t.dataset, t.problem_id),
    })
}

/// True when the trajectory has a turn with neither a code block nor a final answer (SimpleTIR's void turn): its
/// last turn, since every earlier turn ended on a code block.
pub fn has_void_turn(t: &Trajectory) -> bool {
    let last_turn = t.segments.iter().rposition(|s| matches!(s, Segment::Output { .. })).map_or(0, |i| i + 1);
    let tail = &t.segments[last_turn..];
    let has_code = tail.iter().any(|s| matches!(s, Segment::Code { .. }));
    let text: String = tail.iter().map(Segment::text).collect();
    !has_code && !text.contains("\\boxed")
}

/// A padded batch of rows for one forward pass: inputs are each row's ids but the last, targets its ids but the
/// first (position `j` predicts token `j + 1`), every per-token tensor aligned with the targets and zero on the
/// prompt and the padding. Only the targets under the loss mask (the scored ones) go through the LM head.
///
/// # Shapes
/// all `[rows, max_len - 1]` but `scored` (`[scored tokens]`) and `scored_targets`
pub struct MicroBatch {
    /// Input ids.
    pub inputs: Tensor<2, Int>,
    /// The row-major positions (`row · width + j`) of the targets under the loss mask.
    pub scored: Tensor<1, Int>,
    /// The target ids at `scored`.
    pub scored_targets: Vec<u32>,
    /// Loss mask of the targets.
    pub loss_mask: Tensor<2>,
    /// Sampling-time log-probs of the targets.
    pub old_logprobs: Tensor<2>,
    /// Advantages of the targets.
    pub advantages: Tensor<2>,
    /// Tokens under the loss mask.
    pub loss_tokens: f32,
}

impl MicroBatch {
    /// Pads `rows` (with their per-response-token `advantages`) to one batch on `device`.
    pub fn new(rows: &[&TrainRow], advantages: &[&[f32]], device: &Device) -> MicroBatch {
        let width = rows.iter().map(|r| r.ids.len()).max().unwrap_or(1).max(2) - 1;
        let n = rows.len();
        let mut inputs = vec![0i64; n * width];
        let mut targets = vec![0i64; n * width];
        let mut mask = vec![0f32; n * width];
        let mut old = vec![0f32; n * width];
        let mut adv = vec![0f32; n * width];
        for (r, (row, a)) in rows.iter().zip(advantages).enumerate() {
            let base = r * width;
            for j in 0..row.ids.len() - 1 {
                inputs[base + j] = i64::from(row.ids[j]);
                targets[base + j] = i64::from(row.ids[j + 1]);
                // Target j is token j + 1; response token k is token prompt_len + k.
                if let Some(k) = (j + 1).checked_sub(row.prompt_len) {
                    mask[base + j] = row.loss_mask[k];
                    old[base + j] = row.old_logprobs[k];
                    adv[base + j] = a.get(k).copied().unwrap_or(0.0);
                }
            }
        }
        let loss_tokens = mask.iter().sum();
        let scored: Vec<i64> = (0..n * width).filter(|&i| mask[i] > 0.0).map(|i| i as i64).collect();
        let scored_targets = scored.iter().map(|&i| targets[i as usize] as u32).collect();
        let shape = [n, width];
        MicroBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            scored: Tensor::from_data(TensorData::new(scored.clone(), [scored.len()]), device),
            scored_targets,
            loss_mask: Tensor::from_data(TensorData::new(mask, shape), device),
            old_logprobs: Tensor::from_data(TensorData::new(old, shape), device),
            advantages: Tensor::from_data(TensorData::new(adv, shape), device),
            loss_tokens,
        }
    }
}

impl MicroBatch {
    /// The final hidden states at the scored targets (differentiable when `model` is tracked).
    ///
    /// # Shapes
    /// - output: `[scored tokens, d_model]`
    pub fn scored_hidden(&self, model: &Model, config: &ModelConfig) -> Tensor<2> {
        let [rows, width] = self.inputs.dims();
        let hidden = model.forward_hidden(self.inputs.clone(), config);
        let d = hidden.dims()[2];
        hidden.reshape([rows * width, d]).select(0, self.scored.clone())
    }

    /// `values` (a per-target tensor of this batch) at the scored targets.
    ///
    /// # Shapes
    /// - values: `[rows, width]`
    /// - output: `[scored tokens]`
    pub fn at_scored(&self, values: Tensor<2>) -> Tensor<1> {
        let [rows, width] = values.dims();
        values.reshape([rows * width]).select(0, self.scored.clone())
    }
}

/// Splits `rows` (indices into a batch) into micro-batches of at most `max_tokens` padded tokens each (a row longer
/// than that is a micro-batch of its own), keeping their order.
pub fn micro_batches(indices: &[usize], lens: &[usize], max_tokens: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for &i in indices {
        let l = lens[i].max(longest);
        if !current.is_empty() && l * (current.len() + 1) > max_tokens {
            out.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(lens[i]);
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    fn row_of(ids: Vec<u32>, prompt_len: usize, mask: Vec<f32>) -> TrainRow {
        let n = ids.len() - prompt_len;
        TrainRow {
            ids,
            prompt_len,
            whiten_mask: vec![1.0; n],
            old_logprobs: (0..n).map(|k| -(k as f32) - 1.0).collect(),
            sampled: mask.iter().map(|&m| m > 0.0).collect(),
            loss_mask: mask,
            reward: 1.0,
            group: "g".into(),
        }
    }

    #[test]
    fn targets_masks_and_advantages_align() {
        let a = row_of(vec![10, 11, 12, 13, 14], 2, vec![1.0, 0.0, 1.0]);
        let b = row_of(vec![20, 21, 22], 1, vec![1.0, 1.0]);
        let adv_a = [0.5, 0.6, 0.7];
        let adv_b = [-1.0, -2.0];
        let m = MicroBatch::new(&[&a, &b], &[&adv_a, &adv_b], &Device::flex());
        let v = |t: Tensor<2>| t.try_into_vec_as::<f32>().unwrap();
        let i = |t: Tensor<2, Int>| t.try_into_vec_as::<i64>().unwrap();
        assert_eq!(i(m.inputs.clone()), [10, 11, 12, 13, 20, 21, 0, 0]);
        // Row a: targets 11 (prompt), 12, 13, 14 = response tokens 0, 1, 2; row b: 21, 22; then padding.
        assert_eq!(m.scored.clone().try_into_vec_as::<i64>().unwrap(), [1, 3, 4, 5]);
        assert_eq!(m.scored_targets, [12, 14, 21, 22]);
        assert_eq!(m.at_scored(m.advantages.clone()).try_into_vec_as::<f32>().unwrap(), [0.5, 0.7, -1.0, -2.0]);
        assert_eq!(v(m.loss_mask.clone()), [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(v(m.old_logprobs.clone()), [0.0, -1.0, -2.0, -3.0, -1.0, -2.0, 0.0, 0.0]);
        assert_eq!(v(m.advantages.clone()), [0.0, 0.5, 0.6, 0.7, -1.0, -2.0, 0.0, 0.0]);
        assert_eq!(m.loss_tokens, 4.0);
    }

    #[test]
    fn micro_batches_respect_the_token_budget() {
        let lens = [10, 10, 30, 5, 5, 5];
        assert_eq!(micro_batches(&[0, 1, 2, 3, 4, 5], &lens, 40), vec![vec![0, 1], vec![2], vec![3, 4, 5]]);
        assert_eq!(micro_batches(&[2], &lens, 8), vec![vec![2]]);
    }
}

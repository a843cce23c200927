//! The LM head and the log-probabilities of chosen tokens, computed a chunk of rows at a time so that the
//! `[tokens, vocab]` logits never exist at once (the "fused linear cross-entropy" of Liger-Kernel, arXiv
//! 2410.10989): [`score`] for log-probs and entropies, [`score_and_backward`] for training, which takes the loss's
//! gradient with respect to each chunk's log-probs and returns the gradients of the hidden states and of the head's
//! weight. Each chunk's logits are made, reduced, turned into their own gradient in place and dropped.
//!
//! On the CPU the per-row softmax arithmetic runs over plain slices ([`cpu`]); on a GPU it is burn tensor ops.

mod cpu;

use std::ops::Range;

use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};

use crate::device::is_cpu;
use crate::model::Model;

/// Logits per chunk (rows × vocabulary): 2²² floats, 16 MiB, 85–130 rows for vocabularies of 32k–49k. Fewer rows per
/// chunk repeat the packing of the head's weight in each product and the pass that adds each chunk's weight
/// gradient (2²¹: the RL update 1.2–1.5× slower on the CPU); more let the chunk fall out of cache between its product
/// and its softmax passes (2²³: prefill 0.7×).
pub const CHUNK_LOGITS: usize = 1 << 22;

/// Rows per chunk for a vocabulary.
fn chunk_rows(vocab: usize) -> usize {
    (CHUNK_LOGITS / vocab.max(1)).max(1)
}

/// Log-probs and entropies of the scored tokens (inner backend, no autodiff).
#[derive(Debug, Clone)]
pub struct Scores {
    /// `log p(target)` per token, `[tokens]`.
    pub log_probs: Tensor<1>,
    /// The entropy of each token's distribution, `[tokens]`.
    pub entropy: Tensor<1>,
}

/// The head's gradients from [`score_and_backward`] (inner backend).
#[derive(Debug, Clone)]
pub struct HeadGrads {
    /// ∂loss/∂hidden, `[tokens, d_model]`.
    pub hidden: Tensor<2>,
    /// ∂loss/∂(the head's weight), in the layout of [`Model::head_weight`].
    pub weight: Tensor<2>,
}

/// The head's weight as the model stores it.
enum Weight {
    /// The tied embedding, `[vocab, d_model]`.
    Tied(Tensor<2>),
    /// An untied `Linear`, `[d_model, vocab]`.
    Linear(Tensor<2>),
}

impl Weight {
    fn of(model: &Model) -> Self {
        match &model.lm_head {
            Some(head) => Weight::Linear(head.weight.val().inner()),
            None => Weight::Tied(model.embed_tokens.weight.val().inner()),
        }
    }

    fn vocab(&self) -> usize {
        match self {
            Weight::Tied(w) => w.dims()[0],
            Weight::Linear(w) => w.dims()[1],
        }
    }

    /// `[rows, d] → [rows, vocab]`
    fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        match self {
            Weight::Tied(w) => hidden.matmul(w.clone().transpose()),
            Weight::Linear(w) => hidden.matmul(w.clone()),
        }
    }

    /// ∂/∂hidden from ∂/∂logits: `[rows, vocab] → [rows, d]`
    fn grad_hidden(&self, grad_logits: Tensor<2>) -> Tensor<2> {
        match self {
            Weight::Tied(w) => grad_logits.matmul(w.clone()),
            Weight::Linear(w) => grad_logits.matmul(w.clone().transpose()),
        }
    }

    /// ∂/∂weight from ∂/∂logits and the hidden rows, in the weight's own layout.
    fn grad_weight(&self, grad_logits: Tensor<2>, hidden: Tensor<2>) -> Tensor<2> {
        match self {
            Weight::Tied(_) => grad_logits.transpose().matmul(hidden),
            Weight::Linear(_) => hidden.transpose().matmul(grad_logits),
        }
    }
}

impl Model {
    /// The parameter the LM head multiplies by: the embedding (`[vocab, d_model]`) when the head is tied, else the
    /// head's own weight (`[d_model, vocab]`). The layout of [`HeadGrads::weight`].
    pub fn head_weight(&self) -> Tensor<2> {
        match &self.lm_head {
            Some(head) => head.weight.val(),
            None => self.embed_tokens.weight.val(),
        }
    }
}

/// The log-probability of each `targets[i]` after hidden row `i`, and the entropy there.
///
/// # Shapes
/// - hidden: `[tokens, d_model]`, `targets.len() == tokens`
pub fn score(model: &Model, hidden: Tensor<2>, targets: &[u32]) -> Scores {
    let (cpu, rows) = (is_cpu(&hidden.device()), chunk_rows(Weight::of(model).vocab()));
    run(model, hidden.inner(), targets, None, cpu, rows).0
}

/// [`score`], and the backward pass of a loss of the log-probs: `grad(log_probs, range)` gets the log-probs of the
/// tokens `range` (inner backend) and returns ∂loss/∂log_probs there (the same shape). The loss must treat each
/// token's log-prob on its own (a per-token loss under a fixed weighting, as every aggregation of the PPO loss does).
///
/// # Shapes
/// - hidden: `[tokens, d_model]`, `targets.len() == tokens`
pub fn score_and_backward(
    model: &Model,
    hidden: Tensor<2>,
    targets: &[u32],
    grad: &mut dyn FnMut(Tensor<1>, Range<usize>) -> Tensor<1>,
) -> (Scores, HeadGrads) {
    let (cpu, rows) = (is_cpu(&hidden.device()), chunk_rows(Weight::of(model).vocab()));
    let (scores, grads) = run(model, hidden.inner(), targets, Some(grad), cpu, rows);
    (scores, grads.expect("a gradient was asked for"))
}

/// A scalar whose gradient carries the head's gradients into the model by autodiff:
/// `Σ hidden ⊙ grads.hidden + Σ weight ⊙ grads.weight`, with `hidden` the tracked states [`score_and_backward`] was
/// given. Its backward gives every parameter the gradient of the loss.
pub fn surrogate(model: &Model, hidden: Tensor<2>, grads: HeadGrads) -> Tensor<1> {
    let hidden_part = (hidden * Tensor::from_inner(grads.hidden)).sum();
    hidden_part + (model.head_weight() * Tensor::from_inner(grads.weight)).sum()
}

type GradFn<'a> = &'a mut dyn FnMut(Tensor<1>, Range<usize>) -> Tensor<1>;

/// The loop over chunks of `rows` hidden rows; `cpu` picks the slice arithmetic of [`cpu`] over tensor ops.
fn run(
    model: &Model,
    hidden: Tensor<2>,
    targets: &[u32],
    mut grad: Option<GradFn>,
    cpu: bool,
    rows: usize,
) -> (Scores, Option<HeadGrads>) {
    let weight = Weight::of(model);
    let [tokens, d] = hidden.dims();
    assert_eq!(targets.len(), tokens, "one target per hidden row");
    let device = hidden.device();
    let (mut log_probs, mut entropy) = (Vec::new(), Vec::new());
    let mut grad_hidden = Vec::new();
    let mut grad_weight: Option<Tensor<2>> = None;
    for start in (0..tokens).step_by(rows) {
        let range = start..(start + rows).min(tokens);
        let h = hidden.clone().slice([range.clone(), 0..d]);
        let logits = weight.logits(h.clone());
        let chunk_targets = &targets[range.clone()];
        let (chunk, lp) = if cpu { Chunk::cpu(logits, chunk_targets) } else { Chunk::tensor(logits, chunk_targets) };
        log_probs.push(lp.clone());
        entropy.push(chunk.entropy());
        if let Some(grad) = grad.as_mut() {
            let g = grad(lp, range);
            let grad_logits = chunk.backward(g);
            grad_hidden.push(weight.grad_hidden(grad_logits.clone()));
            let gw = weight.grad_weight(grad_logits, h);
            grad_weight = Some(match grad_weight {
                Some(acc) => acc + gw,
                None => gw,
            });
        }
    }
    let scores = Scores { log_probs: cat(log_probs, &device), entropy: cat(entropy, &device) };
    let grads = grad.map(|_| HeadGrads {
        hidden: if grad_hidden.is_empty() { Tensor::zeros([0, d], &device) } else { Tensor::cat(grad_hidden, 0) },
        weight: grad_weight.unwrap_or_else(|| Tensor::zeros(weight_dims(&weight), &device)),
    });
    (scores, grads)
}

fn weight_dims(weight: &Weight) -> [usize; 2] {
    match weight {
        Weight::Tied(w) | Weight::Linear(w) => w.dims(),
    }
}

fn cat(parts: Vec<Tensor<1>>, device: &Device) -> Tensor<1> {
    if parts.is_empty() { Tensor::zeros([0], device) } else { Tensor::cat(parts, 0) }
}

/// One chunk between its forward and its backward: what the backward needs to turn the chunk's logits into their
/// gradient.
#[allow(clippy::large_enum_variant)] // one chunk exists at a time
enum Chunk {
    /// Rows of `exp(l − max)` on the host, with each row's statistics.
    Cpu { rows: Vec<f32>, vocab: usize, targets: Vec<u32>, stats: Vec<cpu::RowStats>, device: Device },
    /// The softmax `p` as a tensor, the targets and the entropies.
    Tensor { p: Tensor<2>, targets: Tensor<2, Int>, entropy: Tensor<1> },
}

impl Chunk {
    /// The chunk's forward on the CPU: its state and its log-probs.
    fn cpu(logits: Tensor<2>, targets: &[u32]) -> (Self, Tensor<1>) {
        let [_, vocab] = logits.dims();
        let device = logits.device();
        let mut rows = logits.into_data().try_into_vec::<f32>().expect("f32 logits");
        let stats = cpu::forward(&mut rows, vocab, targets);
        let lp: Vec<f32> = stats.iter().map(|s| s.log_prob).collect();
        let lp = Tensor::from_data(TensorData::new(lp, [stats.len()]), &device);
        (Chunk::Cpu { rows, vocab, targets: targets.to_vec(), stats, device }, lp)
    }

    /// The chunk's forward in tensor ops: its state and its log-probs.
    fn tensor(logits: Tensor<2>, targets: &[u32]) -> (Self, Tensor<1>) {
        let [n, _] = logits.dims();
        let device = logits.device();
        let ids: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
        let targets = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, 1]), &device);
        let shifted = logits.clone() - logits.max_dim(1);
        let e = shifted.clone().exp();
        let sum = e.clone().sum_dim(1);
        let log_sum = sum.clone().log();
        let entropy = (log_sum.clone() - (e.clone() * shifted.clone()).sum_dim(1) / sum.clone()).reshape([n]);
        let lp = (shifted.gather(1, targets.clone()) - log_sum).reshape([n]);
        (Chunk::Tensor { p: e / sum, targets, entropy }, lp)
    }

    fn entropy(&self) -> Tensor<1> {
        match self {
            Chunk::Cpu { stats, device, .. } => {
                let h: Vec<f32> = stats.iter().map(|s| s.entropy).collect();
                Tensor::from_data(TensorData::new(h, [stats.len()]), device)
            }
            Chunk::Tensor { entropy, .. } => entropy.clone(),
        }
    }

    /// ∂loss/∂logits of the chunk, given ∂loss/∂log_probs.
    fn backward(self, grad: Tensor<1>) -> Tensor<2> {
        match self {
            Chunk::Cpu { mut rows, vocab, targets, stats, device } => {
                let g = grad.into_data().try_into_vec::<f32>().expect("f32 gradient");
                cpu::backward(&mut rows, vocab, &targets, &stats, &g);
                Tensor::from_data(TensorData::new(rows, [targets.len(), vocab]), &device)
            }
            Chunk::Tensor { p, targets, .. } => {
                let [n, _] = p.dims();
                let g = grad.reshape([n, 1]);
                (p * g.clone().neg()).scatter(1, targets, g, IndexingUpdateOp::Add)
            }
        }
    }
}

#[cfg(test)]
mod test;

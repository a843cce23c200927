//! The LM head and the log-probabilities of chosen tokens, computed a chunk of rows at a time so that the
//! `[tokens, vocab]` logits never exist at once (the "fused linear cross-entropy" of Liger-Kernel, arXiv
//! 2410.10989): [`score`] for log-probs and entropies, [`score_and_backward`] for training, which takes the loss's
//! gradient with respect to each chunk's log-probs and returns the gradients of the hidden states and of the head's
//! weight. Each chunk's logits are made, reduced, turned into their own gradient in place and dropped.
//!
//! On the CPU the chunks' products and per-row softmax arithmetic run over plain slices (`cpu`); on a GPU they are
//! burn tensor ops.

#[cfg(feature = "flex")]
mod cpu;

use std::ops::Range;

use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};

use crate::device::is_cpu;
use crate::model::Model;

/// Logits per chunk (rows × vocabulary): 2²³ floats, 32 MiB, 170–262 rows for vocabularies of 32k–49k. Fewer rows
/// per chunk repeat the packing of the head's weight in each product (2²¹: the RL update 1.2–1.5× slower on the CPU).
/// On the CPU one buffer serves every chunk; while each chunk had a fresh one, 2²³ made the prefill 0.7× (likely
/// glibc unmapping freed 32 MiB buffers, so each chunk faulted its pages in again). With the buffer reused,
/// 2²² to 2²⁶ measured within about 5% of each other, 2²² the lowest on the RL update (docs/trainer.md).
pub const CHUNK_LOGITS: usize = 1 << 23;

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

/// The loop over chunks of `rows` hidden rows; `cpu` picks the slice arithmetic of `cpu` over tensor ops.
fn run(
    model: &Model,
    hidden: Tensor<2>,
    targets: &[u32],
    grad: Option<GradFn>,
    cpu: bool,
    rows: usize,
) -> (Scores, Option<HeadGrads>) {
    assert_eq!(targets.len(), hidden.dims()[0], "one target per hidden row");
    #[cfg(feature = "flex")]
    if cpu {
        return run_on_cpu(model, hidden, targets, grad, rows);
    }
    debug_assert!(!cpu, "the CPU path needs the `flex` feature");
    run_in_tensor_ops(model, hidden, targets, grad, rows)
}

/// [`run`] over host slices: the hidden states and the weight read in place, the products and the softmax arithmetic
/// in `cpu`, and the results back as tensors.
#[cfg(feature = "flex")]
fn run_on_cpu(
    model: &Model,
    hidden: Tensor<2>,
    targets: &[u32],
    grad: Option<GradFn>,
    rows: usize,
) -> (Scores, Option<HeadGrads>) {
    let weight = Weight::of(model);
    let [_, d] = hidden.dims();
    let device = hidden.device();
    let vocab = weight.vocab();
    let (layout, w) = match weight {
        Weight::Tied(w) => (cpu::Layout::Tied, w),
        Weight::Linear(w) => (cpu::Layout::Linear, w),
    };
    let weight_dims = w.dims();
    let tensor = |v: Vec<f32>, n: usize| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
    let mut slice_grad = grad.map(|grad| {
        move |lp: &[f32], range: Range<usize>| {
            let g = grad(tensor(lp.to_vec(), lp.len()), range);
            g.into_data().try_into_vec::<f32>().expect("f32 gradient")
        }
    });
    let out = cpu::chunks(
        &crate::cpu_ops::host(hidden),
        &crate::cpu_ops::host(w),
        layout,
        [d, vocab],
        targets,
        rows,
        slice_grad.as_mut().map(|g| g as cpu::SliceGrad),
    );
    let n = out.stats.len();
    let scores = Scores {
        log_probs: tensor(out.stats.iter().map(|s| s.log_prob).collect(), n),
        entropy: tensor(out.stats.iter().map(|s| s.entropy).collect(), n),
    };
    let grads = out.grads.map(|(hidden, weight)| HeadGrads {
        hidden: Tensor::from_data(TensorData::new(hidden, [n, d]), &device),
        weight: Tensor::from_data(TensorData::new(weight, weight_dims), &device),
    });
    (scores, grads)
}

/// [`run`] in burn tensor ops (GPUs).
fn run_in_tensor_ops(
    model: &Model,
    hidden: Tensor<2>,
    targets: &[u32],
    mut grad: Option<GradFn>,
    rows: usize,
) -> (Scores, Option<HeadGrads>) {
    let weight = Weight::of(model);
    let [tokens, d] = hidden.dims();
    let device = hidden.device();
    let (mut log_probs, mut entropy) = (Vec::new(), Vec::new());
    let mut grad_hidden = Vec::new();
    let mut grad_weight: Option<Tensor<2>> = None;
    for start in (0..tokens).step_by(rows) {
        let range = start..(start + rows).min(tokens);
        let h = hidden.clone().slice([range.clone(), 0..d]);
        let (chunk, lp) = Chunk::forward(weight.logits(h.clone()), &targets[range.clone()]);
        log_probs.push(lp.clone());
        entropy.push(chunk.entropy.clone());
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

/// One chunk between its forward and its backward, in tensor ops: the softmax `p`, the targets and the entropies.
struct Chunk {
    p: Tensor<2>,
    targets: Tensor<2, Int>,
    entropy: Tensor<1>,
}

impl Chunk {
    /// The chunk's forward: its state and its log-probs.
    fn forward(logits: Tensor<2>, targets: &[u32]) -> (Self, Tensor<1>) {
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
        (Chunk { p: e / sum, targets, entropy }, lp)
    }

    /// ∂loss/∂logits of the chunk, given ∂loss/∂log_probs.
    fn backward(self, grad: Tensor<1>) -> Tensor<2> {
        let [n, _] = self.p.dims();
        let g = grad.reshape([n, 1]);
        (self.p * g.clone().neg()).scatter(1, self.targets, g, IndexingUpdateOp::Add)
    }
}

#[cfg(all(test, feature = "flex"))]
mod test;

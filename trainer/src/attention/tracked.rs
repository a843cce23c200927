//! The CPU's causal attention as one differentiable operation of burn's autodiff (a backend extension over
//! burn-flex): the forward saves `q`, `k`, `v`, the output and one log-sum-exp per query, and the backward recomputes
//! the probabilities a block at a time. Composed of tensor ops instead, autodiff keeps the `[batch, heads, seq, keys]`
//! scores, their `exp` and the probabilities of every layer until the backward pass (for SmolLM2-135M at 8 × 256
//! tokens, 57 MB a layer), and runs each op on the whole square, the blocks above the diagonal included.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

use super::cpu::{self, Saved, Shape};
use crate::cpu_ops::{slice, tensor};

/// The keys each query may see besides the causal rule: 0 for a valid key, `-inf` for padding, per batch row.
#[derive(Debug)]
pub(crate) struct KeyBias(pub Vec<Vec<f32>>);

#[backend_extension(Flex, Autodiff)]
pub(crate) trait CausalAttention: Backend {
    /// `softmax(q kᵀ / √d + mask) v` with the causal mask after `past` cached positions and `bias`.
    ///
    /// # Shapes
    /// - q: `[batch, heads, seq, head_dim]`
    /// - k, v: `[batch, kv_heads, past + seq, head_dim]`
    /// - output: `[batch, heads, seq, head_dim]`
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: Arc<KeyBias>,
        past: usize,
    ) -> FloatTensor<Self>;
}

/// [`CausalAttention::causal_attention`] on tensors of the model (tracked or not).
pub(crate) fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Arc<KeyBias>, past: usize) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CausalAttention>::causal_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        bias,
        past,
    ))
}

impl CausalAttention for Flex {
    fn causal_attention(q: FlexTensor, k: FlexTensor, v: FlexTensor, bias: Arc<KeyBias>, past: usize) -> FlexTensor {
        let (q, k, v) = (q.to_contiguous(), k.to_contiguous(), v.to_contiguous());
        forward(&q, &k, &v, &bias, past).0
    }
}

impl<C: CheckpointStrategy> CausalAttention for Autodiff<Flex, C> {
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: Arc<KeyBias>,
        past: usize,
    ) -> FloatTensor<Self> {
        let prep = AttentionBackward.prepare::<C>([q.node(), k.node(), v.node()]).compute_bound().stateful();
        let (q, k, v) = (q.primitive().to_contiguous(), k.primitive().to_contiguous(), v.primitive().to_contiguous());
        let (out, lse) = forward(&q, &k, &v, &bias, past);
        match prep {
            OpsKind::Tracked(prep) => {
                let state = State { q, k, v, out: out.clone(), lse: Arc::new(lse), bias, past };
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[derive(Debug)]
struct AttentionBackward;

/// What the backward pass reads: the contiguous operands, the output and each query's log-sum-exp.
#[derive(Debug, Clone)]
struct State {
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    out: FlexTensor,
    lse: Arc<Vec<f32>>,
    bias: Arc<KeyBias>,
    past: usize,
}

impl Backward<Flex, 3> for AttentionBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let State { q, k, v, out, lse, bias, past } = ops.state;
        let grad_out = grads.consume::<Flex>(&ops.node).to_contiguous();
        let shape = shape_of(&q, &k, past);
        let saved =
            Saved { q: slice(&q), k: slice(&k), v: slice(&v), out: slice(&out), lse: &lse, grad_out: slice(&grad_out) };
        let computed = cpu::attend_backward(&saved, &shape, &bias.0);
        let [q_node, k_node, v_node] = ops.parents;
        for (node, grad, like) in [(q_node, computed.q, &q), (k_node, computed.k, &k), (v_node, computed.v, &v)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(grad, like));
            }
        }
    }
}

/// The kernel's output and log-sum-exps over contiguous operands.
fn forward(q: &FlexTensor, k: &FlexTensor, v: &FlexTensor, bias: &KeyBias, past: usize) -> (FlexTensor, Vec<f32>) {
    let shape = shape_of(q, k, past);
    let (out, lse) = cpu::attend(slice(q), slice(k), slice(v), &shape, &bias.0);
    (tensor(out, q), lse)
}

fn shape_of(q: &FlexTensor, k: &FlexTensor, past: usize) -> Shape {
    let (q, k) = (q.layout().shape(), k.layout().shape());
    assert!(q.len() == 4 && k.len() == 4 && k[2] == past + q[2], "attention operands of rank 4, keys after `past`");
    Shape { batch: q[0], heads: q[1], kv_heads: k[1], seq: q[2], past, head_dim: q[3], capacity: k[2] }
}

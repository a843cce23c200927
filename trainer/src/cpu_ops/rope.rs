//! The rotary embedding of the query or key heads with the move of the heads before the positions, in one pass
//! each way: the tensor ops take a strided view of the projection, two halves, a negation, a concatenation, two
//! products and a sum (six fresh tensors forward, as many backward), and the attention then copies the view.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::{TASK, slice};
use crate::fastmath::with_avx2_fma;

#[backend_extension(Flex, Autodiff)]
pub(crate) trait RopeOps: Backend {
    /// `x · cos + rotate_half(x) · sin` per head, the heads moved before the positions.
    fn rope_heads_first(x: FloatTensor<Self>, cos: FloatTensor<Self>, sin: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The rotated heads of `x` (tracked or not), on burn-flex.
///
/// # Shapes
/// - x: `[batch, seq, heads, head_dim]`
/// - cos, sin: `[batch, 1, seq, head_dim]`
/// - output: `[batch, heads, seq, head_dim]`
pub(crate) fn rope_heads_first(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as RopeOps>::rope_heads_first(
        x.into_dispatch(),
        cos.into_dispatch(),
        sin.into_dispatch(),
    ))
}

impl RopeOps for Flex {
    fn rope_heads_first(x: FlexTensor, cos: FlexTensor, sin: FlexTensor) -> FlexTensor {
        forward(&x.to_contiguous(), &cos.to_contiguous(), &sin.to_contiguous())
    }
}

impl<C: CheckpointStrategy> RopeOps for Autodiff<Flex, C> {
    fn rope_heads_first(x: FloatTensor<Self>, cos: FloatTensor<Self>, sin: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = RopeBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let x = x.primitive().to_contiguous();
        let (cos, sin) = (cos.primitive().to_contiguous(), sin.primitive().to_contiguous());
        let out = forward(&x, &cos, &sin);
        let dims = x.layout().shape().clone();
        match prep {
            OpsKind::Tracked(prep) => prep.finish((cos, sin, dims), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[derive(Debug)]
struct RopeBackward;

impl Backward<Flex, 1> for RopeBackward {
    /// The tables and the input's shape.
    type State = (FlexTensor, FlexTensor, burn::tensor::Shape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (cos, sin, dims) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let [node] = ops.parents;
        let Some(node) = node else { return };
        let (dy, cos, sin) = (slice(&grad), slice(&cos), slice(&sin));
        let [batch, seq, heads, hd] = [dims[0], dims[1], dims[2], dims[3]];
        let mut dx = vec![0.0f32; dy.len()];
        // Tasks of whole (row, position)s, whose heads' gradients are contiguous in ∂x, of at least `TASK` elements.
        let tasks = dx.par_chunks_mut(heads * hd).with_min_len((TASK / (heads * hd).max(1)).max(1));
        tasks.enumerate().for_each(|(at, dx)| {
            let (b, i) = (at / seq, at % seq);
            let (cos, sin) = (&cos[at * hd..][..hd], &sin[at * hd..][..hd]);
            for (head, dx) in dx.chunks_exact_mut(hd).enumerate() {
                backward_row(&dy[((b * heads + head) * seq + i) * hd..][..hd], cos, sin, dx);
            }
        });
        debug_assert_eq!(dx.len(), batch * seq * heads * hd);
        grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, dims)));
    }
}

fn forward(x: &FlexTensor, cos: &FlexTensor, sin: &FlexTensor) -> FlexTensor {
    let dims = x.layout().shape();
    assert_eq!(dims.len(), 4, "x of rank 4");
    let [batch, seq, heads, hd] = [dims[0], dims[1], dims[2], dims[3]];
    let (x, cos, sin) = (slice(x), slice(cos), slice(sin));
    assert!(hd % 2 == 0 && cos.len() == batch * seq * hd && sin.len() == cos.len(), "tables of [batch, 1, seq, {hd}]");
    let mut out = vec![0.0f32; x.len()];
    // Tasks of whole (row, head)s, whose positions are contiguous in the output, of at least `TASK` elements (a decode
    // step's few hundred stay on one thread).
    let tasks = out.par_chunks_mut(seq * hd).with_min_len((TASK / (seq * hd).max(1)).max(1));
    tasks.enumerate().for_each(|(at, out)| {
        let (b, head) = (at / heads, at % heads);
        for (i, out) in out.chunks_exact_mut(hd).enumerate() {
            let table = (b * seq + i) * hd;
            let x = &x[((b * seq + i) * heads + head) * hd..][..hd];
            forward_row(x, &cos[table..][..hd], &sin[table..][..hd], out);
        }
    });
    FlexTensor::from_data(TensorData::new(out, [batch, heads, seq, hd]))
}

with_avx2_fma!(fn forward_row(x: &[f32], cos: &[f32], sin: &[f32], out: &mut [f32]) = forward_row_body);
with_avx2_fma!(fn backward_row(dy: &[f32], cos: &[f32], sin: &[f32], dx: &mut [f32]) = backward_row_body);

/// `out = x · cos + rotate_half(x) · sin`, `rotate_half(x) = [−x₂, x₁]` for the halves `x₁`, `x₂`.
#[inline(always)]
fn forward_row_body(x: &[f32], cos: &[f32], sin: &[f32], out: &mut [f32]) {
    let half = x.len() / 2;
    let (x1, x2) = x.split_at(half);
    let (o1, o2) = out.split_at_mut(half);
    let (c1, c2, s1, s2) = (&cos[..half], &cos[half..], &sin[..half], &sin[half..]);
    for i in 0..half {
        o1[i] = x1[i] * c1[i] + -x2[i] * s1[i];
        o2[i] = x2[i] * c2[i] + x1[i] * s2[i];
    }
}

/// The transpose: `∂x₁ = ∂y₁ · cos₁ + ∂y₂ · sin₂`, `∂x₂ = ∂y₂ · cos₂ − ∂y₁ · sin₁`.
#[inline(always)]
fn backward_row_body(dy: &[f32], cos: &[f32], sin: &[f32], dx: &mut [f32]) {
    let half = dy.len() / 2;
    let (y1, y2) = dy.split_at(half);
    let (d1, d2) = dx.split_at_mut(half);
    let (c1, c2, s1, s2) = (&cos[..half], &cos[half..], &sin[..half], &sin[half..]);
    for i in 0..half {
        d1[i] = y1[i] * c1[i] + y2[i] * s2[i];
        d2[i] = y2[i] * c2[i] - y1[i] * s1[i];
    }
}

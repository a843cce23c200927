//! A linear layer's product `x · w` (`w` as burn's `Linear` keeps it, `[d_in, d_out]`) through `gemm` into buffers
//! of our own, forward and backward. burn-flex allocates every product's output as zeroed bytes and then copies it
//! into a new allocation to realign it: two passes over each output on the calling thread while the pool waits
//! (10% of a SmolLM2-135M prefill's wall time, `perf`). The state kept for the backward pass is the one the tensor
//! ops keep, `x` and `w`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::TensorData;

use super::{slice, zeroed};
use crate::product::{Mat, product};

#[backend_extension(Flex, Autodiff)]
pub(crate) trait LinearOps: Backend {
    /// `x · w` over the last dimension of `x`.
    fn linear_product(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `x · w` on tensors of the model (tracked or not), on burn-flex.
///
/// # Shapes
/// - x: `[..., d_in]`
/// - w: `[d_in, d_out]`
/// - output: `[..., d_out]`
pub(crate) fn linear<const D: usize>(x: Tensor<D>, w: Tensor<2>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as LinearOps>::linear_product(x.into_dispatch(), w.into_dispatch()))
}

impl LinearOps for Flex {
    fn linear_product(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        forward(&x.to_contiguous(), &w.to_contiguous())
    }
}

impl<C: CheckpointStrategy> LinearOps for Autodiff<Flex, C> {
    fn linear_product(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = LinearBackward.prepare::<C>([x.node(), w.node()]).compute_bound().stateful();
        let (x, w) = (x.primitive().to_contiguous(), w.primitive().to_contiguous());
        let out = forward(&x, &w);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((x, w), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 2> for LinearBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (x, w) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let [rows, d_in, d_out] = sizes(&x, &w);
        let (xs, ws, g) = (slice(&x), slice(&w), slice(&grad));
        assert_eq!(g.len(), rows * d_out, "gradient shape");
        let [x_node, w_node] = ops.parents;
        if let Some(node) = x_node {
            // ∂x = ∂y · wᵀ
            let wt = Mat { data: ws, rs: 1, cs: d_out };
            let dx = new_product(Mat { data: g, rs: d_out, cs: 1 }, wt, [rows, d_in, d_out]);
            grads.register::<Flex>(node.id, shaped(dx, &x, d_in));
        }
        if let Some(node) = w_node {
            // ∂w = xᵀ · ∂y
            let xt = Mat { data: xs, rs: 1, cs: d_in };
            let dw = new_product(xt, Mat { data: g, rs: d_out, cs: 1 }, [d_in, d_out, rows]);
            grads.register::<Flex>(node.id, shaped(dw, &w, d_out));
        }
    }
}

/// `[rows, d_in, d_out]` of `x · w`.
fn sizes(x: &FlexTensor, w: &FlexTensor) -> [usize; 3] {
    let (xs, ws) = (x.layout().shape(), w.layout().shape());
    assert_eq!(ws.num_dims(), 2, "a weight of [d_in, d_out]");
    let (d_in, d_out) = (ws[0], ws[1]);
    assert_eq!(xs[xs.num_dims() - 1], d_in, "x's last dimension is the weight's d_in");
    [xs.num_elements() / d_in.max(1), d_in, d_out]
}

fn forward(x: &FlexTensor, w: &FlexTensor) -> FlexTensor {
    let [rows, d_in, d_out] = sizes(x, w);
    let (xs, ws) = (slice(x), slice(w));
    let y = new_product(Mat { data: xs, rs: d_in, cs: 1 }, Mat { data: ws, rs: d_out, cs: 1 }, [rows, d_out, d_in]);
    shaped(y, x, d_out)
}

/// `lhs · rhs` for `[m, n, depth]` in a new row-major `m × n` buffer, over rayon's threads from [`PARALLEL`]
/// multiply-adds.
fn new_product(lhs: Mat, rhs: Mat, [m, n, depth]: [usize; 3]) -> Vec<f32> {
    let mut out = zeroed(m * n);
    if m * n * depth > 0 {
        let threads = if m * n * depth >= PARALLEL { rayon::current_num_threads() } else { 1 };
        product(&mut out, n, lhs, rhs, [m, n, depth], 1.0, false, threads);
    }
    out
}

/// Multiply-adds from which a product runs on every thread: burn-flex's threshold (`192³`), below which `gemm`'s
/// hand-offs cost more than they save.
const PARALLEL: usize = 192 * 192 * 192;

/// `data` in the shape of `like` with its last dimension `last`.
fn shaped(data: Vec<f32>, like: &FlexTensor, last: usize) -> FlexTensor {
    let mut dims = like.layout().shape().to_vec();
    *dims.last_mut().expect("a tensor of at least one dimension") = last;
    FlexTensor::from_data(TensorData::new(data, dims))
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;

    #[test]
    fn the_product_and_its_gradients_match_burns_matmul() {
        let device = Device::flex().autodiff();
        let values = |n: usize, salt: usize| -> Vec<f32> {
            (0..n).map(|i| ((i * 7919 + salt * 104_729) % 4001) as f32 / 2000.0 - 1.0).collect()
        };
        // 2 × 200 rows, 150 → 130: above the parallel threshold, sizes that fill no vector evenly; and one small product.
        for [b, s, d_in, d_out] in [[2, 200, 150, 130], [1, 3, 5, 4]] {
            let run = |ours: bool| {
                let x = Tensor::<3>::from_data(TensorData::new(values(b * s * d_in, 1), [b, s, d_in]), &device);
                let w = Tensor::<2>::from_data(TensorData::new(values(d_in * d_out, 2), [d_in, d_out]), &device);
                let (x, w) = (x.require_grad(), w.require_grad());
                let y = if ours { linear(x.clone(), w.clone()) } else { x.clone().matmul(w.clone().unsqueeze()) };
                let g = Tensor::<3>::from_data(TensorData::new(values(b * s * d_out, 3), [b, s, d_out]), &device);
                let grads = (y.clone() * g).sum().backward();
                let (dx, dw) = (x.grad(&grads).expect("∂x"), w.grad(&grads).expect("∂w"));
                assert_eq!((y.dims(), dx.dims(), dw.dims()), ([b, s, d_out], [b, s, d_in], [d_in, d_out]));
                [y.try_into_vec_as::<f32>(), dx.try_into_vec_as::<f32>(), dw.try_into_vec_as::<f32>()]
                    .map(|v| v.expect("f32"))
            };
            let (got, want) = (run(true), run(false));
            for (name, (g, w)) in ["y", "∂x", "∂w"].iter().zip(got.iter().zip(&want)) {
                for (k, (a, b)) in g.iter().zip(w).enumerate() {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{name}, value {k}: {a} vs {b}");
                }
            }
        }
    }
}

//! RMSNorm `x / √(mean(x²) + ε) · γ` over the last dimension: the input and one reciprocal root per row are the
//! state kept for the backward pass, where the tensor ops keep the normalised input as well and run nine passes over
//! the activations between them.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use rayon::prelude::*;

use super::{TASK, slice, tensor};
use crate::fastmath::with_avx2_fma;

#[backend_extension(Flex, Autodiff)]
pub(crate) trait RmsNormOps: Backend {
    /// `x / √(mean(x²) + epsilon) · gamma`, the mean over the last dimension, of `gamma`'s length.
    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f64) -> FloatTensor<Self>;
}

/// RMSNorm of tensors of the model (tracked or not), on burn-flex.
///
/// # Shapes
/// - x, output: `[..., d]`
/// - gamma: `[d]`
pub(crate) fn rms_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, epsilon: f64) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as RmsNormOps>::rms_norm(x.into_dispatch(), gamma.into_dispatch(), epsilon))
}

impl RmsNormOps for Flex {
    fn rms_norm(x: FlexTensor, gamma: FlexTensor, epsilon: f64) -> FlexTensor {
        forward(&x.to_contiguous(), &gamma.to_contiguous(), epsilon).0
    }
}

impl<C: CheckpointStrategy> RmsNormOps for Autodiff<Flex, C> {
    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f64) -> FloatTensor<Self> {
        let prep = RmsNormBackward.prepare::<C>([x.node(), gamma.node()]).compute_bound().stateful();
        let (x, gamma) = (x.primitive().to_contiguous(), gamma.primitive().to_contiguous());
        let (out, inv_rms) = forward(&x, &gamma, epsilon);
        match prep {
            OpsKind::Tracked(prep) => prep.finish(State { x, gamma, inv_rms }, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[derive(Debug)]
struct RmsNormBackward;

#[derive(Debug, Clone)]
struct State {
    x: FlexTensor,
    gamma: FlexTensor,
    /// `1 / √(mean(x²) + ε)` per row.
    inv_rms: Vec<f32>,
}

impl Backward<Flex, 2> for RmsNormBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let State { x, gamma, inv_rms } = ops.state;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (xs, g, dy) = (slice(&x), slice(&gamma), slice(&grad));
        let d = g.len();
        assert_eq!((dy.len(), inv_rms.len() * d), (xs.len(), xs.len()), "gradient and saved shapes");
        let rows = rows_per_task(d);
        let mut dx = vec![0.0f32; xs.len()];
        // Each task's rows' share of ∂γ, summed after.
        let partial: Vec<Vec<f32>> = dx
            .par_chunks_mut(rows * d)
            .enumerate()
            .map(|(t, dx)| {
                let at = t * rows * d..t * rows * d + dx.len();
                let mut d_gamma = vec![0.0f32; d];
                let each = xs[at.clone()].chunks_exact(d).zip(dy[at].chunks_exact(d)).zip(dx.chunks_exact_mut(d));
                for (((x, dy), dx), &r) in each.zip(&inv_rms[t * rows..]) {
                    backward_row(x, dy, g, r, dx, &mut d_gamma);
                }
                d_gamma
            })
            .collect();
        let d_gamma = partial.into_iter().reduce(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        });
        let [x_node, gamma_node] = ops.parents;
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(dx, &x));
        }
        if let Some(node) = gamma_node {
            grads.register::<Flex>(node.id, tensor(d_gamma.unwrap_or_else(|| vec![0.0; d]), &gamma));
        }
    }
}

/// Rows per parallel task.
fn rows_per_task(d: usize) -> usize {
    (TASK / d.max(1)).max(1)
}

/// The output and each row's `1 / √(mean(x²) + ε)`.
fn forward(x: &FlexTensor, gamma: &FlexTensor, epsilon: f64) -> (FlexTensor, Vec<f32>) {
    let (xs, g) = (slice(x), slice(gamma));
    let d = g.len();
    assert!(d > 0 && xs.len() % d == 0, "RMSNorm over a last dimension of gamma's length");
    let rows = rows_per_task(d);
    let mut out = vec![0.0f32; xs.len()];
    let mut inv_rms = vec![0.0f32; xs.len() / d];
    out.par_chunks_mut(rows * d).zip(inv_rms.par_chunks_mut(rows)).enumerate().for_each(|(t, (out, inv))| {
        let x = &xs[t * rows * d..t * rows * d + out.len()];
        for ((x, out), inv) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).zip(inv) {
            *inv = forward_row(x, g, epsilon as f32, out);
        }
    });
    (tensor(out, x), inv_rms)
}

with_avx2_fma!(fn forward_row(x: &[f32], gamma: &[f32], epsilon: f32, out: &mut [f32]) -> f32 = forward_row_body);
with_avx2_fma!(fn backward_row(x: &[f32], dy: &[f32], gamma: &[f32], inv_rms: f32, dx: &mut [f32], d_gamma: &mut [f32]) = backward_row_body);

/// `out = x · r · γ` with `r = 1 / √(mean(x²) + ε)`; returns `r`.
#[inline(always)]
fn forward_row_body(x: &[f32], gamma: &[f32], epsilon: f32, out: &mut [f32]) -> f32 {
    let r = 1.0 / (sum_of_products(x, x) / x.len() as f32 + epsilon).sqrt();
    for ((o, &x), &g) in out.iter_mut().zip(x).zip(gamma) {
        *o = x * r * g;
    }
    r
}

/// With `x̂ = x · r` and `gy = ∂y · γ`: `∂x = r · (gy − x̂ · mean(gy · x̂))`, and `∂γ += ∂y · x̂`.
#[inline(always)]
fn backward_row_body(x: &[f32], dy: &[f32], gamma: &[f32], inv_rms: f32, dx: &mut [f32], d_gamma: &mut [f32]) {
    let r = inv_rms;
    for ((dx, &dy), &g) in dx.iter_mut().zip(dy).zip(gamma) {
        *dx = dy * g;
    }
    let c = sum_of_products(dx, x) * r / x.len() as f32;
    for (((dx, &x), &dy), dg) in dx.iter_mut().zip(x).zip(dy).zip(d_gamma.iter_mut()) {
        let x_hat = x * r;
        *dg += dy * x_hat;
        *dx = r * (*dx - x_hat * c);
    }
}

/// `Σ a · b` in lanes the compiler vectorises.
#[inline(always)]
fn sum_of_products(a: &[f32], b: &[f32]) -> f32 {
    use crate::fastmath::LANES;
    let mut lanes = [0.0f32; LANES];
    let (mut ca, mut cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (a, b) in (&mut ca).zip(&mut cb) {
        for ((l, a), b) in lanes.iter_mut().zip(a).zip(b) {
            *l += a * b;
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(a, b)| a * b).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use burn::nn::RmsNormConfig;
    use burn::tensor::TensorData;

    use super::*;

    #[test]
    fn rms_norm_and_its_gradients_match_burns_module() {
        let device = Device::flex().autodiff();
        // 2 × 700 rows of 50: several parallel tasks (327 rows each) and a remainder; rows of very different scales.
        let (rows, d) = (1400, 50);
        let values: Vec<f32> = (0..rows * d)
            .map(|i| (((i * 7919) % 4001) as f32 / 2000.0 - 1.0) * (1.0 + (i / d % 7) as f32 * 3.0))
            .collect();
        let run = |fused: bool| {
            let x = Tensor::<3>::from_data(TensorData::new(values.clone(), [2, rows / 2, d]), &device).require_grad();
            let norm = RmsNormConfig::new(d).with_epsilon(1e-6).init(&device);
            let gamma: Vec<f32> = (0..d).map(|i| 0.5 + i as f32 / d as f32).collect();
            let gamma = Tensor::<1>::from_data(TensorData::new(gamma, [d]), &device).require_grad();
            let norm = burn::nn::RmsNorm { gamma: burn::module::Param::from_tensor(gamma), ..norm };
            let out = if fused { rms_norm(x.clone(), norm.gamma.val(), 1e-6) } else { norm.forward(x.clone()) };
            let w: Vec<f32> = (0..rows * d).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
            let w = Tensor::<3>::from_data(TensorData::new(w, [2, rows / 2, d]), &device);
            let grads = (out.clone() * w).sum().backward();
            [out, x.grad(&grads).expect("∂x").reshape([rows * d]).unsqueeze::<3>()]
                .map(|t| t.try_into_vec_as::<f32>().expect("f32"))
                .into_iter()
                .chain([norm.gamma.val().grad(&grads).expect("∂γ").try_into_vec_as::<f32>().expect("f32")])
                .collect::<Vec<_>>()
        };
        let (got, want) = (run(true), run(false));
        for (name, (g, w)) in ["output", "∂x", "∂γ"].iter().zip(got.iter().zip(&want)) {
            let scale = w.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            for (k, (a, b)) in g.iter().zip(w).enumerate() {
                assert!((a - b).abs() <= 2e-5 * scale, "{name}, value {k}: {a} vs {b}");
            }
        }
    }
}

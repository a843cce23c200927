//! The MLP's gate `silu(gate) · up`: `gate` and `up` are the only state kept for the backward pass, where the
//! tensor ops keep `sigmoid(gate)`, `gate`, `silu(gate)` and `up` (four `[tokens, d_ff]` tensors a layer).

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
use crate::fastmath::{exp, with_avx2_fma};

#[backend_extension(Flex, Autodiff)]
pub(crate) trait SwigluOps: Backend {
    /// `silu(gate) · up`, elementwise; both of one shape.
    fn swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `silu(gate) · up` on tensors of the model (tracked or not), on burn-flex.
///
/// # Shapes
/// - gate, up, output: `[batch, seq, d_ff]`
pub(crate) fn swiglu(gate: Tensor<3>, up: Tensor<3>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as SwigluOps>::swiglu(gate.into_dispatch(), up.into_dispatch()))
}

impl SwigluOps for Flex {
    fn swiglu(gate: FlexTensor, up: FlexTensor) -> FlexTensor {
        forward(&gate.to_contiguous(), &up.to_contiguous())
    }
}

impl<C: CheckpointStrategy> SwigluOps for Autodiff<Flex, C> {
    fn swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = SwigluBackward.prepare::<C>([gate.node(), up.node()]).compute_bound().stateful();
        let (gate, up) = (gate.primitive().to_contiguous(), up.primitive().to_contiguous());
        let out = forward(&gate, &up);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((gate, up), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[derive(Debug)]
struct SwigluBackward;

impl Backward<Flex, 2> for SwigluBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (gate, up) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (g, u, d) = (slice(&gate), slice(&up), slice(&grad));
        check(g, u);
        assert_eq!(d.len(), g.len(), "gradient shape");
        let (mut d_gate, mut d_up) = (vec![0.0f32; g.len()], vec![0.0f32; g.len()]);
        d_gate.par_chunks_mut(TASK).zip(d_up.par_chunks_mut(TASK)).enumerate().for_each(|(i, (dg, du))| {
            let at = i * TASK..i * TASK + dg.len();
            backward_chunk(&g[at.clone()], &u[at.clone()], &d[at], dg, du);
        });
        let [gate_node, up_node] = ops.parents;
        for (node, grad) in [(gate_node, d_gate), (up_node, d_up)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(grad, &gate));
            }
        }
    }
}

fn forward(gate: &FlexTensor, up: &FlexTensor) -> FlexTensor {
    let (g, u) = (slice(gate), slice(up));
    check(g, u);
    let mut out = vec![0.0f32; g.len()];
    out.par_chunks_mut(TASK).enumerate().for_each(|(i, out)| {
        let at = i * TASK..i * TASK + out.len();
        forward_chunk(&g[at.clone()], &u[at], out);
    });
    tensor(out, gate)
}

fn check(gate: &[f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len(), "gate and up of one shape");
}

with_avx2_fma!(fn forward_chunk(gate: &[f32], up: &[f32], out: &mut [f32]) = forward_body);
with_avx2_fma!(fn backward_chunk(gate: &[f32], up: &[f32], grad: &[f32], d_gate: &mut [f32], d_up: &mut [f32]) = backward_body);

/// `out = g · σ(g) · u`
#[inline(always)]
fn forward_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g * sigmoid(g) * u;
    }
}

/// `∂up = ∂out · g · σ(g)` and `∂gate = ∂out · u · σ(g) · (1 + g · (1 − σ(g)))`
#[inline(always)]
fn backward_body(gate: &[f32], up: &[f32], grad: &[f32], d_gate: &mut [f32], d_up: &mut [f32]) {
    for ((((dg, du), &g), &u), &d) in d_gate.iter_mut().zip(d_up.iter_mut()).zip(gate).zip(up).zip(grad) {
        let s = sigmoid(g);
        *du = d * g * s;
        *dg = d * u * s * (1.0 + g * (1.0 - s));
    }
}

/// `1 / (1 + e^−x)` from `e^−|x|`, which never overflows.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 { r } else { e * r }
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;
    use burn::tensor::activation::silu;

    use super::*;

    #[test]
    fn swiglu_and_its_gradients_match_the_tensor_ops() {
        let device = Device::flex().autodiff();
        // 3 × 7 × 5000: several parallel tasks and a remainder; values across the sigmoid's range, both signs.
        let n = 3 * 7 * 5000;
        let values = |salt: usize| -> Vec<f32> {
            (0..n).map(|i| (((i * 7919 + salt * 104_729) % 4001) as f32 / 2000.0 - 1.0) * 12.0).collect()
        };
        let run = |fused: bool| {
            let tensor = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [3, 7, 5000]), &device).require_grad();
            let (gate, up) = (tensor(values(1)), tensor(values(2)));
            let out = if fused { swiglu(gate.clone(), up.clone()) } else { silu(gate.clone()) * up.clone() };
            let w: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
            let grads =
                (out.clone() * Tensor::<3>::from_data(TensorData::new(w, [3, 7, 5000]), &device)).sum().backward();
            [out, gate.grad(&grads).expect("∂gate"), up.grad(&grads).expect("∂up")]
                .map(|t| t.try_into_vec_as::<f32>().expect("f32"))
        };
        let (got, want) = (run(true), run(false));
        for (name, (g, w)) in ["output", "∂gate", "∂up"].iter().zip(got.iter().zip(&want)) {
            for (k, (a, b)) in g.iter().zip(w).enumerate() {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{name}, value {k}: {a} vs {b}");
            }
        }
    }
}

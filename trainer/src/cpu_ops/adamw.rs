//! One AdamW step of a parameter in a single pass over the parameter, its gradient and both moments, written in
//! place where burn-flex owns the buffers alone. burn's AdamW takes fifteen tensor ops per parameter, each a pass
//! over the parameter's size into a fresh tensor (for SmolLM2-135M, 540 MB a pass, two optimizer steps per RL update).

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use rayon::prelude::*;

use super::{TASK, slice};
use crate::fastmath::with_avx2_fma;

/// The step's scalars, as burn's AdamW rounds them to f32.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hyper {
    /// The learning rate.
    pub lr: f32,
    /// `1 − lr · weight_decay`.
    pub decay: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// `1 − β₁ᵗ` and `1 − β₂ᵗ`, the bias corrections of step `t`.
    pub correction_1: f32,
    pub correction_2: f32,
}

#[backend_extension(Flex)]
pub(crate) trait AdamWOps: Backend {
    /// The parameter and both moments after one step, each of the parameter's shape.
    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        hyper: Hyper,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// [`AdamWOps::adamw_step`] on burn-flex tensors (not tracked): `(param, moment_1, moment_2)` after the step.
pub(crate) fn adamw_step<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moments: [Tensor<D>; 2],
    hyper: Hyper,
) -> [Tensor<D>; 3] {
    let [m, v] = moments.map(Tensor::into_dispatch);
    let (p, m, v) = <Dispatch as AdamWOps>::adamw_step(param.into_dispatch(), grad.into_dispatch(), m, v, hyper);
    [p, m, v].map(Tensor::from_dispatch)
}

impl AdamWOps for Flex {
    fn adamw_step(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        hyper: Hyper,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let grad = grad.to_contiguous();
        let (mut p, mut m, mut v) = (writable(param), writable(moment_1), writable(moment_2));
        {
            let g = slice(&grad);
            let (p, m, v) = (elements(&mut p), elements(&mut m), elements(&mut v));
            assert!(
                p.len() == g.len() && m.len() == g.len() && v.len() == g.len(),
                "parameter, gradient and moments of one shape"
            );
            let chunks = p.par_chunks_mut(TASK).zip(m.par_chunks_mut(TASK)).zip(v.par_chunks_mut(TASK));
            chunks.zip(g.par_chunks(TASK)).for_each(|(((p, m), v), g)| step_chunk(p, m, v, g, hyper));
        }
        (p, m, v)
    }
}

/// `t` contiguous (a copy when it is a view), so that its storage from the layout's offset holds its elements in order.
fn writable(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() { t } else { t.to_contiguous() }
}

/// The elements of a contiguous tensor, mutable: in place when the tensor owns its buffer alone, else in a copy of it.
fn elements(t: &mut FlexTensor) -> &mut [f32] {
    let (start, end) = t.layout().contiguous_offsets().expect("a contiguous tensor");
    &mut t.storage_mut::<f32>()[start..end]
}

with_avx2_fma!(fn step_chunk(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], h: Hyper) = step_body);

/// burn's AdamW, op for op: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p·(1 − lr·λ) − lr · (m / c₁) / (√(v / c₂) + ε)`.
#[inline(always)]
fn step_body(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], h: Hyper) {
    let (f1, f2) = (1.0 - h.beta_1, 1.0 - h.beta_2);
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        *m = *m * h.beta_1 + g * f1;
        *v = *v * h.beta_2 + g * g * f2;
        let delta = (*m / h.correction_1) / ((*v / h.correction_2).sqrt() + h.epsilon);
        *p = *p * h.decay - delta * h.lr;
    }
}

//! Operations of our own on burn-flex, each one pass forward and one pass backward with only the state its
//! backward pass reads (backend extensions with a handwritten autodiff step): composed of tensor ops, burn's
//! autodiff keeps every intermediate until the backward pass, allocates a fresh tensor per op in both passes (each
//! faulting in fresh pages), and burn-flex runs transcendental functions through libm on one thread.

use std::ops::Deref;

use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchTensorKind};
use burn::prelude::*;
use burn::tensor::TensorData;

mod adamw;
mod linear;
mod rms_norm;
mod rope;
mod swiglu;

pub(crate) use adamw::{Hyper, adamw_step};
pub(crate) use linear::linear;
pub(crate) use rms_norm::rms_norm;
pub(crate) use rope::rope_heads_first;
pub(crate) use swiglu::swiglu;

/// Elements per parallel task of the elementwise loops: a decode step's few thousand stay on one thread.
pub(crate) const TASK: usize = 1 << 14;

/// `len` zeros, written over rayon's threads from [`TASK`] elements: one thread zeroing (and faulting in) an
/// output of tens of megabytes leaves the other waiting.
pub(crate) fn zeroed(len: usize) -> Vec<f32> {
    use rayon::prelude::*;
    use std::mem::MaybeUninit;
    let mut out = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len].par_chunks_mut(TASK).for_each(|c| c.fill(MaybeUninit::new(0.0)));
    #[allow(unsafe_code)]
    // SAFETY: the first `len` elements of the capacity were initialised just above.
    unsafe {
        out.set_len(len)
    };
    out
}

/// The values of a contiguous f32 tensor.
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensors")
}

/// A contiguous tensor of `data` in the shape of `like`.
pub(crate) fn tensor(data: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, like.layout().shape().clone()))
}

/// The values of a burn-flex float tensor in place, without the copy `into_data` makes of a shared tensor (a view is
/// made contiguous first).
pub(crate) struct Host(FlexTensor);

impl Deref for Host {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        slice(&self.0)
    }
}

/// [`Host`] of a tensor on burn-flex (not tracked).
///
/// # Panics
/// When the tensor is on another backend or tracked: the callers take the CPU's paths only on burn-flex's tensors.
pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Host {
    match t.into_dispatch().kind {
        DispatchTensorKind::Flex(BackendTensor::Float(t)) => Host(t.to_contiguous()),
        _ => panic!("a float tensor of burn-flex, not tracked"),
    }
}

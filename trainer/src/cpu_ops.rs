//! Operations of our own on burn-flex, each one pass forward and one pass backward with only the state its
//! backward pass reads (backend extensions with a handwritten autodiff step): composed of tensor ops, burn's
//! autodiff keeps every intermediate until the backward pass, allocates a fresh tensor per op in both passes (each
//! faulting in fresh pages), and burn-flex runs transcendental functions through libm on one thread.

use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

mod adamw;
mod rms_norm;
mod swiglu;

pub(crate) use adamw::{Hyper, adamw_step};
pub(crate) use rms_norm::rms_norm;
pub(crate) use swiglu::swiglu;

/// Elements per parallel task of the elementwise loops: a decode step's few thousand stay on one thread.
const TASK: usize = 1 << 14;

/// The values of a contiguous f32 tensor.
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensors")
}

/// A contiguous tensor of `data` in the shape of `like`.
pub(crate) fn tensor(data: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, like.layout().shape().clone()))
}

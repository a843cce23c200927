//! Choosing the device once, at the edge: `cpu` (burn-flex), `wgpu` or `cuda`, among the cargo
//! features compiled in.

use std::str::FromStr;

use burn::prelude::Device;

use crate::error::Result;

/// The backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// The CPU through burn-flex (feature `flex`, on by default).
    #[default]
    Cpu,
    /// The default GPU adapter through wgpu (feature `wgpu`).
    Wgpu,
    /// The first CUDA GPU (feature `cuda`).
    Cuda,
}

impl FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown device {other:?} (expected cpu, wgpu or cuda)")),
        }
    }
}

impl DeviceKind {
    /// The burn device for this kind.
    ///
    /// # Errors
    /// [`crate::Error::DeviceNotCompiled`] naming the cargo feature to enable.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => {
                #[cfg(feature = "flex")]
                return Ok(Device::flex());
                #[cfg(not(feature = "flex"))]
                return Err(crate::error::Error::DeviceNotCompiled { device: "cpu".into(), feature: "flex" });
            }
            Self::Wgpu => {
                #[cfg(feature = "wgpu")]
                return Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
                #[cfg(not(feature = "wgpu"))]
                return Err(crate::error::Error::DeviceNotCompiled { device: "wgpu".into(), feature: "wgpu" });
            }
            Self::Cuda => {
                #[cfg(feature = "cuda")]
                return Ok(Device::cuda(0));
                #[cfg(not(feature = "cuda"))]
                return Err(crate::error::Error::DeviceNotCompiled { device: "cuda".into(), feature: "cuda" });
            }
        }
    }
}

/// Whether `device` (or the device an autodiff device wraps) is burn-flex's CPU, where some steps take a faster
/// path of their own.
#[cfg_attr(not(feature = "flex"), allow(unused_variables))]
pub(crate) fn is_cpu(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    return device.clone().inner() == Device::flex();
    #[cfg(not(feature = "flex"))]
    return false;
}

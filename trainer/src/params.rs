//! Parameter bookkeeping a training run needs beyond burn's: identities that survive a save and a load (so the
//! optimizer's state finds its parameters again after `--resume`), the global gradient norm and its clipping.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::model::Model;

/// The model with every parameter's id derived from its path (`layers.3.mlp.up_proj.weight`): the same ids
/// whenever the same architecture is loaded, where burn draws fresh ones on every load.
pub fn with_stable_ids(model: Model) -> Model {
    model.map(&mut StableIds { path: Vec::new() })
}

struct StableIds {
    path: Vec<String>,
}

impl ModuleMapper for StableIds {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, tensor, mapper) = param.consume();
        Param::from_mapped_value(ParamId::from(fnv1a(&self.path.join("."))), tensor, mapper)
    }
}

/// FNV-1a, 64 bits: a stable hash (std's hashers are seeded per process).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The L2 norm of every gradient of `model`'s parameters together (what verl clips, and logs as `grad_norm`).
pub fn grad_norm(model: &Model, grads: &GradientsParams) -> f32 {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: f64,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s: f32 = g.powi_scalar(2).sum().into_scalar();
                self.total += f64::from(s);
            }
        }
    }
    let mut v = SumSquares { grads, total: 0.0 };
    model.visit(&mut v);
    v.total.sqrt() as f32
}

/// Scales every gradient by `max_norm / norm` when the global norm passes `max_norm` (torch's
/// `clip_grad_norm_`, which verl applies with 1.0); returns the norm before clipping.
pub fn clip_grad_norm(model: &Model, grads: &mut GradientsParams, max_norm: f32) -> f32 {
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f32,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, g.mul_scalar(self.factor));
            }
        }
    }
    let norm = grad_norm(model, grads);
    if norm.is_finite() && norm > max_norm && max_norm > 0.0 {
        // torch adds 1e-6 to the norm.
        let factor = max_norm / (norm + 1e-6);
        model.visit(&mut Scale { grads, factor });
    }
    norm
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::config::ModelConfig;

    #[test]
    fn ids_follow_paths_across_loads() {
        let device = Device::flex();
        let config = ModelConfig::tiny(32, 16, 2);
        let a = burn::module::list_param_ids(&with_stable_ids(config.init(&device)));
        let b = burn::module::list_param_ids(&with_stable_ids(config.init(&device)));
        assert_eq!(a, b);
        let unique: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(unique.len(), a.len(), "one id per parameter");
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let device = Device::flex().autodiff();
        let config = ModelConfig::tiny(32, 16, 2);
        let model = with_stable_ids(config.init(&device));
        let tokens = Tensor::<2, Int>::from_data([[1, 2, 3, 4]], &device);
        let loss = model.forward(tokens, &config).powi_scalar(2).sum().mul_scalar(100.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let before = clip_grad_norm(&model, &mut grads, 1.0);
        assert!(before > 1.0, "{before}");
        let after = grad_norm(&model, &grads);
        assert!((after - 1.0).abs() < 1e-3, "{after}");
    }
}

//! AdamW as burn defines it (the same state, so checkpoints of either load into the other), its step on the CPU
//! one fused pass per parameter (see `cpu_ops::adamw`), elsewhere burn's own.

use burn::optim::{AdamW as BurnAdamW, AdamWConfig, AdamWState, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;

/// AdamW with decoupled weight decay (torch's `AdamW`, no AMSGrad).
#[derive(Clone)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))] // The hyperparameters are read by the CPU's step only.
pub struct AdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
    /// The step on devices other than the CPU.
    burn: BurnAdamW,
}

impl AdamW {
    /// A module optimizer with these β, ε and weight decay (the learning rate is given at each step).
    pub fn init(beta_1: f32, beta_2: f32, epsilon: f32, weight_decay: f32) -> ModuleOptimizer {
        let burn = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        ModuleOptimizer::from(AdamW { beta_1, beta_2, epsilon, weight_decay, burn })
    }
}

impl Optimizer for AdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        #[cfg(feature = "flex")]
        if crate::device::is_cpu(&tensor.device()) && !tensor.is_autodiff() {
            return self.step_on_cpu(lr, tensor, grad, state);
        }
        self.burn.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <BurnAdamW as Optimizer>::to_device(state, device)
    }
}

impl AdamW {
    /// The fused step; a first step starts from zero moments, which gives burn's first moments exactly.
    #[cfg(feature = "flex")]
    fn step_on_cpu<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamWState<D>>,
    ) -> (Tensor<D>, Option<AdamWState<D>>) {
        let (time, moments) = match state {
            Some(AdamWState { momentum: s }) => (s.time + 1, [s.moment_1, s.moment_2]),
            None => {
                (1, [Tensor::zeros(tensor.shape(), &tensor.device()), Tensor::zeros(tensor.shape(), &tensor.device())])
            }
        };
        let t = i32::try_from(time).unwrap_or(i32::MAX);
        let hyper = crate::cpu_ops::Hyper {
            lr: lr as f32,
            decay: (1.0 - lr * f64::from(self.weight_decay)) as f32,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            correction_1: 1.0 - self.beta_1.powi(t),
            correction_2: 1.0 - self.beta_2.powi(t),
        };
        let [tensor, moment_1, moment_2] = crate::cpu_ops::adamw_step(tensor, grad, moments, hyper);
        let momentum = burn::optim::AdaptiveMomentumState { time, moment_1, moment_2, max_moment_2: None };
        (tensor, Some(AdamWState { momentum }))
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::TensorData;

    use super::*;

    /// Three steps of a linear layer under a loss that changes per step, with weight decay: the fused step gives
    /// burn's AdamW's parameters.
    #[test]
    fn fused_steps_match_burns_adamw() {
        let device = Device::flex().autodiff();
        let layer: Linear = LinearConfig::new(70, 300).init(&device);
        let run = |mut optim: ModuleOptimizer| {
            let mut layer = layer.clone();
            for step in 0..3 {
                let x: Vec<f32> = (0..4 * 70).map(|i| (((i * 37 + step * 11) % 23) as f32 - 11.0) / 7.0).collect();
                let x = Tensor::<2>::from_data(TensorData::new(x, [4, 70]), &device);
                let loss = layer.forward(x).powf_scalar(2.0).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &layer);
                layer = optim.step(1e-2, layer, grads);
            }
            let weight = layer.weight.val().try_into_vec_as::<f32>().expect("f32");
            let bias = layer.bias.as_ref().expect("a bias").val().try_into_vec_as::<f32>().expect("f32");
            (weight, bias)
        };
        let burn = AdamWConfig::new().with_beta_1(0.9).with_beta_2(0.999).with_epsilon(1e-8).with_weight_decay(0.1);
        let (want_w, want_b) = run(burn.init());
        let (got_w, got_b) = run(AdamW::init(0.9, 0.999, 1e-8, 0.1));
        for (name, got, want) in [("weight", &got_w, &want_w), ("bias", &got_b, &want_b)] {
            for (k, (g, w)) in got.iter().zip(want).enumerate() {
                assert!((g - w).abs() <= 1e-7 * (1.0 + w.abs()), "{name} {k}: {g} vs {w}");
            }
        }
    }
}

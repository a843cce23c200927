//! The objective's own cases (the comparison with verl is `tests/objective.rs`).

use burn::prelude::*;
use burn::tensor::TensorData;

use super::*;

/// Tolerance of the hand-computed cases (f32 arithmetic on numbers of order 1).
const TOL: f32 = 1e-5;

fn device() -> Device {
    Device::flex()
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn ones(rows: usize, t: usize) -> Vec<Vec<f32>> {
    vec![vec![1.0; t]; rows]
}

fn tensor(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let t = rows[0].len();
    Tensor::from_data(TensorData::new(rows.concat(), [rows.len(), t]), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().expect("read back")
}

#[track_caller]
fn close(a: f32, b: f32, what: &str) {
    assert!((a - b).abs() <= TOL * (1.0 + b.abs()), "{what}: {a} vs {b}");
}

#[test]
fn names_round_trip_through_serde_and_from_str() {
    for e in Estimator::ALL {
        assert_eq!(e.name().parse::<Estimator>().unwrap(), e);
        assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{}\"", e.name()));
        assert_eq!(e.to_string(), e.name());
    }
    for a in LossAgg::ALL {
        assert_eq!(a.name().parse::<LossAgg>().unwrap(), a);
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.name()));
    }
    assert_eq!(Estimator::default().name(), "reinforce_pp_baseline");
    assert_eq!(LossAgg::default().name(), "token-mean");
    assert_eq!("reinforce_plus_plus_baseline".parse::<Estimator>().unwrap(), Estimator::ReinforcePpBaseline);
    let err = "ppo".parse::<Estimator>().unwrap_err().to_string();
    assert!(err.contains("unknown variant `ppo`") && err.contains("grpo"), "{err}");
    assert!("token_mean".parse::<LossAgg>().is_err());
}

#[test]
fn group_of_size_one_follows_verl() {
    // Row 2 is alone in its group: verl takes its mean as 0 (and GRPO's std as 1).
    let rewards = [1.0, -1.0, 0.5];
    let groups = ids(&["a", "a", "b"]);
    let grpo = grpo_advantages(&rewards, &groups, GRPO_EPS);
    close(grpo[2] as f32, 0.5 / (1.0 + GRPO_EPS), "grpo lone row");
    assert_eq!(rloo_advantages(&rewards, &groups)[2], 0.5, "rloo lone row keeps its reward");
    // REINFORCE++ baseline: scores [1, -1, 0.5] (the lone row uncentred), then whitened over 3 tokens.
    let adv = reinforce_pp_baseline_advantages(&rewards, &groups, &ones(3, 1), WHITEN_EPS);
    let (mean, var) = (
        0.5f32 / 3.0,
        ((1.0f32 - 0.5 / 3.0).powi(2) * 1.0 + (-1.0f32 - 0.5 / 3.0).powi(2) + (0.5f32 - 0.5 / 3.0).powi(2)) / 2.0,
    );
    close(adv[2][0], (0.5 - mean) / (var + WHITEN_EPS).sqrt(), "rpp lone row");
}

#[test]
fn equal_rewards_give_zero_advantages() {
    let rewards = [1.0, 1.0, 1.0, -1.0, -1.0];
    let groups = ids(&["a", "a", "a", "b", "b"]);
    for e in Estimator::ALL {
        let adv = advantages(e, &rewards, &groups, &ones(5, 3), e.default_eps());
        assert!(adv.iter().flatten().all(|&a| a == 0.0), "{e}: {adv:?}");
    }
}

#[test]
fn grpo_divides_by_the_unbiased_group_std() {
    let rewards = [1.0, -1.0, -1.0, -1.0];
    let groups = ids(&["g"; 4]);
    let (mean, std) = (-0.5f64, (3.0f64 / 3.0).sqrt()); // Σ(r−μ)² = 2.25 + 3·0.25 = 3; / (n−1) = 1
    let a = grpo_advantages(&rewards, &groups, GRPO_EPS);
    for (r, a) in rewards.iter().zip(&a) {
        close(*a as f32, ((f64::from(*r) - mean) / (std + f64::from(GRPO_EPS))) as f32, "grpo");
    }
}

#[test]
fn rloo_removes_the_mean_of_the_other_rewards() {
    let rewards = [1.0, -1.0, 0.25, 2.0, 3.0];
    let groups = ids(&["a", "a", "a", "b", "b"]);
    let a = rloo_advantages(&rewards, &groups);
    let expected = [1.0 - (-1.0 + 0.25) / 2.0, -1.0 - (1.0 + 0.25) / 2.0, 0.25 - 0.0, 2.0 - 3.0, 3.0 - 2.0];
    for (a, e) in a.iter().zip(expected) {
        close(*a as f32, e, "rloo");
    }
}

#[test]
fn whitening_is_token_weighted_over_the_given_mask() {
    let rewards = [1.0, -1.0, 1.0, -1.0];
    let groups = ids(&["a", "a", "b", "b"]);
    // Row 0 is long, row 1 short; tool-output tokens (0 in the loss mask) in row 0.
    let response = vec![vec![1.0; 4], vec![1.0, 0.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0]];
    let loss =
        vec![vec![1.0, 0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0], vec![1.0, 1.0, 0.0, 0.0]];
    for mask in [&response, &loss] {
        let adv = reinforce_pp_baseline_advantages(&rewards, &groups, mask, WHITEN_EPS);
        let masked: Vec<f64> = adv
            .iter()
            .flatten()
            .zip(mask.iter().flatten())
            .filter(|(_, m)| **m == 1.0)
            .map(|(a, _)| f64::from(*a))
            .collect();
        let n = masked.len() as f64;
        let mean = masked.iter().sum::<f64>() / n;
        let var = masked.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-6, "mean {mean}, unbiased var {var}");
        assert!(adv.iter().flatten().zip(mask.iter().flatten()).all(|(a, m)| *m == 1.0 || *a == 0.0), "zero outside");
    }
    let with_tools = reinforce_pp_baseline_advantages(&rewards, &groups, &response, WHITEN_EPS);
    let without = reinforce_pp_baseline_advantages(&rewards, &groups, &loss, WHITEN_EPS);
    assert!((with_tools[0][0] - without[0][0]).abs() > 1e-3, "the mask switch changes the statistics");
}

#[test]
fn whitening_fewer_than_two_tokens_gives_zeros() {
    let adv = masked_whiten(&[3.0, -2.0], &[vec![0.0, 1.0], vec![0.0, 0.0]], WHITEN_EPS);
    assert_eq!(adv, vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
}

/// One row per case `(log_ratio, advantage)`, all in the loss mask, token-mean.
fn one_token_rows(cases: &[(f32, f32)], device: &Device) -> (Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>) {
    let col = |f: &dyn Fn(&(f32, f32)) -> f32| tensor(&cases.iter().map(|c| vec![f(c)]).collect::<Vec<_>>(), device);
    (col(&|c| c.0 - 1.0), col(&|_| -1.0), col(&|c| c.1), col(&|_| 1.0))
}

/// The gradient of the token-mean loss with respect to each row's log-prob.
fn grads(cases: &[(f32, f32)], clip: &Clip) -> (PolicyLoss, Vec<f32>) {
    let device = device().autodiff();
    let (lp, old, adv, mask) = one_token_rows(cases, &device);
    let lp = lp.require_grad();
    let out = policy_loss(lp.clone(), old, adv, mask, clip, LossAgg::TokenMean);
    let g = lp.grad(&out.loss.backward()).expect("log_probs has a gradient");
    (out, values(g))
}

#[test]
fn clipped_ratio_gives_zero_gradient() {
    let clip = Clip::default();
    // Ratio e^0.5 ≈ 1.65 > 1.28 with A > 0, and e^-0.5 ≈ 0.61 < 0.8 with A < 0: the clipped branch wins.
    let (out, g) = grads(&[(0.5, 1.0), (-0.5, -1.0)], &clip);
    assert_eq!(g, vec![0.0, 0.0]);
    close(out.clipfrac, 1.0, "clipfrac");
    close(out.clipfrac_lower, 0.0, "clipfrac_lower");
    close(values(out.loss)[0], (-1.28 + 0.8) / 2.0, "loss at the clip bounds");
    // Inside the range the gradient is d(−A·e^x)/dx / N.
    let (out, g) = grads(&[(0.1, 2.0), (-0.1, -1.0)], &clip);
    close(g[0], -2.0 * 0.1f32.exp() / 2.0, "unclipped A > 0");
    close(g[1], 1.0 * (-0.1f32).exp() / 2.0, "unclipped A < 0");
    close(out.clipfrac, 0.0, "clipfrac");
    // A positive advantage with a low ratio is not clipped (the max keeps the unclipped loss).
    let (_, g) = grads(&[(-0.5, 1.0)], &clip);
    close(g[0], -(-0.5f32).exp(), "low ratio, A > 0");
}

#[test]
fn dual_clip_bounds_the_loss_of_negative_advantages() {
    let clip = Clip::default();
    // A = −2 with ratio e^2 ≈ 7.4 > dual 3: loss −A·3 = 6, no gradient; ratio e^1 ≈ 2.7 < 3 is not bounded.
    let (out, g) = grads(&[(2.0, -2.0), (1.0, -2.0)], &clip);
    close(values(out.loss)[0], (6.0 + 2.0 * 1.0f32.exp()) / 2.0, "dual-clipped loss");
    assert_eq!(g[0], 0.0);
    close(g[1], 2.0 * 1.0f32.exp() / 2.0, "below the dual bound");
    close(out.clipfrac_lower, 0.5, "clipfrac_lower");
    // With A < 0 a high ratio makes the unclipped loss the larger: only the dual clip binds.
    close(out.clipfrac, 0.0, "clipfrac");
    // The log ratio is clamped at 20 before exp: the ratio stays finite and ppo_kl uses the clamped value.
    let (out, g) = grads(&[(50.0, -1.0)], &clip);
    close(values(out.loss)[0], 3.0, "clamped ratio");
    assert_eq!(g[0], 0.0);
    close(out.ppo_kl, -20.0, "ppo_kl of the clamped log ratio");
}

#[test]
fn aggregations_match_their_formulas() {
    let device = device();
    let losses = vec![vec![1.0, 2.0, 3.0, f32::NAN], vec![4.0, 5.0, 6.0, 7.0], vec![9.0, 9.0, 9.0, 9.0]];
    // Row 2 is empty; the NaN of row 0 is outside the mask and must not leak.
    let mask = vec![vec![1.0, 1.0, 0.0, 0.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.0; 4]];
    let agg = |a| values(agg_loss(tensor(&losses, &device), tensor(&mask, &device), a))[0];
    close(agg(LossAgg::TokenMean), (1.0 + 2.0 + 22.0) / 6.0, "token-mean");
    close(agg(LossAgg::SeqMeanTokenMean), (1.5 + 5.5) / 2.0, "seq-mean-token-mean");
    close(agg(LossAgg::SeqMeanTokenSumNorm), (3.0 + 22.0) / 2.0 / 4.0, "seq-mean-token-sum-norm");
    let empty = vec![vec![0.0; 4]; 3];
    for a in LossAgg::ALL {
        let v = values(agg_loss(tensor(&losses, &device), tensor(&empty, &device), a))[0];
        assert_eq!(v, 0.0, "{a} of an empty mask");
    }
    assert_eq!(values(masked_mean(tensor(&losses, &device), tensor(&empty, &device)))[0], 0.0);
}

#[test]
fn agg_weights_reproduce_each_aggregation_as_a_weighted_sum() {
    let device = device();
    let losses = vec![vec![1.0, -2.0, 3.0, 0.5], vec![4.0, 5.0, -6.0, 7.0], vec![9.0, 9.0, 9.0, 9.0]];
    let mask = vec![vec![1.0, 1.0, 0.0, 0.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.0; 4]];
    for a in LossAgg::ALL {
        let w = agg_weights(tensor(&mask, &device), a);
        let weighted = values((tensor(&losses, &device) * w).sum())[0];
        close(weighted, values(agg_loss(tensor(&losses, &device), tensor(&mask, &device), a))[0], a.name());
    }
}

#[test]
fn policy_loss_gradient_matches_finite_differences() {
    // Log ratios away from the kinks (ln 0.8, ln 1.28, ln 3) by much more than the step; mixed signs; two rows
    // of different lengths and a tool-output token outside the loss mask.
    let log_ratio = [[-0.5, -0.1, 0.05, 0.15, 0.4], [1.5, -2.0, 0.2, -0.05, 0.0]];
    let adv = vec![vec![0.7, -1.3, 0.4, -0.2, 1.1], vec![-0.9, 0.6, -1.7, 0.3, 0.0]];
    let mask = vec![vec![1.0, 1.0, 0.0, 1.0, 1.0], vec![1.0, 1.0, 1.0, 1.0, 0.0]];
    let old = vec![vec![-1.0, -2.0, -0.5, -3.0, -0.7], vec![-0.2, -1.1, -2.5, -0.9, -4.0]];
    let lp: Vec<Vec<f32>> =
        log_ratio.iter().zip(&old).map(|(r, o)| r.iter().zip(o).map(|(r, o)| r + o).collect()).collect();
    let clip = Clip::default();
    for agg in LossAgg::ALL {
        let ad = device().autodiff();
        let x = tensor(&lp, &ad).require_grad();
        let out = policy_loss(x.clone(), tensor(&old, &ad), tensor(&adv, &ad), tensor(&mask, &ad), &clip, agg);
        let grad = values(x.grad(&out.loss.backward()).expect("gradient"));
        assert!(grad.iter().filter(|g| g.abs() > 1e-2).count() >= 4, "{agg}: most tokens are unclipped: {grad:?}");
        let plain = device();
        let loss_at = |lp: &[Vec<f32>]| {
            let out = policy_loss(
                tensor(lp, &plain),
                tensor(&old, &plain),
                tensor(&adv, &plain),
                tensor(&mask, &plain),
                &clip,
                agg,
            );
            f64::from(values(out.loss)[0])
        };
        // Central differences with step 1e-2: truncation error ~ h²·e^x/6 ≈ 3e-5, f32 rounding ~ 1e-7/h = 1e-5.
        let h = 1e-2f32;
        for (k, g) in grad.iter().enumerate() {
            let (i, j) = (k / 5, k % 5);
            let mut plus = lp.clone();
            plus[i][j] += h;
            let mut minus = lp.clone();
            minus[i][j] -= h;
            let fd = (loss_at(&plus) - loss_at(&minus)) / f64::from(2.0 * h);
            assert!((f64::from(*g) - fd).abs() <= 2e-4, "{agg} [{i}][{j}]: autodiff {g}, finite difference {fd}");
            if mask[i][j] == 0.0 {
                assert_eq!(*g, 0.0, "{agg}: a token outside the loss mask gets no gradient");
            }
        }
    }
}

#[test]
fn k3_kl_is_verls_low_var_kl() {
    let device = device();
    let lp = tensor(&[vec![-1.0, -1.0, -1.0, 0.0]], &device);
    let reference = tensor(&[vec![-1.0, -0.5, -3.0, -30.0]], &device);
    let kl = values(k3_kl(lp, reference));
    close(kl[0], 0.0, "equal log-probs");
    close(kl[1], 0.5f32.exp() - 0.5 - 1.0, "d = 0.5");
    close(kl[2], (-2.0f32).exp() + 2.0 - 1.0, "d = -2");
    close(kl[3], 10.0, "clamped: d = −20 gives e^−20 + 19 before the ±10 clamp");
}

#[test]
fn entropy_of_uniform_and_peaked_logits() {
    let device = device();
    let logits = Tensor::<3>::from_data(
        TensorData::new(vec![0.0, 0.0, 0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0], [1, 3, 4]),
        &device,
    );
    let h = values(entropy_from_logits(logits));
    close(h[0], 4.0f32.ln(), "uniform");
    close(h[1], 0.0, "peaked");
    let z = [1.0f32, 2.0, 3.0, 4.0];
    let s: f32 = z.iter().map(|v| v.exp()).sum();
    let expected: f32 = -z.iter().map(|v| v.exp() / s * (v.exp() / s).ln()).sum::<f32>();
    close(h[2], expected, "−Σ p ln p");
}

#[test]
fn clip_ranges_are_checked() {
    assert!(Clip::default().check().is_ok());
    for (clip, needle) in [
        (Clip { low: 1.0, ..Clip::default() }, "clip low"),
        (Clip { low: -0.1, ..Clip::default() }, "clip low"),
        (Clip { high: -0.1, ..Clip::default() }, "clip high"),
        (Clip { dual: 1.0, ..Clip::default() }, "dual clip"),
        (Clip { dual: f32::INFINITY, ..Clip::default() }, "dual clip"),
    ] {
        let err = clip.check().unwrap_err().to_string();
        assert!(err.contains(needle), "{clip:?}: {err}");
    }
}

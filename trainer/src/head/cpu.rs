//! The head on the CPU over plain slices: each chunk's products through `gemm` into one logits buffer that every
//! chunk reuses (a fresh buffer per chunk can fault its pages in again), one pass per logits row for the log-softmax
//! statistics and one for the logits' gradient, rows in parallel (rayon), the statistics' loop compiled for AVX2 +
//! FMA when the CPU has them; the weight's gradient accumulated in place. burn-flex runs an elementwise `exp` on one
//! thread through libm, which made the softmax over `[tokens, vocab]` a tenth of a training step; [`exp`] vectorises.

use std::ops::Range;

use rayon::prelude::*;

use crate::fastmath::{LANES, exp, max, with_avx2_fma};
use crate::product::{Mat, product};

/// How the head's weight is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// The tied embedding, `[vocab, d]`.
    Tied,
    /// An untied linear layer, `[d, vocab]`.
    Linear,
}

/// ∂loss/∂log p of a chunk's tokens, given their log-probs and their range among all the tokens.
pub(super) type SliceGrad<'a> = &'a mut dyn FnMut(&[f32], Range<usize>) -> Vec<f32>;

/// What [`chunks`] returns: each scored row's statistics, and the gradients when they were asked for.
pub(super) struct Output {
    pub stats: Vec<RowStats>,
    /// ∂loss/∂hidden, `[tokens, d]`, and ∂loss/∂weight in the weight's layout.
    pub grads: Option<(Vec<f32>, Vec<f32>)>,
}

/// The head over `hidden` (`[tokens, d]`, row-major) a chunk of `rows` rows at a time: each chunk's logits, their
/// statistics at `targets`, and with `grad` (which gets the chunk's log-probs and token range and returns
/// ∂loss/∂log p there) the gradients of the hidden rows and of the weight.
pub(super) fn chunks(
    hidden: &[f32],
    weight: &[f32],
    layout: Layout,
    [d, vocab]: [usize; 2],
    targets: &[u32],
    rows: usize,
    mut grad: Option<SliceGrad>,
) -> Output {
    let tokens = targets.len();
    assert_eq!((hidden.len(), weight.len()), (tokens * d, vocab * d), "head operand sizes");
    let threads = rayon::current_num_threads();
    // The weight as the right-hand side of `hidden · W` (logits) and of `∂logits · Wᵀ` (∂hidden).
    let (w, w_t) = match layout {
        Layout::Tied => (Mat { data: weight, rs: 1, cs: d }, Mat { data: weight, rs: d, cs: 1 }),
        Layout::Linear => (Mat { data: weight, rs: vocab, cs: 1 }, Mat { data: weight, rs: 1, cs: vocab }),
    };
    let mut logits = vec![0.0f32; rows.min(tokens) * vocab];
    let mut stats = Vec::with_capacity(tokens);
    let mut grads = grad.as_ref().map(|_| (vec![0.0f32; tokens * d], vec![0.0f32; vocab * d]));
    for start in (0..tokens).step_by(rows.max(1)) {
        let range = start..(start + rows).min(tokens);
        let n = range.len();
        let h = Mat { data: &hidden[start * d..range.end * d], rs: d, cs: 1 };
        let chunk = &mut logits[..n * vocab];
        product(chunk, vocab, h, w, [n, vocab, d], 1.0, false, threads);
        let chunk_stats = forward(chunk, vocab, &targets[range.clone()]);
        if let (Some(grad), Some((grad_hidden, grad_weight))) = (grad.as_mut(), grads.as_mut()) {
            let log_probs: Vec<f32> = chunk_stats.iter().map(|s| s.log_prob).collect();
            let g = grad(&log_probs, range.clone());
            backward(chunk, vocab, &targets[range.clone()], &chunk_stats, &g);
            let g = Mat { data: chunk, rs: vocab, cs: 1 };
            product(&mut grad_hidden[start * d..range.end * d], d, g, w_t, [n, d, vocab], 1.0, false, threads);
            let g_t = Mat { data: chunk, rs: 1, cs: vocab };
            let h_t = Mat { data: h.data, rs: 1, cs: d };
            match layout {
                // ∂W[vocab, d] += ∂logitsᵀ · h
                Layout::Tied => product(grad_weight, d, g_t, h, [vocab, d, n], 1.0, true, threads),
                // ∂W[d, vocab] += hᵀ · ∂logits
                Layout::Linear => product(grad_weight, vocab, h_t, g, [d, vocab, n], 1.0, true, threads),
            }
        }
        stats.extend(chunk_stats);
    }
    Output { stats, grads }
}

/// What the forward pass keeps of one logits row for the backward pass.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RowStats {
    /// `log p(target)`.
    pub log_prob: f32,
    /// The entropy of the row's distribution.
    pub entropy: f32,
    /// `Σ exp(l − max)`: the row now holds `exp(l − max)`, so `p = row / sum`.
    pub sum: f32,
}

/// Replaces each row of `logits` (`rows × vocab`, row-major) by `exp(l − max)` and returns the statistics of each
/// row at its target.
fn forward(logits: &mut [f32], vocab: usize, targets: &[u32]) -> Vec<RowStats> {
    logits.par_chunks_exact_mut(vocab).zip(targets.par_iter()).map(|(row, &t)| forward_row(row, t as usize)).collect()
}

/// Turns rows that [`forward`] left as `exp(l − max)` into the gradient of the loss with respect to the logits,
/// given `grad[i] = ∂loss/∂log p(target_i)`: `grad · (onehot(target) − p)`.
fn backward(rows: &mut [f32], vocab: usize, targets: &[u32], stats: &[RowStats], grad: &[f32]) {
    rows.par_chunks_exact_mut(vocab).zip(targets.par_iter()).zip(stats.par_iter().zip(grad.par_iter())).for_each(
        |((row, &t), (s, &g))| {
            let scale = -g / s.sum;
            for x in row.iter_mut() {
                *x *= scale;
            }
            row[t as usize] += g;
        },
    );
}

with_avx2_fma!(fn forward_row(row: &mut [f32], target: usize) -> RowStats = row_stats);

#[inline(always)]
fn row_stats(row: &mut [f32], target: usize) -> RowStats {
    let target_logit = row[target];
    let max = max(row);
    // e = exp(l − max); sum = Σ e; weighted = Σ e·(l − max) (the entropy's Σ p·l, shifted).
    let (mut sum, mut weighted) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for ((x, s), w) in chunk.iter_mut().zip(&mut sum).zip(&mut weighted) {
            let shifted = *x - max;
            let e = exp(shifted);
            *s += e;
            *w += e * shifted;
            *x = e;
        }
    }
    let (mut sum, mut weighted) = (sum.iter().sum::<f32>(), weighted.iter().sum::<f32>());
    for x in chunks.into_remainder() {
        let shifted = *x - max;
        let e = exp(shifted);
        sum += e;
        weighted += e * shifted;
        *x = e;
    }
    let log_sum = sum.ln();
    RowStats { log_prob: target_logit - max - log_sum, entropy: log_sum - weighted / sum, sum }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_match_the_formulas_on_one_row() {
        let logits = [1.5f32, -2.0, 0.25, 3.0, -0.5];
        let target = 2;
        let max = 3.0f32;
        let z: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        let lse = max + z.ln();
        let p: Vec<f32> = logits.iter().map(|l| (l - lse).exp()).collect();
        let entropy: f32 = -p.iter().map(|p| p * p.ln()).sum::<f32>();
        let mut row = logits.to_vec();
        let stats = forward(&mut row, 5, &[target as u32]);
        assert!((stats[0].log_prob - (logits[target] - lse)).abs() < 1e-6);
        assert!((stats[0].entropy - entropy).abs() < 1e-6);
        let g = 0.7;
        backward(&mut row, 5, &[target as u32], &stats, &[g]);
        for (k, (&got, &p)) in row.iter().zip(&p).enumerate() {
            let want = g * (f32::from(k == target) - p);
            assert!((got - want).abs() < 1e-6, "logit {k}: {got} vs {want}");
        }
    }
}

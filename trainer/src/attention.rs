//! Which keys each new position attends to, and the CPU's causal attention (prefills, log-prob scoring and
//! training, differentiable).

#[cfg(feature = "flex")]
use std::sync::Arc;
use std::sync::OnceLock;

use burn::prelude::*;
use burn::tensor::TensorData;

#[cfg(feature = "flex")]
mod cpu;
#[cfg(feature = "flex")]
mod tracked;

/// The attention mask of `seq` new positions after `past` cached ones: causal, and blocking the key positions
/// where `valid[row][key]` is false (left padding). A query always sees its own position, so that no row is fully
/// blocked: a padding query's output is then finite (and never read).
///
/// Kept as the flags: the additive `[batch, 1, seq, past + seq]` tensor that the materialised scores add (134 MB
/// for 8 rows of 2048 positions) is built on first use, and the CPU kernel never asks for it; the kernel's per-key
/// bias is built on its first use too, once for every layer.
#[derive(Debug)]
pub struct AttentionMask {
    valid: Vec<Vec<bool>>,
    past: usize,
    seq: usize,
    device: Device,
    additive: OnceLock<Tensor<4>>,
    #[cfg(feature = "flex")]
    key_bias: OnceLock<Arc<tracked::KeyBias>>,
}

/// The mask of `seq` new positions after `past` cached ones (see [`AttentionMask`]).
///
/// # Shapes
/// - valid: `batch` rows of at least `past + seq` flags (missing flags block their key)
pub fn attention_mask(valid: &[Vec<bool>], past: usize, seq: usize, device: &Device) -> AttentionMask {
    AttentionMask {
        valid: valid.to_vec(),
        past,
        seq,
        device: device.clone(),
        additive: OnceLock::new(),
        #[cfg(feature = "flex")]
        key_bias: OnceLock::new(),
    }
}

impl AttentionMask {
    /// Whether `key` is visible from new position `query` of batch row `row`.
    fn allows(&self, row: usize, query: usize, key: usize) -> bool {
        let at = self.past + query;
        key == at || (key < at && self.valid[row].get(key).copied().unwrap_or(false))
    }

    /// The CPU kernel's per-key bias: 0 for a valid key, `-inf` for padding, over the `past + seq` positions.
    #[cfg(feature = "flex")]
    fn key_bias(&self) -> &Arc<tracked::KeyBias> {
        self.key_bias.get_or_init(|| {
            let total = self.past + self.seq;
            let rows = self.valid.iter().map(|row| {
                (0..total).map(|j| if row.get(j).copied().unwrap_or(false) { 0.0 } else { f32::NEG_INFINITY }).collect()
            });
            Arc::new(tracked::KeyBias(rows.collect()))
        })
    }

    /// The additive form: 0 where a key is visible, `-inf` where it is blocked (whose `exp` is an exact 0; a large
    /// finite negative would take libm's slow underflow path for every blocked entry).
    ///
    /// # Shapes
    /// - output: `[batch, 1, seq, past + seq]`
    pub fn additive(&self) -> &Tensor<4> {
        self.additive.get_or_init(|| {
            let (rows, total) = (self.valid.len(), self.past + self.seq);
            let mut data = Vec::with_capacity(rows * self.seq * total);
            for row in 0..rows {
                for query in 0..self.seq {
                    data.extend(
                        (0..total).map(|key| if self.allows(row, query, key) { 0.0 } else { f32::NEG_INFINITY }),
                    );
                }
            }
            Tensor::from_data(TensorData::new(data, [rows, 1, self.seq, total]), &self.device)
        })
    }
}

/// Causal grouped-query attention on burn-flex's CPU, differentiable: per (row, head, block of queries) the
/// scores against the keys up to the block's last position only — the blocks above the diagonal are never
/// computed —, a softmax with the vectorised `exp`, then the values; blocks in parallel. The backward pass
/// recomputes the probabilities a block at a time (FlashAttention-2's), so no `[seq, keys]` square is kept for it.
/// burn-flex's fused attention computes every tile of the square and a libm `exp` per score (35% + 7% of a
/// 2048-token prefill) and has no backward.
///
/// # Shapes
/// - q: `[batch, heads, seq, head_dim]`
/// - k, v: `[batch, kv_heads, past + seq, head_dim]`
/// - output: `[batch, seq, heads * head_dim]`
#[cfg(feature = "flex")]
pub(crate) fn causal_on_cpu(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: &AttentionMask) -> Tensor<3> {
    let [batch, heads, seq, head_dim] = q.dims();
    debug_assert_eq!((mask.past + mask.seq, mask.valid.len()), (k.dims()[2], batch));
    let out = tracked::causal_attention(q, k, v, Arc::clone(mask.key_bias()), mask.past);
    // [b, h, s, hd] -> [b, s, h, hd] -> [b, s, h*hd]
    out.swap_dims(1, 2).reshape([batch, seq, heads * head_dim])
}

/// [`causal_on_cpu`]'s kernel for the new positions of an untracked step over a key/value cache's whole buffers,
/// read in place: each (row, key/value head) reads its filled positions and skips the buffer's spare room.
/// burn-flex's fused attention packs its operands for `gemm` per head and computes a libm `exp` per score (13% of
/// an 8-row decode step of the 11M model), and a view of the filled positions only would be copied whole first.
///
/// # Shapes
/// - q: `[batch, heads, seq, head_dim]`
/// - k, v: `[batch, kv_heads, capacity, head_dim]`, positions `0..past + seq` filled
/// - output: `[batch, seq, heads * head_dim]`
#[cfg(feature = "flex")]
pub(crate) fn cached_on_cpu(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: &AttentionMask) -> Tensor<3> {
    let [batch, heads, seq, head_dim] = q.dims();
    let [_, kv_heads, capacity, _] = k.dims();
    let shape = cpu::Shape { batch, heads, kv_heads, seq, past: mask.past, head_dim, capacity };
    let device = q.device();
    let (q, k, v) = (crate::cpu_ops::host(q), crate::cpu_ops::host(k), crate::cpu_ops::host(v));
    let (out, _) = cpu::attend(&q, &k, &v, &shape, &mask.key_bias().0);
    let out = Tensor::<4>::from_data(TensorData::new(out, [batch, heads, seq, head_dim]), &device);
    out.swap_dims(1, 2).reshape([batch, seq, heads * head_dim])
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    /// `softmax(q kᵀ / √d + mask) v` one query at a time, in f64.
    fn direct(q: &[f32], k: &[f32], v: &[f32], dims: [usize; 6], mask: &AttentionMask) -> Vec<f32> {
        let [batch, heads, kv_heads, seq, total, hd] = dims;
        let mut out = vec![0.0f32; batch * seq * heads * hd];
        for (b, h, i) in (0..batch).flat_map(|b| (0..heads).flat_map(move |h| (0..seq).map(move |i| (b, h, i)))) {
            let qi = &q[((b * heads + h) * seq + i) * hd..][..hd];
            let kv = (b * kv_heads + h / (heads / kv_heads)) * total;
            let keys: Vec<usize> = (0..total).filter(|&j| mask.allows(b, i, j)).collect();
            let scores: Vec<f64> = keys
                .iter()
                .map(|&j| qi.iter().zip(&k[(kv + j) * hd..][..hd]).map(|(a, b)| f64::from(a * b)).sum::<f64>())
                .map(|s| s / (hd as f64).sqrt())
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for (&j, s) in keys.iter().zip(&scores) {
                let p = (s - max).exp() / z;
                for c in 0..hd {
                    out[((b * seq + i) * heads + h) * hd + c] += (p * f64::from(v[(kv + j) * hd + c])) as f32;
                }
            }
        }
        out
    }

    /// One attention call's operands: (batch, heads, kv_heads, past, seq, padding of row 0) with deterministic
    /// values; head width 16.
    struct Case {
        dims: [usize; 6],
        valid: Vec<Vec<bool>>,
        q: Vec<f32>,
        k: Vec<f32>,
        v: Vec<f32>,
    }

    /// One block, several with a remainder, a prefill after cached positions, more query heads than key heads.
    fn cases() -> Vec<Case> {
        [(1, 2, 2, 0, 9, 0), (2, 4, 2, 0, 130, 5), (2, 4, 1, 70, 75, 3), (1, 3, 3, 0, 64, 0)]
            .into_iter()
            .map(|(batch, heads, kv_heads, past, seq, pad)| {
                let (total, hd) = (past + seq, 16);
                let values = |n: usize, salt: usize| -> Vec<f32> {
                    (0..n).map(|i| (((i * 7919 + salt * 104_729) % 2003) as f32 / 1001.5 - 1.0) * 2.0).collect()
                };
                Case {
                    dims: [batch, heads, kv_heads, past, seq, hd],
                    valid: (0..batch).map(|r| (0..total).map(|j| r > 0 || j >= pad).collect()).collect(),
                    q: values(batch * heads * seq * hd, 1),
                    k: values(batch * kv_heads * total * hd, 2),
                    v: values(batch * kv_heads * total * hd, 3),
                }
            })
            .collect()
    }

    impl Case {
        fn mask(&self, device: &Device) -> AttentionMask {
            let [_, _, _, past, seq, _] = self.dims;
            attention_mask(&self.valid, past, seq, device)
        }

        /// q, k and v as tensors on `device`.
        fn tensors(&self, device: &Device) -> [Tensor<4>; 3] {
            let [batch, heads, kv_heads, past, seq, hd] = self.dims;
            let tensor =
                |data: &Vec<f32>, dims: [usize; 4]| Tensor::<4>::from_data(TensorData::new(data.clone(), dims), device);
            [
                tensor(&self.q, [batch, heads, seq, hd]),
                tensor(&self.k, [batch, kv_heads, past + seq, hd]),
                tensor(&self.v, [batch, kv_heads, past + seq, hd]),
            ]
        }
    }

    fn assert_close(got: &[f32], want: &[f32], tolerance: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (n, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < tolerance * (1.0 + w.abs()), "{what}, value {n}: {g} vs {w}");
        }
    }

    #[test]
    fn causal_kernel_matches_the_definition_across_blocks_with_padding_a_past_and_grouped_heads() {
        let device = Device::flex();
        for case in cases() {
            let [batch, heads, kv_heads, past, seq, hd] = case.dims;
            let mask = case.mask(&device);
            let want = direct(&case.q, &case.k, &case.v, [batch, heads, kv_heads, seq, past + seq, hd], &mask);
            let [q, k, v] = case.tensors(&device);
            let got = causal_on_cpu(q, k, v, &mask).try_into_vec_as::<f32>().unwrap();
            assert_close(&got, &want, 2e-5, &format!("case {:?}", case.dims));
        }
    }

    /// The attention in burn tensor ops, the scores materialised, as the model computed it before the kernel had
    /// a backward pass.
    fn materialised(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: &AttentionMask) -> Tensor<3> {
        let [b, h, s, hd] = q.dims();
        let [_, kv, total, _] = k.dims();
        let groups = h / kv;
        let scores = q.reshape([b, kv, groups * s, hd]).matmul(k.swap_dims(2, 3)) * (1.0 / (hd as f64).sqrt());
        let scores = scores.reshape([b, kv, groups, s, total]) + mask.additive().clone().unsqueeze_dim::<5>(2);
        let probs = burn::tensor::activation::softmax(scores, 4).reshape([b, kv, groups * s, total]);
        probs.matmul(v).reshape([b, h, s, hd]).swap_dims(1, 2).reshape([b, s, h * hd])
    }

    #[test]
    fn causal_kernel_gradients_match_the_materialised_scores() {
        let device = Device::flex().autodiff();
        for case in cases() {
            let mask = case.mask(&device);
            // A loss that weighs every output differently: Σ out ⊙ w.
            let grads_of = |attend: &dyn Fn(Tensor<4>, Tensor<4>, Tensor<4>) -> Tensor<3>| {
                let [q, k, v] = case.tensors(&device).map(Tensor::require_grad);
                let out = attend(q.clone(), k.clone(), v.clone());
                let n = out.shape().num_elements();
                let w: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
                let w = Tensor::<1>::from_data(TensorData::new(w, [n]), &device).reshape(out.dims());
                let grads = (out * w).sum().backward();
                [q, k, v].map(|t| t.grad(&grads).expect("a gradient").try_into_vec_as::<f32>().unwrap())
            };
            let got = grads_of(&|q, k, v| causal_on_cpu(q, k, v, &mask));
            let want = grads_of(&|q, k, v| materialised(q, k, v, &mask));
            for (name, (g, w)) in ["q", "k", "v"].iter().zip(got.iter().zip(&want)) {
                assert_close(g, w, 1e-4, &format!("case {:?}, ∂{name}", case.dims));
            }
        }
    }
}

//! Which keys each new position attends to, and the CPU's causal attention for passes that are not
//! differentiated (prefills, log-prob scoring).

use std::cell::OnceCell;

use burn::prelude::*;
use burn::tensor::TensorData;

#[cfg(feature = "flex")]
mod cpu;

/// The attention mask of `seq` new positions after `past` cached ones: causal, and blocking the key positions
/// where `valid[row][key]` is false (left padding). A query always sees its own position, so that no row is fully
/// blocked: a padding query's output is then finite (and never read).
///
/// Kept as the flags: the additive `[batch, 1, seq, past + seq]` tensor that the materialised scores add (134 MB
/// for 8 rows of 2048 positions) is built on first use, and the CPU kernel never asks for it.
#[derive(Debug)]
pub struct AttentionMask {
    valid: Vec<Vec<bool>>,
    past: usize,
    seq: usize,
    device: Device,
    additive: OnceCell<Tensor<4>>,
}

/// The mask of `seq` new positions after `past` cached ones (see [`AttentionMask`]).
///
/// # Shapes
/// - valid: `batch` rows of at least `past + seq` flags (missing flags block their key)
pub fn attention_mask(valid: &[Vec<bool>], past: usize, seq: usize, device: &Device) -> AttentionMask {
    AttentionMask { valid: valid.to_vec(), past, seq, device: device.clone(), additive: OnceCell::new() }
}

impl AttentionMask {
    /// Whether `key` is visible from new position `query` of batch row `row`.
    fn allows(&self, row: usize, query: usize, key: usize) -> bool {
        let at = self.past + query;
        key == at || (key < at && self.valid[row].get(key).copied().unwrap_or(false))
    }

    /// Where a key is blocked, over `keys ≥ past + seq` key positions (those past the mask's own blocked).
    ///
    /// # Shapes
    /// - output: `[batch, 1, seq, keys]`
    pub(crate) fn blocked(&self, keys: usize) -> Tensor<4, Bool> {
        let rows = self.valid.len();
        let mut data = Vec::with_capacity(rows * self.seq * keys);
        for row in 0..rows {
            for query in 0..self.seq {
                data.extend((0..keys).map(|key| !self.allows(row, query, key)));
            }
        }
        Tensor::from_data(TensorData::new(data, [rows, 1, self.seq, keys]), &self.device)
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

/// Causal grouped-query attention on burn-flex's CPU, never differentiated: per (row, head, block of queries) the
/// scores against the keys up to the block's last position only — the blocks above the diagonal are never
/// computed —, a softmax with the vectorised `exp`, then the values; blocks in parallel. burn-flex's fused
/// attention computes every tile of the square and a libm `exp` per score (35% + 7% of a 2048-token prefill).
///
/// # Shapes
/// - q: `[batch, heads, seq, head_dim]`
/// - k, v: `[batch, kv_heads, past + seq, head_dim]`
/// - output: `[batch, seq, heads * head_dim]`
#[cfg(feature = "flex")]
pub(crate) fn causal_on_cpu(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: &AttentionMask) -> Tensor<3> {
    let [batch, heads, seq, head_dim] = q.dims();
    let [_, kv_heads, total, _] = k.dims();
    debug_assert_eq!((mask.past + mask.seq, mask.valid.len()), (total, batch));
    let device = q.device();
    let host = |t: Tensor<4>| t.into_data().try_into_vec::<f32>().expect("f32 activations");
    let key_bias: Vec<Vec<f32>> = mask
        .valid
        .iter()
        .map(|row| {
            (0..total).map(|j| if row.get(j).copied().unwrap_or(false) { 0.0 } else { f32::NEG_INFINITY }).collect()
        })
        .collect();
    let shape = cpu::Shape { batch, heads, kv_heads, seq, past: mask.past, head_dim };
    let out = cpu::attend(&host(q), &host(k), &host(v), &shape, &key_bias);
    // [b, h, s, hd] -> [b, s, h, hd] -> [b, s, h*hd]
    Tensor::<4>::from_data(TensorData::new(out, [batch, heads, seq, head_dim]), &device).swap_dims(1, 2).reshape([
        batch,
        seq,
        heads * head_dim,
    ])
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

    #[test]
    fn causal_kernel_matches_the_definition_across_blocks_with_padding_a_past_and_grouped_heads() {
        let device = Device::flex();
        // (batch, heads, kv_heads, past, seq, padding of row 0): one block, several with a remainder, a prefill
        // after cached positions, more query heads than key heads.
        for (batch, heads, kv_heads, past, seq, pad) in
            [(1, 2, 2, 0, 9, 0), (2, 4, 2, 0, 130, 5), (2, 4, 1, 70, 75, 3), (1, 3, 3, 0, 64, 0)]
        {
            let (total, hd) = (past + seq, 16);
            let valid: Vec<Vec<bool>> = (0..batch).map(|r| (0..total).map(|j| r > 0 || j >= pad).collect()).collect();
            let mask = attention_mask(&valid, past, seq, &device);
            let values = |n: usize, salt: usize| -> Vec<f32> {
                (0..n).map(|i| (((i * 7919 + salt * 104_729) % 2003) as f32 / 1001.5 - 1.0) * 2.0).collect()
            };
            let (q, k, v) = (
                values(batch * heads * seq * hd, 1),
                values(batch * kv_heads * total * hd, 2),
                values(batch * kv_heads * total * hd, 3),
            );
            let want = direct(&q, &k, &v, [batch, heads, kv_heads, seq, total, hd], &mask);
            let tensor = |data: &Vec<f32>, dims: [usize; 4]| {
                Tensor::<4>::from_data(TensorData::new(data.clone(), dims), &device)
            };
            let got = causal_on_cpu(
                tensor(&q, [batch, heads, seq, hd]),
                tensor(&k, [batch, kv_heads, total, hd]),
                tensor(&v, [batch, kv_heads, total, hd]),
                &mask,
            )
            .try_into_vec_as::<f32>()
            .unwrap();
            for (n, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 2e-5 * (1.0 + w.abs()),
                    "case {batch}/{heads}/{past}/{seq}, value {n}: {g} vs {w}"
                );
            }
        }
    }
}

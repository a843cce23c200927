//! The arithmetic of [`super::causal_on_cpu`] over plain slices: two `gemm` calls per block of queries (scores,
//! then values) and the softmax between them, each row's loop compiled for AVX2 + FMA when the CPU has them.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::fastmath::{LANES, exp, max};
use crate::product::{Mat, product};

/// Queries per block: the block's scores (`BLOCK × keys` floats, 512 KiB at 2048 keys) stay in the core's cache
/// between the two products, and a block wastes at most half of its `BLOCK × BLOCK` diagonal square.
const BLOCK: usize = 64;

thread_local! {
    /// One block's scores, reused by each thread across blocks, heads and calls.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Sizes of one attention call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub batch: usize,
    pub heads: usize,
    pub kv_heads: usize,
    /// New positions.
    pub seq: usize,
    /// Cached positions before them.
    pub past: usize,
    pub head_dim: usize,
}

/// `softmax(q kᵀ / √d + mask) v` for every head: `q` is `[batch, heads, seq, head_dim]`, `k` and `v` are
/// `[batch, kv_heads, past + seq, head_dim]`, row-major; `key_bias[row][key]` is 0 for a valid key and `-inf` for
/// padding. New position `i` sees the keys before `past + i` that its row marks valid, and itself. Returns
/// `[batch, heads, seq, head_dim]`.
pub(super) fn attend(q: &[f32], k: &[f32], v: &[f32], shape: &Shape, key_bias: &[Vec<f32>]) -> Vec<f32> {
    let Shape { batch, heads, kv_heads, seq, past, head_dim: hd } = *shape;
    let total = past + seq;
    assert_eq!(q.len(), batch * heads * seq * hd, "query shape");
    assert_eq!((k.len(), v.len()), (batch * kv_heads * total * hd, batch * kv_heads * total * hd), "key/value shape");
    assert!(key_bias.len() == batch && key_bias.iter().all(|b| b.len() == total), "mask shape");
    let groups = heads / kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0.0f32; q.len()];
    out.par_chunks_mut(seq * hd).enumerate().for_each(|(bh, head_out)| {
        let (row, head) = (bh / heads, bh % heads);
        let kv_at = (row * kv_heads + head / groups) * total * hd;
        let (k, v) = (&k[kv_at..kv_at + total * hd], &v[kv_at..kv_at + total * hd]);
        let q = &q[bh * seq * hd..(bh + 1) * seq * hd];
        head_out.par_chunks_mut(BLOCK * hd).enumerate().for_each(|(block, out)| {
            let first = block * BLOCK;
            let rows = out.len() / hd;
            // Keys up to the block's last position: everything to the right is blocked for every query in it.
            let keys = past + first + rows;
            SCORES.with_borrow_mut(|scores| {
                scores.resize(BLOCK * total, 0.0);
                let scores = &mut scores[..rows * keys];
                let q = &q[first * hd..(first + rows) * hd];
                // scores[i][j] = scale · q[i] · k[j]
                let (q, kt) = (Mat { data: q, rs: hd, cs: 1 }, Mat { data: &k[..keys * hd], rs: 1, cs: hd });
                product(scores, keys, q, kt, [rows, keys, hd], scale, false, 1);
                let sums: Vec<f32> = scores
                    .chunks_exact_mut(keys)
                    .enumerate()
                    .map(|(i, r)| softmax_row(r, &key_bias[row][..keys], past + first + i))
                    .collect();
                // out[i] = Σ_j e[i][j] · v[j], then / Σ_j e[i][j]
                let (e, v) = (Mat { data: scores, rs: keys, cs: 1 }, Mat { data: &v[..keys * hd], rs: hd, cs: 1 });
                product(out, hd, e, v, [rows, hd, keys], 1.0, false, 1);
                for (o, s) in out.chunks_exact_mut(hd).zip(&sums) {
                    let inv = 1.0 / s;
                    o.iter_mut().for_each(|x| *x *= inv);
                }
            });
        });
    });
    out
}

/// Replaces a row of scores by `exp(score + bias − max)` over the keys before `at` and at `at` itself (which
/// ignores its bias), 0 after it; returns the sum.
fn softmax_row(row: &mut [f32], bias: &[f32], at: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has the features `softmax_row_avx2` is compiled for (checked just above).
        return unsafe { softmax_row_avx2(row, bias, at) };
    }
    softmax_row_baseline(row, bias, at)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_row_avx2(row: &mut [f32], bias: &[f32], at: usize) -> f32 {
    softmax_row_baseline(row, bias, at)
}

#[inline(always)]
fn softmax_row_baseline(row: &mut [f32], bias: &[f32], at: usize) -> f32 {
    let (seen, after) = row.split_at_mut(at + 1);
    after.fill(0.0);
    for (x, b) in seen[..at].iter_mut().zip(bias) {
        *x += b;
    }
    let max = max(seen);
    let mut sums = [0.0f32; LANES];
    let mut chunks = seen.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (x, s) in chunk.iter_mut().zip(&mut sums) {
            *x = exp(*x - max);
            *s += *x;
        }
    }
    let mut sum = sums.iter().sum::<f32>();
    for x in chunks.into_remainder() {
        *x = exp(*x - max);
        sum += *x;
    }
    sum
}

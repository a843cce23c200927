//! The arithmetic of [`super::causal_on_cpu`] over plain slices: two `gemm` calls per block of queries (scores,
//! then values) and the softmax between them, each row's loop compiled for AVX2 + FMA when the CPU has them.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::fastmath::{LANES, dot, exp, with_avx2_fma};
use crate::product::{Mat, product};

mod backward;
pub(super) use backward::{Saved, attend_backward};

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
    /// Positions each (row, key/value head) of `k` and `v` holds: `past + seq`, or a cache buffer's capacity, its
    /// positions after `past + seq` unread.
    pub capacity: usize,
}

/// `softmax(q kᵀ / √d + mask) v` for every head: `q` is `[batch, heads, seq, head_dim]`, `k` and `v` are
/// `[batch, kv_heads, capacity, head_dim]`, row-major; `key_bias[row][key]` is 0 for a valid key and `-inf` for
/// padding. New position `i` sees the keys before `past + i` that its row marks valid, and itself. Returns the
/// output, `[batch, heads, seq, head_dim]`, and the log of each query's softmax denominator (the scores' log-sum-exp,
/// `[batch, heads, seq]`), from which the backward pass recomputes the probabilities.
pub(super) fn attend(q: &[f32], k: &[f32], v: &[f32], shape: &Shape, key_bias: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let Shape { batch, heads, kv_heads, seq, past, head_dim: hd, capacity } = *shape;
    let total = past + seq;
    shape.check(q, k, v, key_bias);
    let groups = heads / kv_heads;
    let scale = shape.scale();
    let mut out = vec![0.0f32; q.len()];
    let mut lse = vec![0.0f32; batch * heads * seq];
    let per_head = out.par_chunks_mut(seq * hd).zip(lse.par_chunks_mut(seq));
    per_head.enumerate().for_each(|(bh, (head_out, head_lse))| {
        let (row, head) = (bh / heads, bh % heads);
        let kv_at = (row * kv_heads + head / groups) * capacity * hd;
        let (k, v) = (&k[kv_at..kv_at + total * hd], &v[kv_at..kv_at + total * hd]);
        let q = &q[bh * seq * hd..(bh + 1) * seq * hd];
        let blocks = head_out.par_chunks_mut(BLOCK * hd).zip(head_lse.par_chunks_mut(BLOCK));
        blocks.enumerate().for_each(|(block, (out, lse))| {
            let first = block * BLOCK;
            let rows = out.len() / hd;
            // Keys up to the block's last position: everything to the right is blocked for every query in it.
            let keys = past + first + rows;
            SCORES.with_borrow_mut(|scores| {
                scores.resize(BLOCK * total, 0.0);
                let scores = &mut scores[..rows * keys];
                let q = &q[first * hd..(first + rows) * hd];
                // scores[i][j] = scale · q[i] · k[j]
                if rows <= DIRECT {
                    scores_direct(scores, q, &k[..keys * hd], hd, scale);
                } else {
                    let (q, kt) = (Mat { data: q, rs: hd, cs: 1 }, Mat { data: &k[..keys * hd], rs: 1, cs: hd });
                    product(scores, keys, q, kt, [rows, keys, hd], scale, false, 1);
                }
                let sums: Vec<f32> = scores
                    .chunks_exact_mut(keys)
                    .zip(lse.iter_mut())
                    .enumerate()
                    .map(|(i, (r, lse))| {
                        let (max, sum) = softmax_row(r, &key_bias[row][..keys], past + first + i);
                        *lse = max + sum.ln();
                        sum
                    })
                    .collect();
                // out[i] = Σ_j e[i][j] · v[j], then / Σ_j e[i][j]
                if rows <= DIRECT {
                    values_direct(out, scores, &v[..keys * hd], hd);
                } else {
                    let (e, v) = (Mat { data: scores, rs: keys, cs: 1 }, Mat { data: &v[..keys * hd], rs: hd, cs: 1 });
                    product(out, hd, e, v, [rows, hd, keys], 1.0, false, 1);
                }
                for (o, s) in out.chunks_exact_mut(hd).zip(&sums) {
                    let inv = 1.0 / s;
                    o.iter_mut().for_each(|x| *x *= inv);
                }
            });
        });
    });
    (out, lse)
}

/// Queries of a block from which its two products go through `gemm`: below, plain loops, as `gemm` would pack the
/// keys and values of a one-token step's product for each head (9% of an 8-row decode step of the 11M model).
const DIRECT: usize = 4;

with_avx2_fma!(fn scores_direct(scores: &mut [f32], q: &[f32], k: &[f32], hd: usize, scale: f32) = scores_direct_body);

/// `scores[i][j] = scale · q[i] · k[j]` for the rows of `q` and `k` (`hd` values each), a row of `scores` per query.
#[inline(always)]
fn scores_direct_body(scores: &mut [f32], q: &[f32], k: &[f32], hd: usize, scale: f32) {
    let keys = k.len() / hd;
    for (qi, row) in q.chunks_exact(hd).zip(scores.chunks_exact_mut(keys)) {
        for (s, kj) in row.iter_mut().zip(k.chunks_exact(hd)) {
            *s = scale * dot(qi, kj);
        }
    }
}

with_avx2_fma!(fn values_direct(out: &mut [f32], e: &[f32], v: &[f32], hd: usize) = values_direct_body);

/// `out[i] = Σ_j e[i][j] · v[j]` for the rows of `v` (`hd` values each), a row of `e` and of `out` per query.
#[inline(always)]
fn values_direct_body(out: &mut [f32], e: &[f32], v: &[f32], hd: usize) {
    let keys = v.len() / hd;
    for (o, ei) in out.chunks_exact_mut(hd).zip(e.chunks_exact(keys)) {
        o.fill(0.0);
        for (&p, vj) in ei.iter().zip(v.chunks_exact(hd)) {
            for (a, &b) in o.iter_mut().zip(vj) {
                *a += p * b;
            }
        }
    }
}

impl Shape {
    /// `1 / √head_dim`, the scores' scale.
    pub(super) fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    /// Panics unless the operands have this shape.
    pub(super) fn check(&self, q: &[f32], k: &[f32], v: &[f32], key_bias: &[Vec<f32>]) {
        let Shape { batch, heads, kv_heads, seq, past, head_dim, capacity } = *self;
        let kv_len = batch * kv_heads * capacity * head_dim;
        assert!(kv_heads > 0 && heads % kv_heads == 0, "query heads in groups of the key/value heads");
        assert!(capacity >= past + seq, "key/value room for the past and new positions");
        assert_eq!(q.len(), batch * heads * seq * head_dim, "query shape");
        assert_eq!((k.len(), v.len()), (kv_len, kv_len), "key/value shape");
        assert!(key_bias.len() == batch && key_bias.iter().all(|b| b.len() == past + seq), "mask shape");
    }
}

with_avx2_fma!(fn softmax_row(row: &mut [f32], bias: &[f32], at: usize) -> (f32, f32) = softmax_row_baseline);

/// Replaces a row of scores by `exp(score + bias − max)` over the keys before `at` and at `at` itself (which
/// ignores its bias), 0 after it; returns the max and the sum. The bias is added in both passes rather than
/// stored: a third pass over the row cost more than the two additions.
#[inline(always)]
fn softmax_row_baseline(row: &mut [f32], bias: &[f32], at: usize) -> (f32, f32) {
    let (seen, after) = row.split_at_mut(at + 1);
    after.fill(0.0);
    let (earlier, own) = seen.split_at_mut(at);
    let bias = &bias[..at];
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let (mut chunks, mut bias_chunks) = (earlier.chunks_exact(LANES), bias.chunks_exact(LANES));
    for (chunk, b) in (&mut chunks).zip(&mut bias_chunks) {
        for ((m, &x), &b) in lanes.iter_mut().zip(chunk).zip(b) {
            *m = m.max(x + b);
        }
    }
    let tail = chunks.remainder().iter().zip(bias_chunks.remainder()).map(|(x, b)| x + b);
    let max = tail.chain(lanes).fold(own[0], f32::max);
    let mut sums = [0.0f32; LANES];
    let (mut chunks, mut bias_chunks) = (earlier.chunks_exact_mut(LANES), bias.chunks_exact(LANES));
    for (chunk, b) in (&mut chunks).zip(&mut bias_chunks) {
        for ((x, s), &b) in chunk.iter_mut().zip(&mut sums).zip(b) {
            *x = exp(*x + b - max);
            *s += *x;
        }
    }
    let mut sum = sums.iter().sum::<f32>();
    for (x, b) in chunks.into_remainder().iter_mut().zip(bias_chunks.remainder()).chain([(&mut own[0], &0.0)]) {
        *x = exp(*x + b - max);
        sum += *x;
    }
    (max, sum)
}

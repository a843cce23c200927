//! The backward pass of [`super::attend`] over plain slices, FlashAttention-2's recurrence (arXiv 2307.08691, §3.1):
//! per block of queries the probabilities are recomputed from the scores and the saved log-sum-exp, never stored
//! for the whole sequence. Five `gemm` calls per block: the scores `q kᵀ`, `∂p = ∂out vᵀ`, then
//! `∂v += pᵀ ∂out`, `∂q = ∂s k` and `∂k += ∂sᵀ q` with `∂s = p ⊙ (∂p − Σ ∂out ⊙ out)`.

use std::cell::RefCell;

use rayon::prelude::*;

use super::{BLOCK, Shape};
use crate::fastmath::{LANES, dot, exp, with_avx2_fma};
use crate::product::{Mat, product};

thread_local! {
    /// One block's probabilities and their gradient, reused by each thread across blocks and calls.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// What [`super::attend`] computed and saved, and the gradient of the loss with respect to its output.
pub(in crate::attention) struct Saved<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub out: &'a [f32],
    pub lse: &'a [f32],
    pub grad_out: &'a [f32],
}

/// Gradients of the loss with respect to `q`, `k` and `v`, in their shapes.
pub(in crate::attention) struct Grads {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

/// The gradients of `q`, `k` and `v` under the mask of the forward call. One task per (row, key/value head): the
/// heads of its group write their keys' and values' gradients without sharing them with another task.
pub(in crate::attention) fn attend_backward(saved: &Saved, shape: &Shape, key_bias: &[Vec<f32>]) -> Grads {
    let Saved { q, k, v, out, lse, grad_out } = *saved;
    let Shape { heads, kv_heads, seq, past, head_dim: hd, .. } = *shape;
    shape.check(q, k, v, key_bias);
    assert_eq!((out.len(), grad_out.len(), lse.len() * hd), (q.len(), q.len(), q.len()), "saved output shapes");
    let (groups, total, scale) = (heads / kv_heads, past + seq, shape.scale());
    assert_eq!(shape.capacity, total, "keys and values without a cache buffer's spare room");
    // Σ_c ∂out[i][c] · out[i][c] per query: the softmax's backward term shared by a row's keys.
    let delta: Vec<f32> = grad_out.par_chunks_exact(hd).zip(out.par_chunks_exact(hd)).map(|(g, o)| dot(g, o)).collect();
    let mut grads = Grads { q: vec![0.0; q.len()], k: vec![0.0; k.len()], v: vec![0.0; v.len()] };
    let tasks = grads.q.par_chunks_mut(groups * seq * hd).zip(grads.k.par_chunks_mut(total * hd));
    tasks.zip(grads.v.par_chunks_mut(total * hd)).enumerate().for_each(|(task, ((dq, dk), dv))| {
        let bias = &key_bias[task / kv_heads];
        let (k, v) = (&k[task * total * hd..][..total * hd], &v[task * total * hd..][..total * hd]);
        SCRATCH.with_borrow_mut(|(p, ds)| {
            p.resize(BLOCK * total, 0.0);
            ds.resize(BLOCK * total, 0.0);
            // Query head `task · groups + g` is the g-th head of this key/value head's group.
            for (g, dq) in dq.chunks_exact_mut(seq * hd).enumerate() {
                let head = (task * groups + g) * seq;
                for (block, dq) in dq.chunks_mut(BLOCK * hd).enumerate() {
                    let (first, rows) = (block * BLOCK, dq.len() / hd);
                    let keys = past + first + rows;
                    let at = (head + first) * hd;
                    let (q, grad_out) = (&q[at..at + rows * hd], &grad_out[at..at + rows * hd]);
                    let (p, ds) = (&mut p[..rows * keys], &mut ds[..rows * keys]);
                    let (k, v) = (&k[..keys * hd], &v[..keys * hd]);
                    let (dk, dv) = (&mut dk[..keys * hd], &mut dv[..keys * hd]);
                    // p[i][j] = scale · q[i] · k[j] (then the probabilities), ds[i][j] = ∂out[i] · v[j]
                    product(p, keys, rows_of(q, hd), cols_of(k, hd), [rows, keys, hd], scale, false, 1);
                    product(ds, keys, rows_of(grad_out, hd), cols_of(v, hd), [rows, keys, hd], 1.0, false, 1);
                    for (i, (p, ds)) in p.chunks_exact_mut(keys).zip(ds.chunks_exact_mut(keys)).enumerate() {
                        let query = head + first + i;
                        grad_row(p, ds, bias, past + first + i, lse[query], delta[query]);
                    }
                    // ∂v[j] += Σ_i p[i][j] ∂out[i]; ∂q[i] = scale Σ_j ∂s[i][j] k[j]; ∂k[j] += scale Σ_i ∂s[i][j] q[i]
                    product(dv, hd, cols_of(p, keys), rows_of(grad_out, hd), [keys, hd, rows], 1.0, true, 1);
                    product(dq, hd, rows_of(ds, keys), rows_of(k, hd), [rows, hd, keys], scale, false, 1);
                    product(dk, hd, cols_of(ds, keys), rows_of(q, hd), [keys, hd, rows], scale, true, 1);
                }
            }
        });
    });
    grads
}

/// A row-major matrix of rows of `width`.
fn rows_of(data: &[f32], width: usize) -> Mat<'_> {
    Mat { data, rs: width, cs: 1 }
}

/// The transpose of a row-major matrix of rows of `width`.
fn cols_of(data: &[f32], width: usize) -> Mat<'_> {
    Mat { data, rs: 1, cs: width }
}

with_avx2_fma!(fn grad_row(p: &mut [f32], ds: &mut [f32], bias: &[f32], at: usize, lse: f32, delta: f32) = grad_row_body);

/// Turns a row of scaled scores `p` into probabilities `exp(score + bias − lse)` over the keys before `at` and at
/// `at` itself (which ignores its bias), 0 after it, and the row `ds` of `∂out · v` into `p ⊙ (ds − delta)`.
#[inline(always)]
fn grad_row_body(p: &mut [f32], ds: &mut [f32], bias: &[f32], at: usize, lse: f32, delta: f32) {
    let ((seen, after), (ds_seen, ds_after)) = (p.split_at_mut(at + 1), ds.split_at_mut(at + 1));
    after.fill(0.0);
    ds_after.fill(0.0);
    seen[at] -= lse;
    for (x, b) in seen[..at].iter_mut().zip(bias) {
        *x += b - lse;
    }
    let (mut chunks, mut ds_chunks) = (seen.chunks_exact_mut(LANES), ds_seen.chunks_exact_mut(LANES));
    for (chunk, ds) in (&mut chunks).zip(&mut ds_chunks) {
        for (x, d) in chunk.iter_mut().zip(ds) {
            *x = exp(*x);
            *d = *x * (*d - delta);
        }
    }
    for (x, d) in chunks.into_remainder().iter_mut().zip(ds_chunks.into_remainder()) {
        *x = exp(*x);
        *d = *x * (*d - delta);
    }
}

//! Products of a few rows by a weight read where it lies, for the decode steps on the CPU: the `gemm` crate copies the
//! whole weight into its panel layout on every call (the 11M model's LM head: 33 MB copied per generated token), which
//! pays off over many rows and not over the one to sixteen of a decode step.
//!
//! Every entry of the weight is read once per call, where it lies, in either layout. A `[d_out, d_in]` weight (the tied
//! LM head, the embedding table) streams row by row, each row's dot products with up to eight rows of `x` summed in
//! vectors of inputs. A `[d_in, d_out]` weight (burn's `Linear`) is read sixteen of its rows at a time: for 5 to 16
//! rows of `x` its entries are broadcast against those rows held in the vector lanes (`x` transposed, a few
//! kilobytes); for up to 4, each row's inputs are broadcast against vectors of the weight's output columns.

/// Rows a call takes: two vectors of eight lanes.
pub(crate) const MAX_ROWS: usize = 16;

/// Lanes of a vector (AVX2).
const LANES: usize = 8;

/// A weight of `inputs × outputs` entries read in place: entry (input `k`, output `j`) at `k · k_stride + j · j_stride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weight<'a> {
    data: &'a [f32],
    inputs: usize,
    outputs: usize,
    k_stride: usize,
    j_stride: usize,
}

impl<'a> Weight<'a> {
    /// A row-major `[inputs, outputs]` weight (burn's `Linear`).
    pub(crate) fn inputs_by_outputs(data: &'a [f32], inputs: usize, outputs: usize) -> Self {
        Self::new(data, inputs, outputs, outputs, 1)
    }

    /// A row-major `[outputs, inputs]` weight (the tied LM head's embedding table).
    pub(crate) fn outputs_by_inputs(data: &'a [f32], inputs: usize, outputs: usize) -> Self {
        Self::new(data, inputs, outputs, 1, inputs)
    }

    fn new(data: &'a [f32], inputs: usize, outputs: usize, k_stride: usize, j_stride: usize) -> Self {
        assert!(inputs > 0 && outputs > 0, "empty weight");
        assert_eq!(data.len(), inputs * outputs, "weight of {inputs} × {outputs} entries");
        Self { data, inputs, outputs, k_stride, j_stride }
    }
}

/// `x · w` for each weight of `weights`, all of the same inputs, and the `rows` rows of `x` (`[rows, inputs]`,
/// row-major): `[rows, w.outputs]` each, row-major. The output columns of all the weights are split over `threads`
/// tasks at once, so the products a layer takes from one input (its query, key and value projections) wait for the
/// threads once rather than once each. `None` where the CPU has no AVX2 and FMA, or `rows` is 0 or more than
/// [`MAX_ROWS`]: the general product is the way there.
///
/// # Panics
/// When a weight's inputs differ from the first's, or `x` does not hold `rows × inputs` values.
pub(crate) fn products(x: &[f32], rows: usize, weights: &[Weight], threads: usize) -> Option<Vec<Vec<f32>>> {
    let inputs = weights.first().map_or(0, |w| w.inputs);
    assert!(weights.iter().all(|w| w.inputs == inputs), "weights of {inputs} inputs");
    assert_eq!(x.len(), rows * inputs, "x of {rows} × {inputs} values");
    #[cfg(target_arch = "x86_64")]
    if (1..=MAX_ROWS).contains(&rows) && avx2::available() {
        let wide = std::arch::is_x86_feature_detected!("avx512f");
        return Some(avx2::products(x, rows, weights, threads.max(1), wide));
    }
    let _ = threads;
    None
}

/// The columns of each weight that each of `threads` tasks takes: `(weight, columns)` pieces, task by task. The
/// weights' columns are laid end to end and cut into equal shares, each cut rounded up to a multiple of `block`
/// columns of its weight.
fn shares(outputs: &[usize], threads: usize, block: usize) -> Vec<Vec<(usize, std::ops::Range<usize>)>> {
    let total: usize = outputs.iter().sum();
    let per_task = total.div_ceil(threads);
    let cut = |t: usize, first: usize, n: usize| (t * per_task).saturating_sub(first).next_multiple_of(block).min(n);
    let tasks = (0..threads).map(|t| {
        let mut first = 0;
        let mut pieces = Vec::new();
        for (i, &n) in outputs.iter().enumerate() {
            let columns = cut(t, first, n)..cut(t + 1, first, n);
            if !columns.is_empty() {
                pieces.push((i, columns));
            }
            first += n;
        }
        pieces
    });
    tasks.filter(|pieces| !pieces.is_empty()).collect()
}

/// `x` transposed into `[inputs, groups · LANES]`, the rows past `rows` zero.
fn transposed(x: &[f32], rows: usize, inputs: usize, groups: usize) -> Vec<f32> {
    let width = groups * LANES;
    let mut xt = vec![0.0f32; inputs * width];
    for (r, row) in x.chunks_exact(inputs).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            xt[k * width + r] = v;
        }
    }
    debug_assert!(rows <= width);
    xt
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_broadcast_ss, _mm256_castpd_ps, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_loadu_ps,
        _mm256_permute2f128_ps, _mm256_setzero_ps, _mm256_storeu_ps, _mm512_castps_pd, _mm512_castps512_ps256,
        _mm512_extractf64x4_pd, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_setzero_ps,
    };

    use super::{LANES, Weight, transposed};
    use rayon::prelude::*;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// Output columns per block with one group of rows: eight accumulators and the broadcast fit the sixteen
    /// registers.
    const BLOCK: usize = 8;

    /// Inputs per pass over the columns of a `[d_in, d_out]` weight: each pass reads `SPAN` rows of the weight, each
    /// in order, one cache line of each per block; passes over all the inputs would read one weight row after
    /// another, a row's length apart, which the prefetchers do not follow (SmolLM2-135M's layers: 70 ms per
    /// 8-row step that way, 42 ms this way, on the bench machine).
    const SPAN: usize = 16;

    /// The output's base address, shared by tasks that write disjoint columns.
    #[derive(Clone, Copy)]
    struct Out(*mut f32);
    // SAFETY: the tasks given the `Out` of a buffer write disjoint columns of it while it lives (see `products`).
    unsafe impl Send for Out {}
    unsafe impl Sync for Out {}

    impl Out {
        fn at(self, i: usize) -> *mut f32 {
            self.0.wrapping_add(i)
        }
    }

    /// [`super::products`] on a CPU with AVX2 and FMA, and AVX-512 when `wide`.
    pub(super) fn products(x: &[f32], rows: usize, weights: &[Weight], threads: usize, wide: bool) -> Vec<Vec<f32>> {
        let groups = rows.div_ceil(LANES);
        let inputs = weights.first().map_or(0, |w| w.inputs);
        let transposing = rows > FEW && weights.iter().any(|w| w.k_stride != 1);
        let xt = if transposing { transposed(x, rows, inputs, groups) } else { Vec::new() };
        let mut ys: Vec<Vec<f32>> = weights.iter().map(|w| vec![0.0f32; rows * w.outputs]).collect();
        let outs: Vec<Out> = ys.iter_mut().map(|y| Out(y.as_mut_ptr())).collect();
        let outputs: Vec<usize> = weights.iter().map(|w| w.outputs).collect();
        let tasks = super::shares(&outputs, threads, BLOCK);
        let run = |pieces: &Vec<(usize, std::ops::Range<usize>)>| {
            for (i, columns) in pieces {
                // SAFETY: `outs[i]` addresses `ys[i]`, which outlives the tasks and holds `rows × outputs` values;
                // the tasks' pieces of one weight are disjoint columns (`shares`).
                unsafe { piece(x, &xt, rows, weights[*i], columns.clone(), outs[*i], wide) };
            }
        };
        if tasks.len() > 1 {
            tasks.par_iter().for_each(run);
        } else {
            tasks.iter().for_each(run);
        }
        ys
    }

    /// The columns `lo..hi` of `x · w` (`xt`: `x` transposed where the kernel reads it so) written at `out`.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA, and AVX-512 when `wide`; `out` addresses `rows × w.outputs` writable values of which
    /// no other thread writes the columns `lo..hi`.
    unsafe fn piece(
        x: &[f32],
        xt: &[f32],
        rows: usize,
        w: Weight,
        std::ops::Range { start: lo, end: hi }: std::ops::Range<usize>,
        out: Out,
        wide: bool,
    ) {
        let groups = rows.div_ceil(LANES);
        let in_order = w.k_stride == 1;
        if !in_order && rows <= FEW {
            let mut rs = vec![0.0f32; rows * (hi - lo)];
            // SAFETY: as below; `rs` holds `rows × (hi − lo)` values.
            unsafe {
                match rows {
                    1 => by_rows::<1>(x, w, lo..hi, &mut rs),
                    2 => by_rows::<2>(x, w, lo..hi, &mut rs),
                    3 => by_rows::<3>(x, w, lo..hi, &mut rs),
                    _ => by_rows::<4>(x, w, lo..hi, &mut rs),
                }
            }
            for (r, rs) in rs.chunks_exact(hi - lo).enumerate() {
                for (c, &v) in rs.iter().enumerate() {
                    // SAFETY: the function's.
                    unsafe { *out.at(r * w.outputs + lo + c) = v };
                }
            }
            return;
        }
        let mut sums = vec![0.0f32; (hi - lo) * groups * LANES];
        // SAFETY: the caller's CPU features; `xt` holds `inputs × groups` vectors and `sums` `(hi − lo) × groups`;
        // every weight index `k · k_stride + j · j_stride` with `k < inputs`, `j < outputs` lies in `w.data` (its
        // length is `inputs × outputs`, checked by `Weight::new`, and the strides are those of one of its two
        // row-major layouts).
        unsafe {
            match groups {
                _ if in_order && wide => dots_wide(x, rows, w, lo..hi, &mut sums),
                _ if in_order => dots(x, rows, w, lo..hi, &mut sums),
                1 => columns::<1, BLOCK>(xt, w, lo..hi, &mut sums),
                _ => columns::<2, { BLOCK / 2 }>(xt, w, lo..hi, &mut sums),
            }
        }
        for (c, sums) in sums.chunks_exact(groups * LANES).enumerate() {
            for (r, &v) in sums[..rows].iter().enumerate() {
                // SAFETY: the function's.
                unsafe { *out.at(r * w.outputs + lo + c) = v };
            }
        }
    }

    /// Rows up to which a `[d_in, d_out]` weight's product keeps the rows apart ([`by_rows`]): held in the lanes of
    /// the vectors, 2 rows would fill 2 lanes of 8.
    const FEW: usize = 4;

    /// `rs[r][j − lo]` (row-major, `cols.len()` a row) for the `R` rows of `x` and the columns `cols` of a
    /// `[d_in, d_out]` weight: vectors of 8 output columns, each weight entry's vector multiplied by each row's input
    /// broadcast, over spans of [`SPAN`] inputs as in [`columns`].
    #[target_feature(enable = "avx2,fma")]
    unsafe fn by_rows<const R: usize>(x: &[f32], w: Weight, cols: std::ops::Range<usize>, rs: &mut [f32]) {
        let width = cols.len();
        for first in (0..w.inputs).step_by(SPAN) {
            let inputs = first..(first + SPAN).min(w.inputs);
            let mut j = cols.start;
            // SAFETY: as `by_rows`' (columns `j..j + 16` or `j..j + 8` lie below `cols.end ≤ outputs`).
            unsafe {
                while j + 2 * LANES <= cols.end {
                    row_block::<R, 2>(x, w, j, inputs.clone(), &mut rs[j - cols.start..], width);
                    j += 2 * LANES;
                }
                if j + LANES <= cols.end {
                    row_block::<R, 1>(x, w, j, inputs.clone(), &mut rs[j - cols.start..], width);
                    j += LANES;
                }
            }
            for (j, c) in (j..cols.end).map(|j| (j, j - cols.start)) {
                for r in 0..R {
                    let row = &x[r * w.inputs..(r + 1) * w.inputs];
                    rs[r * width + c] += inputs.clone().map(|k| row[k] * w.data[k * w.outputs + j]).sum::<f32>();
                }
            }
        }
    }

    /// Adds the inputs `inputs` of output columns `j..j + V · LANES` to `rs[r · width..][..V · LANES]` for the `R`
    /// rows: `R × V` accumulators.
    #[inline(always)]
    unsafe fn row_block<const R: usize, const V: usize>(
        x: &[f32],
        w: Weight,
        j: usize,
        inputs: std::ops::Range<usize>,
        rs: &mut [f32],
        width: usize,
    ) {
        assert!(rs.len() > (R - 1) * width + V * LANES - 1, "room for the block");
        let (xp, wp, sp) = (x.as_ptr(), w.data.as_ptr(), rs.as_mut_ptr());
        // SAFETY: the caller has AVX2 and FMA; `rs` holds the block (checked above), `x` the `R` rows and `w.data`
        // the columns `j..j + V · LANES` of rows `inputs` (see `piece`).
        unsafe {
            let at = |r: usize, v: usize| sp.wrapping_add(r * width + v * LANES);
            let mut acc: [[__m256; V]; R] = resume(inputs.start == 0, at);
            for k in inputs {
                let wk = wp.add(k * w.outputs + j);
                let wv: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(wk.add(v * LANES)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let b = _mm256_broadcast_ss(&*xp.add(r * w.inputs + k));
                    for (a, &wv) in acc.iter_mut().zip(&wv) {
                        *a = _mm256_fmadd_ps(b, wv, *a);
                    }
                }
            }
            keep(&acc, at);
        }
    }

    /// `A × B` accumulators for a span of inputs: zero for the first span, else the sums so far, vector `(a, b)` read
    /// at `at(a, b)`.
    ///
    /// # Safety
    /// The caller has AVX; unless `fresh`, `at(a, b)` addresses 8 readable floats for every `a < A`, `b < B`.
    #[inline(always)]
    unsafe fn resume<const A: usize, const B: usize>(
        fresh: bool,
        at: impl Fn(usize, usize) -> *mut f32,
    ) -> [[__m256; B]; A] {
        // SAFETY: the function's.
        std::array::from_fn(|a| {
            std::array::from_fn(|b| unsafe { if fresh { _mm256_setzero_ps() } else { _mm256_loadu_ps(at(a, b)) } })
        })
    }

    /// Stores accumulator `(a, b)` at `at(a, b)`.
    ///
    /// # Safety
    /// The caller has AVX; `at(a, b)` addresses 8 writable floats for every `a < A`, `b < B`.
    #[inline(always)]
    unsafe fn keep<const A: usize, const B: usize>(acc: &[[__m256; B]; A], at: impl Fn(usize, usize) -> *mut f32) {
        for (a, acc) in acc.iter().enumerate() {
            for (b, &v) in acc.iter().enumerate() {
                // SAFETY: the function's.
                unsafe { _mm256_storeu_ps(at(a, b), v) };
            }
        }
    }

    /// `sums[j − lo]` (the rows of column `j`, `G · LANES` lanes) for the columns `cols` of a `[d_in, d_out]` weight,
    /// over spans of [`SPAN`] inputs, in blocks of `C` columns and a remainder of one column at a time.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn columns<const G: usize, const C: usize>(
        xt: &[f32],
        w: Weight,
        cols: std::ops::Range<usize>,
        sums: &mut [f32],
    ) {
        for first in (0..w.inputs).step_by(SPAN) {
            let inputs = first..(first + SPAN).min(w.inputs);
            let mut j = cols.start;
            while j < cols.end {
                let at = &mut sums[(j - cols.start) * G * LANES..];
                // SAFETY: as `columns`' (columns `j..j + C` or `j` lie below `cols.end ≤ outputs`).
                if j + C <= cols.end {
                    unsafe { block::<G, C>(xt, w, j, inputs.clone(), at) };
                    j += C;
                } else {
                    unsafe { block::<G, 1>(xt, w, j, inputs.clone(), at) };
                    j += 1;
                }
            }
        }
    }

    /// `sums[j − lo]` (the rows of column `j`, `groups · LANES` lanes) for the columns `cols` of a `[d_out, d_in]`
    /// weight: each column's weight row, contiguous, read once in vectors of inputs against up to eight rows of `x`
    /// at a time, so the weight streams in order (reading eight weight rows in step, as [`columns`] does, ran the
    /// 11M model's LM head at half the speed from memory).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dots(x: &[f32], rows: usize, w: Weight, cols: std::ops::Range<usize>, sums: &mut [f32]) {
        // SAFETY: the caller's.
        unsafe { dots_body::<false>(x, rows, w, cols, sums) }
    }

    /// [`dots`] in vectors of 16 inputs (AVX-512): half the loads and multiply-adds for the 8 rows of a decode step,
    /// where the head's products are bound by them rather than by memory.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn dots_wide(x: &[f32], rows: usize, w: Weight, cols: std::ops::Range<usize>, sums: &mut [f32]) {
        // SAFETY: the caller's.
        unsafe { dots_body::<true>(x, rows, w, cols, sums) }
    }

    #[inline(always)]
    unsafe fn dots_body<const WIDE: bool>(
        x: &[f32],
        rows: usize,
        w: Weight,
        cols: std::ops::Range<usize>,
        sums: &mut [f32],
    ) {
        let groups = rows.div_ceil(LANES);
        for (j, sums) in cols.clone().zip(sums.chunks_exact_mut(groups * LANES)) {
            let weights = &w.data[j * w.inputs..(j + 1) * w.inputs];
            for (g, sums) in sums.chunks_exact_mut(LANES).enumerate() {
                let x = &x[g * LANES * w.inputs..];
                // SAFETY: the caller has AVX2 and FMA; `x` holds the group's rows of `w.inputs` values.
                let s = unsafe {
                    match rows - g * LANES {
                        1 => dot::<1, WIDE>(x, weights),
                        2 => dot::<2, WIDE>(x, weights),
                        3 => dot::<3, WIDE>(x, weights),
                        4 => dot::<4, WIDE>(x, weights),
                        5 => dot::<5, WIDE>(x, weights),
                        6 => dot::<6, WIDE>(x, weights),
                        7 => dot::<7, WIDE>(x, weights),
                        _ => dot::<8, WIDE>(x, weights),
                    }
                };
                sums.copy_from_slice(&s);
            }
        }
    }

    /// The dot products of `R ≤ LANES` rows of `x` (each `weights.len()` long) with `weights`, in lanes `0..R`; in
    /// vectors of 16 inputs when `WIDE` (the caller has AVX-512).
    #[inline(always)]
    unsafe fn dot<const R: usize, const WIDE: bool>(x: &[f32], weights: &[f32]) -> [f32; LANES] {
        let n = weights.len();
        assert!(x.len() >= R * n, "R rows of x");
        let step = if WIDE { 2 * LANES } else { LANES };
        let whole = n / step * step;
        let (xp, wp) = (x.as_ptr(), weights.as_ptr());
        // SAFETY: the caller has AVX2 and FMA, and AVX-512 when `WIDE`; loads stay below `whole ≤ n` within each row.
        let mut all = unsafe {
            let mut all = [_mm256_setzero_ps(); LANES];
            if WIDE {
                let mut acc = [_mm512_setzero_ps(); R];
                for k in (0..whole).step_by(step) {
                    let wv = _mm512_loadu_ps(wp.add(k));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xp.add(r * n + k)), *a);
                    }
                }
                for (s, &a) in all.iter_mut().zip(&acc) {
                    let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
                    *s = _mm256_add_ps(_mm512_castps512_ps256(a), high);
                }
            } else {
                let mut acc = [_mm256_setzero_ps(); R];
                for k in (0..whole).step_by(step) {
                    let wv = _mm256_loadu_ps(wp.add(k));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xp.add(r * n + k)), *a);
                    }
                }
                all[..R].copy_from_slice(&acc);
            }
            let mut out = [0.0f32; LANES];
            _mm256_storeu_ps(out.as_mut_ptr(), sum_each(all));
            out
        };
        for (r, s) in all.iter_mut().enumerate().take(R) {
            *s += x[r * n + whole..(r + 1) * n].iter().zip(&weights[whole..]).map(|(a, b)| a * b).sum::<f32>();
        }
        all
    }

    /// The sum of the lanes of each of eight vectors, as one vector: `hadd` pairs the vectors twice, then the halves
    /// of the 128-bit lanes are added.
    #[inline(always)]
    unsafe fn sum_each(v: [__m256; LANES]) -> __m256 {
        // SAFETY: the caller has AVX.
        unsafe {
            let (a, b) = (_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
            let (c, d) = (_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
            // [v0..v3 low halves' sums | v0..v3 high halves'], the same for v4..v7
            let (low, high) = (_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
            _mm256_add_ps(_mm256_permute2f128_ps(low, high, 0x20), _mm256_permute2f128_ps(low, high, 0x31))
        }
    }

    /// Adds the inputs `inputs` of output columns `j..j + C` to `sums[..C · G · LANES]`: `C × G` accumulators, each
    /// the `LANES` rows of one group and one column.
    #[inline(always)]
    unsafe fn block<const G: usize, const C: usize>(
        xt: &[f32],
        w: Weight,
        j: usize,
        inputs: std::ops::Range<usize>,
        sums: &mut [f32],
    ) {
        let sums = &mut sums[..C * G * LANES];
        let sp = sums.as_mut_ptr();
        let at = |c: usize, g: usize| sp.wrapping_add((c * G + g) * LANES);
        // SAFETY: the caller has AVX; `sums` holds `C · G` vectors.
        let mut acc: [[__m256; G]; C] = unsafe { resume(inputs.start == 0, at) };
        let (xp, wp) = (xt.as_ptr(), w.data.as_ptr());
        for k in inputs {
            // SAFETY: `xt` is `[inputs, G · LANES]`; the weight indices lie in `w.data` (see `piece`).
            unsafe {
                let xv: [__m256; G] = std::array::from_fn(|g| _mm256_loadu_ps(xp.add((k * G + g) * LANES)));
                let wk = wp.add(k * w.k_stride + j * w.j_stride);
                for (c, acc) in acc.iter_mut().enumerate() {
                    let b = _mm256_broadcast_ss(&*wk.add(c * w.j_stride));
                    for (a, &x) in acc.iter_mut().zip(&xv) {
                        *a = _mm256_fmadd_ps(b, x, *a);
                    }
                }
            }
        }
        // SAFETY: as above.
        unsafe { keep(&acc, at) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], rows: usize, w: &[f32], inputs: usize, outputs: usize, in_by_out: bool) -> Vec<f32> {
        let at = |k: usize, j: usize| if in_by_out { w[k * outputs + j] } else { w[j * inputs + k] };
        (0..rows)
            .flat_map(|r| (0..outputs).map(move |j| (r, j)))
            .map(|(r, j)| (0..inputs).map(|k| f64::from(x[r * inputs + k]) * f64::from(at(k, j))).sum::<f64>() as f32)
            .collect()
    }

    #[test]
    fn matches_the_products_in_both_layouts_for_every_row_count() {
        // Three weights of one input width, in both layouts and a mix of them, their columns shared by 1 to 4 tasks
        // (cuts inside the first weight, inside the second, and with 4 tasks inside the last).
        let (inputs, outputs) = (37, [53, 9, 24]);
        let data: Vec<Vec<f32>> = outputs
            .iter()
            .enumerate()
            .map(|(n, &o)| (0..inputs * o).map(|i| ((i * 7919 + n * 13) % 101) as f32 / 64.0 - 0.78).collect())
            .collect();
        for rows in 1..=MAX_ROWS {
            let x: Vec<f32> = (0..rows * inputs).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
            for layouts in [[true; 3], [false; 3], [true, false, true]] {
                let weights: Vec<Weight> = data
                    .iter()
                    .zip(outputs)
                    .zip(layouts)
                    .map(|((w, o), in_by_out)| match in_by_out {
                        true => Weight::inputs_by_outputs(w, inputs, o),
                        false => Weight::outputs_by_inputs(w, inputs, o),
                    })
                    .collect();
                for threads in [1, 2, 3, 4] {
                    // What this CPU runs, and the AVX2 path without AVX-512 besides.
                    let mut runs: Vec<Vec<Vec<f32>>> = products(&x, rows, &weights, threads).into_iter().collect();
                    #[cfg(target_arch = "x86_64")]
                    if avx2::available() {
                        runs.push(avx2::products(&x, rows, &weights, threads, false));
                    }
                    for got in runs {
                        assert_eq!(got.len(), weights.len(), "one product per weight");
                        for (n, got) in got.iter().enumerate() {
                            let want = reference(&x, rows, &data[n], inputs, outputs[n], layouts[n]);
                            assert_eq!(got.len(), want.len(), "rows {rows} weight {n}");
                            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                                let at = format!("rows {rows} weight {n} entry {i} threads {threads}");
                                assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{at}: {g} vs {w}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn shares_cover_every_column_once_in_blocks() {
        for (outputs, threads) in [(vec![53, 9, 24], 3), (vec![576, 192, 192], 2), (vec![7], 4), (vec![64, 64], 2)] {
            let tasks = shares(&outputs, threads, 8);
            assert!(tasks.len() <= threads);
            for (n, &o) in outputs.iter().enumerate() {
                let pieces: Vec<_> = tasks.iter().flatten().filter(|(i, _)| *i == n).map(|(_, c)| c.clone()).collect();
                assert_eq!(pieces.first().map(|c| c.start), Some(0), "{outputs:?} weight {n}");
                assert_eq!(pieces.last().map(|c| c.end), Some(o), "{outputs:?} weight {n}");
                for pair in pieces.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start, "{outputs:?} weight {n}");
                    assert_eq!(pair[0].end % 8, 0, "{outputs:?} weight {n}: cut inside a block");
                }
            }
        }
        // Equal shares: 576 + 192 + 192 columns over two tasks, 480 each.
        assert_eq!(
            shares(&[576, 192, 192], 2, 8),
            vec![vec![(0, 0..480)], vec![(0, 480..576), (1, 0..192), (2, 0..192)]]
        );
    }
}

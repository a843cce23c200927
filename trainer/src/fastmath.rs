//! Arithmetic written so the compiler vectorises it, for the CPU kernels of [`crate::head`] and the attention:
//! burn-flex runs an elementwise `exp` on one thread through libm.

/// Defines `fn $name(args) [-> ret]` that runs `$body` (an `#[inline(always)]` function of the same arguments) compiled
/// for AVX2 + FMA when the CPU has them (checked once and cached by the standard library), else as the baseline
/// target compiles it: the row loops of the CPU kernels vectorise twice as wide.
macro_rules! with_avx2_fma {
    ($vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident) => {
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2_fma($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has the features `avx2_fma` is compiled for (checked just above).
                    return unsafe { avx2_fma($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use with_avx2_fma;

/// Lanes of the accumulators: wide enough for AVX-512, and lets the compiler vectorise the reductions.
pub(crate) const LANES: usize = 16;

/// The largest element (`-inf` for an empty slice).
#[inline(always)]
pub(crate) fn max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = m.max(x);
        }
    }
    chunks.remainder().iter().chain(&lanes).fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

/// `Σ a[i] · b[i]` for slices of one length, summed in [`LANES`] lanes so that the compiler vectorises it.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut lanes = [0.0f32; LANES];
    let (a, b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a.remainder().iter().zip(b.remainder()).map(|(x, y)| x * y).sum();
    for (a, b) in a.zip(b) {
        for ((l, x), y) in lanes.iter_mut().zip(a).zip(b) {
            *l += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `e^x` for `x ≤ 0` in branch-free arithmetic the compiler vectorises (Cephes' `expf`: `2^n · e^r` with
/// `|r| ≤ ln 2 / 2` and a degree-6 polynomial; relative error below 2e-7). Inputs below −87.3 (`-inf` included)
/// give the smallest normal float instead of a denormal or 0; the softmax sums cannot tell.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2²³: `y + SHIFT` rounds `y` to the nearest integer and leaves it in the low bits of the sum, so neither
    // the rounding nor `2^n` needs a float-to-int conversion (Rust's saturating `as` does not vectorise).
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Plain `*` and `+`: `mul_add` is a libm call where the baseline target has no FMA.
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5e-1;
    let p = p * r * r + r + 1.0;
    // The low bits of `t` hold n (−126 ≤ n ≤ 127 after the clamp); shifted into the exponent field they give 2^n,
    // the sum's own exponent bits shifted out.
    p * f32::from_bits(t.to_bits().wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_to_two_ulp_over_the_softmax_range() {
        let mut worst = 0.0f32;
        for i in 0..=200_000 {
            let x = -87.0 + 87.0 * i as f32 / 200_000.0;
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
    }
}

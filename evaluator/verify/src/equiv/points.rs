//! The points at which expressions with variables are evaluated: deterministic pseudo-random rationals.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use super::eval::{Env, Val};

/// Points at which expressions with variables are compared.
pub const POINTS: usize = 4;

/// SplitMix64: a tiny deterministic generator (no clock, no global state).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`POINTS`] assignments of the symbols, plus two spares used when a point hits a pole.
pub(super) fn points(syms: &[String]) -> Vec<Env> {
    let mut state = 0x00C1_2A5E_ED00_0001u64;
    (0..POINTS + 2)
        .map(|_| {
            syms.iter()
                .map(|s| {
                    let p = (splitmix(&mut state) % (1 << 15)) as i64 + 1;
                    let q = (splitmix(&mut state) % 32) as i64 + 1;
                    let v = BigRational::new(BigInt::from(p), BigInt::from(q));
                    (s.clone(), Val::Exact(num_complex::Complex::new(v, BigRational::zero())))
                })
                .collect()
        })
        .collect()
}

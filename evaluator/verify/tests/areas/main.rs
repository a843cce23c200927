//! One-line cases per area: `t(pred, gold, expected)`.

mod extraction;
mod fractions;
mod intervals;
mod numbers;
mod relations;
mod sets;
mod symbolic;
mod total;
mod units;

use cir_verify::{Options, verify, verify_with};

/// Asserts the verdict on `pred` vs `gold` with default options.
#[track_caller]
pub fn t(pred: &str, gold: &str, expected: bool) {
    let v = verify(pred, gold);
    assert_eq!(v.equivalent, expected, "verify({pred:?}, {gold:?}) = {v:?}");
}

/// Asserts the verdict with explicit options.
#[track_caller]
pub fn t_with(pred: &str, gold: &str, opts: &Options, expected: bool) {
    let v = verify_with(pred, gold, opts);
    assert_eq!(v.equivalent, expected, "verify_with({pred:?}, {gold:?}, {opts:?}) = {v:?}");
}

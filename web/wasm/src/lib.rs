//! `cir-web`: the verifier for the browser (and Node), through wasm-bindgen.
//!
//! A thin layer over [`cir_verify`]: `verify(pred, gold)` returns an object with `equivalent` and `reason`;
//! `extractAnswer(text)` returns the final answer or `undefined`. Build with
//! `cargo build --release -p cir-web --target wasm32-unknown-unknown` and `wasm-bindgen --target web` (browser) or
//! `--target nodejs` (tests).
//!
//! ```
//! let v = cir_web::verify("\\boxed{\\frac12}", "0.5");
//! assert!(v.equivalent);
//! assert_eq!(v.reason, "equal: exact");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use wasm_bindgen::prelude::wasm_bindgen;

/// A verdict as JavaScript sees it: `{ equivalent, reason }`.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the prediction is equivalent to the gold answer.
    pub equivalent: bool,
    /// Why, e.g. `equal: exact`, `different`, `no answer found`.
    pub reason: String,
}

/// Verifies a prediction (bare answer or whole response) against a gold answer, with the default options.
#[wasm_bindgen]
pub fn verify(pred: &str, gold: &str) -> Verdict {
    let v = cir_verify::verify(pred, gold);
    Verdict { equivalent: v.equivalent, reason: v.reason.to_string() }
}

/// The final answer in a response, or `undefined` when none is found.
#[wasm_bindgen(js_name = extractAnswer)]
pub fn extract_answer(text: &str) -> Option<String> {
    cir_verify::extract_answer(text)
}

//! `cir-web`: the verifier and the trajectory types for the browser (and Node), through wasm-bindgen.
//!
//! A thin layer over [`cir_verify`] and [`cir_record`]: `verify(pred, gold)` returns an object with `equivalent` and
//! `reason`; `extractAnswer(text)` returns the final answer or `undefined`; a [`Loader`] reads a trajectory file line
//! by line (schema checked, each trajectory re-graded) and computes the file's metrics. Structured results cross the
//! boundary as JSON strings (one `JSON.parse` on the JS side, no extra binding crate). Build with
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

pub use error::Error;
pub use trajectories::{Row, metrics, parse_line, regrade};
use wasm_bindgen::prelude::wasm_bindgen;

mod error;
pub mod trajectories;

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

/// Reads a trajectory file one line at a time and keeps the trajectories for [`Loader::metrics`].
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Loader {
    trajectories: Vec<cir_record::Trajectory>,
}

#[wasm_bindgen]
impl Loader {
    /// An empty loader.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Parses one line and re-grades it; returns the [`Row`] as JSON, or throws the reason the line was refused
    /// (not JSON, no or unknown `schema`, a missing or mistyped field). A refused line leaves the loader unchanged.
    #[wasm_bindgen(js_name = pushLine)]
    pub fn push_line(&mut self, line: &str) -> Result<String, String> {
        let row = regrade(parse_line(line).map_err(|e| e.to_string())?);
        let json = serde_json::to_string(&row).map_err(|e| e.to_string())?;
        self.trajectories.push(row.trajectory);
        Ok(json)
    }

    /// Trajectories loaded so far.
    #[wasm_bindgen(getter)]
    pub fn len(&self) -> usize {
        self.trajectories.len()
    }

    /// True when nothing was loaded.
    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.trajectories.is_empty()
    }

    /// The metrics of the stored verdicts of everything loaded, as JSON ([`cir_record::Metrics`]).
    pub fn metrics(&self) -> Result<String, String> {
        serde_json::to_string(&metrics(&self.trajectories)).map_err(|e| e.to_string())
    }
}

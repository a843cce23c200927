//! `cir-web`: the verifier and the trajectory types for the browser (and Node), through wasm-bindgen.
//!
//! A thin layer over [`cir_verify`] and [`cir_record`]: `verify(pred, gold)` returns the record's verdict
//! (`{equivalent, reason}`) as JSON; `extractAnswer(text)` returns the final answer or `undefined`; a [`Loader`] reads
//! a trajectory file line by line (schema checked, each trajectory re-graded) and computes the file's metrics, overall
//! and per value of each metadata field (`subject`, `level`, …). Structured results cross the boundary as JSON strings
//! (one `JSON.parse` on the JS side, no extra binding crate). Build with
//! `cargo build --release -p cir-web --target wasm32-unknown-unknown` and `wasm-bindgen --target web` (browser) or
//! `--target nodejs` (tests).
//!
//! ```
//! let v: serde_json::Value = serde_json::from_str(&cir_web::verify("\\boxed{\\frac12}", "0.5")).unwrap();
//! assert_eq!((v["equivalent"].as_bool(), v["reason"].as_str()), (Some(true), Some("equal: exact")));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use error::Error;
pub use trajectories::{Row, breakdowns, metrics, parse_line, regrade};
use wasm_bindgen::prelude::wasm_bindgen;

mod error;
pub mod trajectories;

/// Verifies a prediction (bare answer or whole response) against a gold answer, with the default options; returns
/// the record's verdict as JSON (`{"equivalent": bool, "reason": string}`), the form trajectories store.
#[wasm_bindgen]
pub fn verify(pred: &str, gold: &str) -> String {
    serde_json::to_string(&cir_record::Verdict::from(cir_verify::verify(pred, gold))).unwrap_or_default()
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

    /// The same metrics per value of each metadata field of what was loaded, as a JSON array of
    /// [`cir_record::Breakdown`] (empty when no trajectory has metadata).
    pub fn breakdowns(&self) -> Result<String, String> {
        serde_json::to_string(&breakdowns(&self.trajectories)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_keeps_good_lines_and_reports_bad_ones() {
        let good = r#"{"schema":1,"dataset":"d","problem_id":"p","sample":0,"prompt":"","gold":"5","segments":[{"kind":"text","text":"\\boxed{5}"}],"finish":"stop","tool_calls":0,"answer":"5","verdict":{"equivalent":true,"reason":"equal: exact"}}"#;
        let mut loader = Loader::new();
        let row = loader.push_line(good).unwrap();
        assert!(row.contains(r#""regrade":{"equivalent":true"#) && row.contains(r#""changed":false"#), "{row}");
        assert_eq!(
            loader.push_line(r#"{"schema":7}"#).unwrap_err(),
            "unknown schema version 7 (this viewer reads versions 1 to 2)"
        );
        assert_eq!(loader.len(), 1);
        let metrics = loader.metrics().unwrap();
        assert!(
            metrics.contains(r#""overall":{"dataset":"overall","problems":1,"samples":1,"n":1,"avg":1.0"#),
            "{metrics}"
        );
    }
}

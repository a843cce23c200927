//! The native module `cir._cir` of the Python package `cir`: a thin PyO3 layer over `cir-verify` (verify,
//! extract_answer, verify_batch → [`verify::Verdict`]) and `cir-runtime` ([`sandbox::Sandbox`],
//! [`sandbox::Session`] → [`sandbox::Execution`]). It converts arguments and results and releases the GIL around
//! the Rust calls; it has no logic of its own. The pure-Python modules `cir.math_verify` and `cir.rewards` sit on
//! top of it (`python/cir/`).
#![deny(missing_docs)]

use pyo3::prelude::*;

mod sandbox;
mod verify;

/// cir's answer verifier and Python sandbox (native part; import `cir`, not `cir._cir`).
#[pymodule]
fn _cir(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify::verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify::extract_answer, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_batch, m)?)?;
    m.add_class::<verify::Verdict>()?;
    m.add_class::<sandbox::Sandbox>()?;
    m.add_class::<sandbox::Session>()?;
    m.add_class::<sandbox::Execution>()?;
    m.add("VERIFY_OPTIONS", pyo3::types::PyTuple::new(m.py(), verify::OPTION_NAMES)?)?;
    m.add("MAX_INPUT_LEN", cir_verify::MAX_INPUT_LEN)?;
    m.add("MAX_ANSWER_LEN", cir_verify::MAX_ANSWER_LEN)?;
    m.add("MAX_DEPTH", cir_verify::MAX_DEPTH)?;
    Ok(())
}

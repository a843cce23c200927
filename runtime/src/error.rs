//! Host-side failures. Every guest outcome — an exception, a limit — is an `Ok(Execution)` with its status instead.

/// Why the sandbox refused an input or could not run it. Each variant says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The interpreter could not be fetched, verified, snapshotted or compiled.
    #[error("preparing the Python interpreter failed: {0} (`cir-eval setup` retries and shows progress)")]
    Prepare(#[from] cir_python_wasm::Error),
    /// The code is empty or only whitespace.
    #[error("the code is empty: nothing to run")]
    EmptyCode,
    /// The code is longer than the code-size limit.
    #[error("the code is {len} bytes, over the {limit}-byte limit (raise Limits::code_bytes to allow it)")]
    CodeTooLarge {
        /// The code's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The standard input is longer than the code-size limit.
    #[error("the standard input is {len} bytes, over the {limit}-byte limit (raise Limits::code_bytes to allow it)")]
    StdinTooLarge {
        /// The input's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The code contains a NUL byte, which Python source cannot.
    #[error("the code contains a NUL byte at offset {offset}: Python source cannot contain one")]
    NulByte {
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// The per-execution scratch folder could not be made.
    #[error("creating the guest's /tmp at {path}: {source} (check the host's temporary folder)")]
    Scratch {
        /// The folder.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// wasmtime failed on the host side (not a guest trap).
    #[error("{stage}: {reason}")]
    Wasm {
        /// What was being done.
        stage: &'static str,
        /// wasmtime's account.
        reason: String,
    },
    /// The session's interpreter was stopped by an earlier limit or trap; open a new session.
    #[error("the session ended after an earlier execution stopped with status {0}; open a new session")]
    SessionEnded(cir_record::Status),
    /// A thread (the deadline ticker or a pool worker) could not be started.
    #[error("starting a thread: {0} (the process may be out of threads or memory)")]
    Thread(std::io::Error),
    /// The pool was shut down, or a worker died, before the execution ran.
    #[error("the execution pool is closed")]
    PoolClosed,
}

impl Error {
    pub(crate) fn wasm(stage: &'static str) -> impl FnOnce(wasmtime::Error) -> Error {
        move |e| Error::Wasm { stage, reason: format!("{e:#}") }
    }
}

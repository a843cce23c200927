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
    /// A file of the interpreter's stdlib could not be read when the sandbox was built.
    #[error("reading the interpreter's stdlib at {path}: {source} (`cir-eval setup` prepares it again)")]
    Stdlib {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file of [`Input::files`](crate::Input::files) could not be placed in the guest's `/tmp`.
    #[error("placing the file {path:?} in the guest's /tmp: {reason}")]
    File {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
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
    /// The pool was shut down, or a worker died, before the job ran.
    #[error("the execution pool is closed")]
    PoolClosed,
    /// Every place in the queue is taken ([`Queue::try_submit`](crate::Queue::try_submit)); retry later.
    #[error("the queue is full: all {capacity} places are taken; retry later")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}

impl Error {
    pub(crate) fn wasm(stage: &'static str) -> impl FnOnce(wasmtime::Error) -> Error {
        move |e| Error::Wasm { stage, reason: format!("{e:#}") }
    }
}

//! The cir-eval library's error type.

use std::path::PathBuf;

/// What went wrong, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A dataset or a template cannot be used.
    #[error(transparent)]
    Data(#[from] cir_data::Error),
    /// Sampling or protocol settings out of range.
    #[error(transparent)]
    Protocol(#[from] cir_rollout::Error),
    /// A trajectory file holds a line that is not a trajectory this build reads.
    #[error("{path} line {line}: not a cir trajectory (schema {schema}): {message}")]
    Trajectory {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The schema version this build reads.
        schema: u32,
        /// What is wrong.
        message: String,
    },
    /// The model server could not be reached (connection refused, DNS, timeout, TLS).
    #[error("cannot reach the model server at {endpoint}: {message} (is it running, and is the URL right?)")]
    Unreachable {
        /// The endpoint's base URL.
        endpoint: String,
        /// The transport error.
        message: String,
    },
    /// The server answered with an error status.
    #[error("the model server at {endpoint} answered HTTP {status}: {body}")]
    Status {
        /// The endpoint's base URL.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body (the server's explanation).
        body: String,
    },
    /// The server's reply is not the OpenAI-compatible JSON expected.
    #[error("the model server at {endpoint} sent a malformed reply: {message}")]
    MalformedReply {
        /// The endpoint's base URL.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },
    /// Every attempt of a request failed; the last error says why.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<Error>,
    },
    /// The sandbox could not be prepared.
    #[error(transparent)]
    Sandbox(#[from] cir_runtime::Error),
    /// The HTTP server could not start: the address is taken or not allowed, or a thread or signal handler could
    /// not be set up.
    #[error("{what}: {source}")]
    Serve {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
}

impl Error {
    /// True for a 400 that says the prompt and the requested tokens pass the model's context length (vLLM, SGLang and
    /// OpenAI all word it "maximum context length").
    pub fn is_context_overflow(&self) -> bool {
        match self {
            Error::Status { status: 400, body, .. } => body.to_ascii_lowercase().contains("maximum context length"),
            _ => false,
        }
    }

    /// True for failures worth retrying on another endpoint or later: transport errors, 408, 429, 5xx and malformed
    /// replies (a proxy's error page, a server restarting). A 4xx means the request itself is wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::MalformedReply { .. } => true,
            Error::Status { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }
}

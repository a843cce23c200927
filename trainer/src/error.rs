//! The crate's one error type.

use std::path::PathBuf;

/// What went wrong while loading, running or serving a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file (config, safetensors header, index) is malformed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The checkpoint is of an architecture this crate does not implement.
    #[error(
        "unsupported architecture {0:?}: supported are Qwen2ForCausalLM, Qwen3ForCausalLM, LlamaForCausalLM (and GGUF `llama`)"
    )]
    UnsupportedArchitecture(String),
    /// The config lacks a field or has an impossible value.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A weight the architecture needs is absent from the checkpoint.
    #[error("tensor {0:?} is missing from the checkpoint (is it the right architecture / a complete download?)")]
    MissingTensor(String),
    /// A weight has another shape than the config implies.
    #[error("tensor {name:?} has shape {found:?}, the config implies {expected:?}")]
    ShapeMismatch {
        /// The tensor's name in the checkpoint.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A weight is stored in a dtype this loader does not convert.
    #[error("tensor {name:?} has unsupported dtype {dtype} (supported: F32, F16, BF16; GGUF: F32, F16, Q4_1, Q8_0)")]
    UnsupportedDtype {
        /// The tensor's name.
        name: String,
        /// The dtype as the file names it.
        dtype: String,
    },
    /// A safetensors or GGUF file is truncated or inconsistent.
    #[error("{path}: malformed file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer could not be loaded, or failed on some text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A device was requested whose cargo feature is not compiled in.
    #[error("device {device:?} needs the cargo feature `{feature}`: rebuild with `--features {feature}`")]
    DeviceNotCompiled {
        /// The requested device.
        device: String,
        /// The feature to enable.
        feature: &'static str,
    },
    /// A tensor could not be read back from the device.
    #[error("reading a tensor back from the device failed: {0}")]
    Device(String),
    /// The HTTP server could not start.
    #[error("server: {0}")]
    Server(String),
    /// Sampling parameters are out of range.
    #[error("invalid sampling parameters: {0}")]
    Sampling(String),
    /// A built-in model's weights could not be fetched or verified.
    #[error(transparent)]
    Fetch(#[from] cir_fetch::Error),
    /// The RL objective's input is malformed (ragged arrays, a length that does not match, a value that is not
    /// finite, an unknown estimator or aggregation name, clip bounds out of range).
    #[error("invalid objective input: {0}")]
    Objective(String),
    /// A model name that is neither a path nor a built-in model.
    #[error("{name:?} is not a file or folder, nor a built-in model (built in: {known})")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The built-in names.
        known: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format { path: path.into(), message: message.into() }
    }
}

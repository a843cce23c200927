//! The data crate's errors.

use std::path::PathBuf;

/// What went wrong reading a problem source or a template, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A dataset cannot be used as a whole (empty, no line with the field, unknown format or built-in name).
    #[error("dataset {path}: {message}")]
    Dataset {
        /// The dataset file or name.
        path: PathBuf,
        /// What is wrong and what to pass instead.
        message: String,
    },
    /// A prompt template cannot be used.
    #[error("template {name}: {message}")]
    Template {
        /// The template's name or path.
        name: String,
        /// What is wrong.
        message: String,
    },
}

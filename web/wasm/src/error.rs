//! Errors of reading a trajectory line.

/// Why one line of a trajectory file could not be read. Each message names what was wrong so the viewer can show it
/// beside the line number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The line is not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(serde_json::Error),
    /// The object has no integer `schema` field.
    #[error("no `schema` field: not a cir trajectory")]
    NoSchema,
    /// The object's `schema` is a version this viewer does not read.
    #[error("unknown schema version {found} (this viewer reads versions 1 to {expected})")]
    Schema {
        /// The version in the line.
        found: u64,
        /// The version this build reads.
        expected: u32,
    },
    /// The object has the right version but a field is missing or of the wrong type.
    #[error("invalid trajectory: {0}")]
    Invalid(serde_json::Error),
}

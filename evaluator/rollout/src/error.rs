//! The protocol crate's errors.

/// What went wrong in the protocol's own checks, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tool-budget schedule that does not parse.
    #[error("tool budget {spec:?}: {why}")]
    Budget {
        /// The schedule as given.
        spec: String,
        /// What is wrong with it.
        why: String,
    },
    /// Sampling settings out of range.
    #[error("{0}")]
    Sampling(String),
}

/// Why a policy could not continue a turn. A failed turn ends its sample (finish `error`, or `length` for a full
/// context); the run goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The model's context cannot hold the request: the trajectory ran out of room, as with `length`.
    #[error("the model's context is full")]
    ContextFull,
    /// Anything else (server unreachable, an HTTP error, a malformed reply, a device error), with its message.
    #[error("{0}")]
    Failed(String),
}

/// Checks sampling settings once for every policy: `temperature` ≥ 0 and finite (0 is greedy), `top_p` in (0, 1].
///
/// # Errors
/// [`Error::Sampling`] naming the bad value.
pub fn check_sampling(temperature: f64, top_p: f64) -> Result<(), Error> {
    if !(temperature >= 0.0 && temperature.is_finite()) {
        return Err(Error::Sampling(format!("temperature {temperature} must be a number ≥ 0 (0 is greedy)")));
    }
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(Error::Sampling(format!("top-p {top_p} must be in (0, 1]")));
    }
    Ok(())
}

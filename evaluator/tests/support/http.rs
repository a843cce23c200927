//! The HTTP client that the server's tests and load bench share.

use std::time::Duration;

/// A ureq agent that returns every status as a reply (no error for 4xx/5xx), with a generous overall timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

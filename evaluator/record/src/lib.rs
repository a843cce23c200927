//! Record types shared by every part of cir, and nothing else: pure serde, no I/O, builds for
//! `wasm32-unknown-unknown`.
//!
//! - [`Execution`]: what running one code block in the sandbox produced, with its [`Status`].
//! - [`feedback`]: the exact text appended to a trajectory after a code block (CIR-METHOD §1).
//! - [`Trajectory`]: one sampled solution with its [`Segment`]s, verdict and timings — the versioned JSONL schema
//!   every part of cir reads and writes (documented in [`trajectory`]).
//! - [`Metrics`]: avg@n, pass@k, maj@k, greedy accuracy, tool and error-feedback statistics over graded
//!   trajectories, per dataset and per value of a field of the dataset line ([`Breakdown`]); [`Comparison`]: several
//!   runs side by side; [`LengthHistogram`]: their response lengths.
//!
//! ```
//! use cir_record::{Execution, Status};
//!
//! let run = Execution { stdout: "2\n".into(), ..Execution::new(Status::Ok) };
//! assert_eq!(run.feedback(), "\n```output\n2\n```\n");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use execution::{ErrorKind, Execution, FEEDBACK_LIMIT, Status, feedback, feedback_after, truncate_middle};
pub use metrics::{
    AtK, Breakdown, Comparison, DatasetMetrics, ErrorFeedback, ErrorGroup, LengthHistogram, LengthSeries, Metrics,
    ToolStats, pass_at_k,
};
pub use trajectory::{
    Finish, MetaValue, SCHEMA_VERSION, Sampling, Segment, Timing, TokenView, Trajectory, Usage, Verdict,
    is_readable_schema,
};

mod execution;
pub mod metrics;
pub mod trajectory;

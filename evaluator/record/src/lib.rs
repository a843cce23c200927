//! Record types shared by every part of cir, and nothing else: pure serde, no I/O, builds for
//! `wasm32-unknown-unknown`.
//!
//! - [`Execution`]: what running one code block in the sandbox produced, with its [`Status`].
//! - [`feedback`]: the exact text appended to a trajectory after a code block (CIR-METHOD §1).
//! - [`Trajectory`]: one sampled solution with its [`Segment`]s, verdict and timings — the versioned JSONL schema
//!   every part of cir reads and writes (documented in [`trajectory`]).
//! - [`Metrics`]: avg@n, pass@k, maj@k, greedy accuracy and tool statistics over graded trajectories.
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

pub use execution::{Execution, FEEDBACK_LIMIT, Status, feedback, feedback_after, truncate_middle};
pub use metrics::{AtK, DatasetMetrics, Metrics, ToolStats, pass_at_k};
pub use trajectory::{
    Finish, SCHEMA_VERSION, Sampling, Segment, Timing, TokenView, Trajectory, Usage, Verdict, is_readable_schema,
};

mod execution;
pub mod metrics;
pub mod trajectory;

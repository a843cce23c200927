//! `cir-data`: where problems come from and how they become prompts — shared by `cir-eval run` and `cir-train`.
//!
//! - [`Dataset`]: a JSONL benchmark (the reference's files load as they are), the training format's Parquet (chat
//!   `prompt`, `reward_model.ground_truth`), or a built-in benchmark the project generates ([`builtin`]:
//!   `builtin:arith`, problems that need computation and have exact answers).
//! - [`Template`]: how a problem becomes a prompt (`cir-qwen-math`, `cir-qwen3`, `cir-chat`, or a file).
//! - [`Dataset::jobs`]: the loop's [`cir_rollout::Job`]s for `n` samples of every problem.
//!
//! ```
//! use cir_data::{Dataset, Template};
//! use cir_rollout::Verifier;
//!
//! let arith = Dataset::open("builtin:arith", &Default::default(), &Verifier::default()).unwrap();
//! assert_eq!(arith.name, "arith");
//! let template = Template::resolve("cir-qwen-math").unwrap();
//! let jobs = arith.jobs(&template, 2);
//! assert_eq!(jobs.len(), 2 * arith.problems.len());
//! assert!(jobs[0].prompt.ends_with(&arith.problems[0].text));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use dataset::{Dataset, Fields, Problem};
pub use error::Error;
pub use template::{Api, CIR_INSTRUCTION, Template};

pub mod builtin;

mod dataset;
mod error;
mod template;

//! `cir-eval`: the library behind the `cir-eval` command — the code-integrated evaluation loop.
//!
//! - [`Dataset`]/[`Problem`]: JSONL benchmarks; [`Template`]: how a problem becomes a prompt.
//! - [`Client`]: a blocking OpenAI-compatible client with retries and round-robin endpoints.
//! - [`Rollout`]: the tool loop for one sample — generate until a code block closes, run it through a
//!   [`CodeRunner`], append the feedback, repeat within the tool budget, grade with a [`Grader`].
//! - [`run::run`], [`score::score`], [`report::render`]: the `run`, `score` and `report` subcommands.
//!
//! - [`view`]: the `view` subcommand, the browser viewer served on localhost.
//! - [`serve`]: the `serve` subcommand, the sandbox and the verifier over HTTP (SandboxFusion-compatible).
//!
//! Trajectories and metrics are the [`cir_record`] types.
//!
//! ```
//! use cir_eval::{Grader, Verifier, Template};
//!
//! let prompt = Template::resolve("cir-qwen-math").unwrap().render("What is 2+3?");
//! assert!(prompt.ends_with("\\boxed{}.\nWhat is 2+3?"));
//! let (answer, verdict) = Verifier::default().grade("so \\boxed{5}", "5");
//! assert_eq!((answer.as_deref(), verdict.equivalent), (Some("5"), true));
//! ```
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use client::{Client, ClientConfig};
pub use dataset::{Dataset, Fields, Problem};
pub use error::Error;
pub use grader::{Grader, Verifier};
pub use rollout::{CODE_STOP, Rollout, RolloutConfig, sample_seed};
pub use runner::{CodeRunner, CodeSession, RunnerError};
pub use template::{Api, Template};

pub mod client;
pub mod exec;
pub mod grade;
pub mod report;
pub mod rollout;
pub mod run;
pub mod score;
pub mod serve;
pub mod setup;
pub mod trajectories;
pub mod view;

mod dataset;
mod error;
mod grader;
mod runner;
mod sandbox;
mod template;

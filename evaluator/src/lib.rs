//! `cir-eval`: the library behind the `cir-eval` command — evaluation on the one interaction loop
//! ([`cir_rollout::Loop`]).
//!
//! - [`EndpointPolicy`] over a [`Client`]: an OpenAI-compatible server as the loop's policy (the in-process burn
//!   model is `cir_trainer::LocalPolicy`).
//! - [`run::run`], [`score::score`], [`report::render`], [`replay::replay`]: the `run`, `score`, `report` and
//!   `replay` subcommands.
//! - [`view`]: the `view` subcommand, the browser viewer served on localhost.
//! - [`serve`]: the `serve` subcommand, the sandbox and the verifier over HTTP (SandboxFusion-compatible).
//!
//! Problems and prompts are [`cir_data`]'s, trajectories and metrics [`cir_record`]'s, the protocol
//! [`cir_rollout`]'s.
//!
//! ```
//! use cir_data::Template;
//! use cir_rollout::{Grader, Verifier};
//!
//! let prompt = Template::resolve("cir-qwen-math").unwrap().render("What is 2+3?");
//! assert!(prompt.ends_with("\\boxed{}.\nWhat is 2+3?"));
//! let (answer, verdict) = Verifier::default().grade("so \\boxed{5}", "5");
//! assert_eq!((answer.as_deref(), verdict.equivalent), (Some("5"), true));
//! ```
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use client::{Client, ClientConfig};
pub use endpoint::EndpointPolicy;
pub use error::Error;

pub mod client;
pub mod grade;
pub mod replay;
pub mod report;
pub mod run;
pub mod score;
pub mod serve;
pub mod trajectories;
pub mod view;

mod endpoint;
mod error;

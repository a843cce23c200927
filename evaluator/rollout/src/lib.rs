//! `cir-rollout`: the code-integrated reasoning protocol, once, for evaluation and training alike.
//!
//! - [`find_block`]: the fence rule — where a tool call opens and closes ([`fence`]).
//! - [`Loop`]: the interaction loop over a set of [`Job`]s — a batched [`Policy`] continues each context until a
//!   closed code block, the code runs through a [`CodeRunner`], its feedback (`cir_record::feedback`, joined by
//!   [`cir_record::feedback_after`]) is appended, and so on within the tool budget; a [`Grader`] grades the result.
//!   Every sample becomes a [`cir_record::Trajectory`], token-exact when the policy reports token ids.
//! - [`ToolBudget`]: a fixed budget or a schedule over training steps (`2@0,3@100,4@200`).
//! - [`replay_one`]: run a stored trajectory's code blocks again and report every output that differs.
//!
//! The crate holds no I/O of its own: no HTTP, no model, no sandbox. `cir-eval` drives it with an OpenAI-compatible
//! HTTP policy or the burn model in-process, `cir-trainer` with the burn model; both run code in `cir-runtime`.
//!
//! ```
//! use cir_rollout::{
//!     CodeRunner, CodeSession, Generation, Job, Loop, Policy, PolicyError, PolicyInfo, RunnerError, Schedule,
//!     Settings, Stop, Turn, Verifier,
//! };
//! use cir_record::{Execution, Status};
//!
//! /// A policy that writes one code block, then answers from the feedback.
//! struct Scripted;
//! impl Policy for Scripted {
//!     fn schedule(&self) -> Schedule { Schedule::Independent { concurrency: 1 } }
//!     fn info(&self) -> PolicyInfo {
//!         PolicyInfo { model: "scripted".into(), endpoint_kind: "completions".into(), policy: "local".into() }
//!     }
//!     fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<Generation, PolicyError>> {
//!         turns.iter().map(|t| Ok(if t.response.is_empty() {
//!             Generation::text("```python\nprint(6 * 7)\n```", Stop::Fence)
//!         } else {
//!             Generation::text("So \\boxed{42}.", Stop::Eos)
//!         })).collect()
//!     }
//! }
//! /// A runner that "runs" every block by printing 42.
//! struct FortyTwo;
//! impl CodeRunner for FortyTwo {
//!     type Session = NoSession;
//!     fn exec(&self, _: &str, _: u64) -> Result<Execution, RunnerError> {
//!         Ok(Execution { stdout: "42\n".into(), ..Execution::new(Status::Ok) })
//!     }
//!     fn session(&self, _: u64) -> Result<NoSession, RunnerError> { Err("stateless".into()) }
//! }
//! struct NoSession;
//! impl CodeSession for NoSession {
//!     fn exec(&mut self, _: &str) -> Result<Execution, RunnerError> { Err("stateless".into()) }
//!     fn is_open(&self) -> bool { false }
//! }
//!
//! let jobs = [Job::new("toy", "0", 0, "What is 6 times 7?\n", "42")];
//! let settings = Settings::default();
//! let mut out = Vec::new();
//! Loop::new(&Scripted, &FortyTwo, &Verifier::default(), &settings).run(&jobs, &mut |t| { out.push(t); true });
//! assert_eq!(out[0].response_text(), "```python\nprint(6 * 7)\n```\n```output\n42\n```\nSo \\boxed{42}.");
//! assert!(out[0].is_correct());
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;

use cir_record::MetaValue;

pub use budget::ToolBudget;
pub use driver::Loop;
pub use error::{Error, PolicyError, check_sampling};
pub use fence::{Block, CODE_STOP, OPEN, ends_inside_block, find_block};
pub use grader::{Grader, Verifier};
pub use policy::{Generation, Policy, PolicyInfo, Sampled, Schedule, Stop, Timed, Turn};
pub use replay::{Difference, replay_one};
pub use runner::{CodeRunner, CodeSession, RunnerError};
pub use sample::{MAX_TURNS, execute};

pub mod fence;
pub mod replay;

mod budget;
mod driver;
mod error;
mod grader;
mod policy;
mod runner;
mod sample;

/// One sample to generate: which problem, which sample index, the prompt, the gold answer, and the dataset line's
/// metadata that the trajectory keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Dataset name.
    pub dataset: String,
    /// Problem id within the dataset.
    pub problem_id: String,
    /// Sample index within the problem.
    pub sample: u32,
    /// The prompt text, rendered by the template (or the dataset's own prompt).
    pub prompt: String,
    /// The gold answer as graded.
    pub gold: String,
    /// The dataset line's own metadata (`subject`, `level`, …), copied into the trajectory's `meta`; empty by
    /// default.
    pub meta: BTreeMap<String, MetaValue>,
}

impl Job {
    /// A job without metadata.
    pub fn new(dataset: &str, problem_id: &str, sample: u32, prompt: &str, gold: &str) -> Job {
        Job {
            dataset: dataset.to_owned(),
            problem_id: problem_id.to_owned(),
            sample,
            prompt: prompt.to_owned(),
            gold: gold.to_owned(),
            meta: BTreeMap::new(),
        }
    }

    /// The same job with the dataset line's metadata.
    pub fn with_meta(self, meta: BTreeMap<String, MetaValue>) -> Job {
        Job { meta, ..self }
    }
}

/// Sampling and protocol settings shared by every sample of a run. The defaults are the reference's evaluation
/// settings (CIR-METHOD §1, §4).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Sampling temperature; default 1.0; 0 is greedy.
    pub temperature: f64,
    /// Nucleus mass; default 0.95 (evaluation), training uses 1.0.
    pub top_p: f64,
    /// New tokens across all turns of a trajectory (tool output not counted); default 16384.
    pub max_tokens: u64,
    /// Most tool calls per trajectory; default 5 (evaluation). Training takes it from a [`ToolBudget`] per step.
    pub tool_budget: u32,
    /// One interpreter per trajectory instead of one per block; default off (the reference).
    pub stateful: bool,
    /// The model's context length (prompt + everything after it); default none. When set, each turn asks for at most
    /// what still fits (exact in token mode; from the server's counts, else one token per byte, in text mode).
    pub max_context: Option<u64>,
    /// Run seed; every sample derives its own from it ([`sample_seed`]).
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            temperature: 1.0,
            top_p: 0.95,
            max_tokens: 16384,
            tool_budget: 5,
            stateful: false,
            max_context: None,
            seed: 0,
        }
    }
}

/// The seed of one sample: a hash of the run seed, dataset, problem id and sample index, below 2³¹ (some servers
/// take a 32-bit signed seed). Used for sampling and for the sandbox.
pub fn sample_seed(seed: u64, dataset: &str, problem_id: &str, sample: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in dataset.bytes().chain([0xff]).chain(problem_id.bytes()).chain([0xff]).chain(sample.to_le_bytes()) {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 31)) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_seeds_differ_and_fit_31_bits() {
        let a = sample_seed(0, "d", "p", 0);
        assert_eq!(a, sample_seed(0, "d", "p", 0));
        assert_ne!(a, sample_seed(0, "d", "p", 1));
        assert_ne!(a, sample_seed(1, "d", "p", 0));
        assert_ne!(sample_seed(0, "d", "p1", 0), sample_seed(0, "dp", "1", 0));
        assert!(a < 1 << 31);
    }
}

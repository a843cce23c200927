//! Code execution: the loop runs code blocks through the [`CodeRunner`] trait, so it can use the sandbox or, in
//! tests of the loop itself, a scripted runner.

use cir_record::Execution;

/// A host-side failure to run a block (refused input such as empty or oversized code, a broken interpreter). Guest
/// failures (exceptions, limits) are not errors: they are an [`Execution`] with their status.
pub type RunnerError = Box<dyn std::error::Error + Send + Sync>;

/// Runs code blocks. Implementations are shared by every worker thread.
pub trait CodeRunner: Send + Sync {
    /// A persistent interpreter for stateful trajectories.
    type Session: CodeSession;
    /// Runs `code` in a fresh interpreter, seeded with `seed`.
    ///
    /// # Errors
    /// A [`RunnerError`] when the code is refused or the host fails.
    fn exec(&self, code: &str, seed: u64) -> Result<Execution, RunnerError>;
    /// Starts a persistent interpreter seeded with `seed`.
    ///
    /// # Errors
    /// A [`RunnerError`] when the interpreter cannot start.
    fn session(&self, seed: u64) -> Result<Self::Session, RunnerError>;
}

/// A persistent interpreter: names defined by one block are visible to the next.
pub trait CodeSession: Send {
    /// Runs `code` in this interpreter.
    ///
    /// # Errors
    /// A [`RunnerError`] when the code is refused or the host fails.
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError>;
}

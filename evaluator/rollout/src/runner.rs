//! Code execution behind a trait: the loop runs code blocks through [`CodeRunner`] — `cir-runtime`'s sandbox in
//! every real run, a scripted runner in the loop's own tests.

use cir_record::Execution;

/// A host-side failure to run a block (refused input such as empty or oversized code, a broken interpreter). Guest
/// failures (exceptions, limits) are not errors: they are an [`Execution`] with their status.
pub type RunnerError = Box<dyn std::error::Error + Send + Sync>;

/// Runs code blocks. Shared by every thread of a run.
pub trait CodeRunner: Sync {
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
    /// A [`RunnerError`] when the code is refused (the interpreter stays as it was) or the host fails.
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError>;
    /// Whether the interpreter can run another block. The runner decides it (a limit that stopped the interpreter
    /// ends it), and the loop only asks: after a closed session the next block starts a fresh interpreter, as a
    /// notebook kernel restarts.
    fn is_open(&self) -> bool;
}

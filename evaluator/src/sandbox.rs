//! The real code runner: `cir-runtime`'s sandbox (fresh WASI CPython instance per block, or a session per
//! trajectory), behind the loop's [`CodeRunner`] trait.

use cir_record::Execution;

use crate::{CodeRunner, CodeSession, RunnerError};

impl CodeRunner for cir_runtime::Sandbox {
    type Session = cir_runtime::Session;

    fn exec(&self, code: &str, seed: u64) -> Result<Execution, RunnerError> {
        Ok(cir_runtime::Sandbox::exec(self, code, seed)?)
    }

    fn session(&self, seed: u64) -> Result<cir_runtime::Session, RunnerError> {
        Ok(cir_runtime::Sandbox::session(self, seed)?)
    }
}

impl CodeSession for cir_runtime::Session {
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError> {
        Ok(cir_runtime::Session::exec(self, code)?)
    }
}

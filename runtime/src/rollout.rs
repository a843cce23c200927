//! The sandbox as the interaction loop's code runner ([`cir_rollout::CodeRunner`]): a fresh interpreter per block,
//! or a [`Session`] per trajectory in stateful mode.

use cir_record::Execution;
use cir_rollout::{CodeRunner, CodeSession, RunnerError};

use crate::{Sandbox, Session};

impl CodeRunner for Sandbox {
    type Session = Session;

    fn exec(&self, code: &str, seed: u64) -> Result<Execution, RunnerError> {
        Ok(Sandbox::exec(self, code, seed)?)
    }

    fn session(&self, seed: u64) -> Result<Session, RunnerError> {
        Ok(Sandbox::session(self, seed)?)
    }
}

impl CodeSession for Session {
    fn exec(&mut self, code: &str) -> Result<Execution, RunnerError> {
        Ok(Session::exec(self, code)?)
    }

    fn is_open(&self) -> bool {
        Session::is_open(self)
    }
}

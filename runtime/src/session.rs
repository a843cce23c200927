//! Stateful mode: one interpreter kept across executions.

use std::time::Instant;

use crate::guest::Guest;
use crate::{Error, Execution, Sandbox, Status};

/// A persistent interpreter: each [`exec`](Session::exec) runs in the same `__main__` and the same `/tmp`, as cells
/// of a notebook do. Limits apply per execution, except the `/tmp` quotas, which bound the session's files as a
/// whole. An execution stopped by a trap or limit (timeout, output limit, fuel, crash) ends the session; later calls
/// return [`Error::SessionEnded`]. `Send`; one execution at a time.
pub struct Session {
    sandbox: Sandbox,
    /// The interpreter, or the refusal every execution reports when the memory limit is below the snapshot's size.
    guest: Result<Guest, Execution>,
    ended: Option<Status>,
}

impl Session {
    pub(crate) fn new(sandbox: Sandbox, seed: u64) -> Result<Session, Error> {
        // A new instance, not a spare: a session never hands its instance back, so taking a spare would throw away
        // its twin and leave the next execution to map both again.
        let mut guest = Guest::instantiate(&sandbox.inner)?;
        if let Ok(guest) = &mut guest {
            guest.begin(&sandbox.inner, seed, Vec::new())?;
        }
        Ok(Session { sandbox, guest, ended: None })
    }

    /// Whether the interpreter can run another block: false once an execution stopped it (a timeout, the output
    /// limit, fuel, a crash, a memory limit the interpreter did not survive). The one place that decides it: the
    /// loop and `cir-eval serve` both ask here.
    pub fn is_open(&self) -> bool {
        self.ended.is_none()
    }

    /// Runs `code` in the session's interpreter.
    ///
    /// # Errors
    ///
    /// Refused input as [`Sandbox::exec`], and [`Error::SessionEnded`] after an execution that stopped the
    /// interpreter.
    pub fn exec(&mut self, code: &str) -> Result<Execution, Error> {
        if let Some(status) = self.ended {
            return Err(Error::SessionEnded(status));
        }
        self.sandbox.check(code)?;
        let (execution, stopped) = match &mut self.guest {
            Ok(guest) => guest.run(&self.sandbox.inner, code, Instant::now()),
            Err(refused) => (refused.clone(), true),
        };
        if stopped {
            self.ended = Some(execution.status);
        }
        Ok(execution)
    }
}

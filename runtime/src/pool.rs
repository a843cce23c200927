//! [`Pool`]: many executions of one sandbox on worker threads behind a bounded [`Queue`].

use crate::{Error, Queue, Sandbox, Ticket};

/// Runs executions on worker threads, each in a fresh instance. [`submit`](Pool::submit) blocks while the queue is
/// full, so a fast producer cannot queue unbounded work. Dropping the pool finishes the queued work and joins the
/// workers.
pub struct Pool {
    queue: Queue,
    sandbox: Sandbox,
}

impl Pool {
    /// A pool of `workers` threads (at least 1; pass [`default_workers`](Pool::default_workers) for the core count)
    /// with room for `queue` waiting executions (at least 1).
    pub fn new(sandbox: &Sandbox, workers: usize, queue: usize) -> Pool {
        Pool { queue: Queue::new("cir-worker", workers, queue), sandbox: sandbox.clone() }
    }

    /// The number of cores this process may use (1 when unknown): the default worker count.
    pub fn default_workers() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    /// Queues `code` to run with `seed`, blocking while the queue is full.
    ///
    /// # Errors
    ///
    /// [`Error::PoolClosed`] when no worker is left to run it.
    pub fn submit(&self, code: impl Into<String>, seed: u64) -> Result<Ticket, Error> {
        let (code, sandbox) = (code.into(), self.sandbox.clone());
        self.queue.submit(move || sandbox.exec(&code, seed))
    }
}

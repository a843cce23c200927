//! Many executions on worker threads behind a bounded queue.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::{Error, Execution, Sandbox};

struct Job {
    code: String,
    seed: u64,
    reply: Sender<Result<Execution, Error>>,
}

/// Runs executions on `workers` threads, each in a fresh instance. [`submit`](Pool::submit) blocks while the queue is
/// full, so a fast producer cannot queue unbounded work. Dropping the pool finishes the queued work and joins the
/// workers.
pub struct Pool {
    queue: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

/// The pending result of one submitted execution.
pub struct Ticket(Receiver<Result<Execution, Error>>);

impl Ticket {
    /// Blocks until the execution finished.
    ///
    /// # Errors
    ///
    /// The execution's own error, or [`Error::PoolClosed`] when its worker is gone.
    pub fn wait(self) -> Result<Execution, Error> {
        self.0.recv().unwrap_or(Err(Error::PoolClosed))
    }
}

impl Pool {
    /// A pool of `workers` threads (at least 1; pass [`default_workers`](Pool::default_workers) for the core count)
    /// with room for `queue` waiting executions (at least 1).
    pub fn new(sandbox: &Sandbox, workers: usize, queue: usize) -> Pool {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..workers.max(1))
            .filter_map(|i| {
                let rx = Arc::clone(&rx);
                let sandbox = sandbox.clone();
                std::thread::Builder::new()
                    .name(format!("cir-worker-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                            let Ok(job) = job else { break };
                            let _ = job.reply.send(sandbox.exec(&job.code, job.seed));
                        }
                    })
                    .ok()
            })
            .collect();
        Pool { queue: Some(tx), workers }
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
        let (reply, rx) = mpsc::channel();
        let queue = self.queue.as_ref().ok_or(Error::PoolClosed)?;
        queue.send(Job { code: code.into(), seed, reply }).map_err(|_| Error::PoolClosed)?;
        Ok(Ticket(rx))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.queue = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

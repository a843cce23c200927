//! [`Queue`]: worker threads that run jobs from a bounded queue, the one job queue of cir (the [`Pool`] of
//! executions and `cir-eval serve` both run on it).
//!
//! [`Pool`]: crate::Pool

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Error, Execution};

type Job = Box<dyn FnOnce() + Send>;

/// `workers` threads taking jobs (closures) from a queue with room for `capacity` waiting ones. [`submit`] blocks
/// while the queue is full, so a fast producer cannot queue unbounded work; [`try_submit`] refuses at once instead
/// (a server answers "busy, retry" rather than holding the request). Dropping the queue finishes the queued jobs and
/// joins the workers.
///
/// [`submit`]: Queue::submit
/// [`try_submit`]: Queue::try_submit
pub struct Queue {
    sender: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    counts: Arc<Counts>,
    capacity: usize,
    worker_count: usize,
}

#[derive(Default)]
struct Counts {
    /// Jobs queued and not yet started.
    waiting: AtomicUsize,
    /// Jobs queued or running.
    in_flight: AtomicUsize,
}

/// Takes a job off the counts when its worker is done with it, even when the job panicked.
struct Done(Arc<Counts>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pending result of one submitted job.
#[must_use = "a ticket is the only way to the job's result"]
pub struct Ticket<T = Execution>(Receiver<Result<T, Error>>);

impl<T> Ticket<T> {
    /// Blocks until the job finished.
    ///
    /// # Errors
    ///
    /// The job's own error, or [`Error::PoolClosed`] when its worker is gone (the queue closed before the job ran,
    /// or the job panicked).
    pub fn wait(self) -> Result<T, Error> {
        self.0.recv().unwrap_or(Err(Error::PoolClosed))
    }
}

impl Queue {
    /// A queue of `workers` threads (at least 1) named `{name}-{i}`, with room for `capacity` waiting jobs (at
    /// least 1). A thread that cannot be started is left out ([`workers`](Self::workers) says how many run).
    pub fn new(name: &str, workers: usize, capacity: usize) -> Queue {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(capacity);
        let rx = Arc::new(Mutex::new(rx));
        let handles: Vec<_> = (0..workers.max(1))
            .filter_map(|i| {
                let rx = Arc::clone(&rx);
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                            let Ok(job) = job else { break };
                            job();
                        }
                    })
                    .ok()
            })
            .collect();
        Queue {
            worker_count: handles.len(),
            sender: Mutex::new(Some(tx)),
            workers: Mutex::new(handles),
            counts: Arc::default(),
            capacity,
        }
    }

    /// Queues `job`, blocking while the queue is full.
    ///
    /// # Errors
    ///
    /// [`Error::PoolClosed`] when the queue was closed or no worker is left to run it.
    pub fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<Ticket<T>, Error> {
        let (job, ticket) = self.wrap(job);
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match sender.map(|s| s.send(job)) {
            Some(Ok(())) => Ok(ticket),
            _ => Err(self.refused(Error::PoolClosed)),
        }
    }

    /// Queues `job` when there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`Error::QueueFull`] when every place is taken, [`Error::PoolClosed`] as [`submit`](Self::submit).
    pub fn try_submit<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<Ticket<T>, Error> {
        let (job, ticket) = self.wrap(job);
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match sender.map(|s| s.try_send(job)) {
            Some(Ok(())) => Ok(ticket),
            Some(Err(TrySendError::Full(_))) => Err(self.refused(Error::QueueFull { capacity: self.capacity })),
            _ => Err(self.refused(Error::PoolClosed)),
        }
    }

    /// Counts `job` in and wraps it to count itself out and send its result to its ticket.
    fn wrap<T: Send + 'static>(&self, job: impl FnOnce() -> Result<T, Error> + Send + 'static) -> (Job, Ticket<T>) {
        let (reply, rx) = mpsc::channel();
        let counts = Arc::clone(&self.counts);
        counts.waiting.fetch_add(1, Ordering::Relaxed);
        counts.in_flight.fetch_add(1, Ordering::Relaxed);
        let job: Job = Box::new(move || {
            counts.waiting.fetch_sub(1, Ordering::Relaxed);
            // Counted out before the result is sent (a caller that has it sees the job gone), and when it panics.
            let done = Done(counts);
            let result = job();
            drop(done);
            let _ = reply.send(result);
        });
        (job, Ticket(rx))
    }

    /// Counts a job that was not queued back out.
    fn refused(&self, error: Error) -> Error {
        self.counts.waiting.fetch_sub(1, Ordering::Relaxed);
        self.counts.in_flight.fetch_sub(1, Ordering::Relaxed);
        error
    }

    /// Jobs waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.counts.waiting.load(Ordering::Relaxed)
    }

    /// Jobs queued or running.
    pub fn in_flight(&self) -> usize {
        self.counts.in_flight.load(Ordering::Relaxed)
    }

    /// Places for waiting jobs.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Worker threads running.
    pub fn workers(&self) -> usize {
        self.worker_count
    }

    /// Stops taking jobs, lets the workers finish the queued ones and joins them, waiting at most until `deadline`.
    /// Returns false when work was still running at the deadline (those workers are left to finish on their own).
    pub fn close(&self, deadline: Instant) -> bool {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        while Instant::now() < deadline && workers.iter().any(|w| !w.is_finished()) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let done = workers.iter().all(JoinHandle::is_finished);
        if done {
            for w in workers.drain(..) {
                let _ = w.join();
            }
        }
        done
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
        for worker in self.workers.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn try_submit_refuses_when_full_and_counts_stay_exact() {
        let queue = Queue::new("test", 1, 1);
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let running = queue
            .try_submit(move || {
                started_tx.send(()).map_err(|_| Error::PoolClosed)?;
                gate.recv().map_err(|_| Error::PoolClosed)
            })
            .expect("a worker is free");
        started.recv().expect("the first job started");
        let queued = queue.try_submit(|| Ok(7)).expect("one place in the queue");
        assert_eq!((queue.waiting(), queue.in_flight()), (1, 2));
        assert!(matches!(queue.try_submit(|| Ok(8)), Err(Error::QueueFull { capacity: 1 })));
        assert_eq!((queue.waiting(), queue.in_flight()), (1, 2), "a refused job is not counted");
        release.send(()).expect("the job waits");
        running.wait().expect("the first job ran");
        assert_eq!(queued.wait().expect("the second job ran"), 7);
        assert!(queue.close(Instant::now() + Duration::from_secs(5)));
        assert_eq!(queue.in_flight(), 0);
        assert!(matches!(queue.try_submit(|| Ok(9)), Err(Error::PoolClosed)));
        assert!(matches!(queue.submit(|| Ok(9)), Err(Error::PoolClosed)));
    }

    #[test]
    fn a_job_that_panics_loses_its_ticket_not_the_count() {
        let queue = Queue::new("test", 2, 2);
        let lost = queue.submit(|| -> Result<(), Error> { panic!("job bug") }).expect("queued");
        assert!(matches!(lost.wait(), Err(Error::PoolClosed)));
        let fine = queue.submit(|| Ok("ran")).expect("queued");
        assert_eq!(fine.wait().expect("the other worker runs it"), "ran");
        assert_eq!(queue.in_flight(), 0);
    }
}

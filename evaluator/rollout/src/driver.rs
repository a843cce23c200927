//! The driver: runs every job through the sample state machine, feeding the policy as its [`Schedule`] asks and
//! running code blocks on the runner.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use cir_record::Trajectory;

use crate::sample::{Next, SampleRun};
use crate::{CodeRunner, Grader, Job, Policy, PolicyError, Schedule, Settings, Turn};

/// The interaction loop over a set of jobs: one policy, one code runner, one grader, one set of settings.
pub struct Loop<'a, P: Policy + ?Sized, R: CodeRunner, G: Grader + ?Sized> {
    /// The model.
    pub policy: &'a P,
    /// Where code blocks run.
    pub runner: &'a R,
    /// How answers are graded.
    pub grader: &'a G,
    /// Sampling and protocol settings.
    pub settings: &'a Settings,
    /// Code blocks run at once in a wave (the sandbox's own turn limit caps real concurrency); default: the core
    /// count.
    pub code_workers: usize,
}

impl<'a, P: Policy + ?Sized, R: CodeRunner, G: Grader + ?Sized> Loop<'a, P, R, G> {
    /// A loop with `code_workers` set to the core count.
    pub fn new(policy: &'a P, runner: &'a R, grader: &'a G, settings: &'a Settings) -> Self {
        let code_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Loop { policy, runner, grader, settings, code_workers }
    }

    /// Runs every job and hands each finished trajectory to `done`, on the calling thread, as it finishes (not in job
    /// order). `done` returning false stops the run: samples in flight are finished and handed over, no new one
    /// starts. A sample never fails the run: a failure is a trajectory with finish `error`.
    pub fn run(&self, jobs: &[Job], done: &mut dyn FnMut(Trajectory) -> bool) {
        match self.policy.schedule() {
            Schedule::Independent { concurrency } => self.run_independent(jobs, concurrency.max(1), done),
            Schedule::Waves { max_rows } => self.run_waves(jobs, max_rows.max(1), done),
        }
    }

    /// Each sample on its own thread-held lane, `concurrency` at a time.
    fn run_independent(&self, jobs: &[Job], concurrency: usize, done: &mut dyn FnMut(Trajectory) -> bool) {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<Trajectory>();
            for _ in 0..concurrency.min(jobs.len()) {
                let tx = tx.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        if tx.send(self.one(index, job)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for t in rx {
                if !done(t) {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        });
    }

    /// One sample from start to finish on this thread.
    fn one(&self, index: usize, job: &Job) -> Trajectory {
        let mut run = SampleRun::new(index, job, self.settings, &self.policy.info());
        loop {
            match run.next {
                Next::Done => break,
                Next::Code(_) => run.run_code(self.runner, self.policy, self.settings.stateful),
                Next::Model => {
                    if run.ready_for_turn(self.settings) {
                        let asked = Instant::now();
                        let result = self.generate(&[run.turn(self.settings)]).pop();
                        let result =
                            result.unwrap_or_else(|| Err(PolicyError::Failed("the policy returned nothing".into())));
                        run.on_generation(result, ms(asked));
                    }
                }
            }
        }
        self.policy.release(index);
        run.finish(self.grader)
    }

    /// Waves: every sample waiting for the model in one call (in job order, `max_rows` at most per call), then every
    /// pending code block in parallel.
    fn run_waves(&self, jobs: &[Job], max_rows: usize, done: &mut dyn FnMut(Trajectory) -> bool) {
        let info = self.policy.info();
        let mut live: Vec<SampleRun<R::Session>> = Vec::new();
        let mut started = 0;
        let mut stopping = false;
        loop {
            // Admit new samples up to one call's rows, in job order.
            while !stopping && started < jobs.len() && live.len() < max_rows {
                live.push(SampleRun::new(started, &jobs[started], self.settings, &info));
                started += 1;
            }
            if live.is_empty() {
                break;
            }
            let waiting: Vec<usize> = (0..live.len()).filter(|&i| live[i].ready_for_turn(self.settings)).collect();
            if !waiting.is_empty() {
                let asked = Instant::now();
                let results = {
                    let turns: Vec<Turn<'_>> = waiting.iter().map(|&i| live[i].turn(self.settings)).collect();
                    self.generate(&turns)
                };
                let elapsed = ms(asked);
                let mut results = results.into_iter();
                for &i in &waiting {
                    let r = results
                        .next()
                        .unwrap_or_else(|| Err(PolicyError::Failed("the policy returned too few rows".into())));
                    live[i].on_generation(r, elapsed);
                }
            }
            self.run_pending_code(&mut live);
            // Hand over what finished, keeping the others in order.
            let mut kept = Vec::with_capacity(live.len());
            for run in live {
                if run.next == Next::Done {
                    self.policy.release(run.index);
                    if !done(run.finish(self.grader)) {
                        stopping = true;
                    }
                } else {
                    kept.push(run);
                }
            }
            live = kept;
        }
    }

    /// Runs every pending code block of a wave on up to `code_workers` threads.
    fn run_pending_code(&self, live: &mut [SampleRun<R::Session>]) {
        let pending: Vec<&mut SampleRun<R::Session>> =
            live.iter_mut().filter(|r| matches!(r.next, Next::Code(_))).collect();
        if pending.is_empty() {
            return;
        }
        let workers = self.code_workers.clamp(1, pending.len());
        let queue = Mutex::new(pending.into_iter());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let item = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                        let Some(run) = item else { break };
                        run.run_code(self.runner, self.policy, self.settings.stateful);
                    }
                });
            }
        });
    }

    /// The policy's answer for `turns`, one per turn: a panicking policy fails the rows instead of the run.
    fn generate(&self, turns: &[Turn<'_>]) -> Vec<Result<crate::Generation, PolicyError>> {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.policy.generate(turns)));
        match result {
            Ok(rows) if rows.len() == turns.len() => rows,
            Ok(rows) => {
                let why = format!("the policy returned {} rows for {} turns", rows.len(), turns.len());
                turns.iter().map(|_| Err(PolicyError::Failed(why.clone()))).collect()
            }
            Err(_) => turns.iter().map(|_| Err(PolicyError::Failed("the policy panicked".into()))).collect(),
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

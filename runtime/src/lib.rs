//! `cir-runtime`: runs untrusted Python in a deterministic, isolated, limited WASI CPython.
//!
//! The main types: [`Sandbox`] (built by [`SandboxBuilder`]) runs each code block in a **fresh instance** of the
//! pre-initialised interpreter snapshot (copy-on-write memory, so nothing carries over between executions);
//! [`Session`] keeps one interpreter across calls (stateful mode, opt-in); [`Pool`] runs many executions on worker
//! threads behind a bounded queue. Each returns an [`Execution`] whose [`Status`] tells every outcome apart.
//!
//! ```no_run
//! let sandbox = cir_runtime::Sandbox::builder().build()?;
//! let run = sandbox.exec("import sympy\nprint(sympy.factorint(360))", 0)?;
//! assert_eq!(run.status, cir_runtime::Status::Ok);
//! assert_eq!(run.stdout, "{2: 3, 3: 2, 5: 1}\n");
//! # Ok::<(), cir_runtime::Error>(())
//! ```
//!
//! # What the guest sees
//!
//! - Files: the read-only stdlib zip at `/usr/local/lib` and a private, empty, writable `/tmp` (a fresh host folder
//!   per execution or session, removed afterwards). Nothing else: no other host file, no network, no processes, no
//!   host environment (a fixed minimal one), and `host.call` refuses every call.
//! - Determinism: the same code and seed give byte-identical output on every run and machine. The wall clock starts
//!   at a fixed instant (default 2024-01-01T00:00:00Z, [`SandboxBuilder::wall_clock_start`]) and, like the monotonic
//!   clock, advances 1 µs per read; `random_get` (`os.urandom`, hash seeding) draws from SplitMix64 seeded with the
//!   execution's seed; `random` and `numpy.random` are reseeded from it before each execution; `PYTHONHASHSEED=0`.
//! - `time.sleep(s)` (and any `poll_oneoff` wait) returns at once and advances the virtual clocks by `s`: the guest
//!   sees the time pass, the host spends none. A guest that sleeps in a loop still hits the wall-clock deadline.
//! - Echo: by default a final bare expression's value is printed, as in a REPL, when it is not `None`
//!   ([`SandboxBuilder::echo_last_expression`]). `false` gives the reference executor's behaviour (plain `exec`).
#![deny(missing_docs)]

pub use cir_record::{Execution, Status};
pub use error::Error;
pub use limits::Limits;
pub use pool::{Pool, Ticket};
pub use session::Session;

mod error;
mod host;
mod limits;
mod pool;
mod reset;
mod rollout;
mod session;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cir_python_wasm::{Interpreter, Options};
use wasmtime::{Engine, Instance, InstancePre, Linker, Memory, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;

use host::{Captured, HostState, MemoryLimiter, Pipe, SeededRandom, SharedOutput, VirtualClock};
use reset::PageScanner;

/// How often the deadline is checked: the epoch ticker's period.
const TICK: Duration = Duration::from_millis(10);
/// 2024-01-01T00:00:00Z, the default start of the guest's wall clock.
const DEFAULT_WALL_START: Duration = Duration::from_secs(1_704_067_200);

/// Builds a [`Sandbox`]. Starts with no capability beyond the read-only stdlib and a private `/tmp`.
#[derive(Clone, Debug)]
pub struct SandboxBuilder {
    limits: Limits,
    echo: bool,
    wall_start: Duration,
    options: Options,
    spares: usize,
}

impl SandboxBuilder {
    /// Per-execution limits. Default: [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Print the value of a final bare expression when it is not `None`, as a REPL does. Default `true` (a model
    /// that ends a block with `x` expects to see `x`); `false` matches the reference executor, which runs `exec` and
    /// shows only what was printed.
    pub fn echo_last_expression(mut self, on: bool) -> Self {
        self.echo = on;
        self
    }

    /// Where the guest's wall clock starts, since the Unix epoch. Default 2024-01-01T00:00:00Z.
    pub fn wall_clock_start(mut self, since_epoch: Duration) -> Self {
        self.wall_start = since_epoch;
        self
    }

    /// How many used instances are kept, their memory put back to the snapshot, for later executions. Default: the
    /// number of cores (a [`Pool`]'s default worker count). Each holds the pages its executions wrote (at most
    /// 16 MiB) and a twin instance. As many [`Sandbox::exec`]s run at once; more wait for a turn (they are CPU-bound:
    /// running more at once gains nothing and each would map a new instance). `0` maps a new instance for every
    /// execution and lets any number run at once.
    pub fn spare_instances(mut self, count: usize) -> Self {
        self.spares = count;
        self
    }

    /// Where and how the interpreter is prepared (cache folder, local wheel, preload). Default: from `CIR_HOME` and
    /// `CIR_WHEEL`, the default preload.
    pub fn interpreter(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Loads the interpreter, fetching, snapshotting and compiling it first when this machine has not yet (minutes;
    /// see `cir-eval setup`).
    ///
    /// # Errors
    ///
    /// [`Error::Prepare`] when the interpreter cannot be prepared; [`Error::Wasm`] when it cannot be linked.
    pub fn build(self) -> Result<Sandbox, Error> {
        self.build_with_progress(&|_| {})
    }

    /// [`build`](Self::build), passing one line per expensive first-use stage to `report`.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn build_with_progress(self, report: &dyn Fn(&str)) -> Result<Sandbox, Error> {
        let options = Options { fuel: self.limits.fuel.is_some(), ..self.options.clone() };
        let interpreter = cir_python_wasm::prepare(&options, report)?;
        let mut linker = Linker::new(&interpreter.engine);
        cir_python_wasm::guest::add_to_linker(&mut linker, |h: &mut HostState| &mut h.wasi)?;
        host::add_poll_oneoff(&mut linker).map_err(Error::wasm("linking poll_oneoff"))?;
        let pre = linker.instantiate_pre(&interpreter.module).map_err(Error::wasm("linking the interpreter"))?;
        let snapshot_memory_bytes = interpreter
            .module
            .get_export("memory")
            .and_then(|t| t.memory().map(|m| m.minimum() * m.page_size()))
            .ok_or(Error::Wasm { stage: "linking the interpreter", reason: "no exported memory".into() })?;
        start_ticker(&interpreter.engine)?;
        let scanner = PageScanner::probe();
        let turns = if scanner.is_some() { self.spares } else { 0 };
        Ok(Sandbox {
            inner: Arc::new(Inner {
                interpreter,
                pre,
                limits: self.limits,
                echo: self.echo,
                wall_start: self.wall_start,
                scanner,
                spares: Mutex::new(Vec::new()),
                max_spares: self.spares,
                snapshot_memory_bytes,
                turns: Turns { running: Mutex::new(0), freed: Condvar::new(), limit: turns },
            }),
        })
    }
}

/// Runs Python code blocks, each in a fresh instance. `Send + Sync`, cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    interpreter: Interpreter,
    pre: InstancePre<HostState>,
    limits: Limits,
    echo: bool,
    wall_start: Duration,
    /// `None` where the kernel cannot list written pages: every execution then maps a new instance.
    scanner: Option<PageScanner>,
    spares: Mutex<Vec<Spare>>,
    max_spares: usize,
    /// The size of a new instance's linear memory; a used one that grew past it cannot be reset.
    snapshot_memory_bytes: u64,
    turns: Turns,
}

/// Executions past the spare count wait for a turn: they are CPU-bound, so running more at once gains nothing, and
/// each would map a new instance. No limit when there are no spares.
struct Turns {
    running: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl Turns {
    fn take(&self) -> Option<Turn<'_>> {
        if self.limit == 0 {
            return None;
        }
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.limit {
            running = self.freed.wait(running).unwrap_or_else(PoisonError::into_inner);
        }
        *running += 1;
        Some(Turn(self))
    }
}

/// A running execution's place among [`Turns`], given back when dropped.
struct Turn<'a>(&'a Turns);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.running.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.0.freed.notify_one();
    }
}

impl Inner {
    fn max_memory(&self) -> usize {
        usize::try_from(self.limits.memory_bytes).unwrap_or(usize::MAX)
    }
}

impl Sandbox {
    /// A builder with the defaults.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder {
            limits: Limits::default(),
            echo: true,
            wall_start: DEFAULT_WALL_START,
            options: Options::default(),
            spares: Pool::default_workers(),
        }
    }

    /// The limits every execution runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Runs `code` in a fresh interpreter seeded with `seed` and reports how it ended.
    ///
    /// "Fresh" means the guest's linear memory holds exactly the snapshot's bytes and its host side (`/tmp`, output,
    /// clocks, randomness) is new. Where the kernel allows it (Linux ≥ 6.7), the instance of an earlier execution that
    /// ended normally is reused after the pages it wrote are copied back from an untouched twin instance, which is
    /// several times cheaper than mapping a new instance; any other instance is dropped. At most
    /// [`spare_instances`](SandboxBuilder::spare_instances) executions run at once (when it is not 0); more wait for
    /// a turn, and the wait counts neither against the deadline nor in `duration_ms`.
    ///
    /// # Errors
    ///
    /// Only for refused input ([`Error::EmptyCode`], [`Error::NulByte`], [`Error::CodeTooLarge`]) and host-side
    /// failures; every guest outcome, limits included, is an `Ok(Execution)` with its [`Status`].
    pub fn exec(&self, code: &str, seed: u64) -> Result<Execution, Error> {
        self.exec_with_stdin(code, seed, b"")
    }

    /// [`exec`](Self::exec) with `stdin` as the guest's standard input: what `input()` and `sys.stdin` read
    /// (`exec` gives an empty one, so reading it meets end of file at once). Capped like the code, by
    /// [`Limits::code_bytes`].
    ///
    /// # Errors
    ///
    /// As [`exec`](Self::exec), and [`Error::StdinTooLarge`].
    pub fn exec_with_stdin(&self, code: &str, seed: u64, stdin: &[u8]) -> Result<Execution, Error> {
        self.check(code)?;
        if stdin.len() > self.inner.limits.code_bytes {
            return Err(Error::StdinTooLarge { len: stdin.len(), limit: self.inner.limits.code_bytes });
        }
        let _turn = self.inner.turns.take();
        let started = Instant::now();
        let (mut guest, pristine) = match self.inner.acquire()? {
            Ok(pair) => pair,
            Err(refused) => return Ok(refused),
        };
        guest.begin(&self.inner, seed, stdin)?;
        let (execution, stopped) = guest.run(&self.inner, code, started);
        // The folder goes with the execution, not with the instance: a spare outlives it, and a process that
        // ends without dropping its sandbox would leave the folder behind.
        guest.scratch = None;
        if !stopped {
            self.inner.keep(guest, pristine);
        }
        Ok(execution)
    }

    /// A persistent interpreter (stateful mode): names defined by one [`Session::exec`] are seen by the next.
    ///
    /// # Errors
    ///
    /// Host-side failures creating the instance.
    pub fn session(&self, seed: u64) -> Result<Session, Error> {
        Session::new(self.clone(), seed)
    }

    fn check(&self, code: &str) -> Result<(), Error> {
        if code.len() > self.inner.limits.code_bytes {
            return Err(Error::CodeTooLarge { len: code.len(), limit: self.inner.limits.code_bytes });
        }
        if let Some(offset) = code.find('\0') {
            return Err(Error::NulByte { offset });
        }
        if code.trim().is_empty() {
            return Err(Error::EmptyCode);
        }
        Ok(())
    }
}

/// A used instance whose memory was put back to the snapshot, kept for the next execution, and its untouched twin
/// (the source of the snapshot's bytes).
struct Spare {
    guest: Guest,
    pristine: Guest,
}

impl Inner {
    /// A spare instance with its twin, else a newly mapped instance; `Err(execution)` as [`Guest::instantiate`].
    fn acquire(&self) -> Result<Result<(Guest, Option<Guest>), Execution>, Error> {
        if let Some(Spare { guest, pristine }) = self.spares.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(Ok((guest, Some(pristine))));
        }
        Ok(Guest::instantiate(self)?.map(|guest| (guest, None)))
    }

    /// Puts `guest`'s memory back to the snapshot and keeps it as a spare; drops it instead when pages cannot be
    /// scanned, its memory grew (it cannot shrink), it wrote more than [`SPARE_DIRTY_CAP`], or enough spares wait.
    fn keep(&self, mut guest: Guest, pristine: Option<Guest>) {
        let Some(scanner) = &self.scanner else { return };
        if self.spares.lock().unwrap_or_else(PoisonError::into_inner).len() >= self.max_spares {
            return;
        }
        // A memory that grew cannot shrink back: checked before a twin is mapped for nothing.
        if guest.memory.data_size(&guest.store) as u64 != self.snapshot_memory_bytes {
            return;
        }
        let pristine = match pristine {
            Some(pristine) => pristine,
            None => match Guest::instantiate(self) {
                Ok(Ok(pristine)) => pristine,
                _ => return,
            },
        };
        let source = pristine.memory.data(&pristine.store);
        let target = guest.memory.data_mut(&mut guest.store);
        let mut ranges = Vec::new();
        if scanner.private_pages(target, &mut ranges).is_err()
            || ranges.iter().map(|r| r.len()).sum::<usize>() > SPARE_DIRTY_CAP
        {
            return;
        }
        for range in ranges {
            target[range.clone()].copy_from_slice(&source[range]);
        }
        self.spares.lock().unwrap_or_else(PoisonError::into_inner).push(Spare { guest, pristine });
    }
}

/// A spare whose written pages pass this many bytes is dropped rather than restored. A restored page stays a private
/// copy, so a spare's set only grows (every reset copies all pages any of its executions wrote: ~1.2 MiB after
/// trivial ones, ~6 MiB after a sympy solve); past this, copying costs about as much as mapping a new instance.
const SPARE_DIRTY_CAP: usize = 16 << 20;

/// One live instance and the host side of its current execution.
struct Guest {
    store: Store<HostState>,
    instance: Instance,
    memory: Memory,
    output: SharedOutput,
    /// The host folder behind the guest's `/tmp` for the current execution, removed when replaced or dropped.
    scratch: Option<Scratch>,
}

impl Guest {
    /// Maps a new instance of the snapshot with an idle host side; `Ok(Err(execution))` when the memory limit is
    /// below what the snapshot needs, which every execution then reports.
    fn instantiate(inner: &Inner) -> Result<Result<Guest, Execution>, Error> {
        let output = SharedOutput::default();
        let state = HostState {
            wasi: WasiCtxBuilder::new().build_p1(),
            limiter: MemoryLimiter { max_bytes: inner.max_memory(), hit: false },
            clock: VirtualClock::new(inner.wall_start),
        };
        let mut store = Store::new(&inner.interpreter.engine, state);
        store.limiter(|h| &mut h.limiter);
        // Instantiation is bounded too (it only maps the snapshot's memory).
        store.set_epoch_deadline(deadline_ticks(inner.limits.timeout));
        store.epoch_deadline_trap();
        let instance = match inner.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(e) if store.data().limiter.hit => {
                let mut refused = Execution::new(Status::MemoryLimit);
                refused.error = Some(format!(
                    "MemoryError: the memory limit of {} MiB is below what the interpreter needs to start ({e})",
                    inner.limits.memory_bytes >> 20
                ));
                return Ok(Err(refused));
            }
            Err(e) => return Err(Error::wasm("instantiating the interpreter")(e)),
        };
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(Error::Wasm { stage: "instantiating the interpreter", reason: "no exported memory".into() })?;
        Ok(Ok(Guest { store, instance, memory, output, scratch: None }))
    }

    /// Gives the instance a new host side for one execution (an empty `/tmp`, `stdin`, output, clocks at their start,
    /// randomness seeded with `seed`) and reseeds the guest's `random` and `numpy.random`.
    fn begin(&mut self, inner: &Inner, seed: u64, stdin: &[u8]) -> Result<(), Error> {
        let scratch = Scratch::new()?;
        self.output = Arc::new(Mutex::new(Captured { cap: inner.limits.output_bytes, ..Captured::default() }));
        let clock = VirtualClock::new(inner.wall_start);
        let wasi = cir_python_wasm::guest::wasi_builder(&inner.interpreter.artifacts.stdlib_dir, &scratch.path)?
            .stdin(MemoryInputPipe::new(stdin.to_vec()))
            .stdout(Pipe { shared: self.output.clone(), stderr: false })
            .stderr(Pipe { shared: self.output.clone(), stderr: true })
            .wall_clock(clock.wall())
            .monotonic_clock(clock.monotonic())
            .secure_random(SeededRandom::new(seed))
            .insecure_random(SeededRandom::new(seed ^ 0x5eed_5eed_5eed_5eed))
            .insecure_random_seed(u128::from(seed))
            .build_p1();
        *self.store.data_mut() =
            HostState { wasi, limiter: MemoryLimiter { max_bytes: inner.max_memory(), hit: false }, clock };
        self.scratch = Some(scratch);
        self.store.set_epoch_deadline(deadline_ticks(inner.limits.timeout));
        if let Some(fuel) = inner.limits.fuel {
            self.store.set_fuel(fuel).map_err(Error::wasm("setting fuel"))?;
        }
        match cir_python_wasm::turn(&mut self.store, &self.instance, &reseed_code(seed)) {
            Ok(0) => Ok(()),
            Ok(status) => Err(Error::Wasm { stage: "reseeding random", reason: format!("status {status}") }),
            Err(e) => Err(Error::wasm("reseeding random")(e)),
        }
    }

    /// Runs one turn of `code` under fresh deadline, fuel and output caps. The flag is true when the interpreter was
    /// stopped mid-turn (a trap or a limit), so it must not run again.
    fn run(&mut self, inner: &Inner, code: &str, started: Instant) -> (Execution, bool) {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).reset(inner.limits.output_bytes);
        self.store.data_mut().limiter.hit = false;
        self.store.set_epoch_deadline(deadline_ticks(inner.limits.timeout));
        if let Some(fuel) = inner.limits.fuel
            && self.store.set_fuel(fuel).is_err()
        {
            return (Execution::new(Status::Crash), true);
        }
        let source = if inner.echo { code.to_string() } else { no_echo(code) };
        let outcome = cir_python_wasm::turn(&mut self.store, &self.instance, &source);
        let stopped = outcome.is_err();
        let captured = std::mem::take(&mut *self.output.lock().unwrap_or_else(PoisonError::into_inner));
        let memory_hit = self.store.data().limiter.hit;
        let fuel_out = inner.limits.fuel.is_some() && self.store.get_fuel().is_ok_and(|f| f == 0);
        let mut execution = classify(outcome, &captured, memory_hit, fuel_out, &inner.limits);
        execution.stdout = String::from_utf8_lossy(&captured.stdout).into_owned();
        execution.stderr = String::from_utf8_lossy(&captured.stderr).into_owned();
        execution.truncated = captured.truncated;
        execution.duration_ms = started.elapsed().as_secs_f64() * 1e3;
        (execution, stopped)
    }
}

/// Maps the turn's outcome to a status and one-line error.
fn classify(
    outcome: wasmtime::Result<i32>,
    captured: &Captured,
    memory_hit: bool,
    fuel_out: bool,
    limits: &Limits,
) -> Execution {
    let last_line = || {
        let text = String::from_utf8_lossy(&captured.stderr);
        text.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim_end().to_string())
    };
    let mut run = match outcome {
        _ if captured.truncated => {
            let mut run = Execution::new(Status::OutputLimit);
            run.error = Some(format!("OutputLimit: output passed the limit of {} bytes", limits.output_bytes));
            run
        }
        Ok(0) => Execution::new(Status::Ok),
        Ok(status) => {
            let mut run = Execution::new(if memory_hit { Status::MemoryLimit } else { Status::Error });
            run.error = last_line().or_else(|| Some(format!("SystemExit: {status}")));
            if status != 1 {
                run.exit_code = Some(status);
            }
            run
        }
        Err(e) => {
            let trap = e.downcast_ref::<wasmtime::Trap>().copied();
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                let mut run = Execution::new(if exit.0 == 0 { Status::Ok } else { Status::Error });
                run.exit_code = Some(exit.0);
                if exit.0 != 0 {
                    run.error = last_line().or_else(|| Some(format!("SystemExit: {}", exit.0)));
                }
                run
            } else if trap == Some(wasmtime::Trap::Interrupt) {
                let mut run = Execution::new(Status::Timeout);
                run.error = Some(format!("Timeout Error: passed the {:.1} s deadline", limits.timeout.as_secs_f64()));
                run
            } else if trap == Some(wasmtime::Trap::OutOfFuel) || fuel_out {
                let mut run = Execution::new(Status::FuelExhausted);
                run.error = Some("FuelExhausted: the instruction budget ran out".into());
                run
            } else if memory_hit {
                let mut run = Execution::new(Status::MemoryLimit);
                run.error = Some(format!("MemoryError: passed the memory limit of {} MiB", limits.memory_bytes >> 20));
                run
            } else {
                let mut run = Execution::new(Status::Crash);
                let reason = trap.map_or_else(|| format!("{e}"), |t| t.to_string());
                run.error = Some(format!("Crash: the interpreter trapped: {}", reason.lines().next().unwrap_or("")));
                run
            }
        }
    };
    if run.status == Status::Ok {
        run.error = None;
    }
    run
}

/// A turn that reseeds the `random` module and, when the snapshot holds it, `numpy.random` from the execution's seed;
/// it binds no name and prints nothing. A `numpy.random` the code imports later seeds itself from `random_get`, which
/// the execution's seed already fixes (and importing it here would cost milliseconds on every execution).
fn reseed_code(seed: u64) -> String {
    format!(
        "__import__('random').seed({seed}) or (__import__('sys').modules.get('numpy.random') and \
         __import__('sys').modules['numpy.random'].seed({}))",
        seed & 0xffff_ffff
    )
}

/// `code` followed by a `pass` statement, so a final bare expression is not echoed.
fn no_echo(code: &str) -> String {
    format!("{code}\npass\n")
}

fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / TICK.as_nanos()).max(1) as u64 + 1
}

/// Starts the thread that advances `engine`'s epoch every [`TICK`] while the engine lives.
fn start_ticker(engine: &Engine) -> Result<(), Error> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("cir-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map(drop)
        .map_err(Error::Thread)
}

/// A private host folder preopened as the guest's `/tmp`, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("cir-tmp-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).map_err(|source| Error::Scratch { path: path.clone(), source })?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_holds_exactly_the_snapshot_bytes() {
        let sandbox = Sandbox::builder().spare_instances(1).build().expect("the sandbox loads");
        if sandbox.inner.scanner.is_none() {
            eprintln!("PAGEMAP_SCAN unsupported on this kernel: every execution maps a new instance");
            return;
        }
        let traces = include_str!("../tests/py/leave_traces.py");
        for seed in 0..3 {
            let run = sandbox.exec(traces, seed).expect("runs");
            assert_eq!(run.status, Status::Error, "{run:?}");
        }
        let mut spares = sandbox.inner.spares.lock().expect("not poisoned");
        assert_eq!(spares.len(), 1, "the instance was not kept");
        let Spare { guest, pristine } = &mut spares[0];
        assert!(guest.scratch.is_none(), "a spare kept its execution's /tmp folder");
        let used = guest.memory.data(&guest.store);
        let snapshot = pristine.memory.data(&pristine.store);
        assert_eq!(used.len(), snapshot.len());
        let differing: Vec<usize> = used
            .chunks(4096)
            .zip(snapshot.chunks(4096))
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .collect();
        assert!(
            differing.is_empty(),
            "{} pages differ from the snapshot, first {:?}",
            differing.len(),
            differing.first()
        );
        let globals = |instance: &Instance, store: &mut Store<HostState>| -> Vec<String> {
            let exports: Vec<_> = instance.exports(&mut *store).filter_map(|e| e.into_global()).collect();
            exports.into_iter().map(|g| format!("{:?}", g.get(&mut *store))).collect()
        };
        assert_eq!(globals(&guest.instance, &mut guest.store), globals(&pristine.instance, &mut pristine.store));
    }
}

//! [`Sandbox`]: admits an execution (its input checked, a turn taken), runs it in an instance and hands the
//! instance back.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cir_python_wasm::Interpreter;
use cir_python_wasm::guest::TMP_GUEST;
use wasmtime::InstancePre;

use crate::host::HostState;
use crate::spares::Spares;
use crate::wasi::Tree;
use crate::{Error, Execution, Limits, SandboxBuilder, Session};

/// Runs Python code blocks, each in a fresh instance. `Send + Sync`, cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
}

/// What one execution gets besides its code: SandboxFusion's `stdin`, `files` and `fetch_files`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// The guest's standard input (what `input()` and `sys.stdin` read). Default empty: reading it meets end of file
    /// at once. Capped like the code, by [`Limits::code_bytes`].
    pub stdin: Vec<u8>,
    /// Files placed in `/tmp` before the code runs: `(path, bytes)`, the path relative to `/tmp` (the folder the
    /// code starts in) or absolute below it; folders on the way are made. They count against the `/tmp` quotas
    /// ([`Limits::tmp_bytes`], [`Limits::tmp_entries`]).
    pub files: Vec<(String, Vec<u8>)>,
    /// Paths (as in `files`) read back after the run; a path that is not a regular file then (or leaves `/tmp`) is
    /// left out of [`Output::files`], as SandboxFusion leaves it out.
    pub fetch: Vec<String>,
}

/// What a run with an [`Input`] gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// How the code ran.
    pub execution: Execution,
    /// The fetched files that exist, in the order of [`Input::fetch`]: `(path as asked, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
}

pub(crate) struct Inner {
    pub(crate) interpreter: Interpreter,
    pub(crate) pre: InstancePre<HostState>,
    /// The stdlib folder, read once, shared read-only by every guest.
    pub(crate) stdlib: Arc<Tree>,
    pub(crate) limits: Limits,
    pub(crate) echo: bool,
    pub(crate) wall_start: Duration,
    pub(crate) spares: Spares,
    pub(crate) turns: Turns,
}

impl Inner {
    pub(crate) fn max_memory(&self) -> usize {
        usize::try_from(self.limits.memory_bytes).unwrap_or(usize::MAX)
    }
}

/// Executions past the spare count wait for a turn: they are CPU-bound, so running more at once gains nothing, and
/// each would map a new instance. No limit when there are no spares.
pub(crate) struct Turns {
    running: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl Turns {
    pub(crate) fn new(limit: usize) -> Turns {
        Turns { running: Mutex::new(0), freed: Condvar::new(), limit }
    }

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

impl Sandbox {
    /// A builder with the defaults.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> Sandbox {
        Sandbox { inner: Arc::new(inner) }
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
    /// failures; every guest outcome, limits included, is an `Ok(Execution)` with its [`Status`](crate::Status).
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
        let input = Input { stdin: stdin.to_vec(), ..Input::default() };
        self.run(code, seed, &input).map(|output| output.execution)
    }

    /// [`exec`](Self::exec) with a standard input, files placed in `/tmp` before the code runs and files read back
    /// after it ([`Input`]).
    ///
    /// # Errors
    ///
    /// As [`exec_with_stdin`](Self::exec_with_stdin), and [`Error::File`] when a file cannot be placed (a path
    /// outside `/tmp`, past a quota).
    pub fn run(&self, code: &str, seed: u64, input: &Input) -> Result<Output, Error> {
        self.check(code)?;
        if input.stdin.len() > self.inner.limits.code_bytes {
            return Err(Error::StdinTooLarge { len: input.stdin.len(), limit: self.inner.limits.code_bytes });
        }
        let _turn = self.inner.turns.take();
        let started = Instant::now();
        let (mut guest, pristine) = match self.inner.spares.acquire(&self.inner)? {
            Ok(pair) => pair,
            Err(refused) => return Ok(Output { execution: refused, files: Vec::new() }),
        };
        guest.begin(&self.inner, seed, input.stdin.clone())?;
        if let Err(e) = input.files.iter().try_for_each(|(path, bytes)| guest.put_file(path, bytes)) {
            guest.end(&self.inner);
            self.inner.spares.keep(&self.inner, guest, pristine);
            return Err(e);
        }
        let (execution, stopped) = guest.run(&self.inner, code, started);
        let files = input
            .fetch
            .iter()
            .filter_map(|path| guest.file(path).map(|bytes| (path.clone(), bytes.to_vec())))
            .collect();
        // The files go with the execution, not with the instance: a spare must not hold them.
        guest.end(&self.inner);
        if !stopped {
            self.inner.spares.keep(&self.inner, guest, pristine);
        }
        Ok(Output { execution, files })
    }

    /// A persistent interpreter (stateful mode): names defined by one [`Session::exec`] are seen by the next, and
    /// files written to `/tmp` stay there for the next.
    ///
    /// # Errors
    ///
    /// Host-side failures creating the instance.
    pub fn session(&self, seed: u64) -> Result<Session, Error> {
        Session::new(self.clone(), seed)
    }

    pub(crate) fn check(&self, code: &str) -> Result<(), Error> {
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

/// A path of [`Input`] relative to `/tmp`, or `None` when it names something outside it.
pub(crate) fn tmp_relative(path: &str) -> Option<&str> {
    match path.strip_prefix(TMP_GUEST) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => Some(rest.trim_start_matches('/')),
        Some(_) => None,
        None if path.starts_with('/') => None,
        None => Some(path),
    }
}

//! [`SandboxBuilder`]: the options of a [`Sandbox`] and loading the interpreter it runs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use cir_python_wasm::Options;
use wasmtime::Linker;

use crate::reset::PageScanner;
use crate::sandbox::{Inner, Turns};
use crate::spares::Spares;
use crate::wasi::{Quota, Tree};
use crate::{Error, Limits, Pool, Sandbox, deadline, wasi};

/// 2024-01-01T00:00:00Z, the default start of the guest's wall clock.
const DEFAULT_WALL_START: Duration = Duration::from_secs(1_704_067_200);

/// The device number of the stdlib folder's tree (`st_dev`); `/tmp`'s is 2.
const STDLIB_DEV: u64 = 1;

/// Builds a [`Sandbox`]. Starts with no capability beyond the read-only stdlib and a private `/tmp`.
#[derive(Clone, Debug)]
pub struct SandboxBuilder {
    limits: Limits,
    echo: bool,
    wall_start: Duration,
    options: Options,
    spares: usize,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            limits: Limits::default(),
            echo: true,
            wall_start: DEFAULT_WALL_START,
            options: Options::default(),
            spares: Pool::default_workers(),
        }
    }
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
    /// [`Error::Prepare`] when the interpreter cannot be prepared, [`Error::Stdlib`] when its stdlib cannot be read;
    /// [`Error::Wasm`] when it cannot be linked.
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
        wasi::add_to_linker(&mut linker).map_err(Error::wasm("linking WASI"))?;
        cir_python_wasm::guest::add_host_call(&mut linker)?;
        let pre = linker.instantiate_pre(&interpreter.module).map_err(Error::wasm("linking the interpreter"))?;
        map_memory_image(&interpreter.module)?;
        let snapshot_memory_bytes = interpreter
            .module
            .get_export("memory")
            .and_then(|t| t.memory().map(|m| m.minimum() * m.page_size()))
            .ok_or(Error::Wasm { stage: "linking the interpreter", reason: "no exported memory".into() })?;
        let wall_start_ns = u64::try_from(self.wall_start.as_nanos()).unwrap_or(u64::MAX);
        let stdlib = shared_stdlib_tree(&interpreter.artifacts.stdlib_dir, wall_start_ns)?;
        deadline::start_ticker(&interpreter.engine)?;
        let scanner = PageScanner::probe();
        let turns = if scanner.is_some() { self.spares } else { 0 };
        Ok(Sandbox::from_inner(Inner {
            interpreter,
            pre,
            stdlib,
            limits: self.limits,
            echo: self.echo,
            wall_start: self.wall_start,
            spares: Spares::new(scanner, self.spares, snapshot_memory_bytes),
            turns: Turns::new(turns),
        }))
    }
}

/// The stdlib tree of `dir` for a clock starting at `now`, shared by every sandbox of the process that asks for the
/// same (`cir-eval serve` builds one sandbox per limit set): read once, not once per sandbox.
fn shared_stdlib_tree(dir: &Path, now: u64) -> Result<Arc<Tree>, Error> {
    type Cache = Mutex<Vec<(PathBuf, u64, Weak<Tree>)>>;
    static TREES: Cache = Mutex::new(Vec::new());
    let mut trees = TREES.lock().unwrap_or_else(PoisonError::into_inner);
    trees.retain(|(_, _, tree)| tree.strong_count() > 0);
    if let Some(tree) = trees.iter().find(|(d, n, _)| d == dir && *n == now).and_then(|(_, _, t)| t.upgrade()) {
        return Ok(tree);
    }
    let tree = Arc::new(stdlib_tree(dir, now)?);
    trees.push((dir.to_path_buf(), now, Arc::downgrade(&tree)));
    Ok(tree)
}

/// The stdlib folder as a read-only tree: every file under `dir` read into memory (the stdlib zip, 54 MB), each
/// timestamp the wall clock's start.
fn stdlib_tree(dir: &Path, now: u64) -> Result<Tree, Error> {
    let mut tree = Tree::new(STDLIB_DEV, Quota { bytes: u64::MAX, entries: usize::MAX }, now);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Stdlib { path, source }
        };
        let mut entries = std::fs::read_dir(&folder)
            .map_err(failed(&folder))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed(&folder))?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).map_err(failed(&path))?;
            let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            tree.put_file(&relative, &bytes, now).map_err(|errno| Error::Stdlib {
                path: path.clone(),
                source: std::io::Error::other(format!("WASI errno {}", errno.0)),
            })?;
        }
    }
    tree.freeze();
    Ok(tree)
}

/// Makes the snapshot's copy-on-write memory image (on Linux a sealed memfd) now, rather than at the first
/// instantiation. Sealing fails with `EBUSY` while the kernel still holds a transient reference to the image's pages
/// (seen once in a loaded test run), so it is tried a few times, with a short pause, before the error is reported.
fn map_memory_image(module: &wasmtime::Module) -> Result<(), Error> {
    const TRIES: u32 = 4;
    let mut tried = 1;
    loop {
        match module.initialize_copy_on_write_image() {
            Ok(()) => return Ok(()),
            Err(_) if tried < TRIES => std::thread::sleep(std::time::Duration::from_millis(20 << tried)),
            Err(e) => return Err(Error::wasm("mapping the interpreter's memory image")(e)),
        }
        tried += 1;
    }
}

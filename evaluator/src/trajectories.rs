//! Reading and appending trajectory files (JSONL, one [`Trajectory`] per line).

use std::io::Write;
use std::path::Path;

use cir_record::{SCHEMA_VERSION, Trajectory, is_readable_schema};

use crate::Error;

/// Reads every trajectory of a file. Blank lines are skipped.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Trajectory`] for a line that is not a schema-1 trajectory.
pub fn read(path: &Path) -> Result<Vec<Trajectory>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.into(), source })?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Vec<Trajectory>, Error> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fail =
            |message: String| Error::Trajectory { path: path.into(), line: index + 1, schema: SCHEMA_VERSION, message };
        let t: Trajectory = serde_json::from_str(line).map_err(|e| fail(e.to_string()))?;
        if !is_readable_schema(u64::from(t.schema)) {
            return Err(fail(format!("schema {} (this build reads 1 and {SCHEMA_VERSION})", t.schema)));
        }
        out.push(t);
    }
    Ok(out)
}

/// Reads a run's output file to resume it: a missing file is empty, and a last line cut short (the process was
/// killed while writing it) is removed from the file.
///
/// # Errors
/// As [`read`], for any complete line.
pub fn read_for_resume(path: &Path) -> Result<Vec<Trajectory>, Error> {
    let io = |source| Error::Io { path: path.into(), source };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    if complete < text.len() {
        let file = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
        file.set_len(complete as u64).map_err(io)?;
    }
    parse(path, &text[..complete])
}

/// Appends trajectories to a file, one whole line per `write` call, so that a killed process leaves at most one
/// partial line (which [`read_for_resume`] removes).
pub struct Appender {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl Appender {
    /// Opens (creating) `path` for appending.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Appender, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Io { path: path.into(), source })?;
        Ok(Appender { file, path: path.into() })
    }

    /// Appends one trajectory as a line.
    ///
    /// # Errors
    /// [`Error::Io`] when the write fails.
    pub fn append(&mut self, t: &Trajectory) -> Result<(), Error> {
        let mut line = serde_json::to_string(t).map_err(|e| Error::Io { path: self.path.clone(), source: e.into() })?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|source| Error::Io { path: self.path.clone(), source })
    }
}

/// Writes trajectories to `path`, replacing it atomically (a temporary file beside it, then a rename).
///
/// # Errors
/// [`Error::Io`] when writing or renaming fails.
pub fn write_all(path: &Path, trajectories: &[Trajectory]) -> Result<(), Error> {
    let tmp = path.with_extension("jsonl.tmp");
    {
        let _ = std::fs::remove_file(&tmp);
        let mut out = Appender::open(&tmp)?;
        for t in trajectories {
            out.append(t)?;
        }
        out.file.sync_all().map_err(|source| Error::Io { path: tmp.clone(), source })?;
    }
    std::fs::rename(&tmp, path).map_err(|source| Error::Io { path: path.into(), source })
}

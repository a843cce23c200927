//! Request and response bodies: SandboxFusion's `/run_code` and our `/v1/exec` and `/v1/verify`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cir_record::{Execution, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// SandboxFusion's `RunCodeRequest` (PyPI `sandbox-fusion` 0.3.7 `models.py`), plus the server-side
/// `memory_limit_MB` that verl sends. Unknown fields are collected in `other` and refused with a clear message.
#[derive(Deserialize)]
pub(crate) struct RunCodeRequest {
    pub code: String,
    pub language: String,
    /// Ignored: Python is not compiled. Client default 10.
    #[serde(default)]
    pub compile_timeout: Option<f64>,
    /// Seconds; client default 10.
    #[serde(default)]
    pub run_timeout: Option<f64>,
    /// MiB; -1 (SandboxFusion's default) or absent means the server's default.
    #[serde(default, rename = "memory_limit_MB")]
    pub memory_limit_mb: Option<i64>,
    #[serde(default)]
    pub stdin: Option<String>,
    /// Path → base64 content, placed in the working folder (`/tmp`) before the run; `null` contents are skipped.
    #[serde(default)]
    pub files: BTreeMap<String, Option<String>>,
    /// Paths read back after the run, base64-encoded into the response's `files`.
    #[serde(default)]
    pub fetch_files: Vec<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl RunCodeRequest {
    /// The sandbox's input as SandboxFusion builds the run's folder (`sandbox/runners/base.py`, `restore_files`):
    /// each file whose contents are a string is decoded from base64 and placed, a name containing
    /// `IGNORE_THIS_FILE` is skipped, and `fetch_files` are read back after the run.
    ///
    /// # Errors
    ///
    /// A message naming a file whose contents are not base64.
    pub fn input(&self) -> Result<cir_runtime::Input, String> {
        let files = self
            .files
            .iter()
            .filter(|(name, _)| !name.contains("IGNORE_THIS_FILE"))
            .filter_map(|(name, contents)| Some((name, contents.as_ref()?)))
            .map(|(name, contents)| {
                // Python's `b64decode` skips line breaks; so does this.
                let contents: String = contents.split_ascii_whitespace().collect();
                BASE64
                    .decode(contents)
                    .map(|bytes| (name.clone(), bytes))
                    .map_err(|e| format!("files[{name:?}] is not base64: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(cir_runtime::Input {
            stdin: self.stdin.clone().unwrap_or_default().into_bytes(),
            files,
            fetch: self.fetch_files.clone(),
        })
    }
}

/// SandboxFusion's `CommandRunResult`.
#[derive(Serialize)]
pub(crate) struct CommandRunResult {
    /// `Finished`, `Error` or `TimeLimitExceeded` (`CommandRunStatus`).
    pub status: &'static str,
    /// Seconds.
    pub execution_time: Option<f64>,
    pub cpu_time: Option<f64>,
    pub return_code: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// SandboxFusion's `RunCodeResponse`.
#[derive(Serialize)]
pub(crate) struct RunCodeResponse {
    /// `Success`, `Failed` or `SandboxError` (`RunStatus`).
    pub status: &'static str,
    pub message: String,
    pub compile_result: Option<CommandRunResult>,
    pub run_result: Option<CommandRunResult>,
    pub executor_pod_name: Option<String>,
    pub files: BTreeMap<String, String>,
}

impl RunCodeResponse {
    /// The answer for a request the sandbox could not serve (SandboxFusion's `SandboxError`; its client raises).
    pub fn sandbox_error(message: impl Into<String>) -> RunCodeResponse {
        RunCodeResponse {
            status: "SandboxError",
            message: message.into(),
            compile_result: None,
            run_result: None,
            executor_pod_name: None,
            files: BTreeMap::new(),
        }
    }

    /// A run and its fetched files, base64-encoded by path.
    pub fn from_output(output: &cir_runtime::Output) -> RunCodeResponse {
        let mut response = RunCodeResponse::from_execution(&output.execution);
        response.files = output.files.iter().map(|(path, bytes)| (path.clone(), BASE64.encode(bytes))).collect();
        response
    }

    /// A run as SandboxFusion reports a `python file.py` process: `Finished` with the exit code (1 for an uncaught
    /// exception or a limit other than the deadline, whose one-line summary ends stderr), `TimeLimitExceeded` with no
    /// exit code for the deadline.
    pub fn from_execution(e: &Execution) -> RunCodeResponse {
        let timed_out = e.status == Status::Timeout;
        let return_code = match e.status {
            Status::Ok => Some(e.exit_code.unwrap_or(0)),
            Status::Timeout => None,
            _ => Some(e.exit_code.filter(|c| *c != 0).unwrap_or(1)),
        };
        let mut stderr = e.stderr.clone();
        if !matches!(e.status, Status::Ok | Status::Error | Status::Timeout)
            && let Some(summary) = &e.error
            && !stderr.contains(summary.as_str())
        {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(summary);
            stderr.push('\n');
        }
        let success = return_code == Some(0);
        RunCodeResponse {
            status: if success { "Success" } else { "Failed" },
            message: String::new(),
            compile_result: None,
            run_result: Some(CommandRunResult {
                status: if timed_out { "TimeLimitExceeded" } else { "Finished" },
                execution_time: Some(e.duration_ms / 1000.0),
                cpu_time: None,
                return_code,
                stdout: Some(e.stdout.clone()),
                stderr: Some(stderr),
            }),
            executor_pod_name: None,
            files: BTreeMap::new(),
        }
    }
}

/// Per-request limits of `/v1/exec`; absent fields take the server's defaults.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecLimits {
    /// Wall-clock deadline in seconds.
    pub timeout_s: Option<f64>,
    /// Linear-memory cap in MiB.
    pub memory_mib: Option<u64>,
    /// Cap on stdout + stderr in bytes.
    pub output_bytes: Option<usize>,
    /// Instruction budget (wasmtime fuel); slower guest code.
    pub fuel: Option<u64>,
}

/// `POST /v1/exec`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecRequest {
    pub code: String,
    /// Seed of the guest's randomness. Default 0.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub limits: Option<ExecLimits>,
    /// Print a final bare expression's value. Default true.
    #[serde(default)]
    pub echo: Option<bool>,
    /// Open a new session and run the code in it; the reply carries its id.
    #[serde(default)]
    pub stateful: bool,
    /// Run in this open session (its limits, seed and echo were fixed when it opened).
    #[serde(default)]
    pub session: Option<String>,
}

/// The reply of `POST /v1/exec`.
#[derive(Serialize)]
pub(crate) struct ExecResponse {
    pub execution: Execution,
    /// The exact text CIR appends after the code block.
    pub feedback: String,
    /// The session's id, for stateful runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// For stateful runs: false when this execution ended the session (a limit or trap stops its interpreter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_open: Option<bool>,
}

/// Grading conventions of `/v1/verify`; every default is `cir_verify::Options::default()`.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyOptions {
    pub ordered_lists: Option<bool>,
    pub unordered_tuples: Option<bool>,
    /// `lenient`, `unit`, `scaled` or `each-side`.
    pub percent: Option<String>,
    pub percent_scaling: Option<bool>,
    pub allow_renaming: Option<bool>,
    pub relation_vs_set: Option<bool>,
    pub coarser_decimal_precision: Option<bool>,
    pub relative_tolerance: Option<f64>,
    pub lenient_last_line: Option<bool>,
}

impl VerifyOptions {
    /// The verifier's options, or why they are invalid.
    pub fn resolve(&self) -> Result<cir_verify::Options, String> {
        let d = cir_verify::Options::default();
        let percent = match self.percent.as_deref() {
            None => cir_verify::PercentMode::default(),
            Some(name) => name.parse().map_err(|e| format!("options.percent: {e}"))?,
        };
        if let Some(t) = self.relative_tolerance
            && !(t.is_finite() && t >= 0.0)
        {
            return Err("options.relative_tolerance must be a finite number ≥ 0".into());
        }
        Ok(cir_verify::Options {
            ordered_lists: self.ordered_lists.unwrap_or(d.ordered_lists),
            unordered_tuples: self.unordered_tuples.unwrap_or(d.unordered_tuples),
            percent,
            percent_scaling: self.percent_scaling.unwrap_or(d.percent_scaling),
            allow_renaming: self.allow_renaming.unwrap_or(d.allow_renaming),
            relation_vs_set: self.relation_vs_set.unwrap_or(d.relation_vs_set),
            coarser_decimal_precision: self.coarser_decimal_precision.unwrap_or(d.coarser_decimal_precision),
            relative_tolerance: self.relative_tolerance.or(d.relative_tolerance),
            lenient_last_line: self.lenient_last_line.unwrap_or(d.lenient_last_line),
        })
    }
}

/// One pair to grade.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyPair {
    /// A bare answer or a whole response (its final answer is extracted).
    pub pred: String,
    /// A bare answer or a worked solution.
    pub gold: String,
    /// This pair's conventions; in a batch they override the batch's.
    #[serde(default)]
    pub options: Option<VerifyOptions>,
}

/// The batch form of `/v1/verify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBatch {
    pub items: Vec<VerifyPair>,
    #[serde(default)]
    pub options: Option<VerifyOptions>,
}

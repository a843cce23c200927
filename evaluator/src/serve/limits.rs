//! Limits: the server-wide defaults and maxima, and the one conversion of a request's limits into the [`Key`] of the
//! sandbox that runs it.

use std::time::Duration;

use cir_runtime::Limits;

use super::Options;
use super::api::ExecLimits;
use crate::Error;

/// Largest output cap a request may ask for: 64 MiB, so one reply stays a bounded allocation.
pub(crate) const MAX_OUTPUT_BYTES: usize = 64 << 20;

/// Server-wide limits and defaults, checked once.
pub(crate) struct Defaults {
    pub timeout: Duration,
    pub max_timeout: Duration,
    pub memory_mib: u64,
    pub max_memory_mib: u64,
    pub output_bytes: usize,
    pub max_body: usize,
}

/// What makes two sandboxes different: their limits and the echo setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub timeout_ms: u64,
    pub memory_bytes: u64,
    pub output_bytes: usize,
    pub fuel: Option<u64>,
    pub echo: bool,
}

impl Key {
    /// The sandbox limits this key stands for (the `/tmp` quotas are the runtime's defaults).
    pub fn limits(&self) -> Limits {
        Limits {
            timeout: Duration::from_millis(self.timeout_ms),
            memory_bytes: self.memory_bytes,
            output_bytes: self.output_bytes,
            fuel: self.fuel,
            ..Limits::default()
        }
    }
}

pub(crate) fn positive_secs(value: f64, flag: &str) -> Result<Duration, Error> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Config(format!("{flag} must be a positive number of seconds, not {value}")))
    }
}

impl Defaults {
    /// The server's limits from its flags.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a default past its maximum or a value out of range.
    pub fn from_args(args: &Options) -> Result<Defaults, Error> {
        let defaults = Defaults {
            timeout: positive_secs(args.timeout, "--timeout")?,
            max_timeout: positive_secs(args.max_timeout, "--max-timeout")?,
            memory_mib: args.memory,
            max_memory_mib: args.max_memory,
            output_bytes: args.output,
            max_body: args.max_body,
        };
        if defaults.timeout > defaults.max_timeout || defaults.memory_mib > defaults.max_memory_mib {
            return Err(Error::Config("--timeout and --memory must not exceed --max-timeout and --max-memory".into()));
        }
        if args.output == 0 || args.output > MAX_OUTPUT_BYTES {
            return Err(Error::Config(format!("--output must be in [1, {MAX_OUTPUT_BYTES}] bytes")));
        }
        Ok(defaults)
    }

    /// The key of a sandbox with these limits; every request's key is made here.
    fn key(&self, timeout: Duration, memory_mib: u64, output_bytes: usize, fuel: Option<u64>, echo: bool) -> Key {
        Key {
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX).max(1),
            memory_bytes: memory_mib.saturating_mul(1 << 20),
            output_bytes,
            fuel,
            echo,
        }
    }

    /// The sandbox loaded at start: the defaults, echo on (`/v1/exec`'s default).
    pub fn default_key(&self) -> Key {
        self.key(self.timeout, self.memory_mib, self.output_bytes, None, true)
    }

    /// `/run_code`'s sandbox: SandboxFusion's `run_timeout` (seconds) and `memory_limit_MB` (-1 or absent: the
    /// default) clamped to the maxima, as a SandboxFusion client expects a run rather than a refusal; no echo (a
    /// script).
    ///
    /// # Errors
    ///
    /// A message for a deadline that is not a positive number.
    pub fn run_code_key(&self, run_timeout: Option<f64>, memory_limit_mb: Option<i64>) -> Result<Key, String> {
        let timeout = match run_timeout {
            None => self.timeout,
            Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t.min(self.max_timeout.as_secs_f64())),
            Some(t) => return Err(format!("run_timeout must be a positive number of seconds, not {t}")),
        };
        let memory_mib = match memory_limit_mb {
            Some(m) if m > 0 => u64::try_from(m).unwrap_or(u64::MAX).min(self.max_memory_mib),
            _ => self.memory_mib,
        };
        Ok(self.key(timeout, memory_mib, self.output_bytes, None, false))
    }

    /// `/v1/exec`'s sandbox: absent limits take the defaults; a limit past its maximum is refused.
    ///
    /// # Errors
    ///
    /// A message naming the limit and its allowed range.
    pub fn exec_key(&self, limits: &ExecLimits, echo: Option<bool>) -> Result<Key, String> {
        let max_secs = self.max_timeout.as_secs_f64();
        let timeout = match limits.timeout_s {
            None => self.timeout,
            Some(t) if t.is_finite() && t > 0.0 && t <= max_secs => Duration::from_secs_f64(t),
            Some(t) => {
                return Err(format!("limits.timeout_s must be in (0, {max_secs}] seconds (--max-timeout), not {t}"));
            }
        };
        let memory_mib = limits.memory_mib.unwrap_or(self.memory_mib);
        if memory_mib == 0 || memory_mib > self.max_memory_mib {
            return Err(format!("limits.memory_mib must be in [1, {}] (--max-memory)", self.max_memory_mib));
        }
        let output_bytes = limits.output_bytes.unwrap_or(self.output_bytes);
        if output_bytes == 0 || output_bytes > MAX_OUTPUT_BYTES {
            return Err(format!("limits.output_bytes must be in [1, {MAX_OUTPUT_BYTES}]"));
        }
        Ok(self.key(timeout, memory_mib, output_bytes, limits.fuel, echo.unwrap_or(true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            timeout: Duration::from_secs(5),
            max_timeout: Duration::from_secs(60),
            memory_mib: 512,
            max_memory_mib: 4096,
            output_bytes: 1 << 20,
            max_body: 8 << 20,
        }
    }

    #[test]
    fn run_code_clamps_and_exec_refuses_past_the_maxima() {
        let d = defaults();
        let clamped = d.run_code_key(Some(600.0), Some(1 << 20)).expect("clamped, not refused");
        assert_eq!((clamped.timeout_ms, clamped.memory_bytes, clamped.echo), (60_000, 4096 << 20, false));
        let default = d.run_code_key(None, Some(-1)).expect("SandboxFusion's -1 is the default");
        assert_eq!((default.timeout_ms, default.memory_bytes), (5000, 512 << 20));
        assert!(d.run_code_key(Some(f64::NAN), None).is_err());
        let too_long = ExecLimits { timeout_s: Some(61.0), ..ExecLimits::default() };
        assert!(d.exec_key(&too_long, None).expect_err("refused").contains("--max-timeout"));
        let too_big = ExecLimits { memory_mib: Some(5000), ..ExecLimits::default() };
        assert!(d.exec_key(&too_big, None).expect_err("refused").contains("--max-memory"));
        assert_eq!(d.exec_key(&ExecLimits::default(), None), Ok(d.default_key()));
        let tiny = ExecLimits { timeout_s: Some(0.0001), ..ExecLimits::default() };
        assert_eq!(d.exec_key(&tiny, Some(false)).map(|k| (k.timeout_ms, k.echo)), Ok((1, false)));
    }
}

//! Per-execution limits.

use std::time::Duration;

/// Per-execution limits; each one that is hit gives its own [`Status`](crate::Status).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock deadline, enforced by epoch interruption (checked every 10 ms). Default 5 s, the reference
    /// executor's value. Hitting it gives `timeout`.
    pub timeout: Duration,
    /// Cap on the guest's linear memory in bytes. Default 512 MiB; the snapshot itself needs about 170 MiB, so a cap
    /// below that refuses every execution. Growing past it makes allocation fail (`MemoryError` in Python), reported
    /// as `memory_limit`.
    pub memory_bytes: u64,
    /// Cap on stdout plus stderr in bytes. Default 1 MiB. The guest is stopped at the first write past it, the output
    /// is kept up to the cap and marked truncated, and the status is `output_limit`.
    pub output_bytes: usize,
    /// Cap on the code's length in bytes, and on the standard input's ([`Sandbox::exec_with_stdin`]); longer input is
    /// refused before anything runs. Default 1 MiB.
    ///
    /// [`Sandbox::exec_with_stdin`]: crate::Sandbox::exec_with_stdin
    pub code_bytes: usize,
    /// Optional instruction budget (wasmtime fuel). Default `None`. Setting it makes the sandbox use a module compiled
    /// with fuel metering (compiled on first use; guest code runs slower). Running out gives `fuel_exhausted`.
    pub fuel: Option<u64>,
    /// Cap on the bytes the guest's `/tmp` holds (files' lengths plus symlink targets) in one execution, or in one
    /// [`Session`](crate::Session) as a whole. Default 64 MiB: far more than a math or coding task's data files, an
    /// eighth of the default memory cap, and a bound on host memory per running execution or open session
    /// (`cir-eval serve`'s defaults, one execution per core and 32 sessions, hold 2.1 GiB of files at worst on 2
    /// cores). The files live in host memory, which never holds more than this; past it the guest's write is short,
    /// then fails with `OSError: [Errno 51] No space left on device` (`ENOSPC`, WASI's number), and the execution
    /// goes on.
    pub tmp_bytes: u64,
    /// Cap on the names in the guest's `/tmp` (files, folders, symlinks, extra hard links) in one execution or
    /// session. Default 4096: more than any task writes, and it bounds the host's bookkeeping (a few hundred bytes
    /// per name). Past it, creating a name fails with `OSError: [Errno 19] Quota exceeded` (`EDQUOT`: a distinct
    /// errno, so a traceback tells the two quotas apart), and the execution goes on.
    pub tmp_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory_bytes: 512 << 20,
            output_bytes: 1 << 20,
            code_bytes: 1 << 20,
            fuel: None,
            tmp_bytes: 64 << 20,
            tmp_entries: 4096,
        }
    }
}

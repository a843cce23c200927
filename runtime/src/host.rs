//! The host side of one guest: store data, capped output, virtual clocks, seeded randomness and the memory limiter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::wasi::Files;

/// Everything one store holds: the guest's files and descriptors, its captured output, clocks, randomness and the
/// memory limiter.
pub(crate) struct HostState {
    pub(crate) files: Files,
    pub(crate) output: Captured,
    pub(crate) clock: VirtualClock,
    pub(crate) random: SeededRandom,
    pub(crate) limiter: MemoryLimiter,
}

/// stdout and stderr of one execution, capped together.
#[derive(Default)]
pub(crate) struct Captured {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) cap: usize,
    pub(crate) truncated: bool,
}

impl Captured {
    /// Empty streams under `cap`.
    pub(crate) fn new(cap: usize) -> Self {
        Captured { cap, ..Captured::default() }
    }

    /// Appends what fits under the cap to standard output or, when `stderr`, standard error; `false` when `bytes`
    /// did not fit (the output is then truncated).
    pub(crate) fn append(&mut self, stderr: bool, bytes: &[u8]) -> bool {
        let room = self.cap.saturating_sub(self.stdout.len() + self.stderr.len());
        let kept = &bytes[..bytes.len().min(room)];
        if stderr {
            self.stderr.extend_from_slice(kept)
        } else {
            self.stdout.extend_from_slice(kept)
        }
        if kept.len() < bytes.len() {
            self.truncated = true;
        }
        kept.len() == bytes.len()
    }
}

/// Each clock read advances virtual time by this much, so code that waits for time to pass (`timeit`, busy loops on
/// `time.monotonic()`) still ends, deterministically.
pub(crate) const TICK_NS: u64 = 1_000;
/// The monotonic clock's value at the start of every execution.
const MONOTONIC_START_NS: u64 = 1_000_000_000;

/// Virtual time shared by the wall clock, the monotonic clock and `poll_oneoff`: nanoseconds since the execution
/// started. Never reads the host's clocks.
#[derive(Clone)]
pub(crate) struct VirtualClock {
    elapsed: Arc<AtomicU64>,
    /// The wall clock at the start, since the Unix epoch.
    pub(crate) wall_start: Duration,
}

impl VirtualClock {
    pub(crate) fn new(wall_start: Duration) -> Self {
        VirtualClock { elapsed: Arc::new(AtomicU64::new(0)), wall_start }
    }
    fn read(&self) -> u64 {
        self.elapsed.fetch_add(TICK_NS, Ordering::Relaxed) + TICK_NS
    }
    /// Moves virtual time on by `ns` (a `poll_oneoff` wait).
    pub(crate) fn advance(&self, ns: u64) {
        self.elapsed.fetch_add(ns, Ordering::Relaxed);
    }
    fn peek(&self) -> u64 {
        self.elapsed.load(Ordering::Relaxed)
    }
    /// The monotonic clock without advancing it.
    pub(crate) fn monotonic_ns_peek(&self) -> u64 {
        MONOTONIC_START_NS + self.peek()
    }
    /// The wall clock in nanoseconds since the Unix epoch; a read, so it advances the clock.
    pub(crate) fn wall_ns(&self) -> u64 {
        self.wall_start_ns() + self.read()
    }
    /// The wall clock without advancing it.
    pub(crate) fn wall_ns_peek(&self) -> u64 {
        self.wall_start_ns() + self.peek()
    }
    fn wall_start_ns(&self) -> u64 {
        u64::try_from(self.wall_start.as_nanos()).unwrap_or(u64::MAX)
    }
    /// The monotonic clock in nanoseconds; a read, so it advances the clock.
    pub(crate) fn monotonic_ns(&self) -> u64 {
        MONOTONIC_START_NS + self.read()
    }
}

/// SplitMix64: a small, fast, well-mixed generator; `random_get` draws from it, seeded per execution.
pub(crate) struct SeededRandom(u64);

impl SeededRandom {
    pub(crate) fn new(seed: u64) -> Self {
        SeededRandom(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fills `out` with one draw per byte, bits 32–39 of each: the bytes wasmtime-wasi's `random_get` gave from this
    /// generator (rand's `u8` sample of `next_u32`, the upper half), kept so that recorded runs replay unchanged.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            *byte = (self.next_u64() >> 32) as u8;
        }
    }
}

/// Caps linear memory and remembers whether the cap refused a growth.
pub(crate) struct MemoryLimiter {
    pub(crate) max_bytes: usize,
    pub(crate) hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }
    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // CPython's function table never grows at run time; a generous bound keeps a hostile guest from asking for
        // gigabytes of table.
        Ok(desired <= 1 << 20)
    }
}

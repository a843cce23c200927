//! The host side of one guest: store data, capped output, virtual clocks, seeded randomness, the memory limiter and
//! the `poll_oneoff` that advances virtual time instead of sleeping.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::{Caller, Linker, ResourceLimiter};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Everything one store holds: the WASI context, the limiter and the virtual clock.
pub(crate) struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) clock: VirtualClock,
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
    /// Empties both streams for the next execution (a session's next turn) and sets the cap.
    pub(crate) fn reset(&mut self, cap: usize) {
        *self = Captured { cap, ..Captured::default() };
    }
}

pub(crate) type SharedOutput = Arc<Mutex<Captured>>;

/// One of the two output streams; both write into the same [`Captured`].
#[derive(Clone)]
pub(crate) struct Pipe {
    pub(crate) shared: SharedOutput,
    pub(crate) stderr: bool,
}

/// The largest write permitted at once; the cap is checked on every write.
const PERMIT: usize = 64 << 10;

impl Pipe {
    /// Appends what fits under the cap; `false` when `bytes` did not fit (the output is then truncated).
    fn append(&self, bytes: &[u8]) -> bool {
        let mut out = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let room = out.cap.saturating_sub(out.stdout.len() + out.stderr.len());
        let fits = bytes.len() <= room;
        let kept = &bytes[..bytes.len().min(room)];
        if self.stderr {
            out.stderr.extend_from_slice(kept)
        } else {
            out.stdout.extend_from_slice(kept)
        }
        if !fits {
            out.truncated = true;
        }
        fits
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Pipe {
    async fn ready(&mut self) {}
}

impl OutputStream for Pipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.append(&bytes) {
            Ok(())
        } else {
            // Stop the guest at once: a trap, reported as the output-limit status.
            Err(StreamError::trap("output limit reached"))
        }
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(PERMIT)
    }
}

impl tokio::io::AsyncWrite for Pipe {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.append(buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(std::io::Error::other("output limit reached")))
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for Pipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Pipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Each clock read advances virtual time by this much, so code that waits for time to pass (`timeit`, busy loops on
/// `time.monotonic()`) still ends, deterministically.
const TICK_NS: u64 = 1_000;
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
    fn advance(&self, ns: u64) {
        self.elapsed.fetch_add(ns, Ordering::Relaxed);
    }
    fn peek(&self) -> u64 {
        self.elapsed.load(Ordering::Relaxed)
    }
    pub(crate) fn wall(&self) -> impl HostWallClock + 'static {
        WallClock(self.clone())
    }
    pub(crate) fn monotonic(&self) -> impl HostMonotonicClock + 'static {
        MonotonicClock(self.clone())
    }
}

struct WallClock(VirtualClock);

impl HostWallClock for WallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(TICK_NS)
    }
    fn now(&self) -> Duration {
        self.0.wall_start + Duration::from_nanos(self.0.read())
    }
}

struct MonotonicClock(VirtualClock);

impl HostMonotonicClock for MonotonicClock {
    fn resolution(&self) -> u64 {
        TICK_NS
    }
    fn now(&self) -> u64 {
        MONOTONIC_START_NS + self.0.read()
    }
}

/// SplitMix64: a small, fast, well-mixed generator; `random_get` draws from it, seeded per execution.
pub(crate) struct SeededRandom(u64);

impl SeededRandom {
    pub(crate) fn new(seed: u64) -> Self {
        SeededRandom(seed)
    }
}

impl rand_core::TryRng for SeededRandom {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.try_next_u64().map(|x| (x >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let word = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
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

/// WASI errno values used by `poll_oneoff`.
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const SUBSCRIPTION_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const CLOCKID_REALTIME: u32 = 0;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

/// Shadows WASI's `poll_oneoff` so that waiting costs no host time: a clock subscription completes at once and
/// advances virtual time by what the guest asked to wait (`time.sleep(3)` returns immediately with the clocks 3 s
/// later); an fd subscription (stdin, files) is reported ready at once.
pub(crate) fn add_poll_oneoff(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        |mut caller: Caller<'_, HostState>, subs: i32, events: i32, count: i32, nevents: i32| -> i32 {
            poll_oneoff(
                &mut caller,
                subs as u32 as usize,
                events as u32 as usize,
                count as u32 as usize,
                nevents as u32 as usize,
            )
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn poll_oneoff(caller: &mut Caller<'_, HostState>, subs: usize, events: usize, count: usize, nevents: usize) -> i32 {
    if count == 0 {
        return ERRNO_INVAL;
    }
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return ERRNO_FAULT;
    };
    let (data, host) = memory.data_and_store_mut(&mut *caller);
    let Some(subs_bytes) = count.checked_mul(SUBSCRIPTION_SIZE).and_then(|n| data.get(subs..subs.checked_add(n)?))
    else {
        return ERRNO_FAULT;
    };
    let clock = &host.clock;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let mut ready: Vec<(u64, u8)> = Vec::new();
    let mut soonest: Option<(u64, u64)> = None; // (wait in ns, userdata)
    for sub in subs_bytes.chunks_exact(SUBSCRIPTION_SIZE) {
        let userdata = u64_at(sub, 0);
        let tag = sub[8];
        if tag == EVENTTYPE_CLOCK {
            let id = u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]);
            let timeout = u64_at(sub, 24);
            let flags = u16::from_le_bytes([sub[40], sub[41]]);
            let wait = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                let now = if id == CLOCKID_REALTIME {
                    u64::try_from((clock.wall_start + Duration::from_nanos(clock.peek())).as_nanos())
                        .unwrap_or(u64::MAX)
                } else {
                    MONOTONIC_START_NS + clock.peek()
                };
                timeout.saturating_sub(now)
            } else {
                timeout
            };
            if soonest.is_none_or(|(w, _)| wait < w) {
                soonest = Some((wait, userdata));
            }
        } else {
            ready.push((userdata, tag));
        }
    }
    if ready.is_empty()
        && let Some((wait, userdata)) = soonest
    {
        clock.advance(wait);
        ready.push((userdata, EVENTTYPE_CLOCK));
    }
    let Some(out) = ready.len().checked_mul(EVENT_SIZE).and_then(|n| data.get_mut(events..events.checked_add(n)?))
    else {
        return ERRNO_FAULT;
    };
    for (event, (userdata, tag)) in out.chunks_exact_mut(EVENT_SIZE).zip(&ready) {
        event.fill(0);
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[10] = *tag;
    }
    let n = ready.len() as u32;
    match data.get_mut(nevents..nevents + 4) {
        Some(slot) => {
            slot.copy_from_slice(&n.to_le_bytes());
            ERRNO_SUCCESS
        }
        None => ERRNO_FAULT,
    }
}

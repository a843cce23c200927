//! `poll_oneoff` without waiting: a clock subscription completes at once and advances virtual time by what the guest
//! asked to wait (`time.sleep(3)` returns immediately with the clocks 3 s later); a descriptor subscription (stdin,
//! files) is reported ready at once, since nothing the guest reads ever blocks.

use super::abi::{CLOCK_REALTIME, Errno, GuestMemory};
use crate::host::VirtualClock;

const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

/// Reads `count` subscriptions at `subs`, writes the events that fired at `events` and their number at `nevents`.
pub(crate) fn poll_oneoff(
    memory: &mut GuestMemory<'_>,
    clock: &VirtualClock,
    subs: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> Result<(), Errno> {
    if count == 0 {
        return Err(Errno::INVAL);
    }
    let table = memory.slice(subs, count.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::FAULT)?)?;
    let u64_at = |b: &[u8], at: usize| {
        u64::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]])
    };
    let mut ready: Vec<(u64, u8)> = Vec::new();
    let mut soonest: Option<(u64, u64)> = None; // (wait in ns, userdata)
    for sub in table.chunks_exact(SUBSCRIPTION_SIZE as usize) {
        let userdata = u64_at(sub, 0);
        let tag = sub[8];
        if tag == EVENTTYPE_CLOCK {
            let id = u32::from_le_bytes([sub[16], sub[17], sub[18], sub[19]]);
            let timeout = u64_at(sub, 24);
            let flags = u16::from_le_bytes([sub[40], sub[41]]);
            let wait = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                let now = if id == CLOCK_REALTIME { clock.wall_ns_peek() } else { clock.monotonic_ns_peek() };
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
    let n = ready.len() as u32;
    let out = memory.slice_mut(events, n * EVENT_SIZE)?;
    for (event, (userdata, tag)) in out.chunks_exact_mut(EVENT_SIZE as usize).zip(&ready) {
        event.fill(0);
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[10] = *tag;
    }
    memory.write_u32(nevents, n)
}

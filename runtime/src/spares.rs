//! Spare instances: a used instance whose memory was put back to the snapshot's bytes, kept for a later execution
//! instead of being dropped (mapping a new instance costs several times more; see [`reset`](crate::reset)).

use std::sync::{Mutex, PoisonError};

use crate::guest::Guest;
use crate::reset::PageScanner;
use crate::sandbox::Inner;
use crate::{Error, Execution};

/// A spare whose written pages pass this many bytes is dropped rather than restored. A restored page stays a private
/// copy, so a spare's set only grows (every reset copies all pages any of its executions wrote: ~1.2 MiB after
/// trivial ones, ~6 MiB after a sympy solve); past this, copying costs about as much as mapping a new instance.
const SPARE_DIRTY_CAP: usize = 16 << 20;

/// A used instance put back to the snapshot and its untouched twin (the source of the snapshot's bytes).
pub(crate) struct Spare {
    pub(crate) guest: Guest,
    pub(crate) pristine: Guest,
}

/// The spares of one sandbox.
pub(crate) struct Spares {
    /// `None` where the kernel cannot list written pages: every execution then maps a new instance.
    pub(crate) scanner: Option<PageScanner>,
    pub(crate) kept: Mutex<Vec<Spare>>,
    max: usize,
    /// The size of a new instance's linear memory; a used one that grew past it cannot be reset.
    snapshot_memory_bytes: u64,
}

impl Spares {
    pub(crate) fn new(scanner: Option<PageScanner>, max: usize, snapshot_memory_bytes: u64) -> Spares {
        Spares { scanner, kept: Mutex::new(Vec::new()), max, snapshot_memory_bytes }
    }

    /// A spare instance with its twin, else a newly mapped instance; `Err(execution)` as [`Guest::instantiate`].
    pub(crate) fn acquire(&self, inner: &Inner) -> Result<Result<(Guest, Option<Guest>), Execution>, Error> {
        if let Some(Spare { guest, pristine }) = self.kept.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(Ok((guest, Some(pristine))));
        }
        Ok(Guest::instantiate(inner)?.map(|guest| (guest, None)))
    }

    /// Puts `guest`'s memory back to the snapshot and keeps it as a spare; drops it instead when pages cannot be
    /// scanned, its memory grew (it cannot shrink), it wrote more than [`SPARE_DIRTY_CAP`], or enough spares wait.
    pub(crate) fn keep(&self, inner: &Inner, mut guest: Guest, pristine: Option<Guest>) {
        let Some(scanner) = &self.scanner else { return };
        if self.kept.lock().unwrap_or_else(PoisonError::into_inner).len() >= self.max {
            return;
        }
        // A memory that grew cannot shrink back: checked before a twin is mapped for nothing.
        if guest.memory_size() != self.snapshot_memory_bytes {
            return;
        }
        let pristine = match pristine {
            Some(pristine) => pristine,
            None => match Guest::instantiate(inner) {
                Ok(Ok(pristine)) => pristine,
                _ => return,
            },
        };
        let mut ranges = Vec::new();
        if !guest.restore_from(&pristine, scanner, &mut ranges, SPARE_DIRTY_CAP) {
            return;
        }
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).push(Spare { guest, pristine });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Sandbox, Status};

    #[test]
    fn a_spare_holds_exactly_the_snapshot_bytes() {
        let sandbox = Sandbox::builder().spare_instances(1).build().expect("the sandbox loads");
        if sandbox.inner.spares.scanner.is_none() {
            return crate::reset::unsupported_here();
        }
        let traces = include_str!("../tests/py/leave_traces.py");
        for seed in 0..3 {
            let run = sandbox.exec(traces, seed).expect("runs");
            assert_eq!(run.status, Status::Error, "{run:?}");
        }
        let mut spares = sandbox.inner.spares.kept.lock().expect("not poisoned");
        assert_eq!(spares.len(), 1, "the instance was not kept");
        let Spare { guest, pristine } = &mut spares[0];
        assert_eq!(guest.tmp_usage(), (0, 0), "a spare kept its execution's /tmp");
        let differing = guest.pages_differing_from(pristine);
        assert!(
            differing.is_empty(),
            "{} pages differ from the snapshot, first {:?}",
            differing.len(),
            differing.first()
        );
        assert_eq!(guest.globals(), pristine.globals());
    }

    #[test]
    fn without_page_scans_every_execution_maps_a_new_instance_and_keeps_nothing() {
        // The fallback path (kernels without PAGEMAP_SCAN, macOS): no spare is ever kept and no turn is taken, yet
        // every execution starts fresh. Forced here by taking the scanner away.
        let mut sandbox = Sandbox::builder().spare_instances(2).build().expect("the sandbox loads");
        let inner = std::sync::Arc::get_mut(&mut sandbox.inner).expect("the only handle");
        inner.spares.scanner = None;
        inner.turns = crate::sandbox::Turns::new(0);
        let traces = include_str!("../tests/py/leave_traces.py");
        let check = include_str!("../tests/py/check_traces.py");
        let before = sandbox.exec(check, 3).expect("runs");
        assert_eq!(before.status, Status::Ok, "{before:?}");
        for seed in 0..3 {
            let left = sandbox.exec(traces, seed).expect("runs");
            assert_eq!(left.error.as_deref(), Some("RuntimeError: left traces"), "{left:?}");
            let after = sandbox.exec(check, 3).expect("runs");
            assert_eq!(after.stdout, before.stdout);
        }
        assert!(sandbox.inner.spares.kept.lock().expect("not poisoned").is_empty(), "an instance was kept");
    }
}

//! What executions run in: sandboxes per limit set and stateful sessions (the jobs themselves run on
//! [`cir_runtime::Queue`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cir_runtime::{Sandbox, Session};

use super::limits::Key;

/// Sandboxes by limit set, built on first use and kept for later requests; the least recently used one is dropped
/// when more than `cap` distinct sets are asked for (each holds the compiled module and its memory image, ~350 MiB).
pub(crate) struct Sandboxes {
    built: Mutex<Vec<(Key, Sandbox, Instant)>>,
    building: Mutex<()>,
    options: cir_python_wasm::Options,
    cap: usize,
}

impl Sandboxes {
    pub fn new(options: cir_python_wasm::Options, cap: usize) -> Sandboxes {
        Sandboxes { built: Mutex::new(Vec::new()), building: Mutex::new(()), options, cap: cap.max(1) }
    }

    fn cached(&self, key: &Key) -> Option<Sandbox> {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = built.iter_mut().find(|(k, _, _)| k == key)?;
        entry.2 = Instant::now();
        Some(entry.1.clone())
    }

    /// The sandbox for `key`, building it (seconds: loading the compiled module) when it is not cached.
    pub fn get(&self, key: Key, report: &dyn Fn(&str)) -> Result<Sandbox, cir_runtime::Error> {
        if let Some(s) = self.cached(&key) {
            return Ok(s);
        }
        // One build at a time: two requests with the same new limits must not load the module twice.
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = self.cached(&key) {
            return Ok(s);
        }
        let sandbox = Sandbox::builder()
            .limits(key.limits())
            .echo_last_expression(key.echo)
            .interpreter(self.options.clone())
            .build_with_progress(report)?;
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if built.len() >= self.cap
            && let Some(oldest) = built.iter().enumerate().min_by_key(|(_, e)| e.2).map(|(i, _)| i)
        {
            built.swap_remove(oldest);
        }
        built.push((key, sandbox.clone(), Instant::now()));
        Ok(sandbox)
    }
}

/// One open session: its interpreter (None until the first execution created it) and when it was last used.
pub(crate) struct Slot {
    pub state: Mutex<SlotState>,
}

/// The mutable part of a [`Slot`]; a worker holds its lock for the duration of an execution.
pub(crate) struct SlotState {
    pub session: Option<Session>,
    pub last_used: Instant,
}

/// Open sessions by id, with a cap and an idle expiry.
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Arc<Slot>>>,
    pub cap: usize,
    pub idle: Duration,
    ids: std::hash::RandomState,
    counter: AtomicUsize,
}

impl Sessions {
    pub fn new(cap: usize, idle: Duration) -> Sessions {
        Sessions {
            open: Mutex::new(HashMap::new()),
            cap,
            idle,
            ids: std::hash::RandomState::new(),
            counter: AtomicUsize::new(0),
        }
    }

    /// An unguessable id: 128 bits from the process's random hash keys and a counter.
    fn new_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let half = |salt: u64| {
            let mut h = self.ids.build_hasher();
            h.write_usize(n);
            h.write_u64(salt);
            h.finish()
        };
        format!("{:016x}{:016x}", half(0x5e55_1011), half(0x1d5_c0de))
    }

    /// Reserves a slot for a new session; None when the cap is reached (after dropping expired sessions).
    pub fn reserve(&self) -> Option<(String, Arc<Slot>)> {
        self.expire();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= self.cap {
            return None;
        }
        let id = self.new_id();
        let slot = Arc::new(Slot { state: Mutex::new(SlotState { session: None, last_used: Instant::now() }) });
        open.insert(id.clone(), Arc::clone(&slot));
        Some((id, slot))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Slot>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Closes a session; false when it was not open. A running execution finishes first, then the interpreter goes.
    pub fn remove(&self, id: &str) -> bool {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Drops sessions idle for longer than the expiry (a session in use is never idle).
    pub fn expire(&self) {
        let idle = self.idle;
        self.open.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, slot| match slot.state.try_lock() {
            Ok(state) => state.last_used.elapsed() <= idle,
            Err(std::sync::TryLockError::WouldBlock) => true,
            // A worker panicked holding it: the interpreter's state is unknown, so the session goes.
            Err(std::sync::TryLockError::Poisoned(_)) => false,
        });
    }
}

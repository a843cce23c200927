//! One guest's lifecycle: an instance is mapped ([`Guest::instantiate`]), given a host side for an execution
//! ([`Guest::begin`]: `/tmp`, stdin, output, clocks, randomness, the reseed turn), runs code ([`Guest::run`]), and
//! gives its host side up ([`Guest::end`]) before it is kept as a spare or dropped.

use std::ops::Range;
use std::time::Instant;

use cir_python_wasm::guest::TMP_GUEST;
use wasmtime::{Instance, Memory, Store};

use crate::host::{Captured, HostState, MemoryLimiter, SeededRandom, VirtualClock};
use crate::reset::PageScanner;
use crate::sandbox::{Inner, tmp_relative};
use crate::wasi::{Errno, Files, Quota, Tree};
use crate::{Error, Execution, Status, deadline, outcome};

/// The device number of `/tmp`'s tree (`st_dev`); the stdlib folder's is 1.
const TMP_DEV: u64 = 2;

/// One live instance and the host side of its current execution.
pub(crate) struct Guest {
    store: Store<HostState>,
    instance: Instance,
    memory: Memory,
}

/// The host side of an instance between executions: an empty `/tmp` that holds nothing, no input, no output.
fn idle_state(inner: &Inner) -> HostState {
    host_state(inner, 0, Vec::new(), Quota { bytes: 0, entries: 0 })
}

fn host_state(inner: &Inner, seed: u64, stdin: Vec<u8>, quota: Quota) -> HostState {
    let clock = VirtualClock::new(inner.wall_start);
    let tmp = Tree::new(TMP_DEV, quota, clock.wall_ns_peek());
    HostState {
        files: Files::new(inner.stdlib.clone(), tmp, stdin, clock.clone()),
        output: Captured::new(inner.limits.output_bytes),
        clock,
        random: SeededRandom::new(seed),
        limiter: MemoryLimiter { max_bytes: inner.max_memory(), hit: false },
    }
}

impl Guest {
    /// Maps a new instance of the snapshot with an idle host side; `Ok(Err(execution))` when the memory limit is
    /// below what the snapshot needs, which every execution then reports.
    pub(crate) fn instantiate(inner: &Inner) -> Result<Result<Guest, Execution>, Error> {
        let mut store = Store::new(&inner.interpreter.engine, idle_state(inner));
        store.limiter(|h| &mut h.limiter);
        // Instantiation is bounded too (it only maps the snapshot's memory).
        store.set_epoch_deadline(deadline::ticks(inner.limits.timeout));
        store.epoch_deadline_trap();
        let instance = match inner.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(e) if store.data().limiter.hit => {
                let mut refused = Execution::new(Status::MemoryLimit);
                refused.error = Some(format!(
                    "MemoryError: the memory limit of {} MiB is below what the interpreter needs to start ({e})",
                    inner.limits.memory_bytes >> 20
                ));
                return Ok(Err(refused));
            }
            Err(e) => return Err(Error::wasm("instantiating the interpreter")(e)),
        };
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(Error::Wasm { stage: "instantiating the interpreter", reason: "no exported memory".into() })?;
        Ok(Ok(Guest { store, instance, memory }))
    }

    /// Gives the instance a new host side for one execution (an empty `/tmp`, `stdin`, output, clocks at their start,
    /// randomness seeded with `seed`), then runs the turn that reseeds the guest's `random` and `numpy.random` and
    /// enters `/tmp`.
    pub(crate) fn begin(&mut self, inner: &Inner, seed: u64, stdin: Vec<u8>) -> Result<(), Error> {
        let quota = Quota { bytes: inner.limits.tmp_bytes, entries: inner.limits.tmp_entries };
        *self.store.data_mut() = host_state(inner, seed, stdin, quota);
        self.store.set_epoch_deadline(deadline::ticks(inner.limits.timeout));
        if let Some(fuel) = inner.limits.fuel {
            self.store.set_fuel(fuel).map_err(Error::wasm("setting fuel"))?;
        }
        match cir_python_wasm::turn(&mut self.store, &self.instance, &begin_code(seed)) {
            Ok(0) => Ok(()),
            Ok(status) => Err(Error::Wasm { stage: "starting the execution", reason: format!("status {status}") }),
            Err(e) => Err(Error::wasm("starting the execution")(e)),
        }
    }

    /// Puts the idle host side back: the execution's files, input and output go with it, not with the instance.
    pub(crate) fn end(&mut self, inner: &Inner) {
        *self.store.data_mut() = idle_state(inner);
    }

    /// Places a file of [`Input::files`](crate::Input::files) in `/tmp`.
    pub(crate) fn put_file(&mut self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        let failed = |reason: String| Error::File { path: path.to_owned(), reason };
        let relative = tmp_relative(path).ok_or_else(|| failed(format!("it is not a path in {TMP_GUEST}")))?;
        let (tmp, now) = self.store.data_mut().files.tmp_mut();
        let quota = tmp.quota();
        tmp.put_file(relative, bytes, now).map_err(|errno| {
            failed(match errno {
                Errno::NOSPC => {
                    format!("the files pass the {}-byte quota of {TMP_GUEST} (Limits::tmp_bytes)", quota.bytes)
                }
                Errno::DQUOT => {
                    format!("the files pass the {}-entry quota of {TMP_GUEST} (Limits::tmp_entries)", quota.entries)
                }
                Errno::NOTDIR | Errno::EXIST => "a file is in the way of a folder, or a folder of the file".into(),
                _ => "it leaves the folder (`..`) or is not a valid name".into(),
            })
        })
    }

    /// A file of [`Input::fetch`](crate::Input::fetch): the bytes of the regular file at `path` in `/tmp`.
    pub(crate) fn file(&self, path: &str) -> Option<&[u8]> {
        self.store.data().files.tmp().file_bytes(tmp_relative(path)?)
    }

    /// Runs one turn of `code` under fresh deadline, fuel and output caps. The flag is true when the interpreter was
    /// stopped mid-turn (a trap or a limit), so it must not run again.
    pub(crate) fn run(&mut self, inner: &Inner, code: &str, started: Instant) -> (Execution, bool) {
        let host = self.store.data_mut();
        host.output = Captured::new(inner.limits.output_bytes);
        host.limiter.hit = false;
        self.store.set_epoch_deadline(deadline::ticks(inner.limits.timeout));
        if let Some(fuel) = inner.limits.fuel
            && self.store.set_fuel(fuel).is_err()
        {
            return (Execution::new(Status::Crash), true);
        }
        let source = if inner.echo { code.to_string() } else { no_echo(code) };
        let turn = cir_python_wasm::turn(&mut self.store, &self.instance, &source);
        let stopped = turn.is_err();
        let captured = std::mem::take(&mut self.store.data_mut().output);
        let memory_hit = self.store.data().limiter.hit;
        let fuel_out = inner.limits.fuel.is_some() && self.store.get_fuel().is_ok_and(|f| f == 0);
        let mut execution = outcome::classify(turn, &captured, memory_hit, fuel_out, &inner.limits);
        execution.stdout = String::from_utf8_lossy(&captured.stdout).into_owned();
        execution.stderr = String::from_utf8_lossy(&captured.stderr).into_owned();
        execution.truncated = captured.truncated;
        execution.duration_ms = started.elapsed().as_secs_f64() * 1e3;
        (execution, stopped)
    }

    /// The size of the linear memory now.
    pub(crate) fn memory_size(&self) -> u64 {
        self.memory.data_size(&self.store) as u64
    }

    /// Copies the pages this instance wrote back from `pristine` (an untouched instance of the same snapshot);
    /// false, leaving it unusable, when the pages cannot be listed or pass `cap` bytes.
    pub(crate) fn restore_from(
        &mut self,
        pristine: &Guest,
        scanner: &PageScanner,
        ranges: &mut Vec<Range<usize>>,
        cap: usize,
    ) -> bool {
        let source = pristine.memory.data(&pristine.store);
        let target = self.memory.data_mut(&mut self.store);
        if scanner.private_pages(target, ranges).is_err() || ranges.iter().map(|r| r.len()).sum::<usize>() > cap {
            return false;
        }
        for range in ranges.iter() {
            target[range.clone()].copy_from_slice(&source[range.clone()]);
        }
        true
    }

    /// Bytes and entries in `/tmp`.
    #[cfg(test)]
    pub(crate) fn tmp_usage(&self) -> (u64, usize) {
        self.store.data().files.tmp().usage()
    }

    /// The 4 KiB pages whose bytes differ from `other`'s.
    #[cfg(test)]
    pub(crate) fn pages_differing_from(&self, other: &Guest) -> Vec<usize> {
        let (a, b) = (self.memory.data(&self.store), other.memory.data(&other.store));
        if a.len() != b.len() {
            return vec![usize::MAX];
        }
        a.chunks(4096).zip(b.chunks(4096)).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect()
    }

    /// The values of the exported globals.
    #[cfg(test)]
    pub(crate) fn globals(&mut self) -> Vec<String> {
        let exports: Vec<_> = self.instance.exports(&mut self.store).filter_map(|e| e.into_global()).collect();
        exports.into_iter().map(|g| format!("{:?}", g.get(&mut self.store))).collect()
    }
}

/// The turn that starts every execution: it reseeds the `random` module and, when the snapshot holds it,
/// `numpy.random` from the execution's seed, and enters `/tmp` (the working folder, as SandboxFusion runs code in
/// the folder holding its files); it binds no name and prints nothing. A `numpy.random` the code imports later seeds
/// itself from `random_get`, which the execution's seed already fixes (and importing it here would cost
/// milliseconds on every execution).
fn begin_code(seed: u64) -> String {
    format!(
        "__import__('random').seed({seed}) or (__import__('sys').modules.get('numpy.random') and \
         __import__('sys').modules['numpy.random'].seed({})) or __import__('os').chdir('{TMP_GUEST}')",
        seed & 0xffff_ffff
    )
}

/// `code` followed by a `pass` statement, so a final bare expression is not echoed.
fn no_echo(code: &str) -> String {
    format!("{code}\npass\n")
}

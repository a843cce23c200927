//! The wall-clock deadline: a thread advances the engine's epoch every [`TICK`]; a store's deadline is a number of
//! ticks, past which wasmtime traps the guest with `Interrupt`.

use std::time::Duration;

use wasmtime::Engine;

use crate::Error;

/// How often the deadline is checked: the epoch ticker's period.
const TICK: Duration = Duration::from_millis(10);

/// The ticks a store may run for `timeout` (at least one, plus one for the tick already under way).
pub(crate) fn ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / TICK.as_nanos()).max(1) as u64 + 1
}

/// Starts the thread that advances `engine`'s epoch every [`TICK`] while the engine lives.
pub(crate) fn start_ticker(engine: &Engine) -> Result<(), Error> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("cir-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map(drop)
        .map_err(Error::Thread)
}

//! How a turn ended, as a [`Status`] and a one-line error: the caller's outcome classification.

use crate::host::Captured;
use crate::wasi::Exit;
use crate::{Execution, Limits, Status};

/// Maps the turn's result (its status, or the trap or exit that stopped it) to a status and one-line error. The
/// output cap wins over everything (the guest was stopped at its first write past it); a guest's `exit(n)` is an
/// exit code, never a trap.
pub(crate) fn classify(
    turn: wasmtime::Result<i32>,
    captured: &Captured,
    memory_hit: bool,
    fuel_out: bool,
    limits: &Limits,
) -> Execution {
    let last_line = || {
        let text = String::from_utf8_lossy(&captured.stderr);
        text.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim_end().to_string())
    };
    let mut run = match turn {
        _ if captured.truncated => {
            let mut run = Execution::new(Status::OutputLimit);
            run.error = Some(format!("OutputLimit: output passed the limit of {} bytes", limits.output_bytes));
            run
        }
        Ok(0) => Execution::new(Status::Ok),
        Ok(status) => {
            let mut run = Execution::new(if memory_hit { Status::MemoryLimit } else { Status::Error });
            run.error = last_line().or_else(|| Some(format!("SystemExit: {status}")));
            if status != 1 {
                run.exit_code = Some(status);
            }
            run
        }
        Err(e) => {
            let trap = e.downcast_ref::<wasmtime::Trap>().copied();
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                let mut run = Execution::new(if *code == 0 { Status::Ok } else { Status::Error });
                run.exit_code = Some(*code);
                if *code != 0 {
                    run.error = last_line().or_else(|| Some(format!("SystemExit: {code}")));
                }
                run
            } else if trap == Some(wasmtime::Trap::Interrupt) {
                let mut run = Execution::new(Status::Timeout);
                run.error = Some(format!("Timeout Error: passed the {:.1} s deadline", limits.timeout.as_secs_f64()));
                run
            } else if trap == Some(wasmtime::Trap::OutOfFuel) || fuel_out {
                let mut run = Execution::new(Status::FuelExhausted);
                run.error = Some("FuelExhausted: the instruction budget ran out".into());
                run
            } else if memory_hit {
                let mut run = Execution::new(Status::MemoryLimit);
                run.error = Some(format!("MemoryError: passed the memory limit of {} MiB", limits.memory_bytes >> 20));
                run
            } else {
                let mut run = Execution::new(Status::Crash);
                let reason = trap.map_or_else(|| format!("{e}"), |t| t.to_string());
                run.error = Some(format!("Crash: the interpreter trapped: {}", reason.lines().next().unwrap_or("")));
                run
            }
        }
    };
    if run.status == Status::Ok {
        run.error = None;
    }
    run
}

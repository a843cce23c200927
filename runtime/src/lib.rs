//! `cir-runtime`: runs untrusted Python in a deterministic, isolated, limited WASI CPython.
//!
//! The main types: [`Sandbox`] (built by [`SandboxBuilder`]) runs each code block in a **fresh instance** of the
//! pre-initialised interpreter snapshot (copy-on-write memory, so nothing carries over between executions);
//! [`Session`] keeps one interpreter across calls (stateful mode, opt-in); [`Pool`] runs many executions on worker
//! threads behind a bounded [`Queue`]. Each returns an [`Execution`] whose [`Status`] tells every outcome apart.
//!
//! ```no_run
//! let sandbox = cir_runtime::Sandbox::builder().build()?;
//! let run = sandbox.exec("import sympy\nprint(sympy.factorint(360))", 0)?;
//! assert_eq!(run.status, cir_runtime::Status::Ok);
//! assert_eq!(run.stdout, "{2: 3, 3: 2, 5: 1}\n");
//! # Ok::<(), cir_runtime::Error>(())
//! ```
//!
//! # What the guest sees
//!
//! - Files: the read-only stdlib zip at `/usr/local/lib` and a private, writable `/tmp`, which is also the folder the
//!   code starts in. Both live in memory on the host side (the stdlib read once when the sandbox is built): no host
//!   file is created, opened or listed while code runs. `/tmp` starts empty (or holding [`Input::files`]) for each
//!   execution and persists across a [`Session`]'s calls; it holds at most [`Limits::tmp_bytes`] bytes and
//!   [`Limits::tmp_entries`] names (past them the guest gets `ENOSPC` / `EDQUOT` and goes on). Nothing else: no
//!   other host file, no network, no processes, no host environment (a fixed minimal one), and `host.call` refuses
//!   every call.
//! - Determinism: the same code and seed give byte-identical output on every run and machine. The wall clock starts
//!   at a fixed instant (default 2024-01-01T00:00:00Z, [`SandboxBuilder::wall_clock_start`]) and, like the monotonic
//!   clock, advances 1 µs per read; file timestamps are such reads, inode numbers count up from 1, folders list in
//!   byte order; `random_get` (`os.urandom`, hash seeding) draws from SplitMix64 seeded with the execution's seed;
//!   `random` and `numpy.random` are reseeded from it before each execution; `PYTHONHASHSEED=0`.
//! - `time.sleep(s)` (and any `poll_oneoff` wait) returns at once and advances the virtual clocks by `s`: the guest
//!   sees the time pass, the host spends none. A guest that sleeps in a loop still hits the wall-clock deadline.
//! - Echo: by default a final bare expression's value is printed, as in a REPL, when it is not `None`
//!   ([`SandboxBuilder::echo_last_expression`]). `false` gives the reference executor's behaviour (plain `exec`).
//!
//! # How it is built
//!
//! `builder` loads the interpreter; `sandbox` admits an execution and takes an instance from `spares` (a used
//! one put back to the snapshot, see `reset`) or maps a new one; `guest` gives it a host side and runs the code;
//! `outcome` turns how the turn ended into a [`Status`]; `wasi` is everything the guest can call.
#![deny(missing_docs)]

pub use builder::SandboxBuilder;
pub use cir_record::{Execution, Status};
pub use error::Error;
pub use limits::Limits;
pub use pool::Pool;
pub use queue::{Queue, Ticket};
pub use sandbox::{Input, Output, Sandbox};
pub use session::Session;

mod builder;
mod deadline;
mod error;
mod guest;
mod host;
mod limits;
mod outcome;
mod pool;
mod queue;
mod reset;
mod rollout;
mod sandbox;
mod session;
mod spares;
mod wasi;

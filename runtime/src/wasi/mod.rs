//! WASI preview 1, implemented here in full: every import of `wasi_snapshot_preview1` the interpreter can call.
//!
//! The guest's files live in memory on the host side ([`tree`]): the stdlib folder (read once when the sandbox is
//! built, shared and read-only) and a private `/tmp` per execution or session, bounded by
//! [`Limits::tmp_bytes`](crate::Limits::tmp_bytes) and [`Limits::tmp_entries`](crate::Limits::tmp_entries).
//! Nothing touches the host's file system while code runs, and everything the guest can observe is a function of
//! its code and seed: timestamps come from the virtual clock, inode numbers are assigned in order, folders list in
//! byte order. Clocks never read the host's ([`VirtualClock`]), `poll_oneoff` never sleeps ([`poll`]), randomness
//! is seeded ([`SeededRandom`]); sockets, signals and processes do not exist.
//!
//! Implementing the calls here, rather than through `wasi-common`'s `WasiDir`/`WasiFile` traits (made for virtual
//! files, but frozen at wasmtime 46 and linked through wasmtime 46's `Linker`, so a second wasmtime in the build),
//! costs about as many lines as the trait glue would and leaves one implementation of every call, with no
//! host-file-system code path at all. `docs/sandbox.md` records the measurements.
//!
//! [`VirtualClock`]: crate::host::VirtualClock
//! [`SeededRandom`]: crate::host::SeededRandom

mod abi;
mod files;
mod poll;
mod tree;

pub(crate) use abi::Errno;
pub(crate) use files::Files;
pub(crate) use tree::{Quota, Tree};

use cir_python_wasm::guest::{ARGV0, ENV};
use wasmtime::{Caller, Extern, Linker};

use crate::host::{HostState, TICK_NS};
use abi::GuestMemory;

const MODULE: &str = "wasi_snapshot_preview1";

/// A guest's `exit`: stops the turn with its status (`proc_exit`), told apart from a trap.
#[derive(Debug)]
pub(crate) struct Exit(pub(crate) i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the guest exited with status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Why a call stops the guest instead of returning an errno.
enum Stop {
    Errno(Errno),
    Trap(wasmtime::Error),
}

impl From<Errno> for Stop {
    fn from(e: Errno) -> Self {
        Stop::Errno(e)
    }
}

/// Runs `f` with the guest's memory and the host state; its errno is the call's result.
fn call(
    caller: &mut Caller<'_, HostState>,
    f: impl FnOnce(&mut GuestMemory<'_>, &mut HostState) -> Result<(), Stop>,
) -> wasmtime::Result<i32> {
    let Some(memory) = caller.get_export("memory").and_then(Extern::into_memory) else {
        return Ok(i32::from(Errno::FAULT.0));
    };
    let (bytes, host) = memory.data_and_store_mut(caller);
    match f(&mut GuestMemory::new(bytes), host) {
        Ok(()) => Ok(0),
        Err(Stop::Errno(e)) => Ok(i32::from(e.0)),
        Err(Stop::Trap(trap)) => Err(trap),
    }
}

/// A `u64` argument passed as `i64`, and a pointer or count passed as `i32`.
fn u64_arg(v: i64) -> u64 {
    v as u64
}
fn u32_arg(v: i32) -> u32 {
    v as u32
}

/// Writes NUL-terminated `items` at `buf` and a pointer to each at `ptrs` (`args_get`, `environ_get`).
fn write_strings(memory: &mut GuestMemory<'_>, ptrs: u32, buf: u32, items: &[String]) -> Result<(), Errno> {
    let mut at = buf;
    for (i, item) in items.iter().enumerate() {
        memory.write_u32(ptrs.checked_add(4 * i as u32).ok_or(Errno::FAULT)?, at)?;
        let len = item.len() as u32 + 1;
        let out = memory.slice_mut(at, len)?;
        out[..item.len()].copy_from_slice(item.as_bytes());
        out[item.len()] = 0;
        at = at.checked_add(len).ok_or(Errno::FAULT)?;
    }
    Ok(())
}

fn write_sizes(memory: &mut GuestMemory<'_>, count: u32, size: u32, items: &[String]) -> Result<(), Errno> {
    memory.write_u32(count, items.len() as u32)?;
    memory.write_u32(size, items.iter().map(|s| s.len() as u32 + 1).sum())
}

fn args() -> Vec<String> {
    vec![ARGV0.to_owned()]
}

fn environ() -> Vec<String> {
    ENV.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Reads every iovec of a read call into one buffer after another, stopping at a short read.
fn read_into(
    memory: &mut GuestMemory<'_>,
    iovs: u32,
    count: u32,
    mut read: impl FnMut(&mut [u8], u64) -> Result<usize, Errno>,
) -> Result<u32, Errno> {
    let mut total: u64 = 0;
    for (ptr, len) in memory.iovecs(iovs, count)? {
        let n = read(memory.slice_mut(ptr, len)?, total)?;
        total += n as u64;
        if n < len as usize {
            break;
        }
    }
    u32::try_from(total).map_err(|_| Errno::OVERFLOW)
}

/// The buffers of a write call's iovecs.
fn gather<'m>(memory: &'m GuestMemory<'_>, iovs: u32, count: u32) -> Result<Vec<&'m [u8]>, Errno> {
    memory.iovecs(iovs, count)?.into_iter().map(|(ptr, len)| memory.slice(ptr, len)).collect()
}

/// `fd_write`: standard output and error go to the captured output, whose cap stops the guest (a trap, reported
/// as the output-limit status); anything else to the file.
fn fd_write(memory: &mut GuestMemory<'_>, host: &mut HostState, fd: u32, iovs: u32, count: u32) -> Result<u32, Stop> {
    let bufs = gather(memory, iovs, count)?;
    let n = match host.files.output(fd) {
        Some(stderr) => {
            let mut n = 0;
            for buf in &bufs {
                if !host.output.append(stderr, buf) {
                    return Err(Stop::Trap(wasmtime::format_err!("output limit reached")));
                }
                n += buf.len();
            }
            n
        }
        None => host.files.write(fd, &bufs)?,
    };
    Ok(u32::try_from(n).map_err(|_| Errno::OVERFLOW)?)
}

/// Links every WASI preview 1 import to this implementation.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    type C<'a> = Caller<'a, HostState>;
    linker.func_wrap(MODULE, "args_get", |mut c: C<'_>, argv: i32, buf: i32| {
        call(&mut c, |m, _| Ok(write_strings(m, u32_arg(argv), u32_arg(buf), &args())?))
    })?;
    linker.func_wrap(MODULE, "args_sizes_get", |mut c: C<'_>, count: i32, size: i32| {
        call(&mut c, |m, _| Ok(write_sizes(m, u32_arg(count), u32_arg(size), &args())?))
    })?;
    linker.func_wrap(MODULE, "environ_get", |mut c: C<'_>, env: i32, buf: i32| {
        call(&mut c, |m, _| Ok(write_strings(m, u32_arg(env), u32_arg(buf), &environ())?))
    })?;
    linker.func_wrap(MODULE, "environ_sizes_get", |mut c: C<'_>, count: i32, size: i32| {
        call(&mut c, |m, _| Ok(write_sizes(m, u32_arg(count), u32_arg(size), &environ())?))
    })?;
    linker.func_wrap(MODULE, "clock_res_get", |mut c: C<'_>, id: i32, out: i32| {
        call(&mut c, |m, _| match u32_arg(id) {
            abi::CLOCK_REALTIME | abi::CLOCK_MONOTONIC => Ok(m.write_u64(u32_arg(out), TICK_NS)?),
            // The CPU-time clocks, as wasmtime-wasi answers: there is no such clock to read.
            2 | 3 => Err(Errno::BADF.into()),
            _ => Err(Errno::INVAL.into()),
        })
    })?;
    linker.func_wrap(MODULE, "clock_time_get", |mut c: C<'_>, id: i32, _precision: i64, out: i32| {
        call(&mut c, |m, h| {
            let now = match u32_arg(id) {
                abi::CLOCK_REALTIME => h.clock.wall_ns(),
                abi::CLOCK_MONOTONIC => h.clock.monotonic_ns(),
                2 | 3 => return Err(Errno::BADF.into()),
                _ => return Err(Errno::INVAL.into()),
            };
            Ok(m.write_u64(u32_arg(out), now)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_advise", |mut c: C<'_>, fd: i32, _offset: i64, _len: i64, advice: i32| {
        call(&mut c, |_, h| {
            if !(0..=5).contains(&advice) {
                return Err(Errno::INVAL.into());
            }
            Ok(h.files.sync(u32_arg(fd))?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_allocate", |mut c: C<'_>, fd: i32, offset: i64, len: i64| {
        call(&mut c, |_, h| Ok(h.files.allocate(u32_arg(fd), u64_arg(offset), u64_arg(len))?))
    })?;
    linker.func_wrap(MODULE, "fd_close", |mut c: C<'_>, fd: i32| {
        call(&mut c, |_, h| Ok(h.files.close(u32_arg(fd))?))
    })?;
    linker.func_wrap(MODULE, "fd_datasync", |mut c: C<'_>, fd: i32| {
        call(&mut c, |_, h| Ok(h.files.sync(u32_arg(fd))?))
    })?;
    linker
        .func_wrap(MODULE, "fd_sync", |mut c: C<'_>, fd: i32| call(&mut c, |_, h| Ok(h.files.sync(u32_arg(fd))?)))?;
    linker.func_wrap(MODULE, "fd_fdstat_get", |mut c: C<'_>, fd: i32, out: i32| {
        call(&mut c, |m, h| Ok(m.write_fdstat(u32_arg(out), &h.files.fdstat(u32_arg(fd))?)?))
    })?;
    linker.func_wrap(MODULE, "fd_fdstat_set_flags", |mut c: C<'_>, fd: i32, flags: i32| {
        call(&mut c, |_, h| Ok(h.files.set_flags(u32_arg(fd), abi::fdflags(flags)?)?))
    })?;
    linker.func_wrap(MODULE, "fd_fdstat_set_rights", |mut c: C<'_>, fd: i32, _base: i64, _inheriting: i64| {
        // Rights are not enforced beyond read and write, so narrowing them changes nothing.
        call(&mut c, |_, h| Ok(h.files.fdstat(u32_arg(fd)).map(drop)?))
    })?;
    linker.func_wrap(MODULE, "fd_filestat_get", |mut c: C<'_>, fd: i32, out: i32| {
        call(&mut c, |m, h| Ok(m.write_filestat(u32_arg(out), &h.files.filestat(u32_arg(fd))?)?))
    })?;
    linker.func_wrap(MODULE, "fd_filestat_set_size", |mut c: C<'_>, fd: i32, size: i64| {
        call(&mut c, |_, h| Ok(h.files.set_size(u32_arg(fd), u64_arg(size))?))
    })?;
    linker.func_wrap(MODULE, "fd_filestat_set_times", |mut c: C<'_>, fd: i32, atim: i64, mtim: i64, flags: i32| {
        call(&mut c, |_, h| Ok(h.files.set_times(u32_arg(fd), u64_arg(atim), u64_arg(mtim), abi::fstflags(flags)?)?))
    })?;
    linker.func_wrap(MODULE, "fd_pread", |mut c: C<'_>, fd: i32, iovs: i32, count: i32, offset: i64, out: i32| {
        call(&mut c, |m, h| {
            let offset = u64_arg(offset);
            let n = read_into(m, u32_arg(iovs), u32_arg(count), |buf, done| {
                h.files.pread(u32_arg(fd), buf, offset.saturating_add(done))
            })?;
            Ok(m.write_u32(u32_arg(out), n)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_read", |mut c: C<'_>, fd: i32, iovs: i32, count: i32, out: i32| {
        call(&mut c, |m, h| {
            let n = read_into(m, u32_arg(iovs), u32_arg(count), |buf, _| h.files.read(u32_arg(fd), buf))?;
            Ok(m.write_u32(u32_arg(out), n)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_pwrite", |mut c: C<'_>, fd: i32, iovs: i32, count: i32, offset: i64, out: i32| {
        call(&mut c, |m, h| {
            let bufs = gather(m, u32_arg(iovs), u32_arg(count))?;
            let n = h.files.pwrite(u32_arg(fd), &bufs, u64_arg(offset))?;
            Ok(m.write_u32(u32_arg(out), u32::try_from(n).map_err(|_| Errno::OVERFLOW)?)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_write", |mut c: C<'_>, fd: i32, iovs: i32, count: i32, out: i32| {
        call(&mut c, |m, h| {
            let n = fd_write(m, h, u32_arg(fd), u32_arg(iovs), u32_arg(count))?;
            Ok(m.write_u32(u32_arg(out), n)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_prestat_get", |mut c: C<'_>, fd: i32, out: i32| {
        call(&mut c, |m, h| {
            let name = h.files.preopen(u32_arg(fd))?;
            let record = m.slice_mut(u32_arg(out), abi::PRESTAT_SIZE as u32)?;
            record.fill(0); // tag 0: a folder
            record[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
            Ok(())
        })
    })?;
    linker.func_wrap(MODULE, "fd_prestat_dir_name", |mut c: C<'_>, fd: i32, buf: i32, len: i32| {
        call(&mut c, |m, h| {
            let name = h.files.preopen(u32_arg(fd))?;
            if (u32_arg(len) as usize) < name.len() {
                return Err(Errno::NAMETOOLONG.into());
            }
            m.slice_mut(u32_arg(buf), name.len() as u32)?.copy_from_slice(name.as_bytes());
            Ok(())
        })
    })?;
    linker.func_wrap(MODULE, "fd_readdir", |mut c: C<'_>, fd: i32, buf: i32, len: i32, cookie: i64, out: i32| {
        call(&mut c, |m, h| {
            let entries = h.files.readdir(u32_arg(fd), u64_arg(cookie), u32_arg(len) as usize)?;
            let n = entries.len().min(u32_arg(len) as usize);
            m.slice_mut(u32_arg(buf), n as u32)?.copy_from_slice(&entries[..n]);
            Ok(m.write_u32(u32_arg(out), n as u32)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_renumber", |mut c: C<'_>, fd: i32, to: i32| {
        call(&mut c, |_, h| Ok(h.files.renumber(u32_arg(fd), u32_arg(to))?))
    })?;
    linker.func_wrap(MODULE, "fd_seek", |mut c: C<'_>, fd: i32, delta: i64, whence: i32, out: i32| {
        call(&mut c, |m, h| {
            let whence = u8::try_from(whence).map_err(|_| Errno::INVAL)?;
            Ok(m.write_u64(u32_arg(out), h.files.seek(u32_arg(fd), delta, whence)?)?)
        })
    })?;
    linker.func_wrap(MODULE, "fd_tell", |mut c: C<'_>, fd: i32, out: i32| {
        call(&mut c, |m, h| Ok(m.write_u64(u32_arg(out), h.files.seek(u32_arg(fd), 0, abi::WHENCE_CUR)?)?))
    })?;
    linker.func_wrap(MODULE, "path_create_directory", |mut c: C<'_>, fd: i32, path: i32, len: i32| {
        call(&mut c, |m, h| Ok(h.files.mkdir(u32_arg(fd), m.str(u32_arg(path), u32_arg(len))?)?))
    })?;
    linker.func_wrap(
        MODULE,
        "path_filestat_get",
        |mut c: C<'_>, fd: i32, flags: i32, path: i32, len: i32, out: i32| {
            call(&mut c, |m, h| {
                let path = m.str(u32_arg(path), u32_arg(len))?;
                let stat = h.files.path_filestat(u32_arg(fd), abi::lookupflags(flags)?, path)?;
                Ok(m.write_filestat(u32_arg(out), &stat)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_set_times",
        |mut c: C<'_>, fd: i32, flags: i32, path: i32, len: i32, atim: i64, mtim: i64, fst: i32| {
            call(&mut c, |m, h| {
                let path = m.str(u32_arg(path), u32_arg(len))?;
                let (flags, fst) = (abi::lookupflags(flags)?, abi::fstflags(fst)?);
                Ok(h.files.path_set_times(u32_arg(fd), flags, path, u64_arg(atim), u64_arg(mtim), fst)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_link",
        |mut c: C<'_>, old_fd: i32, flags: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32| {
            call(&mut c, |m, h| {
                let old = m.str(u32_arg(old), u32_arg(old_len))?;
                let new = m.str(u32_arg(new), u32_arg(new_len))?;
                Ok(h.files.link(u32_arg(old_fd), abi::lookupflags(flags)?, old, u32_arg(new_fd), new)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_open",
        |mut c: C<'_>,
         fd: i32,
         dirflags: i32,
         path: i32,
         len: i32,
         oflags: i32,
         base: i64,
         _inheriting: i64,
         fdflags: i32,
         out: i32| {
            call(&mut c, |m, h| {
                let path = m.str(u32_arg(path), u32_arg(len))?;
                let (dirflags, oflags, fdflags) =
                    (abi::lookupflags(dirflags)?, abi::oflags(oflags)?, abi::fdflags(fdflags)?);
                let new = h.files.open(u32_arg(fd), dirflags, path, oflags, u64_arg(base), fdflags)?;
                Ok(m.write_u32(u32_arg(out), new)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_readlink",
        |mut c: C<'_>, fd: i32, path: i32, len: i32, buf: i32, buf_len: i32, out: i32| {
            call(&mut c, |m, h| {
                let path = m.str(u32_arg(path), u32_arg(len))?.to_owned();
                let target = h.files.readlink(u32_arg(fd), &path)?;
                let n = target.len().min(u32_arg(buf_len) as usize);
                m.slice_mut(u32_arg(buf), n as u32)?.copy_from_slice(&target.as_bytes()[..n]);
                Ok(m.write_u32(u32_arg(out), n as u32)?)
            })
        },
    )?;
    linker.func_wrap(MODULE, "path_remove_directory", |mut c: C<'_>, fd: i32, path: i32, len: i32| {
        call(&mut c, |m, h| Ok(h.files.remove(u32_arg(fd), m.str(u32_arg(path), u32_arg(len))?, true)?))
    })?;
    linker.func_wrap(MODULE, "path_unlink_file", |mut c: C<'_>, fd: i32, path: i32, len: i32| {
        call(&mut c, |m, h| Ok(h.files.remove(u32_arg(fd), m.str(u32_arg(path), u32_arg(len))?, false)?))
    })?;
    linker.func_wrap(
        MODULE,
        "path_rename",
        |mut c: C<'_>, fd: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32| {
            call(&mut c, |m, h| {
                let old = m.str(u32_arg(old), u32_arg(old_len))?;
                let new = m.str(u32_arg(new), u32_arg(new_len))?;
                Ok(h.files.rename(u32_arg(fd), old, u32_arg(new_fd), new)?)
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_symlink",
        |mut c: C<'_>, target: i32, target_len: i32, fd: i32, path: i32, len: i32| {
            call(&mut c, |m, h| {
                let target = m.str(u32_arg(target), u32_arg(target_len))?;
                let path = m.str(u32_arg(path), u32_arg(len))?;
                Ok(h.files.symlink(target, u32_arg(fd), path)?)
            })
        },
    )?;
    linker.func_wrap(MODULE, "poll_oneoff", |mut c: C<'_>, subs: i32, events: i32, count: i32, nevents: i32| {
        call(&mut c, |m, h| {
            Ok(poll::poll_oneoff(m, &h.clock, u32_arg(subs), u32_arg(events), u32_arg(count), u32_arg(nevents))?)
        })
    })?;
    linker.func_wrap(MODULE, "proc_exit", |code: i32| -> wasmtime::Result<()> {
        // WASI's range, as wasmtime-wasi checks it: a larger status is a trap, not an exit.
        if !(0..126).contains(&code) {
            wasmtime::bail!("exit with invalid exit status outside of [0..126)");
        }
        Err(wasmtime::Error::new(Exit(code)))
    })?;
    linker.func_wrap(MODULE, "proc_raise", |_signal: i32| i32::from(Errno::NOTSUP.0))?;
    linker.func_wrap(MODULE, "sched_yield", || 0i32)?;
    linker.func_wrap(MODULE, "random_get", |mut c: C<'_>, buf: i32, len: i32| {
        call(&mut c, |m, h| {
            h.random.fill(m.slice_mut(u32_arg(buf), u32_arg(len))?);
            Ok(())
        })
    })?;
    // Sockets do not exist: an open descriptor is not a socket, any other number is not a descriptor.
    let not_socket = |c: &mut C<'_>, fd: i32| {
        call(c, |_, h| Err(h.files.fdstat(u32_arg(fd)).map_or(Errno::BADF, |_| Errno::NOTSOCK).into()))
    };
    linker.func_wrap(MODULE, "sock_accept", move |mut c: C<'_>, fd: i32, _flags: i32, _out: i32| {
        not_socket(&mut c, fd)
    })?;
    linker.func_wrap(
        MODULE,
        "sock_recv",
        move |mut c: C<'_>, fd: i32, _iovs: i32, _count: i32, _flags: i32, _n: i32, _out_flags: i32| {
            not_socket(&mut c, fd)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "sock_send",
        move |mut c: C<'_>, fd: i32, _iovs: i32, _count: i32, _flags: i32, _n: i32| not_socket(&mut c, fd),
    )?;
    linker.func_wrap(MODULE, "sock_shutdown", move |mut c: C<'_>, fd: i32, _how: i32| not_socket(&mut c, fd))?;
    Ok(())
}

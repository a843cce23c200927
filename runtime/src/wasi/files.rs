//! The guest's descriptors and what each file-system call does with them.
//!
//! Descriptor numbers are the lowest free ones, as POSIX gives them: 0–2 are the standard streams, 3 the read-only
//! stdlib folder at [`STDLIB_GUEST`] and 4 the in-memory `/tmp` at [`TMP_GUEST`] — the layout the snapshot was made
//! with (wasi-libc recorded the two preopens in linear memory at `_initialize`).

use std::sync::Arc;

use cir_python_wasm::guest::{STDLIB_GUEST, TMP_GUEST};

use super::abi::{
    self, Errno, FDFLAGS_APPEND, FDFLAGS_DSYNC, FDFLAGS_NONBLOCK, FDFLAGS_RSYNC, FDFLAGS_SYNC, Fdstat, Filestat,
    Filetype, LOOKUP_SYMLINK_FOLLOW, OFLAGS_CREAT, OFLAGS_DIRECTORY, OFLAGS_EXCL, OFLAGS_TRUNC, RIGHT_FD_READ,
    RIGHT_FD_WRITE, RIGHTS_ALL,
};
use super::tree::{Ino, Kind, ROOT, Tree};
use crate::host::VirtualClock;

/// Descriptors open at once, past which `open` is `EMFILE`: Linux's default soft limit (`ulimit -n`). It bounds the
/// host memory a guest's open descriptors take.
pub(crate) const MAX_FDS: usize = 1024;

/// The two folder trees the guest sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mount {
    Stdlib,
    Tmp,
}

enum Entry {
    Stdin,
    /// Standard output or, when `stderr`, standard error.
    Output {
        stderr: bool,
    },
    Dir {
        mount: Mount,
        ino: Ino,
        preopen: Option<&'static str>,
    },
    File {
        mount: Mount,
        ino: Ino,
        pos: u64,
        read: bool,
        write: bool,
        flags: u16,
    },
}

/// One guest's descriptor table, its `/tmp` and its standard input. Standard output and error are the caller's
/// (see [`Files::output`]): their cap stops the guest, which only the caller can do.
pub(crate) struct Files {
    table: Vec<Option<Entry>>,
    stdlib: Arc<Tree>,
    tmp: Tree,
    stdin: Vec<u8>,
    stdin_pos: usize,
    clock: VirtualClock,
}

impl Files {
    /// The table a guest starts with: the standard streams, then the two preopens.
    pub(crate) fn new(stdlib: Arc<Tree>, mut tmp: Tree, stdin: Vec<u8>, clock: VirtualClock) -> Files {
        let _ = tmp.open(ROOT);
        let table = vec![
            Some(Entry::Stdin),
            Some(Entry::Output { stderr: false }),
            Some(Entry::Output { stderr: true }),
            Some(Entry::Dir { mount: Mount::Stdlib, ino: ROOT, preopen: Some(STDLIB_GUEST) }),
            Some(Entry::Dir { mount: Mount::Tmp, ino: ROOT, preopen: Some(TMP_GUEST) }),
        ];
        Files { table, stdlib, tmp, stdin, stdin_pos: 0, clock }
    }

    /// The guest's `/tmp`.
    pub(crate) fn tmp(&self) -> &Tree {
        &self.tmp
    }

    /// The guest's `/tmp`, to place files in before a run. Timestamps of what the host places are the clock's
    /// current reading, without advancing it (the code's first `time.time()` is the same with or without files).
    pub(crate) fn tmp_mut(&mut self) -> (&mut Tree, u64) {
        (&mut self.tmp, self.clock.wall_ns_peek())
    }

    /// For standard output `Some(false)`, for standard error `Some(true)`: the caller writes those to the captured
    /// output.
    pub(crate) fn output(&self, fd: u32) -> Option<bool> {
        match self.table.get(fd as usize) {
            Some(Some(Entry::Output { stderr })) => Some(*stderr),
            _ => None,
        }
    }

    fn now(&self) -> u64 {
        self.clock.wall_ns()
    }

    fn entry(&self, fd: u32) -> Result<&Entry, Errno> {
        self.table.get(fd as usize).and_then(Option::as_ref).ok_or(Errno::BADF)
    }

    fn tree(&self, mount: Mount) -> &Tree {
        match mount {
            Mount::Stdlib => &self.stdlib,
            Mount::Tmp => &self.tmp,
        }
    }

    fn tree_mut(&mut self, mount: Mount) -> Result<&mut Tree, Errno> {
        match mount {
            Mount::Stdlib => Err(Errno::ROFS),
            Mount::Tmp => Ok(&mut self.tmp),
        }
    }

    /// The folder a path call starts from.
    fn dir(&self, fd: u32) -> Result<(Mount, Ino), Errno> {
        match self.entry(fd)? {
            Entry::Dir { mount, ino, .. } => Ok((*mount, *ino)),
            Entry::File { .. } => Err(Errno::NOTDIR),
            _ => Err(Errno::BADF),
        }
    }

    fn insert(&mut self, entry: Entry) -> Result<u32, Errno> {
        let slot = match self.table.iter().position(Option::is_none) {
            Some(slot) => slot,
            None if self.table.len() < MAX_FDS => {
                self.table.push(None);
                self.table.len() - 1
            }
            None => return Err(Errno::MFILE),
        };
        if let Entry::Dir { mount: Mount::Tmp, ino, .. } | Entry::File { mount: Mount::Tmp, ino, .. } = &entry {
            self.tmp.open(*ino)?;
        }
        self.table[slot] = Some(entry);
        Ok(slot as u32)
    }

    fn release(&mut self, entry: Entry) {
        if let Entry::Dir { mount: Mount::Tmp, ino, .. } | Entry::File { mount: Mount::Tmp, ino, .. } = entry {
            self.tmp.close(ino);
        }
    }

    /// `fd_prestat_get` / `fd_prestat_dir_name`: the guest path of a preopened folder.
    pub(crate) fn preopen(&self, fd: u32) -> Result<&'static str, Errno> {
        match self.entry(fd)? {
            Entry::Dir { preopen: Some(name), .. } => Ok(name),
            _ => Err(Errno::BADF),
        }
    }

    pub(crate) fn close(&mut self, fd: u32) -> Result<(), Errno> {
        let entry = self.table.get_mut(fd as usize).and_then(Option::take).ok_or(Errno::BADF)?;
        self.release(entry);
        Ok(())
    }

    /// `fd_renumber`: `from` takes the number `to` (closing what `to` was); both must be open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.entry(from)?;
        self.entry(to)?;
        if from != to {
            let entry = self.table[from as usize].take();
            if let Some(old) = std::mem::replace(&mut self.table[to as usize], entry) {
                self.release(old);
            }
        }
        Ok(())
    }

    pub(crate) fn fdstat(&self, fd: u32) -> Result<Fdstat, Errno> {
        let only =
            |rights| Fdstat { filetype: Filetype::Unknown, flags: 0, rights_base: rights, rights_inheriting: rights };
        Ok(match self.entry(fd)? {
            Entry::Stdin => only(RIGHT_FD_READ),
            Entry::Output { .. } => only(RIGHT_FD_WRITE),
            Entry::Dir { .. } => Fdstat {
                filetype: Filetype::Directory,
                flags: 0,
                rights_base: RIGHTS_ALL,
                rights_inheriting: RIGHTS_ALL,
            },
            Entry::File { read, write, flags, .. } => {
                let mut rights = RIGHTS_ALL;
                if !read {
                    rights &= !RIGHT_FD_READ;
                }
                if !write {
                    rights &= !RIGHT_FD_WRITE;
                }
                Fdstat { filetype: Filetype::RegularFile, flags: *flags, rights_base: rights, rights_inheriting: 0 }
            }
        })
    }

    /// `fd_fdstat_set_flags`: `append` and `nonblock` take effect (non-blocking changes nothing: nothing blocks);
    /// the sync flags are accepted (memory is always in sync).
    pub(crate) fn set_flags(&mut self, fd: u32, new: u16) -> Result<(), Errno> {
        match self.table.get_mut(fd as usize).and_then(Option::as_mut).ok_or(Errno::BADF)? {
            Entry::File { flags, .. } => *flags = new,
            _ if new & !FDFLAGS_NONBLOCK == 0 => {}
            _ => return Err(Errno::INVAL),
        }
        Ok(())
    }

    pub(crate) fn filestat(&self, fd: u32) -> Result<Filestat, Errno> {
        match self.entry(fd)? {
            Entry::Stdin | Entry::Output { .. } => Ok(Filestat {
                dev: 0,
                ino: 0,
                filetype: Filetype::Unknown,
                nlink: 0,
                size: 0,
                atim: 0,
                mtim: 0,
                ctim: 0,
            }),
            Entry::Dir { mount, ino, .. } | Entry::File { mount, ino, .. } => self.tree(*mount).stat(*ino),
        }
    }

    /// A file open for writing.
    fn writable(&self, fd: u32) -> Result<(Mount, Ino), Errno> {
        match self.entry(fd)? {
            Entry::File { mount, ino, write: true, .. } => Ok((*mount, *ino)),
            Entry::File { .. } => Err(Errno::BADF),
            Entry::Dir { .. } => Err(Errno::ISDIR),
            _ => Err(Errno::BADF),
        }
    }

    /// `fd_filestat_set_size` (`ftruncate`).
    pub(crate) fn set_size(&mut self, fd: u32, size: u64) -> Result<(), Errno> {
        let (mount, ino) = match self.entry(fd)? {
            Entry::File { mount, ino, write: true, .. } => (*mount, *ino),
            Entry::File { .. } => return Err(Errno::INVAL),
            _ => return Err(Errno::BADF),
        };
        let now = self.now();
        self.tree_mut(mount)?.set_size(ino, size, now)
    }

    /// `fd_allocate`: the file is at least `offset + len` bytes long afterwards (zeros added, within the quota).
    pub(crate) fn allocate(&mut self, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
        let (mount, ino) = self.writable(fd)?;
        let end = offset.checked_add(len).ok_or(Errno::FBIG)?;
        if self.tree(mount).stat(ino)?.size < end {
            let now = self.now();
            self.tree_mut(mount)?.set_size(ino, end, now)?;
        }
        Ok(())
    }

    /// Which timestamps a `set_times` call sets, from its `fstflags`: `Some(time)` for each one it sets.
    fn times(&self, atim: u64, mtim: u64, flags: u16) -> Result<(Option<u64>, Option<u64>), Errno> {
        let pick = |set: u16, now: u16, value: u64| match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::INVAL),
            (true, false) => Ok(Some(value)),
            (false, true) => Ok(Some(self.now())),
            (false, false) => Ok(None),
        };
        Ok((pick(abi::FST_ATIM, abi::FST_ATIM_NOW, atim)?, pick(abi::FST_MTIM, abi::FST_MTIM_NOW, mtim)?))
    }

    /// `fd_filestat_set_times`.
    pub(crate) fn set_times(&mut self, fd: u32, atim: u64, mtim: u64, flags: u16) -> Result<(), Errno> {
        let (mount, ino) = match self.entry(fd)? {
            Entry::Dir { mount, ino, .. } | Entry::File { mount, ino, .. } => (*mount, *ino),
            _ => return Err(Errno::BADF),
        };
        let (atim, mtim) = self.times(atim, mtim, flags)?;
        let now = self.now();
        self.tree_mut(mount)?.set_times(ino, atim, mtim, now)
    }

    /// `fd_read` into one buffer: from the standard input or a file's position.
    pub(crate) fn read(&mut self, fd: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        let (mount, ino, pos) = match self.entry(fd)? {
            Entry::Stdin => {
                let rest = &self.stdin[self.stdin_pos..];
                let n = buf.len().min(rest.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.stdin_pos += n;
                return Ok(n);
            }
            Entry::File { mount, ino, pos, read: true, .. } => (*mount, *ino, *pos),
            Entry::Dir { .. } => return Err(Errno::ISDIR),
            _ => return Err(Errno::BADF),
        };
        let n = self.tree(mount).read(ino, pos, buf)?;
        if let Some(Some(Entry::File { pos, .. })) = self.table.get_mut(fd as usize) {
            *pos += n as u64;
        }
        Ok(n)
    }

    /// `fd_pread` into one buffer: from `offset`, leaving the position alone.
    pub(crate) fn pread(&self, fd: u32, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        match self.entry(fd)? {
            Entry::File { mount, ino, read: true, .. } => self.tree(*mount).read(*ino, offset, buf),
            Entry::File { .. } => Err(Errno::BADF),
            Entry::Dir { .. } => Err(Errno::ISDIR),
            Entry::Stdin | Entry::Output { .. } => Err(Errno::SPIPE),
        }
    }

    /// `fd_write` to a file: at its position, or at its end in append mode.
    pub(crate) fn write(&mut self, fd: u32, bufs: &[&[u8]]) -> Result<usize, Errno> {
        let (mount, ino) = self.writable(fd)?;
        let Some(Entry::File { pos, flags, .. }) = self.entry(fd).ok() else { return Err(Errno::BADF) };
        let offset = if flags & FDFLAGS_APPEND != 0 { self.tree(mount).stat(ino)?.size } else { *pos };
        let now = self.now();
        let n = self.tree_mut(mount)?.write(ino, offset, bufs, now)?;
        if let Some(Some(Entry::File { pos, .. })) = self.table.get_mut(fd as usize) {
            *pos = offset + n as u64;
        }
        Ok(n)
    }

    /// `fd_pwrite`: at `offset`, leaving the position alone.
    pub(crate) fn pwrite(&mut self, fd: u32, bufs: &[&[u8]], offset: u64) -> Result<usize, Errno> {
        if matches!(self.entry(fd)?, Entry::Stdin | Entry::Output { .. }) {
            return Err(Errno::SPIPE);
        }
        let (mount, ino) = self.writable(fd)?;
        let now = self.now();
        self.tree_mut(mount)?.write(ino, offset, bufs, now)
    }

    /// `fd_seek`: the new position.
    pub(crate) fn seek(&mut self, fd: u32, delta: i64, whence: u8) -> Result<u64, Errno> {
        let (mount, ino, pos) = match self.entry(fd)? {
            Entry::File { mount, ino, pos, .. } => (*mount, *ino, *pos),
            Entry::Dir { .. } => return Err(Errno::BADF),
            Entry::Stdin | Entry::Output { .. } => return Err(Errno::SPIPE),
        };
        let base = match whence {
            abi::WHENCE_SET => 0,
            abi::WHENCE_CUR => pos,
            abi::WHENCE_END => self.tree(mount).stat(ino)?.size,
            _ => return Err(Errno::INVAL),
        };
        let new = base.checked_add_signed(delta).filter(|p| i64::try_from(*p).is_ok()).ok_or(Errno::INVAL)?;
        if let Some(Some(Entry::File { pos, .. })) = self.table.get_mut(fd as usize) {
            *pos = new;
        }
        Ok(new)
    }

    /// `fd_advise`, `fd_sync`, `fd_datasync`: nothing to do for a file or folder in memory.
    pub(crate) fn sync(&self, fd: u32) -> Result<(), Errno> {
        match self.entry(fd)? {
            Entry::File { .. } | Entry::Dir { .. } => Ok(()),
            _ => Err(Errno::INVAL),
        }
    }

    /// `fd_readdir`: the folder's entries from `cookie` on, as `dirent` records back to back, at least `max` bytes
    /// of them when there are that many (the caller copies `max` bytes; wasi-libc rereads a cut-off last one).
    pub(crate) fn readdir(&self, fd: u32, cookie: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let (mount, ino) = match self.entry(fd)? {
            Entry::Dir { mount, ino, .. } => (*mount, *ino),
            Entry::File { .. } => return Err(Errno::NOTDIR),
            _ => return Err(Errno::BADF),
        };
        let mut out = Vec::new();
        let list = self.tree(mount).list(ino)?;
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (i, (name, ino, filetype)) in list.into_iter().enumerate().skip(start) {
            if out.len() >= max {
                break;
            }
            abi::dirent(i as u64 + 1, ino, filetype, name, &mut out);
        }
        Ok(out)
    }

    /// `path_open`. Read and write access come from `rights` (`fd_read`, `fd_write`), as wasi-libc derives them
    /// from `open`'s flags.
    pub(crate) fn open(
        &mut self,
        dirfd: u32,
        lookup: u32,
        path: &str,
        oflags: u16,
        rights: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        let follow = lookup & LOOKUP_SYMLINK_FOLLOW != 0;
        let (read, write) = (rights & RIGHT_FD_READ != 0, rights & RIGHT_FD_WRITE != 0);
        let now = self.now();
        let ino = if oflags & OFLAGS_CREAT != 0 {
            let parent = self.tree(mount).parent(dir, path)?;
            let existing = match parent.name {
                "." | ".." => Some(self.tree(mount).lookup(dir, path, follow)?),
                name => self.tree(mount).lookup(parent.dir, name, follow).ok(),
            };
            match existing {
                Some(_) if oflags & OFLAGS_EXCL != 0 => return Err(Errno::EXIST),
                Some(ino) => ino,
                None if parent.trailing_slash => return Err(Errno::ISDIR),
                None => self.tree_mut(mount)?.create_file(parent.dir, parent.name, now)?,
            }
        } else {
            self.tree(mount).lookup(dir, path, follow)?
        };
        let entry = match &self.tree(mount).node(ino)?.kind {
            Kind::Symlink(_) => return Err(Errno::LOOP),
            Kind::Dir { .. } if write || oflags & OFLAGS_TRUNC != 0 => return Err(Errno::ISDIR),
            Kind::Dir { .. } => Entry::Dir { mount, ino, preopen: None },
            Kind::File(_) if oflags & OFLAGS_DIRECTORY != 0 => return Err(Errno::NOTDIR),
            Kind::File(_) => {
                if write && mount == Mount::Stdlib {
                    return Err(Errno::ROFS);
                }
                let sync = FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC;
                Entry::File {
                    mount,
                    ino,
                    pos: 0,
                    read,
                    write,
                    flags: fdflags & (FDFLAGS_APPEND | FDFLAGS_NONBLOCK | sync),
                }
            }
        };
        if oflags & OFLAGS_TRUNC != 0 && write {
            self.tree_mut(mount)?.set_size(ino, 0, now)?;
        }
        self.insert(entry)
    }

    pub(crate) fn path_filestat(&self, dirfd: u32, lookup: u32, path: &str) -> Result<Filestat, Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        let tree = self.tree(mount);
        tree.stat(tree.lookup(dir, path, lookup & LOOKUP_SYMLINK_FOLLOW != 0)?)
    }

    pub(crate) fn path_set_times(
        &mut self,
        dirfd: u32,
        lookup: u32,
        path: &str,
        atim: u64,
        mtim: u64,
        flags: u16,
    ) -> Result<(), Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        let ino = self.tree(mount).lookup(dir, path, lookup & LOOKUP_SYMLINK_FOLLOW != 0)?;
        let (atim, mtim) = self.times(atim, mtim, flags)?;
        let now = self.now();
        self.tree_mut(mount)?.set_times(ino, atim, mtim, now)
    }

    pub(crate) fn mkdir(&mut self, dirfd: u32, path: &str) -> Result<(), Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        let now = self.now();
        self.tree_mut(mount)?.mkdir(dir, path, now)
    }

    /// `path_unlink_file` (`dir` false) and `path_remove_directory` (`dir` true).
    pub(crate) fn remove(&mut self, dirfd: u32, path: &str, dir: bool) -> Result<(), Errno> {
        let (mount, start) = self.dir(dirfd)?;
        let now = self.now();
        self.tree_mut(mount)?.remove(start, path, dir, now)
    }

    pub(crate) fn symlink(&mut self, target: &str, dirfd: u32, path: &str) -> Result<(), Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        let now = self.now();
        self.tree_mut(mount)?.symlink(target, dir, path, now)
    }

    pub(crate) fn readlink(&self, dirfd: u32, path: &str) -> Result<&str, Errno> {
        let (mount, dir) = self.dir(dirfd)?;
        self.tree(mount).readlink(dir, path)
    }

    /// The two folders of a call that names two paths, which must be in the same tree (`EXDEV` otherwise).
    fn same_tree(&self, old_fd: u32, new_fd: u32) -> Result<(Mount, Ino, Ino), Errno> {
        let (old_mount, old_dir) = self.dir(old_fd)?;
        let (new_mount, new_dir) = self.dir(new_fd)?;
        if old_mount != new_mount {
            return Err(Errno::XDEV);
        }
        Ok((old_mount, old_dir, new_dir))
    }

    pub(crate) fn link(
        &mut self,
        old_fd: u32,
        lookup: u32,
        old_path: &str,
        new_fd: u32,
        new_path: &str,
    ) -> Result<(), Errno> {
        let (mount, old_dir, new_dir) = self.same_tree(old_fd, new_fd)?;
        let now = self.now();
        let follow = lookup & LOOKUP_SYMLINK_FOLLOW != 0;
        self.tree_mut(mount)?.link(old_dir, old_path, follow, new_dir, new_path, now)
    }

    pub(crate) fn rename(&mut self, old_fd: u32, old_path: &str, new_fd: u32, new_path: &str) -> Result<(), Errno> {
        let (mount, old_dir, new_dir) = self.same_tree(old_fd, new_fd)?;
        let now = self.now();
        self.tree_mut(mount)?.rename(old_dir, old_path, new_dir, new_path, now)
    }
}

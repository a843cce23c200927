//! An in-memory file tree: the guest's `/tmp` (writable, bounded by a [`Quota`]) and the read-only stdlib folder.
//!
//! Everything the guest can observe is a function of the operations it made: inode numbers count up from the root
//! (1) and are never reused, timestamps are the virtual clock's readings passed in by the caller, a folder lists its
//! names in byte order, a file's size is its length, a file's link count its number of names, and a folder's link
//! count is 2 plus its subfolders (the Linux convention). Paths are resolved here, confined to the tree: `..` above
//! the root, an absolute path and an absolute symlink target are all refused with `EPERM` (what wasmtime-wasi's
//! `cap-std` answers for an escape), a chain of more than [`MAX_SYMLINKS`] links is `ELOOP`.

use std::collections::{BTreeMap, VecDeque};

use super::abi::{Errno, Filestat, Filetype};

/// An inode number, unique within its tree.
pub(crate) type Ino = u64;

/// The root folder's inode number.
pub(crate) const ROOT: Ino = 1;
/// Symlinks followed while resolving one path before `ELOOP`: Linux's limit.
const MAX_SYMLINKS: usize = 40;
/// Linux's `PATH_MAX`: a path must be shorter (the limit counts the terminating NUL).
const PATH_MAX: usize = 4096;
/// The longest name accepted, in bytes: Linux's `NAME_MAX`.
const MAX_NAME: usize = 255;
/// The size a folder reports (`st_size`): one block, as ext4 reports a small folder. A fixed number, so that it does
/// not depend on how names are stored.
const DIR_SIZE: u64 = 4096;

/// What a tree may hold. Bytes are the files' lengths plus the symlinks' targets (what the host stores for the
/// guest); entries are names in folders (files, folders, symlinks and extra hard links; the root is not one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub(crate) bytes: u64,
    pub(crate) entries: usize,
}

pub(crate) enum Kind {
    File(Vec<u8>),
    Dir { parent: Ino, entries: BTreeMap<String, Ino> },
    Symlink(String),
}

pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Names that lead to the node; a folder has 1 until it is removed.
    links: u64,
    /// Open descriptors: a node without names lives on while one is open (an unlinked file stays readable).
    open: u32,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

impl Node {
    fn new(kind: Kind, now: u64) -> Node {
        Node { kind, links: 1, open: 0, atim: now, mtim: now, ctim: now }
    }

    fn filetype(&self) -> Filetype {
        match self.kind {
            Kind::File(_) => Filetype::RegularFile,
            Kind::Dir { .. } => Filetype::Directory,
            Kind::Symlink(_) => Filetype::SymbolicLink,
        }
    }

    /// Bytes charged to the quota.
    fn charge(&self) -> u64 {
        match &self.kind {
            Kind::File(data) => data.len() as u64,
            Kind::Symlink(target) => target.len() as u64,
            Kind::Dir { .. } => 0,
        }
    }
}

/// Where a path leads when its last component is to be created, removed or renamed: the folder that holds it and
/// its name.
pub(crate) struct Parent<'p> {
    pub(crate) dir: Ino,
    pub(crate) name: &'p str,
    /// The path ended with `/`: the name must be (or become) a folder.
    pub(crate) trailing_slash: bool,
}

/// A file tree with its own inode numbers, device number and quota.
pub(crate) struct Tree {
    nodes: BTreeMap<Ino, Node>,
    next_ino: Ino,
    dev: u64,
    quota: Quota,
    bytes: u64,
    entries: usize,
    /// Every change is refused with `EROFS` (the stdlib tree, once built).
    frozen: bool,
}

impl Tree {
    /// An empty tree whose root was made at `now`.
    pub(crate) fn new(dev: u64, quota: Quota, now: u64) -> Tree {
        let root = Node::new(Kind::Dir { parent: ROOT, entries: BTreeMap::new() }, now);
        Tree {
            nodes: BTreeMap::from([(ROOT, root)]),
            next_ino: ROOT + 1,
            dev,
            quota,
            bytes: 0,
            entries: 0,
            frozen: false,
        }
    }

    /// Refuses every later change with `EROFS`.
    pub(crate) fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Bytes the files may still grow by.
    fn room(&self) -> u64 {
        self.quota.bytes.saturating_sub(self.bytes)
    }

    /// What the tree may hold.
    pub(crate) fn quota(&self) -> Quota {
        self.quota
    }

    /// Bytes and entries in use.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (u64, usize) {
        (self.bytes, self.entries)
    }

    pub(crate) fn node(&self, ino: Ino) -> Result<&Node, Errno> {
        self.nodes.get(&ino).ok_or(Errno::BADF)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::BADF)
    }

    pub(crate) fn stat(&self, ino: Ino) -> Result<Filestat, Errno> {
        let node = self.node(ino)?;
        let (nlink, size) = match &node.kind {
            Kind::File(data) => (node.links, data.len() as u64),
            Kind::Symlink(target) => (node.links, target.len() as u64),
            Kind::Dir { entries, .. } if node.links > 0 => {
                let subdirs = entries.values().filter(|i| self.is_dir(**i)).count() as u64;
                (2 + subdirs, DIR_SIZE)
            }
            Kind::Dir { .. } => (0, DIR_SIZE),
        };
        Ok(Filestat {
            dev: self.dev,
            ino,
            filetype: node.filetype(),
            nlink,
            size,
            atim: node.atim,
            mtim: node.mtim,
            ctim: node.ctim,
        })
    }

    pub(crate) fn is_dir(&self, ino: Ino) -> bool {
        matches!(self.nodes.get(&ino).map(|n| &n.kind), Some(Kind::Dir { .. }))
    }

    fn entries(&self, dir: Ino) -> Result<&BTreeMap<String, Ino>, Errno> {
        match &self.node(dir)?.kind {
            Kind::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::NOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> Result<&mut BTreeMap<String, Ino>, Errno> {
        match &mut self.node_mut(dir)?.kind {
            Kind::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::NOTDIR),
        }
    }

    /// The names in `dir` from the `skip`-th on, with `.` and `..` first, in byte order:
    /// `(name, inode, type)`.
    pub(crate) fn list(&self, dir: Ino) -> Result<Vec<(&str, Ino, Filetype)>, Errno> {
        let (parent, entries) = match &self.node(dir)?.kind {
            Kind::Dir { parent, entries } => (*parent, entries),
            _ => return Err(Errno::NOTDIR),
        };
        let mut list = vec![(".", dir, Filetype::Directory), ("..", parent, Filetype::Directory)];
        for (name, ino) in entries {
            let filetype = self.node(*ino).map_or(Filetype::Unknown, Node::filetype);
            list.push((name.as_str(), *ino, filetype));
        }
        Ok(list)
    }

    /// The inode `path` leads to from the folder `start`, following a final symlink when `follow`.
    ///
    /// # Errors
    ///
    /// `ENOENT`, `ENOTDIR`, `ELOOP`, `ENAMETOOLONG`, and `EPERM` for a path that leaves the tree.
    pub(crate) fn lookup(&self, start: Ino, path: &str, follow: bool) -> Result<Ino, Errno> {
        let trailing_slash = check_path(path)?;
        self.walk(start, components(path)?, follow || trailing_slash, trailing_slash)
    }

    /// The folder that holds the last component of `path` (resolved from `start`, the last component not
    /// followed), and that component.
    ///
    /// # Errors
    ///
    /// As [`lookup`](Self::lookup) for the components before the last.
    pub(crate) fn parent<'p>(&self, start: Ino, path: &'p str) -> Result<Parent<'p>, Errno> {
        let trailing_slash = check_path(path)?;
        let mut queue = components(path)?;
        let Some(name) = queue.pop_back() else {
            return Ok(Parent { dir: start, name: ".", trailing_slash });
        };
        let dir = self.walk(start, queue, false, true)?;
        Ok(Parent { dir, name, trailing_slash })
    }

    /// Follows `queue` from `start`; the last component's symlink is followed when `follow_last`, and it must be a
    /// folder when `must_be_dir`.
    fn walk<'q>(
        &'q self,
        start: Ino,
        mut queue: VecDeque<&'q str>,
        follow_last: bool,
        must_be_dir: bool,
    ) -> Result<Ino, Errno> {
        let mut cur = start;
        let mut links = 0;
        while let Some(component) = queue.pop_front() {
            let last = queue.is_empty();
            match component {
                "." => {}
                ".." => {
                    if cur == ROOT {
                        return Err(Errno::PERM);
                    }
                    cur = match &self.node(cur)?.kind {
                        Kind::Dir { parent, .. } => *parent,
                        _ => return Err(Errno::NOTDIR),
                    };
                }
                name => {
                    let child = *self.entries(cur)?.get(name).ok_or(Errno::NOENT)?;
                    match &self.node(child)?.kind {
                        Kind::Symlink(target) if !last || follow_last => {
                            links += 1;
                            if links > MAX_SYMLINKS {
                                return Err(Errno::LOOP);
                            }
                            if target.starts_with('/') {
                                return Err(Errno::PERM);
                            }
                            for part in components(target)?.into_iter().rev() {
                                queue.push_front(part);
                            }
                        }
                        Kind::Dir { .. } => cur = child,
                        _ if !last => return Err(Errno::NOTDIR),
                        _ => cur = child,
                    }
                }
            }
        }
        if must_be_dir && !self.is_dir(cur) {
            return Err(Errno::NOTDIR);
        }
        Ok(cur)
    }

    fn read_only(&self) -> Result<(), Errno> {
        if self.frozen { Err(Errno::ROFS) } else { Ok(()) }
    }

    /// Adds a name for a new node in `dir`, charging one entry.
    fn add(&mut self, dir: Ino, name: &str, kind: Kind, now: u64) -> Result<Ino, Errno> {
        self.read_only()?;
        check_name(name)?;
        if self.entries(dir)?.contains_key(name) {
            return Err(Errno::EXIST);
        }
        if self.node(dir)?.links == 0 {
            return Err(Errno::NOENT);
        }
        if self.entries >= self.quota.entries {
            return Err(Errno::DQUOT);
        }
        let charge = match &kind {
            Kind::Symlink(target) => target.len() as u64,
            _ => 0,
        };
        if charge > self.room() {
            return Err(Errno::NOSPC);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, Node::new(kind, now));
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        self.entries += 1;
        self.bytes += charge;
        self.touch_dir(dir, now)?;
        Ok(ino)
    }

    fn touch_dir(&mut self, dir: Ino, now: u64) -> Result<(), Errno> {
        let node = self.node_mut(dir)?;
        node.mtim = now;
        node.ctim = now;
        Ok(())
    }

    /// Creates an empty file named `name` in `dir`.
    pub(crate) fn create_file(&mut self, dir: Ino, name: &str, now: u64) -> Result<Ino, Errno> {
        self.add(dir, name, Kind::File(Vec::new()), now)
    }

    /// Creates a folder at `path`.
    pub(crate) fn mkdir(&mut self, start: Ino, path: &str, now: u64) -> Result<(), Errno> {
        let Parent { dir, name, .. } = self.parent(start, path)?;
        if name == "." || name == ".." {
            return Err(Errno::EXIST);
        }
        self.add(dir, name, Kind::Dir { parent: dir, entries: BTreeMap::new() }, now).map(drop)
    }

    /// Creates a symlink at `path` pointing at `target` (relative: an absolute target is refused, as it could only
    /// lead out of the tree).
    pub(crate) fn symlink(&mut self, target: &str, start: Ino, path: &str, now: u64) -> Result<(), Errno> {
        if target.starts_with('/') {
            return Err(Errno::PERM);
        }
        if target.is_empty() {
            return Err(Errno::NOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        let Parent { dir, name, trailing_slash } = self.parent(start, path)?;
        if name == "." || name == ".." || trailing_slash {
            return Err(Errno::EXIST);
        }
        self.add(dir, name, Kind::Symlink(target.to_owned()), now).map(drop)
    }

    /// The target of the symlink at `path`.
    pub(crate) fn readlink(&self, start: Ino, path: &str) -> Result<&str, Errno> {
        let ino = self.lookup(start, path, false)?;
        match &self.node(ino)?.kind {
            Kind::Symlink(target) => Ok(target),
            _ => Err(Errno::INVAL),
        }
    }

    /// Removes the name at `path`; `dir` says whether it must be an empty folder (`rmdir`) or must not be a folder
    /// (`unlink`).
    pub(crate) fn remove(&mut self, start: Ino, path: &str, dir: bool, now: u64) -> Result<(), Errno> {
        self.read_only()?;
        let Parent { dir: parent, name, trailing_slash } = self.parent(start, path)?;
        match name {
            "." => return Err(if dir { Errno::INVAL } else { Errno::ISDIR }),
            ".." => return Err(if dir { Errno::NOTEMPTY } else { Errno::ISDIR }),
            _ => {}
        }
        let ino = *self.entries(parent)?.get(name).ok_or(Errno::NOENT)?;
        match (&self.node(ino)?.kind, dir) {
            (Kind::Dir { entries, .. }, true) if !entries.is_empty() => return Err(Errno::NOTEMPTY),
            (Kind::Dir { .. }, true) => {}
            (Kind::Dir { .. }, false) => return Err(Errno::ISDIR),
            (_, true) => return Err(Errno::NOTDIR),
            (_, false) if trailing_slash => return Err(Errno::NOTDIR),
            (_, false) => {}
        }
        self.entries_mut(parent)?.remove(name);
        self.entries -= 1;
        self.touch_dir(parent, now)?;
        self.unlink_node(ino, now)
    }

    /// Drops one name of `ino`; frees it when it has no name left and no open descriptor.
    fn unlink_node(&mut self, ino: Ino, now: u64) -> Result<(), Errno> {
        let node = self.node_mut(ino)?;
        node.links = node.links.saturating_sub(1);
        node.ctim = now;
        self.collect(ino);
        Ok(())
    }

    fn collect(&mut self, ino: Ino) {
        if self.nodes.get(&ino).is_some_and(|n| n.links == 0 && n.open == 0)
            && let Some(node) = self.nodes.remove(&ino)
        {
            self.bytes -= node.charge();
        }
    }

    /// A new name at `new_path` for the node at `old_path` (`follow`: when that is a symlink, its target). Folders
    /// cannot be linked (`EPERM`).
    pub(crate) fn link(
        &mut self,
        old_start: Ino,
        old_path: &str,
        follow: bool,
        new_start: Ino,
        new_path: &str,
        now: u64,
    ) -> Result<(), Errno> {
        self.read_only()?;
        let ino = self.lookup(old_start, old_path, follow)?;
        if self.is_dir(ino) {
            return Err(Errno::PERM);
        }
        let Parent { dir, name, trailing_slash } = self.parent(new_start, new_path)?;
        if name == "." || name == ".." || trailing_slash {
            return Err(Errno::EXIST);
        }
        check_name(name)?;
        if self.entries(dir)?.contains_key(name) {
            return Err(Errno::EXIST);
        }
        if self.node(dir)?.links == 0 {
            return Err(Errno::NOENT);
        }
        if self.entries >= self.quota.entries {
            return Err(Errno::DQUOT);
        }
        let node = self.node_mut(ino)?;
        if node.links >= u64::from(u32::MAX) {
            return Err(Errno::MLINK);
        }
        node.links += 1;
        node.ctim = now;
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        self.entries += 1;
        self.touch_dir(dir, now)
    }

    /// Moves the name at `old_path` to `new_path`, replacing what is there when POSIX's `rename` allows it.
    pub(crate) fn rename(
        &mut self,
        old_start: Ino,
        old_path: &str,
        new_start: Ino,
        new_path: &str,
        now: u64,
    ) -> Result<(), Errno> {
        self.read_only()?;
        let old = self.parent(old_start, old_path)?;
        let new = self.parent(new_start, new_path)?;
        for name in [old.name, new.name] {
            if name == "." || name == ".." {
                return Err(Errno::INVAL);
            }
        }
        check_name(new.name)?;
        let ino = *self.entries(old.dir)?.get(old.name).ok_or(Errno::NOENT)?;
        let moving_dir = self.is_dir(ino);
        if (old.trailing_slash || new.trailing_slash) && !moving_dir {
            return Err(Errno::NOTDIR);
        }
        if self.node(new.dir)?.links == 0 {
            return Err(Errno::NOENT);
        }
        let replaced = self.entries(new.dir)?.get(new.name).copied();
        if replaced == Some(ino) {
            return Ok(());
        }
        if let Some(target) = replaced {
            match (&self.node(target)?.kind, moving_dir) {
                (Kind::Dir { entries, .. }, true) if !entries.is_empty() => return Err(Errno::NOTEMPTY),
                (Kind::Dir { .. }, true) => {}
                (Kind::Dir { .. }, false) => return Err(Errno::ISDIR),
                (_, true) => return Err(Errno::NOTDIR),
                (_, false) => {}
            }
        }
        if moving_dir {
            // A folder cannot move into itself or below itself.
            let mut up = new.dir;
            loop {
                if up == ino {
                    return Err(Errno::INVAL);
                }
                match &self.node(up)?.kind {
                    Kind::Dir { parent, .. } if up != ROOT => up = *parent,
                    _ => break,
                }
            }
        }
        self.entries_mut(old.dir)?.remove(old.name);
        self.entries_mut(new.dir)?.insert(new.name.to_owned(), ino);
        if let Some(target) = replaced {
            self.entries -= 1;
            self.unlink_node(target, now)?;
        }
        let node = self.node_mut(ino)?;
        node.ctim = now;
        if let Kind::Dir { parent, .. } = &mut node.kind {
            *parent = new.dir;
        }
        self.touch_dir(old.dir, now)?;
        self.touch_dir(new.dir, now)
    }

    /// Counts an open descriptor on `ino`, which keeps it alive without a name.
    pub(crate) fn open(&mut self, ino: Ino) -> Result<(), Errno> {
        let node = self.node_mut(ino)?;
        node.open += 1;
        Ok(())
    }

    /// Forgets an open descriptor on `ino`; frees the node when that was the last reference.
    pub(crate) fn close(&mut self, ino: Ino) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.open = node.open.saturating_sub(1);
        }
        self.collect(ino);
    }

    /// Copies the file's bytes from `offset` into `buf`; the count copied (0 at or past the end).
    pub(crate) fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let data = match &self.node(ino)?.kind {
            Kind::File(data) => data,
            Kind::Dir { .. } => return Err(Errno::ISDIR),
            Kind::Symlink(_) => return Err(Errno::INVAL),
        };
        let at = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - at);
        buf[..n].copy_from_slice(&data[at..at + n]);
        Ok(n)
    }

    /// Writes `bufs` in turn at `offset` (past the end: the gap reads as zeros), growing the file as far as the byte
    /// quota allows: a write that does not fit writes what fits (a short write, as a full disk gives), and one of
    /// which nothing fits is `ENOSPC`. The count written.
    pub(crate) fn write(&mut self, ino: Ino, offset: u64, bufs: &[&[u8]], now: u64) -> Result<usize, Errno> {
        self.read_only()?;
        let room = self.room();
        let node = self.node_mut(ino)?;
        let data = match &mut node.kind {
            Kind::File(data) => data,
            Kind::Dir { .. } => return Err(Errno::ISDIR),
            Kind::Symlink(_) => return Err(Errno::INVAL),
        };
        let wanted: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        if wanted == 0 {
            return Ok(0);
        }
        let old_len = data.len() as u64;
        // The file may grow to its current length plus the room left.
        let limit = old_len.saturating_add(room);
        if offset >= limit {
            return Err(if offset.checked_add(wanted).is_none() { Errno::FBIG } else { Errno::NOSPC });
        }
        let end = offset.saturating_add(wanted).min(limit);
        let (offset, end) = (usize::try_from(offset).map_err(|_| Errno::NOSPC)?, end as usize);
        if end > data.len() {
            // Amortised growth, but never past what the quota lets this file reach: the host allocates no more
            // for a file than the quota.
            let cap = data.capacity().saturating_mul(2).min(limit as usize).max(end);
            data.reserve_exact(cap - data.len());
            data.resize(end, 0);
        }
        let mut at = offset;
        for buf in bufs {
            let n = buf.len().min(end - at);
            data[at..at + n].copy_from_slice(&buf[..n]);
            at += n;
            if at == end {
                break;
            }
        }
        let grown = (data.len() as u64).saturating_sub(old_len);
        node.mtim = now;
        node.ctim = now;
        self.bytes += grown;
        Ok(end - offset)
    }

    /// Sets the file's length (`ftruncate`): shorter drops bytes, longer adds zeros within the byte quota
    /// (`ENOSPC` past it).
    pub(crate) fn set_size(&mut self, ino: Ino, size: u64, now: u64) -> Result<(), Errno> {
        self.read_only()?;
        let room = self.room();
        let node = self.node_mut(ino)?;
        let Kind::File(data) = &mut node.kind else {
            return Err(if matches!(node.kind, Kind::Dir { .. }) { Errno::ISDIR } else { Errno::INVAL });
        };
        let old = data.len() as u64;
        if size > old && size - old > room {
            return Err(Errno::NOSPC);
        }
        data.resize(size as usize, 0);
        data.shrink_to(data.len().max(data.capacity() / 2));
        node.mtim = now;
        node.ctim = now;
        self.bytes = self.bytes - old + size;
        Ok(())
    }

    /// Sets the access and modification times (`None`: unchanged); the change time becomes `now`.
    pub(crate) fn set_times(&mut self, ino: Ino, atim: Option<u64>, mtim: Option<u64>, now: u64) -> Result<(), Errno> {
        self.read_only()?;
        let node = self.node_mut(ino)?;
        if let Some(t) = atim {
            node.atim = t;
        }
        if let Some(t) = mtim {
            node.mtim = t;
        }
        node.ctim = now;
        Ok(())
    }

    /// The bytes of the regular file at `path` (following symlinks), or `None`: what `fetch_files` returns.
    pub(crate) fn file_bytes(&self, path: &str) -> Option<&[u8]> {
        let ino = self.lookup(ROOT, path, true).ok()?;
        match &self.node(ino).ok()?.kind {
            Kind::File(data) => Some(data),
            _ => None,
        }
    }

    /// Creates the file at `path` (and the folders above it) holding `bytes`, replacing a file already there: how
    /// `files` are placed before a run.
    ///
    /// # Errors
    ///
    /// The errno of the step that failed (a quota, a component that is a file, a path that leaves the tree).
    pub(crate) fn put_file(&mut self, path: &str, bytes: &[u8], now: u64) -> Result<(), Errno> {
        check_path(path)?;
        let mut folders = components(path)?;
        let name = folders.pop_back().ok_or(Errno::NOENT)?;
        if folders.iter().chain([&name]).any(|c| *c == "." || *c == "..") {
            return Err(Errno::PERM);
        }
        let mut dir = ROOT;
        for folder in &folders {
            dir = match self.entries(dir)?.get(*folder) {
                Some(&ino) if self.is_dir(ino) => ino,
                Some(_) => return Err(Errno::NOTDIR),
                None => self.add(dir, folder, Kind::Dir { parent: dir, entries: BTreeMap::new() }, now)?,
            };
        }
        let ino = match self.entries(dir)?.get(name) {
            Some(&ino) if matches!(self.node(ino)?.kind, Kind::File(_)) => ino,
            Some(_) => return Err(Errno::EXIST),
            None => self.create_file(dir, name, now)?,
        };
        self.set_size(ino, 0, now)?;
        let written = self.write(ino, 0, &[bytes], now)?;
        if written < bytes.len() { Err(Errno::NOSPC) } else { Ok(()) }
    }
}

/// Checks a path argument: not empty (`ENOENT`), shorter than `PATH_MAX` (`ENAMETOOLONG`), relative (`EPERM`: an
/// absolute path could only leave the tree). True when it ends with `/`.
fn check_path(path: &str) -> Result<bool, Errno> {
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::NAMETOOLONG);
    }
    if path.starts_with('/') {
        return Err(Errno::PERM);
    }
    Ok(path.ends_with('/'))
}

/// The non-empty components of a relative path, each checked against `NAME_MAX`.
fn components(path: &str) -> Result<VecDeque<&str>, Errno> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| if c.len() > MAX_NAME { Err(Errno::NAMETOOLONG) } else { Ok(c) })
        .collect()
}

/// A name a new entry may take.
fn check_name(name: &str) -> Result<(), Errno> {
    if name.len() > MAX_NAME {
        Err(Errno::NAMETOOLONG)
    } else if name.is_empty() || name.contains('\0') {
        Err(Errno::INVAL)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: Quota = Quota { bytes: 1 << 20, entries: 100 };

    /// A tree holding `dir/`, `dir/file` ("abc"), `link -> dir/file`, `up -> ..`, `loop -> loop`.
    fn sample() -> Tree {
        let mut tree = Tree::new(2, BIG, 10);
        tree.mkdir(ROOT, "dir", 11).expect("mkdir");
        tree.put_file("dir/file", b"abc", 12).expect("file");
        tree.symlink("dir/file", ROOT, "link", 13).expect("symlink");
        tree.symlink("..", ROOT, "up", 14).expect("symlink");
        tree.symlink("loop", ROOT, "loop", 15).expect("symlink");
        tree
    }

    #[test]
    fn paths_resolve_inside_the_tree_only() {
        let tree = sample();
        let (dir, file, link) = (2, 3, 4);
        for (path, follow, expected) in [
            ("dir", true, Ok(dir)),
            ("dir/", true, Ok(dir)),
            ("./dir//file", true, Ok(file)),
            ("dir/../dir/file", true, Ok(file)),
            ("link", true, Ok(file)),
            ("link", false, Ok(link)),
            ("link/", false, Err(Errno::NOTDIR)),
            ("dir/file/x", true, Err(Errno::NOTDIR)),
            ("missing", true, Err(Errno::NOENT)),
            ("", true, Err(Errno::NOENT)),
            ("..", true, Err(Errno::PERM)),
            ("dir/../..", true, Err(Errno::PERM)),
            ("/etc", true, Err(Errno::PERM)),
            ("up", true, Err(Errno::PERM)),
            ("loop", true, Err(Errno::LOOP)),
            ("loop", false, Ok(6)),
            (&"n".repeat(256), true, Err(Errno::NAMETOOLONG)),
        ] {
            assert_eq!(tree.lookup(ROOT, path, follow), expected, "{path:?} (follow {follow})");
        }
    }

    #[test]
    fn stat_reports_exact_sizes_links_and_the_given_times() {
        let mut tree = sample();
        let root = tree.stat(ROOT).expect("root");
        assert_eq!((root.ino, root.dev, root.nlink, root.mtim), (ROOT, 2, 3, 15), "2 + one subfolder");
        let file = tree.stat(3).expect("file");
        assert_eq!((file.filetype, file.size, file.nlink, file.atim, file.mtim), (Filetype::RegularFile, 3, 1, 12, 12));
        tree.link(ROOT, "dir/file", false, ROOT, "hard", 20).expect("link");
        assert_eq!((tree.stat(3).expect("file").nlink, tree.stat(3).expect("file").ctim), (2, 20));
        assert_eq!(tree.stat(4).expect("link").size, "dir/file".len() as u64);
        let names: Vec<&str> = tree.list(ROOT).expect("list").into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "..", "dir", "hard", "link", "loop", "up"]);
    }

    #[test]
    fn quotas_count_bytes_and_names_and_an_open_unlinked_file_until_closed() {
        let mut tree = Tree::new(2, Quota { bytes: 10, entries: 2 }, 0);
        let a = tree.create_file(ROOT, "a", 1).expect("a");
        assert_eq!(tree.write(a, 0, &[b"0123456", b"789xyz"], 2), Ok(10), "a short write up to the quota");
        assert_eq!(tree.write(a, 10, &[b"!"], 3), Err(Errno::NOSPC));
        assert_eq!(tree.symlink("a", ROOT, "l", 4), Err(Errno::NOSPC), "a symlink's target counts too");
        tree.create_file(ROOT, "b", 5).expect("b");
        assert_eq!(tree.create_file(ROOT, "c", 6), Err(Errno::DQUOT));
        tree.open(a).expect("open");
        tree.remove(ROOT, "a", false, 7).expect("unlink");
        assert_eq!(tree.usage(), (10, 1), "unlinked but open: its bytes stay");
        let mut buf = [0u8; 4];
        assert_eq!(tree.read(a, 6, &mut buf), Ok(4));
        assert_eq!(&buf, b"6789");
        tree.close(a);
        assert_eq!(tree.usage(), (0, 1), "closed: freed");
        let c = tree.create_file(ROOT, "c", 8).expect("c");
        assert!(c > a, "inode numbers are never reused");
    }

    #[test]
    fn rename_follows_posix() {
        let mut tree = sample();
        tree.mkdir(ROOT, "dir/sub", 20).expect("mkdir");
        for (old, new, expected) in [
            ("dir", "dir/sub/x", Err(Errno::INVAL)),
            ("dir", "link", Err(Errno::NOTDIR)),
            ("dir/file", "dir/sub", Err(Errno::ISDIR)),
            ("dir/sub", "dir/file/", Err(Errno::NOTDIR)),
            ("missing", "x", Err(Errno::NOENT)),
            ("..", "x", Err(Errno::INVAL)),
            ("dir/file", "dir/file", Ok(())),
            ("link", "moved", Ok(())),
        ] {
            assert_eq!(tree.rename(ROOT, old, ROOT, new, 30), expected, "{old} -> {new}");
        }
        assert_eq!(tree.lookup(ROOT, "moved", true), Ok(3), "a moved relative symlink resolves from its new folder");
        tree.put_file("other", b"zz", 31).expect("file");
        tree.rename(ROOT, "other", ROOT, "dir/file", 32).expect("over a file");
        assert_eq!(tree.file_bytes("dir/file"), Some(&b"zz"[..]));
        assert_eq!(tree.usage(), (2 + "dir/file".len() as u64 + 2 + 4, 6), "the replaced file is freed");
    }

    #[test]
    fn a_frozen_tree_refuses_every_change() {
        let mut tree = sample();
        tree.freeze();
        assert_eq!(tree.create_file(ROOT, "x", 1), Err(Errno::ROFS));
        assert_eq!(tree.mkdir(ROOT, "y", 1), Err(Errno::ROFS));
        assert_eq!(tree.write(3, 0, &[b"x"], 1), Err(Errno::ROFS));
        assert_eq!(tree.remove(ROOT, "dir/file", false, 1), Err(Errno::ROFS));
        assert_eq!(tree.file_bytes("link"), Some(&b"abc"[..]));
    }
}

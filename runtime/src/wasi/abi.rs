//! WASI preview 1 as it looks in linear memory: errno values, flags, and the byte layouts of the records the
//! file-system calls read and write (`wasi_snapshot_preview1.witx`, `typenames.witx`).

/// A WASI errno. The guest's wasi-libc uses these numbers as its `errno` values, so `OSError.errno` in Python is
/// the number here (`ENOSPC` is 51, not Linux's 28).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub(crate) u16);

impl Errno {
    pub(crate) const BADF: Errno = Errno(8);
    pub(crate) const DQUOT: Errno = Errno(19);
    pub(crate) const EXIST: Errno = Errno(20);
    pub(crate) const FAULT: Errno = Errno(21);
    pub(crate) const FBIG: Errno = Errno(22);
    pub(crate) const ILSEQ: Errno = Errno(25);
    pub(crate) const INVAL: Errno = Errno(28);
    pub(crate) const ISDIR: Errno = Errno(31);
    pub(crate) const LOOP: Errno = Errno(32);
    pub(crate) const MFILE: Errno = Errno(33);
    pub(crate) const MLINK: Errno = Errno(34);
    pub(crate) const NAMETOOLONG: Errno = Errno(37);
    pub(crate) const NOENT: Errno = Errno(44);
    pub(crate) const NOSPC: Errno = Errno(51);
    pub(crate) const NOTDIR: Errno = Errno(54);
    pub(crate) const NOTEMPTY: Errno = Errno(55);
    pub(crate) const NOTSOCK: Errno = Errno(57);
    pub(crate) const NOTSUP: Errno = Errno(58);
    pub(crate) const OVERFLOW: Errno = Errno(61);
    pub(crate) const PERM: Errno = Errno(63);
    pub(crate) const ROFS: Errno = Errno(69);
    pub(crate) const SPIPE: Errno = Errno(70);
    pub(crate) const XDEV: Errno = Errno(75);
}

/// `filetype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Filetype {
    Unknown = 0,
    Directory = 3,
    RegularFile = 4,
    SymbolicLink = 7,
}

/// `fdflags`.
pub(crate) const FDFLAGS_APPEND: u16 = 1 << 0;
pub(crate) const FDFLAGS_DSYNC: u16 = 1 << 1;
pub(crate) const FDFLAGS_NONBLOCK: u16 = 1 << 2;
pub(crate) const FDFLAGS_RSYNC: u16 = 1 << 3;
pub(crate) const FDFLAGS_SYNC: u16 = 1 << 4;
const FDFLAGS_ALL: u16 = (1 << 5) - 1;

/// `oflags`.
pub(crate) const OFLAGS_CREAT: u16 = 1 << 0;
pub(crate) const OFLAGS_DIRECTORY: u16 = 1 << 1;
pub(crate) const OFLAGS_EXCL: u16 = 1 << 2;
pub(crate) const OFLAGS_TRUNC: u16 = 1 << 3;
const OFLAGS_ALL: u16 = (1 << 4) - 1;

/// `lookupflags`.
pub(crate) const LOOKUP_SYMLINK_FOLLOW: u32 = 1 << 0;

/// `fstflags`.
pub(crate) const FST_ATIM: u16 = 1 << 0;
pub(crate) const FST_ATIM_NOW: u16 = 1 << 1;
pub(crate) const FST_MTIM: u16 = 1 << 2;
pub(crate) const FST_MTIM_NOW: u16 = 1 << 3;
const FST_ALL: u16 = (1 << 4) - 1;

/// The `rights` bits this implementation reads: whether a descriptor may read or write.
pub(crate) const RIGHT_FD_READ: u64 = 1 << 1;
pub(crate) const RIGHT_FD_WRITE: u64 = 1 << 6;
/// Every right WASI preview 1 defines (bits 0–29). Rights are not enforced beyond read and write (wasi-libc asks for
/// what `open`'s flags need); descriptors report all of them, as wasmtime-wasi does for its preopens.
pub(crate) const RIGHTS_ALL: u64 = (1 << 30) - 1;

/// `whence`.
pub(crate) const WHENCE_SET: u8 = 0;
pub(crate) const WHENCE_CUR: u8 = 1;
pub(crate) const WHENCE_END: u8 = 2;

/// `clockid`.
pub(crate) const CLOCK_REALTIME: u32 = 0;
pub(crate) const CLOCK_MONOTONIC: u32 = 1;

/// Byte sizes of the records.
pub(crate) const FILESTAT_SIZE: usize = 64;
pub(crate) const FDSTAT_SIZE: usize = 24;
pub(crate) const PRESTAT_SIZE: usize = 8;
pub(crate) const DIRENT_SIZE: usize = 24;
const IOVEC_SIZE: usize = 8;

/// The flags a `u16`/`u32` argument may carry; any other bit is `EINVAL`, as wasmtime's generated bindings check.
pub(crate) fn fdflags(raw: i32) -> Result<u16, Errno> {
    u16::try_from(raw).ok().filter(|f| f & !FDFLAGS_ALL == 0).ok_or(Errno::INVAL)
}
pub(crate) fn oflags(raw: i32) -> Result<u16, Errno> {
    u16::try_from(raw).ok().filter(|f| f & !OFLAGS_ALL == 0).ok_or(Errno::INVAL)
}
pub(crate) fn fstflags(raw: i32) -> Result<u16, Errno> {
    u16::try_from(raw).ok().filter(|f| f & !FST_ALL == 0).ok_or(Errno::INVAL)
}
pub(crate) fn lookupflags(raw: i32) -> Result<u32, Errno> {
    Some(raw as u32).filter(|f| f & !LOOKUP_SYMLINK_FOLLOW == 0).ok_or(Errno::INVAL)
}

/// `filestat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Filestat {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) filetype: Filetype,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
    pub(crate) ctim: u64,
}

/// `fdstat`.
pub(crate) struct Fdstat {
    pub(crate) filetype: Filetype,
    pub(crate) flags: u16,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
}

/// The guest's linear memory, every access bounds-checked: an address outside it is `EFAULT`, never a host panic.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let start = ptr as usize;
        start.checked_add(len as usize).and_then(|end| self.bytes.get(start..end)).ok_or(Errno::FAULT)
    }

    /// `len` writable bytes at `ptr`.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let start = ptr as usize;
        start.checked_add(len as usize).and_then(|end| self.bytes.get_mut(start..end)).ok_or(Errno::FAULT)
    }

    /// A path argument: `len` bytes at `ptr`, which must be UTF-8 (`EILSEQ` otherwise, as wasmtime-wasi answers).
    pub(crate) fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::ILSEQ)
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.slice_mut(ptr, 4)?.copy_from_slice(&value.to_le_bytes());
        Ok(())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.slice_mut(ptr, 8)?.copy_from_slice(&value.to_le_bytes());
        Ok(())
    }

    /// The `(buf, buf_len)` pairs of an `iovec` or `ciovec` array.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        let table = self.slice(ptr, count.checked_mul(IOVEC_SIZE as u32).ok_or(Errno::FAULT)?)?;
        Ok(table
            .chunks_exact(IOVEC_SIZE)
            .map(|v| (u32::from_le_bytes([v[0], v[1], v[2], v[3]]), u32::from_le_bytes([v[4], v[5], v[6], v[7]])))
            .collect())
    }

    pub(crate) fn write_filestat(&mut self, ptr: u32, stat: &Filestat) -> Result<(), Errno> {
        let out = self.slice_mut(ptr, FILESTAT_SIZE as u32)?;
        out.fill(0);
        out[0..8].copy_from_slice(&stat.dev.to_le_bytes());
        out[8..16].copy_from_slice(&stat.ino.to_le_bytes());
        out[16] = stat.filetype as u8;
        out[24..32].copy_from_slice(&stat.nlink.to_le_bytes());
        out[32..40].copy_from_slice(&stat.size.to_le_bytes());
        out[40..48].copy_from_slice(&stat.atim.to_le_bytes());
        out[48..56].copy_from_slice(&stat.mtim.to_le_bytes());
        out[56..64].copy_from_slice(&stat.ctim.to_le_bytes());
        Ok(())
    }

    pub(crate) fn write_fdstat(&mut self, ptr: u32, stat: &Fdstat) -> Result<(), Errno> {
        let out = self.slice_mut(ptr, FDSTAT_SIZE as u32)?;
        out.fill(0);
        out[0] = stat.filetype as u8;
        out[2..4].copy_from_slice(&stat.flags.to_le_bytes());
        out[8..16].copy_from_slice(&stat.rights_base.to_le_bytes());
        out[16..24].copy_from_slice(&stat.rights_inheriting.to_le_bytes());
        Ok(())
    }
}

/// One `dirent` header followed by its name, as `fd_readdir` lays them out back to back.
pub(crate) fn dirent(next: u64, ino: u64, filetype: Filetype, name: &str, out: &mut Vec<u8>) {
    let mut header = [0u8; DIRENT_SIZE];
    header[0..8].copy_from_slice(&next.to_le_bytes());
    header[8..16].copy_from_slice(&ino.to_le_bytes());
    header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
    header[20] = filetype as u8;
    out.extend_from_slice(&header);
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_past_the_end_of_memory_is_efault_not_a_panic() {
        let mut bytes = vec![0u8; 16];
        let mut memory = GuestMemory::new(&mut bytes);
        assert_eq!(memory.slice(12, 4).map(<[u8]>::len), Ok(4));
        assert_eq!(memory.slice(13, 4), Err(Errno::FAULT));
        assert_eq!(memory.slice(u32::MAX, 2), Err(Errno::FAULT));
        assert_eq!(memory.write_u64(9, 1), Err(Errno::FAULT));
        assert_eq!(memory.iovecs(8, u32::MAX), Err(Errno::FAULT));
        memory.write_u32(0, 0xdead_beef).expect("in bounds");
        assert_eq!(memory.slice(0, 4), Ok(&0xdead_beef_u32.to_le_bytes()[..]));
    }

    #[test]
    fn records_have_the_witx_layout() {
        let mut bytes = vec![0xffu8; 64];
        let mut memory = GuestMemory::new(&mut bytes);
        let stat =
            Filestat { dev: 2, ino: 3, filetype: Filetype::RegularFile, nlink: 1, size: 5, atim: 6, mtim: 7, ctim: 8 };
        memory.write_filestat(0, &stat).expect("fits");
        assert_eq!(&bytes[16..24], &[4, 0, 0, 0, 0, 0, 0, 0], "filetype then padding");
        assert_eq!(bytes[56], 8);
        let mut entry = Vec::new();
        dirent(9, 4, Filetype::Directory, "ab", &mut entry);
        assert_eq!(entry.len(), DIRENT_SIZE + 2);
        assert_eq!((entry[0], entry[8], entry[16], entry[20], &entry[24..]), (9, 4, 2, 3, &b"ab"[..]));
    }
}

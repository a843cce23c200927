//! Finding the pages of linear memory a guest wrote, so that a used instance can be put back to the snapshot's
//! exact bytes instead of being thrown away.
//!
//! A fresh instance maps the snapshot copy-on-write: every page the guest writes becomes a private anonymous copy,
//! and every page it reads is mapped from the image. Dropping the instance and mapping a new one costs ~600 page
//! faults and an unmap with TLB shootdowns per execution (about 4 ms here), which is most of a small execution's
//! time. Instead, Linux's `PAGEMAP_SCAN` (kernel ≥ 6.7) lists the private anonymous pages of the memory in one call,
//! and copying the snapshot's bytes over exactly those pages restores the memory while keeping it mapped.

use std::fs::File;
use std::ops::Range;

/// The smallest page size the kernel may use; only for aligning the scan's start.
const PAGE: u64 = 4096;

/// One answer of the scan holds at most this many ranges; the scan continues where it stopped.
const BATCH: usize = 256;

/// The kernel's `PAGE_IS_*` categories used here.
const PRESENT: u64 = 1 << 3;
const SWAPPED: u64 = 1 << 4;
const FILE: u64 = 1 << 2;
const PFNZERO: u64 = 1 << 5;

/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u64 = 0xc060_6610;

/// `struct pm_scan_arg` from `linux/fs.h`.
#[repr(C)]
#[derive(Default)]
struct ScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region` from `linux/fs.h`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// `/proc/self/pagemap`, opened once, for scans of this process's own memory.
pub(crate) struct PageScanner {
    pagemap: File,
}

impl PageScanner {
    /// The scanner, when this kernel supports `PAGEMAP_SCAN` (it probes with a real scan of a heap buffer).
    pub(crate) fn probe() -> Option<PageScanner> {
        let scanner = PageScanner { pagemap: File::open("/proc/self/pagemap").ok()? };
        let probe = vec![1u8; 1 << 16];
        let mut ranges = Vec::new();
        scanner.private_pages(&probe, &mut ranges).ok()?;
        ranges.first()?;
        Some(scanner)
    }

    /// Fills `ranges` with the byte ranges of `memory` (relative to its start) that hold private anonymous pages,
    /// present or swapped out: the pages written since `memory` was mapped from its image. Pages still mapped from
    /// the image and never-written zero pages are left out.
    pub(crate) fn private_pages(&self, memory: &[u8], ranges: &mut Vec<Range<usize>>) -> std::io::Result<()> {
        ranges.clear();
        let base = memory.as_ptr() as u64;
        let end = base + memory.len() as u64;
        let mut regions = [PageRegion::default(); BATCH];
        // The kernel wants a page-aligned start (wasm memories are); the regions are clipped to `memory` below.
        let mut start = base & !(PAGE - 1);
        while start < end {
            let mut arg = ScanArg {
                size: size_of::<ScanArg>() as u64,
                start,
                end,
                vec: regions.as_mut_ptr() as u64,
                vec_len: BATCH as u64,
                category_inverted: FILE | PFNZERO,
                category_mask: FILE | PFNZERO,
                category_anyof_mask: PRESENT | SWAPPED,
                ..ScanArg::default()
            };
            let found = self.scan(&mut arg)?;
            for region in &regions[..found.min(BATCH)] {
                let from = region.start.max(base) - base;
                let to = region.end.min(end).saturating_sub(base);
                if from < to {
                    ranges.push(from as usize..to as usize);
                }
            }
            if arg.walk_end <= start {
                return Err(std::io::Error::other("PAGEMAP_SCAN made no progress"));
            }
            start = arg.walk_end;
        }
        Ok(())
    }

    /// One `PAGEMAP_SCAN` call; the number of regions it wrote.
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn scan(&self, arg: &mut ScanArg) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        // SAFETY: `arg` is a valid, exclusively borrowed `pm_scan_arg` whose `size` field is its own size; its `vec`
        // points to a live buffer of `vec_len` `page_region`s that the caller owns for the duration of the call and
        // does not otherwise touch; the kernel only reads the address range [start, end) of this process's page
        // tables (it never dereferences it) and writes `walk_end` and at most `vec_len` regions.
        let found = unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN as _, arg as *mut ScanArg) };
        usize::try_from(found).map_err(|_| std::io::Error::last_os_error())
    }

    #[cfg(not(target_os = "linux"))]
    fn scan(&self, _arg: &mut ScanArg) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// For tests of the reset path on a kernel without `PAGEMAP_SCAN`: a failure under CI (`CI` set, as CI services
/// set it), so that a CI machine cannot silently stop testing the reset; elsewhere a note that nothing is tested.
#[cfg(test)]
pub(crate) fn unsupported_here() {
    assert!(
        std::env::var_os("CI").is_none(),
        "PAGEMAP_SCAN is unsupported on this kernel (Linux ≥ 6.7 has it), so the reset path goes untested; CI must \
         run on a kernel that has it"
    );
    eprintln!("PAGEMAP_SCAN unsupported on this kernel: every execution maps a new instance; nothing to test here");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_reports_written_pages_and_skips_untouched_ones() {
        // A large heap buffer is fresh anonymous memory: its pages are absent until written.
        let Some(scanner) = PageScanner::probe() else {
            return unsupported_here();
        };
        let page = 4096;
        let mut buffer = vec![0u8; 64 * page + page];
        let offset = buffer.as_ptr().align_offset(page);
        let memory = &mut buffer[offset..offset + 64 * page];
        let mut ranges = Vec::new();
        for i in [3, 4, 40] {
            memory[i * page] = 7;
        }
        scanner.private_pages(memory, &mut ranges).expect("scans");
        let pages: Vec<usize> = ranges.iter().flat_map(|r| (r.start / page)..(r.end / page)).collect();
        for i in [3, 4, 40] {
            assert!(pages.contains(&i), "page {i} was written but not reported: {ranges:?}");
        }
        for i in [10, 20, 30] {
            assert!(!pages.contains(&i), "page {i} was never touched but was reported: {ranges:?}");
        }
        assert!(ranges.iter().all(|r| r.end <= memory.len() && r.start % page == 0));
    }
}

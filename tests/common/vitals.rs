//! The process's open descriptors and resident memory, read from `/proc/self`, for tests
//! that prove nothing leaks.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Open file descriptors of this process.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Resident set size in KiB (VmRSS).
pub(crate) fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Serialises the tests of one binary that count descriptors: tests run on parallel threads,
/// and another test's sockets would blur the count.
pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits up to `within` for the descriptor count to come back to `start` (sockets closed
/// by other threads close a moment later); returns the last count seen.
pub(crate) fn fds_settle(start: usize, within: std::time::Duration) -> usize {
    let end = std::time::Instant::now() + within;
    loop {
        let now = open_fds();
        if now <= start || std::time::Instant::now() >= end {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

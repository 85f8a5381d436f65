//! The provided-buffer ring every multishot receive of the backend draws from.
//!
//! One mapping holds the ring of buffer descriptions (page-aligned, as the kernel wants) and
//! the buffers themselves. Each receive takes a whole buffer; its bytes are copied out into
//! the connection's receive slot while its completion is handled, and the buffer goes back
//! to the ring at once, so the buffers are shared by every connection and an idle connection
//! holds none.
//!
//! The ring is not registered for incremental consumption (`IOU_PBUF_RING_INC`, Linux 6.12,
//! where the kernel fills one buffer piece by piece over many receives): measured here, it
//! gave the same median round trip and a longer tail (one session: p99 over epoll's 1.22–1.28
//! with it, 1.03–1.09 without), and no gain with 100 or 1,000 sessions
//! (docs/benchmarks.md).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::cqueue;
use io_uring::types::BufRingEntry;

use fixring_io::BackendError;

use crate::ring::Ring;

/// The buffer group of the ring.
pub(crate) const GROUP: u16 = 0;
/// The most entries a provided-buffer ring may have.
const MAX_ENTRIES: usize = 1 << 15;

/// The registered provided-buffer ring and its buffers.
#[derive(Debug)]
pub(crate) struct Provided {
    base: NonNull<u8>,
    map_len: usize,
    /// Bytes of ring entries before the first buffer (whole pages).
    ring_len: usize,
    entries: u16,
    buf_size: usize,
    /// The tail published to the kernel.
    tail: u16,
    /// Set when receives may still target the buffers at drop: the mapping is then kept.
    leak: bool,
}

// Safety: the mapping is owned by this value alone and carries no thread affinity.
unsafe impl Send for Provided {}

impl Provided {
    /// Maps `entries` buffers of `buf_size` bytes (`entries` rounded up to a power of two),
    /// registers them with `ring` and hands them all to the kernel.
    pub(crate) fn new(ring: &mut Ring, entries: usize, buf_size: usize) -> io::Result<Self> {
        let entries = entries.clamp(1, MAX_ENTRIES).next_power_of_two();
        let page = page_size();
        let ring_len = (entries * std::mem::size_of::<BufRingEntry>()).div_ceil(page) * page;
        let map_len = entries
            .checked_mul(buf_size)
            .and_then(|n| n.checked_add(ring_len))
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // Safety: an anonymous private mapping at an address of the kernel's choosing touches
        // no existing memory; the result is checked before use.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(addr.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        let entries16 = u16::try_from(entries).unwrap_or(u16::MAX);
        let mut provided = Self {
            base,
            map_len,
            ring_len,
            entries: entries16,
            buf_size,
            tail: 0,
            leak: false,
        };
        let ring_addr = base.as_ptr() as u64;
        // Safety: the ring entries lie at the start of the mapping (page-aligned, zeroed, so
        // the tail starts at 0), which lives until this value drops; the backend drops the
        // ring first (field order) and leaks the mapping when receives may remain.
        let registered = unsafe { ring.register_buf_ring(ring_addr, entries16, GROUP, 0) };
        match registered {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(BackendError::KernelTooOld(
                    "io_uring's provided-buffer rings (Linux 5.19)",
                )
                .into());
            }
            other => other?,
        }
        for bid in 0..entries16 {
            provided.push(bid);
        }
        provided.publish();
        Ok(provided)
    }

    /// Keeps the mapping alive past drop, for receives that never completed.
    pub(crate) fn leak_on_drop(&mut self) {
        self.leak = true;
    }

    /// The bytes a receive completion put in its buffer, and the buffer, to hand back with
    /// [`Provided::release`] once they are copied out.
    ///
    /// # Safety
    ///
    /// `cqe_flags` and `len` must come from a completion of a receive from this ring, and
    /// the slice must be dropped before [`Provided::release`] hands the buffer back.
    pub(crate) unsafe fn bytes(&self, cqe_flags: u32, len: usize) -> Option<(&[u8], u16)> {
        let bid = cqueue::buffer_select(cqe_flags)?;
        let buf = self.buffer(bid)?;
        // Safety: the kernel wrote `len` bytes at the buffer's start and is done with them
        // (their completion arrived); the range lies inside the buffer.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr(), len.min(self.buf_size)) };
        Some((bytes, bid))
    }

    /// Hands buffer `bid` back to the kernel.
    pub(crate) fn release(&mut self, bid: u16) {
        self.push(bid);
        self.publish();
    }

    fn buffer(&self, bid: u16) -> Option<NonNull<u8>> {
        (bid < self.entries).then(|| {
            // Safety: `bid < entries`, so the offset stays inside the mapping.
            unsafe {
                self.base
                    .add(self.ring_len + usize::from(bid) * self.buf_size)
            }
        })
    }

    /// Writes buffer `bid` into the next ring entry (published by [`Provided::publish`]).
    fn push(&mut self, bid: u16) {
        let Some(buf) = self.buffer(bid) else {
            return;
        };
        let index = usize::from(self.tail & (self.entries - 1));
        // Safety: `index < entries`, so the entry lies in the ring part of the mapping; the
        // kernel reads entries only up to the published tail, and this one is past it.
        let entry = unsafe { &mut *self.base.as_ptr().cast::<BufRingEntry>().add(index) };
        entry.set_addr(buf.as_ptr() as u64);
        entry.set_len(u32::try_from(self.buf_size).unwrap_or(u32::MAX));
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the entries pushed so far to the kernel.
    fn publish(&self) {
        // Safety: the tail field overlays the first entry's reserved field, at the start of the
        // page-aligned mapping; the kernel reads it atomically, and so it is written.
        let tail = unsafe {
            let ptr = BufRingEntry::tail(self.base.as_ptr().cast::<BufRingEntry>());
            &*ptr.cast::<AtomicU16>()
        };
        tail.store(self.tail, Ordering::Release);
    }
}

/// The system's page size.
fn page_size() -> usize {
    // Safety: sysconf takes no pointers.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

impl Drop for Provided {
    fn drop(&mut self) {
        if self.leak {
            return;
        }
        // Safety: the mapping was created in `new` with this length and is unmapped only
        // here, after the ring (which the backend drops first) ended every receive.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

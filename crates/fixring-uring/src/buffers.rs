//! The buffer slab: one anonymous mapping holding every connection's receive slot and send
//! slot, registered with the ring when the kernel allows.
//!
//! Receive slot `i` is registered buffer `i`; send slot `i` is registered buffer `slots + i`.
//! The mapping never moves and lives until the backend is dropped, after the ring.

use std::io;
use std::ptr::NonNull;

/// The most buffers one ring can register (`IORING_MAX_REG_BUFFERS`).
const MAX_REGISTERED: usize = 1 << 14;
/// The largest single registered buffer the kernel accepts.
const MAX_REGISTERED_LEN: usize = 1 << 30;

/// The receive and send slots of every connection.
#[derive(Debug)]
pub(crate) struct Slab {
    base: NonNull<u8>,
    map_len: usize,
    slot_size: usize,
    slots: usize,
    registered: bool,
    /// Set when operations may still target the mapping at drop: it is then never unmapped.
    leak: bool,
}

// Safety: the mapping is owned by this value alone and carries no thread affinity; moving the
// owner to another thread moves the only handle to it.
unsafe impl Send for Slab {}

impl Slab {
    /// Maps `2 * slots` slots of `slot_size` bytes.
    pub(crate) fn new(slots: usize, slot_size: usize) -> io::Result<Self> {
        let map_len = slots
            .checked_mul(2)
            .and_then(|n| n.checked_mul(slot_size))
            .filter(|&n| n > 0)
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
        Ok(Self {
            base,
            map_len,
            slot_size,
            slots,
            registered: false,
            leak: false,
        })
    }

    /// One iovec per slot, receive slots first, or `None` when the kernel could not take them
    /// as registered buffers (too many, or too large).
    pub(crate) fn iovecs(&self) -> Option<Vec<libc::iovec>> {
        if self.slots * 2 > MAX_REGISTERED || self.slot_size > MAX_REGISTERED_LEN {
            return None;
        }
        let iovecs = (0..self.slots * 2)
            .map(|i| libc::iovec {
                iov_base: self.slot_ptr(i).cast(),
                iov_len: self.slot_size,
            })
            .collect();
        Some(iovecs)
    }

    /// Records that the ring holds the slots as registered buffers.
    pub(crate) fn set_registered(&mut self) {
        self.registered = true;
    }

    /// Whether reads and writes use the registered (fixed) buffer operations.
    pub(crate) fn registered(&self) -> bool {
        self.registered
    }

    /// Keeps the mapping alive past drop, for operations that never completed.
    pub(crate) fn leak_on_drop(&mut self) {
        self.leak = true;
    }

    /// The size of each slot.
    pub(crate) fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Start of slot `i` of the whole slab (receive slots, then send slots); `i` must be below
    /// `2 * slots`, which every caller checks through [`Slab::rx`] / [`Slab::tx`].
    fn slot_ptr(&self, i: usize) -> *mut u8 {
        // Safety: `i < 2 * slots`, so the offset stays inside the mapping of
        // `2 * slots * slot_size` bytes.
        unsafe { self.base.as_ptr().add(i * self.slot_size) }
    }

    /// Receive slot `conn`: its start and registered buffer index.
    pub(crate) fn rx(&self, conn: usize) -> Option<(*mut u8, u16)> {
        (conn < self.slots).then(|| (self.slot_ptr(conn), buf_index(conn)))
    }

    /// Send slot `conn`: its start and registered buffer index.
    pub(crate) fn tx(&self, conn: usize) -> Option<(*mut u8, u16)> {
        (conn < self.slots).then(|| {
            (
                self.slot_ptr(self.slots + conn),
                buf_index(self.slots + conn),
            )
        })
    }

    /// Receive slot `conn` as a slice.
    ///
    /// # Safety
    ///
    /// No kernel operation may target the receive slot while the slice lives.
    pub(crate) unsafe fn rx_mut(&mut self, conn: usize) -> Option<&mut [u8]> {
        let (rx, _) = self.rx(conn)?;
        // Safety: the range lies inside the mapping (checked by `rx`), `&mut self` keeps it
        // from being lent twice, and the caller keeps the kernel away from it.
        unsafe { Some(std::slice::from_raw_parts_mut(rx, self.slot_size)) }
    }

    /// Send slot `conn` as a slice.
    ///
    /// # Safety
    ///
    /// No kernel operation may target the send slot while the slice lives.
    pub(crate) unsafe fn tx_mut(&mut self, conn: usize) -> Option<&mut [u8]> {
        let (tx, _) = self.tx(conn)?;
        // Safety: as in `rx_mut`, for the send slot.
        unsafe { Some(std::slice::from_raw_parts_mut(tx, self.slot_size)) }
    }

    /// Both slots of connection `conn` as slices.
    ///
    /// # Safety
    ///
    /// While the slices live, no kernel operation may write to a byte of the receive slot the
    /// caller reads or writes, nor read a byte of the send slot the caller writes: the caller
    /// keeps an in-flight read past the received bytes and an in-flight write before the
    /// committed end, as the backend's buffer discipline says.
    pub(crate) unsafe fn pair_mut(&mut self, conn: usize) -> Option<(&mut [u8], &mut [u8])> {
        let (rx, _) = self.rx(conn)?;
        let (tx, _) = self.tx(conn)?;
        // Safety: both ranges lie inside the mapping (checked by `rx`/`tx`), do not overlap
        // (different slots), and `&mut self` keeps the backend from lending them twice; the
        // kernel's accesses are kept disjoint by the caller's contract.
        unsafe {
            Some((
                std::slice::from_raw_parts_mut(rx, self.slot_size),
                std::slice::from_raw_parts_mut(tx, self.slot_size),
            ))
        }
    }
}

/// The registered index of slab slot `i`, which stays below `MAX_REGISTERED` whenever
/// registration succeeded; otherwise the index is never used.
fn buf_index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl Drop for Slab {
    fn drop(&mut self) {
        if self.leak {
            return;
        }
        // Safety: the mapping was created in `new` with this length, is unmapped only here,
        // and the backend drops the ring (ending every operation) before the slab.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

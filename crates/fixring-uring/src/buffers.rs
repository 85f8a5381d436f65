//! The buffer slab: one anonymous mapping holding every connection's receive slot and send
//! slot.
//!
//! The slab is not registered with the kernel: receives land in the shared provided-buffer
//! ring and are copied into a receive slot, and sends copy their bytes into the socket, so
//! registering (pinning) every slot would only make all of them resident from the start.
//! Untouched pages of an idle connection's slots stay unallocated.
//! The mapping never moves and lives until the backend is dropped, after the ring.

use std::io;
use std::ptr::NonNull;

/// The receive and send slots of every connection.
#[derive(Debug)]
pub(crate) struct Slab {
    base: NonNull<u8>,
    map_len: usize,
    slot_size: usize,
    slots: usize,
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
            leak: false,
        })
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

    /// The start of receive slot `conn`.
    pub(crate) fn rx(&self, conn: usize) -> Option<*mut u8> {
        (conn < self.slots).then(|| self.slot_ptr(conn))
    }

    /// The start of send slot `conn`.
    pub(crate) fn tx(&self, conn: usize) -> Option<*mut u8> {
        (conn < self.slots).then(|| self.slot_ptr(self.slots + conn))
    }

    /// Send slot `conn` as a slice.
    ///
    /// # Safety
    ///
    /// No kernel operation may target the send slot while the slice lives.
    pub(crate) unsafe fn tx_mut(&mut self, conn: usize) -> Option<&mut [u8]> {
        let tx = self.tx(conn)?;
        // Safety: the range lies inside the mapping (checked by `tx`), `&mut self` keeps it
        // from being lent twice, and the caller keeps the kernel away from it.
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
        let rx = self.rx(conn)?;
        let tx = self.tx(conn)?;
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

//! The connection table: one slot per connection, reused only once every operation on it has
//! completed.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use io_uring::types::Timespec;

use crate::connect::ConnectOp;
use crate::token::GEN_MASK;

/// Where a connection slot is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Unused, in the free list.
    Free,
    /// An outbound connect is in flight; the caller holds the identifier.
    Connecting,
    /// Connected; the caller holds the identifier.
    Open,
    /// Closed by the caller with committed bytes still to write.
    Draining,
    /// Released; waiting for the last operations before the slot is freed.
    Closing,
}

/// One connection slot.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) generation: u32,
    pub(crate) phase: Phase,
    pub(crate) fd: Option<OwnedFd>,
    pub(crate) peer: Option<SocketAddr>,
    /// Received bytes at the front of the receive slot.
    pub(crate) rx_len: usize,
    /// Committed bytes at the front of the send slot (an in-flight write reads a prefix).
    pub(crate) tx_len: usize,
    /// The loop asked to hear when a write makes room.
    pub(crate) notify_writable: bool,
    /// Offset in the receive slot of the read in flight.
    pub(crate) read: Option<usize>,
    /// Length of the write in flight.
    pub(crate) write: Option<usize>,
    /// The connect's address and timeout, owned until both its completions arrive.
    pub(crate) connect: Option<Box<ConnectOp>>,
    /// Completions still due for the connect and its link timeout.
    pub(crate) connect_pending: u8,
    /// The drain timeout's duration, owned while the timeout is in flight.
    pub(crate) drain_timer: Option<Box<Timespec>>,
    /// The read is to be re-armed at the next flush.
    pub(crate) want_read: bool,
    /// The slot is in the dirty list.
    pub(crate) dirty: bool,
}

impl Conn {
    fn new() -> Self {
        Self {
            generation: 0,
            phase: Phase::Free,
            fd: None,
            peer: None,
            rx_len: 0,
            tx_len: 0,
            notify_writable: false,
            read: None,
            write: None,
            connect: None,
            connect_pending: 0,
            drain_timer: None,
            want_read: false,
            dirty: false,
        }
    }

    /// Whether the caller holds this connection's identifier.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Open)
    }

    /// Whether any operation on this slot has yet to complete.
    pub(crate) fn busy(&self) -> bool {
        self.read.is_some()
            || self.write.is_some()
            || self.connect_pending > 0
            || self.drain_timer.is_some()
    }
}

/// The fixed table of connection slots.
#[derive(Debug)]
pub(crate) struct Conns {
    slots: Box<[Conn]>,
    free: Vec<u32>,
    dirty: Vec<u32>,
}

impl Conns {
    /// A table of `n` free slots.
    pub(crate) fn new(n: u32) -> Self {
        Self {
            slots: (0..n).map(|_| Conn::new()).collect(),
            free: (0..n).rev().collect(),
            dirty: Vec::new(),
        }
    }

    /// How many slots the table has.
    pub(crate) fn capacity(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Takes a free slot for a connection on `fd`, or `None` when the table is full.
    pub(crate) fn alloc(&mut self, fd: OwnedFd, phase: Phase, peer: SocketAddr) -> Option<u32> {
        let idx = self.free.pop()?;
        let c = self.slots.get_mut(idx as usize)?;
        c.phase = phase;
        c.fd = Some(fd);
        c.peer = Some(peer);
        c.rx_len = 0;
        c.tx_len = 0;
        c.notify_writable = false;
        c.want_read = false;
        Some(idx)
    }

    /// The slot `idx`, whatever its phase.
    pub(crate) fn slot(&mut self, idx: u32) -> Option<&mut Conn> {
        self.slots.get_mut(idx as usize)
    }

    /// The slot `idx` if `generation` is its current one.
    pub(crate) fn current(&mut self, idx: u32, generation: u32) -> Option<&mut Conn> {
        self.slots
            .get_mut(idx as usize)
            .filter(|c| c.generation == generation && c.phase != Phase::Free)
    }

    /// The slot `idx` if the caller holds it.
    pub(crate) fn live(&self, idx: u32) -> Option<&Conn> {
        self.slots.get(idx as usize).filter(|c| c.is_live())
    }

    /// Puts `idx` on the list the next flush visits.
    pub(crate) fn mark_dirty(&mut self, idx: u32) {
        if let Some(c) = self.slots.get_mut(idx as usize)
            && !c.dirty
        {
            c.dirty = true;
            self.dirty.push(idx);
        }
    }

    /// Takes the dirty list, clearing every slot's mark.
    pub(crate) fn take_dirty(&mut self, into: &mut Vec<u32>) {
        for &idx in &self.dirty {
            if let Some(c) = self.slots.get_mut(idx as usize) {
                c.dirty = false;
            }
        }
        into.append(&mut self.dirty);
    }

    /// Frees slot `idx` (closing its socket) if it is released and idle.
    pub(crate) fn reclaim(&mut self, idx: u32) {
        let Some(c) = self.slots.get_mut(idx as usize) else {
            return;
        };
        if c.phase != Phase::Closing || c.busy() {
            return;
        }
        c.fd = None;
        c.peer = None;
        c.connect = None;
        c.phase = Phase::Free;
        c.generation = c.generation.wrapping_add(1) & GEN_MASK;
        self.free.push(idx);
    }

    /// Indices of every slot not free.
    pub(crate) fn in_use(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, c)| c.phase != Phase::Free)
            .filter_map(|(i, _)| u32::try_from(i).ok())
    }

    /// Closes every socket and frees every slot; only once no operation can touch them.
    pub(crate) fn clear(&mut self) {
        for idx in 0..self.slots.len() {
            if let Some(c) = self.slots.get_mut(idx)
                && c.phase != Phase::Free
            {
                c.phase = Phase::Closing;
                c.read = None;
                c.write = None;
                c.connect_pending = 0;
                c.drain_timer = None;
                if let Ok(idx) = u32::try_from(idx) {
                    self.reclaim(idx);
                }
            }
        }
        self.dirty.clear();
    }
}

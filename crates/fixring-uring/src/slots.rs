//! The connection table: one slot per connection, reused only once every operation on it has
//! completed.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use fixring_io::slots::{SlotKey, Slots};
use io_uring::types::Timespec;

use crate::connect::ConnectOp;

/// Where a connection slot is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Phase {
    /// An outbound connect is in flight; the caller holds the identifier.
    Connecting,
    /// Connected; the caller holds the identifier.
    Open,
    /// Closed by the caller with committed bytes still to write.
    Draining,
    /// Released; waiting for the last operations before the slot is freed (also the phase of
    /// a slot never occupied, until [`Conns::alloc`] sets one).
    #[default]
    Closing,
}

/// A send in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteOp {
    /// Bytes it sends, from the front of the send slot.
    pub(crate) len: usize,
    /// For a send whose success posts no completion (`SKIP_SUCCESS`, `MSG_DONTWAIT`): the
    /// ring's [`issued`](crate::ring::Ring::issued) count when it was queued. It is over, sent
    /// in full, once an enter issued it and no failure completion came.
    pub(crate) silent: Option<u64>,
}

/// One connection slot.
#[derive(Debug, Default)]
pub(crate) struct Conn {
    pub(crate) phase: Phase,
    pub(crate) fd: Option<OwnedFd>,
    /// The socket is in the ring's fixed-file table at the slot's index.
    pub(crate) fixed: bool,
    pub(crate) peer: Option<SocketAddr>,
    /// Received bytes at the front of the receive slot.
    pub(crate) rx_len: usize,
    /// Received bytes that did not fit in the receive slot, in order, moved there as the
    /// loop consumes; the receive stays stopped until they are.
    pub(crate) spill: Vec<u8>,
    /// How the stream ended (`None`: in order), held back until `spill` is delivered.
    pub(crate) end: Option<Option<io::Error>>,
    /// Committed bytes at the front of the send slot (a send in flight reads a prefix).
    pub(crate) tx_len: usize,
    /// The loop asked to hear when a write makes room.
    pub(crate) notify_writable: bool,
    /// The multishot receive is armed (until its final completion).
    pub(crate) recv: bool,
    /// A spinning loop reads this socket with `recv(2)` at every look, its multishot
    /// receive cancelled and not armed again until this is cleared (see `recv.rs`).
    pub(crate) polled: bool,
    /// The send in flight.
    pub(crate) write: Option<WriteOp>,
    /// The socket's send buffer was full: sends wait for room until one has written
    /// everything.
    pub(crate) blocked: bool,
    /// The connect's address and timeout, owned until both its completions arrive.
    pub(crate) connect: Option<Box<ConnectOp>>,
    /// Completions still due for the connect and its link timeout.
    pub(crate) connect_pending: u8,
    /// The drain timeout's duration, owned while the timeout is in flight.
    pub(crate) drain_timer: Option<Box<Timespec>>,
    /// The slot is in the dirty list.
    pub(crate) dirty: bool,
}

impl Conn {
    /// Whether the caller holds this connection's identifier.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Open)
    }

    /// Whether any operation on this slot has yet to complete.
    pub(crate) fn busy(&self) -> bool {
        self.recv || self.write.is_some() || self.connect_pending > 0 || self.drain_timer.is_some()
    }
}

/// A freed slot's socket, to be taken out of the fixed-file table before it closes.
#[derive(Debug)]
pub(crate) struct Released {
    pub(crate) fd: OwnedFd,
    pub(crate) fixed: bool,
}

/// The table of connection slots and the list of slots the next flush visits.
#[derive(Debug)]
pub(crate) struct Conns {
    slots: Slots<Conn>,
    dirty: Vec<u32>,
}

impl Conns {
    /// A table of `n` free slots.
    pub(crate) fn new(n: u32) -> Self {
        Self {
            slots: Slots::new(n),
            dirty: Vec::new(),
        }
    }

    /// How many slots the table has.
    pub(crate) fn has_room(&self) -> bool {
        self.slots.has_room()
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.slots.capacity()
    }

    /// Takes a free slot for a connection on `fd`, or `None` when the table is full.
    pub(crate) fn alloc(&mut self, fd: OwnedFd, phase: Phase, peer: SocketAddr) -> Option<u32> {
        let (idx, c) = self.slots.insert()?;
        c.phase = phase;
        c.fd = Some(fd);
        c.peer = Some(peer);
        c.fixed = false;
        c.rx_len = 0;
        c.spill = Vec::new();
        c.end = None;
        c.tx_len = 0;
        c.notify_writable = false;
        c.blocked = false;
        c.polled = false;
        Some(idx)
    }

    /// The occupied slot `idx`, whatever its phase.
    pub(crate) fn slot(&mut self, idx: u32) -> Option<&mut Conn> {
        self.slots.get_mut(idx)
    }

    /// The generation of slot `idx`'s occupant.
    pub(crate) fn generation(&self, idx: u32) -> u32 {
        self.slots.generation(idx)
    }

    /// The slot `idx` if `generation` is its current one.
    pub(crate) fn current(&mut self, idx: u32, generation: u32) -> Option<&mut Conn> {
        self.slots.current(SlotKey::new(idx, generation))
    }

    /// The slot `idx` if the caller holds it.
    pub(crate) fn live(&self, idx: u32) -> Option<&Conn> {
        self.slots.get(idx).filter(|c| c.is_live())
    }

    /// Puts `idx` on the list the next flush visits.
    pub(crate) fn mark_dirty(&mut self, idx: u32) {
        if let Some(c) = self.slots.get_mut(idx)
            && !c.dirty
        {
            c.dirty = true;
            self.dirty.push(idx);
        }
    }

    /// Takes the dirty list, clearing every slot's mark (a slot freed since it was marked
    /// included).
    pub(crate) fn take_dirty(&mut self, into: &mut Vec<u32>) {
        for &idx in &self.dirty {
            if let Some(c) = self.slots.payload_mut(idx) {
                c.dirty = false;
            }
        }
        into.append(&mut self.dirty);
    }

    /// Frees slot `idx` if it is released and idle, handing back its socket.
    pub(crate) fn reclaim(&mut self, idx: u32) -> Option<Released> {
        let c = self.slots.get(idx)?;
        if c.phase != Phase::Closing || c.busy() {
            return None;
        }
        let c = self.slots.release(idx)?;
        c.peer = None;
        c.connect = None;
        c.spill = Vec::new();
        c.end = None;
        let fixed = std::mem::take(&mut c.fixed);
        c.fd.take().map(|fd| Released { fd, fixed })
    }

    /// Indices of every occupied slot.
    pub(crate) fn in_use(&self) -> Vec<u32> {
        self.slots.occupied()
    }

    /// Frees every slot, handing back their sockets; only once no operation can touch them.
    pub(crate) fn clear(&mut self) -> Vec<Released> {
        let mut released = Vec::new();
        for idx in self.slots.occupied() {
            if let Some(c) = self.slots.get_mut(idx) {
                c.phase = Phase::Closing;
                c.recv = false;
                c.write = None;
                c.connect_pending = 0;
                c.drain_timer = None;
            }
            released.extend(self.reclaim(idx));
        }
        self.dirty.clear();
        released
    }
}

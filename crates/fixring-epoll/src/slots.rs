//! The connection table: a slab of slots, each with its socket state and its two buffers.

use std::io;
use std::net::SocketAddr;

use socket2::Socket;

use crate::poller::{GENERATION_BITS, Token};

/// What a slot holds.
#[derive(Debug, Default)]
pub(crate) enum State {
    /// Unused; its buffers (if allocated) wait for the next connection.
    #[default]
    Free,
    /// A non-blocking connect in progress, waiting for writability.
    Connecting {
        /// The socket.
        socket: Socket,
        /// The address connected to.
        peer: SocketAddr,
    },
    /// An established connection lent to the event loop.
    Open {
        /// The socket.
        socket: Socket,
        /// A write is waiting for room in the socket's send buffer.
        write_blocked: bool,
    },
    /// The connection ended; the next `poll` reports it and releases the slot.
    Ending {
        /// The socket, closed when the end is reported.
        socket: Socket,
        /// What the report says.
        end: End,
    },
    /// Closed by the event loop, still writing its committed bytes.
    Closing {
        /// The socket.
        socket: Socket,
    },
}

impl State {
    /// The socket, if the slot holds one.
    pub(crate) fn socket(&self) -> Option<&Socket> {
        match self {
            Self::Free => None,
            Self::Connecting { socket, .. }
            | Self::Open { socket, .. }
            | Self::Ending { socket, .. }
            | Self::Closing { socket } => Some(socket),
        }
    }
}

/// How a connection ended, before it is reported.
#[derive(Debug)]
pub(crate) enum End {
    /// Reported as `Completion::Closed` (`None`: the peer closed in order).
    Closed(Option<io::Error>),
    /// Reported as `Completion::ConnectFailed`.
    ConnectFailed(io::Error),
}

/// The receive and send buffers of a slot and how much of each is in use.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// Received bytes, `rx[..rx_len]`.
    pub(crate) rx: Box<[u8]>,
    /// Bytes received and not consumed by the loop.
    pub(crate) rx_len: usize,
    /// Committed bytes, `tx[..tx_len]`, then spare room.
    pub(crate) tx: Box<[u8]>,
    /// Bytes committed and not written yet.
    pub(crate) tx_len: usize,
    /// The loop asked to hear when a write makes room.
    pub(crate) notify_writable: bool,
}

impl Buffers {
    /// Whether the receive buffer has room for more bytes.
    pub(crate) fn rx_room(&self) -> bool {
        self.rx_len < self.rx.len()
    }
}

/// One entry of the table.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Bumped on every release, so that events of an earlier occupant are recognised.
    pub(crate) generation: u32,
    /// What the slot holds.
    pub(crate) state: State,
    /// The buffers, allocated when the slot is first used and kept across occupants.
    pub(crate) buffers: Buffers,
    /// The epoll interest currently registered for the socket.
    pub(crate) interest: u32,
    /// Whether the slot is on the backend's list of connections to flush.
    pub(crate) dirty: bool,
}

/// A slab of at most `capacity` slots with a free list.
#[derive(Debug)]
pub(crate) struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
    capacity: usize,
    buffer_size: usize,
}

impl Slots {
    /// An empty table; slots are created as connections need them, up to `capacity`.
    pub(crate) fn new(capacity: u32, buffer_size: usize) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            buffer_size,
        }
    }

    /// Whether a slot is available.
    pub(crate) fn has_room(&self) -> bool {
        !self.free.is_empty() || self.slots.len() < self.capacity
    }

    /// The most recently released slot (its buffers are warm) or a new one, holding `state`.
    /// `None` when the table is full.
    pub(crate) fn insert(&mut self, state: State) -> Option<u32> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < self.capacity => {
                let index = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(Slot::default());
                index
            }
            None => return None,
        };
        let size = self.buffer_size;
        let slot = self.slots.get_mut(usize::try_from(index).ok()?)?;
        if slot.buffers.rx.len() != size {
            slot.buffers.rx = vec![0; size].into_boxed_slice();
            slot.buffers.tx = vec![0; size].into_boxed_slice();
        }
        slot.buffers.rx_len = 0;
        slot.buffers.tx_len = 0;
        slot.buffers.notify_writable = false;
        slot.interest = 0;
        slot.dirty = false;
        slot.state = state;
        Some(index)
    }

    /// The slot at `index`, free or not.
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut Slot> {
        self.slots.get_mut(usize::try_from(index).ok()?)
    }

    /// The slot at `index`, free or not.
    pub(crate) fn get(&self, index: u32) -> Option<&Slot> {
        self.slots.get(usize::try_from(index).ok()?)
    }

    /// The slot at `index` if it still has `generation`.
    pub(crate) fn current(&mut self, index: u32, generation: u32) -> Option<&mut Slot> {
        self.get_mut(index)
            .filter(|slot| slot.generation == generation)
    }

    /// The epoll token of the slot's current occupant.
    pub(crate) fn token(&self, index: u32) -> Token {
        Token::Conn {
            index,
            generation: self.get(index).map_or(0, |slot| slot.generation),
        }
    }

    /// Frees the slot and returns what it held (the caller deregisters and drops the socket).
    pub(crate) fn release(&mut self, index: u32) -> State {
        let Some(slot) = self.get_mut(index) else {
            return State::Free;
        };
        let state = std::mem::take(&mut slot.state);
        if matches!(state, State::Free) {
            return state;
        }
        slot.generation = slot.generation.wrapping_add(1) & GENERATION_BITS;
        slot.buffers.rx_len = 0;
        slot.buffers.tx_len = 0;
        slot.buffers.notify_writable = false;
        slot.interest = 0;
        self.free.push(index);
        state
    }

    /// Indices of every slot that is not free.
    pub(crate) fn occupied(&self) -> Vec<u32> {
        (0..self.slots.len())
            .filter(|&i| {
                !matches!(
                    self.slots.get(i).map(|s| &s.state),
                    Some(State::Free) | None
                )
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect()
    }
}

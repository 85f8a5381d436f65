//! The connection table: a slab of slots, each with its socket state and its two buffers.

use std::io;
use std::net::SocketAddr;

use fixring_io::slots::SlotKey;
use socket2::Socket;

use crate::poller::Token;

/// What a slot holds.
#[derive(Debug, Default)]
pub(crate) enum State {
    /// Nothing: the slot is free (its buffers wait for the next connection), or its state is
    /// being replaced.
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
    /// What the slot holds.
    pub(crate) state: State,
    /// The buffers, allocated when the slot is first used and kept across occupants.
    pub(crate) buffers: Buffers,
    /// The epoll interest currently registered for the socket.
    pub(crate) interest: u32,
    /// Whether the slot is on the backend's list of connections to flush.
    pub(crate) dirty: bool,
}

/// The table of slots; buffers are allocated when a slot is first used.
#[derive(Debug)]
pub(crate) struct Slots {
    slots: fixring_io::slots::Slots<Slot>,
    buffer_size: usize,
}

impl Slots {
    /// An empty table; slots are created as connections need them, up to `capacity`.
    pub(crate) fn new(capacity: u32, buffer_size: usize) -> Self {
        Self {
            slots: fixring_io::slots::Slots::new(capacity),
            buffer_size,
        }
    }

    /// Whether a slot is available.
    pub(crate) fn has_room(&self) -> bool {
        self.slots.has_room()
    }

    /// The most recently released slot (its buffers are warm) or a new one, holding `state`.
    /// `None` when the table is full.
    pub(crate) fn insert(&mut self, state: State) -> Option<u32> {
        let size = self.buffer_size;
        let (index, slot) = self.slots.insert()?;
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

    /// The occupied slot at `index`.
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut Slot> {
        self.slots.get_mut(index)
    }

    /// The occupied slot at `index`.
    pub(crate) fn get(&self, index: u32) -> Option<&Slot> {
        self.slots.get(index)
    }

    /// The generation of the slot's occupant.
    pub(crate) fn generation(&self, index: u32) -> u32 {
        self.slots.generation(index)
    }

    /// The slot at `index` if it still has `generation`.
    pub(crate) fn current(&mut self, index: u32, generation: u32) -> Option<&mut Slot> {
        self.slots.current(SlotKey::new(index, generation))
    }

    /// The epoll token of the slot's current occupant.
    pub(crate) fn token(&self, index: u32) -> Token {
        let key = self.slots.key(index);
        Token::Conn {
            index: key.index,
            generation: key.generation,
        }
    }

    /// Frees the slot and returns what it held (the caller deregisters and drops the socket).
    pub(crate) fn release(&mut self, index: u32) -> State {
        let Some(slot) = self.slots.release(index) else {
            return State::Free;
        };
        slot.buffers.rx_len = 0;
        slot.buffers.tx_len = 0;
        slot.buffers.notify_writable = false;
        slot.interest = 0;
        std::mem::take(&mut slot.state)
    }

    /// Indices of every occupied slot.
    pub(crate) fn occupied(&self) -> Vec<u32> {
        self.slots.occupied()
    }
}

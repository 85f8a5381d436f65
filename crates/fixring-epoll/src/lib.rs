//! The epoll backend of fixring, for hosts where io_uring is refused (Docker's default
//! seccomp profile, `kernel.io_uring_disabled`, RHEL).
//!
//! [`EpollBackend`] implements [`fixring_io::Backend`] over one level-triggered
//! epoll instance, non-blocking sockets and an eventfd waker. Each connection owns a receive
//! and a send buffer of `BackendOptions::buffer_size` bytes in a slab of
//! `BackendOptions::max_connections` slots; buffers are allocated when a slot is first used
//! and reused by its later occupants.
//!
//! - Reads happen when epoll reports a socket readable, into the free tail of the receive
//!   buffer; a full buffer takes the socket out of the read interest until the loop consumes.
//! - Writes happen in [`Backend::flush`] for the connections the loop borrowed since the last
//!   flush; a socket that would block is written again when epoll reports it writable.
//! - Connect timeouts and the linger of closing connections (at most
//!   [`fixring_io::DRAIN_TIMEOUT`]) are deadlines the backend checks in [`Backend::poll`].
//! - [`Backend::poll`] waits by `BackendOptions::busy_poll`: spinning on `epoll_wait` with a
//!   zero timeout, parking in it (`epoll_pwait2` for microsecond timeouts where the kernel
//!   allows it), or spinning and then parking.
#![warn(missing_docs)]

mod calls;
mod connect;
mod events;
mod listener;
mod poller;
mod slots;
mod transfer;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use fixring_core::config::SocketOptions;
use fixring_io::{
    Backend, BackendError, BackendOptions, Completion, ConnId, ConnIo, DRAIN_TIMEOUT, EventFd,
    ListenerId, Mode, Waker,
};

use crate::calls::Calls;
use crate::connect::{Deadline, Deadlines, Expiry};
use crate::listener::{Listener, Listeners};
use crate::poller::{Poller, READ, Ready, Token, WRITE};
use crate::slots::{End, Slots, State};
use crate::transfer::WriteRound;

/// The epoll backend: one epoll instance, its sockets and their buffers, for one event loop.
#[derive(Debug)]
pub struct EpollBackend {
    options: BackendOptions,
    poller: Poller,
    /// `None` once shut down.
    eventfd: Option<EventFd>,
    listeners: Listeners,
    slots: Slots,
    deadlines: Deadlines,
    /// Slots the loop borrowed since the last flush (their committed bytes and read interest
    /// need attention).
    dirty: Vec<u32>,
    /// Slots in [`State::Ending`], reported at the start of the next poll.
    ending: Vec<(u32, u32)>,
    /// Readiness gathered by the current poll (kept to reuse its allocation).
    ready: Vec<Ready>,
    /// System calls made outside the epoll instance (sockets, the eventfd).
    calls: Calls,
    /// Sockets accepted while every slot was taken, oldest first, until a slot is free.
    waiting: std::collections::VecDeque<(ListenerId, socket2::Socket, SocketAddr)>,
}

impl EpollBackend {
    /// Creates the epoll instance and the waker's eventfd. No connection buffer is allocated
    /// until a connection needs it.
    pub fn new(options: &BackendOptions) -> io::Result<Self> {
        let poller = Poller::new()?;
        let eventfd = EventFd::new(Mode::NonBlocking)?;
        poller.add(eventfd.as_raw_fd(), Token::Waker, READ)?;
        let calls = Calls::default();
        calls.add(1);
        Ok(Self {
            options: *options,
            poller,
            eventfd: Some(eventfd),
            listeners: Listeners::default(),
            slots: Slots::new(options.max_connections, options.buffer_size),
            deadlines: Deadlines::default(),
            dirty: Vec::new(),
            ending: Vec::new(),
            ready: Vec::new(),
            calls,
            waiting: std::collections::VecDeque::new(),
        })
    }

    /// The options the backend was created with.
    pub fn options(&self) -> &BackendOptions {
        &self.options
    }

    /// Frees a slot: its deadlines are forgotten and its socket deregistered and closed.
    fn release(&mut self, index: u32) {
        self.deadlines.remove(index);
        if let Some(socket) = self.slots.release(index).socket() {
            self.poller.delete(socket.as_raw_fd());
            // The socket closes as the state drops.
            self.calls.add(1);
        }
    }

    /// Marks an open connection as ended; the next poll reports it.
    fn end(&mut self, index: u32, end: End) {
        let token = self.slots.token(index);
        let generation = self.slots.generation(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let state = std::mem::take(&mut slot.state);
        let socket = match state {
            State::Connecting { socket, .. } | State::Open { socket, .. } => socket,
            other => {
                slot.state = other;
                return;
            }
        };
        // No more readiness is wanted; only an error or hang-up can still be reported.
        if slot.interest != 0 && self.poller.modify(socket.as_raw_fd(), token, 0).is_ok() {
            slot.interest = 0;
        }
        slot.state = State::Ending { socket, end };
        self.ending.push((index, generation));
    }

    /// Registers the interest an open connection needs now: reads while its receive buffer
    /// has room, writes while a write waits for room in the socket.
    fn update_interest(&mut self, index: u32) {
        let token = self.slots.token(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let State::Open {
            socket,
            write_blocked,
        } = &slot.state
        else {
            return;
        };
        let mut wanted = 0;
        if slot.buffers.rx_room() {
            wanted |= READ;
        }
        if *write_blocked {
            wanted |= WRITE;
        }
        if wanted == slot.interest {
            return;
        }
        match self.poller.modify(socket.as_raw_fd(), token, wanted) {
            Ok(()) => slot.interest = wanted,
            Err(e) => self.end(index, End::Closed(Some(e))),
        }
    }

    /// Writes an open connection's committed bytes unless a write already waits for room.
    fn write_open(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let State::Open {
            socket,
            write_blocked,
        } = &mut slot.state
        else {
            return;
        };
        if *write_blocked || slot.buffers.tx_len == 0 {
            return;
        }
        match transfer::write(socket, &mut slot.buffers, &self.calls) {
            WriteRound::Done => {}
            WriteRound::Blocked => *write_blocked = true,
            WriteRound::Failed(e) => self.end(index, End::Closed(Some(e))),
        }
    }
}

impl Backend for EpollBackend {
    type Waker = Waker;

    fn listen(&mut self, addr: SocketAddr, options: &SocketOptions) -> io::Result<ListenerId> {
        self.calls
            .add(fixring_io::socket::listener_calls(addr, options));
        let listener = Listener::bind(addr, options)?;
        let fd = listener.socket.as_raw_fd();
        let id = self.listeners.insert(listener)?;
        if let Err(e) = self.poller.add(fd, Token::Listener(id.0), READ) {
            self.listeners.remove(id);
            return Err(e);
        }
        Ok(id)
    }

    fn local_addr(&self, listener: ListenerId) -> io::Result<SocketAddr> {
        let listener = self
            .listeners
            .get(listener)
            .ok_or(BackendError::UnknownListener(listener))?;
        self.calls.add(1);
        listener
            .socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP address"))
    }

    fn unlisten(&mut self, listener: ListenerId) {
        if let Some(removed) = self.listeners.remove(listener) {
            self.poller.delete(removed.socket.as_raw_fd());
            self.calls.add(1);
        }
        self.waiting.retain(|(id, _, _)| *id != listener);
    }

    fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        options: &SocketOptions,
        timeout: Duration,
    ) -> io::Result<ConnId> {
        if !self.slots.has_room() {
            return Err(BackendError::TableFull {
                capacity: self.options.max_connections,
            }
            .into());
        }
        // The socket and its options, then the connect itself.
        self.calls
            .add(fixring_io::socket::outbound_calls(source, options) + 1);
        let (socket, failed) = connect::start(addr, source, options)?;
        let fd = socket.as_raw_fd();
        let index = self
            .slots
            .insert(State::Connecting { socket, peer: addr })
            .ok_or(BackendError::TableFull {
                capacity: self.options.max_connections,
            })?;
        if let Some(error) = failed {
            self.end(index, End::ConnectFailed(error));
            return Ok(ConnId(index));
        }
        let token = self.slots.token(index);
        if let Err(e) = self.poller.add(fd, token, WRITE) {
            self.release(index);
            return Err(e);
        }
        let generation = self.slots.generation(index);
        if let Some(slot) = self.slots.get_mut(index) {
            slot.interest = WRITE;
            // A timeout too long to represent is no timeout.
            if let Some(at) = Instant::now().checked_add(timeout) {
                self.deadlines.push(Deadline {
                    at,
                    index,
                    generation,
                    expiry: Expiry::Connect,
                });
            }
        }
        Ok(ConnId(index))
    }

    fn io(&mut self, conn: ConnId) -> Option<ConnIo<'_>> {
        let slot = self.slots.get_mut(conn.0)?;
        match slot.state {
            State::Open { .. } => {
                if !slot.dirty {
                    slot.dirty = true;
                    self.dirty.push(conn.0);
                }
            }
            // The loop still reads what arrived before the end it has not been told about.
            State::Ending {
                end: End::Closed(_),
                ..
            } => {}
            _ => return None,
        }
        let buffers = &mut slot.buffers;
        Some(ConnIo::new(
            &mut buffers.rx,
            &mut buffers.rx_len,
            &mut buffers.tx,
            &mut buffers.tx_len,
            &mut buffers.notify_writable,
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &index in &dirty {
            if let Some(slot) = self.slots.get_mut(index) {
                slot.dirty = false;
            }
            self.write_open(index);
            self.update_interest(index);
        }
        dirty.clear();
        self.dirty = dirty;
        Ok(())
    }

    fn send_now(&mut self, conn: ConnId) {
        // The flush that follows updates the connection's interest.
        self.write_open(conn.0);
    }

    fn close(&mut self, conn: ConnId) {
        let index = conn.0;
        let token = self.slots.token(index);
        let generation = self.slots.generation(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        match slot.state {
            State::Open { .. } => {}
            // Closed already (this identifier is stale): let the bytes drain.
            State::Closing { .. } | State::Free => return,
            // Connecting or ended: nothing to write; the identifier is released now.
            State::Connecting { .. } | State::Ending { .. } => {
                self.release(index);
                return;
            }
        }
        self.write_open(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let state = std::mem::take(&mut slot.state);
        let State::Open {
            socket,
            write_blocked: true,
        } = state
        else {
            slot.state = state;
            self.release(index);
            return;
        };
        // The rest is written when the socket has room, or dropped when the linger ends.
        if slot.interest == WRITE || self.poller.modify(socket.as_raw_fd(), token, WRITE).is_ok() {
            slot.interest = WRITE;
            slot.state = State::Closing { socket };
            self.deadlines.remove(index);
            self.deadlines.push(Deadline {
                at: Instant::now() + DRAIN_TIMEOUT,
                index,
                generation,
                expiry: Expiry::Linger,
            });
        } else {
            slot.state = State::Closing { socket };
            self.release(index);
        }
    }

    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()> {
        events::poll(self, timeout, out)
    }

    fn waker(&self) -> Waker {
        self.eventfd
            .as_ref()
            .map_or_else(Waker::dead, EventFd::waker)
    }

    fn socket_fd(&self, conn: ConnId) -> Option<RawFd> {
        let slot = self.slots.get(conn.0)?;
        match &slot.state {
            State::Closing { .. } => None,
            state => state.socket().map(AsRawFd::as_raw_fd),
        }
    }

    fn shutdown(&mut self) -> io::Result<()> {
        for index in self.slots.occupied() {
            self.release(index);
        }
        for listener in self.listeners.drain() {
            self.poller.delete(listener.socket.as_raw_fd());
            self.calls.add(1);
        }
        self.deadlines.clear();
        self.dirty.clear();
        self.ending.clear();
        self.waiting.clear();
        if self.eventfd.take().is_some() {
            self.calls.add(1);
        }
        self.poller.close();
        Ok(())
    }

    fn system_calls(&self) -> u64 {
        self.poller.calls() + self.calls.get()
    }
}

impl Drop for EpollBackend {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

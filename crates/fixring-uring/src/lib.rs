//! The io_uring backend of fixring.
//!
//! [`UringBackend`] implements [`fixring_io::Backend`] on one io_uring ring per
//! event-loop thread:
//!
//! - The ring is set up with `SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG` (falling back when
//!   the kernel refuses them), or `SQPOLL` when asked; its issuer thread registers the ring's
//!   descriptor. See [`RingMode`].
//! - A parking loop's turn is one `io_uring_enter`: [`Backend::flush`] only queues, and the
//!   poll's wait submits and sleeps in the same call. A spinning loop's flush submits at once;
//!   its spin watches the completion queue and the kernel's `IORING_SQ_TASKRUN` flag in user
//!   space and enters only when there is something to submit or to run.
//! - Each connection keeps one multishot `Recv` armed on a provided-buffer ring shared by the
//!   whole backend; each receive is copied into the connection's receive slot and its buffer
//!   handed back at once.
//! - Sends go from the connection's send slot with `IOSQE_CQE_SKIP_SUCCESS` and
//!   `MSG_DONTWAIT | MSG_WAITALL`: they complete inside the enter that issues them and post a
//!   completion only when they fail or find the socket's buffer full, after which the
//!   connection's sends wait for room and complete until one writes everything. A spinning
//!   loop's flush with one connection to write sends it with `send(2)` instead: one system
//!   call either way, and the socket call is the cheaper (see `send.rs`). When the kernel
//!   then flags task work, the spin takes that connection's answer with a `recv(2)` of its
//!   own rather than an enter that runs the receive (see `recv.rs`), and runs the task work
//!   it made stale at its next look, after the loop has answered. The connection it has
//!   written four times in a row it then reads with `recv(2)` alone, its multishot receive
//!   cancelled, so that the peer's segments wake no one, until it writes another connection
//!   or parks.
//! - Sockets sit in a sparse fixed-file table (`types::Fixed`), see
//!   [`UringBackend::fixed_files`].
//! - Listeners keep a multishot accept armed; outbound connects are a `Connect` linked to a
//!   `LinkTimeout`.
//! - [`Backend::system_calls`] counts every `io_uring_enter`, `io_uring_register` and socket
//!   call the backend makes.
//!
//! Measured on a 2-vCPU VM (Linux 6.18) against the previous design (one-shot `ReadFixed` and
//! `WriteFixed`, no fixed files), per FIX round trip of one session: 2 SQEs instead of 4, 2 CQEs
//! instead of 4, 0 poll arms instead of 2, 0 file lookups instead of 4, and 2 `io_uring_enter`
//! parking instead of 4 (spinning 4 instead of about 440, since then 2 `recv(2)`, 2 `send(2)`
//! and 2 enters off the critical path, and now a `recv(2)` each look of the spin of a polled
//! connection); with 100
//! connections between two loops, 0.08–0.13 system calls per round trip (0.8 before) against
//! epoll's 4.0–8.9, and 9.3–11.1 µs of CPU per round trip (12.9–13.4 before, epoll 10.5–10.9);
//! 20.7 KB of resident memory per idle session in `tests/scale.rs` (45.6 KB before).
//! `min_wait_usec` waits are not used: they hold a wait open for more than one completion, which
//! delays the first, and the spin of `spin-then-park` needs no enter at all.
//! - `close` lets committed bytes be written for [`fixring_io::DRAIN_TIMEOUT`], then cuts the
//!   connection off, so that a peer which stopped reading cannot hold a slot.
//! - Every operation's buffer, address and socket belong to the backend's slot tables until the
//!   operation's last completion arrives; `user_data` carries the slot's generation, so a late
//!   completion never reaches a reused slot.
//!
//! The ring's issuer is the first thread that submits (the first `flush` or `poll`); after
//! that the backend must stay on that thread, and be dropped there (a drop elsewhere cannot
//! wait for the kernel and leaks the buffer mappings rather than unmap them under the kernel;
//! the ring's descriptor registration, which lives in the issuer thread, then keeps the ring
//! until that thread exits). Linux 6.0 or later is needed (multishot receive into a
//! provided-buffer ring); on a kernel where io_uring is disabled, [`UringBackend::new`] returns
//! the kernel's error, and on one without provided-buffer rings
//! [`BackendError::KernelTooOld`], both of which [`fixring_io::is_unavailable`] recognises, so
//! that the engine can fall back to epoll.
#![warn(missing_docs)]

mod accept;
mod buffers;
mod close;
mod connect;
mod poll;
mod provided;
mod recv;
mod ring;
mod send;
mod slots;
mod token;
mod waker;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_io::{
    Backend, BackendError, BackendOptions, Completion, ConnId, ConnIo, ListenerId, Waker,
};

pub use ring::RingMode;

use accept::Listeners;
use buffers::Slab;
use provided::Provided;
use ring::{Cqe, Ring};
use slots::{Conns, Phase};
use waker::WakeSlot;

/// The largest `buffer_size`: one operation's length is a `u32`.
const MAX_BUFFER_SIZE: usize = u32::MAX as usize;
/// The most connections one backend holds (slot indices stay well inside `user_data`).
const MAX_CONNECTIONS: u32 = 1 << 20;

/// How many provided buffers the backend keeps per connection it can hold, at least
/// [`MIN_PROVIDED`]: receives are copied out as they complete, so a buffer is held only
/// between an enter and the reap after it.
const CONNECTIONS_PER_PROVIDED: u32 = 8;
/// The fewest provided buffers.
const MIN_PROVIDED: u32 = 16;

/// The system calls [`fixring_io::socket::apply`] makes for `options`.
pub(crate) fn apply_calls(options: &SocketOptions) -> u64 {
    1 + u64::from(options.keep_alive)
        + u64::from(options.send_buffer_size.is_some())
        + u64::from(options.receive_buffer_size.is_some())
}

/// An io_uring backend driving the sockets of one event loop.
///
/// Fields drop in order: the ring first (ending every operation), the buffers last.
#[derive(Debug)]
pub struct UringBackend {
    ring: Ring,
    conns: Conns,
    listeners: Listeners,
    waker: WakeSlot,
    slab: Slab,
    provided: Provided,
    /// Whether the ring has a fixed-file table with a place per connection slot.
    fixed_files: bool,
    busy_poll: BusyPoll,
    cqes: Vec<Cqe>,
    dirty: Vec<u32>,
    /// Sockets accepted while every slot was taken, oldest first, until a slot is free.
    waiting: std::collections::VecDeque<accept::Waiting>,
    /// Connections with a silent send in flight (slot index and generation).
    silent: Vec<(u32, u32)>,
    /// Connections whose held-back bytes or end the next poll reports.
    pending: Vec<(u32, u32)>,
    /// The connection a spinning loop's flush last wrote with `send(2)` (slot index and
    /// generation): the one whose answer a direct receive looks for (see `recv.rs`).
    hot: Option<(u32, u32)>,
    /// How many `send(2)`s in a row went to the `hot` connection.
    hot_sends: u32,
    /// The ring's task-run count at the last direct receive: until an enter has run the
    /// task work that receive made stale, the kernel's flag says nothing new.
    direct_at: Option<u64>,
    /// System calls made outside the ring (sockets, their options, closes).
    calls: u64,
    shut_down: bool,
}

impl UringBackend {
    /// Sets up the ring, maps and registers the buffers, and arms the waker.
    ///
    /// A ring refused with `EPERM` or `ENOSYS` returns that error unchanged
    /// (see [`fixring_io::is_unavailable`]).
    pub fn new(options: &BackendOptions) -> io::Result<Self> {
        if options.max_connections == 0 || options.max_connections > MAX_CONNECTIONS {
            return Err(BackendError::InvalidOptions("max_connections must be 1 to 2^20").into());
        }
        if options.buffer_size == 0 || options.buffer_size > MAX_BUFFER_SIZE {
            return Err(BackendError::InvalidOptions("buffer_size must be 1 to 2^32 - 1").into());
        }
        let max = options.max_connections;
        let entries = max.saturating_mul(2).saturating_add(16).clamp(64, 4096);
        let cq_entries = max.saturating_mul(4).saturating_add(64).clamp(256, 65536);
        let mut ring = Ring::new(entries.next_power_of_two(), cq_entries, options.sqpoll)?;
        let slab = Slab::new(max as usize, options.buffer_size)?;
        let buffers = (max / CONNECTIONS_PER_PROVIDED).max(MIN_PROVIDED);
        let provided = Provided::new(&mut ring, buffers as usize, options.buffer_size)?;
        // A table larger than RLIMIT_NOFILE is refused: descriptors it is then.
        let fixed_files = ring.register_files_sparse(max).is_ok();
        let mut backend = Self {
            ring,
            conns: Conns::new(max),
            listeners: Listeners::default(),
            // The eventfd.
            calls: 1,
            waker: WakeSlot::new()?,
            slab,
            provided,
            fixed_files,
            busy_poll: options.busy_poll,
            cqes: Vec::new(),
            dirty: Vec::new(),
            waiting: std::collections::VecDeque::new(),
            silent: Vec::new(),
            pending: Vec::new(),
            hot: None,
            hot_sends: 0,
            direct_at: None,
            shut_down: false,
        };
        backend.arm_wake()?;
        Ok(backend)
    }

    /// Whether the sockets are in a fixed-file table of the ring (`false` when the kernel
    /// refused one as large as `max_connections`, over `RLIMIT_NOFILE` for instance, and
    /// descriptors are used).
    pub fn fixed_files(&self) -> bool {
        self.fixed_files
    }

    /// Puts connection `idx`'s socket in the fixed-file table, when there is one.
    fn register_fixed(&mut self, idx: u32) {
        if !self.fixed_files {
            return;
        }
        let Some(fd) = self
            .conns
            .slot(idx)
            .and_then(|c| c.fd.as_ref())
            .map(AsRawFd::as_raw_fd)
        else {
            return;
        };
        // Refused (out of memory), the connection uses its descriptor.
        let fixed = self.ring.update_file(idx, fd).is_ok();
        if let Some(c) = self.conns.slot(idx) {
            c.fixed = fixed;
        }
    }

    /// The `io_uring_enter` calls made so far, a part of [`Backend::system_calls`].
    pub fn enters(&self) -> u64 {
        self.ring.calls()
    }

    /// How the ring was set up.
    pub fn ring_mode(&self) -> RingMode {
        self.ring.mode()
    }

    /// The error of a connect refused for want of a slot.
    fn table_full(&self) -> BackendError {
        BackendError::TableFull {
            capacity: self.conns.capacity(),
        }
    }

    fn check_running(&self) -> io::Result<()> {
        if self.shut_down {
            Err(BackendError::ShutDown.into())
        } else {
            Ok(())
        }
    }

    fn do_flush(&mut self) -> io::Result<()> {
        self.check_running()?;
        let mut dirty = std::mem::take(&mut self.dirty);
        self.conns.take_dirty(&mut dirty);
        // One connection to write on a spinning loop: its own `send(2)` instead of an enter.
        let direct = dirty.len() == 1 && self.busy_poll != BusyPoll::Park;
        let mut result = Ok(());
        for idx in dirty.drain(..) {
            let Some(c) = self.conns.slot(idx) else {
                continue;
            };
            if c.phase != Phase::Open {
                continue;
            }
            self.refill(idx);
            if direct {
                self.send_direct(idx);
            }
            if let Err(e) = self.start_write(idx) {
                result = Err(e);
            }
            if let Err(e) = self.arm_recv(idx) {
                result = Err(e);
            }
        }
        self.dirty = dirty;
        if !self.waker.armed()
            && let Err(e) = self.arm_wake()
        {
            result = Err(e);
        }
        result?;
        // A parking loop leaves the entries to the poll that follows, whose wait submits and
        // sleeps in one enter. A spinning loop submits now, so that the answer leaves before
        // the loop's bookkeeping (about 0.2-0.5 µs of round trip); its spin then enters only
        // when the kernel flags completions to run. A turn with one connection to write sent
        // it with `send(2)` above and usually has nothing left to submit.
        if self.busy_poll != BusyPoll::Park {
            self.ring.submit()?;
        }
        Ok(())
    }
}

impl Backend for UringBackend {
    type Waker = Waker;

    fn listen(&mut self, addr: SocketAddr, options: &SocketOptions) -> io::Result<ListenerId> {
        self.do_listen(addr, options)
    }

    fn local_addr(&self, listener: ListenerId) -> io::Result<SocketAddr> {
        self.do_local_addr(listener)
    }

    fn unlisten(&mut self, listener: ListenerId) {
        self.do_unlisten(listener);
    }

    fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        options: &SocketOptions,
        timeout: Duration,
    ) -> io::Result<ConnId> {
        self.start_connect(addr, source, options, timeout)
    }

    fn io(&mut self, conn: ConnId) -> Option<ConnIo<'_>> {
        let idx = conn.0;
        if self.conns.live(idx)?.phase != Phase::Open {
            return None;
        }
        self.conns.mark_dirty(idx);
        // Safety: no kernel operation targets the receive slot (receives land in provided
        // buffers and are copied in by `poll`), and at most one send reads the send slot
        // before `tx_len`; `ConnIo` only touches spare bytes past `tx_len` (growing it), and
        // the borrow of `self` keeps `poll` from moving bytes meanwhile.
        let (rx, tx) = unsafe { self.slab.pair_mut(idx as usize)? };
        let c = self.conns.slot(idx)?;
        Some(ConnIo::new(
            rx,
            &mut c.rx_len,
            tx,
            &mut c.tx_len,
            &mut c.notify_writable,
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.do_flush()
    }

    fn send_now(&mut self, conn: ConnId) {
        // A parking loop's writes go with the enter that waits, as the flush has them.
        if self.busy_poll != BusyPoll::Park && self.conns.live(conn.0).is_some() {
            self.send_direct(conn.0);
        }
    }

    fn close(&mut self, conn: ConnId) {
        if self.conns.live(conn.0).is_some() {
            self.close_conn(conn.0);
        }
    }

    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()> {
        self.do_poll(timeout, out)
    }

    fn waker(&self) -> Waker {
        self.waker.waker()
    }

    fn socket_fd(&self, conn: ConnId) -> Option<RawFd> {
        self.conns.live(conn.0)?.fd.as_ref().map(AsRawFd::as_raw_fd)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.shutdown_all()
    }

    fn system_calls(&self) -> u64 {
        self.calls + self.ring.calls()
    }
}

impl Drop for UringBackend {
    fn drop(&mut self) {
        // An error here has already made the slab leak rather than be unmapped under the
        // kernel; there is no one left to report it to.
        let _ = self.shutdown_all();
    }
}

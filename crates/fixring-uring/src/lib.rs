//! The io_uring backend of fixring.
//!
//! [`UringBackend`] implements [`fixring_io::Backend`] on one io_uring ring per
//! event-loop thread:
//!
//! - The ring is set up with `SINGLE_ISSUER | DEFER_TASKRUN` (falling back when the kernel
//!   refuses them), or `SQPOLL` when asked. Busy-polling enters the kernel with `GETEVENTS`,
//!   which is what runs deferred completions; spinning on the completion queue alone would wait
//!   for an interrupt. See [`RingMode`].
//! - Every connection owns one receive slot and one send slot of a single mapping registered
//!   with the ring; reads use `ReadFixed`, writes `WriteFixed` (plain `Read`/`Write` when the
//!   kernel refuses the registration, see [`UringBackend::registered_buffers`]).
//! - Listeners keep a multishot accept armed; outbound connects are a `Connect` linked to a
//!   `LinkTimeout`.
//! - `close` lets committed bytes be written for [`fixring_io::DRAIN_TIMEOUT`], then cuts the
//!   connection off, so that a peer which stopped reading cannot hold a slot.
//! - Every operation's buffer, address and socket belong to the backend's slot tables until the
//!   operation's last completion arrives; `user_data` carries the slot's generation, so a late
//!   completion never reaches a reused slot.
//!
//! The ring's issuer is the first thread that submits (the first `flush` or `poll`); after
//! that the backend must stay on that thread, and be dropped there (a drop elsewhere cannot
//! wait for the kernel and leaks the buffer mapping rather than unmap it under the kernel). Linux 5.19 or later is needed (multishot
//! accept); on a kernel where io_uring is disabled, [`UringBackend::new`] returns the kernel's
//! error, which [`fixring_io::is_unavailable`] recognises, so that the engine can fall back to epoll.
#![warn(missing_docs)]

mod accept;
mod buffers;
mod close;
mod connect;
mod poll;
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
use ring::{Cqe, Ring};
use slots::{Conns, Phase};
use waker::WakeSlot;

/// The largest `buffer_size`: one operation's length is a `u32`.
const MAX_BUFFER_SIZE: usize = u32::MAX as usize;
/// The most connections one backend holds (slot indices stay well inside `user_data`).
const MAX_CONNECTIONS: u32 = 1 << 20;

/// An io_uring backend driving the sockets of one event loop.
///
/// Fields drop in order: the ring first (ending every operation), the slab last.
#[derive(Debug)]
pub struct UringBackend {
    ring: Ring,
    conns: Conns,
    listeners: Listeners,
    waker: WakeSlot,
    slab: Slab,
    busy_poll: BusyPoll,
    cqes: Vec<Cqe>,
    dirty: Vec<u32>,
    /// Sockets accepted while every slot was taken, oldest first, until a slot is free.
    waiting: std::collections::VecDeque<accept::Waiting>,
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
        let ring = Ring::new(entries.next_power_of_two(), cq_entries, options.sqpoll)?;
        let mut slab = Slab::new(max as usize, options.buffer_size)?;
        if let Some(iovecs) = slab.iovecs() {
            // Safety: the iovecs name the slab's mapping, which is unmapped only when the
            // backend drops, after the ring (field order), and never while operations may
            // remain (`leak_on_drop`).
            if unsafe { ring.register_buffers(&iovecs) }.is_ok() {
                slab.set_registered();
            }
        }
        let mut backend = Self {
            ring,
            conns: Conns::new(max),
            listeners: Listeners::default(),
            waker: WakeSlot::new()?,
            slab,
            busy_poll: options.busy_poll,
            cqes: Vec::new(),
            dirty: Vec::new(),
            waiting: std::collections::VecDeque::new(),
            shut_down: false,
        };
        backend.arm_wake()?;
        Ok(backend)
    }

    /// Whether the buffers are registered with the ring (`ReadFixed`/`WriteFixed`); `false`
    /// when the kernel refused them (too many slots, or `ENOMEM` under a locked-memory limit)
    /// and plain `Read`/`Write` are used.
    pub fn registered_buffers(&self) -> bool {
        self.slab.registered()
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
        let mut result = Ok(());
        for idx in dirty.drain(..) {
            let Some(c) = self.conns.slot(idx) else {
                continue;
            };
            if c.phase != Phase::Open {
                continue;
            }
            let want_read = c.want_read;
            if let Err(e) = self.start_write(idx) {
                result = Err(e);
            }
            if want_read && let Err(e) = self.arm_read(idx) {
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
        // The loop polls right after it flushes, and every poll enters the kernel with the
        // queued entries. A parking loop saves a system call per turn by leaving the
        // submission to that poll; a spinning loop submits now, so the send leaves before the
        // loop's bookkeeping (measured: about 0.5 µs of round trip). SQPOLL's kernel thread
        // may be asleep and needs the wake-up that submit gives.
        if self.ring.mode() == RingMode::SqPoll || self.busy_poll != BusyPoll::Park {
            self.ring.submit()
        } else {
            Ok(())
        }
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
        // Safety: the connection is open, so at most one read targets the receive slot past
        // `rx_len` and one write reads the send slot before `tx_len`; `ConnIo` only touches
        // received bytes before `rx_len` (shrinking it) and spare bytes past `tx_len` (growing
        // it), and the borrow of `self` keeps `poll` from moving bytes meanwhile.
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
}

impl Drop for UringBackend {
    fn drop(&mut self) {
        // An error here has already made the slab leak rather than be unmapped under the
        // kernel; there is no one left to report it to.
        let _ = self.shutdown_all();
    }
}

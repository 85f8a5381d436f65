//! Closing connections, cancelling operations, and shutting the whole backend down.
//!
//! A slot is released to the caller at once but reused only when every operation on it has
//! completed; its socket is closed at that moment.

use std::io;
use std::time::{Duration, Instant};

use fixring_io::{Completion, ConnId, DRAIN_TIMEOUT};
use io_uring::opcode;
use io_uring::types::Timespec;

use crate::UringBackend;
use crate::slots::{Phase, Released};
use crate::token::{OpKind, Token};

/// The longest [`UringBackend::shutdown_all`] waits for cancelled operations.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);
/// One wait of the shutdown loop.
const SHUTDOWN_STEP: Duration = Duration::from_millis(10);

impl UringBackend {
    /// Asks the kernel to cancel the operation `token` names. A cancel that finds nothing (the
    /// operation completed meanwhile) is harmless.
    pub(crate) fn cancel(&mut self, token: Token) {
        let entry = opcode::AsyncCancel::new(token.encode())
            .build()
            .user_data(Token::new(OpKind::Cancel, 0, 0).encode());
        // Safety: a cancel names no memory and no descriptor, only a `user_data` value.
        // If the ring refuses it, the operation still ends by itself (or at ring teardown).
        let _ = unsafe { self.ring.push(&[entry]) };
    }

    /// Frees slot `idx` if it is released and idle: its socket leaves the fixed-file table
    /// and closes.
    pub(crate) fn reclaim(&mut self, idx: u32) {
        if let Some(released) = self.conns.reclaim(idx) {
            if released.fixed {
                // A refused update leaves the file in the table until the ring closes; the
                // slot's next occupant replaces it.
                let _ = self.ring.update_file(idx, -1);
            }
            self.close_released(released);
        }
    }

    /// Closes a freed slot's socket.
    fn close_released(&mut self, released: Released) {
        drop(released.fd);
        self.calls += 1;
    }

    /// Cancels the receive and send in flight on slot `idx`.
    fn cancel_io(&mut self, idx: u32) {
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        let (read, write) = (c.recv, c.write.is_some());
        let connecting = c.connect_pending > 0;
        let draining = c.drain_timer.is_some();
        if read {
            self.cancel(Token::new(OpKind::Read, idx, generation));
        }
        if write {
            self.cancel(Token::new(OpKind::Write, idx, generation));
        }
        if connecting {
            self.cancel(Token::new(OpKind::Connect, idx, generation));
        }
        if draining {
            self.cancel(Token::new(OpKind::DrainTimeout, idx, generation));
        }
    }

    /// Ends an open connection the peer closed (`error` is `None`) or that failed, reporting
    /// [`Completion::Closed`].
    pub(crate) fn fail(&mut self, idx: u32, error: Option<io::Error>, out: &mut Vec<Completion>) {
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        c.phase = Phase::Closing;
        let unsent = c.tx_len;
        self.cancel_io(idx);
        out.push(Completion::Closed {
            conn: ConnId(idx),
            error,
            unsent,
        });
    }

    /// The caller's close: write what is committed, then close.
    pub(crate) fn close_conn(&mut self, idx: u32) {
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        match c.phase {
            Phase::Connecting => {
                c.phase = Phase::Closing;
                self.cancel_io(idx);
            }
            Phase::Open if c.tx_len > 0 => {
                c.phase = Phase::Draining;
                if c.recv {
                    self.cancel(Token::new(OpKind::Read, idx, generation));
                }
                if self.start_write(idx).is_err() || self.arm_drain_timer(idx).is_err() {
                    self.finish_drain(idx);
                }
            }
            Phase::Open => {
                c.phase = Phase::Closing;
                self.cancel_io(idx);
            }
            Phase::Draining | Phase::Closing => {}
        }
        self.reclaim(idx);
    }

    /// Bounds the drain of slot `idx` by [`DRAIN_TIMEOUT`].
    fn arm_drain_timer(&mut self, idx: u32) -> io::Result<()> {
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return Ok(());
        };
        let ts = Box::new(Timespec::from(DRAIN_TIMEOUT));
        let entry = opcode::Timeout::new(&*ts)
            .build()
            .user_data(Token::new(OpKind::DrainTimeout, idx, generation).encode());
        // Safety: the timespec is boxed (fixed heap address) and stored in the slot, which
        // keeps it, and is not reclaimed, until the timeout's completion clears `drain_timer`.
        unsafe { self.ring.push(&[entry])? };
        c.drain_timer = Some(ts);
        Ok(())
    }

    /// Handles the completion of a drain timeout: fired, or cancelled once the drain ended.
    pub(crate) fn on_drain_timeout(&mut self, token: Token) {
        let Some(c) = self.conns.current(token.index, token.generation) else {
            return;
        };
        c.drain_timer = None;
        if c.phase == Phase::Draining {
            self.finish_drain(token.index);
        }
        self.reclaim(token.index);
    }

    /// A draining connection has written everything (or failed): close it.
    pub(crate) fn finish_drain(&mut self, idx: u32) {
        if let Some(c) = self.conns.slot(idx) {
            c.phase = Phase::Closing;
        }
        self.cancel_io(idx);
    }

    /// Cancels every operation, waits (bounded) for their completions and closes every
    /// descriptor. Afterwards the backend accepts no work.
    pub(crate) fn shutdown_all(&mut self) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        self.shut_down = true;
        let conns = self.conns.in_use();
        for idx in conns {
            if let Some(c) = self.conns.slot(idx) {
                c.phase = Phase::Closing;
            }
            self.cancel_io(idx);
        }
        for token in self.listeners.close_all() {
            self.cancel(token);
        }
        self.waiting.clear();
        if self.waker.armed() {
            self.cancel(Token::new(OpKind::Wake, 0, 0));
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut discard = Vec::new();
        let mut result = Ok(());
        while self.ring.in_flight() > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if let Err(e) = self.ring.wait(Some(SHUTDOWN_STEP.min(deadline - now))) {
                result = Err(e);
                break;
            }
            self.dispatch(&mut discard);
            discard.clear();
        }
        if self.ring.in_flight() > 0 {
            // The kernel may still write into the buffers: never unmap them.
            self.slab.leak_on_drop();
            self.provided.leak_on_drop();
            if result.is_ok() {
                result = Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "io_uring operations still in flight after shutdown",
                ));
            }
        }
        for released in self.conns.clear() {
            self.close_released(released);
        }
        if self.fixed_files {
            // Slots still busy when the wait ended were freed just now: the table still holds
            // their sockets, which end once it goes.
            self.fixed_files = self.ring.unregister_files().is_err();
        }
        self.calls += self.listeners.clear();
        result
    }
}

//! Sends from a connection's send slot, of the committed prefix, one at a time.
//!
//! A send is first tried without waiting (`MSG_DONTWAIT | MSG_WAITALL`) and with
//! `IOSQE_CQE_SKIP_SUCCESS`: the kernel issues it inside the enter that submits it, and it
//! either writes every byte, posting nothing, or fails at once with a completion (`EAGAIN`
//! when the socket's buffer is full, the count written when only part fit, or the error).
//! So a send is known to be over, in full, once an enter has issued it and reaping found no
//! completion for it ([`UringBackend::finish_silent_sends`]): the room it held in the send
//! slot is free again without a completion per send. A socket whose buffer was full gets
//! sends that wait for room and complete, until one has written everything. On an SQPOLL
//! ring, whose kernel thread issues entries when it likes, every send waits and completes.
//!
//! A spinning loop submits at every flush, so a flush with one connection to write costs an
//! enter for that one send; a non-blocking `send(2)` does the same work with less around it
//! (no entry to take, issue and retire), and it is what such a flush makes
//! ([`UringBackend::send_direct`]). Measured on a 2-vCPU VM, one session in interleaved rounds
//! (`fixring bench --rounds`, fourteen runs of each build): the median of the runs' `uring /
//! epoll` p50 ratios went from 1.05 to 1.02, at p99 from 1.10 to 1.04. Flushes with more
//! connections to write, and every flush of a parking loop, whose wait submits and sleeps in
//! one enter, stay on the ring.
//!
//! The written prefix is dropped by moving the rest to the front once the send is over: at
//! that moment no send is in flight, so no bytes move under the kernel.

use std::io;
use std::os::fd::AsRawFd;

use fixring_io::{Completion, ConnId};
use io_uring::opcode;
use io_uring::squeue::Flags;
use io_uring::types::{Fd, Fixed};

use crate::UringBackend;
use crate::ring::from_result;
use crate::slots::{Phase, WriteOp};
use crate::token::{OpKind, Token};

impl UringBackend {
    /// Starts sending connection `idx`'s committed bytes unless a send is in flight.
    pub(crate) fn start_write(&mut self, idx: u32) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let Some(base) = self.slab.tx(idx as usize) else {
            return Ok(());
        };
        let size = self.slab.slot_size();
        let generation = self.conns.generation(idx);
        let inline = self.ring.mode().issues_inline();
        let Some(c) = self.conns.slot(idx) else {
            return Ok(());
        };
        let Some(fd) = c.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return Ok(());
        };
        let len = c.tx_len.min(size);
        let writable = matches!(c.phase, Phase::Open | Phase::Draining);
        if c.write.is_some() || len == 0 || !writable {
            return Ok(());
        }
        let silent = inline && !c.blocked;
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        let flags = if silent {
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT | libc::MSG_WAITALL
        } else {
            libc::MSG_NOSIGNAL
        };
        let entry = if c.fixed {
            opcode::Send::new(Fixed(idx), base, len32)
                .flags(flags)
                .build()
        } else {
            opcode::Send::new(Fd(fd), base, len32).flags(flags).build()
        }
        .user_data(Token::new(OpKind::Write, idx, generation).encode());
        let entry = if silent {
            entry.flags(Flags::SKIP_SUCCESS)
        } else {
            entry
        };
        // Safety: the source is the committed prefix of the slot, inside the slab, which
        // outlives the ring. Until the send is over, `write` is set, so no compaction moves
        // those bytes, the slot is not reclaimed (its socket stays open), and a lent `ConnIo`
        // only writes past `tx_len`, which never shrinks while the send is in flight.
        unsafe { self.ring.push(&[entry])? };
        let issued = self.ring.issued();
        let Some(c) = self.conns.slot(idx) else {
            return Ok(());
        };
        c.write = Some(WriteOp {
            len,
            silent: silent.then_some(issued),
        });
        if silent {
            self.silent.push((idx, generation));
        }
        Ok(())
    }

    /// Sends connection `idx`'s committed bytes with a `send(2)` of its own, for a spinning
    /// loop's flush that has this connection alone to write: one system call either way, and
    /// a socket call costs less than an enter that takes, issues and retires one entry.
    ///
    /// Only the path where the bytes fit is taken here. Bytes that did not fit stay at the
    /// front of the slot, and the socket's buffer being full, the connection's sends wait for
    /// room from now on; a send that failed outright leaves everything to the ring's send,
    /// whose completion reports the failure as for any other send.
    pub(crate) fn send_direct(&mut self, idx: u32) {
        if self.shut_down || !self.ring.mode().issues_inline() {
            return;
        }
        let Some(base) = self.slab.tx(idx as usize) else {
            return;
        };
        let size = self.slab.slot_size();
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        let Some(fd) = c.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return;
        };
        let len = c.tx_len.min(size);
        // A loop waiting for room is told by `sent`, a draining connection ends there: both
        // go through the ring.
        if c.write.is_some() || c.blocked || c.notify_writable || c.phase != Phase::Open {
            return;
        }
        if len == 0 {
            return;
        }
        let flags = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT;
        // Safety: `base` points at the slot's `len` committed bytes, inside the slab; no
        // kernel operation reads or writes them meanwhile (no send is in flight).
        let written = unsafe { libc::send(fd, base.cast(), len, flags) };
        self.calls += 1;
        let Ok(n) = usize::try_from(written) else {
            return;
        };
        self.note_hot(idx);
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        let tx_len = c.tx_len;
        let n = n.min(tx_len);
        c.tx_len = tx_len - n;
        if n < len {
            c.blocked = true;
        }
        if c.tx_len > 0 {
            // Safety: no send is in flight, so the kernel reads nothing of this slot;
            // `&mut self` means no `ConnIo` is lent.
            if let Some(tx) = unsafe { self.slab.tx_mut(idx as usize) } {
                tx.copy_within(n..tx_len, 0);
            }
        }
    }

    /// Ends the silent sends an enter has issued since they were queued and for which no
    /// failure completion came: each wrote everything. Called after a reap.
    pub(crate) fn finish_silent_sends(&mut self, out: &mut Vec<Completion>) {
        if self.silent.is_empty() || self.ring.cq_overflowed() {
            // A failure completion may still wait in the kernel's overflow list.
            return;
        }
        let issued = self.ring.issued();
        let mut silent = std::mem::take(&mut self.silent);
        silent.retain(|&(idx, generation)| {
            let Some(c) = self.conns.current(idx, generation) else {
                return false;
            };
            let Some(op) = c.write else {
                return false;
            };
            match op.silent {
                Some(at) if at < issued => {
                    c.write = None;
                    self.ring.ended_silently();
                    self.sent(idx, op.len, out);
                    self.reclaim(idx);
                    false
                }
                Some(_) => true,
                None => false,
            }
        });
        silent.append(&mut self.silent);
        self.silent = silent;
    }

    /// `n` bytes of connection `idx`'s send slot left: drop them, tell a loop that waits for
    /// room, and send the rest.
    fn sent(&mut self, idx: u32, n: usize, out: &mut Vec<Completion>) {
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        let phase = c.phase;
        let tx_len = c.tx_len;
        let n = n.min(tx_len);
        c.tx_len = tx_len - n;
        let rest = c.tx_len;
        if n > 0 && std::mem::take(&mut c.notify_writable) && phase == Phase::Open {
            out.push(Completion::Writable { conn: ConnId(idx) });
        }
        if rest > 0 {
            // Safety: the send just ended and no other send is in flight, so the kernel reads
            // nothing of this slot; `&mut self` means no `ConnIo` is lent.
            if let Some(tx) = unsafe { self.slab.tx_mut(idx as usize) } {
                tx.copy_within(n..tx_len, 0);
            }
            if let Err(e) = self.start_write(idx) {
                self.write_failed(idx, phase, e, out);
            }
        } else if phase == Phase::Draining {
            self.finish_drain(idx);
        }
    }

    /// Handles the completion of a send: a waiting send's result, or a silent send's failure.
    pub(crate) fn on_write(&mut self, token: Token, result: i32, out: &mut Vec<Completion>) {
        let idx = token.index;
        let Some(c) = self.conns.current(idx, token.generation) else {
            return;
        };
        let Some(op) = c.write.take() else {
            return;
        };
        let phase = c.phase;
        let n = usize::try_from(result).unwrap_or(0).min(op.len);
        if op.silent.is_some() && (result > 0 || result == -libc::EAGAIN) {
            // The socket's buffer is full: wait for room from now on.
            c.blocked = true;
        } else if op.silent.is_none() && result > 0 && n == c.tx_len {
            c.blocked = false;
        }
        if result > 0 {
            self.sent(idx, n, out);
        } else if result == -libc::EAGAIN || result == -libc::EINTR {
            if let Err(e) = self.start_write(idx) {
                self.write_failed(idx, phase, e, out);
            }
        } else if result != -libc::ECANCELED || phase != Phase::Open {
            let error = if result == 0 {
                io::Error::from(io::ErrorKind::WriteZero)
            } else {
                from_result(result)
            };
            self.write_failed(idx, phase, error, out);
        }
        self.reclaim(idx);
    }

    fn write_failed(
        &mut self,
        idx: u32,
        phase: Phase,
        error: io::Error,
        out: &mut Vec<Completion>,
    ) {
        match phase {
            Phase::Open => self.fail(idx, Some(error), out),
            Phase::Draining => self.finish_drain(idx),
            _ => {}
        }
    }
}

//! Receives: one multishot `Recv` per connection, armed once and kept armed, drawing buffers
//! from the shared provided-buffer ring; each completion's bytes are copied into the
//! connection's receive slot and the buffer goes back to the ring.
//!
//! A spinning loop may take the answer it waits for with a `recv(2)` of its own instead
//! ([`UringBackend::receive_direct`]), and read the one connection it keeps answering that way
//! alone, its multishot receive cancelled ([`UringBackend::note_hot`]).
//!
//! Bytes that find the receive slot full are kept in the connection's spill, in order, and
//! the receive is cancelled until the loop has consumed enough for the spill to move into the
//! slot; an end of stream seen meanwhile is reported after those bytes.

use std::io;
use std::os::fd::AsRawFd;

use fixring_io::{Completion, ConnId};
use io_uring::opcode;
use io_uring::types::{Fd, Fixed};

use fixring_core::config::BusyPoll;

use crate::UringBackend;
use crate::provided::GROUP;
use crate::ring::{Cqe, from_result};
use crate::slots::Phase;
use crate::token::{OpKind, Token};

/// How many `send(2)`s in a row on one connection make a spinning loop poll it (see
/// [`UringBackend::note_hot`]).
const POLL_AFTER: u32 = 4;

impl UringBackend {
    /// Arms connection `idx`'s multishot receive unless it is armed, the connection is not
    /// open or polled, or received bytes wait for room.
    pub(crate) fn arm_recv(&mut self, idx: u32) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let size = self.slab.slot_size();
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return Ok(());
        };
        let Some(fd) = c.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return Ok(());
        };
        if c.recv
            || c.polled
            || c.phase != Phase::Open
            || !c.spill.is_empty()
            || c.end.is_some()
            || c.rx_len >= size
        {
            return Ok(());
        }
        let entry = if c.fixed {
            opcode::RecvMulti::new(Fixed(idx), GROUP).build()
        } else {
            opcode::RecvMulti::new(Fd(fd), GROUP).build()
        }
        .user_data(Token::new(OpKind::Read, idx, generation).encode());
        // Safety: the receive writes only into the provided-buffer ring's buffers, which live
        // until the ring is dropped; the socket is owned by the slot, which `recv` keeps from
        // being reclaimed until the receive's final completion.
        unsafe { self.ring.push(&[entry])? };
        c.recv = true;
        Ok(())
    }

    /// Handles one completion of a multishot receive.
    pub(crate) fn on_recv(&mut self, token: Token, cqe: Cqe, out: &mut Vec<Completion>) {
        let idx = token.index;
        let size = self.slab.slot_size();
        let n = usize::try_from(cqe.result).unwrap_or(0);
        // Safety: the flags and length are this receive completion's; the slice is dropped
        // before the buffer is released below.
        let bytes = unsafe { self.provided.bytes(cqe.flags, n) };
        let mut received = false;
        let mut buffer = None;
        if let Some((bytes, bid)) = bytes {
            buffer = Some(bid);
            let rx = self.slab.rx(idx as usize);
            if let (Some(c), Some(rx)) = (self.conns.current(idx, token.generation), rx)
                && c.phase == Phase::Open
                && !bytes.is_empty()
            {
                let room = size.saturating_sub(c.rx_len).min(bytes.len());
                if c.spill.is_empty() && room > 0 {
                    // Safety: the receive slot is never a kernel target (receives land in the
                    // provided buffers), `&mut self` means no `ConnIo` is lent, and
                    // `rx_len + room <= size` keeps the copy inside the slot.
                    unsafe {
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), rx.add(c.rx_len), room);
                    }
                    c.rx_len += room;
                    c.spill.extend_from_slice(&bytes[room..]);
                } else {
                    c.spill.extend_from_slice(bytes);
                }
                received = true;
            }
        }
        if let Some(bid) = buffer {
            self.provided.release(bid);
        }
        let generation = token.generation;
        let Some(c) = self.conns.current(idx, generation) else {
            return;
        };
        if !cqe.more {
            c.recv = false;
        }
        if c.phase == Phase::Open {
            let stop = c.recv && !c.spill.is_empty();
            if received {
                report_received(out, idx);
            }
            if cqe.result == 0 {
                self.end(idx, None, out);
            } else if cqe.result < 0
                && !matches!(
                    -cqe.result,
                    libc::ENOBUFS | libc::EAGAIN | libc::EINTR | libc::ECANCELED
                )
            {
                self.end(idx, Some(from_result(cqe.result)), out);
            } else if stop {
                // No room for more: stop receiving until the loop consumes.
                self.cancel(Token::new(OpKind::Read, idx, generation));
            } else if !cqe.more {
                // Ended by the kernel (out of buffers) or by our cancel: armed again at once
                // when there is room, or else at the flush after the loop has read. Not left
                // to the next flush alone: a spinning loop whose poll found only this ending
                // does not flush, and its peer may be waiting for an answer to what the
                // socket holds.
                let armed = self.arm_recv(idx).is_ok()
                    && self.conns.current(idx, generation).is_some_and(|c| c.recv);
                if !armed {
                    self.conns.mark_dirty(idx);
                }
            }
        }
        self.reclaim(idx);
    }

    /// The stream of open connection `idx` ended: reported now if the loop has read
    /// everything, or else at the poll after the flush that follows its reading, so that the
    /// bytes before the end stay readable until then.
    fn end(&mut self, idx: u32, error: Option<io::Error>, out: &mut Vec<Completion>) {
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        if c.spill.is_empty() && c.rx_len == 0 {
            self.fail(idx, error, out);
        } else if c.end.is_none() {
            // The first ending is the one reported (a direct receive's error, then the
            // multishot receive's end of stream, say).
            c.end = Some(error);
            self.conns.mark_dirty(idx);
        }
    }

    /// A spinning loop's receive without an enter, for the connection it last wrote with
    /// `send(2)`: whether bytes (or the connection's end) were reported.
    ///
    /// When the kernel flags task work and nothing else is to be done on the ring, the work
    /// is most likely that connection's multishot receive, woken by the answer. Running it
    /// takes an enter that issues the receive as task work and posts a completion; a
    /// non-blocking `recv(2)` into the receive slot takes the same bytes with less around it.
    /// Measured on a 2-vCPU VM (one session, spinning loops, cycles of the time-stamp
    /// counter): 3,760–6,260 for the enter against 2,510–2,570 for a `recv(2)`.
    ///
    /// Bytes stay in order. On a `DEFER_TASKRUN` ring the multishot receive runs only inside
    /// this thread's enters, and every enter is followed by a reap, so with the completion
    /// queue empty and nothing overflowed, every byte it took is in the receive slot or the
    /// spill; a direct receive is made only with the spill empty. The task work it leaves
    /// behind finds the socket empty at the next enter and posts nothing; until an enter has
    /// run it, the flag says nothing new and no other direct receive is made. Nothing to read
    /// (the flag was for something else) stops the direct receives until the next `send(2)`;
    /// an end of stream is left to the multishot receive, which reports it as always; an error
    /// is the connection's end.
    ///
    /// A connection polled (see [`UringBackend::note_hot`]) has no multishot receive, and
    /// no flag to wait for: every look reads it. Its end of stream re-arms the multishot
    /// receive, which reports it.
    pub(crate) fn receive_direct(&mut self, out: &mut Vec<Completion>) -> bool {
        let Some((idx, generation)) = self.hot else {
            return false;
        };
        let size = self.slab.slot_size();
        let Some(rx) = self.slab.rx(idx as usize) else {
            return false;
        };
        let Some(c) = self.conns.current(idx, generation) else {
            self.hot = None;
            return false;
        };
        let polled = c.polled && !c.recv;
        if !polled
            && (self.direct_at == Some(self.ring.task_runs()) || !self.ring.only_task_work_waits())
        {
            return false;
        }
        let Some(fd) = c.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return false;
        };
        if c.phase != Phase::Open
            || !(c.recv || polled)
            || !c.spill.is_empty()
            || c.end.is_some()
            || c.rx_len >= size
        {
            return false;
        }
        // Safety: the receive slot is never a kernel target (receives land in the provided
        // buffers), `&mut self` means no `ConnIo` is lent, and the kernel writes at most
        // `size - rx_len` bytes from `rx_len`, inside the slot.
        let n = unsafe {
            libc::recv(
                fd,
                rx.add(c.rx_len).cast(),
                size - c.rx_len,
                libc::MSG_DONTWAIT,
            )
        };
        self.calls += 1;
        if let Ok(n) = usize::try_from(n)
            && n > 0
        {
            c.rx_len += n;
            self.direct_at = Some(self.ring.task_runs());
            report_received(out, idx);
            return true;
        }
        let error = (n < 0).then(io::Error::last_os_error);
        // Polled or about to be (its receive's cancel not completed yet): it stays the
        // connection the looks read, or nothing would.
        let keep = c.polled;
        match error {
            Some(e) if !matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EINTR)) => {
                self.direct_at = Some(self.ring.task_runs());
                c.polled = false;
                self.end(idx, Some(e), out);
                true
            }
            // Nothing yet: a polled connection is read again at the next look.
            Some(_) if keep => false,
            // The end of stream: the multishot receive, armed again (at once, or once the
            // cancelled one has ended), reports it.
            None if keep => {
                self.unpoll(idx);
                false
            }
            _ => {
                self.hot = None;
                false
            }
        }
    }

    /// Connection `idx` was just written with `send(2)`: it is the one whose answer the
    /// direct receives look for. Once a spinning loop has written it [`POLL_AFTER`] times in
    /// a row, its multishot receive is cancelled, and every look of the spin reads it with a
    /// `recv(2)` of its own until the loop writes another connection or parks.
    ///
    /// Why: an armed receive has the socket's wait queue wake the ring for every segment
    /// that arrives, and the sender pays for that wake before its own `send(2)` returns and
    /// before the socket is free for the receiver's read. Without it, the sender's `send(2)`
    /// finds no one to wake, as in the raw-socket baseline of `fixring bench`. In six
    /// interleaved pairs of runs on a 2-vCPU VM, one session's p50 went from 1.31–1.35× that
    /// baseline's to 1.21–1.25× (docs/benchmarks.md). A loop that writes several connections
    /// in turn never gets there, so none of them pays for a cancel and a re-arm each message.
    pub(crate) fn note_hot(&mut self, idx: u32) {
        let generation = self.conns.generation(idx);
        match self.hot {
            Some(hot) if hot == (idx, generation) => {
                self.hot_sends = self.hot_sends.saturating_add(1);
            }
            Some((old, old_generation)) => {
                if self.conns.current(old, old_generation).is_some() {
                    self.unpoll(old);
                }
                self.hot_sends = 1;
            }
            None => self.hot_sends = 1,
        }
        self.hot = Some((idx, generation));
        if self.hot_sends < POLL_AFTER || self.busy_poll == BusyPoll::Park {
            return;
        }
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        if c.recv && !c.polled && c.phase == Phase::Open {
            c.polled = true;
            self.cancel(Token::new(OpKind::Read, idx, generation));
        }
    }

    /// Stops polling connection `idx`: its multishot receive is armed again (or, refused,
    /// at the next flush, which reports the error).
    pub(crate) fn unpoll(&mut self, idx: u32) {
        let Some(c) = self.conns.slot(idx) else {
            return;
        };
        if !c.polled {
            return;
        }
        c.polled = false;
        if self.arm_recv(idx).is_err() {
            self.conns.mark_dirty(idx);
        }
    }

    /// Before the loop sleeps: the polled connection gets its multishot receive back, so
    /// that its bytes wake the loop, and polls again only after [`POLL_AFTER`] more writes.
    pub(crate) fn unpoll_hot(&mut self) {
        if let Some((idx, generation)) = self.hot
            && self.conns.current(idx, generation).is_some()
        {
            self.unpoll(idx);
        }
        self.hot_sends = 0;
    }

    /// Moves held-back bytes into the receive slot as far as it has room, at a flush; the
    /// connection is reported at the next poll when bytes moved or its end is due.
    pub(crate) fn refill(&mut self, idx: u32) {
        let size = self.slab.slot_size();
        let rx = self.slab.rx(idx as usize);
        let generation = self.conns.generation(idx);
        let (Some(c), Some(rx)) = (self.conns.slot(idx), rx) else {
            return;
        };
        if c.spill.is_empty() && c.end.is_none() {
            return;
        }
        let room = size.saturating_sub(c.rx_len).min(c.spill.len());
        if room > 0 {
            // Safety: as in `on_recv`; the copy stays inside the slot.
            unsafe {
                std::ptr::copy_nonoverlapping(c.spill.as_ptr(), rx.add(c.rx_len), room);
            }
            c.rx_len += room;
            c.spill.drain(..room);
        }
        if room > 0 || (c.spill.is_empty() && c.end.is_some()) {
            self.pending.push((idx, generation));
        }
    }

    /// Reports the connections [`UringBackend::refill`] queued: their bytes, then their end.
    pub(crate) fn report_pending(&mut self, out: &mut Vec<Completion>) {
        let mut pending = std::mem::take(&mut self.pending);
        for (idx, generation) in pending.drain(..) {
            let Some(c) = self.conns.current(idx, generation) else {
                continue;
            };
            if c.phase != Phase::Open {
                continue;
            }
            if c.rx_len > 0 {
                out.push(Completion::Received { conn: ConnId(idx) });
            }
            if c.spill.is_empty()
                && let Some(error) = c.end.take()
            {
                self.fail(idx, error, out);
                self.reclaim(idx);
            }
        }
        self.pending = pending;
    }
}

/// Reports that connection `idx` received bytes, unless the last report already says so.
fn report_received(out: &mut Vec<Completion>, idx: u32) {
    if !matches!(out.last(), Some(Completion::Received { conn }) if conn.0 == idx) {
        out.push(Completion::Received { conn: ConnId(idx) });
    }
}

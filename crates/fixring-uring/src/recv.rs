//! Reads into a connection's receive slot: `ReadFixed` when the slab is registered, `Read`
//! otherwise, always into the free tail of the slot, one at a time.

use std::io;
use std::os::fd::AsRawFd;

use fixring_io::{Completion, ConnId};
use io_uring::opcode;
use io_uring::types::Fd;

use crate::UringBackend;
use crate::ring::from_result;
use crate::slots::Phase;
use crate::token::{OpKind, Token};

impl UringBackend {
    /// Arms a read into the free tail of connection `idx`'s receive slot, unless one is in
    /// flight or the slot is full.
    pub(crate) fn arm_read(&mut self, idx: u32) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let size = self.slab.slot_size();
        let registered = self.slab.registered();
        let Some((base, buf_index)) = self.slab.rx(idx as usize) else {
            return Ok(());
        };
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return Ok(());
        };
        let Some(fd) = c.fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return Ok(());
        };
        let offset = c.rx_len;
        if c.read.is_some() || offset >= size || c.phase != Phase::Open {
            return Ok(());
        }
        let len = u32::try_from(size - offset).unwrap_or(u32::MAX);
        // Safety: `offset < size`, so the pointer stays inside this connection's slot.
        let ptr = unsafe { base.add(offset) };
        let user_data = Token::new(OpKind::Read, idx, generation).encode();
        let entry = if registered {
            opcode::ReadFixed::new(Fd(fd), ptr, len, buf_index).build()
        } else {
            opcode::Read::new(Fd(fd), ptr, len).build()
        }
        .user_data(user_data);
        // Safety: the target is the slot's tail past `rx_len`, inside the slab, which outlives
        // the ring. Until the completion, `read` is set, so no second read is armed, the slot
        // is not reclaimed (its socket stays open) and a lent `ConnIo` only touches bytes
        // before `offset` (it can shrink `rx_len`, never grow it).
        unsafe { self.ring.push(&[entry])? };
        c.read = Some(offset);
        c.want_read = false;
        Ok(())
    }

    /// Handles the completion of a read.
    pub(crate) fn on_read(&mut self, token: Token, result: i32, out: &mut Vec<Completion>) {
        let idx = token.index;
        let Some(c) = self.conns.current(idx, token.generation) else {
            return;
        };
        let Some(offset) = c.read.take() else {
            return;
        };
        if c.phase == Phase::Open {
            if result > 0 {
                let n = usize::try_from(result).unwrap_or(0);
                let rx_len = c.rx_len;
                if rx_len < offset {
                    // The loop consumed bytes while the read was in flight: close the gap.
                    // Safety: the read just completed and writes to this slot end with it; the
                    // `&mut self` of this call means no `ConnIo` is lent.
                    if let Some(rx) = unsafe { self.slab.rx_mut(idx as usize) } {
                        let end = offset.saturating_add(n).min(rx.len());
                        rx.copy_within(offset..end, rx_len);
                    }
                }
                if let Some(c) = self.conns.slot(idx) {
                    c.rx_len = (rx_len + n).min(self.slab.slot_size());
                    c.want_read = true;
                }
                self.conns.mark_dirty(idx);
                out.push(Completion::Received { conn: ConnId(idx) });
            } else if result == 0 {
                self.fail(idx, None, out);
            } else if result == -libc::EAGAIN || result == -libc::EINTR {
                c.want_read = true;
                self.conns.mark_dirty(idx);
            } else if result != -libc::ECANCELED {
                self.fail(idx, Some(from_result(result)), out);
            }
        }
        self.conns.reclaim(idx);
    }
}

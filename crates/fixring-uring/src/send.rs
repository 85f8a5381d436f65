//! Writes from a connection's send slot: `WriteFixed` when the slab is registered, `Write`
//! otherwise, of the committed prefix, one at a time.
//!
//! The written prefix is dropped by moving the rest to the front when the write completes:
//! at that moment no write is in flight, so no bytes move under the kernel.

use std::io;
use std::os::fd::AsRawFd;

use fixring_io::Completion;
use io_uring::opcode;
use io_uring::types::Fd;

use crate::UringBackend;
use crate::ring::from_result;
use crate::slots::Phase;
use crate::token::{OpKind, Token};

impl UringBackend {
    /// Starts writing connection `idx`'s committed bytes unless a write is in flight.
    pub(crate) fn start_write(&mut self, idx: u32) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let registered = self.slab.registered();
        let Some((base, buf_index)) = self.slab.tx(idx as usize) else {
            return Ok(());
        };
        let size = self.slab.slot_size();
        let generation = self.conns.generation(idx);
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
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        let user_data = Token::new(OpKind::Write, idx, generation).encode();
        let entry = if registered {
            opcode::WriteFixed::new(Fd(fd), base, len32, buf_index).build()
        } else {
            opcode::Write::new(Fd(fd), base, len32).build()
        }
        .user_data(user_data);
        // Safety: the source is the committed prefix of the slot, inside the slab, which
        // outlives the ring. Until the completion, `write` is set, so no compaction moves those
        // bytes, the slot is not reclaimed (its socket stays open), and a lent `ConnIo` only
        // writes past `tx_len`, which never shrinks while the write is in flight.
        unsafe { self.ring.push(&[entry])? };
        c.write = Some(len);
        Ok(())
    }

    /// Handles the completion of a write.
    pub(crate) fn on_write(&mut self, token: Token, result: i32, out: &mut Vec<Completion>) {
        let idx = token.index;
        let Some(c) = self.conns.current(idx, token.generation) else {
            return;
        };
        let Some(len) = c.write.take() else {
            return;
        };
        let phase = c.phase;
        if result > 0 {
            let tx_len = c.tx_len;
            let n = usize::try_from(result).unwrap_or(0).min(len).min(tx_len);
            c.tx_len = tx_len - n;
            let rest = c.tx_len;
            if std::mem::take(&mut c.notify_writable) && phase == Phase::Open {
                out.push(Completion::Writable {
                    conn: fixring_io::ConnId(idx),
                });
            }
            if rest > 0 {
                // Safety: the write just completed and no other write is in flight, so the
                // kernel reads nothing of this slot; `&mut self` means no `ConnIo` is lent.
                if let Some(tx) = unsafe { self.slab.tx_mut(idx as usize) } {
                    tx.copy_within(n..tx_len, 0);
                }
                if let Err(e) = self.start_write(idx) {
                    self.write_failed(idx, phase, e, out);
                }
            } else if phase == Phase::Draining {
                self.finish_drain(idx);
            }
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
        self.conns.reclaim(idx);
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

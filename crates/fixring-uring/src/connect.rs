//! Outbound connects: a `Connect` linked to a `LinkTimeout`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use fixring_core::config::SocketOptions;
use fixring_io::{Completion, ConnId, Mode, socket};
use io_uring::opcode;
use io_uring::squeue::Flags;
use io_uring::types::{Fd, Timespec};
use socket2::SockAddr;

use crate::UringBackend;
use crate::ring::from_result;
use crate::slots::Phase;
use crate::token::{OpKind, Token};

/// What a connect and its timeout read, owned by the connection slot until both complete.
#[derive(Debug)]
pub(crate) struct ConnectOp {
    addr: SockAddr,
    timeout: Timespec,
}

impl UringBackend {
    pub(crate) fn start_connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        options: &SocketOptions,
        timeout: Duration,
    ) -> io::Result<ConnId> {
        self.check_running()?;
        // socket, the options, SO_REUSEADDR and bind for a source, and the close.
        self.calls += 2 + 2 * u64::from(source.is_some()) + crate::apply_calls(options);
        let fd: OwnedFd = socket::outbound(addr, source, options, Mode::Blocking)?.into();
        let raw = fd.as_raw_fd();
        let idx = self
            .conns
            .alloc(fd, Phase::Connecting, addr)
            .ok_or_else(|| self.table_full())?;
        // The close is counted when the slot is reclaimed.
        self.calls -= 1;
        let generation = self.conns.generation(idx);
        let Some(c) = self.conns.slot(idx) else {
            return Err(self.table_full().into());
        };
        let op = Box::new(ConnectOp {
            addr: SockAddr::from(addr),
            timeout: Timespec::from(timeout),
        });
        let entries = [
            opcode::Connect::new(Fd(raw), op.addr.as_ptr().cast(), op.addr.len())
                .build()
                .flags(Flags::IO_LINK)
                .user_data(Token::new(OpKind::Connect, idx, generation).encode()),
            opcode::LinkTimeout::new(&op.timeout)
                .build()
                .user_data(Token::new(OpKind::ConnectTimeout, idx, generation).encode()),
        ];
        c.connect = Some(op);
        // Safety: the address and timespec live in the boxed `ConnectOp`, which the slot keeps
        // (at a fixed heap address) until `connect_pending` falls to zero, that is until both
        // completions arrived; the socket is owned by the slot, which is not reclaimed while
        // `connect_pending` is non-zero.
        let pushed = unsafe { self.ring.push(&entries) };
        let Some(c) = self.conns.slot(idx) else {
            return Err(self.table_full().into());
        };
        match pushed {
            Ok(()) => {
                c.connect_pending = 2;
                Ok(ConnId(idx))
            }
            Err(e) => {
                c.phase = Phase::Closing;
                self.reclaim(idx);
                Err(e)
            }
        }
    }

    /// Handles the completion of a connect.
    pub(crate) fn on_connect(&mut self, token: Token, result: i32, out: &mut Vec<Completion>) {
        let idx = token.index;
        let Some(c) = self.conns.current(idx, token.generation) else {
            return;
        };
        c.connect_pending = c.connect_pending.saturating_sub(1);
        if c.connect_pending == 0 {
            c.connect = None;
        }
        if c.phase == Phase::Connecting {
            let peer = c.peer;
            if result >= 0 {
                c.phase = Phase::Open;
                self.register_fixed(idx);
                match (self.arm_recv(idx), peer) {
                    (Ok(()), Some(peer)) => out.push(Completion::Connected {
                        conn: ConnId(idx),
                        peer,
                    }),
                    (Err(error), _) => self.fail_connect(idx, error, out),
                    (Ok(()), None) => {
                        let error = io::Error::from(io::ErrorKind::NotConnected);
                        self.fail_connect(idx, error, out);
                    }
                }
            } else {
                // Only the link timeout cancels a connect the caller still holds.
                let error = if result == -libc::ECANCELED || result == -libc::EINTR {
                    io::Error::new(io::ErrorKind::TimedOut, "connect timed out")
                } else {
                    from_result(result)
                };
                self.fail_connect(idx, error, out);
            }
        }
        self.reclaim(idx);
    }

    /// Handles the completion of a connect's link timeout.
    pub(crate) fn on_connect_timeout(&mut self, token: Token) {
        let Some(c) = self.conns.current(token.index, token.generation) else {
            return;
        };
        c.connect_pending = c.connect_pending.saturating_sub(1);
        if c.connect_pending == 0 {
            c.connect = None;
        }
        self.reclaim(token.index);
    }

    fn fail_connect(&mut self, idx: u32, error: io::Error, out: &mut Vec<Completion>) {
        let generation = self.conns.generation(idx);
        if let Some(c) = self.conns.slot(idx) {
            c.phase = Phase::Closing;
            if c.recv {
                self.cancel(Token::new(OpKind::Read, idx, generation));
            }
        }
        out.push(Completion::ConnectFailed {
            conn: ConnId(idx),
            error,
        });
    }
}

//! Listeners and their multishot accept.
//!
//! One `AcceptMulti` stays armed per listener; when the kernel ends it (a completion without
//! `IORING_CQE_F_MORE`) it is armed again unless the listener is closing or backing off.
//!
//! While every slot is taken, accepted sockets wait for one ([`Waiting`], up to
//! [`WAITING_LIMIT`]), newest served first, and the accept goes on, so that the kernel's
//! queue never fills and drops a counterparty's connection. When `accept` runs out of
//! descriptors or memory, it is armed again only after [`ACCEPT_BACKOFF`], instead of at
//! once, failing again and spinning.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use fixring_core::config::SocketOptions;
use fixring_io::slots::next_generation;
use fixring_io::{
    ACCEPT_BACKOFF, BackendError, Completion, ConnId, ListenerId, Mode, WAITING_LIMIT,
    is_exhaustion, socket,
};
use io_uring::types::Timespec;
use io_uring::{opcode, types};
use socket2::{SockRef, Socket};

use crate::UringBackend;
use crate::ring::Cqe;
use crate::slots::Phase;
use crate::token::{OpKind, Token};

/// One listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    socket: Option<Socket>,
    options: SocketOptions,
    generation: u32,
    /// The multishot accept is in flight.
    armed: bool,
    /// `unlisten` or shutdown asked for it to go; freed once the accept has ended.
    closing: bool,
    /// The back-off timeout in flight after `accept` ran out of descriptors; the box keeps
    /// its timespec until its completion.
    backoff: Option<Box<Timespec>>,
}

/// A socket accepted while every slot was taken.
#[derive(Debug)]
pub(crate) struct Waiting {
    listener: u32,
    generation: u32,
    fd: OwnedFd,
}

/// The listeners of a backend; a slot is reused once its socket is closed.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    slots: Vec<Listener>,
}

impl Listeners {
    fn insert(&mut self, socket: Socket, options: SocketOptions) -> u32 {
        let free = self
            .slots
            .iter()
            .position(|l| l.socket.is_none() && !l.armed);
        let listener = |generation| Listener {
            socket: Some(socket),
            options,
            generation,
            armed: false,
            closing: false,
            backoff: None,
        };
        match free.and_then(|i| Some((i, self.slots.get_mut(i)?))) {
            Some((i, slot)) => {
                *slot = listener(slot.generation);
                u32::try_from(i).unwrap_or(u32::MAX)
            }
            None => {
                self.slots.push(listener(0));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    fn open(&self, idx: u32) -> Option<&Listener> {
        self.slots
            .get(idx as usize)
            .filter(|l| l.socket.is_some() && !l.closing)
    }

    fn free(&mut self, idx: u32) {
        if let Some(l) = self.slots.get_mut(idx as usize) {
            if l.backoff.is_some() {
                // Freed once the back-off's completion has come.
                return;
            }
            l.socket = None;
            l.closing = false;
            l.generation = next_generation(l.generation);
        }
    }

    /// Marks every listener closing and returns the tokens of the accepts to cancel.
    pub(crate) fn close_all(&mut self) -> Vec<Token> {
        let mut armed = Vec::new();
        for (i, l) in self.slots.iter_mut().enumerate() {
            l.closing = true;
            let Ok(i) = u32::try_from(i) else {
                continue;
            };
            if l.armed {
                armed.push(Token::new(OpKind::Accept, i, l.generation));
            }
            if l.backoff.is_some() {
                armed.push(Token::new(OpKind::AcceptBackoff, i, l.generation));
            }
        }
        armed
    }

    /// Closes every listening socket, returning how many; only once no accept can be in
    /// flight.
    pub(crate) fn clear(&mut self) -> u64 {
        let open = self.slots.iter().filter(|l| l.socket.is_some()).count();
        self.slots.clear();
        u64::try_from(open).unwrap_or(u64::MAX)
    }
}

impl UringBackend {
    pub(crate) fn do_listen(
        &mut self,
        addr: SocketAddr,
        options: &SocketOptions,
    ) -> io::Result<ListenerId> {
        self.check_running()?;
        // socket, SO_REUSEADDR, IPV6_V6ONLY for `[::]`, the options, bind, listen.
        self.calls += 4
            + u64::from(addr.is_ipv6() && addr.ip().is_unspecified())
            + crate::apply_calls(options);
        let sock = socket::listener(addr, options, Mode::Blocking)?;
        let idx = self.listeners.insert(sock, *options);
        if let Err(e) = self.arm_accept(idx) {
            self.listeners.free(idx);
            self.calls += 1;
            return Err(e);
        }
        Ok(ListenerId(idx))
    }

    pub(crate) fn do_local_addr(&self, listener: ListenerId) -> io::Result<SocketAddr> {
        let l = self
            .listeners
            .open(listener.0)
            .ok_or(BackendError::UnknownListener(listener))?;
        let sock = l
            .socket
            .as_ref()
            .ok_or(BackendError::UnknownListener(listener))?;
        sock.local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(crate) fn do_unlisten(&mut self, listener: ListenerId) {
        let idx = listener.0;
        let Some(l) = self.listeners.slots.get_mut(idx as usize) else {
            return;
        };
        if l.socket.is_none() || l.closing {
            return;
        }
        l.closing = true;
        let generation = l.generation;
        let (armed, backing_off) = (l.armed, l.backoff.is_some());
        if armed {
            self.cancel(Token::new(OpKind::Accept, idx, generation));
        }
        if backing_off {
            self.cancel(Token::new(OpKind::AcceptBackoff, idx, generation));
        }
        if !armed {
            self.listeners.free(idx);
            self.calls += 1;
        }
        self.waiting.retain(|w| w.listener != idx);
    }

    /// Arms the multishot accept of listener `idx`.
    fn arm_accept(&mut self, idx: u32) -> io::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        let Some(l) = self.listeners.slots.get_mut(idx as usize) else {
            return Ok(());
        };
        let Some(sock) = l.socket.as_ref() else {
            return Ok(());
        };
        if l.armed || l.closing || l.backoff.is_some() {
            return Ok(());
        }
        let entry = opcode::AcceptMulti::new(types::Fd(sock.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Token::new(OpKind::Accept, idx, l.generation).encode());
        // Safety: the accept names only the listening descriptor, which the listener slot owns
        // until the accept's final completion (`armed` keeps the slot from being freed or
        // reused before then).
        unsafe { self.ring.push(&[entry])? };
        l.armed = true;
        Ok(())
    }

    /// Handles one completion of a multishot accept.
    pub(crate) fn on_accept(&mut self, token: Token, cqe: Cqe, out: &mut Vec<Completion>) {
        let accepted = (cqe.result >= 0).then(|| {
            // Safety: a non-negative accept result is a new descriptor the kernel just created
            // for us; nothing else owns it.
            unsafe { OwnedFd::from_raw_fd(cqe.result) }
        });
        let Some(l) = self
            .listeners
            .slots
            .get_mut(token.index as usize)
            .filter(|l| l.generation == token.generation)
        else {
            return;
        };
        let options = l.options;
        let closing = l.closing;
        if !cqe.more {
            l.armed = false;
        }
        match accepted {
            Some(fd) if !closing => {
                if self.waiting.is_empty() && self.conns.has_room() {
                    self.admit(token.index, fd, &options, out);
                } else {
                    self.wait_for_slot(token.index, token.generation, fd);
                }
            }
            None if !closing => {
                let error = io::Error::from_raw_os_error(-cqe.result);
                if is_exhaustion(&error) {
                    self.back_off(token.index, token.generation, error, out);
                }
            }
            _ => {}
        }
        // Closing, or the ring refused the re-arm: the listener cannot accept any more.
        if !cqe.more && (closing || self.arm_accept(token.index).is_err()) {
            self.listeners.free(token.index);
            self.calls += 1;
        }
    }

    /// Keeps a socket accepted while every slot is taken until one is free.
    fn wait_for_slot(&mut self, listener: u32, generation: u32, fd: OwnedFd) {
        if self.waiting.len() >= WAITING_LIMIT {
            // Dropping the oldest closes it.
            self.waiting.pop_front();
            self.calls += 1;
        }
        self.waiting.push_back(Waiting {
            listener,
            generation,
            fd,
        });
    }

    /// Gives the slots that are free to the sockets waiting for one, newest first. Called
    /// after every reap.
    pub(crate) fn admit_waiting(&mut self, out: &mut Vec<Completion>) {
        while self.conns.has_room()
            && let Some(waiting) = self.waiting.pop_back()
        {
            let options = self
                .listeners
                .open(waiting.listener)
                .filter(|l| l.generation == waiting.generation)
                .map(|l| l.options);
            if let Some(options) = options {
                self.admit(waiting.listener, waiting.fd, &options, out);
            }
        }
    }

    /// Listener `idx`'s accept ran out of descriptors or memory: it is armed again after
    /// [`ACCEPT_BACKOFF`], and the loop hears of it once.
    fn back_off(&mut self, idx: u32, generation: u32, error: io::Error, out: &mut Vec<Completion>) {
        let Some(l) = self.listeners.slots.get_mut(idx as usize) else {
            return;
        };
        if l.backoff.is_some() {
            return;
        }
        let ts = Box::new(Timespec::from(ACCEPT_BACKOFF));
        let entry = opcode::Timeout::new(&*ts)
            .build()
            .user_data(Token::new(OpKind::AcceptBackoff, idx, generation).encode());
        let armed = l.armed;
        l.backoff = Some(ts);
        // Safety: the timespec is boxed (fixed heap address) and kept in the listener slot,
        // which is not freed before the timeout's completion clears `backoff`.
        if unsafe { self.ring.push(&[entry]) }.is_err() {
            if let Some(l) = self.listeners.slots.get_mut(idx as usize) {
                l.backoff = None;
            }
            return;
        }
        if armed {
            // A multishot accept that failed but goes on would fail again at once.
            self.cancel(Token::new(OpKind::Accept, idx, generation));
        }
        out.push(Completion::AcceptPaused {
            listener: ListenerId(idx),
            error,
        });
    }

    /// Listener `token.index`'s back-off is over (or was cancelled): it accepts again.
    pub(crate) fn on_accept_backoff(&mut self, token: Token) {
        let Some(l) = self
            .listeners
            .slots
            .get_mut(token.index as usize)
            .filter(|l| l.generation == token.generation)
        else {
            return;
        };
        l.backoff = None;
        if l.closing {
            if !l.armed {
                self.listeners.free(token.index);
            }
        } else if self.arm_accept(token.index).is_err() {
            self.listeners.free(token.index);
        }
    }

    /// Takes an accepted socket into the table, or closes it when the table is full.
    fn admit(
        &mut self,
        listener: u32,
        fd: OwnedFd,
        options: &SocketOptions,
        out: &mut Vec<Completion>,
    ) {
        // The options, getpeername, and the close if the socket is not taken.
        self.calls += crate::apply_calls(options) + 2;
        let sock = SockRef::from(&fd);
        if socket::apply(sock, options).is_err() {
            return;
        }
        let Some(peer) = SockRef::from(&fd)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
        else {
            return;
        };
        let Some(idx) = self.conns.alloc(fd, Phase::Open, peer) else {
            return;
        };
        // The close is counted when the slot is reclaimed.
        self.calls -= 1;
        self.register_fixed(idx);
        if self.arm_recv(idx).is_err() {
            if let Some(c) = self.conns.slot(idx) {
                c.phase = Phase::Closing;
            }
            self.reclaim(idx);
            return;
        }
        out.push(Completion::Accepted {
            listener: ListenerId(listener),
            conn: ConnId(idx),
            peer,
        });
    }
}

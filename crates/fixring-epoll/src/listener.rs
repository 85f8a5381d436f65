//! Listening sockets and accepting from them.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd};

use fixring_core::config::SocketOptions;
use fixring_io::ListenerId;
use fixring_io::{Mode, socket};
use socket2::{SockAddr, SockRef, Socket};

/// A listening socket and the options its accepted connections get.
#[derive(Debug)]
pub(crate) struct Listener {
    /// The listening socket (non-blocking).
    pub(crate) socket: Socket,
    /// Applied to every accepted socket.
    pub(crate) options: SocketOptions,
    /// `accept` ran out of descriptors or memory: it accepts again at this time, its
    /// readiness left unwatched meanwhile.
    pub(crate) backoff: Option<std::time::Instant>,
}

impl Listener {
    /// Binds `addr` and listens (see [`socket::listener`]).
    pub(crate) fn bind(addr: SocketAddr, options: &SocketOptions) -> io::Result<Self> {
        Ok(Self {
            socket: socket::listener(addr, options, Mode::NonBlocking)?,
            options: *options,
            backoff: None,
        })
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket with the
    /// listener's options applied. `WouldBlock` when none is pending.
    pub(crate) fn accept(&self) -> io::Result<(Socket, SocketAddr)> {
        let listener = self.socket.as_raw_fd();
        // Safety: `try_init` hands a zeroed sockaddr storage and its length, both valid for
        // the call; accept4 writes at most `len` bytes there and updates `len`.
        let (fd, addr) = unsafe {
            SockAddr::try_init(|storage, len| {
                let fd = libc::accept4(
                    listener,
                    storage.cast(),
                    len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                );
                if fd < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(fd)
                }
            })
        }?;
        // Safety: accept4 returned a fresh descriptor that nothing else owns.
        let accepted = unsafe { Socket::from_raw_fd(fd) };
        socket::apply(SockRef::from(&accepted), &self.options)?;
        let peer = addr.as_socket().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "accepted a non-IP address")
        })?;
        Ok((accepted, peer))
    }
}

/// The listeners of a backend, indexed by [`ListenerId`]; identifiers are never reused.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    entries: Vec<Option<Listener>>,
}

impl Listeners {
    /// Stores `listener` and returns its identifier.
    pub(crate) fn insert(&mut self, listener: Listener) -> io::Result<ListenerId> {
        let id = u32::try_from(self.entries.len())
            .map_err(|_| io::Error::other("too many listeners"))?;
        self.entries.push(Some(listener));
        Ok(ListenerId(id))
    }

    /// The listener with `id`, if it is still open.
    pub(crate) fn get(&self, id: ListenerId) -> Option<&Listener> {
        self.entries.get(usize::try_from(id.0).ok()?)?.as_ref()
    }

    /// The listener with `id`, mutable.
    pub(crate) fn get_mut(&mut self, id: ListenerId) -> Option<&mut Listener> {
        self.entries.get_mut(usize::try_from(id.0).ok()?)?.as_mut()
    }

    /// The listeners backing off, with their identifiers and when they accept again.
    pub(crate) fn backing_off(
        &self,
    ) -> impl Iterator<Item = (ListenerId, std::time::Instant)> + '_ {
        self.entries.iter().enumerate().filter_map(|(i, l)| {
            let until = l.as_ref()?.backoff?;
            Some((ListenerId(u32::try_from(i).ok()?), until))
        })
    }

    /// Removes the listener with `id`.
    pub(crate) fn remove(&mut self, id: ListenerId) -> Option<Listener> {
        self.entries.get_mut(usize::try_from(id.0).ok()?)?.take()
    }

    /// Removes every listener.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Listener> + '_ {
        self.entries.drain(..).flatten()
    }
}

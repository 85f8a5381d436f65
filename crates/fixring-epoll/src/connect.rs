//! Outbound connections: the non-blocking connect and the deadlines the backend keeps.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use fixring_core::config::SocketOptions;
use fixring_io::{Mode, socket};
use socket2::Socket;

/// Creates a socket, applies `options`, binds `source` when given and starts connecting to
/// `addr`. Returns the socket and the error when the connect failed at once (it then fails
/// through the backend's completions like any other).
pub(crate) fn start(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    options: &SocketOptions,
) -> io::Result<(Socket, Option<io::Error>)> {
    let socket = socket::outbound(addr, source, options, Mode::NonBlocking)?;
    match socket.connect(&addr.into()) {
        Ok(()) => Ok((socket, None)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((socket, None)),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok((socket, None)),
        Err(e) => Ok((socket, Some(e))),
    }
}

/// Why a deadline is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// A connect attempt times out.
    Connect,
    /// A closing connection stops waiting for its peer to take the last bytes
    /// ([`fixring_io::DRAIN_TIMEOUT`]).
    Linger,
}

/// A deadline of one slot occupant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// When it expires.
    pub(crate) at: Instant,
    /// The slot.
    pub(crate) index: u32,
    /// The occupant's generation; a later occupant is not affected.
    pub(crate) generation: u32,
    /// What expires.
    pub(crate) expiry: Expiry,
}

/// The few deadlines in force, in no order (there are as many as connects in flight).
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    entries: Vec<Deadline>,
}

impl Deadlines {
    /// Adds a deadline.
    pub(crate) fn push(&mut self, deadline: Deadline) {
        self.entries.push(deadline);
    }

    /// Forgets the deadlines of slot `index`.
    pub(crate) fn remove(&mut self, index: u32) {
        self.entries.retain(|d| d.index != index);
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.entries.iter().map(|d| d.at).min()
    }

    /// Removes and returns the deadlines at or before `now`.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<Deadline> {
        if self.entries.iter().all(|d| d.at > now) {
            return Vec::new();
        }
        let (due, kept) = self.entries.iter().partition(|d| d.at <= now);
        self.entries = kept;
        due
    }

    /// Whether no deadline is in force.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every deadline.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

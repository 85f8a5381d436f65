//! The interface an I/O backend implements for the engine's event loop: the [`Backend`]
//! trait, what it reports, its identifiers and its options.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

use fixring_core::config::{BusyPoll, SocketOptions};

use crate::ConnIo;

/// How long [`Backend::close`] lets a connection write its committed bytes before the socket
/// is closed regardless, so that a peer which stopped reading cannot hold a slot and a socket.
///
/// Two seconds. What is left to write at a close is small (a Logout, a Reject, the tail of a
/// resend) and a peer that reads takes it within a round trip; two seconds also cover the
/// kernel's first retransmission of a lost segment (its initial timeout is one second). A
/// peer that takes longer has stopped reading, and its slot is better freed for the next
/// connection well before a reconnect could need it.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The most accepted sockets a backend keeps while every one of its connections is taken,
/// waiting for a free one. Each costs a descriptor and no buffer. A listener goes on
/// accepting meanwhile, so that its kernel queue never fills and a counterparty's connection
/// is never dropped there; a free connection goes to the newest waiting socket first (a
/// flood's sockets are the old ones), and beyond this many the oldest is closed.
pub const WAITING_LIMIT: usize = 16_384;

/// How long a listener stops accepting after `accept` ran out of descriptors (`EMFILE`,
/// `ENFILE`) or memory (`ENOBUFS`, `ENOMEM`), instead of trying again at once and spinning:
/// the connections wait in the kernel's queue meanwhile.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether an error of `accept` means the process or the system ran out of descriptors or
/// memory, which a listener waits out for [`ACCEPT_BACKOFF`].
pub fn is_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A connection of one backend. Identifiers are reused only after [`Completion::Closed`] or
/// [`Backend::close`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// A listening socket of one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u32);

/// What a backend reports from [`Backend::poll`].
#[derive(Debug)]
pub enum Completion {
    /// A listener accepted a connection; its reads are armed.
    Accepted {
        /// The listener.
        listener: ListenerId,
        /// The new connection.
        conn: ConnId,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// An outbound connection completed; its reads are armed.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The address connected to.
        peer: SocketAddr,
    },
    /// An outbound connection failed or timed out (`io::ErrorKind::TimedOut`). The identifier
    /// is released.
    ConnectFailed {
        /// The connection.
        conn: ConnId,
        /// Why.
        error: io::Error,
    },
    /// New bytes are in the connection's receive buffer; read them with [`Backend::io`].
    Received {
        /// The connection.
        conn: ConnId,
    },
    /// The peer closed the connection (`error` is `None`) or it failed. The identifier is
    /// released; bytes committed but not yet written are lost with the connection.
    Closed {
        /// The connection.
        conn: ConnId,
        /// The error, if it was not an orderly close by the peer.
        error: Option<io::Error>,
        /// Committed bytes that never reached the socket.
        unsent: usize,
    },
    /// Send-buffer room freed up on a connection whose loop asked with
    /// [`TxBuf::notify_when_writable`](crate::TxBuf::notify_when_writable).
    Writable {
        /// The connection.
        conn: ConnId,
    },
    /// A listener's `accept` ran out of descriptors or memory ([`is_exhaustion`]); it
    /// accepts again after [`ACCEPT_BACKOFF`]. Reported once per back-off.
    AcceptPaused {
        /// The listener.
        listener: ListenerId,
        /// The error `accept` returned.
        error: io::Error,
    },
    /// [`Wake::wake`] was called on the backend's waker.
    Woken,
}

/// A handle that interrupts a backend's [`Backend::poll`] from any thread.
pub trait Wake: Send + Sync + 'static {
    /// Makes the backend's current or next `poll` return with [`Completion::Woken`].
    fn wake(&self);
}

/// An I/O backend driving sockets for one event loop.
pub trait Backend {
    /// The waker type of this backend.
    type Waker: Wake + Clone;

    /// Binds and listens on `addr`, applying `options` (SO_REUSEADDR before bind).
    fn listen(&mut self, addr: SocketAddr, options: &SocketOptions) -> io::Result<ListenerId>;

    /// The address a listener is bound to (the port chosen when `addr` had port 0).
    fn local_addr(&self, listener: ListenerId) -> io::Result<SocketAddr>;

    /// Stops listening and closes the listener.
    fn unlisten(&mut self, listener: ListenerId);

    /// Starts connecting to `addr`, from `source` when given, applying `options`; reports
    /// [`Completion::Connected`] or [`Completion::ConnectFailed`] (after `timeout` at most).
    fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        options: &SocketOptions,
        timeout: Duration,
    ) -> io::Result<ConnId>;

    /// Lends the buffers of a live connection; `None` for an unknown or closed one.
    fn io(&mut self, conn: ConnId) -> Option<ConnIo<'_>>;

    /// Starts writing committed bytes and re-arms reads, for every connection that needs it.
    /// A completion-based backend may only queue the operations, to submit them with the
    /// next [`Backend::poll`] in the same system call that reaps completions; the loop polls
    /// right after it flushes.
    fn flush(&mut self) -> io::Result<()>;

    /// Writes what connection `conn` has committed now, with a system call of its own,
    /// where the backend's policy has it write that way: called by a loop whose turn
    /// answered one connection, before the turn's bookkeeping. What is not written here
    /// goes out with the [`Backend::flush`] that still follows.
    fn send_now(&mut self, conn: ConnId);

    /// Closes a connection after its committed bytes are written (or fail, or
    /// [`DRAIN_TIMEOUT`] passes). No [`Completion::Closed`] follows; the identifier is
    /// released.
    fn close(&mut self, conn: ConnId);

    /// Waits up to `timeout` (forever when `None`) for completions, by the backend's idle
    /// policy, and appends them to `out`. May return with nothing on timeout.
    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()>;

    /// A waker that interrupts [`Backend::poll`] from another thread.
    fn waker(&self) -> Self::Waker;

    /// The socket's descriptor, for reading options back in tests and diagnostics.
    fn socket_fd(&self, conn: ConnId) -> Option<RawFd>;

    /// Whether the peer of a live connection has closed it (or it failed) though no
    /// [`Completion::Closed`] has said so yet; an unknown connection counts as closed.
    fn peer_closed(&self, conn: ConnId) -> bool {
        self.socket_fd(conn).is_none_or(crate::socket::peer_closed)
    }

    /// Cancels everything in flight, waits for the cancellations, and closes every socket.
    fn shutdown(&mut self) -> io::Result<()>;

    /// The system calls this backend has made since it was created.
    fn system_calls(&self) -> u64;
}

/// How a backend is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendOptions {
    /// Connections (accepted and outbound) the backend can hold at once.
    pub max_connections: u32,
    /// Size of each connection's receive buffer and of its send buffer, in bytes.
    pub buffer_size: usize,
    /// How [`Backend::poll`] waits when nothing has completed.
    pub busy_poll: BusyPoll,
    /// io_uring only: let a kernel thread poll the submission queue (costs a core).
    pub sqpoll: bool,
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            buffer_size: 16 * 1024,
            busy_poll: BusyPoll::default(),
            sqpoll: false,
        }
    }
}

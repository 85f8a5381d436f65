//! The interface an I/O backend implements for the engine's event loop.
//!
//! A backend (io_uring in `fixring-uring`, epoll in `fixring-epoll`) owns sockets and their
//! buffers and moves bytes; it knows nothing of FIX. The event loop calls [`Backend::poll`] to
//! learn what completed, reads received bytes and writes outbound bytes through [`ConnIo`]
//! (straight into the backend's buffers, registered with the kernel where the backend can), and
//! calls [`Backend::flush`] to start the writes and re-arm the reads.
//!
//! Buffer discipline, which every backend keeps:
//! - Each connection has one receive buffer and one send buffer of fixed size.
//! - While the loop holds a [`ConnIo`], no kernel operation targets the bytes it exposes: the
//!   received bytes have landed, and the spare part of the send buffer lies past anything a
//!   write in flight reads.
//! - Bytes committed with [`TxBuf::commit`] are sent in order, or the connection reports
//!   [`Completion::Closed`] with the error that stopped them.
//! - A connection whose loop called [`TxBuf::notify_when_writable`] reports
//!   [`Completion::Writable`] once a write has made room (a backend that writes during
//!   [`Backend::flush`] may instead leave the room there when `flush` returns).

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::config::SocketOptions;

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
    /// [`TxBuf::notify_when_writable`].
    Writable {
        /// The connection.
        conn: ConnId,
    },
    /// [`Wake::wake`] was called on the backend's waker.
    Woken,
}

/// A handle that interrupts a backend's [`Backend::poll`] from any thread.
pub trait Wake: Send + Sync + 'static {
    /// Makes the backend's current or next `poll` return with [`Completion::Woken`].
    fn wake(&self);
}

/// The receive and send buffers of one connection, lent to the event loop.
#[derive(Debug)]
pub struct ConnIo<'a> {
    rx: &'a mut [u8],
    rx_len: &'a mut usize,
    tx: TxBuf<'a>,
}

impl<'a> ConnIo<'a> {
    /// Lends `rx[..*rx_len]` as received bytes and `tx[*tx_len..]` as room to write;
    /// `notify` is the connection's flag behind [`TxBuf::notify_when_writable`].
    pub fn new(
        rx: &'a mut [u8],
        rx_len: &'a mut usize,
        tx: &'a mut [u8],
        tx_len: &'a mut usize,
        notify: &'a mut bool,
    ) -> Self {
        Self {
            rx,
            rx_len,
            tx: TxBuf {
                buf: tx,
                len: tx_len,
                notify,
            },
        }
    }

    /// The received bytes not consumed yet, mutable so that TLS can decrypt in place.
    pub fn received(&mut self) -> &mut [u8] {
        let len = (*self.rx_len).min(self.rx.len());
        &mut self.rx[..len]
    }

    /// Drops the first `n` received bytes; the rest moves to the front of the buffer.
    pub fn consume(&mut self, n: usize) {
        let len = (*self.rx_len).min(self.rx.len());
        let n = n.min(len);
        self.rx.copy_within(n..len, 0);
        *self.rx_len = len - n;
    }

    /// Whether the receive buffer is full, so the connection cannot make progress.
    pub fn receive_buffer_full(&self) -> bool {
        *self.rx_len >= self.rx.len()
    }

    /// The send side alone.
    pub fn tx(&mut self) -> &mut TxBuf<'a> {
        &mut self.tx
    }

    /// The received bytes and the send side at once, for a loop that answers while it reads.
    pub fn split(&mut self) -> (&mut [u8], &mut TxBuf<'a>) {
        let len = (*self.rx_len).min(self.rx.len());
        (&mut self.rx[..len], &mut self.tx)
    }
}

/// The send buffer of one connection: committed bytes, then spare room.
#[derive(Debug)]
pub struct TxBuf<'a> {
    buf: &'a mut [u8],
    len: &'a mut usize,
    notify: &'a mut bool,
}

impl TxBuf<'_> {
    /// Room at the end of the send buffer for the next outbound bytes.
    pub fn spare(&mut self) -> &mut [u8] {
        let len = (*self.len).min(self.buf.len());
        &mut self.buf[len..]
    }

    /// Queues the first `n` bytes written into [`TxBuf::spare`] for sending.
    pub fn commit(&mut self, n: usize) {
        *self.len = (*self.len + n).min(self.buf.len());
    }

    /// Bytes queued and not yet written to the socket.
    pub fn queued(&self) -> usize {
        *self.len
    }

    /// Asks for one [`Completion::Writable`] once written bytes leave the buffer, for a
    /// loop holding messages that did not fit.
    pub fn notify_when_writable(&mut self) {
        *self.notify = true;
    }
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

    /// Closes a connection after its committed bytes are written (or fail). No
    /// [`Completion::Closed`] follows; the identifier is released.
    fn close(&mut self, conn: ConnId);

    /// Waits up to `timeout` (forever when `None`) for completions, by the backend's idle
    /// policy, and appends them to `out`. May return with nothing on timeout.
    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()>;

    /// A waker that interrupts [`Backend::poll`] from another thread.
    fn waker(&self) -> Self::Waker;

    /// The socket's descriptor, for reading options back in tests and diagnostics.
    fn socket_fd(&self, conn: ConnId) -> Option<RawFd>;

    /// Cancels everything in flight, waits for the cancellations, and closes every socket.
    fn shutdown(&mut self) -> io::Result<()>;
}

/// How a backend is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendOptions {
    /// Connections (accepted and outbound) the backend can hold at once.
    pub max_connections: u32,
    /// Size of each connection's receive buffer and of its send buffer, in bytes.
    pub buffer_size: usize,
    /// How [`Backend::poll`] waits when nothing has completed.
    pub busy_poll: crate::config::BusyPoll,
    /// io_uring only: let a kernel thread poll the submission queue (costs a core).
    pub sqpoll: bool,
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            buffer_size: 16 * 1024,
            busy_poll: crate::config::BusyPoll::default(),
            sqpoll: false,
        }
    }
}

impl crate::connection::SendBuffer for TxBuf<'_> {
    fn spare(&mut self) -> &mut [u8] {
        TxBuf::spare(self)
    }

    fn commit(&mut self, n: usize) {
        TxBuf::commit(self, n);
    }

    fn queued(&self) -> usize {
        TxBuf::queued(self)
    }

    fn notify_when_writable(&mut self) {
        TxBuf::notify_when_writable(self);
    }
}

impl<'a> crate::connection::SocketBuffers for ConnIo<'a> {
    type Tx = TxBuf<'a>;

    fn consume(&mut self, n: usize) {
        ConnIo::consume(self, n);
    }

    fn receive_buffer_full(&self) -> bool {
        ConnIo::receive_buffer_full(self)
    }

    fn split(&mut self) -> (&mut [u8], &mut Self::Tx) {
        ConnIo::split(self)
    }
}

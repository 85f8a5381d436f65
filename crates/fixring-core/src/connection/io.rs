//! What a [`Connection`](super::Connection) needs of the buffers an I/O layer lends it.
//!
//! The core never owns a socket's buffers: the backend does (registered with the kernel where
//! it can) and lends them for one call. These two traits are all the core asks of them, so
//! that the same [`Connection`](super::Connection) runs over io_uring's registered buffers,
//! epoll's heap buffers, or the in-memory pipes of a test.

/// The send buffer of one socket: bytes committed for sending, then spare room.
pub trait SendBuffer {
    /// Room after the committed bytes, for the next outbound bytes.
    fn spare(&mut self) -> &mut [u8];

    /// Queues the first `n` bytes written into [`SendBuffer::spare`] for sending.
    fn commit(&mut self, n: usize);

    /// Bytes committed and not yet written to the socket.
    fn queued(&self) -> usize;

    /// Asks to hear once written bytes leave the buffer and make room: the connection holds
    /// messages that did not fit.
    fn notify_when_writable(&mut self);
}

/// The receive and send buffers of one socket, lent for one call.
pub trait SocketBuffers {
    /// The send side.
    type Tx: SendBuffer;

    /// Drops the first `n` received bytes; the rest moves to the front.
    fn consume(&mut self, n: usize);

    /// Whether the receive buffer is full, so that the socket cannot make progress.
    fn receive_buffer_full(&self) -> bool;

    /// The received bytes not consumed yet (mutable, so that TLS decrypts in place), and the
    /// send side.
    fn split(&mut self) -> (&mut [u8], &mut Self::Tx);
}

/// What the caller lends a connection for one call: the socket's buffers, and a scratch
/// buffer in which outbound plaintext is encoded before TLS seals it into the send buffer.
///
/// One scratch buffer serves every connection of a loop; it must hold the largest message.
pub struct Lent<'a, B> {
    /// The socket's buffers.
    pub socket: B,
    /// Room for one message's plaintext, used only on TLS connections.
    pub scratch: &'a mut [u8],
}

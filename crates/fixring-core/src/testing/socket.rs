//! One socket's buffers in memory: what a backend lends a connection, without a kernel.

use crate::connection::{SendBuffer, SocketBuffers};

/// The receive buffer and the send buffer of one in-memory socket, each of a fixed size.
///
/// A test (or the [`super::Pair`]) plays the kernel: it puts arriving bytes into the receive
/// buffer with [`MemorySocket::receive`], as far as they fit, and takes committed bytes out of
/// the send buffer with [`MemorySocket::take_sent`]. A connection is lent `&mut MemorySocket`
/// as its [`SocketBuffers`].
#[derive(Debug)]
pub struct MemorySocket {
    rx: Vec<u8>,
    rx_capacity: usize,
    tx: MemorySendBuffer,
}

/// The send side of a [`MemorySocket`]: committed bytes, then spare room.
#[derive(Debug)]
pub struct MemorySendBuffer {
    buf: Box<[u8]>,
    len: usize,
}

impl MemorySocket {
    /// A socket whose receive buffer and send buffer hold `size` bytes each.
    pub fn new(size: usize) -> Self {
        Self {
            rx: Vec::with_capacity(size),
            rx_capacity: size,
            tx: MemorySendBuffer {
                buf: vec![0; size].into_boxed_slice(),
                len: 0,
            },
        }
    }

    /// Appends as much of `bytes` as the receive buffer has room for; returns how much.
    pub fn receive(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        self.rx
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        n
    }

    /// The size of each of its buffers.
    pub fn capacity(&self) -> usize {
        self.rx_capacity
    }

    /// Room left in the receive buffer.
    pub fn room(&self) -> usize {
        self.rx_capacity.saturating_sub(self.rx.len())
    }

    /// The received bytes the connection has not consumed yet.
    pub fn received(&self) -> &[u8] {
        &self.rx
    }

    /// Bytes committed to the send buffer and not taken yet.
    pub fn queued(&self) -> usize {
        self.tx.len
    }

    /// Takes up to `max` committed bytes off the front of the send buffer, as the kernel does
    /// when it writes them out; the rest moves to the front.
    pub fn take_sent(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.tx.len);
        let taken = self.tx.buf.get(..n).unwrap_or_default().to_vec();
        self.tx.buf.copy_within(n..self.tx.len, 0);
        self.tx.len -= n;
        taken
    }
}

impl SendBuffer for MemorySendBuffer {
    fn spare(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.len..).unwrap_or_default()
    }

    fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    fn queued(&self) -> usize {
        self.len
    }

    /// Nothing to arrange: whoever plays the kernel offers the connection a transmit after
    /// every move of bytes.
    fn notify_when_writable(&mut self) {}
}

impl SocketBuffers for &mut MemorySocket {
    type Tx = MemorySendBuffer;

    fn consume(&mut self, n: usize) {
        self.rx.drain(..n.min(self.rx.len()));
    }

    fn receive_buffer_full(&self) -> bool {
        self.rx.len() >= self.rx_capacity
    }

    fn split(&mut self) -> (&mut [u8], &mut Self::Tx) {
        (&mut self.rx, &mut self.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_hold_their_size_and_keep_order() {
        let mut socket = MemorySocket::new(8);
        assert_eq!(socket.receive(b"0123456789"), 8);
        assert_eq!(socket.room(), 0);
        let mut lent = &mut socket;
        assert!(lent.receive_buffer_full());
        lent.consume(3);
        let (rx, tx) = lent.split();
        assert_eq!(rx, b"34567");
        tx.spare()[..5].copy_from_slice(b"hello");
        tx.commit(5);
        assert_eq!(tx.spare().len(), 3);
        assert_eq!(socket.take_sent(2), b"he");
        assert_eq!(socket.queued(), 3);
        assert_eq!(socket.take_sent(usize::MAX), b"llo");
        assert_eq!(socket.queued(), 0);
    }
}

//! The buffers of one connection, lent by a backend to the event loop under the buffer
//! discipline of the crate's documentation.

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

    /// Asks for one [`Completion::Writable`](crate::Completion::Writable) once written bytes leave the buffer, for a
    /// loop holding messages that did not fit.
    pub fn notify_when_writable(&mut self) {
        *self.notify = true;
    }
}

impl fixring_core::connection::SendBuffer for TxBuf<'_> {
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

impl<'a> fixring_core::connection::SocketBuffers for ConnIo<'a> {
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

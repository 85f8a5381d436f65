//! TLS inside the loop, and the one way the loop writes a message to a connection.
//!
//! A TLS connection decrypts in place in the backend's receive buffer; the plaintext of its
//! records is gathered in a small per-connection buffer, since a FIX message may span records.
//! Outbound messages are encoded into the loop's scratch buffer and sealed straight into the
//! backend's send buffer.

use fixring_core::codec::InsufficientSize;
use fixring_core::tls::{TlsConnection, TlsError};
use fixring_core::{ErrorCode, Event, Instant};
use fixring_io::{Backend, ConnId, TxBuf};

use super::EventLoop;
use super::conns::Owner;
use crate::application::Application;

/// Room a sealed record needs beyond its plaintext: header, content type, tag and padding.
const RECORD_OVERHEAD: usize = 64;

/// The largest plaintext rustls puts in one record.
const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

/// The TLS state of one connection.
pub(super) struct TlsLink {
    pub(super) conn: TlsConnection,
    /// Decrypted bytes not framed yet.
    pub(super) plain: Vec<u8>,
    /// Whether the handshake has completed.
    pub(super) established: bool,
}

impl TlsLink {
    pub(super) fn new(conn: TlsConnection, capacity: usize) -> Self {
        Self {
            conn,
            plain: Vec::with_capacity(capacity),
            established: false,
        }
    }
}

/// Writes whole messages to one connection: as they are, or sealed by its TLS connection.
pub(crate) struct Writer<'a, 't> {
    pub(super) tx: &'a mut TxBuf<'t>,
    pub(super) tls: Option<Sealer<'a>>,
}

/// What sealing needs: the TLS connection, the unconsumed ciphertext it may hold a partial
/// record of, and a scratch buffer for the plaintext.
pub(super) struct Sealer<'a> {
    pub(super) conn: &'a mut TlsConnection,
    pub(super) incoming: &'a mut [u8],
    pub(super) scratch: &'a mut [u8],
}

impl Writer<'_, '_> {
    /// Lets `encode` write one message, then queues it for sending. `encode` is given only as
    /// much room as is sure to fit once sealed, so a message it accepts is never lost.
    pub(crate) fn write<E: From<InsufficientSize>>(
        &mut self,
        encode: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        match &mut self.tls {
            None => {
                let len = encode(self.tx.spare())?;
                self.tx.commit(len);
                Ok(len)
            }
            Some(_) if self.tx.spare().is_empty() => Err(E::from(InsufficientSize { required: 1 })),
            Some(sealer) => {
                let spare = self.tx.spare().len();
                let records = spare / (MAX_RECORD_PLAINTEXT + RECORD_OVERHEAD) + 1;
                let room = spare
                    .saturating_sub(records * RECORD_OVERHEAD)
                    .min(sealer.scratch.len());
                let len = encode(&mut sealer.scratch[..room])?;
                if len == 0 {
                    return Ok(0);
                }
                let sealed = sealer
                    .conn
                    .encrypt(sealer.incoming, &sealer.scratch[..len], self.tx.spare())
                    .map_err(|_| {
                        E::from(InsufficientSize {
                            required: len + RECORD_OVERHEAD,
                        })
                    })?;
                self.tx.commit(sealed);
                Ok(sealed)
            }
        }
    }

    /// Queues a TLS close_notify, on a TLS connection, before a graceful close.
    pub(super) fn close_notify(&mut self) {
        if let Some(sealer) = &mut self.tls
            && let Ok(len) = sealer.conn.close_notify(sealer.incoming, self.tx.spare())
        {
            self.tx.commit(len);
        }
    }

    /// Bytes queued for sending and not written yet.
    pub(crate) fn queued(&self) -> usize {
        self.tx.queued()
    }

    /// Asks the backend for a [`fixring_io::Completion::Writable`].
    pub(crate) fn notify_when_writable(&mut self) {
        self.tx.notify_when_writable();
    }
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Runs the TLS connection of `conn` over what it received: handshake records are
    /// answered, application data is decrypted into its plaintext buffer. Returns whether the
    /// handshake is done (there may be plaintext to frame).
    pub(super) fn tls_receive(&mut self, now: Instant, conn: ConnId) -> bool {
        let Self { backend, conns, .. } = self;
        let (Some(link), Some(mut io)) = (conns.tls_mut(conn), backend.io(conn)) else {
            return false;
        };
        let (rx, tx) = io.split();
        let TlsLink {
            conn: tls,
            plain,
            established,
        } = link;
        let was_established = *established;
        let mut collect = |bytes: &[u8]| plain.extend_from_slice(bytes);
        let outcome = tls.process(rx, tx.spare(), &mut collect);
        let failure = match outcome {
            Ok(progress) => {
                tx.commit(progress.written);
                io.consume(progress.consumed);
                *established |= progress.handshake_done;
                None
            }
            Err(error) => {
                tx.commit(error.written);
                Some(error.error)
            }
        };
        let established = *established;
        if let Some(error) = failure {
            self.tls_failed(now, conn, &error);
            return false;
        }
        if established && !was_established {
            self.tls_established(now, conn);
        }
        established
    }

    /// The handshake completed: an initiator's session starts (its Logon goes out); an
    /// acceptor's connection now waits for the peer's Logon.
    fn tls_established(&mut self, now: Instant, conn: ConnId) {
        if let Some(Owner::Slot(index)) = self.conns.owner(conn) {
            if self.slots[index].connected(now) {
                self.slots[index].is_ssl = true;
                self.touched.push(index);
            } else {
                self.conns.remove(conn);
                self.backend.close(conn);
            }
        }
    }

    /// A TLS failure: the alert goes out and the connection closes. During the handshake it
    /// is `SSL_HANDSHAKE_FAILED` and an initiator tries again later; after it, the session's
    /// connection is lost.
    pub(super) fn tls_failed(&mut self, now: Instant, conn: ConnId, error: &TlsError) {
        let detail = error.to_string();
        match self.conns.owner(conn) {
            Some(Owner::Slot(index))
                if self.slots[index].session.state().is_logged_on()
                    || self.slots[index].is_connected() =>
            {
                self.conns.remove(conn);
                self.backend.close(conn);
                self.slots[index].conn = None;
                self.connection_lost(index, now, format!("TLS: {detail}"));
            }
            Some(Owner::Slot(index)) => {
                let peer = self.conns.peer(conn);
                self.conns.remove(conn);
                self.backend.close(conn);
                self.slots[index].conn = None;
                self.slots[index].handshake_failed(now);
                self.app.on_event(&Event::ConnectionError {
                    remote_host: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                    code: ErrorCode::SslHandshakeFailed,
                    error_detail: detail,
                });
                self.start_connects(index, now);
            }
            Some(Owner::Unrouted { .. }) => {
                self.refuse(conn, ErrorCode::SslHandshakeFailed, detail)
            }
            None => {}
        }
    }
}

/// Whether `bytes` begin like a TLS handshake record (a ClientHello on a plain-text port).
pub(super) fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x16, 0x03, ..])
}

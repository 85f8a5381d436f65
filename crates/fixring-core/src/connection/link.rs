//! The bytes layer of one socket: its peer, and its TLS state when it has one.
//!
//! A TLS link decrypts in place in the socket's receive buffer; the plaintext of its records
//! is gathered in a small buffer of its own, since a FIX message may span records. Outbound
//! messages are encoded into the caller's scratch buffer and sealed straight into the send
//! buffer by a [`Writer`].

use std::net::SocketAddr;

use super::io::{SendBuffer, SocketBuffers};
use crate::codec::InsufficientSize;
use crate::tls::{TlsConnection, TlsError};

/// Room a sealed record needs beyond its plaintext: header, content type, tag and padding.
const RECORD_OVERHEAD: usize = 64;

/// The largest plaintext rustls puts in one record.
const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

/// One socket's peer and, on a TLS socket, its TLS connection.
#[derive(Debug)]
pub struct Link {
    peer: Option<SocketAddr>,
    tls: Option<Box<TlsLink>>,
}

#[derive(Debug)]
struct TlsLink {
    conn: TlsConnection,
    /// Decrypted bytes not framed yet.
    plain: Vec<u8>,
    /// Whether the handshake has completed.
    established: bool,
}

/// What [`Link::receive`] made of the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// There is input to frame: the link is plain, or its handshake is done.
    pub(crate) ready: bool,
    /// The TLS handshake completed during this call.
    pub(crate) handshake_done: bool,
}

impl Link {
    /// A plain-text link to `peer`.
    pub fn plain(peer: Option<SocketAddr>) -> Self {
        Self { peer, tls: None }
    }

    /// A TLS link to `peer`; `capacity` is the plaintext a message may need.
    pub fn tls(peer: Option<SocketAddr>, conn: TlsConnection, capacity: usize) -> Self {
        Self {
            peer,
            tls: Some(Box::new(TlsLink {
                conn,
                plain: Vec::with_capacity(capacity),
                established: false,
            })),
        }
    }

    /// The peer's address, once known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The peer's IP address as text, or nothing when unknown.
    pub fn remote_host(&self) -> String {
        self.peer.map(|p| p.ip().to_string()).unwrap_or_default()
    }

    /// Records the address the socket connected to.
    pub(crate) fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    /// Whether the link runs TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Turns a plain link into a TLS one (an initiator's socket, once TCP is up).
    pub(crate) fn start_tls(&mut self, conn: TlsConnection, capacity: usize) {
        *self = Self::tls(self.peer, conn, capacity);
    }

    /// Runs the TLS connection over what the socket received: handshake records are
    /// answered, application data is decrypted into the plaintext buffer. A plain link has
    /// nothing to do. On failure the alert is committed to the send buffer.
    pub(crate) fn receive<B: SocketBuffers>(&mut self, io: &mut B) -> Result<Received, TlsError> {
        let Some(link) = self.tls.as_deref_mut() else {
            return Ok(Received {
                ready: true,
                handshake_done: false,
            });
        };
        let (rx, tx) = io.split();
        let TlsLink {
            conn,
            plain,
            established,
        } = link;
        let was_established = *established;
        let mut collect = |bytes: &[u8]| plain.extend_from_slice(bytes);
        match conn.process(rx, tx.spare(), &mut collect) {
            Ok(progress) => {
                tx.commit(progress.written);
                io.consume(progress.consumed);
                *established |= progress.handshake_done;
                Ok(Received {
                    ready: *established,
                    handshake_done: *established && !was_established,
                })
            }
            Err(error) => {
                tx.commit(error.written);
                Err(error.error)
            }
        }
    }

    /// Runs `f` over the input to frame (the received bytes, or the decrypted plaintext),
    /// then drops the bytes `f` says it consumed. `f` also gets a writer, to answer while
    /// it reads.
    pub(crate) fn read<B: SocketBuffers, R>(
        &mut self,
        io: &mut B,
        scratch: &mut [u8],
        f: impl FnOnce(&[u8], &mut Writer<'_, B::Tx>) -> (usize, R),
    ) -> R {
        let (rx, tx) = io.split();
        let (consumed, result) = match self.tls.as_deref_mut() {
            Some(link) => {
                let mut writer = Writer {
                    tx,
                    tls: Some(Sealer {
                        conn: &mut link.conn,
                        incoming: rx,
                        scratch,
                    }),
                };
                let (consumed, result) = f(&link.plain, &mut writer);
                link.plain.drain(..consumed.min(link.plain.len()));
                return result;
            }
            None => {
                let mut writer = Writer { tx, tls: None };
                f(rx, &mut writer)
            }
        };
        io.consume(consumed);
        result
    }

    /// Runs `f` with a writer to the socket, sealing on a TLS link; `None` on a TLS link
    /// whose handshake is still running, where nothing can be sent yet.
    pub(crate) fn write<B: SocketBuffers, R>(
        &mut self,
        io: &mut B,
        scratch: &mut [u8],
        f: impl FnOnce(&mut Writer<'_, B::Tx>) -> R,
    ) -> Option<R> {
        let (rx, tx) = io.split();
        let tls = match self.tls.as_deref_mut() {
            Some(link) if !link.established => return None,
            Some(link) => Some(Sealer {
                conn: &mut link.conn,
                incoming: rx,
                scratch,
            }),
            None => None,
        };
        Some(f(&mut Writer { tx, tls }))
    }
}

/// Writes whole messages to one socket: as they are, or sealed by its TLS connection.
pub struct Writer<'a, T> {
    tx: &'a mut T,
    tls: Option<Sealer<'a>>,
}

/// What sealing needs: the TLS connection, the unconsumed ciphertext it may hold a partial
/// record of, and a scratch buffer for the plaintext.
struct Sealer<'a> {
    conn: &'a mut TlsConnection,
    incoming: &'a mut [u8],
    scratch: &'a mut [u8],
}

impl<T: SendBuffer> Writer<'_, T> {
    /// A writer to the same socket, for a shorter borrow.
    pub(crate) fn reborrow(&mut self) -> Writer<'_, T> {
        Writer {
            tx: &mut *self.tx,
            tls: self.tls.as_mut().map(|sealer| Sealer {
                conn: &mut *sealer.conn,
                incoming: &mut *sealer.incoming,
                scratch: &mut *sealer.scratch,
            }),
        }
    }

    /// Lets `encode` write one message, then queues it for sending. `encode` is given only as
    /// much room as is sure to fit once sealed, so a message it accepts is never lost.
    pub fn write<E: From<InsufficientSize>>(
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

    /// Queues a TLS close_notify, on a TLS link, before a graceful close.
    pub(crate) fn close_notify(&mut self) {
        if let Some(sealer) = &mut self.tls
            && let Ok(len) = sealer.conn.close_notify(sealer.incoming, self.tx.spare())
        {
            self.tx.commit(len);
        }
    }

    /// Bytes queued for sending and not written yet.
    pub fn queued(&self) -> usize {
        self.tx.queued()
    }

    /// Asks the I/O layer to say when room frees up.
    pub(crate) fn notify_when_writable(&mut self) {
        self.tx.notify_when_writable();
    }
}

/// Whether `bytes` begin like a TLS handshake record (a ClientHello on a plain-text port).
pub(crate) fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x16, 0x03, ..])
}

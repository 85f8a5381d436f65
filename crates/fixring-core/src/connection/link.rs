//! The bytes layer of one socket: its peer, and its TLS state when it has one.
//!
//! A TLS link decrypts in place in the socket's receive buffer; the plaintext of its records
//! is gathered in a small buffer of its own, since a FIX message may span records. Outbound
//! messages are encoded into the caller's scratch buffer and sealed straight into the send
//! buffer by a [`Writer`].

use std::net::SocketAddr;

use super::io::{SendBuffer, SocketBuffers};
use crate::codec::InsufficientSize;
use crate::tls::{ProcessError, Progress, ProtocolError, TlsConnection, TlsError};

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

/// One step of a TLS handshake taken off the event loop: the socket's TLS state and a copy
/// of the bytes it received, run on another thread by [`HandshakeStep::run`] and given back
/// to the socket by the router ([`Router::handle_handshake`](super::Router::handle_handshake)).
///
/// A step is what the loop would otherwise do on receiving the bytes; for a server's first
/// one, the ClientHello, that is the signature of its certificate's key.
#[derive(Debug)]
pub struct HandshakeStep {
    tls: Box<TlsLink>,
    /// The socket's received bytes when the step was taken, decrypted in place as the
    /// socket's own buffer would have been.
    input: Vec<u8>,
    /// What the step writes for the peer: as much room as the socket's send buffer had.
    output: Vec<u8>,
    /// What [`TlsConnection::process`] returned, once run.
    outcome: Option<Result<Progress, ProcessError>>,
    /// The router's number for the socket it was taken from.
    pub(crate) order: u64,
}

impl HandshakeStep {
    /// Runs the step: answers the handshake records, decrypts any application data that
    /// follows them. Costly (a signature, for a ClientHello), so meant for a thread other
    /// than the event loop's.
    pub fn run(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        let TlsLink { conn, plain, .. } = &mut *self.tls;
        let mut collect = |bytes: &[u8]| plain.extend_from_slice(bytes);
        self.outcome = Some(conn.process(&mut self.input, &mut self.output, &mut collect));
    }
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

    /// Takes the next step of the TLS handshake, with a copy of the received bytes, to run
    /// it elsewhere; the link has no TLS state until [`Link::attach`] gives it back. `None`
    /// when there is no step to take: a plain link, a handshake done, or no byte the TLS
    /// connection has not seen.
    pub(crate) fn detach<B: SocketBuffers>(
        &mut self,
        io: &mut B,
        order: u64,
    ) -> Option<HandshakeStep> {
        let link = self.tls.as_deref()?;
        let (rx, tx) = io.split();
        if link.established || rx.len() <= link.conn.held() {
            return None;
        }
        let tls = self.tls.take()?;
        Some(HandshakeStep {
            tls,
            input: rx.to_vec(),
            output: vec![0; tx.spare().len()],
            outcome: None,
            order,
        })
    }

    /// Gives back the TLS state of a step taken by [`Link::detach`], and applies what the
    /// step did to the socket's buffers, as [`Link::receive`] does: the bytes it saw become
    /// what it left of them, those it consumed are dropped, and what it wrote is committed.
    /// A step that did not run changes nothing.
    pub(crate) fn attach<B: SocketBuffers>(
        &mut self,
        step: HandshakeStep,
        io: &mut B,
    ) -> Result<Received, TlsError> {
        let HandshakeStep {
            mut tls,
            input,
            output,
            outcome,
            ..
        } = step;
        let (written, mut result) = match outcome {
            None => (0, Ok(None)),
            Some(Ok(progress)) => (progress.written, Ok(Some(progress))),
            Some(Err(error)) => (error.written, Err(error.error)),
        };
        let (rx, tx) = io.split();
        // What it wrote first: on failure, the alert for the peer.
        match (tx.spare().get_mut(..written), output.get(..written)) {
            (Some(dst), Some(src)) => {
                dst.copy_from_slice(src);
                tx.commit(written);
            }
            _ => result = Err(TlsError::InsufficientSize { required: written }),
        }
        // The socket's buffer only grew meanwhile: what the step saw is still at its front.
        let missing = input.len().saturating_sub(rx.len());
        match rx.get_mut(..input.len()) {
            Some(seen) => seen.copy_from_slice(&input),
            None => result = Err(TlsError::Protocol(ProtocolError::InputLost { missing })),
        }
        let was_established = tls.established;
        let progress = match result {
            Ok(progress) => progress,
            Err(error) => {
                self.tls = Some(tls);
                return Err(error);
            }
        };
        if let Some(progress) = progress {
            io.consume(progress.consumed);
            tls.established |= progress.handshake_done;
        }
        let established = tls.established;
        self.tls = Some(tls);
        Ok(Received {
            ready: established,
            handshake_done: established && !was_established,
        })
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

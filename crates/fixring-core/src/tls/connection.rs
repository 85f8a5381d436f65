//! One TLS connection over caller-owned buffers, driving rustls's unbuffered API.

use std::sync::Arc;

use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncodeTlsData, EncryptError, UnbufferedStatus, WriteTraffic,
};
use rustls::{ClientConfig, CommonState, ServerConfig};
use rustls_pki_types::{CertificateDer, ServerName};

use super::error::{ProcessError, ProtocolError, from_rustls};
use super::{TlsError, TlsSetupError, TlsVersion};

/// A TLS client or server connection, sans-IO.
///
/// The caller owns every buffer. Ciphertext read from the socket goes to
/// [`process`](Self::process), which decrypts it in place, hands each plaintext record to a
/// callback and says how many bytes of the input it consumed; handshake records and alerts
/// are written into the output buffer the caller passes, which the caller then sends. After
/// the handshake, [`encrypt`](Self::encrypt) seals application data into a caller buffer and
/// [`close_notify`](Self::close_notify) ends the connection cleanly.
///
/// A handshake record larger than the output buffer is kept inside until the next call
/// (the only case where this type allocates); [`wants_write`](Self::wants_write) says so.
pub struct TlsConnection {
    conn: Conn,
    /// Handshake output that did not fit the caller's buffer, sent before anything else.
    spill: Vec<u8>,
    handshake_done: bool,
    peer_closed: bool,
    sent_close: bool,
    /// Bytes at the front of the caller's input that rustls has seen but not released (a
    /// partial record or handshake message); it must be shown them again.
    held: usize,
    /// Whether any record of the peer has been accepted, to recognise a plain-text peer.
    accepted_input: bool,
    failed: Option<TlsError>,
}

/// What one [`TlsConnection::process`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Progress {
    /// Bytes at the front of the input buffer that were used up; remove them before the
    /// next call and keep the rest (an incomplete record) for it.
    pub consumed: usize,
    /// Bytes at the front of the output buffer to send to the peer.
    pub written: usize,
    /// The handshake completed during this call: application data may now be sent.
    pub handshake_done: bool,
    /// The peer sent close_notify: it will send no more data.
    pub peer_closed: bool,
}

impl std::fmt::Debug for TlsConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = match self.conn {
            Conn::Client(_) => "client",
            Conn::Server(_) => "server",
        };
        f.debug_struct("TlsConnection")
            .field("side", &side)
            .field("version", &self.protocol_version())
            .field("handshake_done", &self.handshake_done)
            .field("sent_close", &self.sent_close)
            .field("pending_output", &self.spill.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

enum Conn {
    Client(UnbufferedClientConnection),
    Server(UnbufferedServerConnection),
}

/// Where a state of rustls left the loop.
enum Step {
    /// Look at the next state.
    Again,
    /// The peer sent close_notify.
    PeerClosed,
    /// rustls needs more input (the handshake or a record is incomplete).
    Blocked,
    /// Application data may be written (the handshake may still be finishing on a server).
    Writable,
    /// Both sides sent close_notify.
    Closed,
}

/// Why the loop stopped on an error.
enum Failure {
    Rustls(rustls::Error),
    Local(TlsError),
}

/// What to do once rustls allows writing application data.
enum WriteOp<'a> {
    Nothing,
    Encrypt(&'a [u8]),
    CloseNotify,
}

/// The caller's output buffer and the spill-over for handshake records that do not fit.
struct Output<'a> {
    buf: &'a mut [u8],
    written: usize,
    spill: &'a mut Vec<u8>,
    /// Send every handshake record through `spill`: the caller's buffer is reserved for
    /// application data placed after it.
    spill_only: bool,
}

impl TlsConnection {
    /// A client connection that will verify the server's certificate against `server_name`
    /// (a DNS name or an IP address), also sent as SNI.
    pub fn client(config: Arc<ClientConfig>, server_name: &str) -> Result<Self, TlsSetupError> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            TlsSetupError::InvalidServerName {
                name: server_name.to_owned(),
            }
        })?;
        let conn =
            UnbufferedClientConnection::new(config, name).map_err(TlsSetupError::Rejected)?;
        Ok(Self::new(Conn::Client(conn)))
    }

    /// A server connection.
    pub fn server(config: Arc<ServerConfig>) -> Result<Self, TlsSetupError> {
        let conn = UnbufferedServerConnection::new(config).map_err(TlsSetupError::Rejected)?;
        Ok(Self::new(Conn::Server(conn)))
    }

    fn new(conn: Conn) -> Self {
        Self {
            conn,
            spill: Vec::new(),
            handshake_done: false,
            peer_closed: false,
            sent_close: false,
            held: 0,
            accepted_input: false,
            failed: None,
        }
    }

    /// Processes the ciphertext in `incoming` and writes what the peer must receive into
    /// `outgoing`, until rustls needs more input.
    ///
    /// Records are decrypted in place in `incoming`; each application-data payload is given
    /// to `plaintext` in order. Call it on connect (client, with empty input, to produce the
    /// ClientHello), after every read, and again after sending while
    /// [`wants_write`](Self::wants_write) is true. Remove [`Progress::consumed`] bytes from
    /// the front of `incoming` before the next call.
    ///
    /// A fatal error also writes the alert for the peer: send [`ProcessError::written`]
    /// bytes, then close the socket.
    pub fn process(
        &mut self,
        incoming: &mut [u8],
        outgoing: &mut [u8],
        plaintext: &mut impl FnMut(&[u8]),
    ) -> Result<Progress, ProcessError> {
        if let Some(error) = &self.failed {
            return Err(ProcessError {
                error: error.clone(),
                written: 0,
            });
        }
        let mut out = Output {
            buf: outgoing,
            written: 0,
            spill: &mut self.spill,
            spill_only: false,
        };
        out.flush_spill();
        let mut progress = Progress::default();
        loop {
            let rest = incoming.get_mut(progress.consumed..).unwrap_or_default();
            let (discard, step) = self
                .conn
                .step(rest, &mut out, plaintext, &mut WriteOp::Nothing);
            progress.consumed += discard;
            if discard > 0 {
                self.accepted_input = true;
            }
            match step {
                Ok(Step::Again) => {}
                Ok(Step::PeerClosed) => self.peer_closed = true,
                Ok(Step::Writable) => {
                    if !self.handshake_done && !self.conn.common().is_handshaking() {
                        self.handshake_done = true;
                        progress.handshake_done = true;
                    }
                    break;
                }
                Ok(Step::Blocked | Step::Closed) => break,
                Err(failure) => {
                    let error = translate(&self.conn, failure, !self.accepted_input);
                    let rest = incoming.get_mut(progress.consumed..).unwrap_or_default();
                    self.conn.flush_alert(rest, &mut out);
                    self.failed = Some(error.clone());
                    return Err(ProcessError {
                        error,
                        written: out.written,
                    });
                }
            }
        }
        progress.written = out.written;
        self.held = incoming.len().saturating_sub(progress.consumed);
        progress.peer_closed = std::mem::take(&mut self.peer_closed);
        Ok(progress)
    }

    /// Seals `plaintext` into TLS records written at the front of `out`; returns their
    /// length. Only after the handshake.
    ///
    /// `incoming` is the caller's unconsumed input, as it would be passed to the next
    /// [`process`](Self::process): rustls must see again the partial record it holds there.
    /// Only bytes the last `process` call already saw are looked at; new input is left for
    /// `process`. Any pending handshake output is written first, in order. On
    /// [`TlsError::InsufficientSize`] nothing was written and nothing was consumed.
    pub fn encrypt(
        &mut self,
        incoming: &mut [u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TlsError> {
        self.write(incoming, WriteOp::Encrypt(plaintext), out)
    }

    /// Writes a close_notify alert into `out` and returns its length; no data may be sent
    /// after it. Only after the handshake: before, just close the socket. `incoming` as for
    /// [`encrypt`](Self::encrypt).
    pub fn close_notify(&mut self, incoming: &mut [u8], out: &mut [u8]) -> Result<usize, TlsError> {
        let written = self.write(incoming, WriteOp::CloseNotify, out)?;
        self.sent_close = true;
        Ok(written)
    }

    /// Whether handshake output is waiting for room in an output buffer: call
    /// [`process`](Self::process) again after sending.
    pub fn wants_write(&self) -> bool {
        !self.spill.is_empty()
    }

    /// Bytes at the front of the input that the last [`process`](Self::process) call saw
    /// and did not consume (a partial record or handshake message): input beyond them is
    /// new to the connection.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        !self.handshake_done
    }

    /// The peer's certificate chain, end-entity first, once received.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.common().peer_certificates()
    }

    /// The TLS version agreed with the peer, once agreed.
    pub fn protocol_version(&self) -> Option<TlsVersion> {
        match self.conn.common().protocol_version()? {
            rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    fn write(
        &mut self,
        incoming: &mut [u8],
        mut op: WriteOp<'_>,
        buf: &mut [u8],
    ) -> Result<usize, TlsError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.sent_close {
            return Err(TlsError::Closed);
        }
        if !self.handshake_done {
            return Err(TlsError::HandshakeIncomplete);
        }
        let Some(seen) = incoming.get_mut(..self.held) else {
            return Err(TlsError::Protocol(ProtocolError::InputLost {
                missing: self.held - incoming.len(),
            }));
        };
        let mut out = Output {
            buf,
            written: 0,
            spill: &mut self.spill,
            spill_only: true,
        };
        loop {
            let (_, step) = self.conn.step(seen, &mut out, &mut |_| {}, &mut op);
            match step {
                Ok(Step::Again) => {}
                Ok(Step::PeerClosed) => self.peer_closed = true,
                Ok(Step::Writable) => return Ok(out.written),
                Ok(Step::Blocked) => return Err(TlsError::HandshakeIncomplete),
                Ok(Step::Closed) => return Err(TlsError::Closed),
                Err(Failure::Local(error)) => return Err(error),
                Err(Failure::Rustls(error)) => {
                    let error = TlsError::Protocol(ProtocolError::Rustls(error));
                    self.failed = Some(error.clone());
                    return Err(error);
                }
            }
        }
    }
}

/// The error for `failure`; `first_record` says no record of the peer was accepted yet.
fn translate(conn: &Conn, failure: Failure, first_record: bool) -> TlsError {
    match failure {
        Failure::Local(error) => error,
        Failure::Rustls(error) => from_rustls(error, conn.common().is_handshaking(), first_record),
    }
}

impl Conn {
    fn common(&self) -> &CommonState {
        match self {
            Self::Client(c) => c,
            Self::Server(s) => s,
        }
    }

    /// Advances rustls by one state; returns the bytes of `incoming` it used up.
    fn step(
        &mut self,
        incoming: &mut [u8],
        out: &mut Output<'_>,
        plaintext: &mut dyn FnMut(&[u8]),
        op: &mut WriteOp<'_>,
    ) -> (usize, Result<Step, Failure>) {
        match self {
            Self::Client(c) => handle(c.process_tls_records(incoming), out, plaintext, op),
            Self::Server(s) => handle(s.process_tls_records(incoming), out, plaintext, op),
        }
    }

    /// After a fatal error, writes the alert rustls queued for the peer. `incoming` is the
    /// input rustls has not released.
    ///
    /// rustls hands out a queued alert before looking at the input again, so one step
    /// encodes it; a second would parse the offending input a second time.
    fn flush_alert(&mut self, incoming: &mut [u8], out: &mut Output<'_>) {
        let _ = self.step(incoming, out, &mut |_| {}, &mut WriteOp::Nothing);
    }
}

/// Acts on one state of rustls.
fn handle<Data>(
    status: UnbufferedStatus<'_, '_, Data>,
    out: &mut Output<'_>,
    plaintext: &mut dyn FnMut(&[u8]),
    op: &mut WriteOp<'_>,
) -> (usize, Result<Step, Failure>) {
    let mut discard = status.discard;
    let state = match status.state {
        Ok(state) => state,
        Err(error) => return (discard, Err(Failure::Rustls(error))),
    };
    let step = match state {
        ConnectionState::ReadTraffic(mut traffic) => loop {
            match traffic.next_record() {
                Some(Ok(record)) => {
                    discard += record.discard;
                    plaintext(record.payload);
                }
                Some(Err(error)) => break Err(Failure::Rustls(error)),
                None => break Ok(Step::Again),
            }
        },
        ConnectionState::EncodeTlsData(mut encode) => out.encode(&mut encode).map(|()| Step::Again),
        ConnectionState::TransmitTlsData(transmit) => {
            // The records are in the caller's output buffer, which the caller sends.
            transmit.done();
            Ok(Step::Again)
        }
        ConnectionState::BlockedHandshake => Ok(Step::Blocked),
        ConnectionState::WriteTraffic(traffic) => out.write(traffic, op).map(|()| Step::Writable),
        ConnectionState::PeerClosed => Ok(Step::PeerClosed),
        ConnectionState::Closed => Ok(Step::Closed),
        ConnectionState::ReadEarlyData(_) => Err(protocol(ProtocolError::UnexpectedEarlyData)),
        _ => Err(protocol(ProtocolError::UnsupportedState)),
    };
    (discard, step)
}

impl Output<'_> {
    /// Moves spilled handshake output into the buffer, as much as fits.
    fn flush_spill(&mut self) {
        let room = self.buf.len().saturating_sub(self.written);
        let n = room.min(self.spill.len());
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.written..self.written + n),
            self.spill.get(..n),
        ) {
            dst.copy_from_slice(src);
            self.written += n;
            self.spill.drain(..n);
        }
    }

    /// Encodes a handshake record after what is already written, spilling it when the
    /// buffer is too small, when earlier output already spilled (to keep the order), or when
    /// application data is about to be written.
    fn encode<Data>(&mut self, encode: &mut EncodeTlsData<'_, Data>) -> Result<(), Failure> {
        let direct = self.spill.is_empty() && !self.spill_only;
        let rest = match self.buf.get_mut(self.written..) {
            Some(rest) if direct => rest,
            _ => &mut [],
        };
        let required = match encode.encode(rest) {
            Ok(n) => {
                self.written += n;
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(size)) => size.required_size,
            Err(error) => return Err(encode_failure(&error)),
        };
        let start = self.spill.len();
        self.spill.resize(start + required, 0);
        let dst = self.spill.get_mut(start..).unwrap_or_default();
        match encode.encode(dst) {
            Ok(n) => {
                self.spill.truncate(start + n);
                if !self.spill_only {
                    self.flush_spill();
                }
                Ok(())
            }
            Err(error) => {
                self.spill.truncate(start);
                Err(encode_failure(&error))
            }
        }
    }

    /// Performs `op` once rustls allows application data, after any spilled output.
    fn write<Data>(
        &mut self,
        mut traffic: WriteTraffic<'_, Data>,
        op: &mut WriteOp<'_>,
    ) -> Result<(), Failure> {
        let pending = self.spill.len();
        let result = match std::mem::replace(op, WriteOp::Nothing) {
            WriteOp::Nothing => return Ok(()),
            WriteOp::Encrypt(data) => match self.buf.get_mut(pending..) {
                Some(rest) => traffic.encrypt(data, rest),
                None => traffic.encrypt(data, &mut []),
            },
            WriteOp::CloseNotify => match self.buf.get_mut(pending..) {
                Some(rest) => traffic.queue_close_notify(rest),
                None => traffic.queue_close_notify(&mut []),
            },
        };
        match result {
            Ok(n) if pending <= self.buf.len() => {
                if let (Some(dst), Some(src)) = (self.buf.get_mut(..pending), self.spill.get(..)) {
                    dst.copy_from_slice(src);
                }
                self.spill.clear();
                self.written = pending + n;
                Ok(())
            }
            Ok(n) => Err(Failure::Local(TlsError::InsufficientSize {
                required: pending + n,
            })),
            Err(EncryptError::InsufficientSize(size)) => {
                Err(Failure::Local(TlsError::InsufficientSize {
                    required: pending + size.required_size,
                }))
            }
            Err(EncryptError::EncryptExhausted) => Err(protocol(ProtocolError::EncryptExhausted)),
        }
    }
}

fn protocol(error: ProtocolError) -> Failure {
    Failure::Local(TlsError::Protocol(error))
}

fn encode_failure(error: &EncodeError) -> Failure {
    protocol(match error {
        EncodeError::InsufficientSize(size) => ProtocolError::EncodeInsufficientSize {
            required: size.required_size,
        },
        EncodeError::AlreadyEncoded => ProtocolError::AlreadyEncoded,
    })
}

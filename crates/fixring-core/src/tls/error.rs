//! Failures of a TLS connection, in terms an operator can act on.

use std::fmt;

use rustls::{AlertDescription, CertificateError, InvalidMessage};

use super::TlsSetupError;
use crate::ErrorCode;

/// Why a TLS connection failed or an operation on it was refused.
///
/// Not `Eq`: it keeps rustls's own errors, which are only `PartialEq`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TlsError {
    /// The handshake failed; the connection is unusable.
    Handshake(HandshakeFailure),
    /// The output buffer is too small; nothing was written. Retry with at least `required`
    /// bytes.
    InsufficientSize {
        /// The size the output buffer must have.
        required: usize,
    },
    /// Application data cannot be sent before the handshake has completed.
    HandshakeIncomplete,
    /// The connection is closed: we sent close_notify, or it failed earlier.
    Closed,
    /// The peer broke the protocol after the handshake (a corrupt or forged record, an
    /// unexpected message, an alert), or the connection could not go on for a reason of its
    /// own.
    Protocol(ProtocolError),
    /// The connection could not be created: its configuration was refused (see
    /// [`TlsConnection::client`](super::TlsConnection::client)).
    Setup(TlsSetupError),
}

/// Why a handshake failed.
///
/// Not `Eq`: it keeps rustls's own errors, which are only `PartialEq`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The peer's certificate is not signed by a CA we trust.
    UnknownCa,
    /// The server's certificate is not valid for the name we connected to.
    BadServerName,
    /// Mutual TLS is required and the client sent no certificate.
    NoClientCertificate,
    /// The peer does not speak TLS: its first bytes are not a TLS record (for example a FIX
    /// Logon `8=FIX…` sent in plain text to a TLS port).
    NotTls,
    /// The peer's certificate has expired (or is not valid yet).
    Expired,
    /// The peer's certificate was refused for another reason (revoked, wrong key usage,
    /// unsupported algorithm, badly encoded, …), as rustls's verifier reported it.
    BadCertificate(CertificateError),
    /// The peer aborted the handshake with this TLS alert (it refused our certificate,
    /// found no common version or cipher suite, …).
    PeerAlert(AlertDescription),
    /// Anything else rustls reported during the handshake.
    Other(rustls::Error),
}

/// Why a connection failed after its handshake, or for a reason of the adapter's own.
///
/// Not `Eq`: it keeps rustls's own error, which is only `PartialEq`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// rustls refused what the peer sent (a record that does not decrypt, an unexpected
    /// message, a fatal alert, …).
    Rustls(rustls::Error),
    /// The peer sent 0-RTT (early) data, which the engine never accepts.
    UnexpectedEarlyData,
    /// rustls reached a connection state this adapter does not handle.
    UnsupportedState,
    /// The input buffer given to [`TlsConnection::encrypt`](super::TlsConnection::encrypt)
    /// or [`TlsConnection::close_notify`](super::TlsConnection::close_notify) is shorter than
    /// the bytes of the last [`TlsConnection::process`](super::TlsConnection::process) call
    /// the connection still holds: the caller dropped them.
    InputLost {
        /// How many held bytes are missing.
        missing: usize,
    },
    /// rustls refused to encode a handshake record that was already encoded.
    AlreadyEncoded,
    /// rustls found the room it asked for a handshake record too small.
    EncodeInsufficientSize {
        /// The size rustls asked for then.
        required: usize,
    },
    /// The connection's keys can seal no more records (the record sequence number is used
    /// up).
    EncryptExhausted,
}

impl TlsError {
    /// The engine's code for this failure: [`ErrorCode::SslHandshakeFailed`] for handshake
    /// failures, [`ErrorCode::ConfigError`] for a refused setup, [`ErrorCode::ConnectionLost`]
    /// otherwise (`InsufficientSize` and `HandshakeIncomplete` are caller errors that leave
    /// the connection intact; see [`is_fatal`](Self::is_fatal)).
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::Handshake(_) => ErrorCode::SslHandshakeFailed,
            Self::Setup(error) => error.code(),
            _ => ErrorCode::ConnectionLost,
        }
    }

    /// Whether the connection cannot be used any more.
    pub const fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Handshake(_) | Self::Closed | Self::Protocol(_) | Self::Setup(_)
        )
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(failure) => write!(f, "TLS handshake failed: {failure}"),
            Self::InsufficientSize { required } => {
                write!(f, "output buffer too small: {required} bytes required")
            }
            Self::HandshakeIncomplete => f.write_str("the TLS handshake has not completed"),
            Self::Closed => f.write_str("the TLS connection is closed"),
            Self::Protocol(error) => write!(f, "TLS protocol error: {error}"),
            Self::Setup(error) => write!(f, "TLS setup failed: {error}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(failure) => Some(failure),
            Self::Protocol(error) => Some(error),
            Self::Setup(error) => Some(error),
            Self::InsufficientSize { .. } | Self::HandshakeIncomplete | Self::Closed => None,
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCa => f.write_str("the peer's certificate is not signed by a trusted CA"),
            Self::BadServerName => {
                f.write_str("the server's certificate is not valid for the configured name")
            }
            Self::NoClientCertificate => {
                f.write_str("mutual TLS is required and the client sent no certificate")
            }
            Self::NotTls => {
                f.write_str("the peer does not speak TLS (plain text on a TLS connection?)")
            }
            Self::Expired => f.write_str("the peer's certificate has expired or is not valid yet"),
            Self::BadCertificate(error) => {
                write!(f, "the peer's certificate was refused: {error}")
            }
            // rustls gives alerts no Display; their Debug form is the alert's name.
            Self::PeerAlert(alert) => write!(f, "the peer aborted with alert {alert:?}"),
            Self::Other(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for HandshakeFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Other(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rustls(error) => error.fmt(f),
            Self::UnexpectedEarlyData => f.write_str("unexpected 0-RTT data"),
            Self::UnsupportedState => f.write_str("unsupported TLS connection state"),
            Self::InputLost { missing } => {
                write!(
                    f,
                    "the input buffer lost {missing} bytes the connection holds"
                )
            }
            Self::AlreadyEncoded => f.write_str("cannot encode, data has already been encoded"),
            Self::EncodeInsufficientSize { required } => write!(
                f,
                "cannot encode due to insufficient size, {required} bytes are required"
            ),
            Self::EncryptExhausted => f.write_str("encrypter has been exhausted"),
        }
    }
}

impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rustls(error) => Some(error),
            _ => None,
        }
    }
}

/// A fatal failure of [`TlsConnection::process`](super::TlsConnection::process), with the
/// alert written for the peer.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessError {
    /// What went wrong.
    pub error: TlsError,
    /// Bytes at the front of the output buffer to send before closing the socket: the
    /// handshake output of this call and the alert telling the peer why (may be 0).
    pub written: usize,
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Translates a rustls error. `handshaking` says whether the handshake was still running;
/// `first_record` whether no record had been accepted from the peer yet.
pub(super) fn from_rustls(error: rustls::Error, handshaking: bool, first_record: bool) -> TlsError {
    use rustls::Error as E;
    if !handshaking {
        return TlsError::Protocol(ProtocolError::Rustls(error));
    }
    let failure = match error {
        E::InvalidMessage(
            InvalidMessage::InvalidContentType
            | InvalidMessage::UnknownProtocolVersion
            | InvalidMessage::MessageTooLarge
            | InvalidMessage::InvalidEmptyPayload,
        ) if first_record => HandshakeFailure::NotTls,
        E::InvalidCertificate(cert) => match cert {
            // A bad signature means the chain does not verify against any trusted CA, e.g. a
            // CA with the same name as a trusted one but another key.
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                HandshakeFailure::UnknownCa
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                HandshakeFailure::BadServerName
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => HandshakeFailure::Expired,
            other => HandshakeFailure::BadCertificate(other),
        },
        E::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
        E::AlertReceived(alert) => HandshakeFailure::PeerAlert(alert),
        other => HandshakeFailure::Other(other),
    };
    TlsError::Handshake(failure)
}

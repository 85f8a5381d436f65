//! Failures of a TLS connection, in terms an operator can act on.

use std::fmt;

use rustls::{CertificateError, InvalidMessage};

use crate::ErrorCode;

/// Why a TLS connection failed or an operation on it was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// unexpected message, an alert).
    Protocol(String),
}

/// Why a handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The peer's certificate was refused for another reason (bad signature, revoked,
    /// wrong key usage, unsupported algorithm, …).
    BadCertificate(String),
    /// The peer aborted the handshake with this TLS alert (it refused our certificate,
    /// found no common version or cipher suite, …).
    PeerAlert(String),
    /// Anything else, with rustls's description.
    Other(String),
}

impl TlsError {
    /// The engine's code for this failure: [`ErrorCode::SslHandshakeFailed`] for handshake
    /// failures, [`ErrorCode::ConnectionLost`] otherwise (`InsufficientSize` and
    /// `HandshakeIncomplete` are caller errors that leave the connection intact; see
    /// [`is_fatal`](Self::is_fatal)).
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::Handshake(_) => ErrorCode::SslHandshakeFailed,
            _ => ErrorCode::ConnectionLost,
        }
    }

    /// Whether the connection cannot be used any more.
    pub const fn is_fatal(&self) -> bool {
        matches!(self, Self::Handshake(_) | Self::Closed | Self::Protocol(_))
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
            Self::Protocol(reason) => write!(f, "TLS protocol error: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

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
            Self::BadCertificate(reason) => {
                write!(f, "the peer's certificate was refused: {reason}")
            }
            Self::PeerAlert(alert) => write!(f, "the peer aborted with alert {alert}"),
            Self::Other(reason) => f.write_str(reason),
        }
    }
}

/// A fatal failure of [`TlsConnection::process`](super::TlsConnection::process), with the
/// alert written for the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
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
pub(super) fn from_rustls(
    error: &rustls::Error,
    handshaking: bool,
    first_record: bool,
) -> TlsError {
    use rustls::Error as E;
    if !handshaking {
        return TlsError::Protocol(error.to_string());
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
            other => HandshakeFailure::BadCertificate(format!("{other:?}")),
        },
        E::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
        E::AlertReceived(alert) => HandshakeFailure::PeerAlert(format!("{alert:?}")),
        other => HandshakeFailure::Other(other.to_string()),
    };
    TlsError::Handshake(failure)
}

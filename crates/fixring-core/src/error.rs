//! The error codes of the engine's interface.
//!
//! Each failure the engine reports to the outside world carries one of these codes, with the
//! HTTP-like status and the fixed message the blueprint gives it. Operation-specific errors
//! elsewhere in the crate (a [`crate::config::ConfigError`], a [`crate::codec::DecodeError`], …)
//! say what went wrong in detail and name the code they map onto.
//!
//! The blueprint's five codes describe the configuration, a port and the peers; a failure of
//! the engine itself (a backend failing while it runs, a panicked loop, a thread that cannot be
//! spawned) fits none of them, and has a sixth code of our own, [`ErrorCode::EngineFailure`].

use core::fmt;

/// A failure class of the engine's interface, with its status and message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The acceptor could not bind its port (in use, or not permitted).
    PortBindFailed,
    /// A TLS handshake did not complete (bad certificate, wrong name, a plain-text peer, …).
    SslHandshakeFailed,
    /// The peer refused the connection, or the attempt timed out.
    ConnectionRefused,
    /// An established connection was closed by the peer or failed.
    ConnectionLost,
    /// The configuration is invalid; the detail names the file, line and key.
    ConfigError,
    /// The engine itself cannot start or keep running: its I/O backend failed, an event loop
    /// panicked or could not be spawned, or it was started twice. Not one of the blueprint's
    /// codes: none of those covers a local failure that is neither the configuration's nor a
    /// peer's. Only the engine's start-up and its end report it; no connection event carries
    /// it.
    EngineFailure,
}

impl ErrorCode {
    /// The code's name as it appears in events and logs, e.g. `PORT_BIND_FAILED`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::PortBindFailed => "PORT_BIND_FAILED",
            Self::SslHandshakeFailed => "SSL_HANDSHAKE_FAILED",
            Self::ConnectionRefused => "CONNECTION_REFUSED",
            Self::ConnectionLost => "CONNECTION_LOST",
            Self::ConfigError => "CONFIG_ERROR",
            Self::EngineFailure => "ENGINE_FAILURE",
        }
    }

    /// The status attached to the code: 500 for local failures, 503 for an unavailable peer.
    pub const fn status(self) -> u16 {
        match self {
            Self::PortBindFailed
            | Self::SslHandshakeFailed
            | Self::ConfigError
            | Self::EngineFailure => 500,
            Self::ConnectionRefused | Self::ConnectionLost => 503,
        }
    }

    /// The fixed human-readable message of the code.
    pub const fn message(self) -> &'static str {
        match self {
            Self::PortBindFailed => "Failed to bind to the configured port",
            Self::SslHandshakeFailed => "SSL/TLS handshake failed",
            Self::ConnectionRefused => "Connection refused by the remote host",
            Self::ConnectionLost => "Connection to the remote host was lost",
            Self::ConfigError => "Invalid connection configuration",
            Self::EngineFailure => "The engine failed to start or keep running",
        }
    }

    /// Whether the engine retries by itself after this failure (an initiator reconnects).
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            Self::SslHandshakeFailed | Self::ConnectionRefused | Self::ConnectionLost
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code(), self.status(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_status() {
        let all = [
            (ErrorCode::PortBindFailed, "PORT_BIND_FAILED", 500),
            (ErrorCode::SslHandshakeFailed, "SSL_HANDSHAKE_FAILED", 500),
            (ErrorCode::ConnectionRefused, "CONNECTION_REFUSED", 503),
            (ErrorCode::ConnectionLost, "CONNECTION_LOST", 503),
            (ErrorCode::ConfigError, "CONFIG_ERROR", 500),
            (ErrorCode::EngineFailure, "ENGINE_FAILURE", 500),
        ];
        for (code, name, status) in all {
            assert_eq!(code.code(), name);
            assert_eq!(code.status(), status);
            assert!(code.to_string().starts_with(name));
        }
        assert!(!ErrorCode::ConfigError.is_transient());
        assert!(!ErrorCode::EngineFailure.is_transient());
        assert!(ErrorCode::ConnectionLost.is_transient());
    }
}

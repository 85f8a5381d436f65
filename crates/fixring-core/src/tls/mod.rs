//! TLS over caller-owned buffers, on rustls's unbuffered API.
//!
//! Every rustls call of the engine lives in this module (rustls 0.24 reworks the unbuffered
//! API; only this module will change).
//!
//! - [`TlsSetup`], [`server_config`], [`client_config`]: certificates, keys and CA roots
//!   from PEM files or memory, checked when loaded, turned into rustls configurations. A CA
//!   on an acceptor means mutual TLS; an initiator always verifies the server's chain and
//!   name.
//! - [`TlsConnection`]: one connection, sans-IO. [`TlsConnection::process`] takes the
//!   ciphertext the caller read, decrypts it in place, hands plaintext to a callback and
//!   writes handshake records into the caller's output buffer; [`TlsConnection::encrypt`]
//!   seals application data into a caller buffer.
//! - [`TlsError`], [`HandshakeFailure`] and [`ProtocolError`]: why a connection failed, in
//!   an operator's terms, keeping rustls's own error where it reported one; a failed
//!   handshake maps to [`crate::ErrorCode::SslHandshakeFailed`]. [`TlsSetupError`] names the
//!   file at fault and maps to [`crate::ErrorCode::ConfigError`].
//!
//! rustls 0.23 copies each decrypted record into an owned buffer before handing it out, and
//! allocates while sealing; this adapter adds no allocation per record of its own.

mod connection;
mod error;
mod insecure;
mod setup;

pub use connection::{Progress, TlsConnection};
pub use error::{HandshakeFailure, ProcessError, ProtocolError, TlsError};
pub use rustls::{ClientConfig, ServerConfig};
pub use setup::{PemRole, PemSource, TlsSetup, TlsSetupError, client_config, server_config};

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

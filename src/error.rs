//! Why the engine could not start or keep running.

use core::fmt;
use std::io;
use std::net::SocketAddr;

use fixring_core::ErrorCode;
use fixring_core::config::ConfigErrors;
use fixring_core::connection::SetupError;
use fixring_core::tls::TlsSetupError;

/// An engine failure, with the interface's [`ErrorCode`] it maps onto.
#[non_exhaustive]
#[derive(Debug)]
pub enum EngineError {
    /// The settings file is invalid; every error names its file, line and key.
    /// [`ErrorCode::ConfigError`].
    Settings(ConfigErrors),
    /// The TLS settings of the sessions on an acceptor port cannot be turned into a server
    /// configuration (a certificate or key missing, unreadable or mismatched, a CA file that
    /// cannot serve as trust roots, …). [`ErrorCode::ConfigError`].
    AcceptorTls {
        /// The acceptor port.
        port: u16,
        /// What is wrong, naming the file at fault.
        source: TlsSetupError,
    },
    /// A session's connection cannot be set up: an initiator's TLS settings do not make a
    /// client configuration (no CA file, a certificate or key missing, unreadable or
    /// mismatched, …), or it has no host to connect to. [`ErrorCode::ConfigError`].
    Session {
        /// The session, as its identity reads (`FIX.4.4:US->THEM`).
        session: String,
        /// What is wrong.
        source: SetupError,
    },
    /// An acceptor's `SocketAcceptHost` is neither an IP address nor a name that resolves
    /// (names are resolved when the engine starts). [`ErrorCode::ConfigError`].
    AcceptHost {
        /// The acceptor session, as its identity reads (`FIX.4.4:US->THEM`).
        session: String,
        /// The host as configured.
        host: String,
        /// The resolver's reason.
        source: io::Error,
    },
    /// An acceptor port could not be bound. [`ErrorCode::PortBindFailed`].
    PortBindFailed {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        source: io::Error,
    },
    /// The status server's `HttpAcceptPort` could not be bound. [`ErrorCode::PortBindFailed`].
    StatusBindFailed {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        source: io::Error,
    },
    /// An event loop could not be pinned to its configured core. [`ErrorCode::ConfigError`]:
    /// `EventLoopCores` names a core this process may not run on.
    Pin {
        /// The core from `EventLoopCores`.
        core: usize,
    },
    /// The I/O backend failed to set up or run. [`ErrorCode::EngineFailure`]: the host
    /// refused the engine a resource (a ring, an epoll instance, locked memory, …) or the
    /// kernel failed a call the loop needs; neither the settings nor a peer is at fault.
    Backend(io::Error),
    /// An event-loop thread could not be spawned. [`ErrorCode::EngineFailure`], for the same
    /// reason as [`Backend`](Self::Backend).
    Thread(io::Error),
    /// An event loop panicked. [`ErrorCode::EngineFailure`]: a fault of the engine or of the
    /// application it calls, not of the settings.
    LoopPanicked,
    /// [`crate::Engine::start`] was called on a running engine. [`ErrorCode::EngineFailure`]:
    /// the embedding program's mistake, not the settings'; the running engine is unaffected.
    AlreadyStarted,
    /// A session's file store (`FileStorePath`) could not be opened or read.
    /// [`ErrorCode::ConfigError`]: the configured directory cannot be used (not permitted,
    /// in use by another process, holding a journal that does not read back).
    Store {
        /// The session.
        session: String,
        /// The store's directory.
        path: std::path::PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A session's message log (`FileLogPath`, `FileLogBackupPath`) could not be opened.
    /// [`ErrorCode::ConfigError`]: the configured directory cannot be created or written.
    Log {
        /// The session.
        session: String,
        /// The log's directory.
        path: std::path::PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl EngineError {
    /// The interface's error code for this failure (see each variant).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::PortBindFailed { .. } | Self::StatusBindFailed { .. } => {
                ErrorCode::PortBindFailed
            }
            Self::AcceptorTls { source, .. } => source.code(),
            Self::Session { source, .. } => source.code(),
            Self::Settings(_)
            | Self::AcceptHost { .. }
            | Self::Pin { .. }
            | Self::Store { .. }
            | Self::Log { .. } => ErrorCode::ConfigError,
            Self::Backend(_) | Self::Thread(_) | Self::LoopPanicked | Self::AlreadyStarted => {
                ErrorCode::EngineFailure
            }
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code().code();
        match self {
            Self::Settings(errors) => write!(f, "{code}: invalid settings:\n{errors}"),
            Self::AcceptorTls { port, source } => write!(f, "{code}: port {port}: {source}"),
            Self::Session { session, source } => write!(f, "{code}: {session}: {source}"),
            Self::AcceptHost { session, host, .. } => write!(
                f,
                "{code}: {session}: SocketAcceptHost: '{host}' is not an IP address nor a name that resolves"
            ),
            Self::PortBindFailed { addr, source } => {
                write!(f, "{code}: cannot bind {addr}: {source}")
            }
            Self::StatusBindFailed { addr, source } => {
                write!(
                    f,
                    "{code}: cannot bind the status page's {addr} (HttpAcceptPort): {source}"
                )
            }
            Self::Pin { core } => {
                write!(
                    f,
                    "{code}: cannot pin an event loop to core {core} (EventLoopCores)"
                )
            }
            Self::Backend(source) => write!(f, "{code}: I/O backend failed: {source}"),
            Self::Thread(source) => write!(f, "{code}: cannot spawn an event loop: {source}"),
            Self::LoopPanicked => write!(f, "{code}: an event loop panicked"),
            Self::AlreadyStarted => write!(f, "{code}: the engine is already running"),
            Self::Store {
                session,
                path,
                source,
            } => write!(
                f,
                "{code}: {session}: file store in {}: {source}",
                path.display()
            ),
            Self::Log {
                session,
                path,
                source,
            } => write!(
                f,
                "{code}: {session}: message log in {}: {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Settings(errors) => Some(errors),
            Self::AcceptorTls { source, .. } => Some(source),
            Self::Session { source, .. } => Some(source),
            Self::AcceptHost { source, .. } => Some(source),
            Self::PortBindFailed { source, .. }
            | Self::StatusBindFailed { source, .. }
            | Self::Backend(source)
            | Self::Thread(source)
            | Self::Store { source, .. }
            | Self::Log { source, .. } => Some(source),
            Self::Pin { .. } | Self::LoopPanicked | Self::AlreadyStarted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn failures_of_the_engine_itself_are_not_configuration_errors() {
        let failures = [
            EngineError::Backend(io::Error::other("ring setup")),
            EngineError::Thread(io::Error::other("no threads left")),
            EngineError::LoopPanicked,
            EngineError::AlreadyStarted,
        ];
        for error in failures {
            assert_eq!(error.code(), ErrorCode::EngineFailure, "{error}");
            assert!(error.to_string().starts_with("ENGINE_FAILURE: "), "{error}");
        }
    }

    #[test]
    fn configuration_errors_keep_their_source_and_context() {
        let source = io::Error::other("no such host");
        let expected = source.to_string();
        let error = EngineError::AcceptHost {
            session: "FIX.4.4:US->THEM".to_owned(),
            host: "fix.example.test".to_owned(),
            source,
        };
        assert_eq!(error.code(), ErrorCode::ConfigError);
        assert_eq!(
            error.to_string(),
            "CONFIG_ERROR: FIX.4.4:US->THEM: SocketAcceptHost: 'fix.example.test' is not an IP address nor a name that resolves"
        );
        assert_eq!(error.source().map(ToString::to_string), Some(expected));
    }
}

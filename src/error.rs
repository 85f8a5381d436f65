//! Why the engine could not start or keep running.

use core::fmt;
use std::io;
use std::net::SocketAddr;

use fixring_core::ErrorCode;
use fixring_core::config::ConfigErrors;

/// An engine failure, with the interface's [`ErrorCode`] it maps onto.
#[non_exhaustive]
#[derive(Debug)]
pub enum EngineError {
    /// The settings file is invalid; every error names its file, line and key.
    Settings(ConfigErrors),
    /// The configuration cannot be run as it is.
    Config {
        /// What is wrong.
        detail: String,
    },
    /// An acceptor port could not be bound.
    PortBindFailed {
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        source: io::Error,
    },
    /// An event loop could not be pinned to its configured core.
    Pin {
        /// The core from `EventLoopCores`.
        core: usize,
    },
    /// The I/O backend failed to set up or run.
    Backend(io::Error),
    /// An event-loop thread could not be spawned.
    Thread(io::Error),
    /// An event loop panicked.
    LoopPanicked,
    /// [`crate::Engine::start`] was called on a running engine.
    AlreadyStarted,
    /// A session's file store (`FileStorePath`) could not be opened or read.
    Store {
        /// The session.
        session: String,
        /// The store's directory.
        path: std::path::PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl EngineError {
    /// The interface's error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::PortBindFailed { .. } => ErrorCode::PortBindFailed,
            _ => ErrorCode::ConfigError,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code().code();
        match self {
            Self::Settings(errors) => write!(f, "{code}: invalid settings:\n{errors}"),
            Self::Config { detail } => write!(f, "{code}: {detail}"),
            Self::PortBindFailed { addr, source } => {
                write!(f, "{code}: cannot bind {addr}: {source}")
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
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Settings(errors) => Some(errors),
            Self::PortBindFailed { source, .. } | Self::Backend(source) | Self::Thread(source) => {
                Some(source)
            }
            _ => None,
        }
    }
}

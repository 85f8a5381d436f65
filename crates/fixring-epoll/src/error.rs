//! The errors of this backend that are not the operating system's.

use std::fmt;
use std::io;

use fixring_io::ListenerId;

/// A request the backend refused. Returned inside an [`io::Error`] (see
/// [`io::Error::get_ref`]), since the `Backend` trait speaks `io::Result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EpollError {
    /// Every slot of the connection table holds a connection.
    TableFull {
        /// The table's size, `BackendOptions::max_connections`.
        capacity: u32,
    },
    /// No open listener has this identifier.
    UnknownListener(ListenerId),
    /// The backend was shut down.
    ShutDown,
}

impl fmt::Display for EpollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TableFull { capacity } => {
                write!(f, "connection table full ({capacity} connections)")
            }
            Self::UnknownListener(id) => write!(f, "no open listener {}", id.0),
            Self::ShutDown => f.write_str("the epoll backend is shut down"),
        }
    }
}

impl std::error::Error for EpollError {}

impl From<EpollError> for io::Error {
    fn from(error: EpollError) -> Self {
        let kind = match error {
            EpollError::TableFull { .. } => io::ErrorKind::QuotaExceeded,
            EpollError::UnknownListener(_) => io::ErrorKind::NotFound,
            EpollError::ShutDown => io::ErrorKind::NotConnected,
        };
        io::Error::new(kind, error)
    }
}

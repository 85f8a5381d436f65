//! The errors the backends add to the operating system's.

use std::fmt;
use std::io;

use crate::ListenerId;

/// A request a backend refused. Returned inside an [`io::Error`] (see [`backend_error`]),
/// since the [`Backend`](crate::Backend) trait speaks `io::Result`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendError {
    /// Every slot of the connection table holds a connection.
    TableFull {
        /// The table's size, `BackendOptions::max_connections`.
        capacity: u32,
    },
    /// No open listener has this identifier.
    UnknownListener(ListenerId),
    /// The backend was shut down; it accepts no more work.
    ShutDown,
    /// `BackendOptions` are out of range; the text says which field.
    InvalidOptions(&'static str),
    /// The kernel lacks a feature the backend needs; the text names it.
    KernelTooOld(&'static str),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TableFull { capacity } => {
                write!(f, "connection table full ({capacity} connections)")
            }
            Self::UnknownListener(id) => write!(f, "no open listener {}", id.0),
            Self::ShutDown => f.write_str("the backend is shut down"),
            Self::InvalidOptions(what) => write!(f, "invalid backend options: {what}"),
            Self::KernelTooOld(what) => write!(f, "the kernel lacks {what}"),
        }
    }
}

impl std::error::Error for BackendError {}

impl From<BackendError> for io::Error {
    fn from(error: BackendError) -> Self {
        let kind = match error {
            BackendError::TableFull { .. } => io::ErrorKind::QuotaExceeded,
            BackendError::UnknownListener(_) => io::ErrorKind::NotFound,
            BackendError::ShutDown => io::ErrorKind::NotConnected,
            BackendError::InvalidOptions(_) => io::ErrorKind::InvalidInput,
            BackendError::KernelTooOld(_) => io::ErrorKind::Unsupported,
        };
        io::Error::new(kind, error)
    }
}

/// The [`BackendError`] inside `err`, if it carries one.
pub fn backend_error(err: &io::Error) -> Option<BackendError> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<BackendError>())
        .copied()
}

/// Whether `err`, from a backend's constructor, means the backend cannot run on this machine,
/// so that another backend should be used: the kernel refused it (`EPERM`: a seccomp filter
/// or `kernel.io_uring_disabled`; `ENOSYS`: not built in) or lacks a feature it needs
/// ([`BackendError::KernelTooOld`]).
pub fn is_unavailable(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EPERM) | Some(libc::ENOSYS))
        || matches!(backend_error(err), Some(BackendError::KernelTooOld(_)))
}

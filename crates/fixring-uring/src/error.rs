//! The errors this backend adds to the operating system's.

use std::fmt;
use std::io;

/// Why the backend refused a request, carried inside an [`io::Error`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UringError {
    /// Every connection slot is taken (`BackendOptions::max_connections`).
    TableFull,
    /// The backend was shut down; it accepts no more work.
    ShutDown,
    /// The kernel lacks a feature the backend needs (`IORING_FEAT_EXT_ARG`, Linux 5.11).
    KernelTooOld,
    /// `BackendOptions` are out of range; the text says which field.
    InvalidOptions(&'static str),
    /// The listener is unknown or no longer listening.
    UnknownListener,
}

impl fmt::Display for UringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TableFull => f.write_str("the connection table is full"),
            Self::ShutDown => f.write_str("the io_uring backend is shut down"),
            Self::KernelTooOld => f.write_str("the kernel's io_uring lacks IORING_FEAT_EXT_ARG"),
            Self::InvalidOptions(what) => write!(f, "invalid backend options: {what}"),
            Self::UnknownListener => f.write_str("unknown listener"),
        }
    }
}

impl std::error::Error for UringError {}

impl From<UringError> for io::Error {
    fn from(e: UringError) -> Self {
        let kind = match e {
            UringError::TableFull => io::ErrorKind::QuotaExceeded,
            UringError::ShutDown => io::ErrorKind::NotConnected,
            UringError::KernelTooOld => io::ErrorKind::Unsupported,
            UringError::InvalidOptions(_) => io::ErrorKind::InvalidInput,
            UringError::UnknownListener => io::ErrorKind::NotFound,
        };
        io::Error::new(kind, e)
    }
}

/// The [`UringError`] inside `err`, if it carries one.
pub fn uring_error(err: &io::Error) -> Option<UringError> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<UringError>())
        .copied()
}

/// An error from a negative completion result.
pub(crate) fn from_result(res: i32) -> io::Error {
    io::Error::from_raw_os_error(res.saturating_neg())
}

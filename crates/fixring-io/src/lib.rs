//! What fixring's I/O backends share: the interface they implement for the engine's event
//! loop, and the pieces both build it from.
//!
//! A backend (io_uring in `fixring-uring`, epoll in `fixring-epoll`) owns sockets and their
//! buffers and moves bytes; it knows nothing of FIX. The event loop calls [`Backend::poll`] to
//! learn what completed, reads received bytes and writes outbound bytes through [`ConnIo`]
//! (straight into the backend's buffers, registered with the kernel where the backend can), and
//! calls [`Backend::flush`] to start the writes and re-arm the reads.
//!
//! Buffer discipline, which every backend keeps:
//! - Each connection has one receive buffer and one send buffer of fixed size.
//! - While the loop holds a [`ConnIo`], no kernel operation targets the bytes it exposes: the
//!   received bytes have landed, and the spare part of the send buffer lies past anything a
//!   write in flight reads.
//! - Bytes committed with [`TxBuf::commit`] are sent in order, or the connection reports
//!   [`Completion::Closed`] with the error that stopped them.
//! - A connection whose loop called [`TxBuf::notify_when_writable`] reports
//!   [`Completion::Writable`] once a write has made room (a backend that writes during
//!   [`Backend::flush`] may instead leave the room there when `flush` returns).
#![warn(missing_docs)]

mod backend;
mod buffers;
mod error;
pub mod idle;
pub mod limits;
pub mod slots;
pub mod socket;
mod waker;

pub use backend::{
    ACCEPT_BACKOFF, Backend, BackendOptions, Completion, ConnId, DRAIN_TIMEOUT, ListenerId,
    WAITING_LIMIT, Wake, is_exhaustion,
};
pub use buffers::{ConnIo, TxBuf};
pub use error::{BackendError, backend_error, is_unavailable};
pub use waker::{EventFd, Waker};

/// Whether a backend's descriptors (its sockets and its waker's eventfd) block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Blocking: the kernel waits on the backend's behalf (io_uring arms its own poll; a
    /// non-blocking descriptor would make it complete reads with `EAGAIN` instead).
    Blocking,
    /// Non-blocking: the backend waits for readiness itself (epoll) and never blocks in a call.
    NonBlocking,
}

//! The sans-IO core of fixring, a FIX connection engine.
//!
//! This crate contains no networking code, spawns no threads and never reads a clock. Every
//! input arrives through a `handle_*` call carrying the current [`Instant`]; every output leaves
//! through a `poll_*` call that writes into a buffer the caller owns. The io_uring and epoll
//! backends move bytes between sockets and these state machines; the session, timer and
//! connection-lifecycle logic exists here once.
//!
//! - [`config`]: QuickFIX-style settings files parsed into typed, validated configuration.
//! - [`codec`]: FIX framing by BodyLength with CheckSum verification, and an encoder.
//! - [`session`]: the FIX session layer connections need (Logon, Heartbeat, TestRequest,
//!   Logout, MsgSeqNum checking).
//! - [`connection`]: the [`connection::Connection`] of each configured session (the socket's
//!   TLS and framing, the session, the send order and the lifecycle) and the acceptor's
//!   [`connection::Router`], which maps a new socket's Logon to one of them; built from the
//!   connection states, the initiator's reconnect schedule and host selection, and the
//!   Logon mapping.
//! - [`dictionary`]: QuickFIX's XML data dictionaries, and validation of messages against
//!   them.
//! - [`event`] and [`error`]: the events and error codes of the engine's interface.
//! - [`tls`]: rustls's unbuffered API over caller-owned buffers.
//! - [`timer`]: the table of named deadlines behind every `poll_timeout()`.
//! - [`schedule`]: session schedules (StartTime, EndTime, days, time zones, the logon window)
//!   as QuickFIX means them, asked about a UTC time.
//!
//! With the `testing` feature (off by default), `testing` holds the deterministic harness of
//! the connections: an initiator and an acceptor joined in memory on a virtual clock. With
//! the `fuzzing` feature (off by default, and turning `testing` on), `fuzzing` holds the
//! harnesses of the cargo-fuzz targets in `fuzz/`, also replayed over their corpora by this
//! crate's tests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod config;
pub mod connection;
pub mod dictionary;
pub mod error;
pub mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod schedule;
pub mod session;
mod session_id;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod timer;
pub mod tls;

pub use error::ErrorCode;
pub use event::{ErrorSource, Event, EventKind};
pub use session_id::SessionId;
pub use time::{Instant, Rfc3339, TimestampPrecision, UtcTimestamp, WallClock};

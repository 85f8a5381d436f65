//! fixring: a FIX-protocol connection engine for Linux, on io_uring.
//!
//! An [`Engine`] runs acceptor and initiator sessions from QuickFIX-style settings on a few
//! event-loop threads, each pinned to a core and driving its sockets through io_uring (or
//! epoll where io_uring is refused). The protocol logic lives in the sans-IO
//! [`fixring_core`]; this crate adds the threads, the sockets and the [`Application`]
//! callbacks.
#![warn(missing_docs)]

mod application;
mod clock;
mod echo;
mod engine;
mod error;
mod event_loop;
mod file_store;
mod handle;
mod message_log;
mod reflect;
mod stamp;
mod stats;
mod status;

pub use application::{Application, Context, Synchronized};
pub use echo::Echo;
pub use engine::{BackendKind, Engine};
pub use error::EngineError;
pub use fixring_core as core;
pub use fixring_io as io;
pub use handle::{HandleError, Outbound, SessionHandle};
pub use reflect::Reflect;
pub use stats::{LatencyStats, LoopCounters, Percentiles};

/// The README's Rust examples, which `cargo test --doc` compiles.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

//! Test harnesses of the sans-IO core: connections driven on a virtual clock, without sockets.
//!
//! Compiled only with the `testing` feature, which is off by default; this crate's own tests
//! and the fuzzing harnesses turn it on.
//!
//! - [`Pair`]: an initiator [`Connection`](crate::connection::Connection) and an acceptor one
//!   joined by in-memory links, plain or TLS, the acceptor's sockets going through a
//!   [`Router`](crate::connection::Router) until their first Logon. [`Pair::step`] moves bytes
//!   once, [`Pair::drive`] until nothing moves, [`Pair::advance`] moves the clock and fires
//!   every timer at its exact deadline. Each [`Side`] collects what its connection reported.
//! - [`MemorySocket`]: one socket's receive and send buffers, of a fixed size; what a backend
//!   lends a connection, with the test playing the kernel.
//!
//! ```
//! use std::time::Duration;
//!
//! use fixring_core::config::{AcceptorConfig, HostConfig, InitiatorConfig, Role, SessionConfig};
//! use fixring_core::testing::{AppMessage, Pair, PairConfig};
//! use fixring_core::{EventKind, SessionId};
//!
//! let id = SessionId::new("FIX.4.4", "BUYER", "SELLER");
//! let hosts = vec![HostConfig::new("127.0.0.1", 9880)];
//! let initiator = SessionConfig::new(id.clone(), Role::Initiator(InitiatorConfig::new(hosts)));
//! let accept = AcceptorConfig { accept_host: None, accept_port: 9880 };
//! let acceptor = SessionConfig::new(id.reversed(), Role::Acceptor(accept));
//!
//! let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
//! pair.connect();
//! pair.drive();
//! assert_eq!(pair.initiator.sent(), ["A"]);
//! assert!(pair.acceptor.kinds().iter().any(|e| matches!(e, EventKind::Logon { .. })));
//!
//! pair.initiator.conn.send(AppMessage::new(b"D", b"11=ORDER-1\x01")).unwrap();
//! pair.drive();
//! assert_eq!(pair.acceptor.delivered.len(), 1);
//!
//! pair.advance(Duration::from_secs(30));
//! assert_eq!(pair.initiator.sent_count("0"), 1, "a Heartbeat after HeartBtInt");
//! ```

mod links;
mod pair;
mod socket;

pub use pair::{AppMessage, End, Pair, PairConfig, Side};
pub use socket::{MemorySendBuffer, MemorySocket};

//! Connections: one [`Connection`] per configured session (TLS, framing, session, send
//! order, lifecycle), the acceptor's [`Router`] that maps a new socket's Logon to one of
//! them, and the lifecycle pieces they are built from: states, the initiator's schedule and
//! host selection, the Logon mapping.
//!
//! Nothing here touches a socket or a clock. The engine reports what happened (`handle_*`,
//! with the current [`Instant`](crate::Instant) and the socket's lent buffers) and asks what
//! to do next (`poll_*`).
//!
//! # States
//!
//! Every session has one [`ConnectionState`] (`connection_state` in the blueprint), held by a
//! [`Lifecycle`] that refuses every transition not drawn below ([`is_legal_transition`] is the
//! table). Any state but `stopped` also returns to `stopped` when the engine stops.
//!
//! ```text
//!  initiator                                  acceptor
//!
//!     stopped                                   stopped
//!        | start                                   | a peer logs on
//!        v                                         v
//!  +-> pending -----------------+               connected <---------+
//!  |     | TCP (+ TLS) up       | attempt          | connection     | a peer logs
//!  |     v                      | failed or        v ends           | on again
//!  |   connected                | timed out     disconnected -------+
//!  |     | connection lost      |
//!  |     v                      |
//!  +-- disconnected <-----------+
//!   after the reconnect interval
//! ```
//!
//! An initiator moves with its [`InitiatorSchedule`], which chooses each attempt's host with a
//! [`HostSelector`] and runs the `Reconnect` and `ConnectTimeout` [`Timer`]s. An acceptor's
//! sessions are found with a [`LogonRouter`].

mod acceptor;
mod capture;
mod conn;
mod escalation;
mod flood;
pub(crate) mod framing;
mod hosts;
mod initiator;
mod io;
mod link;
mod router;
mod state;

pub use acceptor::{LogonIdentity, LogonRouter, RouteRefusal, SessionIndex};
pub use capture::{Captured, Direction};
pub use conn::{BACKLOG_LIMIT, Connection, Deliver, Outgoing, Output, Reply, Sent, SetupError};
pub use escalation::ErrorRate;
pub use hosts::HostSelector;
pub use initiator::{Action, Counters, InitiatorSchedule, ScheduleError, Timer};
pub use io::{Lent, SendBuffer, SocketBuffers};
pub use link::{HandshakeStep, Link, Writer};
pub use router::{Port, Routed, Router, Template};
pub use state::{ConnectionState, Lifecycle, StateKind, TransitionError, is_legal_transition};

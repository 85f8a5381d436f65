//! Connection lifecycle: states, the initiator's schedule and host selection, and the
//! acceptor's mapping of a Logon to a session.
//!
//! Nothing here touches a socket or a clock. The engine reports what happened (`handle_*`,
//! with the current [`Instant`](crate::Instant)) and asks what to do next (`poll_*`).
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
mod hosts;
mod initiator;
mod state;

pub use acceptor::{LogonRouter, RouteRefusal, SessionIndex};
pub use hosts::HostSelector;
pub use initiator::{Action, Counters, InitiatorSchedule, ScheduleError, Timer};
pub use state::{ConnectionState, Lifecycle, StateKind, TransitionError, is_legal_transition};

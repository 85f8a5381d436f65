//! The connection states of the blueprint and the machine that moves between them.

use core::fmt;

use crate::config::ConnectionType;
use crate::{ErrorCode, Instant};

/// The state of a session's connection (`connection_state`), with what is known in that state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not running: the initial state, and the state after the engine stops.
    Stopped,
    /// An initiator's connection attempt is under way (TCP connect, then the TLS handshake).
    Pending {
        /// The index in `InitiatorConfig::hosts` of the host being tried.
        host_index: usize,
        /// When the attempt began.
        since: Instant,
    },
    /// The connection is up.
    Connected {
        /// When it came up.
        since: Instant,
    },
    /// The connection failed or was lost; an initiator retries after its reconnect interval,
    /// an acceptor waits for the peer to connect again.
    Disconnected {
        /// When it went down.
        since: Instant,
        /// Why: [`ErrorCode::ConnectionRefused`], [`ErrorCode::ConnectionLost`],
        /// [`ErrorCode::SslHandshakeFailed`], ….
        reason: ErrorCode,
    },
}

impl ConnectionState {
    /// The state without its data.
    pub const fn kind(&self) -> StateKind {
        match self {
            Self::Stopped => StateKind::Stopped,
            Self::Pending { .. } => StateKind::Pending,
            Self::Connected { .. } => StateKind::Connected,
            Self::Disconnected { .. } => StateKind::Disconnected,
        }
    }

    /// `stopped`, `pending`, `connected` or `disconnected`, as reported in `connection_state`.
    pub const fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the state is [`ConnectionState::Stopped`].
    pub const fn is_stopped(&self) -> bool {
        matches!(self, Self::Stopped)
    }

    /// Whether the state is [`ConnectionState::Pending`].
    pub const fn is_pending(&self) -> bool {
        matches!(self, Self::Pending { .. })
    }

    /// Whether the state is [`ConnectionState::Connected`].
    pub const fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }

    /// Whether the state is [`ConnectionState::Disconnected`].
    pub const fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected { .. })
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A [`ConnectionState`] without its data: what the transition table is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// [`ConnectionState::Stopped`].
    Stopped,
    /// [`ConnectionState::Pending`].
    Pending,
    /// [`ConnectionState::Connected`].
    Connected,
    /// [`ConnectionState::Disconnected`].
    Disconnected,
}

impl StateKind {
    /// Every state, in the order of the blueprint.
    pub const ALL: [Self; 4] = [
        Self::Stopped,
        Self::Pending,
        Self::Connected,
        Self::Disconnected,
    ];

    /// `stopped`, `pending`, `connected` or `disconnected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Pending => "pending",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the blueprint allows a connection of type `connection_type` to move from `from` to
/// `to`. This is the whole transition table:
///
/// | from           | to             | initiator | acceptor |
/// |----------------|----------------|-----------|----------|
/// | `stopped`      | `pending`      | yes       | no       |
/// | `stopped`      | `connected`    | no        | yes      |
/// | `pending`      | `connected`    | yes       | no       |
/// | `pending`      | `disconnected` | yes       | no       |
/// | `pending`      | `stopped`      | yes       | no       |
/// | `connected`    | `disconnected` | yes       | yes      |
/// | `connected`    | `stopped`      | yes       | yes      |
/// | `disconnected` | `pending`      | yes       | no       |
/// | `disconnected` | `connected`    | no        | yes      |
/// | `disconnected` | `stopped`      | yes       | yes      |
///
/// Every other pair, and every state to itself, is refused. An acceptor never enters
/// `pending`: its connection exists once a peer has connected and logged on.
pub const fn is_legal_transition(
    from: StateKind,
    to: StateKind,
    connection_type: ConnectionType,
) -> bool {
    use ConnectionType::{Acceptor, Initiator};
    use StateKind::{Connected, Disconnected, Pending, Stopped};
    matches!(
        (from, to, connection_type),
        (Stopped, Pending, Initiator)
            | (Stopped, Connected, Acceptor)
            | (Pending, Connected | Disconnected | Stopped, Initiator)
            | (Connected, Disconnected | Stopped, _)
            | (Disconnected, Pending, Initiator)
            | (Disconnected, Connected, Acceptor)
            | (Disconnected, Stopped, _)
    )
}

/// A transition the blueprint does not allow; the state was left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionError {
    /// The state the connection is in.
    pub from: StateKind,
    /// The state that was asked for.
    pub to: StateKind,
    /// The type of the session's connection; the table differs between the two.
    pub connection_type: ConnectionType,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "illegal connection state transition for an {}: {} -> {}",
            self.connection_type.as_str(),
            self.from,
            self.to
        )
    }
}

impl std::error::Error for TransitionError {}

/// The connection state of one session, moved only along [`is_legal_transition`].
///
/// Each method names its target state and returns a [`TransitionError`] (leaving the state as
/// it was) when the blueprint has no such transition from the current state for this
/// connection type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    connection_type: ConnectionType,
    state: ConnectionState,
}

impl Lifecycle {
    /// A lifecycle in the initial state, [`ConnectionState::Stopped`].
    pub const fn new(connection_type: ConnectionType) -> Self {
        Self {
            connection_type,
            state: ConnectionState::Stopped,
        }
    }

    /// The current state.
    pub const fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Whether this lifecycle is an acceptor's or an initiator's.
    pub const fn connection_type(&self) -> ConnectionType {
        self.connection_type
    }

    /// Whether the blueprint allows moving from the current state to `to`.
    pub const fn can_transition(&self, to: StateKind) -> bool {
        is_legal_transition(self.state.kind(), to, self.connection_type)
    }

    /// An initiator starts a connection attempt to `host_index`: to `pending`.
    pub fn begin_connect(
        &mut self,
        now: Instant,
        host_index: usize,
    ) -> Result<(), TransitionError> {
        self.enter(ConnectionState::Pending {
            host_index,
            since: now,
        })
    }

    /// The connection is up (an initiator's attempt succeeded, or a peer logged on to an
    /// acceptor): to `connected`.
    pub fn connected(&mut self, now: Instant) -> Result<(), TransitionError> {
        self.enter(ConnectionState::Connected { since: now })
    }

    /// An attempt failed or a connection was lost, for `reason`: to `disconnected`.
    pub fn disconnected(&mut self, now: Instant, reason: ErrorCode) -> Result<(), TransitionError> {
        self.enter(ConnectionState::Disconnected { since: now, reason })
    }

    /// The engine stops: to `stopped`.
    pub fn stop(&mut self) -> Result<(), TransitionError> {
        self.enter(ConnectionState::Stopped)
    }

    fn enter(&mut self, next: ConnectionState) -> Result<(), TransitionError> {
        let (from, to) = (self.state.kind(), next.kind());
        if !is_legal_transition(from, to, self.connection_type) {
            return Err(TransitionError {
                from,
                to,
                connection_type: self.connection_type,
            });
        }
        self.state = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_blueprint() {
        let names: Vec<_> = StateKind::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["stopped", "pending", "connected", "disconnected"]);
        let state = ConnectionState::Disconnected {
            since: Instant::ZERO,
            reason: ErrorCode::ConnectionLost,
        };
        assert_eq!(state.to_string(), "disconnected");
        assert!(state.is_disconnected() && !state.is_connected());
    }

    #[test]
    fn error_names_both_states_and_the_type() {
        let mut lifecycle = Lifecycle::new(ConnectionType::Acceptor);
        let err = lifecycle.begin_connect(Instant::ZERO, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal connection state transition for an acceptor: stopped -> pending"
        );
        assert!(lifecycle.state().is_stopped());
    }
}

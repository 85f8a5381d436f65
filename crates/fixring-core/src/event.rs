//! The events of the engine's interface.
//!
//! Event names are part of the interface: monitoring systems match on
//! `fix.connection.established` and its fellows, so [`EventKind::name`] never changes for a
//! variant. Payload field names follow the blueprint (`remote_host`, `remote_port`,
//! `session_id`, `is_ssl`, `error_detail`, `connection_type`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::ConnectionType;
use crate::{ErrorCode, SessionId, UtcTimestamp};

/// The shortest time between two `fix.connection.flood` events of one event loop.
pub const FLOOD_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Something the engine reports to the application and to monitoring: what happened, and
/// when the event loop that saw it took it (UTC, to the microsecond).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When the loop took the event from the connection, the router or its own work.
    pub at: UtcTimestamp,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// The event `kind`, taken at `at`.
    pub const fn new(at: UtcTimestamp, kind: EventKind) -> Self {
        Self { at, kind }
    }

    /// The event's dotted name, e.g. `fix.connection.established`.
    pub const fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The error code the event carries, if it reports a failure.
    pub const fn code(&self) -> Option<ErrorCode> {
        self.kind.code()
    }
}

/// What an [`Event`] reports.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// An initiator begins a connection attempt (`fix.connection.attempt`): stopped or
    /// disconnected → pending.
    ConnectionAttempt {
        /// The session the attempt is made for.
        session_id: SessionId,
        /// The host tried, as configured (a name is looked up next).
        remote_host: String,
        /// The port tried.
        remote_port: u16,
        /// The attempt's number, counting from 1 since the engine started.
        attempt: u64,
    },
    /// A connection is up and its session logged on (`fix.connection.established`).
    ConnectionEstablished {
        /// The session the connection carries.
        session_id: SessionId,
        /// The peer's address.
        remote_host: String,
        /// The peer's port.
        remote_port: u16,
        /// Whether the connection is protected by TLS.
        is_ssl: bool,
    },
    /// An established (logged-on) connection went down without the engine's stop causing it
    /// (`fix.connection.lost`): the peer closed it, logged out, went silent, broke the
    /// protocol, or the socket failed.
    ConnectionLost {
        /// The session the connection carried.
        session_id: SessionId,
        /// The peer's address.
        remote_host: String,
        /// Always [`ErrorCode::ConnectionLost`] today; kept for the detail's prefix.
        code: ErrorCode,
        /// What happened, e.g. `peer closed the connection`.
        error_detail: String,
    },
    /// An initiator's connection attempt failed (`fix.connection.failed`).
    ConnectionFailed {
        /// The session the attempt was made for.
        session_id: SessionId,
        /// The host tried.
        remote_host: String,
        /// The port tried.
        remote_port: u16,
        /// Usually [`ErrorCode::ConnectionRefused`].
        code: ErrorCode,
        /// What happened, e.g. `Connection refused (os error 111)` or `timed out after 10s`.
        error_detail: String,
    },
    /// An acceptor or initiator stopped (`fix.connection.stopped`).
    ConnectionStopped {
        /// Which side stopped.
        connection_type: ConnectionType,
    },
    /// A failure that is not a loss of an established session (`fix.connection.error`):
    /// a port that cannot be bound, a failed TLS handshake, a refused Logon, bad input.
    ConnectionError {
        /// The peer's address, or the local address for a bind failure.
        remote_host: String,
        /// The class of the failure.
        code: ErrorCode,
        /// What happened.
        error_detail: String,
    },
    /// A session completed the Logon exchange (`fix.session.logon`).
    Logon {
        /// The session.
        session_id: SessionId,
    },
    /// A logged-on session ended with a Logout exchange (`fix.session.logout`): the peer's
    /// Logout, or ours (answered or not). A connection that ends without one reports
    /// `fix.connection.lost` alone.
    Logout {
        /// The session.
        session_id: SessionId,
        /// Why: the peer's Text (58), a local stop, a timeout.
        reason: String,
    },
    /// The connection errors of a session or of an acceptor's port rose above the blueprint's
    /// `error_rate > 5` (`fix.connection.escalation`): the sixth `fix.connection.lost`,
    /// `fix.connection.failed` or `fix.connection.error` within a minute. Once per crossing:
    /// again only after the rate has fallen back to 5 or fewer.
    ConnectionEscalation {
        /// Whose errors: a session's, or an acceptor port's for sockets no session claimed.
        source: ErrorSource,
        /// The errors within the window.
        count: u64,
        /// The sliding window they fell in.
        window: Duration,
    },
    /// An acceptor's loop closed connections that had not logged on, or refused more of them
    /// than it reports one by one (`fix.connection.flood`): one event per
    /// [`FLOOD_REPORT_INTERVAL`] at most, instead of one per connection.
    ConnectionFlood {
        /// Connections closed to make room for newer ones: beyond MaxPendingConnections, or
        /// beyond MaxPendingConnectionsPerAddress for their address.
        evicted: u64,
        /// Connections refused (bad first bytes, no Logon in time, an address not allowed…)
        /// without a `fix.connection.error` of their own.
        refused: u64,
        /// The addresses most of them came from, most first, with how many each (at most
        /// three).
        sources: Vec<(IpAddr, u64)>,
        /// The time the counts cover.
        window: Duration,
    },
    /// io_uring was refused by the kernel and the loop runs on epoll instead
    /// (`fix.engine.backend_fallback`).
    BackendFallback {
        /// The error io_uring set-up returned.
        reason: String,
    },
    /// The peer's MsgSeqNum jumped ahead of the expected one (`fix.session.sequence_gap`).
    SequenceGap {
        /// The session.
        session_id: SessionId,
        /// The MsgSeqNum we expected.
        expected: u64,
        /// The MsgSeqNum received.
        received: u64,
    },
    /// A message of the peer's failed validation against the data dictionary
    /// (`fix.session.invalid_message`): it was rejected, or with RejectInvalidMessage=N
    /// handled all the same.
    MessageInvalid {
        /// The session.
        session_id: SessionId,
        /// The message's MsgSeqNum, when it had a usable one.
        msg_seq_num: Option<u64>,
        /// QuickFIX's reason, with the tag at fault, e.g. `Invalid tag number (999)`.
        reason: String,
    },
    /// The peer asked for messages again that may include application messages no longer
    /// stored (`PersistMessages=N`, or beyond `MessageStoreSize`); they were skipped with a
    /// SequenceReset-GapFill (`fix.session.messages_not_resent`).
    MessagesNotResent {
        /// The session.
        session_id: SessionId,
        /// The first MsgSeqNum skipped.
        begin: u64,
        /// The last MsgSeqNum skipped.
        end: u64,
    },
    /// The session's file store (`FileStorePath`) could not be written
    /// (`fix.session.store_error`); reported once until a write succeeds again. The session
    /// goes on with its in-memory store.
    StoreError {
        /// The session.
        session_id: SessionId,
        /// The I/O error.
        detail: String,
    },
    /// The session's sequence numbers started again at 1 and its stored messages were
    /// dropped because its schedule began a new session period (`fix.session.reset`): at the
    /// boundary once the connection of the old period is gone, or at start-up when the
    /// session's store was created in an earlier period.
    SessionReset {
        /// The session.
        session_id: SessionId,
        /// Why, in words, naming the schedule.
        reason: String,
    },
    /// The message log's writer fell behind with `FileLogOverflow=drop`, and lines of the
    /// session's messages or event log were not written (`fix.session.log_overflow`);
    /// reported once there is room again, when the log gets a line saying the same.
    LogOverflow {
        /// The session.
        session_id: SessionId,
        /// How many lines were lost since the last report.
        lost: u64,
    },
}

/// Whose connection errors a `fix.connection.escalation` counts.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorSource {
    /// A configured session's: its losses, failed attempts and refused connections.
    Session(SessionId),
    /// An acceptor port's (the local TCP port): the sockets no session claimed (unknown
    /// CompIDs, failed handshakes, bad bytes, a first message that is not a Logon).
    Port(u16),
}

impl EventKind {
    /// Whether the event is one of a connection's errors, which an escalation counts:
    /// `fix.connection.lost`, `fix.connection.failed` or `fix.connection.error`.
    pub const fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Self::ConnectionLost { .. }
                | Self::ConnectionFailed { .. }
                | Self::ConnectionError { .. }
        )
    }

    /// The event's dotted name, e.g. `fix.connection.established`.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::ConnectionAttempt { .. } => "fix.connection.attempt",
            Self::ConnectionEstablished { .. } => "fix.connection.established",
            Self::ConnectionLost { .. } => "fix.connection.lost",
            Self::ConnectionFailed { .. } => "fix.connection.failed",
            Self::ConnectionStopped { .. } => "fix.connection.stopped",
            Self::ConnectionError { .. } => "fix.connection.error",
            Self::ConnectionEscalation { .. } => "fix.connection.escalation",
            Self::Logon { .. } => "fix.session.logon",
            Self::Logout { .. } => "fix.session.logout",
            Self::SequenceGap { .. } => "fix.session.sequence_gap",
            Self::MessageInvalid { .. } => "fix.session.invalid_message",
            Self::MessagesNotResent { .. } => "fix.session.messages_not_resent",
            Self::StoreError { .. } => "fix.session.store_error",
            Self::SessionReset { .. } => "fix.session.reset",
            Self::LogOverflow { .. } => "fix.session.log_overflow",
            Self::BackendFallback { .. } => "fix.engine.backend_fallback",
            Self::ConnectionFlood { .. } => "fix.connection.flood",
        }
    }

    /// The error code the event carries, if it reports a failure.
    pub const fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::ConnectionLost { code, .. }
            | Self::ConnectionFailed { code, .. }
            | Self::ConnectionError { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// An event as a line a person reads: the time, the name, then what happened, e.g.
/// `2026-12-02T01:02:03.456789Z fix.connection.lost FIX.4.4:A->B 127.0.0.1: peer closed
/// the connection`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.at.rfc3339(), self.name(), self.kind)
    }
}

/// What happened, in words: the session (or host, or port) it happened to, then a sentence.
/// Without the name, which [`Event`]'s own `Display` puts before it.
impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionAttempt {
                session_id,
                remote_host,
                remote_port,
                attempt,
            } => write!(
                f,
                "{session_id}: connecting to {remote_host}:{remote_port} (attempt {attempt})"
            ),
            Self::ConnectionEstablished {
                session_id,
                remote_host,
                remote_port,
                is_ssl,
            } => write!(
                f,
                "{session_id} {remote_host}:{remote_port}: connected{}",
                if *is_ssl { " over TLS" } else { "" }
            ),
            Self::ConnectionLost {
                session_id,
                remote_host,
                error_detail,
                ..
            } => write!(f, "{session_id} {remote_host}: {error_detail}"),
            Self::ConnectionFailed {
                session_id,
                remote_host,
                remote_port,
                error_detail,
                ..
            } => write!(
                f,
                "{session_id} {remote_host}:{remote_port}: {error_detail}"
            ),
            Self::ConnectionStopped { connection_type } => {
                write!(f, "the {}s stopped", connection_type.as_str())
            }
            Self::ConnectionError {
                remote_host,
                code,
                error_detail,
            } => write!(f, "{remote_host}: {error_detail} ({})", code.code()),
            Self::ConnectionEscalation {
                source,
                count,
                window,
            } => {
                match source {
                    ErrorSource::Session(session_id) => write!(f, "{session_id}: ")?,
                    ErrorSource::Port(port) => {
                        write!(f, "port {port}, connections no session claimed: ")?;
                    }
                }
                write!(
                    f,
                    "{count} connection errors within {} s, more than 5",
                    window.as_secs()
                )
            }
            Self::Logon { session_id } => write!(f, "{session_id}: logged on"),
            Self::Logout { session_id, reason } => {
                write!(f, "{session_id}: logged out ({reason})")
            }
            Self::BackendFallback { reason } => {
                write!(f, "io_uring was refused ({reason}); running on epoll")
            }
            Self::ConnectionFlood {
                evicted,
                refused,
                sources,
                window,
            } => {
                write!(
                    f,
                    "{evicted} connections not logged on closed for newer ones, {refused} \
                     refused, within {} s",
                    window.as_secs()
                )?;
                for (i, (address, count)) in sources.iter().enumerate() {
                    let lead = if i == 0 { "; from " } else { ", " };
                    write!(f, "{lead}{address} ({count})")?;
                }
                Ok(())
            }
            Self::SequenceGap {
                session_id,
                expected,
                received,
            } => write!(
                f,
                "{session_id}: MsgSeqNum {received} received where {expected} was expected; \
                 asked for the missing messages"
            ),
            Self::MessageInvalid {
                session_id,
                msg_seq_num,
                reason,
            } => {
                write!(f, "{session_id}: message ")?;
                if let Some(seq) = msg_seq_num {
                    write!(f, "{seq} ")?;
                }
                write!(f, "invalid: {reason}")
            }
            Self::MessagesNotResent {
                session_id,
                begin,
                end,
            } => write!(
                f,
                "{session_id}: MsgSeqNum {begin} to {end} asked for again but no longer \
                 stored; skipped with a gap fill"
            ),
            Self::StoreError { session_id, detail } => {
                write!(
                    f,
                    "{session_id}: the file store could not be written ({detail})"
                )
            }
            Self::LogOverflow { session_id, lost } => write!(
                f,
                "{session_id}: {lost} log lines not written, the log writer fell behind"
            ),
            Self::SessionReset { session_id, reason } => write!(
                f,
                "{session_id}: sequence numbers start again at 1 ({reason})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_interface() {
        let id = SessionId::new("FIX.4.4", "A", "B");
        let lost = EventKind::ConnectionLost {
            session_id: id.clone(),
            remote_host: "127.0.0.1".into(),
            code: ErrorCode::ConnectionLost,
            error_detail: "peer closed the connection".into(),
        };
        assert_eq!(lost.name(), "fix.connection.lost");
        assert_eq!(lost.code(), Some(ErrorCode::ConnectionLost));
        let stopped = EventKind::ConnectionStopped {
            connection_type: ConnectionType::Acceptor,
        };
        assert_eq!(stopped.name(), "fix.connection.stopped");
        assert_eq!(stopped.code(), None);
        assert_eq!(
            EventKind::Logon { session_id: id }.name(),
            "fix.session.logon"
        );
        let at = UtcTimestamp::from_unix_micros(1);
        assert_eq!(Event::new(at, stopped).name(), "fix.connection.stopped");
    }

    /// `kind` at 2026-12-02T01:02:03.456789Z, as a line.
    fn line(kind: EventKind) -> String {
        Event::new(UtcTimestamp::from_unix_micros(1_796_173_323_456_789), kind).to_string()
    }

    #[test]
    fn events_read_as_sentences() {
        let id = SessionId::new("FIX.4.4", "A", "B");
        let lost = EventKind::ConnectionLost {
            session_id: id.clone(),
            remote_host: "127.0.0.1".into(),
            code: ErrorCode::ConnectionLost,
            error_detail: "peer closed the connection".into(),
        };
        assert_eq!(
            line(lost),
            "2026-12-02T01:02:03.456789Z fix.connection.lost FIX.4.4:A->B 127.0.0.1: peer \
             closed the connection"
        );
        let failed = EventKind::ConnectionFailed {
            session_id: id.clone(),
            remote_host: "127.0.0.1".into(),
            remote_port: 5001,
            code: ErrorCode::ConnectionRefused,
            error_detail: "Connection refused (os error 111)".into(),
        };
        assert_eq!(
            failed.to_string(),
            "FIX.4.4:A->B 127.0.0.1:5001: Connection refused (os error 111)"
        );
        let error = EventKind::ConnectionError {
            remote_host: "10.0.0.7".into(),
            code: ErrorCode::ConnectionRefused,
            error_detail: "first message is not a Logon".into(),
        };
        assert_eq!(
            error.to_string(),
            "10.0.0.7: first message is not a Logon (CONNECTION_REFUSED)"
        );
        let escalation = EventKind::ConnectionEscalation {
            source: ErrorSource::Port(5001),
            count: 6,
            window: Duration::from_secs(60),
        };
        assert_eq!(
            escalation.to_string(),
            "port 5001, connections no session claimed: 6 connection errors within 60 s, more \
             than 5"
        );
        let stopped = EventKind::ConnectionStopped {
            connection_type: ConnectionType::Initiator,
        };
        assert_eq!(stopped.to_string(), "the initiators stopped");
        assert_eq!(
            EventKind::Logon { session_id: id }.to_string(),
            "FIX.4.4:A->B: logged on"
        );
    }
}

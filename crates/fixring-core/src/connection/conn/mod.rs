//! One configured session's connection: everything its socket's bytes go through.

mod ending;
mod input;
mod transmit;
mod window;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::capture::{Capture, Captured};
use super::escalation::ErrorRate;
use super::initiator::{InitiatorSchedule, ScheduleError};
use super::link::Link;
use super::state::{ConnectionState, Lifecycle, TransitionError};
use crate::codec::Framer;
use crate::config::{ConnectionType, HostConfig, Role, SessionConfig};
use crate::session::{SendError, Session};
use crate::tls::{ClientConfig, TlsSetupError};
use crate::{ErrorSource, EventKind, Instant, SessionId, WallClock};
use window::SessionWindow;

pub use input::Deliver;
pub use transmit::{Reply, Sent};

/// Messages a connection holds for a full send buffer before it refuses new ones.
pub const BACKLOG_LIMIT: usize = 65_536;

/// A message the application handed over: its MsgType and encoded body fields. The
/// connection adds the header and the trailer when it goes out.
pub trait Outgoing {
    /// MsgType (35).
    fn msg_type(&self) -> &[u8];
    /// Body fields, `tag=value<SOH>`…, without header or trailer.
    fn body(&self) -> &[u8];
}

/// What a [`Connection`] asks of its caller, in order; see [`Connection::poll_output`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Output<M> {
    /// Report this event to the application, as an [`crate::Event`] stamped with the
    /// caller's wall-clock time at the `now` it polled with.
    Event(EventKind),
    /// This message handed over will never go: give it back to the application.
    NotSent(M, SendError),
    /// Close the socket (if it is still open) and forget it; an acceptor's session is free
    /// for its peer's next Logon. Everything the connection had to say is in the send buffer.
    Close,
    /// Open a socket to `host` (binding its source address when set), then report
    /// [`Connection::handle_connecting`] or [`Connection::handle_connect_failed`]; the
    /// attempt is abandoned (a later `Close`) after `timeout`.
    Connect {
        /// The host to connect to.
        host: HostConfig,
        /// How long the attempt may take.
        timeout: Duration,
    },
    /// The lifecycle refused a transition the connection asked for; the state is unchanged.
    /// Nothing else is affected, but it points at events reported out of order.
    Refused(TransitionError),
}

/// Why a [`Connection`] could not be built from its configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// The initiator's TLS client could not be set up.
    Tls(TlsSetupError),
    /// The initiator has no host to connect to.
    Schedule(ScheduleError),
}

impl SetupError {
    /// The interface error code this maps onto: [`crate::ErrorCode::ConfigError`].
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Tls(error) => error.code(),
            Self::Schedule(error) => error.code(),
        }
    }
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tls(error) => error.fmt(f),
            Self::Schedule(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Tls(error) => Some(error),
            Self::Schedule(error) => Some(error),
        }
    }
}

/// How a connection gets its sockets.
#[derive(Debug)]
enum Side {
    /// It connects, by its schedule, with its TLS client set-up and configured server name.
    Initiator {
        schedule: Box<InitiatorSchedule>,
        hosts: Vec<HostConfig>,
        tls: Option<(Arc<ClientConfig>, Option<String>)>,
    },
    /// Its peer connects; a router hands it the socket on the peer's Logon.
    Acceptor { lifecycle: Lifecycle },
}

/// One configured session's connection, sans-IO: at most one socket at a time, and
/// everything that socket's bytes go through.
///
/// A `Connection` lives as long as its configured session. It owns the session (whose
/// sequence numbers and message store carry on from one socket to the next), the current
/// socket's [`Link`] (peer, TLS state, undelivered plaintext), the framer, the send order
/// (the session's own messages, a resend included, before the application's waiting ones)
/// with its backlog, and the connection lifecycle: an initiator's schedule of attempts and
/// hosts, or an acceptor's state.
///
/// Inputs are `handle_*` calls with the current [`Instant`] and, where bytes move, the
/// socket's buffers ([`super::Lent`]); outputs are [`Connection::poll_transmit`] (bytes into
/// the send buffer), [`Connection::poll_output`] (events, messages given back, sockets to
/// open or close, in order) and [`Connection::poll_timeout`].
#[derive(Debug)]
pub struct Connection<M> {
    session: Session,
    side: Side,
    framer: Framer,
    link: Option<Link>,
    backlog: VecDeque<M>,
    output: VecDeque<Output<M>>,
    logout_timeout: Duration,
    /// Garbled messages the peer sent, skipped without being counted.
    garbled: u64,
    /// The engine's stop began: the connection's end is the stop's, not a loss.
    stopping: bool,
    /// The session's schedule (StartTime, EndTime, …) and what it says now.
    window: SessionWindow,
    /// A copy of every message in and out, once the caller asked for one.
    capture: Option<Capture>,
    /// The connection errors reported, for `fix.connection.escalation`.
    errors: ErrorRate,
}

impl<M: Outgoing> Connection<M> {
    /// The connection of `config`, stamping SendingTime from `wall`; `max_message` is the
    /// largest message it frames (the size of the socket's receive buffer).
    pub fn new(
        config: &SessionConfig,
        wall: WallClock,
        max_message: usize,
    ) -> Result<Self, SetupError> {
        let side = match &config.role {
            Role::Initiator(initiator) => {
                let tls = match &config.tls {
                    Some(tls) => Some((
                        crate::tls::client_config(tls).map_err(SetupError::Tls)?,
                        tls.server_name.clone(),
                    )),
                    None => None,
                };
                Side::Initiator {
                    schedule: Box::new(
                        InitiatorSchedule::new(initiator).map_err(SetupError::Schedule)?,
                    ),
                    hosts: initiator.hosts.clone(),
                    tls,
                }
            }
            Role::Acceptor(_) => Side::Acceptor {
                lifecycle: Lifecycle::new(ConnectionType::Acceptor),
            },
        };
        Ok(Self {
            session: Session::new(config, wall),
            side,
            framer: Framer::new(max_message).validating(config.rules.validate_length_and_checksum),
            link: None,
            backlog: VecDeque::new(),
            output: VecDeque::new(),
            logout_timeout: config.logout_timeout,
            garbled: 0,
            stopping: false,
            window: SessionWindow::new(config.schedule.clone(), wall),
            capture: None,
            errors: ErrorRate::new(),
        })
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, to restore it from a store before it first connects.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The session's identity.
    pub fn id(&self) -> &SessionId {
        self.session.id()
    }

    /// Whether this is an acceptor's or an initiator's session.
    pub fn connection_type(&self) -> ConnectionType {
        match self.side {
            Side::Initiator { .. } => ConnectionType::Initiator,
            Side::Acceptor { .. } => ConnectionType::Acceptor,
        }
    }

    /// The connection state (`connection_state`): stopped, pending, connected or
    /// disconnected, with what is known in it.
    pub fn state(&self) -> ConnectionState {
        match &self.side {
            Side::Initiator { schedule, .. } => *schedule.state(),
            Side::Acceptor { lifecycle } => *lifecycle.state(),
        }
    }

    /// How long a Logout of ours waits for its answer.
    pub fn logout_timeout(&self) -> Duration {
        self.logout_timeout
    }

    /// The current socket's link, while there is one (connecting, or connected).
    pub fn link(&self) -> Option<&Link> {
        self.link.as_ref()
    }

    /// Whether an initiator's attempt is under way and has no socket yet (its host name is
    /// being looked up).
    pub fn is_connecting(&self) -> bool {
        match &self.side {
            Side::Initiator { schedule, .. } => {
                schedule.state().is_pending() && self.link.is_none()
            }
            Side::Acceptor { .. } => false,
        }
    }

    /// How many garbled messages (a bad CheckSum or BodyLength, fields out of order, bytes
    /// before `8=`) the peer has sent since the engine started: each was skipped, its
    /// MsgSeqNum not counted, as the FIX session rules ask.
    pub fn garbled_messages(&self) -> u64 {
        self.garbled
    }

    /// From now on keeps a copy of every whole message received (each one that frames, before
    /// it is parsed: one whose fields do not parse too) and sent (each message as it goes into the send buffer,
    /// resends included), for [`Connection::poll_captured`].
    pub fn capture_messages(&mut self) {
        self.capture.get_or_insert_with(Capture::default);
    }

    /// Hands every message captured since the last call to `f`, in the order they were
    /// received and sent, and forgets them.
    pub fn poll_captured(&mut self, f: impl FnMut(Captured<'_>)) {
        if let Some(capture) = &mut self.capture {
            capture.drain(f);
        }
    }

    /// Messages handed over and waiting for room in the send buffer.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Starts an initiator's schedule: its first attempt is due at once, or when the
    /// session's window opens. An acceptor waits for its peer. Sequence numbers kept from a
    /// session period that is over start again.
    pub fn start(&mut self, now: Instant) {
        self.stopping = false;
        let open = self.start_window(now);
        if let Side::Initiator { schedule, .. } = &mut self.side
            && open
            && schedule.state().is_stopped()
        {
            schedule.start(now);
        }
    }

    /// The earliest deadline of the session's timers, the initiator's schedule and the
    /// session's window (its next boundary).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.timers_timeout();
        match (timers, self.window_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest deadline of the session's and the initiator schedule's timers.
    fn timers_timeout(&self) -> Option<Instant> {
        let session = self.session.poll_timeout();
        match (&self.side, session) {
            (Side::Acceptor { .. }, _) => session,
            (Side::Initiator { schedule, .. }, None) => schedule.poll_timeout(),
            (Side::Initiator { schedule, .. }, Some(deadline)) => Some(
                schedule
                    .poll_timeout()
                    .map_or(deadline, |other| other.min(deadline)),
            ),
        }
    }

    /// Runs the session's timers that have expired by `now` (Heartbeat, TestRequest,
    /// LogonTimeout, LogoutTimeout) and the session window's boundary (a Logout when it
    /// closes); the initiator schedule's are run by [`Connection::poll_output`]. What they
    /// queue (a Heartbeat, a TestRequest, a Logout, the close of a session that gave up)
    /// happens at the next [`Connection::poll_transmit`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.window_deadline().is_some_and(|d| d <= now) {
            self.check_window(now);
        }
        if self.session.poll_timeout().is_some_and(|d| d <= now) {
            self.session.handle_timeout(now);
            self.collect_session_events();
        }
    }

    /// The next thing the caller must do, in order: report an event, give a message back,
    /// close the socket, open one. An initiator's schedule is consulted once the rest is
    /// done, so a reconnect comes after the events of the connection it replaces.
    ///
    /// The sixth connection error (`fix.connection.lost`, `failed` or `error`) within
    /// [`ErrorRate::WINDOW`], counted at the `now` it is polled at, is followed at once by
    /// `fix.connection.escalation`.
    pub fn poll_output(&mut self, now: Instant) -> Option<Output<M>> {
        let output = match self.output.pop_front() {
            Some(output) => output,
            None => {
                self.follow_window(now);
                self.poll_schedule(now);
                self.output.pop_front()?
            }
        };
        if let Output::Event(kind) = &output
            && kind.is_connection_error()
            && let Some(count) = self.errors.record(now)
        {
            let escalation = EventKind::ConnectionEscalation {
                source: ErrorSource::Session(self.session.id().clone()),
                count: count as u64,
                window: ErrorRate::WINDOW,
            };
            self.output.push_front(Output::Event(escalation));
        }
        Some(output)
    }

    /// Hands the session's events on, adding `fix.connection.established` before a Logon.
    fn collect_session_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            if let EventKind::Logon { session_id } = &event {
                let link = self.link.as_ref();
                let peer = link.and_then(Link::peer);
                self.output
                    .push_back(Output::Event(EventKind::ConnectionEstablished {
                        session_id: session_id.clone(),
                        remote_host: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                        remote_port: peer.map(|p| p.port()).unwrap_or_default(),
                        is_ssl: link.is_some_and(Link::is_tls),
                    }));
            }
            self.output.push_back(Output::Event(event));
        }
    }

    /// Keeps a refused transition for the caller.
    fn refused(&mut self, result: Result<(), TransitionError>) {
        if let Err(error) = result {
            self.output.push_back(Output::Refused(error));
        }
    }

    /// Whether the socket is up (TCP connected, and TLS too for an initiator), logged on or
    /// not.
    fn is_connected(&self) -> bool {
        match &self.side {
            Side::Initiator { schedule, .. } => schedule.state().is_connected(),
            Side::Acceptor { lifecycle } => lifecycle.state().is_connected(),
        }
    }
}

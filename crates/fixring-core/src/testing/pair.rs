//! An initiator and an acceptor connection joined in memory on a virtual clock.

use std::sync::Arc;
use std::time::Duration;

use super::links::{Slot, Socket};
use crate::codec::Message;
use crate::config::{HostConfig, SessionConfig};
use crate::connection::{Connection, Outgoing, Port, Router, SetupError, TransitionError};
use crate::session::SendError;
use crate::tls::ServerConfig;
use crate::{Event, EventKind, Instant, UtcTimestamp, WallClock};

/// The acceptor connection's number in the [`Router`].
pub(super) const ACCEPTOR: usize = 0;

/// Steps [`Pair::drive`] takes before it gives up on the pair settling.
const DRIVE_LIMIT: usize = 200;

/// Deadlines [`Pair::advance`] fires before it gives up on the timers settling.
const TIMER_LIMIT: usize = 10_000;

/// An application message handed to a connection: its MsgType and encoded body fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppMessage {
    msg_type: Vec<u8>,
    body: Vec<u8>,
}

impl AppMessage {
    /// A message of type `msg_type` with the body fields `body` (`tag=value<SOH>`…).
    pub fn new(msg_type: &[u8], body: &[u8]) -> Self {
        Self {
            msg_type: msg_type.to_vec(),
            body: body.to_vec(),
        }
    }
}

impl Outgoing for AppMessage {
    fn msg_type(&self) -> &[u8] {
        &self.msg_type
    }

    fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Which side of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The initiator.
    Initiator,
    /// The acceptor: its connection's socket, or the socket its router holds until the
    /// first Logon.
    Acceptor,
}

/// How a [`Pair`] is built.
#[derive(Debug)]
pub struct PairConfig {
    /// The initiator's session; its host is where the harness "connects", its TLS settings
    /// (files) set up the initiator's TLS client.
    pub initiator: SessionConfig,
    /// The acceptor's session, the only one behind the router's port.
    pub acceptor: SessionConfig,
    /// The TLS server set-up of the router's port; `None` for a plain-text port.
    pub server_tls: Option<Arc<ServerConfig>>,
    /// The size of each socket's receive buffer and of its send buffer, which is also the
    /// largest message the connections frame.
    pub buffer_size: usize,
    /// The mapping of the virtual clock to UTC, for SendingTime.
    pub wall: WallClock,
}

impl PairConfig {
    /// Plain text, 16 KiB buffers, and the virtual clock's zero at 2026-11-26T00:00:00Z.
    pub fn new(initiator: SessionConfig, acceptor: SessionConfig) -> Self {
        Self {
            initiator,
            acceptor,
            server_tls: None,
            buffer_size: 16 * 1024,
            wall: WallClock::new(
                Instant::ZERO,
                UtcTimestamp::from_unix_millis(1_795_651_200_000),
            ),
        }
    }
}

/// One side of a [`Pair`]: its connection and everything the connection reported.
#[derive(Debug)]
pub struct Side {
    /// The connection; a test calls it directly to send, stop or look at its session.
    pub conn: Connection<AppMessage>,
    /// Events reported with `Output::Event`, in order, stamped with the virtual clock's
    /// wall-clock time.
    pub events: Vec<Event>,
    /// Messages given back with `Output::NotSent`, in order.
    pub not_sent: Vec<(AppMessage, SendError)>,
    /// Why this side closed its socket itself, last time it did: the detail of the event
    /// that came with the close (the Logout's reason, or the loss's, failure's or error's
    /// detail), empty when none came. Closes the harness caused (the peer's, a lost link,
    /// a replacement) do not count.
    pub closed: Option<String>,
    /// Hosts the connection asked to connect to with `Output::Connect`.
    pub connects: Vec<HostConfig>,
    /// Transitions the lifecycle refused (`Output::Refused`): none when events come in order.
    pub refused: Vec<TransitionError>,
    /// The application messages delivered through `Deliver::application`, whole.
    pub delivered: Vec<Vec<u8>>,
    /// Every message the connection wrote to a plain-text socket, whole, whether it reached
    /// the peer or not. A TLS socket's bytes are sealed and are not recorded.
    pub written: Vec<Vec<u8>>,
    /// When set, the side neither reads nor writes: what it writes is lost, what is sent to
    /// it is lost, and its closes never reach the peer (nor the peer's closes it). A peer
    /// gone silent.
    pub muted: bool,
    pub(super) socket: Option<Socket>,
    /// A close of its own came, and the event saying why has not yet.
    pub(super) awaiting_reason: bool,
}

impl Side {
    fn new(conn: Connection<AppMessage>) -> Self {
        Self {
            conn,
            events: Vec::new(),
            not_sent: Vec::new(),
            closed: None,
            connects: Vec::new(),
            refused: Vec::new(),
            delivered: Vec::new(),
            written: Vec::new(),
            muted: false,
            socket: None,
            awaiting_reason: false,
        }
    }

    /// What each of [`Side::events`] reported, in order, without the time.
    pub fn kinds(&self) -> Vec<EventKind> {
        self.events.iter().map(|e| e.kind.clone()).collect()
    }

    /// The MsgType of every message in [`Side::written`], in order.
    pub fn sent(&self) -> Vec<String> {
        self.written
            .iter()
            .filter_map(|frame| Message::parse(frame).ok())
            .map(|msg| String::from_utf8_lossy(msg.msg_type()).into_owned())
            .collect()
    }

    /// How many messages of type `msg_type` the side wrote.
    pub fn sent_count(&self, msg_type: &str) -> usize {
        self.sent().iter().filter(|t| *t == msg_type).count()
    }

    /// Whether the side has a socket: connected, or (the acceptor) routed and not closed.
    pub fn has_socket(&self) -> bool {
        self.socket.is_some()
    }

    /// Keeps an event, and the reason of a close of its own that it gives.
    pub(super) fn record_event(&mut self, event: Event) {
        let detail = match &event.kind {
            EventKind::ConnectionLost { error_detail, .. }
            | EventKind::ConnectionFailed { error_detail, .. }
            | EventKind::ConnectionError { error_detail, .. } => Some(error_detail),
            EventKind::Logout { reason, .. } => Some(reason),
            _ => None,
        };
        if let Some(detail) = detail
            && std::mem::take(&mut self.awaiting_reason)
        {
            self.closed = Some(detail.clone());
        }
        self.events.push(event);
    }

    /// A close of its own: its reason is in the next event that gives one.
    pub(super) fn record_close(&mut self) {
        self.closed = Some(String::new());
        self.awaiting_reason = true;
    }
}

/// An initiator [`Connection`] and an acceptor one, joined by in-memory links on a virtual
/// clock, like quinn-proto's test pair.
///
/// The initiator's `Output::Connect` opens a link: a [`super::MemorySocket`] on each side,
/// the acceptor's held by a [`Router`] (with the acceptor as its only session) until the
/// first Logon routes it to the acceptor connection. Bytes move from one side's send buffer
/// into the other's receive buffer as far as it has room. `Output::Close` takes the link
/// down like a TCP close: what the closing side wrote still reaches its peer, which then
/// gets `handle_closed`. The harness answers the first connect of [`Pair::connect`], and
/// later ones only when [`Pair::reconnect`] is set.
///
/// Every loop is bounded: [`Pair::drive`] and [`Pair::advance`] panic when the pair does not
/// settle.
#[derive(Debug)]
pub struct Pair {
    /// The initiator side.
    pub initiator: Side,
    /// The acceptor side.
    pub acceptor: Side,
    /// The virtual clock: every call into the connections is made at this instant.
    pub clock: Instant,
    /// Whether the harness answers the initiator's later `Output::Connect`s by connecting
    /// (off: they are recorded and left to time out).
    pub reconnect: bool,
    /// Events of the router: sockets it refused.
    pub router_events: Vec<Event>,
    /// The wall-clock time of the virtual clock, which stamps the events.
    pub(super) wall: WallClock,
    pub(super) router: Router<u64>,
    /// The acceptor's sockets held by the router, until their first Logon routes them.
    pub(super) pending: Vec<Socket>,
    pub(super) scratch: Vec<u8>,
    pub(super) buffer_size: usize,
    pub(super) initiator_tls: bool,
    pub(super) acceptor_tls: bool,
    /// Links opened so far; each link's number keys its acceptor socket in the router.
    pub(super) links: u64,
}

impl Pair {
    /// The two connections of `config`, not connected.
    pub fn new(config: PairConfig) -> Result<Self, SetupError> {
        let size = config.buffer_size;
        let initiator = Connection::new(&config.initiator, config.wall, size)?;
        let acceptor = Connection::new(&config.acceptor, config.wall, size)?;
        let port = Port {
            number: match &config.acceptor.role {
                crate::config::Role::Acceptor(acceptor) => acceptor.accept_port,
                crate::config::Role::Initiator(_) => 0,
            },
            sessions: vec![(ACCEPTOR, acceptor.id().clone())],
            logon_timeout: config.acceptor.logon_timeout,
            tls: config.server_tls.clone(),
            allowed: config
                .acceptor
                .allowed_remote_addresses
                .clone()
                .map(|addresses| vec![(ACCEPTOR, addresses)])
                .unwrap_or_default(),
            templates: Vec::new(),
        };
        Ok(Self {
            initiator: Side::new(initiator),
            acceptor: Side::new(acceptor),
            clock: Instant::ZERO,
            reconnect: false,
            router_events: Vec::new(),
            wall: config.wall,
            router: Router::new(vec![port], size, crate::config::Admission::default()),
            pending: Vec::new(),
            scratch: vec![0; size],
            buffer_size: size,
            initiator_tls: config.initiator.tls.is_some(),
            acceptor_tls: config.server_tls.is_some(),
            links: 0,
        })
    }

    /// What each of [`Pair::router_events`] reported, in order, without the time.
    pub fn router_kinds(&self) -> Vec<EventKind> {
        self.router_events.iter().map(|e| e.kind.clone()).collect()
    }

    /// Starts the initiator, and connects at once for the attempt it asks for.
    pub fn connect(&mut self) {
        self.initiator.conn.start(self.clock);
        self.outputs(End::Initiator, true, true);
    }

    /// Reads what every socket received, transmits what every connection has to say, handles
    /// their outputs and moves bytes across the links once. Returns whether anything
    /// happened.
    pub fn step(&mut self) -> bool {
        let mut progress = self.route();
        for end in [End::Acceptor, End::Initiator] {
            progress |= self.read(end, false);
        }
        for end in [End::Initiator, End::Acceptor] {
            progress |= self.transmit(end);
        }
        for end in [End::Initiator, End::Acceptor] {
            progress |= self.outputs(end, true, false);
        }
        progress | self.carry()
    }

    /// Steps until nothing happens; panics if the pair does not settle.
    pub fn drive(&mut self) {
        for _ in 0..DRIVE_LIMIT {
            if !self.step() {
                return;
            }
        }
        panic!("the pair did not settle in {DRIVE_LIMIT} steps");
    }

    /// Moves the clock on by `by`, stopping at every deadline of the connections and the
    /// router on the way to fire it at that exact instant, and drives after each.
    pub fn advance(&mut self, by: Duration) {
        let end = self.clock + by;
        for _ in 0..TIMER_LIMIT {
            let next = [
                self.initiator.conn.poll_timeout(),
                self.acceptor.conn.poll_timeout(),
                self.router.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .filter(|&deadline| deadline <= end)
            .min();
            let Some(deadline) = next else {
                self.clock = end;
                self.drive();
                return;
            };
            self.clock = self.clock.max(deadline);
            self.fire();
            self.drive();
        }
        panic!("the timers did not settle in {TIMER_LIMIT} deadlines");
    }

    /// Puts `bytes` into the receive buffer of `end`'s newest socket, as if its peer had sent
    /// them (plain-text links only: a TLS socket expects records). On the acceptor's side the
    /// newest is the last socket the router holds, or else the connection's. Panics when
    /// there is no socket or no room.
    pub fn inject(&mut self, end: End, bytes: &[u8]) {
        let socket = match end {
            End::Initiator => self.initiator.socket.as_mut(),
            End::Acceptor => self.pending.last_mut().or(self.acceptor.socket.as_mut()),
        };
        let socket = socket.unwrap_or_else(|| panic!("the {end:?} has no socket"));
        let taken = socket.buffers.receive(bytes);
        assert_eq!(taken, bytes.len(), "the {end:?}'s receive buffer is full");
    }

    /// The link dies under the initiator: its socket reports closed, while the acceptor's
    /// end stays open and hears nothing more (a half-open link, until the acceptor's own
    /// timers notice).
    pub fn lose_link(&mut self) {
        if let Some(socket) = self.initiator.socket.take() {
            self.discard(End::Initiator, socket);
            let now = self.clock;
            self.initiator
                .conn
                .handle_closed(now, "connection reset".to_owned());
            self.outputs(End::Initiator, false, false);
        }
    }

    /// How many sockets the router holds, waiting for their first Logon.
    pub fn pending_sockets(&self) -> usize {
        self.pending.len()
    }

    pub(super) fn side_mut(&mut self, end: End) -> &mut Side {
        match end {
            End::Initiator => &mut self.initiator,
            End::Acceptor => &mut self.acceptor,
        }
    }

    /// Runs every timer due at the clock: the connections' and the router's.
    fn fire(&mut self) {
        let now = self.clock;
        self.initiator.conn.handle_timeout(now);
        self.acceptor.conn.handle_timeout(now);
        let mut overdue = Vec::new();
        self.router.handle_timeout(now, |key| overdue.push(key));
        self.collect_router_events();
        for key in overdue {
            self.close(Slot::Pending(key));
        }
    }
}

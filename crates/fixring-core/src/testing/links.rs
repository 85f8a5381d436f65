//! How a [`Pair`] moves bytes: opening links, reading, transmitting, routing, carrying bytes
//! across, and closing like TCP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::pair::{ACCEPTOR, AppMessage, End, Pair, Side};
use super::socket::{MemorySendBuffer, MemorySocket};
use crate::codec::{Framer, Message};
use crate::config::HostConfig;
use crate::connection::framing::read_messages;
use crate::connection::{Deliver, Lent, Output, Reply, Routed};
use crate::{Event, SessionId};

/// Outputs one connection may queue at once before the harness gives up on it.
const OUTPUT_LIMIT: usize = 100_000;

/// Rounds of a closing socket's last bytes to its peer before the rest is lost.
const FLUSH_LIMIT: usize = 1_000;

/// Where the harness's sockets are: the initiator's, the acceptor connection's, and those
/// the router holds (by link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Initiator,
    Acceptor,
    Pending(u64),
}

impl Slot {
    fn end(self) -> End {
        match self {
            Self::Initiator => End::Initiator,
            Self::Acceptor | Self::Pending(_) => End::Acceptor,
        }
    }
}

/// One end of a link: the socket's buffers, and what it wrote not yet framed.
#[derive(Debug)]
pub(super) struct Socket {
    /// The link the socket belongs to; its peer is the other side's socket of that link.
    pub(super) link: u64,
    pub(super) buffers: MemorySocket,
    tls: bool,
    /// Bytes written and taken, short of a whole message.
    outbound: Vec<u8>,
}

impl Socket {
    fn new(link: u64, size: usize, tls: bool) -> Self {
        Self {
            link,
            buffers: MemorySocket::new(size),
            tls,
            outbound: Vec::new(),
        }
    }

    /// Takes up to `max` bytes out of the send buffer, keeping each whole plain-text message
    /// in `written`; panics on bytes that are not FIX.
    fn take_sent(&mut self, max: usize, written: &mut Vec<Vec<u8>>) -> Vec<u8> {
        let bytes = self.buffers.take_sent(max);
        if self.tls {
            return bytes;
        }
        self.outbound.extend_from_slice(&bytes);
        let framer = Framer::new(self.buffers.capacity());
        let framed = read_messages(&framer, &self.outbound, false, |_, msg| {
            if let Some(msg) = msg {
                written.push(msg.as_bytes().to_vec());
            }
            true
        });
        if let Some(violation) = framed.violation {
            panic!("a connection wrote bytes that are not FIX: {violation}");
        }
        assert_eq!(framed.skipped, 0, "a connection wrote garbled bytes");
        let consumed = framed.consumed;
        self.outbound.drain(..consumed);
        bytes
    }
}

/// Keeps what a connection delivers.
struct Recorder<'a> {
    delivered: &'a mut Vec<Vec<u8>>,
}

impl Deliver<AppMessage, MemorySendBuffer> for Recorder<'_> {
    fn application(&mut self, _reply: Reply<'_, AppMessage, MemorySendBuffer>, msg: &Message<'_>) {
        self.delivered.push(msg.as_bytes().to_vec());
    }

    fn admin(&mut self, _session: &SessionId, _msg: &Message<'_>) {}
}

impl Pair {
    /// Handles every output `end`'s connection has; `own` says whether a close among them
    /// is the side's own, `connect` whether a connect is answered even without
    /// [`Pair::reconnect`]. Returns whether there was any.
    pub(super) fn outputs(&mut self, end: End, own: bool, connect: bool) -> bool {
        for count in 0..OUTPUT_LIMIT {
            let now = self.clock;
            let Some(output) = self.side_mut(end).conn.poll_output(now) else {
                return count > 0;
            };
            match output {
                Output::Event(kind) => {
                    let event = Event::new(self.wall.utc_at(now), kind);
                    self.side_mut(end).record_event(event);
                }
                Output::NotSent(msg, error) => self.side_mut(end).not_sent.push((msg, error)),
                Output::Close => {
                    if own {
                        self.side_mut(end).record_close();
                    }
                    let slot = match end {
                        End::Initiator => Slot::Initiator,
                        End::Acceptor => Slot::Acceptor,
                    };
                    self.close(slot);
                    if end == End::Acceptor {
                        self.router.release(ACCEPTOR);
                    }
                }
                Output::Connect { host, .. } => {
                    self.side_mut(end).connects.push(host.clone());
                    if connect || self.reconnect {
                        self.open(&host);
                    }
                }
                Output::Refused(error) => self.side_mut(end).refused.push(error),
            }
        }
        panic!("the {end:?}'s outputs did not run dry");
    }

    /// Opens a link to `host`: the initiator's socket connects at once, and the router
    /// accepts the other end.
    fn open(&mut self, host: &HostConfig) {
        let now = self.clock;
        self.links += 1;
        let link = self.links;
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let server = SocketAddr::new(host.host.parse().unwrap_or(localhost), host.port);
        let port = 40_000 + u16::try_from(link % 20_000).unwrap_or_default();
        let client = SocketAddr::new(localhost, port);
        self.initiator.conn.handle_connecting(server);
        self.initiator.socket = Some(Socket::new(link, self.buffer_size, self.initiator_tls));
        let accepted = self.router.handle_accepted(now, link, 0, client);
        self.collect_router_events();
        if accepted {
            let socket = Socket::new(link, self.buffer_size, self.acceptor_tls);
            self.pending.push(socket);
        }
        let Self {
            initiator, scratch, ..
        } = self;
        if let Some(socket) = initiator.socket.as_mut() {
            let mut lent = Lent {
                socket: &mut socket.buffers,
                scratch,
            };
            initiator.conn.handle_connected(now, server, &mut lent);
        }
        if !accepted {
            self.peer_closed(End::Initiator, link);
        }
    }

    /// `end`'s side and the scratch buffer its connection is lent.
    fn side_and_scratch(&mut self, end: End) -> (&mut Side, &mut [u8]) {
        let Self {
            initiator,
            acceptor,
            scratch,
            ..
        } = self;
        match end {
            End::Initiator => (initiator, scratch),
            End::Acceptor => (acceptor, scratch),
        }
    }

    /// Lets `end`'s connection read what its socket received (`force`: even nothing, for
    /// the plaintext a routed TLS link brings along). Returns whether it consumed bytes.
    pub(super) fn read(&mut self, end: End, force: bool) -> bool {
        let now = self.clock;
        let (side, scratch) = self.side_and_scratch(end);
        let Some(socket) = side.socket.as_mut() else {
            return false;
        };
        let before = socket.buffers.received().len();
        if before == 0 && !force {
            return false;
        }
        let mut lent = Lent {
            socket: &mut socket.buffers,
            scratch,
        };
        let mut recorder = Recorder {
            delivered: &mut side.delivered,
        };
        side.conn.handle_received(now, &mut lent, &mut recorder);
        socket.buffers.received().len() != before
    }

    /// Lets `end`'s connection write what it has to say. Returns whether it wrote.
    pub(super) fn transmit(&mut self, end: End) -> bool {
        let now = self.clock;
        let (side, scratch) = self.side_and_scratch(end);
        let Some(socket) = side.socket.as_mut() else {
            return false;
        };
        let before = socket.buffers.queued();
        let mut lent = Lent {
            socket: &mut socket.buffers,
            scratch,
        };
        side.conn.poll_transmit(now, &mut lent, &mut drop);
        socket.buffers.queued() != before
    }

    /// Routes every socket the router holds that received bytes. Returns whether any
    /// progressed.
    pub(super) fn route(&mut self) -> bool {
        let links: Vec<u64> = self.pending.iter().map(|socket| socket.link).collect();
        let mut progress = false;
        for link in links {
            progress |= self.route_one(link);
        }
        progress
    }

    /// Lets the router read socket `link`; a Logon for a silent connection replaces it and
    /// is routed again.
    fn route_one(&mut self, link: u64) -> bool {
        let mut replaced = false;
        for _ in 0..2 {
            let now = self.clock;
            let Self {
                router,
                pending,
                acceptor,
                scratch,
                ..
            } = self;
            let Some(index) = pending.iter().position(|socket| socket.link == link) else {
                return replaced;
            };
            let Some(socket) = pending.get_mut(index) else {
                return replaced;
            };
            let before = socket.buffers.received().len();
            if before == 0 && !replaced {
                return false;
            }
            // A TLS handshake step runs on another thread, as the engine runs it off its loop.
            let step = router
                .take_handshake(link, &mut &mut socket.buffers)
                .map(|mut step| {
                    std::thread::scope(|scope| {
                        scope.spawn(|| step.run());
                    });
                    step
                });
            let mut lent = Lent {
                socket: &mut socket.buffers,
                scratch,
            };
            let conn = &acceptor.conn;
            let is_silent = |n| n == ACCEPTOR && conn.session().is_silent(now);
            let routed = match step {
                Some(step) => router.handle_handshake(link, step, &mut lent, true, is_silent),
                None => router.handle_received(link, &mut lent, true, is_silent),
            };
            let consumed = socket.buffers.received().len() != before;
            match routed {
                Routed::Waiting => {
                    self.collect_router_events();
                    return consumed || replaced;
                }
                Routed::Session { link: routed, .. } => {
                    let socket = pending.remove(index);
                    assert!(
                        acceptor.socket.is_none(),
                        "the router routed a socket to a connection that has one"
                    );
                    acceptor.socket = Some(socket);
                    acceptor.conn.handle_accepted(now, routed);
                    self.collect_router_events();
                    self.read(End::Acceptor, true);
                    return true;
                }
                Routed::Replace { .. } => {
                    acceptor.conn.replace(now);
                    self.collect_router_events();
                    self.outputs(End::Acceptor, false, false);
                    replaced = true;
                }
                // The pair's port has no templates: nothing else is routed.
                Routed::Refused | Routed::Template { .. } => {
                    self.collect_router_events();
                    self.close(Slot::Pending(link));
                    return true;
                }
            }
        }
        replaced
    }

    /// Moves bytes across every link once, as far as each receive buffer has room; what a
    /// muted side writes or is sent, and what goes to no peer, is lost. Returns whether any
    /// bytes moved.
    pub(super) fn carry(&mut self) -> bool {
        let mut slots = vec![Slot::Initiator, Slot::Acceptor];
        slots.extend(self.pending.iter().map(|socket| Slot::Pending(socket.link)));
        let mut moved = false;
        for from in slots {
            let Some(link) = self.socket_mut(from).map(|socket| socket.link) else {
                continue;
            };
            let to = self.peer_of(from.end(), link);
            let to = to.filter(|&to| !self.muted(from) && !self.muted(to));
            let room = match to {
                Some(to) => self.socket_mut(to).map_or(0, |s| s.buffers.room()),
                None => usize::MAX,
            };
            let bytes = self.take_sent(from, room);
            if bytes.is_empty() {
                continue;
            }
            moved = true;
            if let Some(socket) = to.and_then(|to| self.socket_mut(to)) {
                socket.buffers.receive(&bytes);
            }
        }
        moved
    }

    /// The socket in `slot` closes: what it wrote still reaches its peer, which reads it
    /// and answers (into the void), then reads the end of the stream. A muted side's close,
    /// or a close towards a muted side, is never seen.
    pub(super) fn close(&mut self, slot: Slot) {
        let Some(mut socket) = self.take_socket(slot) else {
            return;
        };
        let end = slot.end();
        let peer_end = match end {
            End::Initiator => End::Acceptor,
            End::Acceptor => End::Initiator,
        };
        let heard = !self.side_mut(end).muted && !self.side_mut(peer_end).muted;
        for _ in 0..FLUSH_LIMIT {
            let Some(peer) = self.peer_of(end, socket.link).filter(|_| heard) else {
                break;
            };
            let room = self.socket_mut(peer).map_or(0, |s| s.buffers.room());
            let bytes = socket.take_sent(room, &mut self.side_mut(end).written);
            if let Some(peer) = self.socket_mut(peer) {
                peer.buffers.receive(&bytes);
            }
            let read = match peer {
                Slot::Pending(link) => self.route_one(link),
                Slot::Initiator | Slot::Acceptor => self.read(peer_end, false),
            };
            if socket.buffers.queued() == 0 || (bytes.is_empty() && !read) {
                break;
            }
        }
        let link = socket.link;
        self.discard(end, socket);
        if heard {
            self.peer_closed(peer_end, link);
        }
    }

    /// The peer of `end`'s socket of `link` closed: that socket's connection answers what it
    /// read, then reads the end of the stream; a socket the router holds is forgotten.
    fn peer_closed(&mut self, end: End, link: u64) {
        let now = self.clock;
        match self.socket_of(end, link) {
            Some(Slot::Pending(key)) => {
                self.router.handle_closed(key);
                if let Some(socket) = self.take_socket(Slot::Pending(key)) {
                    self.discard(end, socket);
                }
            }
            Some(slot) => {
                self.transmit(end);
                self.outputs(end, true, false);
                if self.socket_of(end, link).is_none() {
                    return;
                }
                if let Some(socket) = self.take_socket(slot) {
                    self.discard(end, socket);
                }
                let detail = "connection closed by peer".to_owned();
                self.side_mut(end).conn.handle_closed(now, detail);
                self.outputs(end, false, false);
            }
            None => {}
        }
    }

    /// Drops a socket of `end`; what it still held to send is lost, though written.
    pub(super) fn discard(&mut self, end: End, mut socket: Socket) {
        socket.take_sent(usize::MAX, &mut self.side_mut(end).written);
    }

    pub(super) fn collect_router_events(&mut self) {
        let at = self.wall.utc_at(self.clock);
        while let Some(kind) = self.router.poll_event(self.clock) {
            self.router_events.push(Event::new(at, kind));
        }
    }

    /// The socket of the side opposite `end` on `link`, if it is still open.
    fn peer_of(&self, end: End, link: u64) -> Option<Slot> {
        match end {
            End::Initiator => self.socket_of(End::Acceptor, link),
            End::Acceptor => self.socket_of(End::Initiator, link),
        }
    }

    /// Where `end`'s socket of `link` is, if it is open.
    fn socket_of(&self, end: End, link: u64) -> Option<Slot> {
        let on = |socket: &Option<Socket>| socket.as_ref().is_some_and(|s| s.link == link);
        match end {
            End::Initiator => on(&self.initiator.socket).then_some(Slot::Initiator),
            End::Acceptor if on(&self.acceptor.socket) => Some(Slot::Acceptor),
            End::Acceptor => self
                .pending
                .iter()
                .any(|socket| socket.link == link)
                .then_some(Slot::Pending(link)),
        }
    }

    fn muted(&self, slot: Slot) -> bool {
        match slot.end() {
            End::Initiator => self.initiator.muted,
            End::Acceptor => self.acceptor.muted,
        }
    }

    fn socket_mut(&mut self, slot: Slot) -> Option<&mut Socket> {
        match slot {
            Slot::Initiator => self.initiator.socket.as_mut(),
            Slot::Acceptor => self.acceptor.socket.as_mut(),
            Slot::Pending(link) => self.pending.iter_mut().find(|s| s.link == link),
        }
    }

    fn take_socket(&mut self, slot: Slot) -> Option<Socket> {
        match slot {
            Slot::Initiator => self.initiator.socket.take(),
            Slot::Acceptor => self.acceptor.socket.take(),
            Slot::Pending(link) => {
                let index = self.pending.iter().position(|s| s.link == link)?;
                Some(self.pending.remove(index))
            }
        }
    }

    /// Takes up to `max` bytes out of the send buffer of `slot`'s socket, keeping the
    /// messages in its side's `written`.
    fn take_sent(&mut self, slot: Slot, max: usize) -> Vec<u8> {
        let (socket, written) = match slot {
            Slot::Initiator => (self.initiator.socket.as_mut(), &mut self.initiator.written),
            Slot::Acceptor => (self.acceptor.socket.as_mut(), &mut self.acceptor.written),
            Slot::Pending(link) => (
                self.pending.iter_mut().find(|s| s.link == link),
                &mut self.acceptor.written,
            ),
        };
        socket.map_or_else(Vec::new, |socket| socket.take_sent(max, written))
    }
}

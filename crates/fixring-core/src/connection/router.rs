//! Which configured session a new socket belongs to: the acceptor's router, sans-IO.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::acceptor::{LogonIdentity, LogonRouter, RouteRefusal, SessionIndex};
use super::escalation::ErrorRate;
use super::flood::FloodReport;
use super::framing::first_message;
use super::io::{Lent, SocketBuffers};
use super::link::{HandshakeStep, Link, Received, looks_like_tls};
use crate::codec::{Framer, msg_type};
use crate::config::Admission;
use crate::session::ProtocolViolation;
use crate::tls::TlsError;
use crate::tls::{ServerConfig, TlsConnection};
use crate::{ErrorCode, ErrorSource, EventKind, Instant, SessionId};

/// One listening port of a [`Router`] and the acceptor sessions behind it.
#[derive(Clone, Debug)]
pub struct Port {
    /// The local TCP port it listens on, which names it in `fix.connection.escalation`.
    pub number: u16,
    /// Each session of the port: the caller's number for its connection, and its identity.
    pub sessions: Vec<(usize, SessionId)>,
    /// How long an accepted socket may take to send its Logon.
    pub logon_timeout: Duration,
    /// The TLS server set-up, on a TLS port.
    pub tls: Option<Arc<ServerConfig>>,
    /// The sessions that take Logons only from some addresses (AllowedRemoteAddresses): the
    /// caller's number for the connection, and the addresses.
    pub allowed: Vec<(usize, Vec<IpAddr>)>,
    /// The port's templates of dynamic sessions (AcceptorTemplate=Y), in the settings' order.
    pub templates: Vec<Template>,
}

/// A template of dynamic sessions on a [`Port`] (QuickFIX/J's AcceptorTemplate=Y).
#[derive(Clone, Debug)]
pub struct Template {
    /// The caller's number for the template.
    pub number: usize,
    /// The template's identity; a field that is `*` matches any value.
    pub id: SessionId,
    /// Its AllowedRemoteAddresses, if it has any.
    pub allowed: Option<Vec<IpAddr>>,
}

/// What [`Router::handle_received`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Routed {
    /// No whole first message yet (or the TLS handshake is still running).
    Waiting,
    /// The first message is a Logon for connection `session`: give it `link` with
    /// [`super::Connection::handle_accepted`], then let it read the Logon.
    Session {
        /// The caller's number for the session's connection.
        session: usize,
        /// The socket's link, handshake done on a TLS port.
        link: Link,
    },
    /// The Logon is for session `session`, whose connection gives way: silent for longer
    /// than its TestRequest point, or (the caller knows) closed by its peer without the
    /// close reported yet. End that connection ([`super::Connection::replace`], or
    /// [`super::Connection::handle_closed`]), and once its socket is closed and the session
    /// released, route this socket again.
    Replace {
        /// The caller's number for the session's connection.
        session: usize,
    },
    /// The Logon is for no configured session, and fits template `template`: make session
    /// `id` from it, add it with [`Router::add_session`], give it `link` and let it read the
    /// Logon, as for [`Routed::Session`].
    Template {
        /// The caller's number for the template.
        template: usize,
        /// The identity of the new session: the Logon's, seen from our side.
        id: SessionId,
        /// The socket's link, handshake done on a TLS port.
        link: Link,
    },
    /// The socket is refused (an event says why): close it.
    Refused,
}

/// A socket accepted and not logged on yet.
#[derive(Debug)]
struct Pending {
    port: usize,
    link: Link,
    /// When it was accepted.
    accepted: Instant,
    /// Its port's LogonTimeout after `accepted`.
    deadline: Instant,
    /// Its place in the order of acceptance: the oldest has the lowest.
    order: u64,
    peer: Option<IpAddr>,
    /// Its TLS handshake step is running off the loop: its bytes wait for the step.
    away: bool,
}

#[derive(Debug)]
struct PortState {
    number: u16,
    /// The errors of the sockets no session claimed, for `fix.connection.escalation`.
    errors: ErrorRate,
    logons: LogonRouter,
    /// The caller's connection number of each router entry, in router order.
    sessions: Vec<usize>,
    logon_timeout: Duration,
    tls: Option<Arc<ServerConfig>>,
    allowed: Vec<(usize, Vec<IpAddr>)>,
    templates: Vec<Template>,
}

impl PortState {
    /// Whether session `session` takes a Logon from `peer`.
    fn admits(&self, session: usize, peer: IpAddr) -> bool {
        self.allowed
            .iter()
            .find(|(s, _)| *s == session)
            .is_none_or(|(_, addresses)| addresses.contains(&peer))
    }

    /// Whether no session of the port, nor any of its templates, would take a Logon from
    /// `peer`: every one of them has an allow-list, and none lists it.
    fn refuses_outright(&self, peer: IpAddr) -> bool {
        let template_admits = |t: &Template| t.allowed.as_ref().is_none_or(|a| a.contains(&peer));
        self.sessions
            .iter()
            .all(|&session| !self.admits(session, peer))
            && !self.templates.iter().any(template_admits)
    }

    /// The first template a Logon for no configured session fits, with the session's
    /// identity.
    fn template_for(&self, logon: &LogonIdentity<'_>) -> Option<(&Template, SessionId)> {
        if self.templates.is_empty() {
            return None;
        }
        let id = logon.session_id();
        let template = self.templates.iter().find(|t| id.fits(&t.id))?;
        Some((template, id))
    }
}

/// An acceptor's router, like quinn's `Endpoint`: it holds the sockets accepted on its ports
/// until their first message, maps that Logon to a configured session, and refuses a first
/// message that is not a Logon, unknown identities and a second Logon of a session already
/// logged on, unless that session's connection gives way (it has gone silent, or its peer
/// has closed it): then the new socket replaces it.
///
/// The sockets waiting for their Logon have a budget of their own ([`Admission`]): beyond
/// the cap of one address, [`Router::evict`] turns away that address's oldest, and beyond
/// the budget, the oldest of an address with more than one waiting, so that a flood of
/// connections that never log on cannot keep a counterparty's Logon out. While more than
/// half the budget is taken, a waiting socket's LogonTimeout is the shorter
/// PressureLogonTimeout. While a flood is on ([`Router::flood_on`]) the caller holds what
/// is turned away rather than closing it. A flood is reported as one `fix.connection.flood`
/// event per interval, not one event per socket.
///
/// Sockets are known by the caller's key `K`; sessions by the caller's connection numbers.
#[derive(Debug)]
pub struct Router<K> {
    ports: Vec<PortState>,
    pending: HashMap<K, Pending>,
    /// The waiting sockets in the order they were accepted.
    by_age: BTreeMap<u64, K>,
    /// The waiting sockets of each peer address, by their place in `by_age`.
    by_address: HashMap<IpAddr, BTreeSet<u64>>,
    /// How many addresses have more than one socket waiting.
    crowded: usize,
    next_order: u64,
    admission: Admission,
    flood: FloodReport,
    framer: Framer,
    /// The events to report; a refusal with the index of the port it happened on, which
    /// counts it as one of the port's errors, and the peer it came from.
    events: VecDeque<(Option<usize>, Option<IpAddr>, EventKind)>,
}

impl<K: Copy + Eq + Hash> Router<K> {
    /// A router over `ports` admitting sockets by `admission`; `max_message` is the largest
    /// first message it frames.
    pub fn new(ports: Vec<Port>, max_message: usize, admission: Admission) -> Self {
        let ports = ports
            .into_iter()
            .map(|port| PortState {
                number: port.number,
                errors: ErrorRate::new(),
                logons: LogonRouter::new(port.sessions.iter().map(|(_, id)| id.clone())),
                sessions: port.sessions.iter().map(|&(index, _)| index).collect(),
                logon_timeout: port.logon_timeout,
                tls: port.tls,
                allowed: port.allowed,
                templates: port.templates,
            })
            .collect();
        Self {
            ports,
            pending: HashMap::new(),
            by_age: BTreeMap::new(),
            by_address: HashMap::new(),
            crowded: 0,
            next_order: 0,
            admission,
            flood: FloodReport::default(),
            framer: Framer::new(max_message),
            events: VecDeque::new(),
        }
    }

    /// Port `port` accepted socket `key` from `peer`; its Logon is due within the port's
    /// LogonTimeout. Returns `false` when the socket is refused at once (no session of the
    /// port allows its address, or its TLS set-up failed; an event says so): close it.
    /// Refused that way, it never takes a place among the sockets waiting for their Logon.
    /// Once the batch of completions it came in is handled, call [`Router::evict`].
    pub fn handle_accepted(&mut self, now: Instant, key: K, port: usize, peer: SocketAddr) -> bool {
        let Some(state) = self.ports.get(port) else {
            return false;
        };
        if state.refuses_outright(peer.ip()) {
            let detail = format!(
                "{} is not among the AllowedRemoteAddresses of any session on this port",
                peer.ip()
            );
            self.refuse(
                port,
                &Link::plain(Some(peer)),
                ErrorCode::ConnectionRefused,
                detail,
            );
            return false;
        }
        let link = match &state.tls {
            None => Link::plain(Some(peer)),
            Some(config) => match TlsConnection::server(Arc::clone(config)) {
                Ok(tls) => Link::tls(Some(peer), tls, self.framer.max_message_size()),
                Err(error) => {
                    self.refuse(
                        port,
                        &Link::plain(Some(peer)),
                        ErrorCode::SslHandshakeFailed,
                        error.to_string(),
                    );
                    return false;
                }
            },
        };
        let deadline = now + state.logon_timeout;
        let order = self.next_order;
        self.next_order += 1;
        self.by_age.insert(order, key);
        let orders = self.by_address.entry(peer.ip()).or_default();
        orders.insert(order);
        if orders.len() == 2 {
            self.crowded += 1;
        }
        let pending = Pending {
            port,
            link,
            accepted: now,
            deadline,
            order,
            peer: Some(peer.ip()),
            away: false,
        };
        if let Some(old) = self.pending.insert(key, pending) {
            // A key the caller reused without closing: forget the old socket's place.
            self.forget(&old);
        }
        true
    }

    /// Turns away the sockets waiting for their Logon beyond the budgets: the oldest of an
    /// address beyond MaxPendingConnectionsPerAddress, then, beyond MaxPendingConnections,
    /// the oldest of the addresses with more than one waiting (the oldest of all when there
    /// is none); `close` is called with each, which the router forgets. Called once a batch
    /// of completions is handled, after the sockets that received bytes were routed: a
    /// socket whose Logon came in the batch has left the waiting ones already.
    pub fn evict(&mut self, now: Instant, mut close: impl FnMut(K)) {
        let cap = self.admission.max_pending_per_address;
        let crowded: Vec<IpAddr> = self
            .by_address
            .iter()
            .filter(|(_, orders)| orders.len() > cap)
            .map(|(&address, _)| address)
            .collect();
        for address in crowded {
            while let Some(orders) = self.by_address.get(&address)
                && orders.len() > cap
                && let Some(&oldest) = orders.first()
            {
                self.evict_order(now, oldest, &mut close);
            }
        }
        while self.pending.len() > self.admission.max_pending
            && let Some(oldest) = self.oldest_crowded()
        {
            self.evict_order(now, oldest, &mut close);
        }
    }

    /// The oldest waiting socket of an address that has more than one waiting, or the
    /// oldest of all when every address has one: a flood's addresses give way before a
    /// counterparty's single connection.
    fn oldest_crowded(&self) -> Option<u64> {
        if self.crowded == 0 {
            return self.by_age.first_key_value().map(|(&order, _)| order);
        }
        let crowded = self.by_age.iter().find(|(_, key)| {
            self.pending
                .get(key)
                .and_then(|p| p.peer)
                .and_then(|peer| self.by_address.get(&peer))
                .is_some_and(|orders| orders.len() > 1)
        });
        crowded
            .or_else(|| self.by_age.first_key_value())
            .map(|(&order, _)| order)
    }

    /// Whether a flood is on: the current interval of its report has evicted sockets, or
    /// refused more than it reports one by one. The caller then holds the sockets it is
    /// told to close before their Logon rather than closing them at once, so that a flood
    /// that connects again as soon as it is closed is slowed to the pace of that hold.
    pub fn flood_on(&self) -> bool {
        self.flood.is_on()
    }

    /// Socket `key`, waiting for its Logon, received bytes its TLS handshake has not seen:
    /// takes that handshake step, to be run off the loop ([`HandshakeStep::run`], which for a
    /// ClientHello costs the server a signature) and handed back to
    /// [`Router::handle_handshake`]; the socket's bytes wait for it. `None` when there is no
    /// such step: a plain-text socket, a handshake done (route it with
    /// [`Router::handle_received`]), nothing new, or a step already away.
    pub fn take_handshake<B: SocketBuffers>(
        &mut self,
        key: K,
        io: &mut B,
    ) -> Option<HandshakeStep> {
        let pending = self.pending.get_mut(&key).filter(|p| !p.away)?;
        let step = pending.link.detach(io, pending.order)?;
        pending.away = true;
        Some(step)
    }

    /// A handshake step of socket `key` was dropped unrun, for `reason` (too many waited for
    /// a thread to run them, say): the socket is refused (an event says so); close it.
    /// Returns `false` when the step belongs to no socket waiting any more (closed, evicted
    /// or timed out meanwhile), which leaves nothing to close.
    pub fn shed_handshake(&mut self, key: K, step: &HandshakeStep, reason: &str) -> bool {
        if self.pending.get(&key).is_none_or(|p| p.order != step.order) {
            return false;
        }
        let detail = format!("TLS handshake not started: {reason}");
        self.refuse_pending(key, ErrorCode::SslHandshakeFailed, detail);
        true
    }

    /// How many sockets wait for their Logon.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Sockets closed for newer ones since the router was made.
    pub fn evicted_total(&self) -> u64 {
        self.flood.evicted_total()
    }

    /// Sockets refused before their Logon since the router was made.
    pub fn refused_total(&self) -> u64 {
        self.flood.refused_total()
    }

    fn evict_order(&mut self, now: Instant, order: u64, close: &mut impl FnMut(K)) {
        let Some(key) = self.by_age.get(&order).copied() else {
            return;
        };
        if let Some(pending) = self.take(key) {
            self.flood.evicted(now, pending.peer);
        }
        close(key);
    }

    /// Removes socket `key` from the waiting ones.
    fn take(&mut self, key: K) -> Option<Pending> {
        let pending = self.pending.remove(&key)?;
        self.forget(&pending);
        Some(pending)
    }

    fn forget(&mut self, pending: &Pending) {
        self.by_age.remove(&pending.order);
        if let Some(peer) = pending.peer
            && let Some(orders) = self.by_address.get_mut(&peer)
        {
            if orders.remove(&pending.order) && orders.len() == 1 {
                self.crowded -= 1;
            }
            if orders.is_empty() {
                self.by_address.remove(&peer);
            }
        }
    }

    /// Whether more than half of MaxPendingConnections is taken.
    fn under_pressure(&self) -> bool {
        self.pending.len() > self.admission.max_pending / 2
    }

    /// When a waiting socket's Logon is overdue: after LogonTimeout, or after the shorter
    /// PressureLogonTimeout while the budget is under pressure.
    fn deadline_of(&self, pending: &Pending, pressure: bool) -> Instant {
        if pressure {
            let pressed = pending.accepted + self.admission.pressure_logon_timeout;
            pending.deadline.min(pressed)
        } else {
            pending.deadline
        }
    }

    /// Socket `key` received bytes: runs its TLS handshake, and routes its first message.
    /// `gives_way` tells whether a logged-on session's connection gives way to a new Logon
    /// (silent, or closed by its peer); one that does is replaced only when `may_replace`.
    /// A socket whose handshake step is away ([`Router::take_handshake`]) waits for it.
    pub fn handle_received<B: SocketBuffers>(
        &mut self,
        key: K,
        lent: &mut Lent<'_, B>,
        may_replace: bool,
        gives_way: impl Fn(usize) -> bool,
    ) -> Routed {
        let Some(pending) = self.pending.get_mut(&key).filter(|p| !p.away) else {
            return Routed::Waiting;
        };
        let received = pending.link.receive(&mut lent.socket);
        self.route_first_message(key, received, lent, may_replace, gives_way)
    }

    /// The handshake step taken from socket `key` by [`Router::take_handshake`] has run:
    /// gives it back to the socket, then routes the socket as [`Router::handle_received`]
    /// does. A step whose socket waits no more (closed, evicted or timed out meanwhile) is
    /// dropped. While the handshake goes on, the socket may have received bytes the step
    /// did not see: take the next step.
    pub fn handle_handshake<B: SocketBuffers>(
        &mut self,
        key: K,
        step: HandshakeStep,
        lent: &mut Lent<'_, B>,
        may_replace: bool,
        gives_way: impl Fn(usize) -> bool,
    ) -> Routed {
        let Some(pending) = self
            .pending
            .get_mut(&key)
            .filter(|p| p.away && p.order == step.order)
        else {
            return Routed::Waiting;
        };
        pending.away = false;
        let received = match pending.link.attach(step, &mut lent.socket) {
            // Done: decrypt what came after the handshake, the Logon among it.
            Ok(received) if received.ready => pending.link.receive(&mut lent.socket),
            other => other,
        };
        self.route_first_message(key, received, lent, may_replace, gives_way)
    }

    /// Routes socket `key` by its first message, once `received` says its bytes are ready.
    fn route_first_message<B: SocketBuffers>(
        &mut self,
        key: K,
        received: Result<Received, TlsError>,
        lent: &mut Lent<'_, B>,
        may_replace: bool,
        gives_way: impl Fn(usize) -> bool,
    ) -> Routed {
        match received {
            Ok(received) if !received.ready => return Routed::Waiting,
            Ok(_) => {}
            Err(error) => {
                let detail = error.to_string();
                return self.refuse_pending(key, ErrorCode::SslHandshakeFailed, detail);
            }
        }
        let Some(pending) = self.pending.get_mut(&key) else {
            return Routed::Waiting;
        };
        let Some(port) = self.ports.get_mut(pending.port) else {
            return Routed::Waiting;
        };
        let framer = &self.framer;
        let is_tls = pending.link.is_tls();
        let outcome = pending
            .link
            .read(&mut lent.socket, lent.scratch, |input, _| {
                let outcome = match first_message(framer, input) {
                    Ok(None) => Outcome::Waiting,
                    Err(_) if !is_tls && looks_like_tls(input) => {
                        Outcome::Refuse("a TLS handshake on a plain-text port".to_owned())
                    }
                    Err(violation) => Outcome::Refuse(violation.to_string()),
                    Ok(Some(msg)) if msg.msg_type() != msg_type::LOGON => {
                        Outcome::Refuse(ProtocolViolation::FirstMessageNotLogon.to_string())
                    }
                    Ok(Some(msg)) => {
                        let logon = LogonIdentity::of(&msg);
                        match port.logons.route_logon(&logon) {
                            Ok(SessionIndex(entry)) => match port.sessions.get(entry) {
                                Some(&session) => Outcome::Routed(session),
                                None => Outcome::Waiting,
                            },
                            Err(refusal @ RouteRefusal::AlreadyLoggedOn(_)) => {
                                let giving_way = port
                                    .logons
                                    .logged_on_matches(&logon)
                                    .filter_map(|SessionIndex(entry)| port.sessions.get(entry))
                                    .copied()
                                    .find(|&session| gives_way(session));
                                match giving_way {
                                    Some(session) if may_replace => Outcome::Replace(session),
                                    _ => Outcome::Refuse(refusal.to_string()),
                                }
                            }
                            Err(refusal) => match port.template_for(&logon) {
                                Some((template, id)) => Outcome::Template(template.number, id),
                                None => Outcome::Refuse(refusal.to_string()),
                            },
                        }
                    }
                };
                (0, outcome)
            });
        match outcome {
            Outcome::Waiting => Routed::Waiting,
            Outcome::Replace(session) => Routed::Replace { session },
            Outcome::Refuse(detail) => {
                self.refuse_pending(key, ErrorCode::ConnectionRefused, detail)
            }
            Outcome::Template(template, id) => {
                let peer = pending.link.peer().map(|p| p.ip());
                let allowed = port
                    .templates
                    .iter()
                    .find(|t| t.number == template)
                    .and_then(|t| t.allowed.as_ref());
                if let (Some(peer), Some(allowed)) = (peer, allowed)
                    && !allowed.contains(&peer)
                {
                    let detail = format!(
                        "{peer} is not among the AllowedRemoteAddresses of the template that \
                         would make session {id}"
                    );
                    return self.refuse_pending(key, ErrorCode::ConnectionRefused, detail);
                }
                match self.pending.remove(&key) {
                    Some(pending) => Routed::Template {
                        template,
                        id,
                        link: pending.link,
                    },
                    None => Routed::Waiting,
                }
            }
            Outcome::Routed(session) => {
                let peer = pending.link.peer().map(|p| p.ip());
                if let Some(peer) = peer.filter(|&ip| !port.admits(session, ip)) {
                    // Not this peer's session after all: it stays free for the right one.
                    let entry = port.sessions.iter().position(|&s| s == session);
                    let id = entry.and_then(|entry| {
                        port.logons.release(SessionIndex(entry));
                        port.logons.session(SessionIndex(entry)).cloned()
                    });
                    let detail = format!(
                        "{peer} is not among the AllowedRemoteAddresses of {}",
                        id.map_or_else(String::new, |id| id.to_string())
                    );
                    return self.refuse_pending(key, ErrorCode::ConnectionRefused, detail);
                }
                match self.take(key) {
                    Some(pending) => Routed::Session {
                        session,
                        link: pending.link,
                    },
                    None => Routed::Waiting,
                }
            }
        }
    }

    /// Adds session `session` (the caller's number for its connection), made from template
    /// `template` for a Logon the router returned as [`Routed::Template`], to the template's
    /// port, logged on: from now on its peer's Logons are routed to it.
    pub fn add_session(&mut self, template: usize, session: usize, id: SessionId) {
        let Some(port) = self
            .ports
            .iter_mut()
            .find(|p| p.templates.iter().any(|t| t.number == template))
        else {
            return;
        };
        let allowed = port
            .templates
            .iter()
            .find(|t| t.number == template)
            .and_then(|t| t.allowed.clone());
        port.logons.add_logged_on(id);
        port.sessions.push(session);
        if let Some(addresses) = allowed {
            port.allowed.push((session, addresses));
        }
    }

    /// Socket `key` closed before its Logon.
    pub fn handle_closed(&mut self, key: K) {
        self.take(key);
    }

    /// The connection of session `session` has ended: the session is free for its peer's
    /// next Logon.
    pub fn release(&mut self, session: usize) {
        for port in &mut self.ports {
            if let Some(entry) = port.sessions.iter().position(|&s| s == session) {
                port.logons.release(SessionIndex(entry));
            }
        }
    }

    /// The earliest LogonTimeout of the sockets waiting for their Logon, or the end of the
    /// interval of a flood's report.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let pressure = self.under_pressure();
        let logons = self.pending.values().map(|p| self.deadline_of(p, pressure));
        logons.chain(self.flood.deadline()).min()
    }

    /// Refuses every socket whose Logon is overdue at `now`; `close` closes each. Reports a
    /// flood whose interval is over.
    pub fn handle_timeout(&mut self, now: Instant, mut close: impl FnMut(K)) {
        let pressure = self.under_pressure();
        let overdue: Vec<K> = self
            .pending
            .iter()
            .filter(|(_, p)| self.deadline_of(p, pressure) <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in overdue {
            let detail = "no Logon received within LogonTimeout".to_owned();
            self.refuse_pending(key, ErrorCode::ConnectionRefused, detail);
            close(key);
        }
        if let Some(report) = self.flood.poll(now, false) {
            self.events.push_back((None, None, report));
        }
    }

    /// Forgets every socket waiting for its Logon (the engine stops); `close` closes each.
    /// What a flood's report counted so far is reported at once.
    pub fn close_all(&mut self, now: Instant, mut close: impl FnMut(K)) {
        self.by_age.clear();
        self.by_address.clear();
        self.crowded = 0;
        for (key, _) in self.pending.drain() {
            close(key);
        }
        if let Some(report) = self.flood.poll(now, true) {
            self.events.push_back((None, None, report));
        }
    }

    /// The next event at `now`: a refused socket (`fix.connection.error`), followed by
    /// `fix.connection.escalation` when it is the sixth of its port within
    /// [`ErrorRate::WINDOW`] (counted at the `now` it is polled at). Beyond the first
    /// refusals of a report's interval, refusals are counted for `fix.connection.flood`
    /// instead of reported one by one.
    pub fn poll_event(&mut self, now: Instant) -> Option<EventKind> {
        loop {
            let (port, peer, event) = self.events.pop_front()?;
            let Some(state) = port.and_then(|port| self.ports.get_mut(port)) else {
                return Some(event);
            };
            if let Some(count) = state.errors.record(now) {
                let escalation = EventKind::ConnectionEscalation {
                    source: ErrorSource::Port(state.number),
                    count: count as u64,
                    window: ErrorRate::WINDOW,
                };
                self.events.push_front((None, None, escalation));
            }
            if self.flood.refused(now, peer) {
                return Some(event);
            }
        }
    }

    fn refuse_pending(&mut self, key: K, code: ErrorCode, detail: String) -> Routed {
        if let Some(pending) = self.take(key) {
            self.refuse(pending.port, &pending.link, code, detail);
        }
        Routed::Refused
    }

    fn refuse(&mut self, port: usize, link: &Link, code: ErrorCode, detail: String) {
        let event = EventKind::ConnectionError {
            remote_host: link.remote_host(),
            code,
            error_detail: detail,
        };
        let peer = link.peer().map(|peer| peer.ip());
        self.events.push_back((Some(port), peer, event));
    }
}

/// What the first message of a socket decided.
enum Outcome {
    Waiting,
    Routed(usize),
    Template(usize, SessionId),
    Replace(usize),
    Refuse(String),
}

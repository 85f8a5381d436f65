//! The status server (`HttpAcceptPort`): a page a person reads in a browser, `/metrics` in
//! Prometheus's text format and `/status.json`, served by a thread of its own, never by the
//! pinned loops.
//!
//! Each loop keeps a [`LoopSnapshot`] of its sessions: it counts events by name as they
//! pass through its report path (rare, not per message), and samples its sessions one at a
//! time, spread over each 100 ms (with N sessions, one every 100/N ms): it reads that
//! session's state, peer, sequence numbers, last message times and latency percentiles and
//! copies them, with the loop's event counts, into a copy shared behind a mutex, with
//! `try_lock`, so a page being rendered never makes a loop wait and no turn of a loop with
//! many sessions pays for all of them at once. Messages in and out are
//! counted from the progress of the MsgSeqNums between samples: nothing is done per message.

mod http;
mod render;
mod sketch;

pub(crate) use sketch::LatencySketch;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use fixring_core::config::ConnectionType;
use fixring_core::connection::{Connection, Outgoing, StateKind};
use fixring_core::session::SessionState;
use fixring_core::{EventKind, UtcTimestamp, WallClock};

use crate::stats::Published;
pub(crate) use http::StatusServer;

/// How often a loop publishes its sessions' status.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// The event counted as an escalation.
const ESCALATION: &str = "fix.connection.escalation";

/// Counts of events by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventCounts {
    counts: Vec<(&'static str, u64)>,
}

impl EventCounts {
    fn add(&mut self, name: &'static str) {
        self.add_n(name, 1);
    }

    fn add_n(&mut self, name: &'static str, n: u64) {
        match self.counts.iter_mut().find(|(known, _)| *known == name) {
            Some((_, count)) => *count += n,
            None => self.counts.push((name, n)),
        }
    }

    /// The count of events named `name`.
    pub(crate) fn of(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, count)| *count)
    }

    /// Every name seen, with its count, in the order first seen.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.counts.iter().copied()
    }

    fn clone_into(&self, other: &mut Self) {
        other.counts.clone_from(&self.counts);
    }
}

/// What the status server shows of one session.
#[derive(Clone, Debug)]
pub(crate) struct SessionSnapshot {
    pub(crate) connection_type: ConnectionType,
    pub(crate) state: StateKind,
    pub(crate) session_state: SessionState,
    /// The peer of the current socket.
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) next_sender_seq: u64,
    pub(crate) next_target_seq: u64,
    /// Messages received and sent since the engine started, from MsgSeqNum progress.
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) last_in: Option<UtcTimestamp>,
    pub(crate) last_out: Option<UtcTimestamp>,
    /// `fix.connection.established` after the first.
    pub(crate) reconnects: u64,
    /// Events carrying an error code.
    pub(crate) errors: EventCounts,
    /// Every event of the session, by name.
    pub(crate) events: EventCounts,
    /// Receive → application callback of the session's application messages.
    pub(crate) latency: SessionLatency,
}

/// A session's latency percentiles, in nanoseconds, read from its [`LatencySketch`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionLatency {
    pub(crate) count: u64,
    pub(crate) p50: u64,
    pub(crate) p99: u64,
    pub(crate) max: u64,
}

impl SessionLatency {
    fn of(sketch: &LatencySketch) -> Self {
        Self {
            count: sketch.count(),
            p50: sketch.quantile(0.5),
            p99: sketch.quantile(0.99),
            max: sketch.max(),
        }
    }
}

impl SessionSnapshot {
    fn new<M: Outgoing>(connection: &Connection<M>) -> Self {
        let session = connection.session();
        Self {
            connection_type: connection.connection_type(),
            state: connection.state().kind(),
            session_state: session.state(),
            peer: None,
            next_sender_seq: session.next_sender_seq(),
            next_target_seq: session.next_target_seq(),
            messages_in: 0,
            messages_out: 0,
            last_in: None,
            last_out: None,
            reconnects: 0,
            errors: EventCounts::default(),
            events: EventCounts::default(),
            latency: SessionLatency::default(),
        }
    }

    /// Reads what changed since the last sample.
    fn sample<M: Outgoing>(
        &mut self,
        connection: &Connection<M>,
        latency: &LatencySketch,
        wall: WallClock,
    ) {
        if latency.count() != self.latency.count {
            self.latency = SessionLatency::of(latency);
        }
        let session = connection.session();
        self.connection_type = connection.connection_type();
        self.state = connection.state().kind();
        self.session_state = session.state();
        self.peer = connection.link().and_then(|link| link.peer());
        let (sent, received) = (session.next_sender_seq(), session.next_target_seq());
        let out = progress(self.next_sender_seq, sent);
        let r#in = progress(self.next_target_seq, received);
        if out > 0 {
            self.messages_out += out;
            self.last_out = Some(wall.utc_at(session.last_sent()));
        }
        if r#in > 0 {
            self.messages_in += r#in;
            self.last_in = Some(wall.utc_at(session.last_received()));
        }
        (self.next_sender_seq, self.next_target_seq) = (sent, received);
    }

    fn clone_into(&self, other: &mut Self) {
        let (errors, events) = (
            std::mem::take(&mut other.errors),
            std::mem::take(&mut other.events),
        );
        *other = Self {
            errors,
            events,
            ..*self
        };
        self.errors.clone_into(&mut other.errors);
        self.events.clone_into(&mut other.events);
    }
}

/// Messages numbered between two samples of a next MsgSeqNum: the difference, or after a
/// reset (the number went down) the messages numbered since it.
fn progress(before: u64, now: u64) -> u64 {
    if now >= before {
        now - before
    } else {
        now.saturating_sub(1)
    }
}

/// What one loop publishes: its sessions in the loop's slot order, and every event it
/// reported, a session's or not (a refused socket, a port that cannot be bound).
#[derive(Clone, Debug, Default)]
pub(crate) struct LoopSnapshot {
    pub(crate) sessions: Vec<SessionSnapshot>,
    pub(crate) events: EventCounts,
    pub(crate) errors: EventCounts,
    pub(crate) admission: AdmissionCounts,
}

/// The loop's acceptors' admission of sockets not logged on yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AdmissionCounts {
    /// Sockets waiting for their Logon now.
    pub(crate) pending: u64,
    /// Sockets held open but unread after a flood's admission turned them away.
    pub(crate) parked: u64,
    /// Sockets closed for newer ones, since the loop started.
    pub(crate) evicted: u64,
    /// Sockets refused before their Logon, since the loop started.
    pub(crate) refused: u64,
}

impl LoopSnapshot {
    /// Copies session `at`, the loop's event counts and its admission counts into `other`;
    /// a session made since the last copy (from a template) is added.
    fn copy_session_into(&self, at: usize, other: &mut Self) {
        if let Some(session) = self.sessions.get(at) {
            match other.sessions.get_mut(at) {
                Some(slot) => session.clone_into(slot),
                None => {
                    let missing = self.sessions.get(other.sessions.len()..=at).unwrap_or(&[]);
                    other.sessions.extend_from_slice(missing);
                }
            }
        }
        self.events.clone_into(&mut other.events);
        self.errors.clone_into(&mut other.errors);
        other.admission = self.admission;
    }

    fn copy_into(&self, other: &mut Self) {
        other.sessions.truncate(self.sessions.len());
        for (at, session) in self.sessions.iter().enumerate() {
            match other.sessions.get_mut(at) {
                Some(slot) => session.clone_into(slot),
                None => other.sessions.push(session.clone()),
            }
        }
        self.events.clone_into(&mut other.events);
        self.errors.clone_into(&mut other.errors);
        other.admission = self.admission;
    }
}

/// What the status server reads of one loop.
pub(crate) struct LoopView {
    pub(crate) number: usize,
    /// The loop's sessions, in slot order.
    pub(crate) sessions: crate::event_loop::Directory,
    pub(crate) snapshot: Arc<Mutex<LoopSnapshot>>,
    pub(crate) latency: Arc<Published>,
}

/// A loop's side: its own snapshot, when it last published a session, and which is next.
pub(crate) struct LoopStatus {
    local: LoopSnapshot,
    shared: Arc<Mutex<LoopSnapshot>>,
    published: StdInstant,
    /// The session sampled next.
    next: usize,
}

impl LoopStatus {
    /// The status of a loop running `connections`, published into `shared`.
    pub(crate) fn new<'a, M: Outgoing + 'a>(
        shared: Arc<Mutex<LoopSnapshot>>,
        connections: impl Iterator<Item = &'a Connection<M>>,
    ) -> Self {
        let local = LoopSnapshot {
            sessions: connections.map(SessionSnapshot::new).collect(),
            ..LoopSnapshot::default()
        };
        local.copy_into(&mut shared.lock().unwrap_or_else(PoisonError::into_inner));
        Self {
            local,
            shared,
            published: StdInstant::now(),
            next: 0,
        }
    }

    /// Notes the loop's admission counts, published with the next snapshot.
    pub(crate) fn admission(&mut self, counts: AdmissionCounts) {
        self.local.admission = counts;
    }

    /// A template made a session of the loop: it is shown from now on, after the others.
    pub(crate) fn add_session<M: Outgoing>(&mut self, connection: &Connection<M>) {
        self.local.sessions.push(SessionSnapshot::new(connection));
    }

    /// Counts an event the loop reported, of slot `slot`'s session or of none.
    pub(crate) fn event(&mut self, slot: Option<usize>, kind: &EventKind) {
        let name = kind.name();
        let is_error = kind.code().is_some() || name == ESCALATION;
        self.local.events.add(name);
        if is_error {
            self.local.errors.add(name);
        }
        let Some(session) = slot.and_then(|at| self.local.sessions.get_mut(at)) else {
            return;
        };
        session.events.add(name);
        if is_error {
            session.errors.add(name);
        }
        if matches!(kind, EventKind::ConnectionEstablished { .. }) && session.events.of(name) > 1 {
            session.reconnects += 1;
        }
    }

    /// Samples and publishes the next session (and the loop's event counts) when its turn has
    /// come: every session once per 100 ms, one at a time, never waiting for the lock.
    pub(crate) fn publish_if_due<'a, M: Outgoing + 'a>(
        &mut self,
        mut connections: impl Iterator<Item = (&'a Connection<M>, &'a LatencySketch)>,
        wall: WallClock,
    ) {
        let sessions = self.local.sessions.len();
        let every = PUBLISH_EVERY / u32::try_from(sessions.max(1)).unwrap_or(u32::MAX);
        if self.published.elapsed() < every {
            return;
        }
        self.published = StdInstant::now();
        let at = self.next;
        self.next = if at + 1 < sessions { at + 1 } else { 0 };
        if let (Some(session), Some((connection, latency))) =
            (self.local.sessions.get_mut(at), connections.nth(at))
        {
            session.sample(connection, latency, wall);
        }
        if let Ok(mut shared) = self.shared.try_lock() {
            self.local.copy_session_into(at, &mut shared);
        }
    }

    /// Samples and publishes everything, e.g. as the loop ends.
    pub(crate) fn publish<'a, M: Outgoing + 'a>(
        &mut self,
        connections: impl Iterator<Item = (&'a Connection<M>, &'a LatencySketch)>,
        wall: WallClock,
    ) {
        self.sample(connections, wall);
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        self.local.copy_into(&mut shared);
    }

    fn sample<'a, M: Outgoing + 'a>(
        &mut self,
        connections: impl Iterator<Item = (&'a Connection<M>, &'a LatencySketch)>,
        wall: WallClock,
    ) {
        for (session, (connection, latency)) in self.local.sessions.iter_mut().zip(connections) {
            session.sample(connection, latency, wall);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_from_msg_seq_num_progress() {
        assert_eq!(progress(1, 1), 0);
        assert_eq!(progress(5, 205), 200);
        // Reset to 1, then 3 messages numbered 1, 2, 3: next is 4.
        assert_eq!(progress(205, 4), 3);
        assert_eq!(progress(205, 1), 0);
    }

    #[test]
    fn events_are_counted_by_name() {
        let mut counts = EventCounts::default();
        counts.add("fix.connection.lost");
        counts.add("fix.session.logon");
        counts.add("fix.connection.lost");
        assert_eq!(counts.of("fix.connection.lost"), 2);
        assert_eq!(counts.of(ESCALATION), 0);
        assert_eq!(
            counts.iter().collect::<Vec<_>>(),
            [("fix.connection.lost", 2), ("fix.session.logon", 1)]
        );
    }
}

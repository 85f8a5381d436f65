//! `fix.connection.escalation` on the virtual clock: a session's failed attempts and an
//! acceptor port's refused sockets escalate at the sixth error within a minute, not before,
//! once per crossing, and again after the rate has fallen back.

mod common;

use std::time::Duration;

use common::configs;
use fixring_core::config::Role;
use fixring_core::connection::ErrorRate;
use fixring_core::testing::{Pair, PairConfig};
use fixring_core::{ErrorSource, Event, EventKind, SessionId};

/// Where each `fix.connection.escalation` of `events` comes: after how many connection
/// errors, with its source and count.
fn escalations(events: &[Event]) -> Vec<(usize, ErrorSource, u64)> {
    let mut errors = 0;
    let mut found = Vec::new();
    for event in events {
        match &event.kind {
            kind if kind.is_connection_error() => errors += 1,
            EventKind::ConnectionEscalation {
                source,
                count,
                window,
            } => {
                assert_eq!(*window, ErrorRate::WINDOW);
                found.push((errors, source.clone(), *count));
            }
            _ => {}
        }
    }
    found
}

fn initiator_id() -> SessionId {
    SessionId::new("FIX.4.4", "INIT", "ACC")
}

/// A pair whose initiator tries again 1 s after a failure and gives an attempt up after
/// `connect_timeout`.
fn pair(connect_timeout: Duration, allow_list: bool) -> Pair {
    let (mut initiator, mut acceptor) = configs(false);
    if let Role::Initiator(config) = &mut initiator.role {
        config.reconnect_interval = Duration::from_secs(1);
        config.connect_timeout = connect_timeout;
    }
    if allow_list {
        acceptor.allowed_remote_addresses = Some(vec!["127.0.0.9".parse().unwrap()]);
    }
    Pair::new(PairConfig::new(initiator, acceptor)).unwrap()
}

/// Starts the initiator without connecting, and fails each of its next `n` attempts as
/// soon as it is asked for, as when nothing listens.
fn refuse_attempts(pair: &mut Pair, n: usize) {
    if pair.initiator.connects.is_empty() {
        let now = pair.clock;
        pair.initiator.conn.start(now);
        pair.drive();
    }
    for _ in 0..n {
        // Bounded: the next attempt comes ReconnectInterval (1 s) after the last failure.
        for _ in 0..5 {
            if pair.initiator.connects.len() > failures(pair) {
                break;
            }
            pair.advance(Duration::from_secs(1));
        }
        assert!(pair.initiator.connects.len() > failures(pair), "no attempt");
        let now = pair.clock;
        pair.initiator
            .conn
            .handle_connect_failed(now, "Connection refused (os error 111)".to_owned());
        pair.drive();
    }
}

/// The initiator's `fix.connection.failed` events so far.
fn failures(pair: &Pair) -> usize {
    let failed = |e: &&Event| e.name() == "fix.connection.failed";
    pair.initiator.events.iter().filter(failed).count()
}

#[test]
fn a_session_escalates_at_its_sixth_failure_within_a_minute_and_once() {
    let mut pair = pair(Duration::from_secs(10), false);
    refuse_attempts(&mut pair, 5);
    assert_eq!(escalations(&pair.initiator.events), []);
    refuse_attempts(&mut pair, 1);
    let at_sixth = vec![(6, ErrorSource::Session(initiator_id()), 6)];
    assert_eq!(escalations(&pair.initiator.events), at_sixth);
    // It comes right after the sixth failure.
    let names: Vec<_> = pair.initiator.events.iter().map(Event::name).collect();
    assert_eq!(
        names[names.len() - 2..],
        ["fix.connection.failed", "fix.connection.escalation"]
    );
    // Still failing every second: no new crossing.
    refuse_attempts(&mut pair, 20);
    assert_eq!(escalations(&pair.initiator.events), at_sixth);
}

#[test]
fn a_session_escalates_again_after_its_rate_falls_back() {
    // Attempts that time out after 30 s fail twice a minute: the rate falls back.
    let mut pair = pair(Duration::from_secs(30), false);
    refuse_attempts(&mut pair, 6);
    assert_eq!(escalations(&pair.initiator.events).len(), 1);
    pair.advance(Duration::from_secs(100));
    let errors = pair
        .initiator
        .events
        .iter()
        .filter(|e| e.kind.is_connection_error())
        .count();
    assert!(errors > 6, "the attempts timed out");
    assert_eq!(escalations(&pair.initiator.events).len(), 1);
    refuse_attempts(&mut pair, 6);
    let found = escalations(&pair.initiator.events);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].2, 6);
}

#[test]
fn a_port_escalates_at_its_sixth_refused_socket_within_a_minute() {
    // Every socket is refused by the router (no session takes 127.0.0.1), and the initiator
    // tries again 1 s after each.
    let mut pair = pair(Duration::from_secs(10), true);
    pair.reconnect = true;
    pair.connect();
    pair.drive();
    for _ in 0..4 {
        pair.advance(Duration::from_secs(1));
    }
    assert_eq!(pair.router_kinds().len(), 5);
    assert_eq!(escalations(&pair.router_events), []);
    pair.advance(Duration::from_secs(1));
    let at_sixth = vec![(6, ErrorSource::Port(5001), 6)];
    assert_eq!(escalations(&pair.router_events), at_sixth);
    assert_eq!(
        pair.router_kinds().last().map(EventKind::name),
        Some("fix.connection.escalation")
    );
    pair.advance(Duration::from_secs(10));
    assert_eq!(escalations(&pair.router_events), at_sixth);
    // The initiator's own failures escalated too.
    assert_eq!(
        escalations(&pair.initiator.events),
        [(6, ErrorSource::Session(initiator_id()), 6)]
    );
}

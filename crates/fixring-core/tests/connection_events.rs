//! The connection events tell the whole story: every event stamped with the time it was
//! taken, an attempt named by its host and port, a peer's Logout reported as a lost
//! connection too, one detail for a connect timeout, and a failover that does not wait on a
//! host gone silent.

mod common;

use std::time::Duration;

use common::{configs, logged_on_with};
use fixring_core::config::{HostConfig, HostSelectionPolicy, Role, SessionConfig};
use fixring_core::testing::{Pair, PairConfig, Side};
use fixring_core::{ErrorCode, EventKind, UtcTimestamp};

/// The wall-clock time of the pair's virtual instant zero (`PairConfig`'s default).
const ORIGIN_MILLIS: u64 = 1_795_651_200_000;

/// The initiator of [`configs`] with `hosts` on ports 5001, 5002, …, at 127.0.0.1, .2, …
fn with_hosts(
    initiator: &mut SessionConfig,
    hosts: usize,
    policy: HostSelectionPolicy,
) -> Vec<HostConfig> {
    let list: Vec<HostConfig> = (0..hosts)
        .map(|i| HostConfig::new(&format!("127.0.0.{}", i + 1), 5001 + i as u16))
        .collect();
    if let Role::Initiator(config) = &mut initiator.role {
        config.hosts = list.clone();
        config.host_selection = policy;
    }
    list
}

fn attempts(side: &Side) -> Vec<(String, u16, u64)> {
    side.kinds()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ConnectionAttempt {
                remote_host,
                remote_port,
                attempt,
                ..
            } => Some((remote_host, remote_port, attempt)),
            _ => None,
        })
        .collect()
}

fn names(side: &Side) -> Vec<&'static str> {
    side.events.iter().map(|e| e.name()).collect()
}

/// The details of `side`'s `fix.connection.lost` events.
fn losses(side: &Side) -> Vec<String> {
    side.kinds()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ConnectionLost { error_detail, .. } => Some(error_detail),
            _ => None,
        })
        .collect()
}

#[test]
fn every_event_carries_the_time_it_was_taken_to_the_microsecond() {
    let (initiator, acceptor) = configs(false);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    let origin = UtcTimestamp::from_unix_millis(ORIGIN_MILLIS);
    assert!(pair.initiator.events.iter().all(|e| e.at == origin));
    // 1.234567 s later the acceptor stops: both sides' Logout events carry that time.
    pair.advance(Duration::from_nanos(1_234_567_890));
    let now = pair.clock;
    pair.acceptor.conn.stop(now);
    pair.drive();
    let expected = ORIGIN_MILLIS * 1_000 + 1_234_567;
    for side in [&pair.initiator, &pair.acceptor] {
        let logout = side
            .events
            .iter()
            .find(|e| e.name() == "fix.session.logout")
            .expect("a Logout event");
        assert_eq!(logout.at.unix_micros(), expected);
        assert_eq!(
            logout.at.rfc3339().to_string(),
            "2026-11-26T00:00:01.234567Z"
        );
    }
}

#[test]
fn a_peer_logout_is_also_a_lost_connection_and_a_stop_is_not() {
    let (initiator, acceptor) = configs(false);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    let now = pair.clock;
    pair.acceptor.conn.stop(now);
    pair.drive();
    // The initiator saw its peer log out: the session's Logout, then the connection's loss.
    let names = names(&pair.initiator);
    let tail = &names[names.len() - 2..];
    assert_eq!(tail, ["fix.session.logout", "fix.connection.lost"]);
    assert_eq!(losses(&pair.initiator), ["peer logged out"]);
    // The acceptor's stop caused its end: a Logout, no loss.
    assert!(names_of(&pair.acceptor).contains(&"fix.session.logout"));
    assert!(
        losses(&pair.acceptor).is_empty(),
        "{:?}",
        pair.acceptor.events
    );
}

fn names_of(side: &Side) -> Vec<&'static str> {
    names(side)
}

#[test]
fn a_closed_socket_is_a_lost_connection_without_a_logout() {
    let (initiator, acceptor) = configs(false);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    pair.lose_link();
    assert_eq!(losses(&pair.initiator), ["connection reset"]);
    assert!(!names(&pair.initiator).contains(&"fix.session.logout"));
}

#[test]
fn an_attempt_names_its_host_and_port_and_comes_before_its_connect() {
    let (mut initiator, acceptor) = configs(false);
    let hosts = with_hosts(&mut initiator, 2, HostSelectionPolicy::RoundRobin);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    assert_eq!(
        attempts(&pair.initiator),
        [("127.0.0.1".to_owned(), 5001, 1)]
    );
    assert_eq!(names(&pair.initiator)[0], "fix.connection.attempt");
    // Lost: ReconnectInterval (30 s) later the next attempt goes to the second host.
    pair.reconnect = true;
    pair.lose_link();
    pair.advance(Duration::from_secs(30));
    assert_eq!(
        attempts(&pair.initiator),
        [
            ("127.0.0.1".to_owned(), 5001, 1),
            ("127.0.0.2".to_owned(), 5002, 2)
        ]
    );
    assert_eq!(pair.initiator.connects, hosts);
}

#[test]
fn a_connect_timeout_has_one_detail_whichever_timer_notices() {
    let (mut initiator, acceptor) = configs(false);
    with_hosts(&mut initiator, 1, HostSelectionPolicy::RoundRobin);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    // Connects after the first go unanswered.
    pair.lose_link();
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.initiator.connects.len(), 2);
    // The schedule's own timer gives the attempt up after SocketConnectTimeout (10 s)...
    pair.advance(Duration::from_secs(10));
    // ...and the next attempt's socket reports its own timeout first.
    pair.advance(Duration::from_secs(30));
    assert_eq!(pair.initiator.connects.len(), 3);
    let now = pair.clock;
    pair.initiator.conn.handle_connect_timed_out(now);
    pair.drive();
    let failures: Vec<(String, ErrorCode)> = pair
        .initiator
        .kinds()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ConnectionFailed {
                error_detail, code, ..
            } => Some((error_detail, code)),
            _ => None,
        })
        .collect();
    let detail = "connect timed out (SocketConnectTimeout 10 s)".to_owned();
    assert_eq!(
        failures,
        [
            (detail.clone(), ErrorCode::ConnectionRefused),
            (detail, ErrorCode::ConnectionRefused)
        ]
    );
}

/// An initiator logged on to the first of two hosts, HeartBtInt 1 s, ReconnectInterval 1 s,
/// whose link goes silent; returns how long it took to ask for a connection to the second
/// host, and the pair.
fn silent_primary(policy: HostSelectionPolicy) -> (Duration, Pair) {
    let (mut initiator, acceptor) = configs(false);
    let hosts = with_hosts(&mut initiator, 2, policy);
    initiator.heartbeat_interval = Duration::from_secs(1);
    if let Role::Initiator(config) = &mut initiator.role {
        config.reconnect_interval = Duration::from_secs(1);
    }
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    let dead = pair.clock;
    pair.acceptor.muted = true;
    let step = Duration::from_millis(10);
    for _ in 0..2_000 {
        pair.advance(step);
        if pair.initiator.connects.last() == Some(&hosts[1]) {
            return (pair.clock.saturating_duration_since(dead), pair);
        }
    }
    panic!(
        "{policy:?}: no attempt on the second host within 20 s: {:?}",
        pair.initiator.events
    );
}

#[test]
fn failover_does_not_wait_on_a_silent_host_under_either_policy() {
    // 2·HeartBtInt + ReconnectInterval + 2 s.
    let budget = Duration::from_secs(5);
    for policy in [
        HostSelectionPolicy::RoundRobin,
        HostSelectionPolicy::Priority,
    ] {
        let (took, pair) = silent_primary(policy);
        assert!(took <= budget, "{policy:?}: failover took {took:?}");
        // The silent host's connection was lost, with the reason, and no Logout.
        assert_eq!(
            losses(&pair.initiator),
            ["peer silent, no reply to TestRequest (HeartBtInt 1s)"],
            "{policy:?}"
        );
        assert!(!names(&pair.initiator).contains(&"fix.session.logout"));
        let last = attempts(&pair.initiator).pop();
        assert_eq!(last, Some(("127.0.0.2".to_owned(), 5002, 2)), "{policy:?}");
    }
}

#[test]
fn a_port_whose_sessions_all_have_an_allow_list_refuses_other_addresses_at_once() {
    let (initiator, mut acceptor) = configs(false);
    acceptor.allowed_remote_addresses = Some(vec!["127.0.0.9".parse().unwrap()]);
    let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
    pair.connect();
    pair.drive();
    assert_eq!(
        pair.router_kinds(),
        [EventKind::ConnectionError {
            remote_host: "127.0.0.1".into(),
            code: ErrorCode::ConnectionRefused,
            error_detail: "127.0.0.1 is not among the AllowedRemoteAddresses of any session on \
                           this port"
                .into(),
        }]
    );
    assert_eq!(pair.pending_sockets(), 0);
    assert!(!pair.acceptor.has_socket());
}

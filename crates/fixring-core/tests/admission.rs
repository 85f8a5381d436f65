//! The router's admission of sockets that have not logged on: the cap of one address, the
//! budget of all, the shorter LogonTimeout under pressure, allow-lists checked before a
//! socket takes a place, and a flood reported in one event. Sans-IO, on a virtual clock.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use fixring_core::config::Admission;
use fixring_core::connection::{Port, Router};
use fixring_core::{EventKind, Instant, SessionId};

const LOGON_TIMEOUT: Duration = Duration::from_secs(10);

fn admission(max_pending: usize, per_address: usize) -> Admission {
    Admission {
        max_pending,
        max_pending_per_address: per_address,
        pressure_logon_timeout: Duration::from_secs(2),
    }
}

fn router(admission: Admission, allowed: Vec<IpAddr>) -> Router<u32> {
    let allowed = if allowed.is_empty() {
        Vec::new()
    } else {
        vec![(0, allowed)]
    };
    let port = Port {
        number: 5001,
        sessions: vec![(0, SessionId::new("FIX.4.4", "ACC", "CLIENT"))],
        logon_timeout: LOGON_TIMEOUT,
        tls: None,
        allowed,
        templates: Vec::new(),
    };
    Router::new(vec![port], 4096, admission)
}

fn from(last: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 0, 0, last), 40000))
}

/// Accepts sockets `keys` from `peer` at `now`.
fn accept(router: &mut Router<u32>, now: Instant, keys: std::ops::Range<u32>, peer: SocketAddr) {
    for key in keys {
        assert!(router.handle_accepted(now, key, 0, peer));
    }
}

fn evicted(router: &mut Router<u32>, now: Instant) -> Vec<u32> {
    let mut closed = Vec::new();
    router.evict(now, |key| closed.push(key));
    closed
}

#[test]
fn an_address_beyond_its_cap_loses_its_own_oldest_only() {
    let now = Instant::from_secs(1);
    let mut router = router(admission(100, 3), Vec::new());
    accept(&mut router, now, 0..2, from(1));
    accept(&mut router, now, 10..15, from(2));
    assert_eq!(evicted(&mut router, now), vec![10, 11]);
    assert_eq!(router.pending_len(), 5);
    assert_eq!(
        evicted(&mut router, now),
        Vec::<u32>::new(),
        "within the caps"
    );
}

#[test]
fn beyond_the_budget_a_crowded_address_s_oldest_goes_first() {
    let now = Instant::from_secs(1);
    let mut router = router(admission(4, 100), Vec::new());
    assert!(!router.flood_on());
    accept(&mut router, now, 0..3, from(1));
    accept(&mut router, now, 3..6, from(2));
    router.handle_closed(1);
    assert_eq!(evicted(&mut router, now), vec![0]);
    assert_eq!(router.pending_len(), 4);
    assert!(router.flood_on(), "an eviction is a flood");
    // 2 is now the only one of its address: it stays though it is the oldest, and the
    // crowded address gives way; the newest stays whatever came before it.
    accept(&mut router, now, 6..8, from(3));
    assert_eq!(evicted(&mut router, now), vec![3, 4]);
    assert_eq!(router.evicted_total(), 3);
}

#[test]
fn when_every_address_has_one_the_oldest_of_all_goes() {
    let now = Instant::from_secs(1);
    let mut router = router(admission(2, 100), Vec::new());
    for (key, last) in [(10, 1), (11, 2), (12, 3)] {
        accept(&mut router, now, key..key + 1, from(last));
    }
    assert_eq!(evicted(&mut router, now), vec![10]);
}

#[test]
fn under_pressure_the_logon_timeout_is_the_shorter_one() {
    let t0 = Instant::from_secs(1);
    let mut router = router(admission(4, 100), Vec::new());
    accept(&mut router, t0, 0..2, from(1));
    assert_eq!(router.poll_timeout(), Some(t0 + LOGON_TIMEOUT));
    accept(&mut router, t0, 2..3, from(1));
    assert_eq!(
        router.poll_timeout(),
        Some(t0 + Duration::from_secs(2)),
        "more than half the budget taken"
    );
    let mut closed = Vec::new();
    router.handle_timeout(t0 + Duration::from_secs(2), |key| closed.push(key));
    closed.sort_unstable();
    assert_eq!(closed, vec![0, 1, 2]);
    let refusals = std::iter::from_fn(|| router.poll_event(t0 + Duration::from_secs(2)))
        .filter(|e| matches!(e, EventKind::ConnectionError { .. }))
        .count();
    assert_eq!(refusals, 3);
}

#[test]
fn an_address_not_allowed_never_takes_a_place() {
    let now = Instant::from_secs(1);
    let allowed = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut router = router(admission(2, 2), vec![allowed]);
    for key in 0..10 {
        assert!(!router.handle_accepted(now, key, 0, from(9)));
    }
    assert_eq!(router.pending_len(), 0);
    accept(&mut router, now, 10..12, from(1));
    assert_eq!(evicted(&mut router, now), Vec::<u32>::new());
}

#[test]
fn a_flood_is_a_few_events_and_one_report() {
    let t0 = Instant::from_secs(1);
    let mut router = router(admission(8, 5), Vec::new());
    let peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
    for round in 0..100u32 {
        accept(&mut router, t0, round * 10..round * 10 + 10, from(7));
        evicted(&mut router, t0);
        let mut closed = Vec::new();
        // What is left of the round times out under pressure: refusals, most not reported.
        router.handle_timeout(t0 + Duration::from_secs(2), |key| closed.push(key));
    }
    let events: Vec<EventKind> =
        std::iter::from_fn(|| router.poll_event(t0 + Duration::from_secs(2))).collect();
    assert!(events.len() <= 30, "{} events: {events:?}", events.len());
    assert_eq!(router.evicted_total(), 500);
    assert_eq!(router.refused_total(), 500);
    let later = t0 + Duration::from_secs(11);
    let mut none = Vec::new();
    router.handle_timeout(later, |key| none.push(key));
    let report: Vec<EventKind> = std::iter::from_fn(|| router.poll_event(later)).collect();
    assert!(
        matches!(
            report.as_slice(),
            [EventKind::ConnectionFlood { evicted: 500, refused: 480, sources, .. }]
                if sources == &vec![(peer, 980)]
        ),
        "{report:?}"
    );
    assert!(!router.flood_on(), "the flood's interval is over");
}

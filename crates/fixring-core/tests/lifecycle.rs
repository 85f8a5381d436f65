//! Connection lifecycle on a virtual clock: the transition table, the initiator's reconnect
//! and connect-timeout timing, host selection, and the acceptor's Logon routing.

use std::time::Duration;

use fixring_core::config::{ConnectionType, HostConfig, HostSelectionPolicy, InitiatorConfig};
use fixring_core::connection::{
    Action, ConnectionState, InitiatorSchedule, Lifecycle, LogonIdentity, LogonRouter,
    RouteRefusal, ScheduleError, SessionIndex, StateKind, Timer, TransitionError,
    is_legal_transition,
};
use fixring_core::timer::TimerName;
use fixring_core::{ErrorCode, Instant, SessionId};

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn before(t: Instant) -> Instant {
    Instant::from_nanos(t.as_nanos() - 1)
}

// ---------------------------------------------------------------------------------------------
// The transition table
// ---------------------------------------------------------------------------------------------

/// The blueprint's transitions, written out independently of `is_legal_transition`.
const LEGAL: &[(StateKind, StateKind, ConnectionType)] = {
    use ConnectionType::{Acceptor, Initiator};
    use StateKind::{Connected, Disconnected, Pending, Stopped};
    &[
        (Stopped, Pending, Initiator),
        (Pending, Connected, Initiator),
        (Pending, Disconnected, Initiator),
        (Pending, Stopped, Initiator),
        (Connected, Disconnected, Initiator),
        (Connected, Stopped, Initiator),
        (Disconnected, Pending, Initiator),
        (Disconnected, Stopped, Initiator),
        (Stopped, Connected, Acceptor),
        (Connected, Disconnected, Acceptor),
        (Connected, Stopped, Acceptor),
        (Disconnected, Connected, Acceptor),
        (Disconnected, Stopped, Acceptor),
    ]
};

const TYPES: [ConnectionType; 2] = [ConnectionType::Initiator, ConnectionType::Acceptor];

/// A lifecycle brought to `state` along legal transitions, or `None` when the type never
/// reaches it (an acceptor is never pending).
fn lifecycle_in(state: StateKind, ty: ConnectionType) -> Option<Lifecycle> {
    let mut lifecycle = Lifecycle::new(ty);
    let t = secs(1);
    let result = match (state, ty) {
        (StateKind::Stopped, _) => Ok(()),
        (StateKind::Pending, ConnectionType::Acceptor) => return None,
        (StateKind::Pending, ConnectionType::Initiator) => lifecycle.begin_connect(t, 0),
        (StateKind::Connected, ConnectionType::Initiator) => lifecycle
            .begin_connect(t, 0)
            .and_then(|()| lifecycle.connected(t)),
        (StateKind::Connected, ConnectionType::Acceptor) => lifecycle.connected(t),
        (StateKind::Disconnected, ConnectionType::Initiator) => lifecycle
            .begin_connect(t, 0)
            .and_then(|()| lifecycle.disconnected(t, ErrorCode::ConnectionRefused)),
        (StateKind::Disconnected, ConnectionType::Acceptor) => lifecycle
            .connected(t)
            .and_then(|()| lifecycle.disconnected(t, ErrorCode::ConnectionLost)),
    };
    assert_eq!(result, Ok(()), "setting up {state} for {ty:?}");
    assert_eq!(lifecycle.state().kind(), state);
    Some(lifecycle)
}

fn transition(lifecycle: &mut Lifecycle, to: StateKind) -> Result<(), TransitionError> {
    let t = secs(2);
    match to {
        StateKind::Stopped => lifecycle.stop(),
        StateKind::Pending => lifecycle.begin_connect(t, 1),
        StateKind::Connected => lifecycle.connected(t),
        StateKind::Disconnected => lifecycle.disconnected(t, ErrorCode::ConnectionLost),
    }
}

#[test]
fn the_table_is_exactly_the_blueprint() {
    let mut legal = 0;
    for ty in TYPES {
        for from in StateKind::ALL {
            for to in StateKind::ALL {
                let expected = LEGAL.contains(&(from, to, ty));
                assert_eq!(
                    is_legal_transition(from, to, ty),
                    expected,
                    "{from} -> {to} for {ty:?}"
                );
                legal += usize::from(expected);
            }
        }
    }
    assert_eq!(legal, LEGAL.len());
}

#[test]
fn every_transition_is_accepted_or_refused_unchanged() {
    let mut checked = 0;
    for ty in TYPES {
        for from in StateKind::ALL {
            for to in StateKind::ALL {
                let Some(mut lifecycle) = lifecycle_in(from, ty) else {
                    continue;
                };
                let before = lifecycle.clone();
                let result = transition(&mut lifecycle, to);
                if LEGAL.contains(&(from, to, ty)) {
                    assert_eq!(result, Ok(()), "{from} -> {to} for {ty:?}");
                    assert_eq!(lifecycle.state().kind(), to);
                } else {
                    let expected = TransitionError {
                        from,
                        to,
                        connection_type: ty,
                    };
                    assert_eq!(result, Err(expected), "{from} -> {to} for {ty:?}");
                    assert_eq!(lifecycle, before, "state changed on a refused transition");
                }
                checked += 1;
            }
        }
    }
    // 4 x 4 pairs for the initiator, 3 x 4 for the acceptor (it has no pending state).
    assert_eq!(checked, 28);
}

#[test]
fn an_acceptor_never_becomes_pending() {
    for from in [
        StateKind::Stopped,
        StateKind::Connected,
        StateKind::Disconnected,
    ] {
        let mut lifecycle = lifecycle_in(from, ConnectionType::Acceptor).unwrap();
        assert!(!lifecycle.can_transition(StateKind::Pending));
        assert!(lifecycle.begin_connect(secs(3), 0).is_err());
        assert_eq!(lifecycle.state().kind(), from);
    }
}

#[test]
fn states_carry_their_data() {
    let mut lifecycle = Lifecycle::new(ConnectionType::Initiator);
    assert_eq!(lifecycle.state(), &ConnectionState::Stopped);
    lifecycle.begin_connect(secs(5), 2).unwrap();
    assert_eq!(
        lifecycle.state(),
        &ConnectionState::Pending {
            host_index: 2,
            since: secs(5)
        }
    );
    lifecycle
        .disconnected(secs(6), ErrorCode::SslHandshakeFailed)
        .unwrap();
    assert_eq!(
        lifecycle.state(),
        &ConnectionState::Disconnected {
            since: secs(6),
            reason: ErrorCode::SslHandshakeFailed
        }
    );
    assert_eq!(lifecycle.state().as_str(), "disconnected");
    let err = lifecycle.connected(secs(7)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "illegal connection state transition for an initiator: disconnected -> connected"
    );
}

// ---------------------------------------------------------------------------------------------
// The initiator's schedule
// ---------------------------------------------------------------------------------------------

fn config(hosts: usize, policy: HostSelectionPolicy) -> InitiatorConfig {
    let hosts = (0..hosts)
        .map(|i| HostConfig::new(&format!("10.0.0.{i}"), 9000 + i as u16))
        .collect();
    let mut config = InitiatorConfig::new(hosts);
    config.host_selection = policy;
    config
}

/// The host index of the `Connect` that `poll_action(now)` returns, panicking on anything
/// else.
fn expect_connect(schedule: &mut InitiatorSchedule, now: Instant) -> (usize, Instant) {
    match schedule.poll_action(now) {
        Some(Action::Connect {
            host_index,
            host,
            timeout_at,
        }) => {
            assert_eq!(host.host, format!("10.0.0.{host_index}"));
            (host_index, timeout_at)
        }
        other => panic!("expected a connect at {now}, got {other:?}"),
    }
}

/// Makes attempts that fail at once, one per reconnect interval, and returns their hosts.
fn failing_attempts(schedule: &mut InitiatorSchedule, start: Instant, count: usize) -> Vec<usize> {
    let interval = Duration::from_secs(30);
    let mut now = start;
    let mut hosts = Vec::new();
    for _ in 0..count {
        let (host, _) = expect_connect(schedule, now);
        hosts.push(host);
        schedule
            .handle_connect_failed(now, ErrorCode::ConnectionRefused)
            .unwrap();
        now += interval;
    }
    hosts
}

#[test]
fn an_empty_host_list_is_refused() {
    let err = InitiatorSchedule::new(&InitiatorConfig::new(Vec::new())).unwrap_err();
    assert_eq!(err, ScheduleError::NoHosts);
    assert_eq!(err.code(), ErrorCode::ConfigError);
}

#[test]
fn timer_names_index_their_table() {
    for (i, timer) in Timer::ALL.iter().enumerate() {
        assert_eq!(timer.index(), i);
    }
    assert_eq!(Timer::Reconnect.as_str(), "reconnect");
    assert_eq!(Timer::ConnectTimeout.as_str(), "connect_timeout");
}

#[test]
fn first_attempt_is_immediate_and_reconnect_waits_exactly_the_interval() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::RoundRobin)).unwrap();
    assert!(schedule.state().is_stopped());
    assert_eq!(schedule.poll_action(secs(0)), None);
    assert_eq!(schedule.poll_timeout(), None);

    let t0 = secs(100);
    assert!(schedule.start(t0));
    assert!(
        !schedule.start(t0),
        "a running schedule does not start again"
    );
    assert_eq!(
        expect_connect(&mut schedule, t0),
        (0, t0 + Duration::from_secs(10))
    );
    assert_eq!(schedule.poll_action(t0), None, "one connect per attempt");
    assert!(schedule.state().is_pending());

    let failed_at = t0 + Duration::from_millis(3);
    schedule
        .handle_connect_failed(failed_at, ErrorCode::ConnectionRefused)
        .unwrap();
    assert_eq!(
        schedule.state(),
        &ConnectionState::Disconnected {
            since: failed_at,
            reason: ErrorCode::ConnectionRefused
        }
    );
    let due = failed_at + Duration::from_secs(30);
    assert_eq!(schedule.poll_timeout(), Some(due));
    assert_eq!(schedule.timer(Timer::ConnectTimeout), None);

    for early in [failed_at, failed_at + Duration::from_secs(29), before(due)] {
        assert_eq!(schedule.poll_action(early), None, "too early at {early}");
        assert!(schedule.state().is_disconnected());
    }
    let (host, timeout_at) = expect_connect(&mut schedule, due);
    assert_eq!(host, 1);
    assert_eq!(timeout_at, due + Duration::from_secs(10));
    assert_eq!(
        schedule.state(),
        &ConnectionState::Pending {
            host_index: 1,
            since: due
        }
    );
}

#[test]
fn a_lost_connection_reconnects_after_the_interval() {
    let mut schedule = InitiatorSchedule::new(&config(1, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule.handle_connected(secs(1)).unwrap();
    assert_eq!(
        schedule.state(),
        &ConnectionState::Connected { since: secs(1) }
    );
    assert_eq!(
        schedule.poll_timeout(),
        None,
        "no timer runs while connected"
    );

    schedule
        .handle_lost(secs(500), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(schedule.poll_timeout(), Some(secs(530)));
    assert_eq!(schedule.poll_action(before(secs(530))), None);
    assert_eq!(expect_connect(&mut schedule, secs(530)).0, 0);

    let counters = schedule.counters();
    assert_eq!((counters.attempts, counters.successes), (2, 1));
    assert_eq!((counters.failures, counters.losses), (0, 1));
}

#[test]
fn the_connect_timeout_fires_exactly_at_the_deadline() {
    let mut schedule = InitiatorSchedule::new(&config(2, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    let (_, timeout_at) = expect_connect(&mut schedule, secs(0));
    assert_eq!(timeout_at, secs(10));
    assert_eq!(schedule.poll_timeout(), Some(secs(10)));

    schedule.handle_timeout(before(secs(10)));
    assert!(schedule.state().is_pending());
    assert_eq!(schedule.poll_action(before(secs(10))), None);

    schedule.handle_timeout(secs(10));
    assert_eq!(
        schedule.state(),
        &ConnectionState::Disconnected {
            since: secs(10),
            reason: ErrorCode::ConnectionRefused
        }
    );
    assert_eq!(
        schedule.poll_action(secs(10)),
        Some(Action::AbortConnect { host_index: 0 })
    );
    assert_eq!(schedule.poll_action(secs(10)), None);
    assert_eq!(schedule.poll_timeout(), Some(secs(40)));

    // The aborted socket's late completion is refused; the state stays as it was.
    assert!(schedule.handle_connected(secs(11)).is_err());
    assert!(schedule.state().is_disconnected());

    assert_eq!(expect_connect(&mut schedule, secs(40)).0, 1);
    let counters = schedule.counters();
    assert_eq!(
        (counters.attempts, counters.failures, counters.timeouts),
        (2, 1, 1)
    );
}

#[test]
fn poll_action_alone_drives_the_timers() {
    let mut schedule = InitiatorSchedule::new(&config(2, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    // Long after both deadlines: the attempt failed at its deadline (t=10), so the reconnect
    // (t=40) is due too.
    assert_eq!(
        schedule.poll_action(secs(60)),
        Some(Action::AbortConnect { host_index: 0 })
    );
    assert_eq!(expect_connect(&mut schedule, secs(60)), (1, secs(70)));
    assert_eq!(schedule.counters().timeouts, 1);
}

#[test]
fn a_non_transient_failure_is_not_retried() {
    let mut schedule = InitiatorSchedule::new(&config(2, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule
        .handle_connect_failed(secs(1), ErrorCode::ConfigError)
        .unwrap();
    assert!(schedule.state().is_disconnected());
    assert_eq!(schedule.poll_timeout(), None);
    assert_eq!(schedule.poll_action(secs(1_000)), None);
}

#[test]
fn a_failed_tls_handshake_moves_pending_to_disconnected_and_retries() {
    let mut schedule = InitiatorSchedule::new(&config(1, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule
        .handle_connect_failed(secs(2), ErrorCode::SslHandshakeFailed)
        .unwrap();
    assert_eq!(
        schedule.state(),
        &ConnectionState::Disconnected {
            since: secs(2),
            reason: ErrorCode::SslHandshakeFailed
        }
    );
    assert_eq!(expect_connect(&mut schedule, secs(32)).0, 0);
}

#[test]
fn reports_in_the_wrong_state_are_refused() {
    let mut schedule = InitiatorSchedule::new(&config(1, HostSelectionPolicy::RoundRobin)).unwrap();
    let refused = |result: Result<(), TransitionError>, from, to| {
        assert_eq!(
            result,
            Err(TransitionError {
                from,
                to,
                connection_type: ConnectionType::Initiator
            })
        );
    };
    refused(
        schedule.handle_connected(secs(0)),
        StateKind::Stopped,
        StateKind::Connected,
    );
    refused(
        schedule.handle_lost(secs(0), ErrorCode::ConnectionLost),
        StateKind::Stopped,
        StateKind::Disconnected,
    );
    refused(schedule.stop(), StateKind::Stopped, StateKind::Stopped);

    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule
        .handle_connect_failed(secs(1), ErrorCode::ConnectionRefused)
        .unwrap();
    refused(
        schedule.handle_connect_failed(secs(2), ErrorCode::ConnectionRefused),
        StateKind::Disconnected,
        StateKind::Disconnected,
    );
    assert_eq!(schedule.counters().failures, 1);
}

#[test]
fn a_socket_closing_before_connected_is_a_failed_attempt() {
    let mut schedule = InitiatorSchedule::new(&config(2, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule
        .handle_lost(secs(1), ErrorCode::ConnectionLost)
        .unwrap();
    let counters = schedule.counters();
    assert_eq!((counters.failures, counters.losses), (1, 0));
}

#[test]
fn stop_aborts_a_pending_attempt_and_clears_the_timers() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule.stop().unwrap();
    assert!(schedule.state().is_stopped());
    assert_eq!(schedule.poll_timeout(), None);
    assert_eq!(
        schedule.poll_action(secs(100)),
        Some(Action::AbortConnect { host_index: 0 })
    );
    assert_eq!(schedule.poll_action(secs(100)), None);

    // Restarting begins again from the first host.
    assert!(schedule.start(secs(200)));
    assert_eq!(expect_connect(&mut schedule, secs(200)).0, 0);

    // Stopping while disconnected drops the pending reconnect.
    schedule
        .handle_connect_failed(secs(201), ErrorCode::ConnectionRefused)
        .unwrap();
    schedule.stop().unwrap();
    assert_eq!(schedule.poll_action(secs(1_000)), None);
    assert_eq!(schedule.poll_timeout(), None);
}

#[test]
fn only_handed_out_connects_are_aborted() {
    let mut schedule = InitiatorSchedule::new(&config(2, HostSelectionPolicy::RoundRobin)).unwrap();
    // Stopped before the engine took the connect: there is no socket to abort.
    schedule.start(secs(0));
    schedule.stop().unwrap();
    assert_eq!(schedule.poll_action(secs(1)), None);

    // Timed out, then the reconnect is due and the engine stops, all before it polls again:
    // the first socket is aborted, the second attempt never reached the engine.
    schedule.start(secs(100));
    expect_connect(&mut schedule, secs(100));
    schedule.handle_timeout(secs(140));
    assert!(schedule.state().is_pending());
    schedule.stop().unwrap();
    assert_eq!(
        schedule.poll_action(secs(141)),
        Some(Action::AbortConnect { host_index: 0 })
    );
    assert_eq!(schedule.poll_action(secs(141)), None);
    assert_eq!(schedule.counters().attempts, 3);
}

#[test]
fn stop_while_connected_leaves_the_socket_to_the_engine() {
    let mut schedule = InitiatorSchedule::new(&config(1, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    expect_connect(&mut schedule, secs(0));
    schedule.handle_connected(secs(0)).unwrap();
    schedule.stop().unwrap();
    assert_eq!(schedule.poll_action(secs(1)), None);
}

#[test]
fn the_blueprint_defaults_time_out_at_10s_and_reconnect_after_30s() {
    let mut schedule =
        InitiatorSchedule::new(&InitiatorConfig::new(vec![HostConfig::new("10.0.0.0", 1)]))
            .unwrap();
    schedule.start(secs(0));
    assert_eq!(expect_connect(&mut schedule, secs(0)).1, secs(10));
    schedule.handle_timeout(secs(10));
    assert_eq!(schedule.poll_timeout(), Some(secs(40)));
    assert_eq!(schedule.timer(Timer::Reconnect), Some(secs(40)));
    assert_eq!(
        schedule.timer(Timer::Reconnect).map(|t| t - secs(10)),
        Some(Duration::from_secs(30))
    );
}

// ---------------------------------------------------------------------------------------------
// Host selection
// ---------------------------------------------------------------------------------------------

#[test]
fn round_robin_rotates_through_three_hosts_over_seven_attempts() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    assert_eq!(
        failing_attempts(&mut schedule, secs(0), 7),
        [0, 1, 2, 0, 1, 2, 0]
    );
    assert_eq!(schedule.counters().attempts, 7);
    assert_eq!(schedule.counters().failures, 7);
}

#[test]
fn round_robin_moves_on_after_a_loss_too() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::RoundRobin)).unwrap();
    schedule.start(secs(0));
    assert_eq!(expect_connect(&mut schedule, secs(0)).0, 0);
    schedule.handle_connected(secs(0)).unwrap();
    schedule
        .handle_lost(secs(1_000), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(1_030)).0, 1);
}

#[test]
fn priority_fails_over_in_order_and_wraps_to_the_primary() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::Priority)).unwrap();
    schedule.start(secs(0));
    // Each pass over the hosts takes 90 s: the wrap reaches host 0 before the 120 s interval.
    assert_eq!(
        failing_attempts(&mut schedule, secs(0), 7),
        [0, 1, 2, 0, 1, 2, 0]
    );
}

/// Fails on host 0 at t=0, then connects to host 1 at t=30.
fn failed_over_to_host_1() -> InitiatorSchedule {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::Priority)).unwrap();
    schedule.start(secs(0));
    assert_eq!(failing_attempts(&mut schedule, secs(0), 1), [0]);
    assert_eq!(expect_connect(&mut schedule, secs(30)).0, 1);
    schedule.handle_connected(secs(30)).unwrap();
    schedule
}

#[test]
fn priority_goes_back_to_the_primary_after_the_start_over_interval() {
    let mut schedule = failed_over_to_host_1();
    // Lost at t=100; the next attempt at t=130 is 130 s after host 0 was abandoned.
    schedule
        .handle_lost(secs(100), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(130)).0, 0);
}

#[test]
fn priority_stays_on_the_failover_host_before_the_interval() {
    let mut schedule = failed_over_to_host_1();
    // Lost at t=40; the attempt at t=70 is only 70 s after host 0 was abandoned.
    schedule
        .handle_lost(secs(40), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(70)).0, 1);
    // The attempt on host 1 fails: host 2 next (t=100, still inside the interval)...
    schedule
        .handle_connect_failed(secs(70), ErrorCode::ConnectionRefused)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(100)).0, 2);
    schedule.handle_connected(secs(100)).unwrap();
    // ...and once the interval has passed, a loss there sends the next attempt to host 0.
    schedule
        .handle_lost(secs(110), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(140)).0, 0);
}

#[test]
fn priority_moves_on_when_a_failover_host_times_out_late() {
    let mut config = config(3, HostSelectionPolicy::Priority);
    config.connect_timeout = Duration::from_secs(100);
    let mut schedule = InitiatorSchedule::new(&config).unwrap();
    schedule.start(secs(0));
    assert_eq!(failing_attempts(&mut schedule, secs(0), 1), [0]);
    assert_eq!(expect_connect(&mut schedule, secs(30)).0, 1);
    // Host 1 times out at t=130: a failed host, so host 2 is next (t=160), though the
    // start-over interval has passed; starting over waits for a lost connection.
    assert_eq!(
        schedule.poll_action(secs(130)),
        Some(Action::AbortConnect { host_index: 1 })
    );
    assert_eq!(expect_connect(&mut schedule, secs(160)).0, 2);
}

#[test]
fn priority_fails_over_from_a_host_that_stopped_answering() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::Priority)).unwrap();
    schedule.start(secs(0));
    assert_eq!(expect_connect(&mut schedule, secs(0)).0, 0);
    schedule.handle_connected(secs(0)).unwrap();
    // Host 0's peer went silent: it is not tried first again.
    schedule
        .handle_unanswered(secs(50), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(80)).0, 1);
    assert_eq!(schedule.counters().losses, 1);
    schedule.handle_connected(secs(80)).unwrap();
    // Host 1 closed by its peer: retried, as it was answering...
    schedule
        .handle_lost(secs(90), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(120)).0, 1);
    schedule.handle_connected(secs(120)).unwrap();
    // ...until the start-over interval since host 0 was abandoned (t=50) has passed.
    schedule
        .handle_lost(secs(150), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(180)).0, 0);
}

#[test]
fn priority_fails_over_with_a_start_over_interval_below_the_reconnect_interval() {
    for interval in [0, 10, 30] {
        let mut config = config(3, HostSelectionPolicy::Priority);
        config.priority_start_over_interval = Duration::from_secs(interval);
        let mut schedule = InitiatorSchedule::new(&config).unwrap();
        schedule.start(secs(0));
        assert_eq!(
            failing_attempts(&mut schedule, secs(0), 4),
            [0, 1, 2, 0],
            "start-over interval {interval} s, reconnect interval 30 s"
        );
    }
}

#[test]
fn priority_success_on_the_primary_resets_the_clock() {
    let mut schedule = InitiatorSchedule::new(&config(3, HostSelectionPolicy::Priority)).unwrap();
    schedule.start(secs(0));
    assert_eq!(failing_attempts(&mut schedule, secs(0), 3), [0, 1, 2]);
    assert_eq!(expect_connect(&mut schedule, secs(90)).0, 0);
    schedule.handle_connected(secs(90)).unwrap();
    // A loss on the primary retries the primary.
    schedule
        .handle_lost(secs(1_000), ErrorCode::ConnectionLost)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(1_030)).0, 0);
    // It fails: fail over to host 1 and connect there; the clock now runs from t=1030.
    schedule
        .handle_connect_failed(secs(1_030), ErrorCode::ConnectionRefused)
        .unwrap();
    assert_eq!(expect_connect(&mut schedule, secs(1_060)).0, 1);
    schedule.handle_connected(secs(1_060)).unwrap();
    schedule
        .handle_lost(secs(1_100), ErrorCode::ConnectionLost)
        .unwrap();
    // t=1130 is 100 s after the primary was abandoned: stay on host 1.
    assert_eq!(expect_connect(&mut schedule, secs(1_130)).0, 1);
    assert_eq!(schedule.current_host(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// Acceptor routing
// ---------------------------------------------------------------------------------------------

fn router() -> LogonRouter {
    let mut qualified = SessionId::new("FIX.4.4", "US", "BROKER");
    qualified.qualifier = "A".into();
    let mut second = qualified.clone();
    second.qualifier = "B".into();
    LogonRouter::new([
        SessionId::new("FIX.4.4", "US", "THEM"),
        SessionId::new("FIXT.1.1", "US", "THEM"),
        qualified,
        second,
    ])
}

#[test]
fn a_logon_maps_to_the_session_with_its_identity() {
    let mut router = router();
    assert_eq!(router.len(), 4);
    // The peer's Logon: SenderCompID (49) is THEM, TargetCompID (56) is US.
    assert_eq!(
        router.route(b"FIX.4.4", b"THEM", b"US"),
        Ok(SessionIndex(0))
    );
    assert_eq!(
        router.route(b"FIXT.1.1", b"THEM", b"US"),
        Ok(SessionIndex(1))
    );
    assert!(router.is_logged_on(SessionIndex(0)));
    assert_eq!(router.logged_on_count(), 2);
    assert_eq!(
        router.session(SessionIndex(1)),
        Some(&SessionId::new("FIXT.1.1", "US", "THEM"))
    );
}

#[test]
fn an_unknown_identity_is_refused() {
    let mut router = router();
    let unknown = |begin: &str, sender: &str, target: &str| RouteRefusal::UnknownSession {
        begin_string: begin.into(),
        sender: sender.into(),
        target: target.into(),
    };
    assert_eq!(
        router.route(b"FIX.4.4", b"STRANGER", b"US"),
        Err(unknown("FIX.4.4", "STRANGER", "US"))
    );
    // Our identity sent back to us, CompIDs swapped.
    assert_eq!(
        router.route(b"FIX.4.4", b"US", b"THEM"),
        Err(unknown("FIX.4.4", "US", "THEM"))
    );
    assert_eq!(router.route(b"", b"", b""), Err(unknown("", "", "")));
    assert_eq!(router.logged_on_count(), 0);
}

#[test]
fn a_begin_string_mismatch_is_refused() {
    let mut router = router();
    let err = router.route(b"FIX.4.2", b"THEM", b"US").unwrap_err();
    assert!(
        matches!(err, RouteRefusal::UnknownSession { ref begin_string, .. } if begin_string == "FIX.4.2")
    );
    assert!(err.to_string().contains("FIX.4.2:US->THEM"));
}

#[test]
fn a_second_logon_is_refused_until_release() {
    let mut router = router();
    assert_eq!(
        router.route(b"FIX.4.4", b"THEM", b"US"),
        Ok(SessionIndex(0))
    );
    assert_eq!(
        router.route(b"FIX.4.4", b"THEM", b"US"),
        Err(RouteRefusal::AlreadyLoggedOn(SessionId::new(
            "FIX.4.4", "US", "THEM"
        )))
    );
    assert!(router.release(SessionIndex(0)));
    assert!(!router.release(SessionIndex(0)), "released twice");
    assert_eq!(
        router.route(b"FIX.4.4", b"THEM", b"US"),
        Ok(SessionIndex(0))
    );
}

#[test]
fn sessions_sharing_comp_ids_fill_in_order() {
    let mut router = router();
    assert_eq!(
        router.route(b"FIX.4.4", b"BROKER", b"US"),
        Ok(SessionIndex(2))
    );
    assert_eq!(
        router.route(b"FIX.4.4", b"BROKER", b"US"),
        Ok(SessionIndex(3))
    );
    let Err(RouteRefusal::AlreadyLoggedOn(id)) = router.route(b"FIX.4.4", b"BROKER", b"US") else {
        panic!("a third logon must be refused");
    };
    assert_eq!(id.qualifier, "A");
    // The sessions that refused it, which a silent connection may free.
    let taken: Vec<_> = router
        .logged_on_matches(&LogonIdentity::comp_ids(b"FIX.4.4", b"BROKER", b"US"))
        .collect();
    assert_eq!(taken, [SessionIndex(2), SessionIndex(3)]);
    assert_eq!(
        router
            .logged_on_matches(&LogonIdentity::comp_ids(b"FIX.4.4", b"THEM", b"US"))
            .count(),
        0
    );
    router.release(SessionIndex(3));
    assert_eq!(
        router.route(b"FIX.4.4", b"BROKER", b"US"),
        Ok(SessionIndex(3))
    );
}

/// Sessions differing only by TargetSubID, as FINRA's: a Logon goes to the one its
/// SenderSubID names, a session that names none takes what no other does, and a Logon that
/// names another desk is refused naming the field.
#[test]
fn sub_and_location_ids_tell_sessions_apart() {
    let desk = |sub: &str, location: &str| {
        let mut id = SessionId::new("FIX.4.2", "FINRA", "FIRM");
        id.target_sub_id = sub.into();
        id.target_location_id = location.into();
        id
    };
    let mut router = LogonRouter::new([desk("DESK1", ""), desk("DESK2", "NY"), desk("", "")]);
    let logon = |sub: &'static [u8], location: &'static [u8]| LogonIdentity {
        sender_sub_id: sub,
        sender_location_id: location,
        ..LogonIdentity::comp_ids(b"FIX.4.2", b"FIRM", b"FINRA")
    };
    assert_eq!(
        router.route_logon(&logon(b"DESK2", b"NY")),
        Ok(SessionIndex(1))
    );
    assert_eq!(
        router.route_logon(&logon(b"DESK1", b"")),
        Ok(SessionIndex(0))
    );
    // DESK1 is taken: its second Logon does not fall back on the session naming no desk.
    assert_eq!(
        router.route_logon(&logon(b"DESK1", b"")),
        Err(RouteRefusal::AlreadyLoggedOn(desk("DESK1", "")))
    );
    let taken: Vec<_> = router.logged_on_matches(&logon(b"DESK1", b"")).collect();
    assert_eq!(taken, [SessionIndex(0)]);
    // No SubID at all, or one no session names: the session naming none.
    assert_eq!(router.route_logon(&logon(b"", b"")), Ok(SessionIndex(2)));
    router.release(SessionIndex(2));
    assert_eq!(
        router.route_logon(&logon(b"DESK9", b"")),
        Ok(SessionIndex(2))
    );

    // Without a catch-all session, a wrong desk is refused, naming the field.
    let mut strict = LogonRouter::new([desk("DESK1", ""), desk("DESK2", "NY")]);
    let refusal = strict.route_logon(&logon(b"DESK2", b"LDN")).unwrap_err();
    assert_eq!(
        refusal,
        RouteRefusal::IdentityMismatch {
            session: desk("DESK1", ""),
            tag: 50,
            received: "DESK2".into(),
        }
    );
    assert!(
        refusal.to_string().contains("FIX.4.2:FINRA->FIRM/DESK1"),
        "{refusal}"
    );
    assert_eq!(strict.logged_on_count(), 0);
}

#[test]
fn an_acceptor_session_reconnects_through_the_router() {
    let mut router = router();
    let mut lifecycle = Lifecycle::new(ConnectionType::Acceptor);
    let index = router.route(b"FIX.4.4", b"THEM", b"US").unwrap();
    lifecycle.connected(secs(1)).unwrap();
    lifecycle
        .disconnected(secs(2), ErrorCode::ConnectionLost)
        .unwrap();
    router.release(index);
    assert_eq!(router.route(b"FIX.4.4", b"THEM", b"US"), Ok(index));
    lifecycle.connected(secs(3)).unwrap();
    assert_eq!(
        lifecycle.state(),
        &ConnectionState::Connected { since: secs(3) }
    );
}

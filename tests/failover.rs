//! Failover between an initiator's hosts over real links: two fixring acceptors, each in a
//! network namespace of its own behind a veth link, and a fixring initiator in the root
//! namespace with the first as `SocketConnectHost` and the second as `SocketConnectHost1`.
//!
//! While the initiator is logged on to the first host, that host's link goes dead in silence:
//! no reset, no ICMP error, and a new connect's SYN goes unanswered. With HeartBtInt 1 the
//! initiator finds the silence by TestRequest, waits ReconnectInterval, and must log on to the
//! second host within 2·HeartBtInt + ReconnectInterval + 2 s under both policies. A host lost
//! to silence is not tried first again: retrying it would cost a full SocketConnectTimeout.
//! (`PRIORITY` goes back to it after HostSelectionPolicyPriorityStartOverInterval, 120 s by
//! default; these tests end long before.)

mod common;

use std::time::{Duration, Instant};

use common::netns::Netns;
use common::recorder::{Recorder, Seen};
use common::rig::start;
use fixring::core::EventKind;

/// The initiator's HeartBtInt, in seconds.
const HEART_BT_INT: u64 = 1;

/// The initiator's ReconnectInterval, in seconds.
const RECONNECT_INTERVAL: u64 = 1;

/// The initiator's SocketConnectTimeout, in seconds: the default, written out because it is
/// what a retry of the silent host costs.
const CONNECT_TIMEOUT: u64 = 10;

/// How long failover may take: 2·HeartBtInt + ReconnectInterval + 2 s.
const FAILOVER_BOUND: Duration = Duration::from_secs(2 * HEART_BT_INT + RECONNECT_INTERVAL + 2);

/// The longest wait for anything; past a retry of the silent host (loss, ReconnectInterval
/// and SocketConnectTimeout), so that a slow failover is measured rather than cut short.
const WAIT: Duration = Duration::from_secs(20);

/// The acceptors' port: each has a namespace, and so a port space, of its own.
const PORT: u16 = 5001;

#[test]
fn round_robin_fails_over_from_a_silent_host_in_time() {
    failover("ROUNDROBIN", None);
}

#[test]
fn round_robin_fails_over_from_a_silent_host_in_time_on_epoll() {
    failover("ROUNDROBIN", Some("epoll"));
}

#[test]
fn priority_fails_over_from_a_silent_host_in_time() {
    failover("PRIORITY", None);
}

#[test]
fn priority_fails_over_from_a_silent_host_in_time_on_epoll() {
    failover("PRIORITY", Some("epoll"));
}

/// Logs on to host 0, silences its link, and checks that the initiator reports the loss and
/// logs on to host 1 within [`FAILOVER_BOUND`], without trying host 0 again first.
fn failover(policy: &str, transport: Option<&'static str>) {
    let label = format!("{policy}, {}", transport.unwrap_or("default transport"));
    // Declared first so that they drop last, after every engine, even when a check fails.
    let hosts = [Netns::new(), Netns::new()];
    let [first, second] = hosts.each_ref().map(|host| host.addr().to_string());
    let acceptors = hosts.each_ref().map(|host| {
        let acceptor = host.run_inside(|| start(&acceptor_text(transport, host), Recorder::new()));
        assert!(
            host.threads_inside() >= 1,
            "{label}: the acceptor for {} does not run inside its namespace",
            host.addr()
        );
        acceptor
    });
    let app = Recorder::new();
    let initiator = start(&initiator_text(policy, transport, &hosts), app.clone());
    let on_first = app.wait_for(WAIT, |s| logon_on(s, &first).is_some());
    assert!(on_first, "{label}: no logon on {first}: {:#?}", trail(&app));

    hosts[0].go_silent();
    let silenced = Instant::now();
    let on_second = app.wait_for(WAIT, |s| logon_on(s, &second).is_some());
    let took = silenced.elapsed();
    assert!(
        on_second,
        "{label}: no logon on {second} within {WAIT:?}: {:#?}",
        trail(&app)
    );
    eprintln!(
        "{label}: logged on to the second host {:.2} s after the first went silent",
        took.as_secs_f64()
    );
    let (lost, why) = match app.with(|s| (loss_of(s, &first), logon_on(s, &second))) {
        (Some((lost, why)), Some(logon)) if lost < logon => (lost, why),
        _ => panic!(
            "{label}: no fix.connection.lost for {first} before the logon on {second}: {:#?}",
            trail(&app)
        ),
    };
    assert!(
        why.contains("TestRequest"),
        "{label}: the loss does not say the host went silent: {why}"
    );
    assert!(
        took <= FAILOVER_BOUND,
        "{label}: failover took {took:.2?}, more than {FAILOVER_BOUND:?}: {:#?}",
        trail(&app)
    );
    let retried = app.with(|s| {
        s.events[lost..].iter().any(
            |e| matches!(&e.kind, EventKind::ConnectionFailed { remote_host, .. } if *remote_host == first),
        )
    });
    assert!(
        !retried,
        "{label}: the silent host was tried again before the second: {:#?}",
        trail(&app)
    );

    // Every engine stops at once; dropping them waits for each.
    initiator.stop();
    for acceptor in &acceptors {
        acceptor.stop();
    }
}

/// An acceptor `ACC` for the session of `INI`, listening on the address inside `host`.
fn acceptor_text(transport: Option<&str>, host: &Netns) -> String {
    format!(
        "[DEFAULT]\n{}ConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=ACC\n\
         SocketAcceptHost={}\nSocketAcceptPort={PORT}\nHeartBtInt={HEART_BT_INT}\n\
         LogonTimeout=2\nLogoutTimeout=1\nResetOnLogon=Y\n[SESSION]\nTargetCompID=INI\n",
        transport_line(transport),
        host.addr()
    )
}

/// An initiator `INI` → `ACC` with `hosts` as its hosts in order, under `policy`. Sequence
/// numbers start again on every Logon: the two hosts do not share a store.
fn initiator_text(policy: &str, transport: Option<&str>, hosts: &[Netns; 2]) -> String {
    format!(
        "[DEFAULT]\n{}[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID=INI\nTargetCompID=ACC\nHeartBtInt={HEART_BT_INT}\n\
         ReconnectInterval={RECONNECT_INTERVAL}\nSocketConnectTimeout={CONNECT_TIMEOUT}\n\
         LogonTimeout=2\nLogoutTimeout=1\nResetOnLogon=Y\nHostSelectionPolicy={policy}\n\
         SocketConnectHost={}\nSocketConnectPort={PORT}\n\
         SocketConnectHost1={}\nSocketConnectPort1={PORT}\n",
        transport_line(transport),
        hosts[0].addr(),
        hosts[1].addr()
    )
}

/// The `Transport` line of `[DEFAULT]`, or none for the default transport.
fn transport_line(transport: Option<&str>) -> String {
    transport.map_or_else(String::new, |t| format!("Transport={t}\n"))
}

/// The position among the events of the first logon on `host`.
fn logon_on(seen: &Seen, host: &str) -> Option<usize> {
    seen.events.iter().position(
        |e| matches!(&e.kind, EventKind::ConnectionEstablished { remote_host, .. } if remote_host == host),
    )
}

/// The position and detail of the first loss of a connection to `host`.
fn loss_of(seen: &Seen, host: &str) -> Option<(usize, String)> {
    seen.events
        .iter()
        .enumerate()
        .find_map(|(at, e)| match &e.kind {
            EventKind::ConnectionLost {
                remote_host,
                error_detail,
                ..
            } if remote_host == host => Some((at, error_detail.clone())),
            _ => None,
        })
}

/// What the initiator saw, one line an event, with the host and detail of connection events.
fn trail(app: &Recorder) -> Vec<String> {
    app.with(|s| {
        s.events
            .iter()
            .map(|e| match &e.kind {
                EventKind::ConnectionEstablished { remote_host, .. } => {
                    format!("{} {remote_host}", e.name())
                }
                EventKind::ConnectionLost {
                    remote_host,
                    error_detail,
                    ..
                }
                | EventKind::ConnectionFailed {
                    remote_host,
                    error_detail,
                    ..
                } => format!("{} {remote_host}: {error_detail}", e.name()),
                _ => e.name().to_owned(),
            })
            .collect()
    })
}

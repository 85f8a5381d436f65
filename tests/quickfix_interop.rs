//! fixring against QuickFIX C++ 1.15.1, the real counterparty, on each backend: QuickFIX as
//! initiator and as acceptor, failover, reconnection, resending what a broken connection lost,
//! port in use and graceful stop.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::free_port;
use common::proxy::FaultProxy;
use common::quickfix::{PeerSettings, QuickFixPeer};
use common::recorder::Recorder;
use fixring::Engine;
use fixring::core::config::Settings;
use fixring::core::{ErrorCode, EventKind, SessionId};

const TRANSPORTS: [&str; 2] = ["uring", "epoll"];
const STEP: Duration = Duration::from_secs(15);

fn engine(text: &str, app: Recorder) -> Engine<Recorder> {
    let settings = Settings::parse(text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut engine = Engine::new(settings, app);
    engine
        .start()
        .unwrap_or_else(|e| panic!("engine did not start: {e}"));
    engine
}

fn acceptor_text(transport: &str, port: u16) -> String {
    format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=FIXRING\nTargetCompID=QF\nSocketAcceptPort={port}\nHeartBtInt=30\n\
         LogoutTimeout=2\n"
    )
}

fn initiator_text(transport: &str, ports: &[u16]) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID=FIXRING\nTargetCompID=QF\nHeartBtInt=30\nReconnectInterval=1\n\
         ResetOnLogon=Y\nLogoutTimeout=2\nSocketConnectHost=127.0.0.1\nSocketConnectPort={}\n",
        ports[0]
    );
    for (n, port) in ports.iter().enumerate().skip(1) {
        text.push_str(&format!(
            "SocketConnectHost{n}=127.0.0.1\nSocketConnectPort{n}={port}\n"
        ));
    }
    text
}

fn peer(settings: &PeerSettings, args: &[&str]) -> QuickFixPeer {
    QuickFixPeer::spawn(settings, args).unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

fn expect_line(peer: &mut QuickFixPeer, prefix: &str) -> String {
    peer.wait_for_line(prefix, STEP)
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

fn session() -> SessionId {
    SessionId::new("FIX.4.4", "FIXRING", "QF")
}

#[test]
fn quickfix_initiator_trades_with_a_fixring_acceptor_then_sees_its_logout() {
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::echoing();
        let mut acceptor = engine(&acceptor_text(transport, port), app.clone());
        let mut qf = peer(
            &PeerSettings::initiator(port, "QF", "FIXRING"),
            &["--orders", "500", "--quiet"],
        );
        expect_line(&mut qf, "LOGON");
        app.expect_events("fix.connection.established", 1, STEP);
        let rtt = expect_line(&mut qf, "RTT");
        assert!(rtt.contains("count=500"), "{rtt}");
        eprintln!("{transport}: QuickFIX initiator -> fixring acceptor round trips: {rtt}");
        assert_eq!(app.with(|s| s.app_in.len()), 500);

        // The peer logs out by itself after its orders; a fresh one sees our stop as a Logout.
        expect_line(&mut qf, "LOGOUT");
        let _ = qf.stop();
        let mut qf = peer(&PeerSettings::initiator(port, "QF", "FIXRING"), &[]);
        expect_line(&mut qf, "LOGON");
        app.expect_events("fix.connection.established", 2, STEP);
        acceptor.stop();
        acceptor.wait().expect("clean stop");
        expect_line(&mut qf, "ADMIN_IN 5");
        expect_line(&mut qf, "LOGOUT");
        assert_eq!(app.count("fix.connection.stopped"), 1);
        let _ = qf.stop();
    }
}

#[test]
fn fixring_initiator_trades_with_a_quickfix_acceptor() {
    for transport in TRANSPORTS {
        let port = free_port();
        let mut qf = peer(&PeerSettings::acceptor(port, "QF", "FIXRING"), &[]);
        let app = Recorder::new();
        let mut initiator = engine(&initiator_text(transport, &[port]), app.clone());
        expect_line(&mut qf, "LOGON");
        app.expect_events("fix.connection.established", 1, STEP);
        let handle = initiator.handle(&session()).expect("handle");
        for id in 0..100 {
            let body = format!(
                "11=C{id}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
            );
            handle.send(b"D", body.into_bytes()).expect("queued");
        }
        let all = app.wait_for(STEP, |s| s.app_in.len() >= 100);
        assert!(
            all,
            "{transport}: {} execution reports",
            app.with(|s| s.app_in.len())
        );
        app.with(|s| {
            assert!(
                s.app_in
                    .iter()
                    .enumerate()
                    .all(|(i, (_, t, id))| t == "8" && *id == format!("C{i}"))
            )
        });
        initiator.stop();
        initiator.wait().expect("clean stop");
        expect_line(&mut qf, "LOGOUT");
        let _ = qf.stop();
    }
}

/// Orders committed to a connection that then breaks reach QuickFIX on the next connection:
/// QuickFIX sees the gap, asks for it again, and accepts fixring's resends (PossDupFlag=Y,
/// OrigSendingTime), each once; its ExecutionReports come back the same way.
#[test]
fn orders_lost_with_a_connection_are_resent_to_quickfix() {
    for transport in TRANSPORTS {
        let port = free_port();
        let mut settings = PeerSettings::acceptor(port, "QF", "FIXRING");
        settings.reset_on_logon = false;
        let mut qf = peer(&settings, &[]);
        let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], port)));
        let text = initiator_text(transport, &[proxy.port()]).replace("ResetOnLogon=Y\n", "");
        let app = Recorder::new();
        let initiator = engine(&text, app.clone());
        expect_line(&mut qf, "LOGON");
        app.expect_events("fix.connection.established", 1, STEP);
        let handle = initiator.handle(&session()).expect("handle");
        let send = |id: usize| {
            let body = format!(
                "11=R{id}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
            );
            handle.send(b"D", body.into_bytes()).expect("queued");
        };
        for id in 0..10 {
            send(id);
        }
        assert!(app.wait_for(STEP, |s| s.app_in.len() >= 10), "{transport}");
        // These go into a stalled link and die with it.
        proxy.stall_all();
        // A read already waiting in the proxy (20 ms at most) still forwards.
        std::thread::sleep(Duration::from_millis(50));
        for id in 10..30 {
            send(id);
        }
        std::thread::sleep(Duration::from_millis(300));
        proxy.reset_all();
        proxy.resume_all();
        app.expect_events("fix.connection.established", 2, STEP);
        let all = app.wait_for(STEP, |s| s.app_in.len() >= 30);
        let reports: Vec<String> =
            app.with(|s| s.app_in.iter().map(|(_, _, id)| id.clone()).collect());
        assert!(all, "{transport}: execution reports for {reports:?}");
        let expected: Vec<String> = (0..30).map(|id| format!("R{id}")).collect();
        assert_eq!(reports, expected, "{transport}: each order once, in order");
        let _ = qf.stop();
        let orders: Vec<&String> = qf
            .seen()
            .iter()
            .filter(|l| l.starts_with("APP_IN D "))
            .collect();
        assert_eq!(
            orders.len(),
            30,
            "{transport}: QuickFIX received {orders:?}"
        );
        assert!(
            qf.seen().iter().any(|l| l.starts_with("ADMIN_OUT 2 ")),
            "{transport}: QuickFIX never asked for a resend: {:?}",
            qf.seen()
        );
    }
}

/// A fixring initiator with a file store restarts and logs on to QuickFIX again with the
/// next MsgSeqNum, as QuickFIX expects of a session that carries on.
#[test]
fn a_restarted_fixring_carries_on_with_quickfix() {
    for transport in TRANSPORTS {
        let dir = common::temp_dir("quickfix-store");
        let port = free_port();
        let mut settings = PeerSettings::acceptor(port, "QF", "FIXRING");
        settings.reset_on_logon = false;
        let mut qf = peer(&settings, &[]);
        let text = format!(
            "{}FileStorePath={}\n",
            initiator_text(transport, &[port]).replace("ResetOnLogon=Y\n", ""),
            dir.path().display()
        );
        for run in 0..2 {
            let app = Recorder::new();
            let mut initiator = engine(&text, app.clone());
            expect_line(&mut qf, "LOGON");
            app.expect_events("fix.connection.established", 1, STEP);
            let handle = initiator.handle(&session()).expect("handle");
            for id in 0..5 {
                let body = format!(
                    "11=S{run}-{id}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
                );
                handle.send(b"D", body.into_bytes()).expect("queued");
            }
            let all = app.wait_for(STEP, |s| s.app_in.len() >= 5);
            assert!(all, "{transport} run {run}: {:?}", app.names());
            initiator.stop();
            initiator.wait().expect("clean stop");
            expect_line(&mut qf, "LOGOUT");
        }
        let _ = qf.stop();
        let orders = qf
            .seen()
            .iter()
            .filter(|l| l.starts_with("APP_IN D "))
            .count();
        assert_eq!(orders, 10, "{transport}: {:?}", qf.seen());
    }
}

#[test]
fn fixring_fails_over_and_reconnects_to_quickfix() {
    for transport in TRANSPORTS {
        let started = SystemTime::now();
        let refusing = free_port();
        let port = free_port();
        let settings = PeerSettings::acceptor(port, "QF", "FIXRING");
        let mut qf = peer(&settings, &[]);
        let app = Recorder::new();
        let _initiator = engine(&initiator_text(transport, &[refusing, port]), app.clone());
        app.expect_events("fix.connection.failed", 1, STEP);
        app.expect_events("fix.connection.established", 1, STEP);
        expect_line(&mut qf, "LOGON");

        // The peer goes away: it logs out, the connection is lost, attempts fail, and it
        // comes back.
        qf.stop().expect("peer stops");
        app.expect_events("fix.session.logout", 1, STEP);
        app.expect_events("fix.connection.lost", 1, STEP);
        let failed_before = app.count("fix.connection.failed");
        app.expect_events("fix.connection.failed", failed_before + 1, STEP);
        let back = Instant::now();
        let mut qf = peer(&settings, &[]);
        app.expect_events("fix.connection.established", 2, STEP);
        let took = back.elapsed();
        eprintln!("{transport}: logged on to QuickFIX again {took:?} after it came back");
        // Round robin over two hosts: the next attempt may hit the refusing host first.
        assert!(
            took <= Duration::from_millis(2_100),
            "{transport}: {took:?}"
        );
        expect_line(&mut qf, "LOGON");
        let _ = qf.stop();
        assert_the_story_is_told(&app, started, &[refusing, port], transport);
    }
}

/// What an initiator's events must tell: each carries the time it was taken, in order,
/// within the test's run; every attempt names its host and port, numbered one after the
/// other, and comes before its failure or logon; the peer's Logout is followed by the loss
/// of the connection.
fn assert_the_story_is_told(app: &Recorder, started: SystemTime, ports: &[u16], label: &str) {
    let since_epoch = |t: SystemTime| {
        let micros = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros();
        u64::try_from(micros).unwrap_or(u64::MAX)
    };
    let (from, to) = (since_epoch(started), since_epoch(SystemTime::now()));
    app.with(|seen| {
        let events = &seen.events;
        let times: Vec<u64> = events.iter().map(|e| e.at.unix_micros()).collect();
        assert!(times.is_sorted(), "{label}: event times out of order");
        // The engine maps its clock to UTC once at start-up; allow a millisecond of rounding.
        assert!(
            times.iter().all(|&t| t + 1_000 >= from && t <= to + 1_000),
            "{label}: event times {times:?} outside the run {from}..{to}"
        );
        let mut attempts = 0;
        let mut open_attempt = false;
        for event in events {
            match &event.kind {
                EventKind::ConnectionAttempt {
                    remote_host,
                    remote_port,
                    attempt,
                    ..
                } => {
                    attempts += 1;
                    assert_eq!(*attempt, attempts, "{label}: attempts numbered in order");
                    assert_eq!(remote_host, "127.0.0.1", "{label}");
                    assert!(ports.contains(remote_port), "{label}: {remote_port}");
                    open_attempt = true;
                }
                EventKind::ConnectionFailed { .. } | EventKind::ConnectionEstablished { .. } => {
                    assert!(open_attempt, "{label}: {} without an attempt", event.name());
                    open_attempt = false;
                }
                _ => {}
            }
        }
        let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
        let logout = names.iter().position(|&n| n == "fix.session.logout");
        let lost = logout.and_then(|at| names.get(at + 1));
        assert_eq!(lost, Some(&"fix.connection.lost"), "{label}: {names:?}");
    });
}

#[test]
fn a_port_held_by_quickfix_fails_start_up() {
    for transport in TRANSPORTS {
        let port = free_port();
        let mut qf = peer(&PeerSettings::acceptor(port, "QF", "FIXRING"), &[]);
        let app = Recorder::new();
        let text = acceptor_text(transport, port);
        let mut engine = Engine::new(Settings::parse(&text, None).unwrap(), app.clone());
        let error = engine.start().expect_err("QuickFIX holds the port");
        assert_eq!(error.code(), ErrorCode::PortBindFailed);
        assert_eq!(app.count("fix.connection.error"), 1);
        let _ = qf.stop();
        // And a port held by anything else too.
        let held = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let mut engine = Engine::new(
            Settings::parse(&acceptor_text(transport, port), None).unwrap(),
            Recorder::new(),
        );
        assert_eq!(
            engine.start().expect_err("held").code(),
            ErrorCode::PortBindFailed
        );
    }
}

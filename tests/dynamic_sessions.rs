//! QuickFIX/J's dynamic sessions (AcceptorTemplate=Y) against QuickFIX C++ initiators: each
//! counterparty whose Logon fits the template gets a session of its own, made at its Logon,
//! with the template's file store and message log under its own name, reachable through a
//! handle, and kept across its reconnections; a Logon that fits no template is refused.

mod common;

use std::time::Duration;

use common::quickfix::{PeerSettings, QuickFixPeer};
use common::recorder::Recorder;
use common::{free_port, temp_dir};
use fixring::Engine;
use fixring::core::config::Settings;
use fixring::core::{EventKind, SessionId};

const STEP: Duration = Duration::from_secs(15);

fn peer(port: u16, sender: &str, target: &str, args: &[&str]) -> QuickFixPeer {
    QuickFixPeer::spawn(&PeerSettings::initiator(port, sender, target), args)
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

fn expect_line(peer: &mut QuickFixPeer, prefix: &str) -> String {
    peer.wait_for_line(prefix, STEP)
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

#[test]
fn each_counterparty_that_fits_the_template_gets_its_own_session() {
    for transport in ["uring", "epoll"] {
        let dir = temp_dir("dynamic");
        let port = free_port();
        let text = format!(
            "[DEFAULT]\nTransport={transport}\nConnectionType=acceptor\nSocketAcceptPort={port}\n\
             StartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\nSenderCompID=FIXRING\n\
             TargetCompID=*\nFileStorePath={store}\nFileLogPath={log}\n\
             [SESSION]\nAcceptorTemplate=Y\nBeginString=FIX.4.4\n",
            store = dir.path().join("store").display(),
            log = dir.path().join("log").display(),
        );
        let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
        let app = Recorder::echoing();
        let mut engine = Engine::new(settings, app.clone());
        engine.start().expect("engine starts");
        let first = SessionId::new("FIX.4.4", "FIXRING", "QF1");
        let second = SessionId::new("FIX.4.4", "FIXRING", "QF2");
        assert!(
            engine.handle(&first).is_none(),
            "no session before its Logon"
        );

        let mut qf1 = peer(port, "QF1", "FIXRING", &["--orders", "200", "--quiet"]);
        let mut qf2 = peer(port, "QF2", "FIXRING", &["--orders", "200", "--quiet"]);
        for qf in [&mut qf1, &mut qf2] {
            expect_line(qf, "LOGON");
            let rtt = expect_line(qf, "RTT");
            assert!(rtt.contains("count=200"), "{transport}: {rtt}");
        }
        let established = |s: &common::recorder::Seen| {
            s.events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::ConnectionEstablished { session_id, .. } => Some(session_id.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let ids = app.with(established);
        assert!(ids.contains(&first) && ids.contains(&second), "{ids:?}");
        let per_session = |id: &SessionId| {
            app.with(|s| {
                s.app_in
                    .iter()
                    .filter(|(session, ..)| session == id)
                    .count()
            })
        };
        assert_eq!(per_session(&first), 200, "{transport}");
        assert_eq!(per_session(&second), 200, "{transport}");
        assert!(
            engine.handle(&first).is_some(),
            "a made session has a handle"
        );

        // QF1 comes back: the same session takes it, as a configured one would.
        expect_line(&mut qf1, "LOGOUT");
        let _ = qf1.stop();
        let mut again = peer(port, "QF1", "FIXRING", &[]);
        expect_line(&mut again, "LOGON");
        app.expect_events("fix.connection.established", 3, STEP);
        assert_eq!(
            app.with(established)
                .iter()
                .filter(|id| **id == first)
                .count(),
            2
        );

        // Another BeginString fits no template.
        let refused = app.count("fix.connection.error");
        let mut stranger = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let logon = logon_42();
        std::io::Write::write_all(&mut stranger, logon.as_bytes()).expect("write");
        assert!(
            app.wait_for(STEP, |s| {
                s.events
                    .iter()
                    .filter(|e| e.name() == "fix.connection.error")
                    .count()
                    > refused
            }),
            "{transport}: a Logon that fits no template is refused"
        );

        engine.stop();
        engine.wait().expect("clean stop");
        let _ = again.stop();
        let _ = qf2.stop();
        for name in ["QF1", "QF2"] {
            let log = dir
                .path()
                .join("log")
                .join(format!("FIX.4.4-FIXRING-{name}.messages.current.log"));
            let text =
                std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
            assert!(
                text.contains("\u{1}35=D\u{1}"),
                "{}: {text:.300}",
                log.display()
            );
            let events = log.with_file_name(format!("FIX.4.4-FIXRING-{name}.event.current.log"));
            assert!(events.exists(), "{}", events.display());
            let store = dir
                .path()
                .join("store")
                .join(format!("FIX.4.4-FIXRING-{name}.store"));
            assert!(store.exists(), "{}", store.display());
        }
    }
}

/// A FIX.4.2 Logon from QF3 to FIXRING, with its BodyLength and CheckSum.
fn logon_42() -> String {
    let body = format!(
        "35=A\u{1}34=1\u{1}49=QF3\u{1}{}\u{1}56=FIXRING\u{1}98=0\u{1}108=30\u{1}",
        common::sending_time_now()
    );
    let head = format!("8=FIX.4.2\u{1}9={}\u{1}", body.len());
    let sum: u32 = head.bytes().chain(body.bytes()).map(u32::from).sum();
    format!("{head}{body}10={:03}\u{1}", sum % 256)
}

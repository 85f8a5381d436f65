//! `fix.connection.escalation` from the engine, on both backends: an initiator to a port
//! nothing listens on with ReconnectInterval=1, and an acceptor port that receives garbage
//! connections, each escalate after their sixth error and not before.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::free_port;
use common::recorder::{Recorder, Seen};
use common::rig::{TRANSPORTS, acceptor_text, start};
use fixring::core::{ErrorSource, EventKind};

/// Longer than the six failures take (about 5 s at ReconnectInterval=1), with room to spare.
const WAIT: Duration = Duration::from_secs(15);

/// The connection errors seen before each escalation, and the escalations' sources.
fn escalations(seen: &Seen) -> Vec<(usize, ErrorSource, u64)> {
    let mut errors = 0;
    let mut found = Vec::new();
    for event in &seen.events {
        match &event.kind {
            kind if kind.is_connection_error() => errors += 1,
            EventKind::ConnectionEscalation { source, count, .. } => {
                found.push((errors, source.clone(), *count));
            }
            _ => {}
        }
    }
    found
}

#[test]
fn an_initiator_that_cannot_connect_escalates_at_its_sixth_failure() {
    for transport in TRANSPORTS {
        // Nothing listens on the port: every attempt is refused at once.
        let port = free_port();
        let text = format!(
            "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=initiator\n\
             BeginString=FIX.4.4\nSenderCompID=INI\nTargetCompID=ACC\nHeartBtInt=30\n\
             ReconnectInterval=1\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
        );
        let app = Recorder::new();
        let engine = start(&text, app.clone());
        app.expect_events("fix.connection.failed", 5, WAIT);
        assert_eq!(app.with(escalations), [], "{transport}: before the sixth");
        app.expect_events("fix.connection.escalation", 1, WAIT);
        // Two more failures: still above the limit, no second escalation.
        app.expect_events("fix.connection.failed", 8, WAIT);
        engine.stop();
        let id = fixring::core::SessionId::new("FIX.4.4", "INI", "ACC");
        assert_eq!(
            app.with(escalations),
            [(6, ErrorSource::Session(id), 6)],
            "{transport}: {:?}",
            app.names()
        );
    }
}

#[test]
fn an_acceptor_port_that_receives_garbage_escalates_at_its_sixth_connection() {
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::new();
        let engine = start(
            &acceptor_text(transport, port, &["INI".to_owned()], None),
            app.clone(),
        );
        for n in 1..=6 {
            if n == 6 {
                assert_eq!(app.with(escalations), [], "{transport}: before the sixth");
            }
            let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
            stream.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("writes");
            app.expect_events("fix.connection.error", n, WAIT);
        }
        app.expect_events("fix.connection.escalation", 1, WAIT);
        engine.stop();
        assert_eq!(
            app.with(escalations),
            [(6, ErrorSource::Port(port), 6)],
            "{transport}: {:?}",
            app.names()
        );
    }
}

//! The file store (`FileStorePath`) across restarts of the initiator's engine, against a
//! fixring acceptor that keeps running: MsgSeqNum carries on where the last run stopped, and
//! orders the last run committed to a connection that died are resent by the next run.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::proxy::FaultProxy;
use common::recorder::Recorder;
use common::rig::{
    RigOptions, TRANSPORTS, WAIT, acceptor_text, details, initiator_text, order, start,
};
use common::{free_port, temp_dir};
use fixring::Engine;
use fixring::core::SessionId;

fn victim() -> SessionId {
    SessionId::new("FIX.4.4", "VICTIM", "ACC")
}

/// An acceptor ACC for VICTIM on `port`, answering every order.
fn acceptor(transport: &'static str, port: u16) -> (Engine<Recorder>, Recorder) {
    let app = Recorder::echoing();
    let engine = start(
        &acceptor_text(transport, port, &["VICTIM".to_owned()], None),
        app.clone(),
    );
    (engine, app)
}

/// An initiator VICTIM → ACC on `port` with its store in `store` (none when `None`).
fn initiator(
    transport: &'static str,
    port: u16,
    store: Option<&Path>,
) -> (Engine<Recorder>, Recorder) {
    let mut text = initiator_text(RigOptions::new(transport), "VICTIM", port, None);
    if let Some(dir) = store {
        text.push_str(&format!("FileStorePath={}\n", dir.display()));
    }
    let app = Recorder::new();
    let engine = start(&text, app.clone());
    app.expect_events("fix.connection.established", 1, WAIT);
    (engine, app)
}

/// Sends orders `ids` and waits until the acceptor has `total` orders.
fn trade(engine: &Engine<Recorder>, ids: &[String], acceptor: &Recorder, total: usize) {
    let handle = engine.handle(&victim()).expect("a handle");
    for id in ids {
        handle.send(b"D", order(id)).expect("queued");
    }
    let all = acceptor.wait_for(WAIT, |s| s.app_in.len() >= total);
    assert!(
        all,
        "the acceptor has {:?}",
        acceptor.with(|s| s.app_in.clone())
    );
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn a_restarted_initiator_carries_on_its_sequence_numbers() {
    for transport in TRANSPORTS {
        let dir = temp_dir("file-store-restart");
        let port = free_port();
        let (_acceptor, acceptor_app) = acceptor(transport, port);
        let (mut first, _) = initiator(transport, port, Some(dir.path()));
        trade(&first, &ids("A", 5), &acceptor_app, 5);
        first.stop();
        first.wait().expect("clean stop");
        acceptor_app.expect_events("fix.session.logout", 1, WAIT);

        // The next run logs on with the next MsgSeqNum, so the acceptor takes it as it is.
        let (second, second_app) = initiator(transport, port, Some(dir.path()));
        trade(&second, &ids("B", 5), &acceptor_app, 10);
        let orders = acceptor_app.with(|s| {
            s.app_in
                .iter()
                .map(|(_, _, id)| id.clone())
                .collect::<Vec<_>>()
        });
        let expected: Vec<String> = ids("A", 5).into_iter().chain(ids("B", 5)).collect();
        assert_eq!(orders, expected, "{transport}");
        assert_eq!(
            acceptor_app.count("fix.session.sequence_gap"),
            0,
            "{transport}"
        );
        assert_eq!(second_app.count("fix.connection.lost"), 0, "{transport}");
        drop(second);

        // Without the store the next run starts again at 1, and the acceptor refuses it.
        acceptor_app.expect_events("fix.session.logout", 2, WAIT);
        let text = initiator_text(RigOptions::new(transport), "VICTIM", port, None);
        let fresh_app = Recorder::new();
        let _fresh = start(&text, fresh_app.clone());
        acceptor_app.expect_events("fix.connection.error", 1, WAIT);
        let refused = details(&acceptor_app, "fix.connection.error");
        assert!(
            refused.iter().any(|d| d.contains("MsgSeqNum too low")),
            "{transport}: {refused:?}"
        );
        assert_eq!(
            fresh_app.count("fix.connection.established"),
            0,
            "{transport}"
        );
    }
}

#[test]
fn orders_committed_before_a_stop_are_resent_by_the_next_run() {
    for transport in TRANSPORTS {
        let dir = temp_dir("file-store-resend");
        let port = free_port();
        let (_acceptor, acceptor_app) = acceptor(transport, port);
        let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], port)));
        let (mut first, _) = initiator(transport, proxy.port(), Some(dir.path()));
        trade(&first, &ids("A", 3), &acceptor_app, 3);
        // These are committed to a link that no longer carries anything, then the engine
        // stops (its Logout goes nowhere) and the link dies.
        proxy.stall_all();
        thread::sleep(Duration::from_millis(50));
        let handle = first.handle(&victim()).expect("a handle");
        for id in ids("L", 20) {
            handle.send(b"D", order(&id)).expect("queued");
        }
        thread::sleep(Duration::from_millis(200));
        first.stop();
        first.wait().expect("stops after LogoutTimeout");
        proxy.reset_all();
        proxy.resume_all();
        assert_eq!(
            acceptor_app.with(|s| s.app_in.len()),
            3,
            "{transport}: nothing got through"
        );

        // The next run logs on, the acceptor asks for what it missed, and gets it.
        let (_second, _) = initiator(transport, proxy.port(), Some(dir.path()));
        let all = acceptor_app.wait_for(WAIT, |s| s.app_in.len() >= 23);
        let orders = acceptor_app.with(|s| {
            s.app_in
                .iter()
                .map(|(_, _, id)| id.clone())
                .collect::<Vec<_>>()
        });
        assert!(all, "{transport}: {orders:?}");
        let expected: Vec<String> = ids("A", 3).into_iter().chain(ids("L", 20)).collect();
        assert_eq!(orders, expected, "{transport}: each order once, in order");
    }
}

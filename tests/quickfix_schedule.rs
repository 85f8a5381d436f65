//! A session schedule against QuickFIX C++ 1.15.1: both sides share a window that ends a few
//! seconds from now and opens again four seconds later. At its end both log out; in the new
//! period fixring logs on again with sequence numbers started again at 1, and QuickFIX, which
//! reset its own at the boundary, accepts them.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::free_port;
use common::quickfix::{PeerSettings, QuickFixPeer};
use common::recorder::Recorder;
use fixring::Engine;
use fixring::core::SessionId;
use fixring::core::config::Settings;

const STEP: Duration = Duration::from_secs(15);

/// `HH:MM:SS` (UTC) of the whole second `secs` seconds since 1970.
fn time_of_day(secs: u64) -> String {
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
}

fn expect_line(peer: &mut QuickFixPeer, prefix: &str, within: Duration) -> String {
    peer.wait_for_line(prefix, within)
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

#[test]
fn a_period_that_ends_logs_out_and_the_next_starts_with_new_sequence_numbers() {
    // Built first (once per run, some seconds): the window is counted from when it is ready.
    QuickFixPeer::binary().unwrap_or_else(|e| panic!("{e}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    // The current period ends 8 s from now; the next starts 4 s after that. QuickFIX reads
    // StartTime after EndTime as a window across midnight, as fixring does.
    let end = time_of_day(now + 8);
    let start = time_of_day(now + 12);
    let port = free_port();
    let mut settings = PeerSettings::acceptor(port, "QF", "FIXRING");
    settings.reset_on_logon = false;
    settings.extra = vec![
        ("StartTime".to_owned(), start.clone()),
        ("EndTime".to_owned(), end.clone()),
    ];
    let mut qf = QuickFixPeer::spawn(&settings, &[]).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=FIXRING\n\
         TargetCompID=QF\nHeartBtInt=30\nReconnectInterval=1\nLogoutTimeout=2\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n\
         StartTime={start}\nEndTime={end}\n"
    );
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let app = Recorder::new();
    let mut engine = Engine::new(settings, app.clone());
    engine.start().unwrap_or_else(|e| panic!("{e}"));
    expect_line(&mut qf, "LOGON", STEP);
    app.expect_events("fix.connection.established", 1, STEP);
    let handle = engine
        .handle(&SessionId::new("FIX.4.4", "FIXRING", "QF"))
        .expect("handle");
    for id in 0..3 {
        let body = format!(
            "11=S{id}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
        );
        handle.send(b"D", body.into_bytes()).expect("queued");
    }
    assert!(
        app.wait_for(STEP, |s| s.app_in.len() >= 3),
        "3 execution reports"
    );

    // The period ends: a Logout, then nothing until the next one opens.
    expect_line(&mut qf, "LOGOUT", STEP);
    expect_line(&mut qf, "LOGON", STEP);
    app.expect_events("fix.connection.established", 2, STEP);
    engine.stop();
    engine.wait().expect("clean stop");
    let _ = qf.stop();
    let logons: Vec<&String> = qf
        .seen()
        .iter()
        .filter(|l| l.starts_with("ADMIN_IN A "))
        .collect();
    assert_eq!(
        logons,
        ["ADMIN_IN A 1", "ADMIN_IN A 1"],
        "both Logons carry MsgSeqNum 1: the numbers started again (window {start}-{end})"
    );
    let orders = qf
        .seen()
        .iter()
        .filter(|l| l.starts_with("APP_IN D"))
        .count();
    assert_eq!(orders, 3, "the orders went in the first period");
    assert_eq!(
        app.count("fix.session.reset"),
        1,
        "the new period is reported"
    );
}

//! `fixring run`: JSON events, the echo application, latency stats, a graceful stop on
//! SIGTERM, and start-up failures that name their error code.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::recorder::Recorder;
use common::{free_port, temp_dir};
use fixring::Engine;
use fixring::core::SessionId;
use fixring::core::config::Settings;

const WAIT: Duration = Duration::from_secs(15);

fn acceptor_file(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("acceptor.cfg");
    let text = format!(
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=ACC\n\
         SocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\nHeartBtInt=30\nLogoutTimeout=2\n\
         [SESSION]\nTargetCompID=INIT\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The child, killed (only it, by its pid) if the test fails before it exits.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixring(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fixring"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn lines(reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let end = Instant::now() + WAIT;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?}");
}

#[test]
fn run_prints_json_events_echoes_orders_and_stops_on_sigterm() {
    let dir = temp_dir("cli-run");
    let port = free_port();
    let config = acceptor_file(dir.path(), port);
    let config = config.to_str().unwrap();
    let args = [
        "run", "-c", config, "--events", "json", "--app", "echo", "--stats", "1",
    ];
    let mut run = Run(fixring(&args).spawn().expect("the binary runs"));
    let stdout = lines(run.0.stdout.take().unwrap());
    let stderr = lines(run.0.stderr.take().unwrap());

    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\nTargetCompID=ACC\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=30\nReconnectInterval=1\n"
    );
    let app = Recorder::new();
    let mut initiator = Engine::new(Settings::parse(&text, None).unwrap(), app.clone());
    initiator.start().unwrap();
    let established = wait_line(&stdout, "fix.connection.established");
    assert!(
        established.starts_with('{') && established.ends_with('}'),
        "{established}"
    );
    assert!(
        established.contains(r#""session_id":"FIX.4.4:ACC->INIT""#),
        "{established}"
    );
    assert!(established.contains(r#""is_ssl":false"#), "{established}");
    // Every event carries the time the loop took it: RFC 3339, UTC, microseconds.
    let time = established
        .split(r#""time":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(
        time.len() == 27 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
        "{established}"
    );

    app.expect_events("fix.connection.established", 1, WAIT);
    let handle = initiator
        .handle(&SessionId::new("FIX.4.4", "INIT", "ACC"))
        .unwrap();
    for n in 0..20 {
        handle
            .send(
                b"D",
                format!("11=R{n}\x0155=X\x0154=1\x0138=1\x01").into_bytes(),
            )
            .unwrap();
    }
    assert!(
        app.wait_for(WAIT, |s| s.app_in.len() >= 20),
        "echoed orders"
    );
    // Stats lines come every second and count from the start; the loops publish what they
    // record every 100 ms, so a line printed while the orders came may count some of them.
    let deadline = Instant::now() + WAIT;
    let stats = loop {
        let line = wait_line(&stderr, "fixring inbound");
        if line.contains("count=20 ") || Instant::now() > deadline {
            break line;
        }
    };
    assert!(stats.contains("count=20 "), "{stats}");

    // SIGTERM: a graceful stop, seen by the initiator as a Logout.
    // Safety: kill only sends a signal to the child this test started, by its pid.
    let pid = i32::try_from(run.0.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    app.expect_events("fix.session.logout", 1, WAIT);
    let stopped = wait_line(&stdout, r#""event":"fix.connection.stopped""#);
    assert!(
        stopped.contains(r#""connection_type":"acceptor""#),
        "{stopped}"
    );
    let end = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = run.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < end, "fixring did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn start_up_failures_exit_non_zero_and_name_their_code() {
    let dir = temp_dir("cli-run-failures");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = acceptor_file(dir.path(), taken.local_addr().unwrap().port());
    let output = fixring(&["run", "-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PORT_BIND_FAILED"), "{stderr}");

    let broken = dir.path().join("broken.cfg");
    std::fs::write(
        &broken,
        "[SESSION]\nConnectionType=acceptor\nSocketAcceptPort=99999\n",
    )
    .unwrap();
    let output = fixring(&["run", "-c", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CONFIG_ERROR") && stderr.contains("broken.cfg:3: SocketAcceptPort"),
        "{stderr}"
    );
}

#[test]
fn run_with_reflect_sends_orders_back_and_rejects_other_messages() {
    let dir = temp_dir("cli-reflect");
    let port = free_port();
    let config = acceptor_file(dir.path(), port);
    let config = config.to_str().unwrap();
    let args = ["run", "-c", config, "--events", "json", "--app", "reflect"];
    let mut run = Run(fixring(&args).spawn().expect("the binary runs"));
    let stdout = lines(run.0.stdout.take().unwrap());

    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\nTargetCompID=ACC\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=30\nReconnectInterval=1\n"
    );
    let app = Recorder::new();
    let mut initiator = Engine::new(Settings::parse(&text, None).unwrap(), app.clone());
    initiator.start().unwrap();
    wait_line(&stdout, "fix.connection.established");
    app.expect_events("fix.connection.established", 1, WAIT);
    let handle = initiator
        .handle(&SessionId::new("FIX.4.4", "INIT", "ACC"))
        .unwrap();
    handle
        .send(b"D", &b"55=X\x0111=BACK-1\x0154=1\x0138=1\x01"[..])
        .unwrap();
    handle
        .send(b"8", &b"37=O\x0117=E\x01150=0\x01"[..])
        .unwrap();
    assert!(
        app.wait_for(WAIT, |s| s.app_in.len() >= 2),
        "answers: {:?}",
        app.with(|s| s.app_in.clone())
    );
    let answers: Vec<(String, String)> = app.with(|s| {
        s.app_in
            .iter()
            .map(|(_, msg_type, cl_ord_id)| (msg_type.clone(), cl_ord_id.clone()))
            .collect()
    });
    assert_eq!(
        answers,
        [
            ("D".to_owned(), "BACK-1".to_owned()),
            ("j".to_owned(), String::new())
        ]
    );
    // Safety: kill only sends a signal to the child this test started, by its pid.
    let pid = i32::try_from(run.0.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let end = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = run.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < end, "fixring did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// Sends SIGTERM to the child this test started, by its pid, and waits (bounded) for it.
fn stop(run: &mut Run) {
    // Safety: kill only sends a signal to the child this test started, by its pid.
    let pid = i32::try_from(run.0.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let end = Instant::now() + WAIT;
    while run.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "fixring did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn run_says_what_it_listens_on_and_prints_events_as_sentences() {
    let dir = temp_dir("cli-run-text");
    let port = free_port();
    let config = acceptor_file(dir.path(), port);
    let mut run = Run(fixring(&["run", "-c", config.to_str().unwrap()])
        .spawn()
        .expect("the binary runs"));
    let stderr = lines(run.0.stderr.take().unwrap());
    let listening = wait_line(&stderr, "listening on");
    assert_eq!(
        listening,
        format!("fixring: listening on 127.0.0.1:{port} for FIX.4.4:ACC->INIT")
    );

    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\nTargetCompID=ACC\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=30\nReconnectInterval=1\n"
    );
    let app = Recorder::new();
    let mut initiator = Engine::new(Settings::parse(&text, None).unwrap(), app.clone());
    initiator.start().unwrap();
    let established = wait_line(&stderr, "fix.connection.established");
    // `<time> fix.connection.established FIX.4.4:ACC->INIT 127.0.0.1:<port>: connected`
    let (time, rest) = established.split_once(' ').unwrap();
    assert!(time.len() == 27 && time.ends_with('Z'), "{established}");
    assert!(
        rest.starts_with("fix.connection.established FIX.4.4:ACC->INIT 127.0.0.1:")
            && rest.ends_with(": connected"),
        "{established}"
    );
    initiator.stop();
    let lost = wait_line(&stderr, "fix.connection.lost");
    assert!(
        // The peer logged out, or reset the socket right after.
        lost.contains("fix.connection.lost FIX.4.4:ACC->INIT 127.0.0.1: "),
        "{lost}"
    );
    for line in [&established, &lost] {
        assert!(!line.contains('{') && !line.contains("SessionId"), "{line}");
    }
    stop(&mut run);
}

#[test]
fn run_says_what_it_connects_to() {
    let dir = temp_dir("cli-run-connects");
    // Nothing listens on the port: every attempt is refused.
    let port = free_port();
    let path = dir.path().join("initiator.cfg");
    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\nTargetCompID=ACC\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=30\nReconnectInterval=1\n"
    );
    std::fs::write(&path, text).unwrap();
    let mut run = Run(fixring(&["run", "-c", path.to_str().unwrap()])
        .spawn()
        .expect("the binary runs"));
    let stderr = lines(run.0.stderr.take().unwrap());
    let connects = wait_line(&stderr, "connects to");
    assert_eq!(
        connects,
        format!("fixring: FIX.4.4:INIT->ACC connects to 127.0.0.1:{port}")
    );
    let failed = wait_line(&stderr, "fix.connection.failed");
    assert!(
        failed.ends_with(&format!(
            "fix.connection.failed FIX.4.4:INIT->ACC 127.0.0.1:{port}: Connection refused (os error 111)"
        )),
        "{failed}"
    );
    stop(&mut run);
}

/// The screen log (`ScreenLogShowIncoming`, `ScreenLogShowOutgoing`, `ScreenLogShowEvents`):
/// every message in and out, and the events, on standard output in QuickFIX C++'s layout,
/// `<TIMESTAMP, SESSION, incoming>` and the message on the next line.
#[test]
fn run_shows_the_screen_log_as_quickfix_does() {
    let dir = temp_dir("cli-run-screen");
    let port = free_port();
    let config = acceptor_file(dir.path(), port);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[SESSION]",
        "ScreenLogShowIncoming=Y\nScreenLogShowOutgoing=Y\nScreenLogShowEvents=Y\n[SESSION]",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let mut run = Run(fixring(&["run", "-c", config.to_str().unwrap()])
        .spawn()
        .expect("the binary runs"));
    let stdout = lines(run.0.stdout.take().unwrap());
    let _stderr = lines(run.0.stderr.take().unwrap());
    let text = format!(
        "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\nTargetCompID=ACC\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=30\nReconnectInterval=1\n"
    );
    let app = Recorder::new();
    let mut initiator = Engine::new(Settings::parse(&text, None).unwrap(), app.clone());
    initiator.start().unwrap();
    app.expect_events("fix.connection.established", 1, WAIT);
    initiator.stop();
    app.expect_events("fix.session.logout", 1, WAIT);
    stop(&mut run);
    // The child has exited: its output ends, and the reader with it.
    let shown: Vec<String> = stdout.iter().collect();
    // A header, then its message on the next line: the Logon and the Logout each way.
    for direction in ["incoming", "outgoing"] {
        for msg_type in ["35=A", "35=5"] {
            let found = shown.windows(2).any(|pair| {
                let (header, message) = (&pair[0], &pair[1]);
                header.starts_with('<')
                    && header.ends_with(&format!(", FIX.4.4:ACC->INIT, {direction}>"))
                    && header.as_bytes().get(9) == Some(&b'-')
                    && message.starts_with("  (8=FIX.4.4\u{1}")
                    && message.ends_with(')')
                    && message.contains(&format!("\u{1}{msg_type}\u{1}"))
            });
            assert!(found, "no {direction} {msg_type} on the screen: {shown:#?}");
        }
    }
    assert!(
        shown
            .iter()
            .any(|l| l.ends_with(", FIX.4.4:ACC->INIT, event>")),
        "no event on the screen: {shown:#?}"
    );
}

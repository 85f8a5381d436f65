//! The message log (`FileLogPath`) of two fixring engines trading over loopback: QuickFIX
//! C++'s file names and line layout, every message in and out after a stop, and a writer
//! that falls behind (its file a pipe nobody reads yet) losing nothing silently; and fixring
//! against QuickFIX C++ itself, both logging, across a lost connection.

mod common;

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::thread;

use common::recorder::Recorder;
use common::rig::{RigOptions, WAIT, acceptor_text, initiator_text, order, start};
use common::{free_port, temp_dir};
use fixring::Engine;
use fixring::core::codec::Message;
use fixring::core::{EventKind, SessionId};

fn victim() -> SessionId {
    SessionId::new("FIX.4.4", "VICTIM", "ACC")
}

/// An acceptor ACC answering every order, logging to `dir`.
fn acceptor(port: u16, dir: &Path) -> (Engine<Recorder>, Recorder) {
    let mut text = acceptor_text("epoll", port, &["VICTIM".to_owned()], None);
    text = text.replacen(
        "[SESSION]",
        &format!("FileLogPath={}\n[SESSION]", dir.display()),
        1,
    );
    let app = Recorder::echoing();
    (start(&text, app.clone()), app)
}

/// An initiator VICTIM → ACC with `keys` added to its session.
fn initiator(port: u16, keys: &str) -> (Engine<Recorder>, Recorder) {
    let text = initiator_text(RigOptions::new("uring"), "VICTIM", port, None) + keys;
    let app = Recorder::new();
    let engine = start(&text, app.clone());
    app.expect_events("fix.connection.established", 1, WAIT);
    (engine, app)
}

/// Sends orders 0..count, retrying while the loop's queue is full, and waits for every
/// ExecutionReport.
fn trade(engine: &Engine<Recorder>, app: &Recorder, count: usize) {
    let handle = engine.handle(&victim()).expect("a handle");
    for n in 0..count {
        let mut body = order(&format!("L-{n}"));
        loop {
            match handle.send(b"D", body) {
                Ok(()) => break,
                Err(fixring::HandleError::Full(msg)) => {
                    body = msg.body.to_vec();
                    thread::yield_now();
                }
                Err(error) => panic!("order {n} not taken: {error:?}"),
            }
        }
    }
    let done = app.wait_for(WAIT * 3, |s| s.app_in.len() >= count);
    assert!(
        done,
        "{} of {count} ExecutionReports",
        app.with(|s| s.app_in.len())
    );
}

/// Checks one line of a messages log byte by byte, `YYYYMMDD-HH:MM:SS.sssssssss : ` and a
/// whole FIX message; returns the message.
fn message_of(line: &[u8]) -> &[u8] {
    let (stamp, rest) = line.split_at(30);
    let pattern = b"dddddddd-dd:dd:dd.ddddddddd : ";
    for (at, (&byte, &want)) in stamp.iter().zip(pattern.iter()).enumerate() {
        let ok = if want == b'd' {
            byte.is_ascii_digit()
        } else {
            byte == want
        };
        assert!(ok, "byte {at} of {:?}", String::from_utf8_lossy(line));
    }
    let msg =
        Message::parse(rest).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(rest)));
    assert_eq!(
        msg.as_bytes().len(),
        rest.len(),
        "one whole message per line"
    );
    rest
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "the last line is whole"
    );
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

fn field(msg: &[u8], tag: u32) -> &[u8] {
    Message::parse(msg)
        .ok()
        .and_then(|m| m.get(tag))
        .unwrap_or_default()
}

fn seq(msg: &[u8]) -> u64 {
    String::from_utf8_lossy(field(msg, 34)).parse().unwrap_or(0)
}

/// The messages `sender` sent, in the order of the log.
fn sent_by<'a>(messages: &[&'a [u8]], sender: &[u8]) -> Vec<&'a [u8]> {
    messages
        .iter()
        .copied()
        .filter(|m| field(m, 49) == sender)
        .collect()
}

#[test]
fn both_logs_hold_every_message_in_order_after_a_stop() {
    let logs = temp_dir("message-log");
    let (acc_dir, ini_dir) = (logs.path().join("acc"), logs.path().join("ini"));
    let port = free_port();
    let (mut acc, _acc_app) = acceptor(port, &acc_dir);
    let keys = format!("FileLogPath={}\n", ini_dir.display());
    let (mut ini, ini_app) = initiator(port, &keys);
    trade(&ini, &ini_app, 200);
    ini.stop();
    ini.wait().expect("initiator stopped");
    acc.stop();
    acc.wait().expect("acceptor stopped");

    let read = |path: std::path::PathBuf| {
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let ini_bytes = read(ini_dir.join("FIX.4.4-VICTIM-ACC.messages.current.log"));
    let acc_bytes = read(acc_dir.join("FIX.4.4-ACC-VICTIM.messages.current.log"));
    let ini_messages: Vec<&[u8]> = lines(&ini_bytes).into_iter().map(message_of).collect();
    let acc_messages: Vec<&[u8]> = lines(&acc_bytes).into_iter().map(message_of).collect();
    // Logon, 200 orders and a Logout one way; Logon, 200 reports and a Logout the other.
    for (label, messages) in [("initiator", &ini_messages), ("acceptor", &acc_messages)] {
        let ours = sent_by(messages, b"VICTIM");
        let theirs = sent_by(messages, b"ACC");
        assert_eq!(ours.len(), 202, "{label}: VICTIM's messages");
        assert_eq!(theirs.len(), 202, "{label}: ACC's messages");
        for side in [&ours, &theirs] {
            let seqs: Vec<u64> = side.iter().map(|m| seq(m)).collect();
            assert_eq!(
                seqs,
                (1..=202).collect::<Vec<_>>(),
                "{label}: in MsgSeqNum order"
            );
            assert_eq!(field(side[0], 35), b"A");
            assert_eq!(field(side[201], 35), b"5");
        }
    }
    // Each side logged the very bytes the other logged.
    assert_eq!(
        sent_by(&ini_messages, b"VICTIM"),
        sent_by(&acc_messages, b"VICTIM")
    );
    assert_eq!(
        sent_by(&ini_messages, b"ACC"),
        sent_by(&acc_messages, b"ACC")
    );
    // Times never go backwards.
    let stamps: Vec<&[u8]> = lines(&ini_bytes).iter().map(|l| &l[..27]).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps in order"
    );

    let events = String::from_utf8(read(ini_dir.join("FIX.4.4-VICTIM-ACC.event.current.log")))
        .expect("text");
    for name in [
        "fix.connection.attempt",
        "fix.connection.established",
        "fix.session.logon",
        "fix.session.logout",
    ] {
        assert!(events.contains(&format!(" : {name}")), "{name} in {events}");
    }
    let global = String::from_utf8(read(ini_dir.join("GLOBAL.event.current.log"))).expect("text");
    assert!(
        global.contains(" : fix.connection.stopped: the initiator stopped\n"),
        "{global}"
    );
    assert!(ini_dir.join("GLOBAL.messages.current.log").exists());
}

/// Makes a named pipe at `path` and opens its reading end without waiting for a writer.
fn fifo(path: &Path) -> File {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // Safety: `name` is a NUL-terminated path that outlives the call.
    let made = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {}", path.display());
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("the pipe's reading end")
}

/// Reads the pipe to its end (the writer closing it), off the test's thread.
fn drain(mut pipe: File) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => return bytes,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("reading the pipe: {e}"),
            }
        }
    })
}

#[test]
fn a_writer_that_falls_behind_loses_no_line_silently() {
    let logs = temp_dir("message-log-overflow");
    let dir = logs.path();
    // The messages log is a pipe that nobody reads while the orders go: its 64 KiB and the
    // ring fill up, and the loop drops and counts.
    let pipe = fifo(&dir.join("FIX.4.4-VICTIM-ACC.messages.current.log"));
    let port = free_port();
    let (mut acc, _acc_app) = acceptor(port, &dir.join("acc"));
    let keys = format!(
        "FileLogPath={}\nFileLogOverflow=drop\nFileLogBufferSize=4096\n",
        dir.display()
    );
    let (mut ini, ini_app) = initiator(port, &keys);
    let orders = 6000;
    trade(&ini, &ini_app, orders);
    let reader = drain(pipe);
    ini.stop();
    ini.wait().expect("initiator stopped");
    let bytes = reader.join().expect("reader");
    acc.stop();
    acc.wait().expect("acceptor stopped");
    // The acceptor's log is a file, written as fast as it goes: complete.
    let complete = std::fs::read(dir.join("acc/FIX.4.4-ACC-VICTIM.messages.current.log"))
        .expect("the acceptor's log");
    let all = lines(&complete).len() as u64;

    let (mut logged, mut lost, mut lost_events) = (0u64, 0u64, 0u64);
    for line in lines(&bytes) {
        let text = String::from_utf8_lossy(&line[30..]);
        if let Some(rest) = text.strip_prefix("fixring: ") {
            let numbers: Vec<u64> = rest.split(' ').filter_map(|w| w.parse().ok()).collect();
            assert_eq!(numbers.len(), 2, "{text}");
            lost += numbers[0];
            lost_events += numbers[1];
            continue;
        }
        message_of(line);
        logged += 1;
    }
    assert!(lost > 0, "the writer never fell behind: {logged} lines");
    // Every message either has its line or is counted in a line saying it was lost.
    assert_eq!(logged + lost, all, "{logged} logged, {lost} lost");
    assert!(all >= 2 * orders as u64 + 4, "{all} messages");
    let reported: u64 = ini_app.with(|s| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::LogOverflow { lost, .. } => Some(*lost),
                _ => None,
            })
            .sum()
    });
    assert_eq!(
        reported,
        lost + lost_events,
        "fix.session.log_overflow counts every line lost"
    );
}

/// The messages of every `*.messages.current.log` file in `dir`.
fn logged_messages(dir: &Path) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if !name.is_some_and(|n| n.ends_with(".messages.current.log")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        all.extend(lines(&bytes).into_iter().map(|l| message_of(l).to_vec()));
    }
    all
}

/// fixring against QuickFIX C++, both logging to files, across a connection lost in the
/// middle of the orders: what each side received is in the other's log, byte for byte, in
/// the same line layout (one parser reads both), and nothing fixring's application saw is
/// missing from fixring's log.
#[test]
fn fixring_and_quickfix_log_the_same_messages_across_a_lost_connection() {
    use common::proxy::FaultProxy;
    use common::quickfix::{PeerSettings, QuickFixPeer};
    let ours = temp_dir("log-vs-quickfix-fixring");
    let theirs = temp_dir("log-vs-quickfix-quickfix");
    let port = free_port();
    let mut settings = PeerSettings::acceptor(port, "QF", "FIXRING");
    settings.reset_on_logon = false;
    let log_dir = theirs.path().display().to_string();
    let mut qf = QuickFixPeer::spawn(&settings, &["--log", &log_dir])
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"));
    let proxy = FaultProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let text = format!(
        "[DEFAULT]\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID=FIXRING\nTargetCompID=QF\nHeartBtInt=30\nReconnectInterval=1\n\
         LogoutTimeout=2\nSocketConnectHost=127.0.0.1\nSocketConnectPort={}\nFileLogPath={}\n",
        proxy.port(),
        ours.path().display()
    );
    let app = Recorder::new();
    let mut engine = start(&text, app.clone());
    app.expect_events("fix.connection.established", 1, WAIT);
    let handle = engine
        .handle(&SessionId::new("FIX.4.4", "FIXRING", "QF"))
        .expect("a handle");
    let send = |id: usize| {
        let body = format!(
            "11=Q{id}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
        );
        handle.send(b"D", body.into_bytes()).expect("queued");
    };
    for id in 0..20 {
        send(id);
    }
    assert!(app.wait_for(WAIT, |s| s.app_in.len() >= 20), "first orders");
    // The link breaks with orders on it; fixring reconnects and resends what QuickFIX lacks.
    proxy.reset_all_after(300);
    for id in 20..40 {
        send(id);
    }
    app.expect_events("fix.connection.established", 2, WAIT);
    assert!(
        app.wait_for(WAIT, |s| s.app_in.len() >= 40),
        "execution reports: {}",
        app.with(|s| s.app_in.len())
    );
    engine.stop();
    engine.wait().expect("a clean stop");
    let _ = qf.stop();

    let fixring_log = logged_messages(ours.path());
    let quickfix_log = logged_messages(theirs.path());
    assert!(!quickfix_log.is_empty(), "QuickFIX wrote no messages log");
    // What QuickFIX received (sent by FIXRING) fixring logged as sent; what fixring received
    // (sent by QF) QuickFIX logged as sent.
    let received_by = |log: &[Vec<u8>], sender: &[u8]| -> Vec<Vec<u8>> {
        log.iter()
            .filter(|m| field(m, 49) == sender)
            .cloned()
            .collect()
    };
    for msg in received_by(&quickfix_log, b"FIXRING") {
        assert!(
            fixring_log.contains(&msg),
            "QuickFIX received a message fixring did not log: {:?}",
            String::from_utf8_lossy(&msg)
        );
    }
    for msg in received_by(&fixring_log, b"QF") {
        assert!(
            quickfix_log.contains(&msg),
            "fixring logged a message from QuickFIX that QuickFIX did not: {:?}",
            String::from_utf8_lossy(&msg)
        );
    }
    // Every ExecutionReport fixring's application saw is in fixring's log.
    let reports: Vec<Vec<u8>> = received_by(&fixring_log, b"QF")
        .into_iter()
        .filter(|m| field(m, 35) == b"8")
        .collect();
    let ids: std::collections::BTreeSet<String> = reports
        .iter()
        .map(|m| String::from_utf8_lossy(field(m, 11)).into_owned())
        .collect();
    for id in 0..40 {
        assert!(
            ids.contains(&format!("Q{id}")),
            "no ExecutionReport for Q{id} in the log"
        );
    }
    // Both connections' Logons, in both logs.
    let logons = |log: &[Vec<u8>]| log.iter().filter(|m| field(m, 35) == b"A").count();
    assert!(
        logons(&fixring_log) >= 4,
        "fixring logged {} Logons",
        logons(&fixring_log)
    );
    assert!(
        logons(&quickfix_log) >= 4,
        "QuickFIX logged {} Logons",
        logons(&quickfix_log)
    );
}

/// FileLogBackupPath: when the session's sequence numbers start again (here the initiator's
/// ResetOnLogon on its second connection), both logs move to the backup directory with the
/// first free number, holding the first connection's messages, and the current logs start
/// again with the new Logon.
#[test]
fn a_sequence_reset_moves_the_logs_to_the_backup_path() {
    let dir = temp_dir("log-backup-current");
    let backup = temp_dir("log-backup-moved");
    let port = free_port();
    let text = acceptor_text("epoll", port, &["VICTIM".to_owned()], None).replacen(
        "[SESSION]",
        &format!(
            "FileLogPath={}\nFileLogBackupPath={}\n[SESSION]",
            dir.path().display(),
            backup.path().display()
        ),
        1,
    );
    let acceptor_app = Recorder::echoing();
    let mut acceptor = start(&text, acceptor_app.clone());
    for round in 0..2 {
        let (mut engine, app) = initiator(port, "ResetOnLogon=Y\n");
        trade(&engine, &app, 5);
        engine.stop();
        engine.wait().expect("a clean stop");
        acceptor_app.expect_events("fix.connection.lost", round + 1, WAIT);
    }
    acceptor.stop();
    acceptor.wait().expect("a clean stop");
    let prefix = "FIX.4.4-ACC-VICTIM";
    let orders = |log: &[Vec<u8>]| log.iter().filter(|m| field(m, 35) == b"D").count();
    // Every reset moves the logs to the next free number; the one with the first
    // connection's orders has its event log beside it.
    let mut moved_orders = Vec::new();
    for n in 1..=4 {
        let path = backup
            .path()
            .join(format!("{prefix}.messages.backup.{n}.log"));
        let Ok(bytes) = std::fs::read(&path) else {
            break;
        };
        let moved: Vec<Vec<u8>> = lines(&bytes)
            .into_iter()
            .map(|l| message_of(l).to_vec())
            .collect();
        let events = backup.path().join(format!("{prefix}.event.backup.{n}.log"));
        assert!(events.exists(), "{} moved too", events.display());
        moved_orders.push(orders(&moved));
    }
    assert!(
        moved_orders.contains(&5),
        "the first connection's five orders among the backups: {moved_orders:?}"
    );
    assert_eq!(moved_orders.iter().sum::<usize>(), 5, "{moved_orders:?}");
    let current = std::fs::read(dir.path().join(format!("{prefix}.messages.current.log")))
        .expect("the current messages log");
    let current: Vec<Vec<u8>> = lines(&current)
        .into_iter()
        .map(|l| message_of(l).to_vec())
        .collect();
    // The current log holds the second connection's orders and begins with the Logon that
    // reset the numbers.
    assert_eq!(orders(&current), 5, "the second connection's orders");
    assert_eq!(
        current.first().map(|m| field(m, 35).to_vec()),
        Some(b"A".to_vec())
    );
    assert_eq!(
        current.first().map(|m| field(m, 141).to_vec()),
        Some(b"Y".to_vec())
    );
}

/// QuickFIX/J's layout keys, end to end: `FileLogHeartbeats=N` leaves the Heartbeats out,
/// `FileIncludeMilliseconds=Y` stamps lines to the millisecond, and
/// `FileIncludeTimeStampForMessages=N` writes the messages alone.
#[test]
fn quickfix_j_s_layout_keys_shape_the_messages_log() {
    for (keys, stamped) in [
        ("FileIncludeMilliseconds=Y\n", true),
        ("FileIncludeTimeStampForMessages=N\n", false),
    ] {
        let dir = temp_dir("log-layout");
        let port = free_port();
        let text = acceptor_text("epoll", port, &["VICTIM".to_owned()], None).replacen(
            "[SESSION]",
            &format!(
                "FileLogPath={}\nFileLogHeartbeats=N\n{keys}[SESSION]",
                dir.path().display()
            ),
            1,
        );
        let acceptor_app = Recorder::echoing();
        let mut acceptor = start(&text, acceptor_app.clone());
        let options = RigOptions {
            heart_bt_int: 1,
            ..RigOptions::new("uring")
        };
        let initiator_settings = initiator_text(options, "VICTIM", port, None);
        let app = Recorder::new();
        let mut engine = start(&initiator_settings, app.clone());
        app.expect_events("fix.connection.established", 1, WAIT);
        trade(&engine, &app, 3);
        // HeartBtInt 1: Heartbeats go both ways while nothing else does.
        thread::sleep(std::time::Duration::from_millis(2_500));
        engine.stop();
        engine.wait().expect("a clean stop");
        acceptor.stop();
        acceptor.wait().expect("a clean stop");
        let bytes = std::fs::read(dir.path().join("FIX.4.4-ACC-VICTIM.messages.current.log"))
            .expect("the messages log");
        let messages: Vec<&[u8]> = lines(&bytes)
            .into_iter()
            .map(|line| {
                if !stamped {
                    return line;
                }
                // `YYYYMMDD-HH:MM:SS.sss : `
                let (stamp, rest) = line.split_at(24);
                assert_eq!(
                    stamp[17],
                    b'.',
                    "{keys}: {:?}",
                    String::from_utf8_lossy(line)
                );
                assert!(stamp[18..21].iter().all(u8::is_ascii_digit), "{keys}");
                assert_eq!(&stamp[21..], b" : ", "{keys}");
                rest
            })
            .collect();
        for msg in &messages {
            let parsed = Message::parse(msg)
                .unwrap_or_else(|e| panic!("{keys}: {e}: {:?}", String::from_utf8_lossy(msg)));
            assert_ne!(parsed.msg_type(), b"0", "{keys}: a Heartbeat was logged");
        }
        let orders = messages.iter().filter(|m| field(m, 35) == b"D").count();
        assert_eq!(orders, 3, "{keys}");
        // Heartbeats did flow: the initiator's MsgSeqNums in the log skip theirs.
        let from_victim = sent_by(&messages, b"VICTIM");
        let last = from_victim.iter().map(|m| seq(m)).max().unwrap_or(0);
        assert!(
            last > from_victim.len() as u64,
            "{keys}: {} messages up to MsgSeqNum {last}",
            from_victim.len()
        );
    }
}

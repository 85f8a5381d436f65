//! Faults and hostile input, on both backends, plain and TLS: a fixring acceptor with a victim
//! session behind a [`FaultProxy`] and a bystander session connected directly. In every case
//! the engine reports a clear event, closes the offending connection, recovers the victim,
//! leaves the bystander alone, and leaks neither descriptors nor memory.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::proxy::Fault;
use common::rig::{Rig, RigOptions, TRANSPORTS, WAIT, details, fix_message, logon, order};
use common::vitals::{exclusive, fds_settle, open_fds, rss_kib};
use fixring::core::{ErrorCode, Event, EventKind};

/// Resident memory a test may leave behind (allocator caches, thread stacks kept for reuse).
const RSS_SLACK_KIB: u64 = 8 * 1024;

/// Runs `test` alone in its binary and checks that it leaves no descriptor open and memory
/// within bounds.
fn checked(label: &str, test: impl FnOnce()) {
    let _alone = exclusive();
    let (fds, rss) = (open_fds(), rss_kib());
    let began = Instant::now();
    test();
    let after = fds_settle(fds, Duration::from_secs(3));
    let grown = rss_kib().saturating_sub(rss);
    eprintln!(
        "{label}: {:?}, descriptors {fds} → {after}, VmRSS +{grown} KiB",
        began.elapsed()
    );
    assert!(
        after <= fds,
        "{label}: {fds} descriptors before, {after} after"
    );
    assert!(grown <= RSS_SLACK_KIB, "{label}: VmRSS grew by {grown} KiB");
}

/// Every combination of backend and plain/TLS.
fn variants() -> impl Iterator<Item = RigOptions> {
    TRANSPORTS.into_iter().flat_map(|transport| {
        [false, true].map(|tls| RigOptions {
            tls,
            ..RigOptions::new(transport)
        })
    })
}

fn label(options: RigOptions) -> String {
    format!(
        "{} {}",
        options.transport,
        if options.tls { "tls" } else { "plain" }
    )
}

/// Waits for the victim's `n`th logon.
fn expect_logons(rig: &Rig, n: usize, label: &str) {
    if !rig
        .victim_app
        .wait_for(WAIT, |s| count(s, "fix.connection.established") >= n)
    {
        panic!(
            "{label}: the victim did not log on again: {:?}",
            rig.victim_app.names()
        );
    }
}

fn count(seen: &common::recorder::Seen, name: &str) -> usize {
    seen.events.iter().filter(|e| e.name() == name).count()
}

/// Sends orders `ids` through the victim and waits for their execution reports.
fn trade(rig: &Rig, ids: &[String], label: &str) {
    let handle = rig
        .victim
        .handle(&Rig::victim_id())
        .expect("a victim handle");
    for id in ids {
        handle.send(b"D", order(id)).expect("queued");
    }
    let all = rig.victim_app.wait_for(WAIT, |s| {
        ids.iter()
            .all(|id| s.app_in.iter().any(|(_, _, cl)| cl == id))
    });
    assert!(
        all,
        "{label}: orders {ids:?} were not all answered\nvictim: {:#?}\nacceptor: {:#?}",
        rig.victim_app
            .with(|s| format!("{:?} {:?}", s.events, s.not_sent)),
        rig.acceptor_app
            .with(|s| format!("{:?} {:?}", s.events, s.app_in))
    );
}

#[test]
fn a_reset_in_the_middle_of_a_message_is_survived() {
    for options in variants() {
        let label = label(options);
        checked(&format!("reset mid-message, {label}"), || {
            let rig = Rig::start(options);
            trade(&rig, &["V-1".to_owned()], &label);
            // The next order is cut 40 bytes in, then both sides get an RST.
            rig.proxy.reset_all_after(40);
            let handle = rig
                .victim
                .handle(&Rig::victim_id())
                .expect("a victim handle");
            handle.send(b"D", order("V-2")).expect("queued");
            rig.victim_app.expect_events("fix.connection.lost", 1, WAIT);
            let lost = details(&rig.victim_app, "fix.connection.lost");
            assert!(
                lost.iter().any(|d| d.contains("reset")),
                "{label}: the detail does not say the connection was reset: {lost:?}"
            );
            rig.acceptor_app
                .expect_events("fix.connection.lost", 1, WAIT);
            expect_logons(&rig, 2, &label);
            trade(&rig, &["V-3".to_owned()], &label);
            rig.assert_bystander_untouched(&label);
        });
    }
}

#[test]
fn a_half_open_peer_is_found_by_test_request_and_replaced() {
    for options in variants() {
        // Both sides missed each other's heartbeats during the stall: without ResetOnLogon
        // each has a gap the other fills on the next connection.
        let options = RigOptions {
            heart_bt_int: 1,
            ..options
        };
        let label = label(options);
        checked(&format!("half-open peer, {label}"), || {
            let rig = Rig::start(options);
            rig.proxy.stall_all();
            let stalled = Instant::now();
            rig.victim_app.expect_events("fix.connection.lost", 1, WAIT);
            let took = stalled.elapsed();
            let lost = details(&rig.victim_app, "fix.connection.lost");
            assert!(
                lost.iter().any(|d| d.contains("TestRequest")),
                "{label}: {lost:?}"
            );
            // HeartBtInt 1 s: a TestRequest after about 1.2 s of silence, the loss after
            // about twice that.
            assert!(
                took >= Duration::from_secs(1) && took <= Duration::from_secs(5),
                "{label}: silence found after {took:?}"
            );
            eprintln!("{label}: silent peer dropped {took:?} after the stall");
            expect_logons(&rig, 2, &label);
            trade(&rig, &["H-1".to_owned()], &label);
            rig.assert_bystander_untouched(&label);
        });
    }
}

/// After a half-open link both sides reconnect with a gap: each missed the other's
/// heartbeats, and orders sent into the stall never arrived. Each side sends a ResendRequest
/// with a MsgSeqNum above the one the other expects, and each must answer the other's although
/// it lies beyond its own gap: the orders come again from the store, admin messages are
/// gap-filled, and the session trades on.
#[test]
fn a_two_way_sequence_gap_is_resolved() {
    for transport in TRANSPORTS {
        let options = RigOptions {
            heart_bt_int: 1,
            ..RigOptions::new(transport)
        };
        checked(&format!("two-way gap, {transport}"), || {
            let rig = Rig::start(options);
            rig.proxy.stall_all();
            // An order sent into the stall is committed to a connection that will not
            // deliver it.
            let handle = rig.victim.handle(&Rig::victim_id()).expect("a handle");
            handle.send(b"D", order("S-1")).expect("queued");
            rig.victim_app.expect_events("fix.connection.lost", 1, WAIT);
            expect_logons(&rig, 2, transport);
            trade(&rig, &["G-1".to_owned()], transport);
            let answered = rig
                .victim_app
                .wait_for(WAIT, |s| s.app_in.iter().any(|(_, _, id)| id == "S-1"));
            assert!(
                answered,
                "{transport}: the order sent into the stall was not resent"
            );
            let resent = rig
                .acceptor_app
                .with(|s| s.app_in.iter().filter(|(_, _, id)| id == "S-1").count());
            assert_eq!(resent, 1, "{transport}: delivered once");
        });
    }
}

/// A peer that finds a half-open link first and logs on again while the acceptor still holds
/// the silent connection is let in: the silent connection gives way, rather than the new
/// Logon being refused as a second one.
#[test]
fn a_logon_replaces_a_silent_connection_of_its_session() {
    for transport in TRANSPORTS {
        let options = RigOptions {
            heart_bt_int: 1,
            ..RigOptions::new(transport)
        };
        checked(&format!("silent connection replaced, {transport}"), || {
            let rig = Rig::start(options);
            // The acceptor's last message from the victim is this order; then the link
            // goes silent both ways.
            trade(&rig, &["R-1".to_owned()], transport);
            rig.proxy.stall_all();
            // Past HeartBtInt plus its margin (1.2 s) of silence, before the acceptor's own
            // TestRequest runs out (2.4 s): the peer comes back on a new connection.
            std::thread::sleep(Duration::from_millis(1600));
            let mut stream = TcpStream::connect(("127.0.0.1", rig.port)).expect("connect");
            let logon = fix_message(&[
                "35=A",
                "49=VICTIM",
                "56=ACC",
                "34=1000",
                &common::sending_time_now(),
                "98=0",
                "108=30",
            ]);
            stream.write_all(&logon).expect("write the Logon");
            stream.set_read_timeout(Some(WAIT)).expect("timeout");
            let mut reply = Vec::new();
            let mut buf = [0u8; 1024];
            while !String::from_utf8_lossy(&reply).contains("\x0135=A\x01") {
                match stream.read(&mut buf) {
                    Ok(n) if n > 0 => reply.extend_from_slice(&buf[..n]),
                    _ => panic!(
                        "{transport}: no Logon reply: {:?}; acceptor events: {:?}",
                        String::from_utf8_lossy(&reply),
                        rig.acceptor_app.names()
                    ),
                }
            }
            let lost = details(&rig.acceptor_app, "fix.connection.lost");
            assert!(
                lost.iter()
                    .any(|d| d.contains("replaced by a new connection")),
                "{transport}: {lost:?}"
            );
            assert_eq!(
                rig.acceptor_app.count("fix.connection.error"),
                0,
                "{transport}"
            );
            drop(stream);
            rig.proxy.resume_all();
            expect_logons(&rig, 2, transport);
            trade(&rig, &["R-2".to_owned()], transport);
            rig.assert_bystander_untouched(transport);
        });
    }
}

#[test]
fn refused_cut_reset_and_stalled_attempts_are_retried_on_uring() {
    connect_faults("uring");
}

#[test]
fn refused_cut_reset_and_stalled_attempts_are_retried_on_epoll() {
    connect_faults("epoll");
}

/// Breaks every new connection in turn — reset at once, closed or reset after 30 bytes,
/// stalled — and checks that each attempt fails, is reported, and is retried, and that the
/// session logs on again once the fault is lifted.
fn connect_faults(transport: &'static str) {
    let options = RigOptions::new(transport);
    checked(&format!("connect faults, {transport}"), || {
        let rig = Rig::start(options);
        let faults = [
            Fault::Refuse,
            Fault::CloseAfter(30),
            Fault::Reset { after: 30 },
            Fault::Stall,
        ];
        let troubles = || {
            rig.victim_app.with(|s| {
                s.events
                    .iter()
                    .filter(|e| matches!(e.name(), "fix.connection.lost" | "fix.connection.failed"))
                    .count()
            })
        };
        for (n, fault) in faults.into_iter().enumerate() {
            let label = format!("{transport} {fault:?}");
            let (connections, before) = (rig.proxy.connections(), troubles());
            rig.proxy.set_fault(fault);
            rig.proxy.reset_all();
            // Two attempts meet the fault: the first failed, was reported, and was
            // retried after ReconnectInterval (a stalled one after LogonTimeout too).
            let deadline = Instant::now() + WAIT;
            while rig.proxy.connections() < connections + 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(
                rig.proxy.connections() >= connections + 2,
                "{label}: not retried"
            );
            // The reset of the live connection, then at least the first faulty attempt.
            assert!(
                troubles() >= before + 2,
                "{label}: {:?}",
                rig.victim_app.names()
            );
            assert_eq!(
                rig.victim_app.count("fix.connection.established"),
                n + 1,
                "{label}: logged on through the fault"
            );
            rig.proxy.set_fault(Fault::None);
            expect_logons(&rig, n + 2, &label);
            trade(&rig, &[format!("C-{n}")], &label);
        }
        let codes = rig
            .victim_app
            .with(|s| s.events.iter().filter_map(Event::code).collect::<Vec<_>>());
        assert!(
            codes
                .iter()
                .all(|c| matches!(c, ErrorCode::ConnectionLost | ErrorCode::ConnectionRefused)),
            "{transport}: {codes:?}"
        );
        // Each live connection was lost once (reset by the test); an attempt that broke
        // before its Logon completed failed, however far it got.
        assert_eq!(
            rig.victim_app.count("fix.connection.lost"),
            faults.len(),
            "{transport}: {:?}",
            details(&rig.victim_app, "fix.connection.lost")
        );
        let failed = details(&rig.victim_app, "fix.connection.failed");
        for says in [
            "peer closed the connection",
            "reset by peer",
            "logon timed out",
        ] {
            assert!(
                failed.iter().any(|d| d.contains(says)),
                "{transport}: no failed attempt says {says:?}: {failed:?}"
            );
        }
        eprintln!(
            "{transport}: {:?}",
            details(&rig.victim_app, "fix.connection.lost")
                .into_iter()
                .chain(details(&rig.victim_app, "fix.connection.failed"))
                .collect::<Vec<_>>()
        );
        rig.assert_bystander_untouched(transport);
    });
}

#[test]
fn slow_and_fragmented_links_still_carry_orders() {
    for options in variants() {
        let label = label(options);
        checked(&format!("slow links, {label}"), || {
            let rig = Rig::start(options);
            let faults = [
                Fault::Delay(Duration::from_millis(30)),
                Fault::OneByteWrites,
            ];
            for (n, fault) in faults.into_iter().enumerate() {
                rig.proxy.set_fault(fault);
                rig.proxy.reset_all();
                expect_logons(&rig, n + 2, &label);
                let ids: Vec<String> = (0..20).map(|i| format!("S-{n}-{i}")).collect();
                let bytes = rig.proxy.bytes();
                trade(&rig, &ids, &format!("{label} {fault:?}"));
                // Twenty orders and their execution reports went through the faulty link (the
                // proxy counts a chunk once it has written it, just after the peer has it).
                let end = Instant::now() + Duration::from_secs(2);
                while rig.proxy.bytes() <= bytes + 20 * 200 && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(10));
                }
                assert!(rig.proxy.bytes() > bytes + 20 * 200, "{label} {fault:?}");
            }
            rig.assert_bystander_untouched(&label);
        });
    }
}

#[test]
fn a_corrupted_byte_is_survived() {
    for options in variants() {
        let label = label(options);
        checked(&format!("corruption, {label}"), || {
            let rig = Rig::start(options);
            // The Logon exchange (and the TLS handshake) passes; a byte of the orders after it
            // is flipped.
            let after = if options.tls { 10_000 } else { 600 };
            rig.proxy.set_fault(Fault::Corrupt { after, once: true });
            rig.proxy.reset_all();
            expect_logons(&rig, 2, &label);
            rig.proxy.set_fault(Fault::None);
            let handle = rig
                .victim
                .handle(&Rig::victim_id())
                .expect("a victim handle");
            let ids: Vec<String> = (0..100).map(|i| format!("X-{i}")).collect();
            for id in &ids {
                let _ = handle.send(b"D", order(id));
            }
            if options.tls {
                // A corrupted record fails its MAC: the connection is lost, and comes back.
                expect_logons(&rig, 3, &label);
                let why = reasons(&rig.acceptor_app)
                    .into_iter()
                    .chain(reasons(&rig.victim_app))
                    .collect::<Vec<_>>();
                eprintln!("{label}: {why:?}");
                assert!(
                    why.iter().any(|r| r.contains("TLS")),
                    "{label}: no side said why: {why:?}"
                );
            } else {
                // A garbled message is ignored and its MsgSeqNum not counted: the gap it
                // leaves is asked for and resent, on the same connection.
                trade(&rig, &ids, &label);
                let gaps = count_events(&rig.acceptor_app, "fix.session.sequence_gap")
                    + count_events(&rig.victim_app, "fix.session.sequence_gap");
                assert!(gaps >= 1, "{label}: no side found the gap");
                assert_eq!(
                    count_events(&rig.victim_app, "fix.connection.established"),
                    2,
                    "{label}: the connection stayed up"
                );
            }
            trade(&rig, &["X-after".to_owned()], &label);
            rig.assert_bystander_untouched(&label);
        });
    }
}

fn count_events(app: &common::recorder::Recorder, name: &str) -> usize {
    app.with(|s| count(s, name))
}

/// Why `app`'s sessions ended: Logout reasons and the details of lost connections.
fn reasons(app: &common::recorder::Recorder) -> Vec<String> {
    app.with(|s| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Logout { reason, .. } => Some(reason.clone()),
                EventKind::ConnectionLost { error_detail, .. } => Some(error_detail.clone()),
                _ => None,
            })
            .collect()
    })
}

/// Reads until the peer closes (0 bytes or a reset); false if it is still open after `WAIT`.
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Sends `bytes` on a fresh connection to the acceptor and expects it closed, with a new
/// `fix.connection.error` whose detail contains `says` and whose code is `code`.
fn hostile(rig: &Rig, bytes: &[u8], code: ErrorCode, says: &str, label: &str) {
    let before = rig.acceptor_app.count("fix.connection.error");
    let mut stream = TcpStream::connect(("127.0.0.1", rig.port)).expect("connect");
    // The peer may close before all is written; that is the point.
    let _ = stream.write_all(bytes);
    assert!(
        closed_by_peer(&mut stream),
        "{label}: the connection stayed open"
    );
    rig.acceptor_app
        .expect_events("fix.connection.error", before + 1, WAIT);
    let event = rig
        .acceptor_app
        .with(|s| {
            s.events
                .iter()
                .filter(|e| e.name() == "fix.connection.error")
                .nth(before)
                .cloned()
        })
        .expect("the error event");
    let EventKind::ConnectionError {
        code: got,
        error_detail,
        ..
    } = &event.kind
    else {
        unreachable!("filtered by name")
    };
    eprintln!("{label}: {got:?}: {error_detail}");
    assert_eq!(*got, code, "{label}: {error_detail}");
    assert!(
        error_detail.to_lowercase().contains(&says.to_lowercase()),
        "{label}: the detail does not say {says:?}: {error_detail}"
    );
}

#[test]
fn hostile_input_is_refused_and_closed() {
    for transport in TRANSPORTS {
        checked(&format!("hostile input, {transport}"), || {
            let rig = Rig::start(RigOptions::new(transport));
            let refused = ErrorCode::ConnectionRefused;
            hostile(
                &rig,
                b"GET / HTTP/1.1\r\nHost: fix\r\n\r\n",
                refused,
                "",
                &format!("{transport} garbage"),
            );
            let huge = b"8=FIX.4.4\x019=999999999\x0135=A\x0149=VICTIM\x0156=ACC\x01";
            hostile(
                &rig,
                huge,
                refused,
                "",
                &format!("{transport} huge BodyLength"),
            );
            let mut bad_sum = logon("BYSTANDER");
            let len = bad_sum.len();
            bad_sum[len - 4..len - 1].copy_from_slice(b"000");
            hostile(
                &rig,
                &bad_sum,
                refused,
                "",
                &format!("{transport} bad checksum"),
            );
            hostile(
                &rig,
                &logon("STRANGER"),
                refused,
                "STRANGER",
                &format!("{transport} unknown CompIDs"),
            );
            hostile(
                &rig,
                &logon("VICTIM"),
                refused,
                "",
                &format!("{transport} second Logon"),
            );
            let client_hello = [
                0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03,
            ];
            hostile(
                &rig,
                &client_hello,
                refused,
                "TLS handshake on a plain-text port",
                &format!("{transport} TLS on plain"),
            );
            assert_eq!(
                rig.victim_app.count("fix.connection.lost"),
                0,
                "{transport}"
            );
            trade(&rig, &["after-hostile".to_owned()], transport);
            rig.assert_bystander_untouched(transport);
        });
    }
}

#[test]
fn plain_text_on_a_tls_port_is_refused() {
    for transport in TRANSPORTS {
        checked(&format!("plain on TLS, {transport}"), || {
            let rig = Rig::start(RigOptions {
                tls: true,
                ..RigOptions::new(transport)
            });
            hostile(
                &rig,
                &logon("BYSTANDER"),
                ErrorCode::SslHandshakeFailed,
                "",
                &format!("{transport} plain on TLS"),
            );
            let mut message = fix_message(&["35=0", "49=VICTIM", "56=ACC", "34=2"]);
            message.truncate(12);
            hostile(
                &rig,
                &message,
                ErrorCode::SslHandshakeFailed,
                "",
                &format!("{transport} a fragment on TLS"),
            );
            assert_eq!(
                rig.victim_app.count("fix.connection.lost"),
                0,
                "{transport}"
            );
            rig.assert_bystander_untouched(transport);
        });
    }
}

#[test]
fn a_peer_that_never_logs_on_is_closed_after_logon_timeout() {
    for options in variants() {
        let label = label(options);
        checked(&format!("silent socket, {label}"), || {
            let rig = Rig::start(options);
            let began = Instant::now();
            let mut silent = TcpStream::connect(("127.0.0.1", rig.port)).expect("connect");
            assert!(closed_by_peer(&mut silent), "{label}: still open");
            let took = began.elapsed();
            assert!(
                took >= Duration::from_millis(900) && took < Duration::from_secs(3),
                "{label}: closed after {took:?}"
            );
            rig.acceptor_app
                .expect_events("fix.connection.error", 1, WAIT);
            let error = details(&rig.acceptor_app, "fix.connection.error");
            assert!(
                error.iter().any(|d| d.contains("LogonTimeout")),
                "{label}: {error:?}"
            );
            rig.assert_bystander_untouched(&label);
        });
    }
}

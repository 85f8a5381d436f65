//! Whole-engine tests over loopback: a fixring acceptor and a fixring initiator in one process,
//! on each backend.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::free_port;
use common::recorder::Recorder;
use fixring::core::config::Settings;
use fixring::core::{ErrorCode, EventKind, SessionId};
use fixring::{BackendKind, Engine};

const TRANSPORTS: [&str; 2] = ["uring", "epoll"];
const WAIT: Duration = Duration::from_secs(10);

fn settings(text: &str) -> Settings {
    Settings::parse(text, None).unwrap_or_else(|e| panic!("bad test settings: {e}\n{text}"))
}

fn acceptor_text(transport: &str, port: u16, peers: &[&str]) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\nHeartBtInt=30\n\
         LogonTimeout=1\nLogoutTimeout=1\n"
    );
    for peer in peers {
        text.push_str(&format!("[SESSION]\nTargetCompID={peer}\n"));
    }
    text
}

fn initiator_text(transport: &str, sender: &str, hosts: &[u16]) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID={sender}\nTargetCompID=ACC\nHeartBtInt=30\nReconnectInterval=1\n\
         LogoutTimeout=1\nSocketConnectHost=127.0.0.1\nSocketConnectPort={}\n",
        hosts[0]
    );
    for (n, port) in hosts.iter().enumerate().skip(1) {
        text.push_str(&format!(
            "SocketConnectHost{n}=127.0.0.1\nSocketConnectPort{n}={port}\n"
        ));
    }
    text
}

fn start(text: &str, app: Recorder) -> Engine<Recorder> {
    let mut engine = Engine::new(settings(text), app);
    engine
        .start()
        .unwrap_or_else(|e| panic!("engine did not start: {e}"));
    engine
}

fn order(id: usize) -> Vec<u8> {
    format!("11=ORD-{id}\x0155=EURUSD\x0154=1\x0138=100\x0140=1\x0160=20261126-00:00:00.000\x01")
        .into_bytes()
}

#[test]
fn logon_orders_and_graceful_stop() {
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let mut acceptor = start(
            &acceptor_text(transport, port, &["INIT"]),
            acceptor_app.clone(),
        );
        let kind = if transport == "uring" {
            BackendKind::Uring
        } else {
            BackendKind::Epoll
        };
        assert_eq!(acceptor.backends(), [kind]);
        let initiator_app = Recorder::new();
        let mut initiator = start(
            &initiator_text(transport, "INIT", &[port]),
            initiator_app.clone(),
        );
        initiator_app.expect_events("fix.connection.established", 1, WAIT);
        acceptor_app.expect_events("fix.connection.established", 1, WAIT);
        let established = initiator_app.with(|s| {
            s.events
                .iter()
                .find(|e| e.name() == "fix.connection.established")
                .map(|e| e.kind.clone())
        });
        let Some(EventKind::ConnectionEstablished {
            session_id,
            remote_port,
            is_ssl,
            ..
        }) = established
        else {
            panic!("no established event")
        };
        assert_eq!(session_id, SessionId::new("FIX.4.4", "INIT", "ACC"));
        assert_eq!((remote_port, is_ssl), (port, false));

        let handle = initiator
            .handle(&session_id)
            .expect("a handle for the session");
        for id in 0..200 {
            handle.send(b"D", order(id)).expect("queued");
        }
        let all = initiator_app.wait_for(WAIT, |s| s.app_in.len() >= 200);
        assert!(
            all,
            "{transport}: {} execution reports, {} orders in",
            initiator_app.with(|s| s.app_in.len()),
            acceptor_app.with(|s| s.app_in.len())
        );
        initiator_app.with(|s| {
            for (i, (_, msg_type, cl_ord_id)) in s.app_in.iter().enumerate() {
                assert_eq!(
                    (msg_type.as_str(), cl_ord_id.as_str()),
                    ("8", format!("ORD-{i}").as_str())
                );
            }
        });

        // A graceful stop is a Logout the acceptor sees, then the loss of its connection;
        // the side that stopped reports its Logout and the stop, no loss.
        initiator.stop();
        initiator.wait().expect("clean stop");
        acceptor_app.expect_events("fix.connection.lost", 1, WAIT);
        let names = acceptor_app.names();
        let tail: Vec<&str> = names
            .iter()
            .rev()
            .take(2)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(tail, ["fix.session.logout", "fix.connection.lost"]);
        assert_eq!(initiator_app.count("fix.connection.stopped"), 1);
        assert_eq!(initiator_app.count("fix.session.logout"), 1);
        assert_eq!(
            initiator_app.count("fix.connection.lost"),
            0,
            "a stop is not a loss"
        );
        acceptor.stop();
        acceptor.wait().expect("clean stop");
        assert_eq!(acceptor_app.count("fix.connection.stopped"), 1);
    }
}

#[test]
fn a_port_in_use_fails_start_up() {
    for transport in TRANSPORTS {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let app = Recorder::new();
        let mut engine = Engine::new(
            settings(&acceptor_text(transport, port, &["INIT"])),
            app.clone(),
        );
        let error = engine.start().expect_err("the port is taken");
        assert_eq!(error.code(), ErrorCode::PortBindFailed);
        assert!(error.to_string().contains("PORT_BIND_FAILED"), "{error}");
        assert_eq!(app.count("fix.connection.error"), 1);
    }
}

#[test]
fn failover_to_the_second_host_when_the_first_refuses() {
    for transport in TRANSPORTS {
        let refusing = free_port();
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let _acceptor = start(
            &acceptor_text(transport, port, &["INIT"]),
            acceptor_app.clone(),
        );
        let app = Recorder::new();
        let began = Instant::now();
        let _initiator = start(
            &initiator_text(transport, "INIT", &[refusing, port]),
            app.clone(),
        );
        app.expect_events("fix.connection.established", 1, WAIT);
        let failed = app.with(|s| {
            s.events
                .iter()
                .find(|e| e.name() == "fix.connection.failed")
                .map(|e| e.kind.clone())
        });
        let Some(EventKind::ConnectionFailed {
            remote_port, code, ..
        }) = failed
        else {
            panic!("the first host did not fail: {:?}", app.names())
        };
        assert_eq!(
            (remote_port, code),
            (refusing, ErrorCode::ConnectionRefused)
        );
        // The second attempt waits ReconnectInterval (1 s).
        assert!(began.elapsed() >= Duration::from_secs(1));
    }
}

#[test]
fn a_host_name_is_resolved_off_the_loop_and_connected_to() {
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let _acceptor = start(
            &acceptor_text(transport, port, &["INIT"]),
            acceptor_app.clone(),
        );
        let app = Recorder::new();
        let text = initiator_text(transport, "INIT", &[port])
            .replace("SocketConnectHost=127.0.0.1", "SocketConnectHost=localhost");
        assert!(text.contains("SocketConnectHost=localhost"));
        let _initiator = start(&text, app.clone());
        app.expect_events("fix.connection.established", 1, WAIT);
        acceptor_app.expect_events("fix.connection.established", 1, WAIT);
        assert_eq!(app.count("fix.connection.failed"), 0, "{transport}");
    }
}

#[test]
fn reconnects_when_the_acceptor_comes_back() {
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_text = acceptor_text(transport, port, &["INIT"]);
        let mut acceptor = start(&acceptor_text, Recorder::echoing());
        let app = Recorder::new();
        // The new acceptor starts from MsgSeqNum 1 (no store), so both sides reset on Logon.
        let initiator_text = initiator_text(transport, "INIT", &[port]) + "ResetOnLogon=Y\n";
        let _initiator = start(&initiator_text, app.clone());
        app.expect_events("fix.connection.established", 1, WAIT);
        acceptor.stop();
        acceptor.wait().unwrap();
        app.expect_events("fix.session.logout", 1, WAIT);

        // Wait out one failed attempt against the absent acceptor, then bring it back.
        app.expect_events("fix.connection.failed", 1, WAIT);
        let back = Instant::now();
        let _acceptor = start(&acceptor_text, Recorder::echoing());
        app.expect_events("fix.connection.established", 2, WAIT);
        let took = back.elapsed();
        eprintln!("{transport}: logged on again {took:?} after the acceptor came back");
        assert!(
            took <= Duration::from_millis(1_100),
            "{transport}: {took:?}"
        );
    }
}

#[test]
fn unknown_comp_ids_are_refused_and_other_sessions_go_on() {
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let _acceptor = start(
            &acceptor_text(transport, port, &["INIT", "OTHER"]),
            acceptor_app.clone(),
        );
        let good = Recorder::new();
        let _good = start(&initiator_text(transport, "INIT", &[port]), good.clone());
        good.expect_events("fix.connection.established", 1, WAIT);

        let stranger = Recorder::new();
        let _stranger = start(
            &initiator_text(transport, "STRANGER", &[port]),
            stranger.clone(),
        );
        acceptor_app.expect_events("fix.connection.error", 1, WAIT);
        let refused = acceptor_app.with(|s| {
            s.events.iter().find_map(|e| match &e.kind {
                EventKind::ConnectionError { error_detail, .. } => Some(error_detail.clone()),
                _ => None,
            })
        });
        assert!(refused.unwrap_or_default().contains("STRANGER"));
        assert_eq!(stranger.count("fix.connection.established"), 0);
        assert_eq!(
            good.count("fix.connection.lost"),
            0,
            "the good session is untouched"
        );
        assert_eq!(acceptor_app.count("fix.connection.established"), 1);
    }
}

#[test]
fn silent_and_garbage_sockets_are_closed() {
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::new();
        let _acceptor = start(&acceptor_text(transport, port, &["INIT"]), app.clone());

        // Connects and never sends a Logon: closed after LogonTimeout (1 s).
        let began = Instant::now();
        let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        silent.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            silent.read(&mut buf).unwrap_or(0),
            0,
            "closed by the acceptor"
        );
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );

        // Garbage instead of a Logon: closed at once.
        let mut garbage = TcpStream::connect(("127.0.0.1", port)).unwrap();
        garbage.set_read_timeout(Some(WAIT)).unwrap();
        garbage
            .write_all(b"GET / HTTP/1.1\r\nHost: fix\r\n\r\n")
            .unwrap();
        assert_eq!(garbage.read(&mut buf).unwrap_or(0), 0);
        app.expect_events("fix.connection.error", 2, WAIT);
    }
}

#[test]
fn loops_are_pinned_to_the_configured_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let port = free_port();
    // Two acceptor ports and two loops: each loop owns one port.
    let second = free_port();
    let text = format!(
        "[DEFAULT]\nEventLoopCores=0,{}\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=ACC\n\
         SocketAcceptHost=127.0.0.1\n[SESSION]\nTargetCompID=A\nSocketAcceptPort={port}\n\
         [SESSION]\nTargetCompID=B\nSocketAcceptPort={second}\n",
        cores.min(2) - 1
    );
    let app = Recorder::new();
    let mut engine = start(&text, app.clone());
    assert_eq!(engine.backends().len(), 2, "one loop per configured core");
    assert_eq!(engine.listen_addrs().len(), 2);
    // Two loops of acceptors stop as one engine.
    engine.stop();
    engine.wait().expect("clean stop");
    assert_eq!(app.count("fix.connection.stopped"), 1, "{:?}", app.names());

    // A core that does not exist is an error, never a silent unpinned loop.
    let text = format!(
        "[DEFAULT]\nEventLoopCores=4096\n[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nTargetCompID=A\nSocketAcceptPort={}\n",
        free_port()
    );
    let mut engine = Engine::new(settings(&text), Recorder::new());
    let error = engine.start().expect_err("core 4096 does not exist");
    assert!(error.to_string().contains("core 4096"), "{error}");
}

/// Reads from `stream` until a whole message of type `msg_type` has arrived, for at most
/// `WAIT`; returns whether one did.
fn read_until(stream: &mut TcpStream, msg_type: &str) -> bool {
    let needle = format!("\x0135={msg_type}\x01");
    let end = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&got);
        if let Some(at) = text.find(&needle)
            && text[at..].contains("\x0110=")
        {
            return true;
        }
    }
    false
}

/// A peer that closes its socket and logs on again at once is never refused as "already
/// logged on": the close of the old socket is handled before the new socket's Logon is
/// routed, whatever order the backend reports them in.
#[test]
fn a_peer_that_closes_and_logs_on_again_at_once_is_never_refused() {
    const CYCLES: usize = 150;
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::new();
        let _acceptor = start(&acceptor_text(transport, port, &["INIT"]), app.clone());
        let mut previous: Option<TcpStream> = None;
        for cycle in 0..CYCLES {
            // The new socket is accepted first; then the old one closes, without a Logout,
            // and only then does the Logon go out on the new one.
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.set_read_timeout(Some(WAIT)).unwrap();
            if cycle % 2 == 1 {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(previous.take());
            let logon = common::rig::fix_message(&[
                "35=A",
                "49=INIT",
                "56=ACC",
                "34=1",
                &common::sending_time_now(),
                "98=0",
                "108=30",
                "141=Y",
            ]);
            stream.write_all(&logon).unwrap();
            assert!(
                read_until(&mut stream, "A"),
                "{transport}: cycle {cycle}: no Logon answer; {:?}",
                app.names()
            );
            previous = Some(stream);
        }
        drop(previous);
        assert!(
            app.wait_for(WAIT, |s| s
                .events
                .iter()
                .any(|e| e.name() == "fix.connection.lost")
                && s.events
                    .iter()
                    .filter(|e| e.name() == "fix.connection.established")
                    .count()
                    == CYCLES),
            "{transport}: {:?}",
            app.names()
        );
        let refused = app.count("fix.connection.error");
        assert_eq!(refused, 0, "{transport}: {:?}", app.names());
    }
}

/// A TCP connection to 127.0.0.1:`port` from the loopback address `source`.
fn connect_from(source: [u8; 4], port: u16) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from = std::net::SocketAddr::from((source, 0));
    socket.bind(&from.into()).unwrap();
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.connect(&to.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// AllowedRemoteAddresses: a session takes Logons only from its addresses; a Logon from
/// another address is closed with an event naming the key, and the session stays free for
/// the right peer. A port whose every session has a list refuses other addresses at once.
#[test]
fn allowed_remote_addresses_keep_other_peers_out() {
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::new();
        let text = acceptor_text(transport, port, &["INIT", "OTHER"]).replace(
            "[SESSION]\nTargetCompID=INIT\n",
            "[SESSION]\nTargetCompID=INIT\nAllowedRemoteAddresses=127.0.0.2, 127.0.0.3\n",
        );
        let _acceptor = start(&text, app.clone());
        let logon = |sender: &str| {
            common::rig::fix_message(&[
                "35=A",
                &format!("49={sender}"),
                "56=ACC",
                "34=1",
                &common::sending_time_now(),
                "98=0",
                "108=30",
            ])
        };
        // From 127.0.0.1: refused, with the reason.
        let mut stranger = connect_from([127, 0, 0, 1], port);
        stranger.write_all(&logon("INIT")).unwrap();
        let mut buf = [0u8; 256];
        assert!(
            matches!(stranger.read(&mut buf), Ok(0) | Err(_)),
            "{transport}: closed"
        );
        app.expect_events("fix.connection.error", 1, WAIT);
        let detail = app.with(|s| {
            s.events.iter().find_map(|e| match &e.kind {
                EventKind::ConnectionError { error_detail, .. } => Some(error_detail.clone()),
                _ => None,
            })
        });
        assert_eq!(
            detail.as_deref(),
            Some("127.0.0.1 is not among the AllowedRemoteAddresses of FIX.4.4:ACC->INIT"),
            "{transport}"
        );
        // From an address on the list: logged on. The session without a list takes anyone.
        let mut allowed = connect_from([127, 0, 0, 3], port);
        allowed.write_all(&logon("INIT")).unwrap();
        assert!(
            read_until(&mut allowed, "A"),
            "{transport}: {:?}",
            app.names()
        );
        let mut other = connect_from([127, 0, 0, 1], port);
        other.write_all(&logon("OTHER")).unwrap();
        assert!(
            read_until(&mut other, "A"),
            "{transport}: {:?}",
            app.names()
        );
    }
}

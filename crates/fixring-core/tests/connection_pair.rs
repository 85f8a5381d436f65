//! What only the connection level shows: TLS end to end through the router, the send order
//! behind a resend, messages given back, a silent connection replaced, sockets refused.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{configs, encoded, header, logged_on_with, logons};
use fixring_core::codec::Message;
use fixring_core::config::{Role, TlsConfig};
use fixring_core::connection::{Direction, Link, RouteRefusal};
use fixring_core::session::{CloseReason, SendError, SessionState};
use fixring_core::testing::{AppMessage, End, Pair, PairConfig, Side};
use fixring_core::tls::{ServerConfig, TlsSetup};
use fixring_core::{ErrorCode, EventKind, SessionId};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

const SERVER_NAME: &str = "fix.example.test";

fn order(id: &str) -> AppMessage {
    let body = format!("11={id}\x0155=EURUSD\x0154=1\x0138=100\x01");
    AppMessage::new(b"D", body.as_bytes())
}

/// ClOrdID, MsgSeqNum and PossDupFlag of each order `side` delivered.
fn delivered_orders(side: &Side) -> Vec<(String, u64, bool)> {
    side.delivered
        .iter()
        .map(|frame| {
            let msg = Message::parse(frame).unwrap();
            (
                String::from_utf8_lossy(msg.get(11).unwrap_or_default()).into_owned(),
                msg.get_u64(34).unwrap().unwrap(),
                msg.get(43) == Some(b"Y"),
            )
        })
        .collect()
}

fn count(side: &Side, pred: impl Fn(&EventKind) -> bool) -> usize {
    side.kinds().iter().filter(|e| pred(e)).count()
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let name = format!("fixring-pair-{}-{test}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA certificate (PEM), and the TLS server set-up of a leaf it issued for SERVER_NAME.
fn certificates() -> (String, Arc<ServerConfig>) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params
        .distinguished_name
        .push(DnType::CommonName, "pair CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = params.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("leaf key");
    let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    let leaf = params.signed_by(&key, &ca, &ca_key).expect("leaf");
    let cert = leaf.pem();
    let key = key.serialize_pem();
    let server = TlsSetup::from_pem(Some(cert.as_bytes()), Some(key.as_bytes()), None)
        .and_then(|setup| setup.server_config())
        .expect("server set-up");
    (ca.pem(), server)
}

/// A pair over TLS: the initiator trusts the CA in `ca_pem`, written under `dir`.
fn tls_pair(dir: &TempDir, ca_pem: &str, server: Arc<ServerConfig>) -> Pair {
    let ca_file = dir.0.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("CA file");
    let (mut initiator, acceptor) = configs(false);
    initiator.tls = Some(TlsConfig {
        ca_file: Some(ca_file),
        server_name: Some(SERVER_NAME.to_owned()),
        ..TlsConfig::default()
    });
    let mut config = PairConfig::new(initiator, acceptor);
    config.server_tls = Some(server);
    Pair::new(config).expect("the pair's connections")
}

#[test]
fn a_logon_over_tls_goes_through_the_router_end_to_end() {
    let dir = TempDir::new("tls");
    let (ca, server) = certificates();
    let mut pair = tls_pair(&dir, &ca, server);
    pair.connect();
    pair.drive();
    for side in [&pair.initiator, &pair.acceptor] {
        assert_eq!(side.conn.session().state(), SessionState::Active);
        assert!(side.conn.link().is_some_and(Link::is_tls));
        assert!(side.written.is_empty(), "sealed bytes are not recorded");
        assert!(side.refused.is_empty(), "{:?}", side.refused);
    }
    let established = |id: &SessionId, port| EventKind::ConnectionEstablished {
        session_id: id.clone(),
        remote_host: "127.0.0.1".into(),
        remote_port: port,
        is_ssl: true,
    };
    let (initiator_id, acceptor_id) = (pair.initiator.conn.id(), pair.acceptor.conn.id());
    assert!(
        pair.initiator
            .kinds()
            .contains(&established(initiator_id, 5001))
    );
    assert!(
        pair.acceptor
            .kinds()
            .contains(&established(acceptor_id, 40_001))
    );

    // Application messages and heartbeats flow sealed.
    pair.initiator.conn.send(order("T-1")).unwrap();
    pair.drive();
    pair.advance(Duration::from_secs(61));
    assert_eq!(delivered_orders(&pair.acceptor), [("T-1".into(), 2, false)]);
    assert_eq!(
        pair.acceptor.conn.session().next_target_seq(),
        pair.initiator.conn.session().next_sender_seq()
    );

    // A graceful Logout closes both ends after close_notify.
    let now = pair.clock;
    pair.initiator.conn.session_mut().logout(now, "");
    pair.drive();
    let logout = Some(CloseReason::LogoutComplete.to_string());
    assert_eq!(pair.initiator.closed, logout);
    let peer = CloseReason::PeerLogout {
        text: String::new(),
    };
    assert_eq!(pair.acceptor.closed, Some(peer.to_string()));
    assert!(pair.router_kinds().is_empty());
}

#[test]
fn a_tls_handshake_with_an_untrusted_certificate_fails_on_both_sides() {
    let dir = TempDir::new("untrusted");
    let (_, server) = certificates();
    let (other_ca, _) = certificates();
    let mut pair = tls_pair(&dir, &other_ca, server);
    pair.connect();
    pair.drive();
    let failed = |e: &EventKind| {
        matches!(
            e,
            EventKind::ConnectionError {
                code: ErrorCode::SslHandshakeFailed,
                ..
            }
        )
    };
    assert_eq!(
        count(&pair.initiator, failed),
        1,
        "{:?}",
        pair.initiator.kinds()
    );
    assert!(
        pair.router_kinds().iter().any(failed),
        "{:?}",
        pair.router_kinds()
    );
    assert_eq!(pair.pending_sockets(), 0);
    assert_eq!(logons(&pair.initiator) + logons(&pair.acceptor), 0);
    assert!(!pair.initiator.has_socket() && !pair.acceptor.has_socket());
}

#[test]
fn the_backlog_waits_behind_a_resend() {
    let (initiator, acceptor) = configs(false);
    let mut config = PairConfig::new(initiator, acceptor);
    // Small buffers: the answer to the ResendRequest takes several writes.
    config.buffer_size = 1024;
    let mut pair = logged_on_with(config);
    // Ten orders are lost, the eleventh reaches the acceptor, which asks for 2 onwards.
    for n in 0..11 {
        pair.initiator.conn.send(order(&format!("R-{n}"))).unwrap();
        pair.initiator.muted = n < 10;
        pair.step();
        pair.initiator.muted = false;
    }
    for _ in 0..10 {
        pair.step();
        if pair.initiator.conn.session().is_resending() {
            break;
        }
    }
    assert!(pair.initiator.conn.session().is_resending());
    // Messages handed over now wait behind the rest of the resend.
    for id in ["X", "Y"] {
        pair.initiator.conn.send(order(id)).unwrap();
    }
    assert_eq!(pair.initiator.conn.backlog_len(), 2);
    pair.drive();

    // resent; R-10, kept from beyond the gap, follows them (its resent copy is a
    // duplicate).
    let mut expected: Vec<_> = (0..10).map(|n| (format!("R-{n}"), n + 2, true)).collect();
    expected.push(("R-10".into(), 12, false));
    expected.push(("X".into(), 13, false));
    expected.push(("Y".into(), 14, false));
    assert_eq!(delivered_orders(&pair.acceptor), expected);
    assert_eq!(pair.acceptor.sent_count("2"), 1, "one ResendRequest");
    // Everything the initiator wrote after the ResendRequest went out in MsgSeqNum order.
    let seqs: Vec<u64> = pair.initiator.written[12..]
        .iter()
        .map(|frame| Message::parse(frame).unwrap().get_u64(34).unwrap().unwrap())
        .collect();
    assert_eq!(seqs, (2..=14).collect::<Vec<_>>());
    assert_eq!(pair.initiator.conn.backlog_len(), 0);
}

#[test]
fn waiting_messages_are_given_back_when_the_connection_goes_down() {
    let (initiator, acceptor) = configs(false);
    let mut config = PairConfig::new(initiator, acceptor);
    config.buffer_size = 1024;
    let mut pair = logged_on_with(config);
    let ids: Vec<String> = (0..20).map(|n| format!("G-{n}")).collect();
    for id in &ids {
        pair.initiator.conn.send(order(id)).unwrap();
    }
    // The send buffer takes what fits; the rest waits.
    pair.step();
    let waiting = pair.initiator.conn.backlog_len();
    assert!(0 < waiting && waiting < ids.len(), "{waiting} waiting");

    pair.lose_link();
    assert_eq!(pair.initiator.conn.backlog_len(), 0);
    let given_back: Vec<_> = pair
        .initiator
        .not_sent
        .iter()
        .map(|(msg, error)| (msg.clone(), *error))
        .collect();
    let expected: Vec<_> = ids[ids.len() - waiting..]
        .iter()
        .map(|id| (order(id), SendError::NotLoggedOn))
        .collect();
    assert_eq!(given_back, expected, "in the order they were handed over");
    let lost = pair
        .initiator
        .kinds()
        .iter()
        .position(|e| matches!(e, EventKind::ConnectionLost { .. }));
    assert!(lost.is_some(), "{:?}", pair.initiator.kinds());
    // Nothing is taken any more.
    let (refused, error) = pair.initiator.conn.send(order("late")).unwrap_err();
    assert_eq!((refused, error), (order("late"), SendError::NotLoggedOn));

    // What was in the send buffer still arrives: every order exactly once, one way or the
    // other.
    pair.drive();
    let delivered: Vec<String> = delivered_orders(&pair.acceptor)
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    assert_eq!(delivered, ids[..ids.len() - waiting]);
}

#[test]
fn a_silent_connection_is_replaced_by_a_new_logon_of_its_session() {
    let (mut initiator, acceptor) = configs(false);
    if let Role::Initiator(role) = &mut initiator.role {
        role.reconnect_interval = Duration::from_secs(20);
    }
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    // The link dies under the initiator; the acceptor is not told and keeps its socket.
    pair.lose_link();
    pair.reconnect = true;
    pair.advance(Duration::from_secs(20));
    // At 20 s the acceptor's connection is not silent yet (its TestRequest is due at 36 s):
    // the new Logon is refused.
    let taken = RouteRefusal::AlreadyLoggedOn(pair.acceptor.conn.id().clone());
    let refused = EventKind::ConnectionError {
        remote_host: "127.0.0.1".into(),
        code: ErrorCode::ConnectionRefused,
        error_detail: taken.to_string(),
    };
    assert_eq!(pair.router_kinds(), [refused]);
    assert_eq!(pair.acceptor.conn.session().state(), SessionState::Active);

    // At 40 s it is: the next Logon replaces it.
    pair.advance(Duration::from_secs(20));
    assert_eq!(pair.router_kinds().len(), 1, "{:?}", pair.router_kinds());
    let replaced = |e: &EventKind| {
        matches!(e, EventKind::ConnectionLost { error_detail, .. } if error_detail
            == "replaced by a new connection of the same session after 40.0 s of silence")
    };
    assert_eq!(
        count(&pair.acceptor, replaced),
        1,
        "{:?}",
        pair.acceptor.kinds()
    );
    assert!(pair.acceptor.closed.is_none(), "the harness closed it");
    assert_eq!((logons(&pair.initiator), logons(&pair.acceptor)), (2, 2));
    assert_eq!(pair.initiator.connects.len(), 3);
    // Each side missed messages of the other (the refused Logon, the Heartbeat and the
    // TestRequest into the dead link); once the ResendRequests are answered, the next
    // Heartbeats bring both into line.
    pair.advance(common::HEARTBEAT);
    for (from, to) in [
        (&pair.initiator, &pair.acceptor),
        (&pair.acceptor, &pair.initiator),
    ] {
        assert_eq!(to.conn.session().state(), SessionState::Active);
        assert_eq!(
            to.conn.session().next_target_seq(),
            from.conn.session().next_sender_seq()
        );
        assert!(to.refused.is_empty(), "{:?}", to.refused);
    }
}

#[test]
fn a_garbage_first_message_is_refused_by_the_router() {
    let cases: [(&[u8], &str); 2] = [
        (
            b"GET / HTTP/1.1\r\n\r\n",
            "malformed message: bytes before a message start (expected \"8=\")",
        ),
        (
            b"\x16\x03\x01\x00\x05hello",
            "a TLS handshake on a plain-text port",
        ),
    ];
    for (garbage, detail) in cases {
        let (initiator, acceptor) = configs(false);
        let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
        pair.connect();
        // Ahead of the initiator's Logon, which is still in its send buffer.
        pair.inject(End::Acceptor, garbage);
        pair.drive();
        assert_eq!(
            pair.router_kinds(),
            [EventKind::ConnectionError {
                remote_host: "127.0.0.1".into(),
                code: ErrorCode::ConnectionRefused,
                error_detail: detail.into(),
            }]
        );
        assert_eq!(pair.pending_sockets(), 0);
        assert!(pair.acceptor.kinds().is_empty() && !pair.acceptor.has_socket());
        assert_eq!(
            pair.acceptor.conn.session().state(),
            SessionState::Disconnected
        );
        // The initiator's attempt ends with the socket the router closed.
        let failed = EventKind::ConnectionFailed {
            session_id: pair.initiator.conn.id().clone(),
            remote_host: "127.0.0.1".into(),
            remote_port: 5001,
            code: ErrorCode::ConnectionRefused,
            error_detail: "connection closed by peer".into(),
        };
        let attempt = EventKind::ConnectionAttempt {
            session_id: pair.initiator.conn.id().clone(),
            remote_host: "127.0.0.1".into(),
            remote_port: 5001,
            attempt: 1,
        };
        assert_eq!(pair.initiator.kinds(), [attempt, failed]);
    }
}

#[test]
fn a_first_message_that_is_not_a_logon_does_not_replace_a_silent_connection() {
    let (mut initiator, acceptor) = configs(false);
    if let Role::Initiator(role) = &mut initiator.role {
        role.reconnect_interval = Duration::from_secs(40);
    }
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    pair.lose_link();
    // The initiator reconnects at 40 s, when the acceptor's connection is silent; its Logon
    // is lost, and a Heartbeat of the session comes first on the new socket.
    pair.initiator.muted = true;
    pair.reconnect = true;
    pair.advance(Duration::from_secs(40));
    assert_eq!(pair.pending_sockets(), 1);
    assert!(pair.acceptor.conn.session().is_silent(pair.clock));
    let seq = pair.initiator.conn.session().next_sender_seq();
    let wire = encoded(header(b"0", "INIT", "ACC", seq), b"");
    pair.inject(End::Acceptor, &wire);
    pair.drive();

    // Not a Logon: the socket is refused, and the session's connection is left alone.
    assert!(
        matches!(
            pair.router_kinds().as_slice(),
            [EventKind::ConnectionError {
                code: ErrorCode::ConnectionRefused,
                ..
            }]
        ),
        "{:?} {:?}",
        pair.router_kinds(),
        pair.acceptor.kinds()
    );
    assert!(pair.acceptor.has_socket(), "{:?}", pair.acceptor.kinds());
    assert_eq!(
        count(&pair.acceptor, |e| matches!(
            e,
            EventKind::ConnectionLost { .. }
        )),
        0
    );
}

#[test]
fn a_garbled_message_is_skipped_and_not_counted() {
    let (initiator, acceptor) = configs(false);
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    let expected = pair.acceptor.conn.session().next_target_seq();
    let mut garbled = encoded(header(b"0", "INIT", "ACC", expected), b"");
    // One digit of the CheckSum off.
    let digit = garbled.len() - 2;
    garbled[digit] = if garbled[digit] == b'9' {
        b'0'
    } else {
        garbled[digit] + 1
    };
    pair.inject(End::Acceptor, &garbled);
    pair.drive();
    assert_eq!(pair.acceptor.conn.garbled_messages(), 1);
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), expected);
    assert_eq!(pair.acceptor.conn.session().state(), SessionState::Active);
    assert_eq!(
        pair.acceptor.sent_count("5"),
        0,
        "no Logout for a garbled message"
    );
    // The initiator's next message carries the number the garbled one did: in sequence.
    pair.initiator.conn.send(order("AFTER-GARBLE")).unwrap();
    pair.drive();
    assert_eq!(
        delivered_orders(&pair.acceptor),
        [("AFTER-GARBLE".to_owned(), expected, false)]
    );
    assert_eq!(pair.acceptor.sent_count("2"), 0, "no gap to ask for");
}

/// Every message `side`'s connection captured since the last call, with its direction.
fn captured(side: &mut Side) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut incoming, mut outgoing) = (Vec::new(), Vec::new());
    side.conn.poll_captured(|c| match c.direction {
        Direction::Incoming => incoming.push(c.bytes.to_vec()),
        Direction::Outgoing => outgoing.push(c.bytes.to_vec()),
    });
    (incoming, outgoing)
}

#[test]
fn every_message_in_and_out_is_captured_whole_and_in_order() {
    let (initiator, acceptor) = configs(false);
    let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
    pair.initiator.conn.capture_messages();
    pair.acceptor.conn.capture_messages();
    pair.connect();
    pair.drive();
    for n in 0..5 {
        pair.initiator.conn.send(order(&format!("C-{n}"))).unwrap();
    }
    pair.drive();
    pair.initiator.conn.stop(pair.clock);
    pair.drive();

    let (initiator_in, initiator_out) = captured(&mut pair.initiator);
    let (acceptor_in, acceptor_out) = captured(&mut pair.acceptor);
    // Logon, five orders, Logout one way; Logon and Logout the other.
    assert_eq!(initiator_out.len(), 7, "{:?}", pair.initiator.sent());
    assert_eq!(initiator_out, pair.initiator.written);
    assert_eq!(acceptor_in, pair.initiator.written);
    assert_eq!(acceptor_out, pair.acceptor.written);
    assert_eq!(initiator_in, pair.acceptor.written);
    // Drained once.
    assert_eq!(captured(&mut pair.initiator), (Vec::new(), Vec::new()));
}

#[test]
fn a_resend_is_captured_as_it_goes_out() {
    let (initiator, acceptor) = configs(false);
    let mut config = PairConfig::new(initiator, acceptor);
    config.buffer_size = 1024;
    let mut pair = logged_on_with(config);
    pair.initiator.conn.capture_messages();
    for n in 0..4 {
        pair.initiator.conn.send(order(&format!("R-{n}"))).unwrap();
        pair.initiator.muted = n < 3;
        pair.step();
        pair.initiator.muted = false;
    }
    pair.drive();
    let (_, out) = captured(&mut pair.initiator);
    let start = pair.initiator.written.len() - out.len();
    assert_eq!(out, pair.initiator.written[start..]);
    let resent = out
        .iter()
        .filter(|frame| Message::parse(frame).unwrap().get(43) == Some(b"Y"))
        .count();
    assert!(resent >= 3, "the three lost orders resent: {resent}");
}

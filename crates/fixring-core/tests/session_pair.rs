//! The session layer between an initiator and an acceptor connection joined in memory on a
//! virtual clock (`fixring_core::testing::Pair`).

mod common;

use std::time::Duration;

use common::{HEARTBEAT, configs, encoded, header, logged_on_with, logons};
use fixring_core::codec::{FieldWriter, Header, Message};
use fixring_core::connection::RouteRefusal;
use fixring_core::session::{CloseReason, ProtocolViolation, SendError, SessionState};
use fixring_core::testing::{AppMessage, End, Pair, PairConfig, Side};
use fixring_core::{ErrorCode, EventKind, Instant, UtcTimestamp};

/// The initiator's ReconnectInterval (the default).
const RECONNECT: Duration = Duration::from_secs(30);

fn new_pair(reset_on_logon: bool) -> Pair {
    let (initiator, acceptor) = configs(reset_on_logon);
    Pair::new(PairConfig::new(initiator, acceptor)).expect("the pair's connections")
}

/// Connects and drives the Logon exchange.
fn logged_on(reset_on_logon: bool) -> Pair {
    let (initiator, acceptor) = configs(reset_on_logon);
    logged_on_with(PairConfig::new(initiator, acceptor))
}

/// What [`Side::closed`] holds after a close for `reason`.
fn closed(reason: CloseReason) -> Option<String> {
    Some(reason.to_string())
}

/// Writes a message as the initiator would, with a header of our choosing, into the
/// acceptor's receive buffer, and drives.
fn inject_to_acceptor(pair: &mut Pair, msg_type: &[u8], seq: u64, poss_dup: bool, body: &[u8]) {
    let header = Header {
        poss_dup,
        orig_sending_time: poss_dup.then(|| UtcTimestamp::from_unix_millis(1_795_651_200_000)),
        ..header(msg_type, "INIT", "ACC", seq)
    };
    pair.inject(End::Acceptor, &encoded(header, body));
    pair.drive();
}

/// Puts a message as the acceptor would write it, with a MsgSeqNum of our choosing, into
/// the initiator's receive buffer, without going through the acceptor's connection.
fn to_initiator(pair: &mut Pair, msg_type: &[u8], seq: u64, body: &[u8]) {
    pair.inject(
        End::Initiator,
        &encoded(header(msg_type, "ACC", "INIT", seq), body),
    );
}

fn order_body() -> Vec<u8> {
    let mut buf = [0u8; 128];
    let mut body = FieldWriter::new(&mut buf);
    body.field(11, b"ORD-1").unwrap();
    body.field(55, b"EURUSD").unwrap();
    body.field(54, b"1").unwrap();
    body.field_u64(38, 1_000_000).unwrap();
    body.as_bytes().to_vec()
}

fn logouts(side: &Side) -> usize {
    side.kinds()
        .iter()
        .filter(|e| matches!(e, EventKind::Logout { .. }))
        .count()
}

/// The initiator logs out with `text`.
fn logout(pair: &mut Pair, text: &str) {
    let now = pair.clock;
    pair.initiator.conn.session_mut().logout(now, text);
}

/// The initiator connects again, after its ReconnectInterval.
fn reconnect(pair: &mut Pair) {
    pair.reconnect = true;
    pair.advance(RECONNECT);
}

#[test]
fn logon_exchange() {
    let pair = logged_on(false);
    assert_eq!(pair.initiator.sent(), ["A"]);
    assert_eq!(pair.acceptor.sent(), ["A"]);
    assert_eq!((logons(&pair.initiator), logons(&pair.acceptor)), (1, 1));
    assert_eq!(pair.initiator.conn.session().next_sender_seq(), 2);
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), 2);
    // The acceptor adopts the initiator's HeartBtInt.
    assert_eq!(pair.acceptor.conn.session().heartbeat_interval(), HEARTBEAT);
}

#[test]
fn application_messages_flow_only_when_logged_on() {
    let mut pair = new_pair(false);
    let order = AppMessage::new(b"D", &order_body());
    let (refused, error) = pair.initiator.conn.send(order.clone()).unwrap_err();
    assert_eq!((refused, error), (order.clone(), SendError::NotLoggedOn));
    assert_eq!(
        pair.initiator.conn.session().next_sender_seq(),
        1,
        "a refused send uses no number"
    );

    pair.connect();
    pair.drive();
    pair.initiator.conn.send(order).expect("sent");
    pair.drive();
    assert_eq!(pair.acceptor.delivered.len(), 1);
    let delivered = Message::parse(&pair.acceptor.delivered[0]).unwrap();
    assert_eq!(delivered.get(11), Some(&b"ORD-1"[..]));
    assert_eq!(delivered.get_u64(34).unwrap(), Some(2));
}

#[test]
fn heartbeats_keep_a_quiet_connection_up() {
    let mut pair = logged_on(false);
    pair.advance(Duration::from_secs(29));
    assert_eq!(
        pair.initiator.sent_count("0"),
        0,
        "no heartbeat before HeartBtInt"
    );
    pair.advance(Duration::from_secs(1));
    assert_eq!(pair.initiator.sent_count("0"), 1);
    assert_eq!(pair.acceptor.sent_count("0"), 1);
    pair.advance(Duration::from_secs(300));
    assert!(pair.initiator.closed.is_none() && pair.acceptor.closed.is_none());
    assert_eq!(
        pair.initiator.sent_count("1"),
        0,
        "no TestRequest while heartbeats flow"
    );
    assert_eq!(pair.initiator.sent_count("0"), 11);
}

#[test]
fn silent_peer_gets_a_test_request_then_is_dropped() {
    let mut pair = logged_on(false);
    pair.acceptor.muted = true;
    // HeartBtInt 30 s plus 20 %: the TestRequest goes out at 36 s, the close at 72 s.
    pair.advance(Duration::from_millis(35_999));
    assert_eq!(pair.initiator.sent_count("1"), 0);
    assert!(!pair.initiator.conn.session().is_silent(pair.clock));
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.sent_count("1"), 1);
    // Silent from here on: a new connection of the same peer may replace this one.
    pair.advance(Duration::from_millis(1));
    assert!(pair.initiator.conn.session().is_silent(pair.clock));
    assert_eq!(
        pair.initiator.conn.session().silent_for(pair.clock),
        Duration::from_millis(36_001)
    );
    pair.advance(Duration::from_millis(35_998));
    assert!(pair.initiator.closed.is_none());
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.initiator.closed,
        closed(CloseReason::PeerSilent {
            interval: HEARTBEAT
        })
    );
    // No Logout was exchanged: the connection is lost, with the reason, and nothing else.
    assert_eq!(logouts(&pair.initiator), 0);
    let lost: Vec<_> = pair
        .initiator
        .kinds()
        .into_iter()
        .filter_map(|e| match e {
            EventKind::ConnectionLost { error_detail, .. } => Some(error_detail),
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        ["peer silent, no reply to TestRequest (HeartBtInt 30s)"]
    );
}

#[test]
fn test_request_is_answered_with_its_id() {
    let mut pair = logged_on(false);
    inject_to_acceptor(&mut pair, b"1", 2, false, b"112=PING-7\x01");
    let heartbeat = pair.acceptor.written.last().expect("an answer");
    let heartbeat = Message::parse(heartbeat).unwrap();
    assert_eq!(heartbeat.msg_type(), b"0");
    assert_eq!(heartbeat.get(112), Some(&b"PING-7"[..]));
    // The heartbeat reached the initiator, which is still happy.
    assert!(pair.initiator.closed.is_none());
}

#[test]
fn logout_exchange() {
    let mut pair = logged_on(false);
    logout(&mut pair, "end of day");
    pair.drive();
    assert_eq!(pair.initiator.sent().last().map(String::as_str), Some("5"));
    assert_eq!(pair.acceptor.sent().last().map(String::as_str), Some("5"));
    assert_eq!(pair.initiator.closed, closed(CloseReason::LogoutComplete));
    assert_eq!(
        pair.acceptor.closed,
        closed(CloseReason::PeerLogout {
            text: "end of day".into()
        })
    );
    assert_eq!((logouts(&pair.initiator), logouts(&pair.acceptor)), (1, 1));
}

#[test]
fn unanswered_logout_closes_after_logout_timeout() {
    let mut pair = logged_on(false);
    pair.acceptor.muted = true;
    logout(&mut pair, "");
    pair.advance(Duration::from_millis(1_999));
    assert!(pair.initiator.closed.is_none());
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.closed, closed(CloseReason::LogoutTimeout));
}

#[test]
fn logon_timeout_on_both_sides() {
    // The acceptor never answers: the initiator gives up after LogonTimeout.
    let mut pair = new_pair(false);
    pair.acceptor.muted = true;
    pair.connect();
    pair.advance(Duration::from_millis(9_999));
    assert!(pair.initiator.closed.is_none());
    // An accepted socket that never sends a Logon is held by the router meanwhile…
    assert_eq!(pair.pending_sockets(), 1);
    assert!(pair.router_kinds().is_empty());
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.closed, closed(CloseReason::LogonTimeout));
    assert_eq!(
        logouts(&pair.initiator),
        0,
        "never logged on, so no logout event"
    );

    // … and closed after LogonTimeout too.
    assert_eq!(pair.pending_sockets(), 0);
    assert_eq!(
        pair.router_kinds(),
        [EventKind::ConnectionError {
            remote_host: "127.0.0.1".into(),
            code: ErrorCode::ConnectionRefused,
            error_detail: "no Logon received within LogonTimeout".into(),
        }]
    );
}

#[test]
fn seq_num_too_low_logs_out_and_disconnects() {
    let mut pair = logged_on(false);
    inject_to_acceptor(&mut pair, b"0", 1, false, b"");
    assert_eq!(pair.acceptor.sent().last().map(String::as_str), Some("5"));
    let expected = ProtocolViolation::SeqNumTooLow {
        expected: 2,
        received: 1,
    };
    assert_eq!(
        pair.acceptor.closed,
        closed(CloseReason::Protocol(expected))
    );
}

#[test]
fn possible_duplicates_below_the_expected_number_are_ignored() {
    let mut pair = logged_on(false);
    inject_to_acceptor(&mut pair, b"D", 1, true, &order_body());
    assert!(pair.acceptor.closed.is_none());
    assert!(pair.acceptor.delivered.is_empty());
}

/// Sends order `id` from the initiator; its bytes reach the acceptor only when `delivered`.
fn send_order(pair: &mut Pair, id: &str, delivered: bool) {
    let body = format!("11={id}\x0155=EURUSD\x0154=1\x0138=100\x01");
    let order = AppMessage::new(b"D", body.as_bytes());
    pair.initiator.conn.send(order).unwrap();
    pair.initiator.muted = !delivered;
    pair.step();
    pair.initiator.muted = false;
}

/// ClOrdID, MsgSeqNum, PossDupFlag and OrigSendingTime of each order the acceptor delivered.
fn delivered_orders(side: &Side) -> Vec<(String, u64, bool, Option<Vec<u8>>)> {
    side.delivered
        .iter()
        .map(|frame| {
            let msg = Message::parse(frame).unwrap();
            (
                String::from_utf8_lossy(msg.get(11).unwrap_or_default()).into_owned(),
                msg.get_u64(34).unwrap().unwrap(),
                msg.get(43) == Some(b"Y"),
                msg.get(122).map(<[u8]>::to_vec),
            )
        })
        .collect()
}

#[test]
fn a_gap_is_reported_once_however_many_messages_arrive_beyond_it() {
    let mut pair = logged_on(false);
    // The acceptor expects 2; 3 to 6 arrive, one at a time. The gap stays open: the
    // initiator never sent 2 to 6, so it has nothing to answer the ResendRequest with.
    for seq in 3..=6 {
        inject_to_acceptor(&mut pair, b"D", seq, false, &order_body());
    }
    let gaps: Vec<EventKind> = pair
        .acceptor
        .kinds()
        .into_iter()
        .filter(|e| matches!(e, EventKind::SequenceGap { .. }))
        .collect();
    let first = EventKind::SequenceGap {
        session_id: pair.acceptor.conn.id().clone(),
        expected: 2,
        received: 3,
    };
    assert_eq!(gaps, [first]);
    assert_eq!(pair.acceptor.sent_count("2"), 1, "one ResendRequest");
}

#[test]
fn a_gap_is_reported_and_resent_from_the_store() {
    let mut pair = logged_on(false);
    // Three orders go out, but only the last reaches the acceptor.
    send_order(&mut pair, "A", false);
    pair.clock += Duration::from_millis(5);
    send_order(&mut pair, "B", false);
    send_order(&mut pair, "C", true);
    pair.clock += Duration::from_millis(5);
    pair.drive();
    let gap = EventKind::SequenceGap {
        session_id: pair.acceptor.conn.id().clone(),
        expected: 2,
        received: 4,
    };
    assert!(pair.acceptor.kinds().contains(&gap));
    assert_eq!(pair.acceptor.sent_count("2"), 1, "one ResendRequest");
    // The initiator sends all three again, as possible duplicates with their first
    // SendingTime; nothing is skipped. The order beyond the gap, kept as it came, is
    // delivered once, after the two it follows, and its resent copy is a duplicate.
    assert_eq!(pair.initiator.sent_count("4"), 0, "no gap fill");
    let t0 = b"20261126-00:00:00.000".to_vec();
    let t1 = b"20261126-00:00:00.005".to_vec();
    assert_eq!(
        delivered_orders(&pair.acceptor),
        [
            ("A".to_owned(), 2, true, Some(t0)),
            ("B".to_owned(), 3, true, Some(t1)),
            ("C".to_owned(), 4, false, None),
        ]
    );
    assert_eq!(
        pair.acceptor.conn.session().next_target_seq(),
        pair.initiator.conn.session().next_sender_seq()
    );
    assert!(pair.acceptor.closed.is_none());
}

#[test]
fn admin_messages_in_a_resend_are_skipped_with_a_gap_fill() {
    let mut pair = logged_on(false);
    send_order(&mut pair, "A", false);
    // The initiator's Heartbeat (MsgSeqNum 3) and the next order are lost too.
    pair.initiator.muted = true;
    pair.advance(HEARTBEAT);
    pair.initiator.muted = false;
    assert_eq!(pair.initiator.sent_count("0"), 1);
    send_order(&mut pair, "B", false);
    send_order(&mut pair, "C", true);
    pair.drive();
    let orders: Vec<_> = delivered_orders(&pair.acceptor)
        .into_iter()
        .map(|(id, seq, dup, _)| (id, seq, dup))
        .collect();
    assert_eq!(
        orders,
        [
            ("A".to_owned(), 2, true),
            ("B".to_owned(), 4, true),
            // Kept from beyond the gap, as it came.
            ("C".to_owned(), 5, false),
        ]
    );
    assert_eq!(
        pair.initiator.sent_count("4"),
        1,
        "the Heartbeat is gap-filled"
    );
    assert!(
        !pair
            .initiator
            .kinds()
            .iter()
            .any(|e| matches!(e, EventKind::MessagesNotResent { .. }))
    );
    // Both sides had a gap (the acceptor's Heartbeat was lost too), and each ResendRequest
    // was acted on out of sequence; the next Heartbeats bring both into line.
    pair.advance(HEARTBEAT);
    for (from, to) in [
        (&pair.initiator, &pair.acceptor),
        (&pair.acceptor, &pair.initiator),
    ] {
        assert_eq!(
            to.conn.session().next_target_seq(),
            from.conn.session().next_sender_seq()
        );
    }
    assert!(pair.initiator.closed.is_none() && pair.acceptor.closed.is_none());
}

#[test]
fn messages_no_longer_stored_are_gap_filled_and_reported() {
    // PersistMessages=N keeps nothing; a small MessageStoreSize keeps the last two orders.
    for (store, resent) in [(0, vec![]), (60, vec!["C"])] {
        let (mut initiator, acceptor) = configs(false);
        initiator.message_store_size = store;
        let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
        send_order(&mut pair, "A", false);
        send_order(&mut pair, "B", false);
        send_order(&mut pair, "C", false);
        send_order(&mut pair, "D", true);
        pair.drive();
        let ids: Vec<_> = delivered_orders(&pair.acceptor)
            .into_iter()
            .map(|(id, ..)| id)
            .collect();
        let mut expected = resent.clone();
        if store > 0 {
            expected.push("D");
        }
        assert_eq!(ids, expected, "store of {store} bytes");
        let skipped_to = if store == 0 { 5 } else { 3 };
        let not_resent = EventKind::MessagesNotResent {
            session_id: pair.initiator.conn.id().clone(),
            begin: 2,
            end: skipped_to,
        };
        assert!(
            pair.initiator.kinds().contains(&not_resent),
            "store of {store} bytes: {:?}",
            pair.initiator.kinds()
        );
        assert_eq!(
            pair.acceptor.conn.session().next_target_seq(),
            pair.initiator.conn.session().next_sender_seq()
        );
    }
}

#[test]
fn a_store_that_came_round_resends_its_newest_orders_intact() {
    // 300 orders of about 37 bytes through a store of 2,000 bytes: the ring comes round
    // some five times, with ClOrdIDs of varying length, before the resend reads it.
    let (mut initiator, acceptor) = configs(false);
    initiator.message_store_size = 2_000;
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    let ids: Vec<String> = (0..300).map(|n| format!("O{}", n * 37 % 1000)).collect();
    for id in &ids {
        send_order(&mut pair, id, false);
    }
    send_order(&mut pair, "LAST", true);
    pair.drive();
    let delivered = delivered_orders(&pair.acceptor);
    let got: Vec<&str> = delivered.iter().map(|(id, ..)| id.as_str()).collect();
    let Some((last, resent)) = got.split_last() else {
        panic!("nothing delivered");
    };
    assert_eq!(*last, "LAST");
    // The resent orders are the newest lost ones, in order, each with its own ClOrdID.
    assert!(resent.len() >= 30, "{} resent", resent.len());
    assert_eq!(resent, &ids[ids.len() - resent.len()..]);
    for (_, seq, poss_dup, orig) in &delivered[..resent.len()] {
        assert!(*poss_dup && orig.is_some(), "resend {seq} marked as one");
    }
    let first_kept = u64::try_from(ids.len() - resent.len()).unwrap() + 2;
    let not_resent = EventKind::MessagesNotResent {
        session_id: pair.initiator.conn.id().clone(),
        begin: 2,
        end: first_kept - 1,
    };
    assert!(
        pair.initiator.kinds().contains(&not_resent),
        "{:?}",
        pair.initiator.kinds()
    );
    assert_eq!(
        pair.acceptor.conn.session().next_target_seq(),
        pair.initiator.conn.session().next_sender_seq()
    );
}

#[test]
fn a_resend_request_with_an_end_resends_that_range_only() {
    let mut pair = logged_on(false);
    for id in ["A", "B", "C"] {
        send_order(&mut pair, id, true);
    }
    pair.drive();
    assert_eq!(pair.acceptor.delivered.len(), 3);
    // A ResendRequest for 3..=3, written as the acceptor would.
    let seq = pair.acceptor.conn.session().next_sender_seq();
    let mark = pair.initiator.written.len();
    to_initiator(&mut pair, b"2", seq, b"7=3\x0116=3\x01");
    pair.drive();
    let [resent] = &pair.initiator.written[mark..] else {
        panic!("one resend and nothing more: {:?}", pair.initiator.sent());
    };
    let resent = Message::parse(resent).unwrap();
    assert_eq!(resent.msg_type(), b"D");
    assert_eq!(resent.get(11), Some(&b"B"[..]));
    assert_eq!(resent.get_u64(34).unwrap(), Some(3));
    assert_eq!(resent.get(43), Some(&b"Y"[..]));
}

#[test]
fn repeated_resend_requests_are_answered_once() {
    let mut pair = logged_on(false);
    for id in ["A", "B", "C"] {
        send_order(&mut pair, id, true);
    }
    pair.drive();
    // Three ResendRequests before the initiator writes anything: 2..=3, 3..=4, 2..=3.
    let next = pair.acceptor.conn.session().next_sender_seq();
    let mark = pair.initiator.written.len();
    for (n, range) in ["7=2\x0116=3\x01", "7=3\x0116=4\x01", "7=2\x0116=3\x01"]
        .into_iter()
        .enumerate()
    {
        to_initiator(&mut pair, b"2", next + n as u64, range.as_bytes());
    }
    pair.drive();
    let resent: Vec<u64> = pair.initiator.written[mark..]
        .iter()
        .map(|frame| Message::parse(frame).unwrap().get_u64(34).unwrap().unwrap())
        .collect();
    assert_eq!(resent, [2, 3, 4], "one answer for 2..=4");
}

#[test]
fn a_sequence_reset_empties_the_store() {
    let mut pair = logged_on(true);
    send_order(&mut pair, "A", true);
    pair.drive();
    assert_eq!(pair.initiator.conn.session().stored_messages(), 1);
    logout(&mut pair, "");
    pair.drive();
    reconnect(&mut pair);
    assert_eq!(pair.initiator.conn.session().state(), SessionState::Active);
    assert_eq!(pair.initiator.conn.session().stored_messages(), 0);
}

#[test]
fn sequence_numbers_carry_on_across_reconnects_unless_reset_on_logon() {
    for reset in [false, true] {
        let mut pair = logged_on(reset);
        pair.advance(Duration::from_secs(30));
        logout(&mut pair, "");
        pair.drive();
        let before = pair.initiator.conn.session().next_sender_seq();
        assert!(before > 2);
        reconnect(&mut pair);
        assert_eq!(
            pair.initiator.conn.session().state(),
            SessionState::Active,
            "reset={reset}"
        );
        let after = pair.initiator.conn.session().next_sender_seq();
        if reset {
            assert_eq!(after, 2, "Logon went out as 1");
            assert_eq!(pair.acceptor.conn.session().next_target_seq(), 2);
        } else {
            assert_eq!(after, before + 1);
        }
    }
}

#[test]
fn wrong_comp_ids_and_begin_string_are_refused() {
    let stranger = header(b"A", "STRANGER", "INIT", 1);
    let old_fix = Header {
        begin_string: "FIX.4.2",
        ..header(b"A", "ACC", "INIT", 1)
    };
    let cases = [
        (
            stranger,
            ProtocolViolation::CompIdMismatch {
                sender: "STRANGER".into(),
                target: "INIT".into(),
            },
        ),
        (
            old_fix,
            ProtocolViolation::BeginStringMismatch {
                received: "FIX.4.2".into(),
            },
        ),
    ];
    for (logon, violation) in cases {
        // The initiator's Logon is lost; a Logon from someone else answers it.
        let mut pair = new_pair(false);
        pair.acceptor.muted = true;
        pair.connect();
        pair.drive();
        pair.inject(End::Initiator, &encoded(logon, b"98=0\x01108=30\x01"));
        pair.drive();
        assert_eq!(
            pair.initiator.closed,
            closed(CloseReason::Protocol(violation))
        );
    }

    // On the acceptor's side, the router refuses a Logon for no session of its port before
    // any session sees it.
    for (begin_string, sender) in [("FIX.4.4", "STRANGER"), ("FIX.4.2", "INIT")] {
        let mut pair = new_pair(false);
        pair.connect();
        let logon = Header {
            begin_string,
            ..header(b"A", sender, "ACC", 1)
        };
        pair.inject(End::Acceptor, &encoded(logon, b"98=0\x01108=30\x01"));
        pair.drive();
        let refusal = RouteRefusal::UnknownSession {
            begin_string: begin_string.into(),
            sender: sender.into(),
            target: "ACC".into(),
        };
        assert_eq!(
            pair.router_kinds(),
            [EventKind::ConnectionError {
                remote_host: "127.0.0.1".into(),
                code: ErrorCode::ConnectionRefused,
                error_detail: refusal.to_string(),
            }]
        );
        assert!(pair.acceptor.kinds().is_empty());
    }
}

#[test]
fn first_message_must_be_a_logon() {
    let mut pair = new_pair(false);
    // The initiator's Logon is lost; an order answers it.
    pair.acceptor.muted = true;
    pair.connect();
    pair.drive();
    let order = encoded(header(b"D", "ACC", "INIT", 1), &order_body());
    pair.inject(End::Initiator, &order);
    pair.drive();
    let expected = CloseReason::Protocol(ProtocolViolation::FirstMessageNotLogon);
    assert_eq!(pair.initiator.closed, closed(expected));
    assert!(pair.initiator.delivered.is_empty());
}

#[test]
fn a_second_logon_on_a_live_session_is_refused() {
    let mut pair = logged_on(false);
    inject_to_acceptor(&mut pair, b"A", 2, false, b"98=0\x01108=30\x01");
    assert_eq!(
        pair.acceptor.closed,
        closed(CloseReason::Protocol(ProtocolViolation::DuplicateLogon))
    );
}

#[test]
fn sending_time_comes_from_the_wall_clock_mapping() {
    let mut pair = new_pair(false);
    pair.clock = Instant::from_millis(1_234);
    pair.connect();
    pair.drive();
    let logon = Message::parse(&pair.initiator.written[0]).unwrap();
    assert_eq!(logon.msg_type(), b"A");
    // 1_795_651_200_000 ms is 2026-11-26T00:00:00Z.
    assert_eq!(logon.get(52), Some(&b"20261126-00:00:01.234"[..]));
    assert_eq!(logon.get(108), Some(&b"30"[..]));
}

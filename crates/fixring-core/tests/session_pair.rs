//! An initiator and an acceptor session wired together in memory on a virtual clock.

use std::time::Duration;

use fixring_core::codec::{self, Decoded, FieldWriter, Framer, Header, Message};
use fixring_core::config::{AcceptorConfig, HostConfig, InitiatorConfig, Role, SessionConfig};
use fixring_core::session::{
    CloseReason, Inbound, ProtocolViolation, SendError, Session, SessionState,
};
use fixring_core::{Event, Instant, SessionId, UtcTimestamp, WallClock};

/// One end of the in-memory connection.
struct Side {
    session: Session,
    /// Bytes the peer wrote that this side has not read yet.
    inbox: Vec<u8>,
    /// MsgTypes this side wrote, in order.
    sent: Vec<String>,
    /// Application messages delivered to this side's application.
    delivered: Vec<Vec<u8>>,
    events: Vec<Event>,
    closed: Option<CloseReason>,
    /// When set, this side neither reads nor writes: a peer gone silent.
    muted: bool,
}

struct Pair {
    initiator: Side,
    acceptor: Side,
    clock: Instant,
}

const HEARTBEAT: Duration = Duration::from_secs(30);

fn configs(reset_on_logon: bool) -> (SessionConfig, SessionConfig) {
    let id = SessionId::new("FIX.4.4", "INIT", "ACC");
    let role = Role::Initiator(InitiatorConfig::new(vec![HostConfig::new(
        "127.0.0.1",
        5001,
    )]));
    let mut initiator = SessionConfig::new(id.clone(), role);
    let role = Role::Acceptor(AcceptorConfig {
        accept_host: None,
        accept_port: 5001,
    });
    let mut acceptor = SessionConfig::new(id.reversed(), role);
    for config in [&mut initiator, &mut acceptor] {
        config.heartbeat_interval = HEARTBEAT;
        config.reset_on_logon = reset_on_logon;
    }
    // The acceptor's own HeartBtInt is ignored: it adopts the initiator's.
    acceptor.heartbeat_interval = Duration::from_secs(99);
    (initiator, acceptor)
}

impl Side {
    fn new(config: &SessionConfig) -> Self {
        let clock = WallClock::new(
            Instant::ZERO,
            UtcTimestamp::from_unix_millis(1_795_651_200_000),
        );
        Self {
            session: Session::new(config, clock),
            inbox: Vec::new(),
            sent: Vec::new(),
            delivered: Vec::new(),
            events: Vec::new(),
            closed: None,
            muted: false,
        }
    }

    /// Writes everything the session has to say; returns the bytes, or none when muted.
    fn transmit(&mut self, now: Instant) -> Vec<u8> {
        let mut wire = Vec::new();
        let mut buf = [0u8; 1024];
        while let Some(len) = self
            .session
            .poll_transmit(now, &mut buf)
            .expect("buffer fits")
        {
            let msg = Message::parse(&buf[..len]).expect("session writes valid FIX");
            self.sent
                .push(String::from_utf8_lossy(msg.msg_type()).into_owned());
            wire.extend_from_slice(&buf[..len]);
        }
        if self.muted { Vec::new() } else { wire }
    }

    /// Reads every complete message in the inbox; returns whether anything was read.
    fn receive(&mut self, now: Instant) -> bool {
        if self.muted {
            self.inbox.clear();
            return false;
        }
        let framer = Framer::default();
        let mut consumed = 0;
        while consumed < self.inbox.len() {
            match framer.decode(&self.inbox[consumed..]) {
                Decoded::Message { len } => {
                    let frame = &self.inbox[consumed..consumed + len];
                    let msg = Message::parse(frame).expect("valid message");
                    if self.session.handle_message(now, &msg) == Inbound::Application {
                        self.delivered.push(frame.to_vec());
                    }
                    consumed += len;
                }
                Decoded::Incomplete => break,
                Decoded::Invalid { error, .. } => panic!("invalid bytes on the wire: {error}"),
            }
        }
        self.inbox.drain(..consumed);
        consumed > 0
    }

    fn collect(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.events.push(event);
        }
    }

    fn sent_count(&self, msg_type: &str) -> usize {
        self.sent.iter().filter(|t| *t == msg_type).count()
    }
}

impl Pair {
    fn new(reset_on_logon: bool) -> Self {
        let (initiator, acceptor) = configs(reset_on_logon);
        Self {
            initiator: Side::new(&initiator),
            acceptor: Side::new(&acceptor),
            clock: Instant::ZERO,
        }
    }

    /// Connects and drives the Logon exchange.
    fn logged_on(reset_on_logon: bool) -> Self {
        let mut pair = Self::new(reset_on_logon);
        pair.connect();
        pair.drive();
        assert_eq!(pair.initiator.session.state(), SessionState::Active);
        assert_eq!(pair.acceptor.session.state(), SessionState::Active);
        pair
    }

    fn connect(&mut self) {
        self.initiator.session.connected(self.clock);
        self.acceptor.session.connected(self.clock);
    }

    /// Moves bytes both ways once and handles closes; returns whether anything happened.
    fn step(&mut self) -> bool {
        let now = self.clock;
        let to_acceptor = self.initiator.transmit(now);
        let to_initiator = self.acceptor.transmit(now);
        let moved = !to_acceptor.is_empty() || !to_initiator.is_empty();
        self.acceptor.inbox.extend_from_slice(&to_acceptor);
        self.initiator.inbox.extend_from_slice(&to_initiator);
        let read = self.acceptor.receive(now) | self.initiator.receive(now);
        let closed = self.close_if_asked();
        self.initiator.collect();
        self.acceptor.collect();
        moved || read || closed
    }

    /// Steps until nothing moves (bounded).
    fn drive(&mut self) {
        for _ in 0..100 {
            if !self.step() {
                return;
            }
        }
        panic!("the pair did not settle");
    }

    /// Advances the virtual clock, firing timers at their exact deadlines on the way.
    fn advance(&mut self, by: Duration) {
        let end = self.clock + by;
        loop {
            let next = [
                self.initiator.session.poll_timeout(),
                self.acceptor.session.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t <= end)
            .min();
            let Some(deadline) = next else { break };
            self.clock = deadline;
            self.initiator.session.handle_timeout(deadline);
            self.acceptor.session.handle_timeout(deadline);
            self.drive();
        }
        self.clock = end;
        self.drive();
    }

    /// A side that asks to close takes the connection down for both.
    fn close_if_asked(&mut self) -> bool {
        let now = self.clock;
        let asked = [&self.initiator, &self.acceptor]
            .iter()
            .any(|side| side.session.poll_close().is_some());
        if !asked {
            return false;
        }
        for side in [&mut self.initiator, &mut self.acceptor] {
            if side.session.state() == SessionState::Disconnected {
                continue;
            }
            if let Some(reason) = side.session.poll_close() {
                side.closed = Some(reason.clone());
            }
            side.session.disconnected(now);
            side.inbox.clear();
        }
        true
    }

    /// Writes a message as the initiator would, with a header of our choosing, to the acceptor.
    fn inject_to_acceptor(&mut self, msg_type: &[u8], seq: u64, poss_dup: bool, body: &[u8]) {
        let mut buf = [0u8; 512];
        let header = Header {
            begin_string: "FIX.4.4",
            msg_type,
            sender_comp_id: "INIT",
            target_comp_id: "ACC",
            msg_seq_num: seq,
            sending_time: UtcTimestamp::from_unix_millis(1_795_651_200_000),
            poss_dup,
            orig_sending_time: poss_dup.then(|| UtcTimestamp::from_unix_millis(1_795_651_200_000)),
        };
        let len = codec::encode(&header, body, &mut buf).expect("fits");
        self.acceptor.inbox.extend_from_slice(&buf[..len]);
        self.drive();
    }
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

fn logons(side: &Side) -> usize {
    side.events
        .iter()
        .filter(|e| matches!(e, Event::Logon { .. }))
        .count()
}

fn logouts(side: &Side) -> usize {
    side.events
        .iter()
        .filter(|e| matches!(e, Event::Logout { .. }))
        .count()
}

#[test]
fn logon_exchange() {
    let pair = Pair::logged_on(false);
    assert_eq!(pair.initiator.sent, ["A"]);
    assert_eq!(pair.acceptor.sent, ["A"]);
    assert_eq!((logons(&pair.initiator), logons(&pair.acceptor)), (1, 1));
    assert_eq!(pair.initiator.session.next_sender_seq(), 2);
    assert_eq!(pair.acceptor.session.next_target_seq(), 2);
    // The acceptor adopts the initiator's HeartBtInt.
    assert_eq!(pair.acceptor.session.heartbeat_interval(), HEARTBEAT);
}

#[test]
fn application_messages_flow_only_when_logged_on() {
    let mut pair = Pair::new(false);
    let mut out = [0u8; 512];
    let body = order_body();
    let refused = pair
        .initiator
        .session
        .send(Instant::ZERO, b"D", &body, &mut out);
    assert_eq!(refused, Err(SendError::NotLoggedOn));
    assert_eq!(
        pair.initiator.session.next_sender_seq(),
        1,
        "a refused send uses no number"
    );

    pair.connect();
    pair.drive();
    let len = pair
        .initiator
        .session
        .send(pair.clock, b"D", &body, &mut out)
        .expect("sent");
    pair.acceptor.inbox.extend_from_slice(&out[..len]);
    pair.drive();
    assert_eq!(pair.acceptor.delivered.len(), 1);
    let delivered = Message::parse(&pair.acceptor.delivered[0]).unwrap();
    assert_eq!(delivered.get(11), Some(&b"ORD-1"[..]));
    assert_eq!(delivered.get_u64(34).unwrap(), Some(2));
}

#[test]
fn heartbeats_keep_a_quiet_connection_up() {
    let mut pair = Pair::logged_on(false);
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
    let mut pair = Pair::logged_on(false);
    pair.acceptor.muted = true;
    // HeartBtInt 30 s plus 20 %: the TestRequest goes out at 36 s, the close at 72 s.
    pair.advance(Duration::from_millis(35_999));
    assert_eq!(pair.initiator.sent_count("1"), 0);
    assert!(!pair.initiator.session.is_silent(pair.clock));
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.sent_count("1"), 1);
    // Silent from here on: a new connection of the same peer may replace this one.
    pair.advance(Duration::from_millis(1));
    assert!(pair.initiator.session.is_silent(pair.clock));
    assert_eq!(
        pair.initiator.session.silent_for(pair.clock),
        Duration::from_millis(36_001)
    );
    pair.advance(Duration::from_millis(35_998));
    assert!(pair.initiator.closed.is_none());
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.initiator.closed,
        Some(CloseReason::PeerSilent {
            interval: HEARTBEAT
        })
    );
    assert_eq!(logouts(&pair.initiator), 1);
}

#[test]
fn test_request_is_answered_with_its_id() {
    let mut pair = Pair::logged_on(false);
    pair.inject_to_acceptor(b"1", 2, false, b"112=PING-7\x01");
    assert_eq!(pair.acceptor.sent.last().map(String::as_str), Some("0"));
    // The heartbeat reached the initiator, which is still happy.
    assert!(pair.initiator.closed.is_none());
}

#[test]
fn logout_exchange() {
    let mut pair = Pair::logged_on(false);
    pair.initiator.session.logout(pair.clock, "end of day");
    pair.drive();
    assert_eq!(pair.initiator.sent.last().map(String::as_str), Some("5"));
    assert_eq!(pair.acceptor.sent.last().map(String::as_str), Some("5"));
    assert_eq!(pair.initiator.closed, Some(CloseReason::LogoutComplete));
    assert_eq!(
        pair.acceptor.closed,
        Some(CloseReason::PeerLogout {
            text: "end of day".into()
        })
    );
    assert_eq!((logouts(&pair.initiator), logouts(&pair.acceptor)), (1, 1));
}

#[test]
fn unanswered_logout_closes_after_logout_timeout() {
    let mut pair = Pair::logged_on(false);
    pair.acceptor.muted = true;
    pair.initiator.session.logout(pair.clock, "");
    pair.advance(Duration::from_millis(1_999));
    assert!(pair.initiator.closed.is_none());
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.closed, Some(CloseReason::LogoutTimeout));
}

#[test]
fn logon_timeout_on_both_sides() {
    // The acceptor never answers: the initiator gives up after LogonTimeout.
    let mut pair = Pair::new(false);
    pair.acceptor.muted = true;
    pair.connect();
    pair.advance(Duration::from_millis(9_999));
    assert!(pair.initiator.closed.is_none());
    pair.advance(Duration::from_millis(1));
    assert_eq!(pair.initiator.closed, Some(CloseReason::LogonTimeout));
    assert_eq!(
        logouts(&pair.initiator),
        0,
        "never logged on, so no logout event"
    );

    // An accepted socket that never sends a Logon is closed after LogonTimeout too.
    let (_, acceptor) = configs(false);
    let mut side = Side::new(&acceptor);
    side.session.connected(Instant::ZERO);
    side.session.handle_timeout(Instant::from_millis(9_999));
    assert!(side.session.poll_close().is_none());
    side.session.handle_timeout(Instant::from_secs(10));
    assert_eq!(side.session.poll_close(), Some(&CloseReason::LogonTimeout));
}

#[test]
fn seq_num_too_low_logs_out_and_disconnects() {
    let mut pair = Pair::logged_on(false);
    pair.inject_to_acceptor(b"0", 1, false, b"");
    assert_eq!(pair.acceptor.sent.last().map(String::as_str), Some("5"));
    let expected = ProtocolViolation::SeqNumTooLow {
        expected: 2,
        received: 1,
    };
    assert_eq!(pair.acceptor.closed, Some(CloseReason::Protocol(expected)));
}

#[test]
fn possible_duplicates_below_the_expected_number_are_ignored() {
    let mut pair = Pair::logged_on(false);
    pair.inject_to_acceptor(b"D", 1, true, &order_body());
    assert!(pair.acceptor.closed.is_none());
    assert!(pair.acceptor.delivered.is_empty());
}

/// Sends order `id` from the initiator; its bytes reach the acceptor only when `delivered`.
fn send_order(pair: &mut Pair, id: &str, delivered: bool) {
    let mut out = [0u8; 512];
    let body = format!("11={id}\x0155=EURUSD\x0154=1\x0138=100\x01");
    let len = pair
        .initiator
        .session
        .send(pair.clock, b"D", body.as_bytes(), &mut out)
        .unwrap();
    if delivered {
        pair.acceptor.inbox.extend_from_slice(&out[..len]);
    }
}

/// Hands the initiator a message as the acceptor would write it, with a MsgSeqNum of our
/// choosing, without going through the acceptor's session.
fn to_initiator(pair: &mut Pair, msg_type: &[u8], seq: u64, body: &[u8]) {
    let mut buf = [0u8; 512];
    let header = Header {
        begin_string: "FIX.4.4",
        msg_type,
        sender_comp_id: "ACC",
        target_comp_id: "INIT",
        msg_seq_num: seq,
        sending_time: UtcTimestamp::from_unix_millis(1_795_651_200_000),
        poss_dup: false,
        orig_sending_time: None,
    };
    let len = codec::encode(&header, body, &mut buf).unwrap();
    let msg = Message::parse(&buf[..len]).unwrap();
    let _ = pair.initiator.session.handle_message(pair.clock, &msg);
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
fn a_gap_is_reported_and_resent_from_the_store() {
    let mut pair = Pair::logged_on(false);
    // Three orders go out, but only the last reaches the acceptor.
    send_order(&mut pair, "A", false);
    pair.clock += Duration::from_millis(5);
    send_order(&mut pair, "B", false);
    send_order(&mut pair, "C", true);
    pair.clock += Duration::from_millis(5);
    pair.drive();
    let gap = Event::SequenceGap {
        session_id: pair.acceptor.session.id().clone(),
        expected: 2,
        received: 4,
    };
    assert!(pair.acceptor.events.contains(&gap));
    assert_eq!(pair.acceptor.sent_count("2"), 1, "one ResendRequest");
    // The initiator sends all three again, as possible duplicates with their first
    // SendingTime; nothing is skipped, and the order beyond the gap is delivered once.
    assert_eq!(pair.initiator.sent_count("4"), 0, "no gap fill");
    let t0 = b"20261126-00:00:00.000".to_vec();
    let t1 = b"20261126-00:00:00.005".to_vec();
    assert_eq!(
        delivered_orders(&pair.acceptor),
        [
            ("A".to_owned(), 2, true, Some(t0)),
            ("B".to_owned(), 3, true, Some(t1.clone())),
            ("C".to_owned(), 4, true, Some(t1)),
        ]
    );
    assert_eq!(
        pair.acceptor.session.next_target_seq(),
        pair.initiator.session.next_sender_seq()
    );
    assert!(pair.acceptor.closed.is_none());
}

#[test]
fn admin_messages_in_a_resend_are_skipped_with_a_gap_fill() {
    let mut pair = Pair::logged_on(false);
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
            ("C".to_owned(), 5, true),
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
            .events
            .iter()
            .any(|e| matches!(e, Event::MessagesNotResent { .. }))
    );
    // Both sides had a gap (the acceptor's Heartbeat was lost too), and each ResendRequest
    // was acted on out of sequence; the next Heartbeats bring both into line.
    pair.advance(HEARTBEAT);
    for (from, to) in [
        (&pair.initiator, &pair.acceptor),
        (&pair.acceptor, &pair.initiator),
    ] {
        assert_eq!(to.session.next_target_seq(), from.session.next_sender_seq());
    }
    assert!(pair.initiator.closed.is_none() && pair.acceptor.closed.is_none());
}

#[test]
fn messages_no_longer_stored_are_gap_filled_and_reported() {
    // PersistMessages=N keeps nothing; a small MessageStoreSize keeps the last two orders.
    for (store, resent) in [(0, vec![]), (60, vec!["C"])] {
        let (mut initiator, acceptor) = configs(false);
        initiator.message_store_size = store;
        let mut pair = Pair {
            initiator: Side::new(&initiator),
            acceptor: Side::new(&acceptor),
            clock: Instant::ZERO,
        };
        pair.connect();
        pair.drive();
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
        let not_resent = Event::MessagesNotResent {
            session_id: pair.initiator.session.id().clone(),
            begin: 2,
            end: skipped_to,
        };
        assert!(
            pair.initiator.events.contains(&not_resent),
            "store of {store} bytes: {:?}",
            pair.initiator.events
        );
        assert_eq!(
            pair.acceptor.session.next_target_seq(),
            pair.initiator.session.next_sender_seq()
        );
    }
}

#[test]
fn a_resend_request_with_an_end_resends_that_range_only() {
    let mut pair = Pair::logged_on(false);
    for id in ["A", "B", "C"] {
        send_order(&mut pair, id, true);
    }
    pair.drive();
    assert_eq!(pair.acceptor.delivered.len(), 3);
    // A ResendRequest for 3..=3, written as the acceptor would.
    let seq = pair.acceptor.session.next_sender_seq();
    to_initiator(&mut pair, b"2", seq, b"7=3\x0116=3\x01");
    let mut out = [0u8; 512];
    let len = pair
        .initiator
        .session
        .poll_transmit(pair.clock, &mut out)
        .unwrap()
        .expect("the resend");
    let resent = Message::parse(&out[..len]).unwrap();
    assert_eq!(resent.msg_type(), b"D");
    assert_eq!(resent.get(11), Some(&b"B"[..]));
    assert_eq!(resent.get_u64(34).unwrap(), Some(3));
    assert_eq!(resent.get(43), Some(&b"Y"[..]));
    assert_eq!(
        pair.initiator.session.poll_transmit(pair.clock, &mut out),
        Ok(None)
    );
}

#[test]
fn repeated_resend_requests_are_answered_once() {
    let mut pair = Pair::logged_on(false);
    for id in ["A", "B", "C"] {
        send_order(&mut pair, id, true);
    }
    pair.drive();
    // Three ResendRequests before the initiator writes anything: 2..=3, 3..=4, 2..=3.
    let next = pair.acceptor.session.next_sender_seq();
    for (n, range) in ["7=2\x0116=3\x01", "7=3\x0116=4\x01", "7=2\x0116=3\x01"]
        .into_iter()
        .enumerate()
    {
        to_initiator(&mut pair, b"2", next + n as u64, range.as_bytes());
    }
    let mut out = [0u8; 512];
    let mut resent = Vec::new();
    while let Some(len) = pair
        .initiator
        .session
        .poll_transmit(pair.clock, &mut out)
        .unwrap()
    {
        let msg = Message::parse(&out[..len]).unwrap();
        resent.push(msg.get_u64(34).unwrap().unwrap());
    }
    assert_eq!(resent, [2, 3, 4], "one answer for 2..=4");
}

#[test]
fn a_sequence_reset_empties_the_store() {
    let mut pair = Pair::logged_on(true);
    send_order(&mut pair, "A", true);
    pair.drive();
    assert_eq!(pair.initiator.session.stored_messages(), 1);
    pair.initiator.session.logout(pair.clock, "");
    pair.drive();
    pair.connect();
    pair.drive();
    assert_eq!(pair.initiator.session.stored_messages(), 0);
}

#[test]
fn sequence_numbers_carry_on_across_reconnects_unless_reset_on_logon() {
    for reset in [false, true] {
        let mut pair = Pair::logged_on(reset);
        pair.advance(Duration::from_secs(30));
        pair.initiator.session.logout(pair.clock, "");
        pair.drive();
        let before = pair.initiator.session.next_sender_seq();
        assert!(before > 2);
        pair.connect();
        pair.drive();
        assert_eq!(
            pair.initiator.session.state(),
            SessionState::Active,
            "reset={reset}"
        );
        let after = pair.initiator.session.next_sender_seq();
        if reset {
            assert_eq!(after, 2, "Logon went out as 1");
            assert_eq!(pair.acceptor.session.next_target_seq(), 2);
        } else {
            assert_eq!(after, before + 1);
        }
    }
}

#[test]
fn wrong_comp_ids_and_begin_string_are_refused() {
    let mut pair = Pair::new(false);
    pair.acceptor.session.connected(Instant::ZERO);
    let mut buf = [0u8; 256];
    let header = Header {
        begin_string: "FIX.4.4",
        msg_type: b"A",
        sender_comp_id: "STRANGER",
        target_comp_id: "ACC",
        msg_seq_num: 1,
        sending_time: UtcTimestamp::from_unix_millis(0),
        poss_dup: false,
        orig_sending_time: None,
    };
    let len = codec::encode(&header, b"98=0\x01108=30\x01", &mut buf).unwrap();
    pair.acceptor.inbox.extend_from_slice(&buf[..len]);
    pair.acceptor.receive(Instant::ZERO);
    let reason = pair.acceptor.session.poll_close().cloned();
    assert!(
        matches!(reason, Some(CloseReason::Protocol(ProtocolViolation::CompIdMismatch { ref sender, .. })) if sender == "STRANGER"),
        "{reason:?}"
    );

    let mut pair = Pair::new(false);
    pair.acceptor.session.connected(Instant::ZERO);
    let header = Header {
        begin_string: "FIX.4.2",
        sender_comp_id: "INIT",
        ..header
    };
    let len = codec::encode(&header, b"98=0\x01108=30\x01", &mut buf).unwrap();
    pair.acceptor.inbox.extend_from_slice(&buf[..len]);
    pair.acceptor.receive(Instant::ZERO);
    let expected = ProtocolViolation::BeginStringMismatch {
        received: "FIX.4.2".into(),
    };
    assert_eq!(
        pair.acceptor.session.poll_close(),
        Some(&CloseReason::Protocol(expected))
    );
}

#[test]
fn first_message_must_be_a_logon() {
    let mut pair = Pair::new(false);
    pair.acceptor.session.connected(Instant::ZERO);
    pair.inject_to_acceptor(b"D", 1, false, &order_body());
    let expected = CloseReason::Protocol(ProtocolViolation::FirstMessageNotLogon);
    assert_eq!(pair.acceptor.closed, Some(expected));
    assert!(pair.acceptor.delivered.is_empty());
}

#[test]
fn a_second_logon_on_a_live_session_is_refused() {
    let mut pair = Pair::logged_on(false);
    pair.inject_to_acceptor(b"A", 2, false, b"98=0\x01108=30\x01");
    assert_eq!(
        pair.acceptor.closed,
        Some(CloseReason::Protocol(ProtocolViolation::DuplicateLogon))
    );
}

#[test]
fn sending_time_comes_from_the_wall_clock_mapping() {
    let mut pair = Pair::new(false);
    pair.clock = Instant::from_millis(1_234);
    pair.initiator.session.connected(pair.clock);
    let mut buf = [0u8; 256];
    let len = pair
        .initiator
        .session
        .poll_transmit(pair.clock, &mut buf)
        .unwrap()
        .unwrap();
    let logon = Message::parse(&buf[..len]).unwrap();
    // 1_795_651_200_000 ms is 2026-11-26T00:00:00Z.
    assert_eq!(logon.get(52), Some(&b"20261126-00:00:01.234"[..]));
    assert_eq!(logon.get(108), Some(&b"30"[..]));
}

//! The session keys beyond the connection (`SessionRules`) and the Sub/Location IDs of a
//! session's identity, between an initiator and an acceptor joined in memory on a virtual
//! clock: each key against its default.

mod common;

use std::time::Duration;

use common::{configs, encoded, header, logged_on_with};
use fixring_core::codec::{Header, Message};
use fixring_core::config::SessionConfig;
use fixring_core::session::{CloseReason, ProtocolViolation, SessionState};
use fixring_core::testing::{AppMessage, End, Pair, PairConfig, Side};
use fixring_core::{ErrorCode, EventKind, TimestampPrecision};

const ORDER: &[u8] = b"11=ORD-1\x0155=EURUSD\x0154=1\x0138=100\x01";

/// A pair logged on, its sessions configured by `configure(initiator, acceptor)`.
fn pair_with(configure: impl FnOnce(&mut SessionConfig, &mut SessionConfig)) -> Pair {
    let (mut initiator, mut acceptor) = configs(false);
    configure(&mut initiator, &mut acceptor);
    logged_on_with(PairConfig::new(initiator, acceptor))
}

/// A message as the initiator would write it, numbered `seq`, into the acceptor's socket.
fn to_acceptor(pair: &mut Pair, msg_type: &[u8], seq: u64, body: &[u8]) {
    let frame = encoded(header(msg_type, "INIT", "ACC", seq), body);
    pair.inject(End::Acceptor, &frame);
    pair.drive();
}

/// `frame` with its CheckSum off by one.
fn bad_checksum(frame: &[u8]) -> Vec<u8> {
    let len = frame.len();
    let digits = std::str::from_utf8(&frame[len - 4..len - 1]).unwrap();
    let wrong = (digits.parse::<u16>().unwrap() + 1) % 256;
    let mut out = frame[..len - 4].to_vec();
    out.extend(format!("{wrong:03}\x01").into_bytes());
    out
}

fn readable(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).replace('\x01', "|")
}

/// The field `tag` of every message of type `msg_type` that `side` wrote.
fn fields(side: &Side, msg_type: &[u8], tag: u32) -> Vec<String> {
    side.written
        .iter()
        .filter_map(|frame| Message::parse(frame).ok())
        .filter(|msg| msg.msg_type() == msg_type)
        .map(|msg| String::from_utf8_lossy(msg.get(tag).unwrap_or_default()).into_owned())
        .collect()
}

fn seqs(side: &Side) -> (u64, u64) {
    let session = side.conn.session();
    (session.next_sender_seq(), session.next_target_seq())
}

#[test]
fn reset_on_logout_starts_again_once_the_logout_exchange_ends() {
    for reset in [false, true] {
        let mut pair = pair_with(|initiator, _| initiator.rules.reset_on_logout = reset);
        pair.initiator
            .conn
            .send(AppMessage::new(b"D", ORDER))
            .unwrap();
        pair.drive();
        let now = pair.clock;
        pair.initiator.conn.session_mut().logout(now, "");
        pair.drive();
        assert_eq!(
            pair.initiator.conn.session().state(),
            SessionState::Disconnected
        );
        let expected = if reset { (1, 1) } else { (4, 3) };
        assert_eq!(seqs(&pair.initiator), expected, "ResetOnLogout={reset}");
        // The acceptor, without the key, carries on.
        assert_eq!(seqs(&pair.acceptor), (3, 4));
    }
}

#[test]
fn reset_on_disconnect_starts_again_however_the_connection_ends() {
    for reset in [false, true] {
        let mut pair = pair_with(|initiator, _| initiator.rules.reset_on_disconnect = reset);
        pair.initiator
            .conn
            .send(AppMessage::new(b"D", ORDER))
            .unwrap();
        pair.drive();
        pair.lose_link();
        let expected = if reset { (1, 1) } else { (3, 2) };
        assert_eq!(seqs(&pair.initiator), expected, "ResetOnDisconnect={reset}");
    }
}

#[test]
fn reset_on_error_logs_out_and_resets_on_a_garbled_message() {
    for reset in [false, true] {
        let mut pair = pair_with(|_, acceptor| acceptor.rules.reset_on_error = reset);
        let garbled = bad_checksum(&encoded(header(b"D", "INIT", "ACC", 2), ORDER));
        pair.inject(End::Acceptor, &garbled);
        pair.drive();
        assert_eq!(pair.acceptor.conn.garbled_messages(), 1);
        if reset {
            // As QuickFIX/J's auto reset: a Logout without Text, the close, the reset.
            assert_eq!(pair.acceptor.sent(), ["A", "5"]);
            assert_eq!(fields(&pair.acceptor, b"5", 58), [""]);
            assert_eq!(
                pair.acceptor.closed,
                Some(CloseReason::AutoReset.to_string())
            );
            assert_eq!(seqs(&pair.acceptor), (1, 1));
        } else {
            assert_eq!(pair.acceptor.sent(), ["A"]);
            assert_eq!(pair.acceptor.conn.session().state(), SessionState::Active);
        }
    }
}

#[test]
fn send_redundant_resend_requests_asks_again_for_every_message_beyond_a_gap() {
    for redundant in [false, true] {
        let mut pair =
            pair_with(|_, acceptor| acceptor.rules.send_redundant_resend_requests = redundant);
        to_acceptor(&mut pair, b"D", 5, ORDER);
        to_acceptor(&mut pair, b"D", 6, ORDER);
        let asked = fields(&pair.acceptor, b"2", 7);
        let expected: &[&str] = if redundant { &["2", "2"] } else { &["2"] };
        assert_eq!(asked, expected, "SendRedundantResendRequests={redundant}");
    }
}

#[test]
fn resend_request_chunk_size_asks_for_a_gap_piece_by_piece() {
    let mut pair = pair_with(|_, acceptor| acceptor.rules.resend_request_chunk_size = 2);
    to_acceptor(&mut pair, b"D", 7, ORDER);
    let ranges = |pair: &Pair| -> Vec<(String, String)> {
        let begins = fields(&pair.acceptor, b"2", 7);
        let ends = fields(&pair.acceptor, b"2", 16);
        begins.into_iter().zip(ends).collect()
    };
    let range = |b: &str, e: &str| (b.to_owned(), e.to_owned());
    assert_eq!(ranges(&pair), [range("2", "3")]);
    to_acceptor(&mut pair, b"D", 2, ORDER);
    assert_eq!(ranges(&pair).len(), 1, "the chunk is not filled yet");
    to_acceptor(&mut pair, b"D", 3, ORDER);
    assert_eq!(ranges(&pair), [range("2", "3"), range("4", "5")]);
    to_acceptor(&mut pair, b"D", 4, ORDER);
    to_acceptor(&mut pair, b"D", 5, ORDER);
    assert_eq!(
        ranges(&pair)[2],
        range("6", "6"),
        "the last chunk ends before 7"
    );
    to_acceptor(&mut pair, b"D", 6, ORDER);
    assert_eq!(ranges(&pair).len(), 3);
    // 7, kept from beyond the gap, follows 6.
    assert_eq!(pair.acceptor.delivered.len(), 6);
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), 8);

    // Without the key, one ResendRequest to infinity.
    let mut pair = pair_with(|_, _| {});
    to_acceptor(&mut pair, b"D", 7, ORDER);
    assert_eq!(fields(&pair.acceptor, b"2", 16), ["0"]);
}

#[test]
fn enable_last_msg_seq_num_processed_stamps_369_after_the_header() {
    let mut pair = pair_with(|_, acceptor| acceptor.rules.enable_last_msg_seq_num_processed = true);
    let logon = readable(&pair.acceptor.written[0]);
    assert!(logon.contains("|56=INIT|369=1|98=0|"), "{logon}");
    pair.initiator
        .conn
        .send(AppMessage::new(b"D", ORDER))
        .unwrap();
    pair.drive();
    pair.advance(Duration::from_secs(30));
    assert_eq!(fields(&pair.acceptor, b"0", 369), ["2"]);
    // The initiator, without the key, writes none.
    assert!(
        fields(&pair.initiator, b"0", 369)
            .iter()
            .all(String::is_empty)
    );
}

#[test]
fn requires_orig_sending_time_n_lets_a_possible_duplicate_without_it_through() {
    for requires in [true, false] {
        let mut pair =
            pair_with(|_, acceptor| acceptor.rules.requires_orig_sending_time = requires);
        let duplicate = Header {
            poss_dup: true,
            ..header(b"D", "INIT", "ACC", 1)
        };
        pair.inject(End::Acceptor, &encoded(duplicate, ORDER));
        pair.drive();
        if requires {
            assert_eq!(fields(&pair.acceptor, b"3", 371), ["122"]);
        } else {
            assert_eq!(pair.acceptor.sent(), ["A"], "no Reject");
        }
        assert_eq!(pair.acceptor.conn.session().state(), SessionState::Active);
    }
}

#[test]
fn send_logout_before_disconnect_from_timeout_says_goodbye_to_a_silent_peer() {
    for send in [false, true] {
        let mut pair = pair_with(|initiator, _| {
            initiator.rules.send_logout_before_timeout_disconnect = send;
        });
        pair.acceptor.muted = true;
        pair.advance(Duration::from_secs(72));
        let silent = CloseReason::PeerSilent {
            interval: common::HEARTBEAT,
        };
        assert_eq!(pair.initiator.closed, Some(silent.to_string()));
        assert_eq!(pair.initiator.sent_count("1"), 1);
        assert_eq!(pair.initiator.sent_count("5"), usize::from(send));
    }
}

#[test]
fn timestamp_precision_sets_the_digits_of_sending_time() {
    let cases = [
        ("FIX.4.4", TimestampPrecision::Seconds, "20261126-00:00:00"),
        (
            "FIX.4.4",
            TimestampPrecision::Millis,
            "20261126-00:00:00.000",
        ),
        (
            "FIX.4.4",
            TimestampPrecision::Micros,
            "20261126-00:00:00.000000",
        ),
        (
            "FIX.4.4",
            TimestampPrecision::Nanos,
            "20261126-00:00:00.000000000",
        ),
        // As QuickFIX: whole seconds before FIX.4.2, whatever the key says.
        ("FIX.4.1", TimestampPrecision::Nanos, "20261126-00:00:00"),
    ];
    for (begin_string, precision, sending_time) in cases {
        let pair = pair_with(|initiator, acceptor| {
            initiator.id.begin_string = begin_string.into();
            acceptor.id.begin_string = begin_string.into();
            initiator.rules.timestamp_precision = precision;
        });
        assert_eq!(
            fields(&pair.initiator, b"A", 52),
            [sending_time],
            "{precision:?}"
        );
        // The acceptor reads it, and answers with its own (default) precision.
        let expected = if begin_string == "FIX.4.1" {
            "20261126-00:00:00"
        } else {
            "20261126-00:00:00.000"
        };
        assert_eq!(fields(&pair.acceptor, b"A", 52), [expected]);
    }
}

#[test]
fn check_comp_id_n_accepts_messages_for_other_comp_ids() {
    for check in [true, false] {
        let mut pair = pair_with(|_, acceptor| acceptor.rules.check_comp_id = check);
        pair.inject(
            End::Acceptor,
            &encoded(header(b"D", "OTHER", "ACC", 2), ORDER),
        );
        pair.drive();
        if check {
            assert_eq!(fields(&pair.acceptor, b"3", 373), ["9"], "CompID problem");
            assert!(pair.acceptor.delivered.is_empty());
        } else {
            assert_eq!(pair.acceptor.delivered.len(), 1);
            assert_eq!(pair.acceptor.sent(), ["A"]);
        }
    }
}

#[test]
fn validate_length_and_checksum_n_reads_what_quickfix_would_frame() {
    for validate in [true, false] {
        let mut pair =
            pair_with(|_, acceptor| acceptor.rules.validate_length_and_checksum = validate);
        let wrong_sum = bad_checksum(&encoded(header(b"D", "INIT", "ACC", 2), ORDER));
        // A BodyLength five bytes short: the message runs on to its CheckSum field.
        let good = encoded(header(b"D", "INIT", "ACC", 3), ORDER);
        let text = String::from_utf8(good).unwrap();
        let length: usize = text.split('\x01').nth(1).unwrap()[2..].parse().unwrap();
        let short = text.replacen(&format!("9={length}"), &format!("9={}", length - 5), 1);
        pair.inject(End::Acceptor, &wrong_sum);
        pair.inject(End::Acceptor, short.as_bytes());
        pair.drive();
        let (delivered, garbled) = if validate { (0, 2) } else { (2, 0) };
        assert_eq!(
            pair.acceptor.delivered.len(),
            delivered,
            "Validate…={validate}"
        );
        assert_eq!(pair.acceptor.conn.garbled_messages(), garbled);
    }
}

/// An initiator INIT/DESK/NY talking to ACC/FLOOR, and the acceptor configured the other
/// way round.
fn with_sub_ids(initiator: &mut SessionConfig, acceptor: &mut SessionConfig) {
    initiator.id.sender_sub_id = "DESK".into();
    initiator.id.sender_location_id = "NY".into();
    initiator.id.target_sub_id = "FLOOR".into();
    acceptor.id = initiator.id.reversed();
}

#[test]
fn sub_and_location_ids_go_out_in_quickfix_s_header_order() {
    let pair = pair_with(with_sub_ids);
    let logon = readable(&pair.initiator.written[0]);
    assert!(
        logon.contains(
            "|34=1|49=INIT|50=DESK|52=20261126-00:00:00.000|56=ACC|57=FLOOR|142=NY|98=0|"
        ),
        "{logon}"
    );
    let reply = readable(&pair.acceptor.written[0]);
    assert!(
        reply.contains(
            "|34=1|49=ACC|50=FLOOR|52=20261126-00:00:00.000|56=INIT|57=DESK|143=NY|98=0|"
        ),
        "{reply}"
    );
    assert_eq!(
        pair.acceptor.conn.id().to_string(),
        "FIX.4.4:ACC/FLOOR->INIT/DESK/NY"
    );
}

#[test]
fn the_router_refuses_a_logon_for_another_sub_id() {
    let (mut initiator, mut acceptor) = configs(false);
    with_sub_ids(&mut initiator, &mut acceptor);
    let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
    pair.connect();
    let logon = Header {
        sender_sub_id: "OTHERDESK",
        target_sub_id: "FLOOR",
        ..header(b"A", "INIT", "ACC", 1)
    };
    pair.inject(End::Acceptor, &encoded(logon, b"98=0\x01108=30\x01"));
    pair.drive();
    let kinds = pair.router_kinds();
    let [
        EventKind::ConnectionError {
            code, error_detail, ..
        },
    ] = kinds.as_slice()
    else {
        panic!("one refusal expected: {kinds:?}");
    };
    assert_eq!(*code, ErrorCode::ConnectionRefused);
    assert!(error_detail.contains("50=\"OTHERDESK\""), "{error_detail}");
    assert!(pair.acceptor.kinds().is_empty());
}

#[test]
fn an_initiator_refuses_a_logon_reply_for_another_sub_id() {
    let (mut initiator, mut acceptor) = configs(false);
    with_sub_ids(&mut initiator, &mut acceptor);
    let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).unwrap();
    pair.acceptor.muted = true;
    pair.connect();
    pair.drive();
    let reply = Header {
        sender_sub_id: "FLOOR",
        target_sub_id: "WRONG",
        target_location_id: "NY",
        ..header(b"A", "ACC", "INIT", 1)
    };
    pair.inject(End::Initiator, &encoded(reply, b"98=0\x01108=30\x01"));
    pair.drive();
    let violation = ProtocolViolation::IdentityMismatch {
        tag: 57,
        expected: "DESK".into(),
        received: "WRONG".into(),
    };
    assert_eq!(
        pair.initiator.closed,
        Some(CloseReason::Protocol(violation).to_string())
    );
}

#[test]
fn a_fixt_logon_carries_the_default_appl_ver_id_and_others_do_not() {
    let fixt = pair_with(|initiator, acceptor| {
        for config in [initiator, acceptor] {
            config.id.begin_string = "FIXT.1.1".to_owned();
            config.rules.default_appl_ver_id = Some(9);
        }
    });
    for side in [&fixt.initiator, &fixt.acceptor] {
        assert_eq!(fields(side, b"A", 1137), ["9"]);
        // In tag order after the Logon's own fields, as QuickFIX writes it.
        let logon = side
            .written
            .first()
            .map(|f| readable(f))
            .unwrap_or_default();
        assert!(logon.contains("|98=0|108=30|1137=9|10="), "{logon}");
    }
    let fix44 = pair_with(|initiator, acceptor| {
        for config in [initiator, acceptor] {
            config.rules.default_appl_ver_id = Some(9);
        }
    });
    assert_eq!(fields(&fix44.initiator, b"A", 1137), [""]);
}

#[test]
fn cme_enhanced_resend_asks_for_the_next_chunk_after_a_gap_fill_past_this_one() {
    for cme in [false, true] {
        let mut pair = pair_with(|_, acceptor| {
            acceptor.rules.resend_request_chunk_size = 2;
            acceptor.rules.cme_enhanced_resend = cme;
        });
        to_acceptor(&mut pair, b"D", 7, ORDER);
        assert_eq!(fields(&pair.acceptor, b"2", 16), ["3"]);
        // The peer fills 2–6 at once, past the chunk 2–3 asked for.
        let mut gap_fill = header(b"4", "INIT", "ACC", 2);
        gap_fill.poss_dup = true;
        gap_fill.orig_sending_time = Some(gap_fill.sending_time);
        pair.inject(End::Acceptor, &encoded(gap_fill, b"123=Y\x0136=7\x01"));
        pair.drive();
        let begins = fields(&pair.acceptor, b"2", 7);
        if cme {
            // As QuickFIX/n: the GapFill fills 2–3 only, and 4–5 is asked for next.
            assert_eq!(begins, ["2", "4"], "CmeEnhancedResend=Y");
            assert_eq!(fields(&pair.acceptor, b"2", 16), ["3", "5"]);
            assert_eq!(pair.acceptor.conn.session().next_target_seq(), 4);
        } else {
            assert_eq!(begins, ["2"], "CmeEnhancedResend=N");
            // 7, kept from beyond the gap, follows the GapFill.
            assert_eq!(pair.acceptor.conn.session().next_target_seq(), 8);
        }
    }
}

#[test]
fn cme_enhanced_resend_takes_the_next_expected_msg_seq_num_of_a_logout_answering_our_logon() {
    for cme in [false, true] {
        let (mut initiator, acceptor) = configs(false);
        initiator.rules.cme_enhanced_resend = cme;
        let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).expect("pair");
        pair.initiator.conn.session_mut().set_sequence_numbers(4, 1);
        pair.acceptor.muted = true;
        pair.connect();
        pair.drive();
        assert_eq!(fields(&pair.initiator, b"A", 34), ["4"]);
        let text = b"58=Failed to reset sequence numbers. Logout forced.\x01789=1\x01";
        pair.inject(
            End::Initiator,
            &encoded(header(b"5", "ACC", "INIT", 1), text),
        );
        pair.drive();
        let session = pair.initiator.conn.session();
        if cme {
            // Answered with our current number; the next Logon goes with 789's.
            assert_eq!(
                fields(&pair.initiator, b"5", 34),
                ["5"],
                "CmeEnhancedResend=Y"
            );
            assert_eq!(session.state(), SessionState::Disconnected);
            assert_eq!(session.next_sender_seq(), 1);
        } else {
            assert!(
                fields(&pair.initiator, b"5", 34).is_empty(),
                "CmeEnhancedResend=N"
            );
            assert_eq!(session.next_sender_seq(), 5);
        }
    }
}

#[test]
fn validate_sequence_numbers_n_takes_every_message_as_it_comes() {
    for validate in [true, false] {
        let mut pair = pair_with(|_, acceptor| acceptor.rules.validate_sequence_numbers = validate);
        to_acceptor(&mut pair, b"D", 5, ORDER);
        to_acceptor(&mut pair, b"D", 1, ORDER);
        let session = pair.acceptor.conn.session();
        if validate {
            // A gap asked for; then a number too low without PossDupFlag: Logout.
            assert_eq!(fields(&pair.acceptor, b"2", 7), ["2"]);
            assert!(pair.acceptor.delivered.is_empty());
            assert_eq!(
                pair.acceptor.sent_count("5"),
                1,
                "ValidateSequenceNumbers=Y"
            );
        } else {
            assert!(fields(&pair.acceptor, b"2", 7).is_empty());
            assert_eq!(
                pair.acceptor.delivered.len(),
                2,
                "ValidateSequenceNumbers=N"
            );
            assert_eq!(session.state(), SessionState::Active);
            assert_eq!(session.next_target_seq(), 2, "follows the peer's number");
        }
    }
}

//! Validation against a data dictionary between an initiator and an acceptor joined in memory:
//! what a logged-on acceptor does with a message that fails, by the keys.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{configs, encoded, header, logged_on_with};
use fixring_core::EventKind;
use fixring_core::codec::Message;
use fixring_core::config::SessionConfig;
use fixring_core::dictionary::{Dictionaries, Dictionary};
use fixring_core::testing::{End, Pair, PairConfig, Side};

const VALID: &[u8] = b"11=ORD-1\x0121=1\x0138=100\x0140=1\x0154=1\x0155=EURUSD\x01\
                       60=20261125-23:59:58\x01";
/// OrdType (40) `w` is none of FIX44.xml's.
const BAD_ENUM: &[u8] = b"11=ORD-2\x0121=1\x0138=100\x0140=w\x0154=1\x0155=EURUSD\x01\
                          60=20261125-23:59:58\x01";

fn fix44() -> Dictionaries {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/dictionaries/FIX44.xml");
    let dictionary = Dictionary::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Dictionaries {
        session: Arc::new(dictionary),
        application: None,
        versions: Vec::new(),
    }
}

/// A pair logged on, the acceptor validating with FIX44.xml, configured by `configure`.
fn pair_with(configure: impl FnOnce(&mut SessionConfig)) -> Pair {
    let (initiator, mut acceptor) = configs(false);
    acceptor.dictionary.loaded = Some(fix44());
    configure(&mut acceptor);
    logged_on_with(PairConfig::new(initiator, acceptor))
}

fn to_acceptor(pair: &mut Pair, msg_type: &[u8], seq: u64, body: &[u8]) {
    let frame = encoded(header(msg_type, "INIT", "ACC", seq), body);
    pair.inject(End::Acceptor, &frame);
    pair.drive();
}

/// `(45, 58, 371, 372, 373)` of every Reject `side` wrote.
fn rejects(side: &Side) -> Vec<[String; 5]> {
    side.written
        .iter()
        .filter_map(|frame| Message::parse(frame).ok())
        .filter(|msg| msg.msg_type() == b"3")
        .map(|msg| {
            [45, 58, 371, 372, 373]
                .map(|tag| String::from_utf8_lossy(msg.get(tag).unwrap_or_default()).into_owned())
        })
        .collect()
}

#[test]
fn an_invalid_message_is_rejected_and_counted_a_valid_one_delivered() {
    let mut pair = pair_with(|_| {});
    to_acceptor(&mut pair, b"D", 2, BAD_ENUM);
    to_acceptor(&mut pair, b"D", 3, VALID);
    let expected = [
        "2",
        "Value is incorrect (out of range) for this tag",
        "40",
        "D",
        "5",
    ]
    .map(str::to_owned);
    assert_eq!(rejects(&pair.acceptor), [expected]);
    assert_eq!(pair.acceptor.delivered.len(), 1, "only the valid order");
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), 4);
    assert!(pair.acceptor.kinds().iter().any(|e| matches!(
        e,
        EventKind::MessageInvalid { msg_seq_num: Some(2), reason, .. } if reason.ends_with("(40)")
    )));
}

#[test]
fn reject_invalid_message_n_delivers_it_all_the_same() {
    let mut pair = pair_with(|acceptor| acceptor.dictionary.reject_invalid_message = false);
    to_acceptor(&mut pair, b"D", 2, BAD_ENUM);
    assert!(rejects(&pair.acceptor).is_empty());
    assert_eq!(pair.acceptor.delivered.len(), 1);
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), 3);
}

#[test]
fn a_rejected_message_beyond_a_gap_is_not_counted() {
    let mut pair = pair_with(|_| {});
    to_acceptor(&mut pair, b"D", 5, BAD_ENUM);
    assert_eq!(rejects(&pair.acceptor).len(), 1);
    assert_eq!(pair.acceptor.conn.session().next_target_seq(), 2);
}

/// A whole message from `body` (`|` for SOH), BodyLength and CheckSum computed.
fn frame(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\u{1}");
    let mut out = format!("8=FIX.4.4\u{1}9={}\u{1}{body}", body.len()).into_bytes();
    let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    out.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
    out
}

/// `(45, 58, 372, 380)` of every BusinessMessageReject `side` wrote.
fn business_rejects(side: &Side) -> Vec<[String; 4]> {
    side.written
        .iter()
        .filter_map(|frame| Message::parse(frame).ok())
        .filter(|msg| msg.msg_type() == b"j")
        .map(|msg| {
            [45, 58, 372, 380]
                .map(|tag| String::from_utf8_lossy(msg.get(tag).unwrap_or_default()).into_owned())
        })
        .collect()
}

#[test]
fn a_message_without_a_comp_id_is_refused_for_it_as_quickfix() {
    for validating in [true, false] {
        let mut pair = pair_with(|acceptor| {
            if !validating {
                acceptor.dictionary.loaded = None;
            }
        });
        let sending_time = "52=20261126-00:00:00.000|";
        // An application message: a BusinessMessageReject, its MsgSeqNum counted.
        let order = frame(&format!(
            "35=D|34=2|49=INIT|{sending_time}11=ORD-1|21=1|38=100|40=1|54=1|55=X|\
             60=20261125-23:59:58|"
        ));
        pair.inject(End::Acceptor, &order);
        pair.drive();
        let expected = ["2", "Conditionally Required Field Missing (56)", "D", "5"];
        assert_eq!(
            business_rejects(&pair.acceptor),
            [expected.map(str::to_owned)],
            "validating: {validating}"
        );
        // A session message: a Reject, the session carries on.
        let heartbeat = frame(&format!("35=0|34=3|56=ACC|{sending_time}"));
        pair.inject(End::Acceptor, &heartbeat);
        pair.drive();
        let expected = ["3", "Required tag missing", "49", "0", "1"].map(str::to_owned);
        assert_eq!(
            rejects(&pair.acceptor),
            [expected],
            "validating: {validating}"
        );
        assert_eq!(pair.acceptor.conn.session().next_target_seq(), 4);
        assert!(pair.acceptor.conn.session().state().is_logged_on());
    }
}

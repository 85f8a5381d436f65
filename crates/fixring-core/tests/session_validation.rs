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

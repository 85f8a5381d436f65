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

#[test]
fn a_fixt_counterpartys_default_appl_ver_id_picks_the_dictionary_of_its_messages() {
    let dictionaries =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/dictionaries");
    let load = |file: &str| {
        Arc::new(Dictionary::load(&dictionaries.join(file)).unwrap_or_else(|e| panic!("{e}")))
    };
    let (mut initiator, mut acceptor) = configs(false);
    for config in [&mut initiator, &mut acceptor] {
        config.id.begin_string = "FIXT.1.1".to_owned();
    }
    // The initiator's Logon says its messages are FIX.4.4's (ApplVerID 6).
    initiator.rules.default_appl_ver_id = Some(6);
    acceptor.rules.default_appl_ver_id = Some(9);
    acceptor.dictionary.loaded = Some(Dictionaries {
        session: load("FIXT11.xml"),
        application: Some(load("FIX50SP2.xml")),
        versions: vec![(6, load("FIX44.xml"))],
    });
    let mut pair = logged_on_with(PairConfig::new(initiator, acceptor));
    // ManualOrderIndicator (1028) came with FIX 5.0: FIX44.xml does not define it.
    let order = [VALID, b"1028=Y\x01"].concat();
    let send = |pair: &mut Pair, seq: u64, appl_ver_id: Option<&str>| {
        let mut body = appl_ver_id.map_or_else(Vec::new, |v| format!("1128={v}\x01").into_bytes());
        body.extend_from_slice(&order);
        let header = fixring_core::codec::Header {
            begin_string: "FIXT.1.1",
            ..header(b"D", "INIT", "ACC", seq)
        };
        pair.inject(End::Acceptor, &encoded(header, &body));
        pair.drive();
    };
    send(&mut pair, 2, None);
    send(&mut pair, 3, Some("9"));
    let reasons: Vec<String> = rejects(&pair.acceptor)
        .into_iter()
        .map(|[seq, _, tag, _, reason]| format!("{seq} {tag} {reason}"))
        .collect();
    assert_eq!(
        reasons,
        ["2 1028 0"],
        "FIX.4.4's dictionary for the first, FIX.5.0SP2's for the second"
    );
    assert_eq!(pair.acceptor.delivered.len(), 1);
}

//! Regression tests for the admin messages a session writes in reply to the peer's input,
//! found by the `session` fuzz target.

use super::MAX_TEXT;
use crate::codec::{Decoded, Framer, Header, Message, encode, msg_type, tags};
use crate::config::{AcceptorConfig, Role, SessionConfig};
use crate::session::{Inbound, Session};
use crate::{Instant, SessionId, UtcTimestamp, WallClock};

fn peer_message(kind: &[u8], seq: u64, body: &[u8]) -> Vec<u8> {
    let header = Header {
        begin_string: "FIX.4.4",
        msg_type: kind,
        sender_comp_id: "INIT",
        target_comp_id: "ACC",
        msg_seq_num: seq,
        sending_time: UtcTimestamp::from_unix_millis(0),
        poss_dup: false,
        orig_sending_time: None,
        ..Default::default()
    };
    let mut out = vec![0u8; body.len() + 256];
    let len = encode(&header, body, &mut out).expect("room for the message");
    out.truncate(len);
    out
}

fn deliver(session: &mut Session, wire: &[u8]) -> Inbound {
    let message = Message::parse(wire).expect("valid test message");
    session.handle_message(Instant::ZERO, &message)
}

/// An acceptor that has answered the peer's Logon.
fn logged_on() -> Session {
    let id = SessionId::new("FIX.4.4", "ACC", "INIT");
    let role = Role::Acceptor(AcceptorConfig {
        accept_host: None,
        accept_port: 5001,
    });
    let clock = WallClock::new(Instant::ZERO, UtcTimestamp::from_unix_millis(0));
    let mut session = Session::new(&SessionConfig::new(id, role), clock);
    session.connected(Instant::ZERO);
    let logon = peer_message(msg_type::LOGON, 1, b"98=0\x01108=30\x01");
    assert_eq!(deliver(&mut session, &logon), Inbound::Admin);
    let mut out = [0u8; 1024];
    let len = session
        .poll_transmit(Instant::ZERO, &mut out)
        .expect("room");
    assert!(len.is_some(), "Logon reply");
    session
}

/// The Heartbeat the session answers a TestRequest with, checked to frame and parse.
fn heartbeat_reply(test_request_body: &[u8]) -> Vec<u8> {
    let mut session = logged_on();
    let request = peer_message(msg_type::TEST_REQUEST, 2, test_request_body);
    assert_eq!(deliver(&mut session, &request), Inbound::Admin);
    let mut out = [0u8; 4096];
    let len = session
        .poll_transmit(Instant::ZERO, &mut out)
        .expect("the reply fits the session's own buffer")
        .expect("a Heartbeat reply");
    let wire = out[..len].to_vec();
    assert_eq!(Framer::default().decode(&wire), Decoded::Message { len });
    let reply = Message::parse(&wire).expect("the reply parses");
    assert_eq!(reply.msg_type(), msg_type::HEARTBEAT);
    wire
}

fn test_req_id(wire: &[u8]) -> Option<&[u8]> {
    Message::parse(wire).ok()?.get(tags::TEST_REQ_ID)
}

#[test]
fn test_request_echoes_its_id() {
    let wire = heartbeat_reply(b"112=PING\x01");
    assert_eq!(test_req_id(&wire), Some(&b"PING"[..]));
}

#[test]
fn test_request_without_id_gets_a_heartbeat_without_one() {
    // Used to write an empty `112=` field, which no FIX parser accepts.
    let wire = heartbeat_reply(b"");
    assert_eq!(test_req_id(&wire), None);
}

#[test]
fn test_request_with_an_oversized_id_gets_a_truncated_echo() {
    // Used to make every poll_transmit fail with InsufficientSize, whatever the caller's
    // buffer, so the session never wrote again.
    let mut body = b"112=".to_vec();
    body.extend(std::iter::repeat_n(b'X', 2000));
    body.push(0x01);
    let wire = heartbeat_reply(&body);
    let id = test_req_id(&wire).expect("an echoed TestReqID");
    assert_eq!(id.len(), MAX_TEXT);
    assert!(id.iter().all(|&b| b == b'X'));
}

/// The body of a Reject of a Heartbeat (seq 2) for an invalid tag 999, in `begin_string`'s
/// style.
fn reject_body(begin_string: &str, kind: crate::dictionary::RejectKind) -> String {
    use super::{Admin, RejectStyle};
    use crate::codec::FieldWriter;
    use crate::dictionary::Rejection;
    use crate::session::reject::RejectReason;

    let reject = Admin::Reject {
        ref_seq_num: Some(2),
        ref_msg_type: b"0".to_vec(),
        reason: RejectReason::Invalid(Rejection {
            kind,
            tag: Some(999),
        }),
        route: vec![(128, b"JCD".to_vec())],
        style: RejectStyle::of(begin_string),
    };
    let mut buf = [0u8; 256];
    let mut out = FieldWriter::new(&mut buf);
    reject
        .write_body(&mut out, std::time::Duration::ZERO)
        .expect("fits");
    String::from_utf8_lossy(out.as_bytes()).replace('\x01', "|")
}

#[test]
fn rejects_carry_the_fields_their_begin_string_has() {
    use crate::dictionary::RejectKind::{InvalidTagNumber, TagAppearsMoreThanOnce};
    assert_eq!(
        reject_body("FIX.4.4", TagAppearsMoreThanOnce),
        "128=JCD|45=2|58=Tag appears more than once|371=999|372=0|373=13|"
    );
    // FIX.4.2 defines the reasons up to 11.
    assert_eq!(
        reject_body("FIX.4.2", TagAppearsMoreThanOnce),
        "128=JCD|45=2|58=Tag appears more than once|371=999|372=0|"
    );
    assert_eq!(
        reject_body("FIX.4.2", InvalidTagNumber),
        "128=JCD|45=2|58=Invalid tag number|371=999|372=0|373=0|"
    );
    // Before FIX.4.2 the tag goes in the Text.
    assert_eq!(
        reject_body("FIX.4.1", InvalidTagNumber),
        "128=JCD|45=2|58=Invalid tag number (999)|"
    );
}

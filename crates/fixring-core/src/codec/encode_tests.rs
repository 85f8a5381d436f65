use super::*;
use crate::codec::test_util::{message, wire};
use crate::codec::{Decoded, FieldWriter, Framer, Message, Tag, msg_type, tags};

/// 2026-11-25T23:59:58.123Z.
const NOW: UtcTimestamp = UtcTimestamp::from_unix_millis(1_795_651_198_123);

fn header(msg_seq_num: u64) -> Header<'static> {
    Header {
        begin_string: "FIX.4.4",
        msg_type: msg_type::NEW_ORDER_SINGLE,
        sender_comp_id: "CLIENT12",
        target_comp_id: "EXCHANGE",
        msg_seq_num,
        sending_time: NOW,
        poss_dup: false,
        orig_sending_time: None,
        ..Default::default()
    }
}

#[test]
fn encodes_the_same_bytes_as_a_hand_built_message() {
    let body = wire("11=ORD-1|55=MSFT|54=1|38=100|");
    let mut out = [0u8; 256];
    let len = encode(&header(7), &body, &mut out).unwrap();
    let expected = message(
        "FIX.4.4",
        "35=D|34=7|49=CLIENT12|52=20261125-23:59:58.123|56=EXCHANGE|\
         11=ORD-1|55=MSFT|54=1|38=100|",
    );
    assert_eq!(&out[..len], &expected[..]);
}

#[test]
fn encoded_message_frames_and_parses_back() {
    let mut body_buf = [0u8; 128];
    let mut body = FieldWriter::new(&mut body_buf);
    body.field_str(11, "ORD-20261125-000017").unwrap();
    body.field_str(55, "MSFT").unwrap();
    body.field(54, b"1").unwrap();
    body.field_u64(38, 1500).unwrap();
    body.field(44, b"101.25").unwrap();

    let mut h = header(u64::MAX);
    h.poss_dup = true;
    h.orig_sending_time = Some(UtcTimestamp::from_unix_millis(0));
    let mut out = [0u8; 512];
    let len = encode(&h, body.as_bytes(), &mut out).unwrap();
    assert_eq!(
        Framer::default().decode(&out[..len + 5]),
        Decoded::Message { len }
    );

    let msg = Message::parse(&out[..len]).unwrap();
    let fields: Vec<(Tag, Vec<u8>)> = msg.fields().map(|(t, v)| (t, v.to_vec())).collect();
    let expected: Vec<(Tag, &[u8])> = vec![
        (8, b"FIX.4.4"),
        (9, fields[1].1.as_slice()),
        (35, b"D"),
        (34, b"18446744073709551615"),
        (43, b"Y"),
        (49, b"CLIENT12"),
        (52, b"20261125-23:59:58.123"),
        (56, b"EXCHANGE"),
        (122, b"19700101-00:00:00.000"),
        (11, b"ORD-20261125-000017"),
        (55, b"MSFT"),
        (54, b"1"),
        (38, b"1500"),
        (44, b"101.25"),
        (10, fields[14].1.as_slice()),
    ];
    let expected: Vec<(Tag, Vec<u8>)> =
        expected.into_iter().map(|(t, v)| (t, v.to_vec())).collect();
    assert_eq!(fields, expected);
    assert_eq!(msg.get_u64(tags::MSG_SEQ_NUM), Ok(Some(u64::MAX)));
}

#[test]
fn too_small_output_reports_the_required_size() {
    let body = wire("58=hello|");
    let mut big = [0u8; 256];
    let len = encode(&header(1), &body, &mut big).unwrap();
    let mut small = vec![0u8; len - 1];
    assert_eq!(
        encode(&header(1), &body, &mut small),
        Err(InsufficientSize { required: len })
    );
    let mut exact = vec![0u8; len];
    assert_eq!(encode(&header(1), &body, &mut exact), Ok(len));
    assert_eq!(&exact[..], &big[..len]);
}

#[test]
fn body_length_digit_count_grows_correctly() {
    // Bodies around the 99/100 and 999/1000 BodyLength boundaries.
    for filler in 0..1100 {
        let body = wire(&format!("58={}|", "x".repeat(filler + 1)));
        let mut out = vec![0u8; 2048];
        let len = encode(&header(3), &body, &mut out).unwrap();
        assert_eq!(
            Framer::default().decode(&out[..len]),
            Decoded::Message { len },
            "filler {filler}"
        );
    }
}

#[test]
fn optional_header_fields_and_precision_frame_and_parse_back() {
    let header = Header {
        sender_sub_id: "DESK",
        target_location_id: "NY",
        poss_dup: true,
        orig_sending_time: Some(UtcTimestamp::from_unix_nanos(1_795_651_198_000_000_007)),
        last_msg_seq_num_processed: Some(41),
        precision: crate::TimestampPrecision::Nanos,
        sending_time: UtcTimestamp::from_unix_nanos(1_795_651_198_123_456_789),
        ..header(7)
    };
    let mut out = [0u8; 256];
    let len = encode(&header, &wire("11=A|"), &mut out).unwrap();
    let expected = message(
        "FIX.4.4",
        "35=D|34=7|43=Y|49=CLIENT12|50=DESK|52=20261125-23:59:58.123456789|56=EXCHANGE|\
         122=20261125-23:59:58.000000007|143=NY|369=41|11=A|",
    );
    assert_eq!(&out[..len], &expected[..]);
    assert_eq!(
        Framer::default().decode(&out[..len]),
        Decoded::Message { len }
    );
}

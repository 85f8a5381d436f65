use super::*;
use crate::codec::test_util::{message, new_order_single, wire};

fn decode(buf: &[u8]) -> Decoded {
    Framer::default().decode(buf)
}

fn invalid(buf: &[u8]) -> (usize, DecodeError) {
    match decode(buf) {
        Decoded::Invalid { discard, error } => (discard, error),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn frames_a_quickfix_style_message() {
    let msg = new_order_single();
    // Checked by hand against the layout: BodyLength counts from 35= through the SOH before 10=.
    let body_start = msg.windows(4).position(|w| w == b"\x0135=").unwrap() + 1;
    let body_end = msg.windows(4).position(|w| w == b"\x0110=").unwrap() + 1;
    let declared = std::str::from_utf8(&msg[12..body_start - 1]).unwrap();
    assert_eq!(declared.parse::<usize>().unwrap(), body_end - body_start);
    assert_eq!(decode(&msg), Decoded::Message { len: msg.len() });
}

#[test]
fn accepts_every_begin_string_form() {
    for begin in ["FIX.4.2", "FIX.4.4", "FIX.5.0", "FIXT.1.1"] {
        let msg = message(begin, "35=0|");
        assert_eq!(decode(&msg), Decoded::Message { len: msg.len() }, "{begin}");
    }
}

#[test]
fn partial_input_at_every_split_point_is_incomplete() {
    let msg = new_order_single();
    for split in 0..msg.len() {
        assert_eq!(
            decode(&msg[..split]),
            Decoded::Incomplete,
            "split at {split}"
        );
    }
}

#[test]
fn several_messages_in_one_buffer() {
    let first = new_order_single();
    let second = message("FIXT.1.1", "35=0|34=2|49=A|52=20261125-00:00:00.000|56=B|");
    let mut buf = first.clone();
    buf.extend_from_slice(&second);
    buf.extend_from_slice(&first[..10]);
    assert_eq!(decode(&buf), Decoded::Message { len: first.len() });
    let rest = &buf[first.len()..];
    assert_eq!(decode(rest), Decoded::Message { len: second.len() });
    assert_eq!(decode(&rest[second.len()..]), Decoded::Incomplete);
}

#[test]
fn garbage_before_a_message_resynchronises() {
    let msg = new_order_single();
    let mut buf = b"\r\nnoise 8=F 88=FIX?".to_vec();
    let garbage_len = buf.len();
    buf.extend_from_slice(&msg);
    let mut at = 0;
    let mut errors = 0;
    loop {
        match decode(&buf[at..]) {
            Decoded::Invalid { discard, error } => {
                assert!(discard > 0);
                assert!(matches!(
                    error,
                    DecodeError::Garbage | DecodeError::BadBeginString
                ));
                at += discard;
                errors += 1;
            }
            Decoded::Message { len } => {
                assert_eq!((at, len), (garbage_len, msg.len()));
                break;
            }
            Decoded::Incomplete => panic!("stuck at {at}"),
        }
    }
    assert!(errors <= 3, "re-synchronising took {errors} steps");
}

#[test]
fn garbage_keeps_a_possible_message_start_at_the_end() {
    assert_eq!(invalid(b"xyz8=FI"), (3, DecodeError::Garbage));
    assert_eq!(invalid(b"xyz8"), (3, DecodeError::Garbage));
    assert_eq!(invalid(b"xyz8=FIX"), (3, DecodeError::Garbage));
    assert_eq!(invalid(b"xyz"), (3, DecodeError::Garbage));
    assert_eq!(invalid(b"x"), (1, DecodeError::Garbage));
    assert_eq!(invalid(b"88=FIX"), (1, DecodeError::Garbage));
}

#[test]
fn bad_begin_string() {
    for bad in [
        "8=FOO|",
        "8=FIX.4|",
        "8=FIX.x.4|",
        "8=FIXT.1.2|",
        "8=FIX.4.4x|",
    ] {
        let (discard, error) = invalid(&wire(bad));
        assert_eq!(error, DecodeError::BadBeginString, "{bad}");
        assert!(discard > 0);
    }
    // A begin string that can still become valid is incomplete, not an error.
    assert_eq!(decode(b"8=FIXT.1"), Decoded::Incomplete);
    // The next message start is kept.
    let mut buf = wire("8=FOO|");
    buf.extend_from_slice(&new_order_single());
    assert_eq!(invalid(&buf), (6, DecodeError::BadBeginString));
}

#[test]
fn bad_body_length() {
    let cases = [
        "8=FIX.4.4|35=D|",             // missing
        "8=FIX.4.4|9=|35=D|",          // empty
        "8=FIX.4.4|9=1x|35=D|",        // non-numeric
        "8=FIX.4.4|9=12 |35=D|",       // not followed by SOH
        "8=FIX.4.4|9=1234567890|",     // too many digits
        "8=FIX.4.4|9=4|35=D|10=000|",  // 10= not where BodyLength says
        "8=FIX.4.4|9=6|35=D|X10=000|", // 10= in place, but no SOH before it
    ];
    for case in cases {
        let (discard, error) = invalid(&wire(case));
        assert_eq!(error, DecodeError::BadBodyLength, "{case}");
        assert_eq!(discard, wire(case).len(), "{case}");
    }
    assert_eq!(decode(&wire("8=FIX.4.4|9=12")), Decoded::Incomplete);
}

#[test]
fn too_large_is_reported_before_the_bytes_arrive() {
    let framer = Framer::new(100);
    let buf = wire("8=FIX.4.4|9=500|35=D|");
    assert_eq!(
        framer.decode(&buf),
        Decoded::Invalid {
            discard: buf.len(),
            error: DecodeError::TooLarge {
                length: 16 + 500 + 7,
                max: 100
            },
        }
    );
    let msg = new_order_single();
    let exact = Framer::new(msg.len());
    assert_eq!(exact.decode(&msg), Decoded::Message { len: msg.len() });
    let (_, error) = match Framer::new(msg.len() - 1).decode(&msg) {
        Decoded::Invalid { discard, error } => (discard, error),
        other => panic!("{other:?}"),
    };
    assert!(matches!(error, DecodeError::TooLarge { .. }));
}

#[test]
fn bad_checksum_discards_the_message() {
    let mut msg = new_order_single();
    let n = msg.len();
    // The trailer is `10=HTU<SOH>`.
    let digits = std::str::from_utf8(&msg[n - 4..n - 1]).unwrap();
    let declared: u16 = digits.parse().unwrap();
    // Change one body byte: the checksum no longer matches.
    let symbol = msg.windows(7).position(|w| w == b"55=MSFT").unwrap();
    msg[symbol + 3] = b'N';
    let computed = (declared as u8).wrapping_add(1);
    assert_eq!(
        invalid(&msg),
        (n, DecodeError::BadChecksum { declared, computed })
    );
}

#[test]
fn malformed_checksum() {
    let msg = new_order_single();
    let n = msg.len();
    for (at, byte) in [(n - 4, b'x'), (n - 1, b'|'), (n - 2, b' ')] {
        let mut bad = msg.clone();
        bad[at] = byte;
        let (discard, error) = invalid(&bad);
        assert_eq!(error, DecodeError::MalformedChecksum);
        assert!(discard > 0 && discard <= n);
    }
}

#[test]
fn errors_say_why() {
    assert_eq!(
        DecodeError::BadChecksum {
            declared: 12,
            computed: 200
        }
        .to_string(),
        "CheckSum(10) does not match the message: declared 012, computed 200"
    );
    assert_eq!(
        DecodeError::TooLarge {
            length: 70_000,
            max: 65_536
        }
        .to_string(),
        "message exceeds the maximum size: 70000 bytes, limit 65536"
    );
    assert!(DecodeError::Garbage.to_string().contains("8="));
    assert_eq!(DecodeError::BadBodyLength.code(), ErrorCode::ConnectionLost);
    assert_eq!(Framer::default().max_message_size(), 64 * 1024);
}

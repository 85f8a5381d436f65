use super::*;
use crate::codec::msg_type;
use crate::codec::tags;
use crate::codec::test_util::{message, new_order_single, wire};

#[test]
fn parses_a_quickfix_style_message() {
    let frame = new_order_single();
    let msg = Message::parse(&frame).unwrap();
    assert_eq!(msg.begin_string(), b"FIX.4.4");
    assert_eq!(msg.msg_type(), msg_type::NEW_ORDER_SINGLE);
    assert_eq!(msg.get(tags::SENDER_COMP_ID), Some(&b"CLIENT12"[..]));
    assert_eq!(msg.get(55), Some(&b"MSFT"[..]));
    assert_eq!(msg.get(44), Some(&b"101.25"[..]));
    assert_eq!(msg.get(9999), None);
    assert_eq!(msg.get_u64(tags::MSG_SEQ_NUM), Ok(Some(215)));
    assert_eq!(msg.msg_seq_num(), Ok(Some(215)));
    assert_eq!(msg.sender_comp_id(), Some(&b"CLIENT12"[..]));
    assert_eq!(msg.target_comp_id(), Some(&b"EXCHANGE"[..]));
    assert_eq!(msg.sending_time(), Some(&b"20261125-23:59:58.123"[..]));
    assert_eq!(msg.get(tags::TARGET_COMP_ID), msg.target_comp_id());
    assert_eq!(msg.get_u64(tags::TEXT), Ok(None));
    assert_eq!(
        msg.get_u64(tags::SENDING_TIME),
        Err(ParseError::BadInteger {
            tag: tags::SENDING_TIME
        })
    );
    assert_eq!(msg.as_bytes(), &frame[..]);

    let tags_in_order: Vec<Tag> = msg.fields().map(|(tag, _)| tag).collect();
    assert_eq!(
        tags_in_order,
        [
            8, 9, 35, 34, 49, 52, 56, 1, 11, 21, 38, 40, 44, 54, 55, 59, 60, 10
        ]
    );
}

#[test]
fn get_returns_the_first_occurrence() {
    let frame = message("FIX.4.4", "35=8|58=first|34=1|58=second|34=2|");
    let msg = Message::parse(&frame).unwrap();
    assert_eq!(msg.get(tags::TEXT), Some(&b"first"[..]));
    assert_eq!(msg.msg_seq_num(), Ok(Some(1)));
    assert_eq!(msg.sender_comp_id(), None);
    assert_eq!(msg.get(tags::SENDER_COMP_ID), None);
}

#[test]
fn rejects_malformed_structure() {
    let cases: [(&str, ParseError); 9] = [
        (
            "",
            ParseError::MisplacedField {
                expected: 8,
                offset: 0,
            },
        ),
        (
            "9=5|8=FIX.4.4|35=0|10=000|",
            ParseError::MisplacedField {
                expected: 8,
                offset: 0,
            },
        ),
        (
            "8=FIX.4.4|35=0|9=5|10=000|",
            ParseError::MisplacedField {
                expected: 9,
                offset: 10,
            },
        ),
        (
            "8=FIX.4.4|9=5|34=1|35=0|10=000|",
            ParseError::MisplacedField {
                expected: 35,
                offset: 14,
            },
        ),
        (
            "8=FIX.4.4|9=5|35=0|34=1|",
            ParseError::MisplacedField {
                expected: 10,
                offset: 24,
            },
        ),
        (
            "8=FIX.4.4|9=5|35=0|=1|10=000|",
            ParseError::BadTag { offset: 19 },
        ),
        (
            "8=FIX.4.4|9=5|35=0|0=1|10=000|",
            ParseError::BadTag { offset: 19 },
        ),
        (
            "8=FIX.4.4|9=5|35=0|58=|10=000|",
            ParseError::EmptyValue {
                tag: 58,
                offset: 19,
            },
        ),
        (
            "8=FIX.4.4|9=5|35=0|10=000",
            ParseError::Unterminated {
                tag: 10,
                offset: 19,
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Message::parse(&wire(text)), Err(expected), "{text}");
    }
    for bad_tag in ["5x=1|", "4294967296=1|", "12|", "1 =1|"] {
        let text = format!("8=FIX.4.4|9=5|35=0|{bad_tag}10=000|");
        assert_eq!(
            Message::parse(&wire(&text)),
            Err(ParseError::BadTag { offset: 19 }),
            "{text}"
        );
    }
}

#[test]
fn parse_errors_say_why() {
    assert_eq!(
        ParseError::EmptyValue {
            tag: 58,
            offset: 19
        }
        .to_string(),
        "field has an empty value: tag 58 at offset 19"
    );
    assert_eq!(
        ParseError::BadInteger { tag: 34 }.to_string(),
        "field value is not an unsigned integer: tag 34"
    );
}

#[test]
fn eq_mask_is_exact_for_every_byte_pair() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            // Lane 3 holds the pair; the lanes around it hold values that provoke carries.
            let word = u64::from_le_bytes([0x00, 0xff, 0x80, a, 0x7f, b, 0x01, 0xfe]);
            let mask = eq_mask(word, splat(b));
            let lanes = mask.to_le_bytes();
            assert_eq!(lanes[3] == 0x80, a == b, "{a} {b}");
            assert_eq!(lanes[5], 0x80);
            for (i, lane) in lanes.iter().enumerate() {
                assert!(*lane == 0 || *lane == 0x80, "lane {i}");
            }
        }
    }
}

#[test]
fn lookups_find_fields_at_every_alignment() {
    for pad in 0..16 {
        let body = format!("35=0|58={}|7=x|123=Y|7777777=long|", "p".repeat(pad + 1));
        let frame = message("FIX.4.4", &body);
        let msg = Message::parse(&frame).unwrap();
        assert_eq!(msg.get(7), Some(&b"x"[..]), "pad {pad}");
        assert_eq!(msg.get(123), Some(&b"Y"[..]));
        assert_eq!(msg.get(7_777_777), Some(&b"long"[..]));
        assert_eq!(msg.get(77), None);
        assert_eq!(msg.get(10), frame.get(frame.len() - 4..frame.len() - 1));
    }
}

#[test]
fn parse_for_validation_admits_empty_values_and_tags_zero_or_negative() {
    for body in ["35=0|34=2|56=|", "35=0|34=2|0=HI|", "35=0|34=2|-1=HI|"] {
        let frame = message("FIX.4.4", body);
        assert!(Message::parse(&frame).is_err(), "{body}");
        let msg = Message::parse_for_validation(&frame).expect(body);
        assert_eq!(msg.fields().count(), 6, "{body}");
    }
    let frame = message("FIX.4.4", "35=0|34=2|56=|");
    let msg = Message::parse_for_validation(&frame).expect("parses");
    assert_eq!(msg.get(tags::TARGET_COMP_ID), Some(&b""[..]));
    for body in ["35=0|34=2|=HI|", "35=0|34=2|-=HI|", "35=0|34=2|x=HI|"] {
        let frame = message("FIX.4.4", body);
        assert!(Message::parse_for_validation(&frame).is_err(), "{body}");
    }
}

#[test]
fn lookups_past_the_indexed_fields_scan_the_frame() {
    // Forty body fields 1001..=1040, then a repeat of 1002 and one of 1035: the first 32
    // fields (8, 9, 35 and 29 of the body) are indexed, the rest are found by scanning.
    let mut body = String::from("35=0|");
    for tag in 1001..=1040 {
        body.push_str(&format!("{tag}=v{tag}|"));
    }
    body.push_str("1002=again|1035=again|");
    let frame = message("FIX.4.4", &body);
    let msg = Message::parse(&frame).unwrap();
    for tag in 1001..=1040 {
        let value = format!("v{tag}");
        assert_eq!(msg.get(tag), Some(value.as_bytes()), "tag {tag}");
    }
    assert_eq!(msg.get(9), frame.get(12..15));
    assert_eq!(msg.get(1041), None);
    assert_eq!(msg.get(10), frame.get(frame.len() - 4..frame.len() - 1));
    let empty = message("FIX.4.4", "35=0|34=2|0=zero|-1=negative|58=|");
    let msg = Message::parse_for_validation(&empty).unwrap();
    assert_eq!(msg.get(0), Some(&b"zero"[..]));
    assert_eq!(msg.get(tags::TEXT), Some(&b""[..]));
    assert_eq!(msg.get(1), None);
}

#[test]
fn lookups_in_a_frame_over_64_kib_scan_it() {
    let body = format!("35=0|58={}|1001=x|", "t".repeat(70_000));
    let frame = message("FIX.4.4", &body);
    let msg = Message::parse(&frame).unwrap();
    assert_eq!(msg.get(1001), Some(&b"x"[..]));
    assert_eq!(msg.get(tags::TEXT).map(<[u8]>::len), Some(70_000));
    assert_eq!(msg.get(0), None);
    assert_eq!(msg.get(1002), None);
}

#[test]
fn the_one_pass_parse_agrees_with_the_field_by_field_one() {
    let frames = [
        new_order_single(),
        message("FIX.4.2", "35=0|34=1|49=A|52=20261125-23:59:58|56=B|"),
        message("FIXT.1.1", "35=A|1128=9|34=1|49=A|56=B|98=0|108=30|"),
        message("FIX.4.4", "35=D|0001=x|123456789=y|58=a=b=c|"),
        // Tags with leading zeros, of every length the one pass matches at once.
        message("FIX.4.4", "35=D|01=x|001=y|09=z|1=a|12=b|123=c|"),
        // The header in another order, twice, and with fields between.
        message("FIX.4.4", "35=0|56=B|43=Y|34=1|49=A|34=2|52=T|56=C|"),
        // More fields than the index holds.
        message(
            "FIX.4.4",
            &(100..140).fold("35=D|".to_owned(), |body, tag| body + &format!("{tag}=v|")),
        ),
        // ... with header fields past the index only.
        message(
            "FIX.4.4",
            &((100..140).fold("35=D|".to_owned(), |body, tag| body + &format!("{tag}=v|"))
                + "34=7|49=A|52=T|56=B|"),
        ),
    ];
    // Every frame, and every frame with one byte replaced by one the parse treats specially
    // (NUL among them: the one pass may take one right after an SOH for another), or cut
    // short.
    let specials = [0x00, 0x01, b'=', b'0', b'1', b'9', b'a', b'-', 0xff];
    for frame in &frames {
        let mut variants = vec![frame.clone()];
        for at in 0..frame.len() {
            for byte in specials {
                let mut variant = frame.clone();
                variant[at] = byte;
                variants.push(variant);
            }
            variants.push(frame[..at].to_vec());
        }
        for variant in &variants {
            let by_field = Message::parse_field_by_field(variant, Strictness::Strict);
            assert_eq!(
                Message::parse(variant),
                by_field,
                "{:?}",
                String::from_utf8_lossy(variant)
            );
            // The one pass never accepts what the field-by-field parse rejects.
            if let Some(one_pass) = one_pass(variant) {
                assert_eq!(Ok(one_pass), by_field);
            }
        }
    }
    // It does the parse but where fields past the index may hold a header field's first
    // occurrence: more than 32 fields and not all four header fields among them.
    let gave_up: Vec<bool> = frames
        .iter()
        .map(|frame| one_pass(frame).is_none())
        .collect();
    assert_eq!(
        gave_up,
        [false, false, false, false, false, false, true, true]
    );
}

/// What the one pass makes of `frame`, or `None` if it leaves the frame to the
/// field-by-field parse.
fn one_pass(frame: &[u8]) -> Option<Message<'_>> {
    let mut message = Message::empty(frame);
    message.index_well_formed()?;
    Some(message)
}

#[test]
fn the_one_pass_parse_agrees_at_every_alignment() {
    // Short fields, a NUL-filled value and SOHs close together, shifted through two words.
    for pad in 0..24 {
        let body = format!(
            "35=0|58={}|1=a|22=bb|333=c|4444=d|55=\0\0|6=x|",
            "p".repeat(pad + 1)
        );
        let frame = message("FIX.4.4", &body);
        let parsed = one_pass(&frame).map(Ok);
        assert_eq!(
            parsed,
            Some(Message::parse_field_by_field(&frame, Strictness::Strict)),
            "pad {pad}"
        );
        // The same with NULs right after an SOH, where a tag should start.
        let mut broken = frame.clone();
        let at = broken.windows(3).position(|w| w == b"\x011=").unwrap() + 1;
        broken[at] = 0;
        broken[at + 1] = 0;
        assert!(one_pass(&broken).is_none(), "pad {pad}");
        assert_eq!(
            Message::parse(&broken),
            Err(ParseError::BadTag { offset: at }),
            "pad {pad}"
        );
    }
}

#[test]
fn the_one_pass_parse_agrees_on_frames_over_64_kib() {
    let frame = message("FIX.4.4", &format!("35=0|34=1|58={}|", "t".repeat(70_000)));
    assert!(one_pass(&frame).is_none());
    let msg = Message::parse(&frame).unwrap();
    assert_eq!(
        msg,
        Message::parse_field_by_field(&frame, Strictness::Strict).unwrap()
    );
    assert_eq!(msg.msg_seq_num(), Ok(Some(1)));
    assert_eq!(msg.recorded_fields().0, &[] as &[Tag]);
}

#[test]
fn digits_then_equals_is_exact_for_every_byte() {
    for digits in 1..=3u32 {
        for at in 0..4usize {
            for byte in 0..=255u8 {
                let mut bytes = *b"579=";
                bytes[digits as usize] = b'=';
                bytes[at] = byte;
                let expected = bytes[..digits as usize].iter().all(u8::is_ascii_digit)
                    && bytes[digits as usize] == b'=';
                assert_eq!(
                    digits_then_equals(u32::from_le_bytes(bytes), digits),
                    expected,
                    "{digits} digits, {byte:#04x} at {at}"
                );
            }
        }
    }
}

//! Property tests of the codec: stream reassembly, garbage, mutations.

use fixring_core::UtcTimestamp;
use fixring_core::codec::{Decoded, FieldWriter, Framer, Header, Message, encode};
use proptest::collection::vec;
use proptest::prelude::*;

/// One message's varying parts: sequence number, comp IDs and body fields.
#[derive(Clone, Debug)]
struct Spec {
    seq: u64,
    sender: String,
    target: String,
    poss_dup: bool,
    body: Vec<(u32, String)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<u64>(),
        "[A-Z0-9]{1,12}",
        "[A-Z0-9]{1,12}",
        any::<bool>(),
        vec((1u32..100_000, "[ -~]{1,40}"), 0..12),
    )
        .prop_map(|(seq, sender, target, poss_dup, body)| Spec {
            seq,
            sender,
            target,
            poss_dup,
            body,
        })
}

fn encode_spec(spec: &Spec) -> Vec<u8> {
    let mut body_buf = vec![0u8; 4096];
    let mut body = FieldWriter::new(&mut body_buf);
    for (tag, value) in &spec.body {
        body.field_str(*tag, value).unwrap();
    }
    let header = Header {
        begin_string: "FIX.4.4",
        msg_type: b"D",
        sender_comp_id: &spec.sender,
        target_comp_id: &spec.target,
        msg_seq_num: spec.seq,
        sending_time: UtcTimestamp::from_unix_millis(spec.seq % 4_000_000_000_000),
        poss_dup: spec.poss_dup,
        orig_sending_time: spec.poss_dup.then(|| UtcTimestamp::from_unix_millis(0)),
        ..Default::default()
    };
    let mut out = vec![0u8; 8192];
    let len = encode(&header, body.as_bytes(), &mut out).unwrap();
    out.truncate(len);
    out
}

/// `Message::get` agrees with a search of `Message::fields` for every tag present and a few
/// absent ones.
fn check_lookups(msg: &Message<'_>) {
    let fields: Vec<(u32, &[u8])> = msg.fields().collect();
    for tag in fields.iter().map(|&(tag, _)| tag).chain([1, 99, 12_345, 0]) {
        let first = fields.iter().find(|&&(t, _)| t == tag).map(|&(_, v)| v);
        assert_eq!(msg.get(tag), first, "tag {tag}");
    }
}

/// What a caller looping on `decode` over `stream` sees.
#[derive(Debug, Default)]
struct Outcome {
    messages: Vec<Vec<u8>>,
    errors: usize,
    /// Bytes left over, incomplete, once the whole stream was delivered.
    left: usize,
}

/// Feeds `stream` to the framer in the chunks `cuts` delimits, as a receive loop would.
fn run(framer: &Framer, stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut outcome = Outcome::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (stream.len() + 1)).collect();
    bounds.push(stream.len());
    bounds.sort_unstable();
    let mut delivered = 0;
    for end in bounds {
        buf.extend_from_slice(&stream[delivered..end]);
        delivered = end;
        loop {
            match framer.decode(&buf) {
                Decoded::Message { len } => {
                    assert!(len > 0 && len <= buf.len());
                    outcome.messages.push(buf.drain(..len).collect());
                }
                Decoded::Invalid { discard, .. } => {
                    assert!(discard > 0 && discard <= buf.len(), "no progress");
                    buf.drain(..discard);
                    outcome.errors += 1;
                }
                Decoded::Incomplete => break,
            }
        }
    }
    outcome.left = buf.len();
    outcome
}

proptest! {
    #[test]
    fn random_splits_reassemble_the_same_messages(
        specs in vec(spec(), 1..8),
        cuts in vec(any::<usize>(), 0..20),
    ) {
        let messages: Vec<Vec<u8>> = specs.iter().map(encode_spec).collect();
        let stream = messages.concat();
        let outcome = run(&Framer::default(), &stream, &cuts);
        prop_assert_eq!(outcome.errors, 0);
        prop_assert_eq!(outcome.left, 0);
        prop_assert_eq!(&outcome.messages, &messages);
        for (framed, spec) in outcome.messages.iter().zip(&specs) {
            let msg = Message::parse(framed).unwrap();
            check_lookups(&msg);
            prop_assert_eq!(msg.get_u64(34).unwrap(), Some(spec.seq));
            prop_assert_eq!(msg.get(49), Some(spec.sender.as_bytes()));
            // Header fields 8, 9, 35, 49, 56, 34, 52 (then 43, 122), body, CheckSum.
            let fields: Vec<(u32, &[u8])> = msg.fields().collect();
            let header = 7 + 2 * usize::from(spec.poss_dup);
            let body = &fields[header..fields.len() - 1];
            let expected: Vec<(u32, &[u8])> =
                spec.body.iter().map(|(t, v)| (*t, v.as_bytes())).collect();
            prop_assert_eq!(body, &expected[..]);
        }
    }

    #[test]
    fn garbage_never_panics_and_always_progresses(
        bytes in vec(any::<u8>(), 0..600),
        cuts in vec(any::<usize>(), 0..8),
        max in 1usize..1000,
    ) {
        let framer = Framer::new(max);
        let outcome = run(&framer, &bytes, &cuts);
        // Whatever remains could still begin a message no longer than the limit.
        prop_assert!(outcome.left <= max.max(32));
        for framed in &outcome.messages {
            let _ = Message::parse(framed);
        }
    }

    #[test]
    fn garbage_around_valid_messages_resynchronises(
        specs in vec(spec(), 1..5),
        noise in vec(vec(any::<u8>().prop_filter("no 8", |&b| b != b'8'), 0..50), 5),
        cuts in vec(any::<usize>(), 0..10),
    ) {
        let messages: Vec<Vec<u8>> = specs.iter().map(encode_spec).collect();
        let mut stream = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            stream.extend_from_slice(&noise[i % noise.len()]);
            stream.extend_from_slice(message);
        }
        let outcome = run(&Framer::default(), &stream, &cuts);
        prop_assert_eq!(&outcome.messages, &messages);
    }

    #[test]
    fn mutations_never_panic_and_always_progress(
        specs in vec(spec(), 1..4),
        mutations in vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in vec(any::<usize>(), 0..10),
    ) {
        let mut stream: Vec<u8> = specs.iter().flat_map(encode_spec).collect();
        let len = stream.len();
        for (at, byte) in mutations {
            stream[at % len] = byte;
        }
        let outcome = run(&Framer::default(), &stream, &cuts);
        for framed in &outcome.messages {
            if let Ok(msg) = Message::parse(framed) {
                check_lookups(&msg);
                let _ = msg.get_u64(34);
            }
        }
    }

    #[test]
    fn parse_never_panics(bytes in vec(any::<u8>(), 0..300)) {
        if let Ok(msg) = Message::parse(&bytes) {
            prop_assert_eq!(msg.fields().last().map(|(tag, _)| tag), Some(10));
            check_lookups(&msg);
        }
    }
}

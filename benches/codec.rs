//! Criterion benches of the FIX codec's hot path: framing with CheckSum verification,
//! parsing with a few lookups, and encoding a NewOrderSingle.
//!
//! Run with `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixring_core::UtcTimestamp;
use fixring_core::codec::{Decoded, FieldWriter, Framer, Header, Message, encode, msg_type, tags};

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

/// The body of a realistic NewOrderSingle, encoded once.
fn new_order_body(buf: &mut [u8]) -> usize {
    let mut body = FieldWriter::new(buf);
    let fields: [(u32, &[u8]); 10] = [
        (1, b"ACCT-0042"),              // Account
        (11, b"ORD-20261125-000017"),   // ClOrdID
        (21, b"1"),                     // HandlInst
        (38, b"1500"),                  // OrderQty
        (40, b"2"),                     // OrdType: limit
        (44, b"101.25"),                // Price
        (54, b"1"),                     // Side: buy
        (55, b"MSFT"),                  // Symbol
        (59, b"0"),                     // TimeInForce: day
        (60, b"20261125-23:59:58.120"), // TransactTime
    ];
    for (tag, value) in fields {
        body.field(tag, value).expect("body fits");
    }
    body.len()
}

fn codec(c: &mut Criterion) {
    let mut body_buf = [0u8; 256];
    let body_len = new_order_body(&mut body_buf);
    let body = &body_buf[..body_len];
    let mut wire = [0u8; 512];
    let len = encode(&header(123_456), body, &mut wire).expect("message fits");
    let message = &wire[..len];
    let framer = Framer::default();
    assert_eq!(framer.decode(message), Decoded::Message { len });

    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Bytes(len as u64));
    println!("NewOrderSingle: {len} bytes");

    group.bench_function("frame_new_order_single", |b| {
        b.iter(|| framer.decode(black_box(message)))
    });

    group.bench_function("parse_new_order_single", |b| {
        b.iter(|| Message::parse(black_box(message)))
    });

    group.bench_function("parse_and_lookup_new_order_single", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(message)).expect("valid");
            (
                msg.msg_type(),
                msg.get_u64(tags::MSG_SEQ_NUM),
                msg.get(11),
                msg.get(55),
                msg.get(44),
            )
        })
    });

    group.bench_function("frame_parse_and_lookup_new_order_single", |b| {
        b.iter(|| {
            let Decoded::Message { len } = framer.decode(black_box(message)) else {
                unreachable!("framed above")
            };
            let msg = Message::parse(&message[..len]).expect("valid");
            (msg.get_u64(tags::MSG_SEQ_NUM), msg.get(55))
        })
    });

    let mut out = [0u8; 512];
    let mut seq = 0u64;
    group.bench_function("encode_new_order_single", |b| {
        b.iter(|| {
            seq += 1;
            encode(black_box(&header(seq)), black_box(body), &mut out)
        })
    });

    let mut body_out = [0u8; 256];
    group.bench_function("field_writer_new_order_body", |b| {
        b.iter(|| new_order_body(black_box(&mut body_out)))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);

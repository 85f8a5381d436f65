//! Criterion benches of the data dictionaries: loading QuickFIX's FIX50SP2.xml, validating a
//! NewOrderSingle against FIX44.xml (the cost validation adds to a message already parsed,
//! beside the parse itself in the same run), the same alternating with a market order laid out
//! otherwise (so that neither is laid out as the last one validated), and a
//! MarketDataSnapshotFullRefresh (35=W) of 10, 100 and 1,000 group entries, whose time per
//! entry stays flat.
//!
//! That validating allocates nothing is checked by a test with a counting allocator
//! (`crates/fixring-core/tests/dictionary_allocations.rs`).
//!
//! Run with `cargo bench --bench dictionary -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fixring_core::codec::Message;
use fixring_core::dictionary::{Dictionaries, Dictionary, ValidationOptions, Validator};

fn dictionaries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/dictionaries")
}

fn load(file: &str) -> Dictionary {
    Dictionary::load(&dictionaries_dir().join(file)).unwrap_or_else(|e| panic!("{e}"))
}

/// A whole message from `body` (`|` for SOH).
fn frame(body: &str) -> Vec<u8> {
    let body = body.replace('|', "\u{1}");
    let mut out = format!("8=FIX.4.4\u{1}9={}\u{1}{body}", body.len()).into_bytes();
    let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    out.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
    out
}

const HEADER: &str = "34=215|49=CLIENT12|52=20261125-23:59:58.123|56=EXCHANGE|";

/// A market order: no price, and the side before the order type.
fn market_order() -> Vec<u8> {
    frame(&format!(
        "35=D|{HEADER}1=ACCT-0042|11=ORD-20261125-000018|21=1|38=1500|54=2|40=1|\
         55=MSFT|59=0|60=20261125-23:59:58.121|"
    ))
}

/// The NewOrderSingle of the codec bench.
fn new_order_single() -> Vec<u8> {
    frame(&format!(
        "35=D|{HEADER}1=ACCT-0042|11=ORD-20261125-000017|21=1|38=1500|40=2|44=101.25|54=1|\
         55=MSFT|59=0|60=20261125-23:59:58.120|"
    ))
}

/// A MarketDataSnapshotFullRefresh with `entries` bid and offer entries.
fn snapshot(entries: usize) -> Vec<u8> {
    let mut body = format!("35=W|{HEADER}55=EURUSD|268={entries}|");
    for i in 0..entries {
        body.push_str(&format!("269={}|270=1.{i:04}|271=1000000|", i % 2));
    }
    frame(&body)
}

fn validator() -> Validator {
    let dictionaries = Dictionaries {
        session: Arc::new(load("FIX44.xml")),
        application: None,
        versions: Vec::new(),
    };
    Validator::new(dictionaries, ValidationOptions::default())
}

fn dictionary(c: &mut Criterion) {
    let mut group = c.benchmark_group("dictionary");
    let sp2 = dictionaries_dir().join("FIX50SP2.xml");
    group.sample_size(20);
    group.bench_function("load_fix50sp2", |b| {
        b.iter(|| Dictionary::load(black_box(&sp2)).expect("loads"))
    });
    group.sample_size(100);

    let mut validator = validator();
    let order = new_order_single();
    let msg = Message::parse(&order).expect("parses");
    assert_eq!(
        validator.validate(&msg),
        Ok(()),
        "a bench of a rejected order"
    );
    // The parse validation comes after, measured in the same run as a yardstick.
    group.bench_function("parse_new_order_single", |b| {
        b.iter(|| Message::parse(black_box(&order)).map(|m| m.msg_type().len()))
    });
    group.bench_function("validate_new_order_single", |b| {
        b.iter(|| validator.validate(black_box(&msg)))
    });
    let market = market_order();
    let market = Message::parse(&market).expect("parses");
    assert_eq!(
        validator.validate(&market),
        Ok(()),
        "a rejected market order"
    );
    let alternating = [msg, market];
    let mut next = 0;
    group.bench_function("validate_new_order_single_other_layout", |b| {
        b.iter(|| {
            next ^= 1;
            validator.validate(black_box(&alternating[next]))
        })
    });
    let heartbeat = frame(&format!("35=0|{HEADER}"));
    let msg = Message::parse(&heartbeat).expect("parses");
    assert_eq!(validator.validate(&msg), Ok(()));
    group.bench_function("validate_heartbeat", |b| {
        b.iter(|| validator.validate(black_box(&msg)))
    });
    for entries in [10, 100, 1000] {
        let wire = snapshot(entries);
        let msg = Message::parse(&wire).expect("parses");
        assert_eq!(validator.validate(&msg), Ok(()));
        group.throughput(Throughput::Elements(entries as u64));
        group.bench_with_input(
            BenchmarkId::new("validate_snapshot_entries", entries),
            &msg,
            |b, msg| b.iter(|| validator.validate(black_box(msg))),
        );
    }
    group.finish();
}

criterion_group!(benches, dictionary);
criterion_main!(benches);

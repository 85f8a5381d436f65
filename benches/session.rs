//! The session's per-message path: an application message encoded by one session, then framed,
//! parsed and checked (MsgSeqNum, CompIDs) by its peer, on a logged-on pair.
//!
//! Run with `cargo bench --bench session -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixring_core::codec::{Decoded, Framer, Message};
use fixring_core::config::{AcceptorConfig, HostConfig, InitiatorConfig, Role, SessionConfig};
use fixring_core::session::{Inbound, Session};
use fixring_core::{Instant, SessionId, UtcTimestamp, WallClock};

const ORDER: &[u8] = b"11=ORD-000123456\x011=ACCOUNT-42\x0121=1\x0155=EURUSD\x0154=1\x01\
60=20261126-00:00:00.000\x0138=1000000\x0140=2\x0144=1.08765\x0159=0\x01";

/// Delivers everything `from` has to say to `to`.
fn pump(from: &mut Session, to: &mut Session, now: Instant) {
    let mut buf = [0u8; 1024];
    while let Ok(Some(len)) = from.poll_transmit(now, &mut buf) {
        let msg = Message::parse(&buf[..len]).expect("valid");
        let _ = to.handle_message(now, &msg);
    }
}

fn logged_on_pair() -> (Session, Session) {
    let clock = WallClock::new(
        Instant::ZERO,
        UtcTimestamp::from_unix_millis(1_795_651_200_000),
    );
    let id = SessionId::new("FIX.4.4", "INIT", "ACC");
    let hosts = vec![HostConfig::new("127.0.0.1", 5001)];
    let mut initiator_config =
        SessionConfig::new(id.clone(), Role::Initiator(InitiatorConfig::new(hosts)));
    initiator_config.heartbeat_interval = Duration::from_secs(3600);
    let acceptor_role = Role::Acceptor(AcceptorConfig {
        accept_host: None,
        accept_port: 5001,
    });
    let acceptor_config = SessionConfig::new(id.reversed(), acceptor_role);
    let mut initiator = Session::new(&initiator_config, clock);
    let mut acceptor = Session::new(&acceptor_config, clock);
    initiator.connected(Instant::ZERO);
    acceptor.connected(Instant::ZERO);
    pump(&mut initiator, &mut acceptor, Instant::ZERO);
    pump(&mut acceptor, &mut initiator, Instant::ZERO);
    assert!(initiator.state().is_active() && acceptor.state().is_active());
    (initiator, acceptor)
}

fn session(c: &mut Criterion) {
    let (mut initiator, mut acceptor) = logged_on_pair();
    let framer = Framer::default();
    let mut wire = [0u8; 512];
    let now = Instant::from_secs(1);
    let len = initiator.send(now, b"D", ORDER, &mut wire).expect("sent");
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("send (encode with MsgSeqNum and SendingTime)", |b| {
        b.iter(|| black_box(initiator.send(now, b"D", black_box(ORDER), &mut wire)))
    });
    // The acceptor expects whatever the initiator numbers next.
    let next_out = acceptor.next_sender_seq();
    acceptor.set_sequence_numbers(next_out, initiator.next_sender_seq());
    group.bench_function("receive (frame, parse, check, deliver)", |b| {
        b.iter_batched_ref(
            || {
                let len = initiator.send(now, b"D", ORDER, &mut wire).expect("sent");
                wire[..len].to_vec()
            },
            |bytes| {
                let Decoded::Message { len } = framer.decode(bytes) else {
                    unreachable!()
                };
                let msg = Message::parse(&bytes[..len]).expect("valid");
                let inbound = acceptor.handle_message(now, &msg);
                assert_eq!(inbound, Inbound::Application);
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, session);
criterion_main!(benches);

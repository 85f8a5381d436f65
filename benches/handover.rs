//! Handing messages to a running engine through `SessionHandle::send` from another thread:
//! the cost per message on the sending thread while the loop drains its queue.
//!
//! The session is an initiator whose peer refuses connections, so the loop hands every
//! message back through `on_not_sent`: what is measured is the hand-over itself (the queue,
//! the wake-up of the loop), not the network. Run with
//! `cargo bench --bench handover -- --warm-up-time 1 --measurement-time 3`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixring::core::SessionId;
use fixring::core::config::Settings;
use fixring::core::session::SendError;
use fixring::{Application, Engine, HandleError, Outbound};

const ORDER: &[u8] = b"11=ORD-000123456\x0155=EURUSD\x0154=1\x0160=20261126-00:00:00.000\x01\
38=1000000\x0140=2\x0144=1.08765\x01";

/// Takes every message back without looking at it.
#[derive(Clone)]
struct Returned;

impl Application for Returned {
    fn on_not_sent(&mut self, _session: &SessionId, _msg: Outbound, _reason: SendError) {}
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    listener.local_addr().expect("bound").port()
}

fn engine(busy_poll: &str) -> Engine<Returned> {
    let text = format!(
        "[DEFAULT]\nBusyPoll={busy_poll}\nBeginString=FIX.4.4\nHeartBtInt=30\n\
         [SESSION]\nConnectionType=initiator\nSenderCompID=H\nTargetCompID=A\n\
         ReconnectInterval=30\nSocketConnectHost=127.0.0.1\nSocketConnectPort={}\n",
        closed_port()
    );
    let settings = Settings::parse(&text, None).expect("valid settings");
    let mut engine = Engine::new(settings, Returned);
    engine.start().expect("the engine starts");
    engine
}

fn handover(c: &mut Criterion) {
    let mut group = c.benchmark_group("handover");
    group.throughput(Throughput::Elements(1));
    for busy_poll in ["spin-then-park:50", "park"] {
        let mut engine = engine(busy_poll);
        let handle = engine
            .handle(&SessionId::new("FIX.4.4", "H", "A"))
            .expect("a handle");
        group.bench_function(busy_poll, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut body = Bytes::from_static(ORDER);
                    loop {
                        match handle.send(b"D", body) {
                            Ok(()) => break,
                            Err(HandleError::Full(msg)) => {
                                body = msg.body;
                                std::hint::spin_loop();
                            }
                            Err(error) => panic!("{error}"),
                        }
                    }
                }
                start.elapsed()
            });
        });
        engine.stop();
        engine.wait().expect("the engine stops");
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = handover
}
criterion_main!(benches);

//! Sealing and opening one 200-byte FIX message over an established TLS 1.3 connection, with
//! the adapter of `fixring_core::tls` on caller-owned buffers.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixring_core::tls::{TlsConnection, TlsSetup};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

const NAME: &str = "bench.example.test";
const MESSAGE_LEN: usize = 200;

/// A connected client and server: certificates from rcgen, handshake pumped in memory.
fn connected_pair() -> (TlsConnection, TlsConnection) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec![NAME.to_owned()])
        .expect("params")
        .signed_by(&key, &ca, &ca_key)
        .expect("leaf");
    let server_setup = TlsSetup::from_pem(
        Some(leaf.pem().as_bytes()),
        Some(key.serialize_pem().as_bytes()),
        None,
    )
    .expect("server setup");
    let client_setup =
        TlsSetup::from_pem(None, None, Some(ca.pem().as_bytes())).expect("client setup");
    let mut client =
        TlsConnection::client(client_setup.client_config().expect("config"), NAME).expect("client");
    let mut server =
        TlsConnection::server(server_setup.server_config().expect("config")).expect("server");

    let mut to_server = Vec::new();
    let mut to_client = Vec::new();
    let mut out = vec![0u8; 32 * 1024];
    for _ in 0..16 {
        pump(&mut client, &mut to_client, &mut to_server, &mut out);
        pump(&mut server, &mut to_server, &mut to_client, &mut out);
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    (client, server)
}

/// Feeds `inbox` to `conn` and appends what it writes to `outbox`.
fn pump(conn: &mut TlsConnection, inbox: &mut Vec<u8>, outbox: &mut Vec<u8>, out: &mut [u8]) {
    let progress = conn.process(inbox, out, &mut |_| {}).expect("handshake");
    inbox.drain(..progress.consumed);
    outbox.extend_from_slice(&out[..progress.written]);
}

fn seal_and_open(c: &mut Criterion) {
    let message = [b'x'; MESSAGE_LEN];
    let mut record = [0u8; 512];
    let mut group = c.benchmark_group("tls");
    group.throughput(Throughput::Bytes(MESSAGE_LEN as u64));
    group.bench_function("seal_200B", |b| {
        // The server never opens these records: a pair of its own.
        let (mut client, _server) = connected_pair();
        b.iter(|| {
            client
                .encrypt(&mut [], black_box(&message), &mut record)
                .expect("seal")
        })
    });
    group.bench_function("seal_and_open_200B", |b| {
        let (mut client, mut server) = connected_pair();
        let mut ignored = [0u8; 0];
        b.iter(|| {
            let len = client
                .encrypt(&mut [], black_box(&message), &mut record)
                .expect("seal");
            let mut opened = 0;
            let progress = server
                .process(&mut record[..len], &mut ignored, &mut |p| opened += p.len())
                .expect("open");
            assert_eq!((progress.consumed, opened), (len, MESSAGE_LEN));
        })
    });
    group.finish();
}

criterion_group!(benches, seal_and_open);
criterion_main!(benches);

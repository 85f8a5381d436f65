//! Helpers shared by the loopback tests.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fixring_core::config::SocketOptions;
use fixring_epoll::EpollBackend;
use fixring_io::{Backend, BackendOptions, Completion, ConnId, ListenerId};

/// Every wait of a test ends after this long at most.
pub const LIMIT: Duration = Duration::from_secs(10);

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub fn backend(options: BackendOptions) -> EpollBackend {
    EpollBackend::new(&options).expect("epoll backend")
}

/// Polls until `done` holds for one completion, returning every completion seen.
pub fn drive(
    backend: &mut EpollBackend,
    mut done: impl FnMut(&Completion) -> bool,
) -> Vec<Completion> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let mut out = Vec::new();
        backend
            .poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        let hit = out.iter().any(&mut done);
        seen.extend(out);
        if hit {
            return seen;
        }
        assert!(start.elapsed() < LIMIT, "timed out; seen {seen:?}");
    }
}

/// Listens on loopback, connects to it from the same backend, and returns
/// (listener, outbound connection, accepted connection).
pub fn pair(backend: &mut EpollBackend, options: &SocketOptions) -> (ListenerId, ConnId, ConnId) {
    let listener = backend.listen(loopback(), options).expect("listen");
    let addr = backend.local_addr(listener).expect("local addr");
    let outbound = backend
        .connect(addr, None, options, LIMIT)
        .expect("connect");
    let (mut connected, mut accepted) = (false, None);
    let seen = drive(backend, |c| {
        match c {
            Completion::Connected { conn, peer } => {
                assert_eq!(*conn, outbound);
                assert_eq!(*peer, addr);
                connected = true;
            }
            Completion::Accepted { conn, .. } => accepted = Some(*conn),
            other => panic!("unexpected {other:?}"),
        }
        connected && accepted.is_some()
    });
    assert!(!seen.is_empty());
    (listener, outbound, accepted.expect("accepted"))
}

/// Queues `bytes` on `conn` and flushes.
pub fn send(backend: &mut EpollBackend, conn: ConnId, bytes: &[u8]) {
    let mut io = backend.io(conn).expect("live connection");
    let spare = io.tx().spare();
    spare[..bytes.len()].copy_from_slice(bytes);
    io.tx().commit(bytes.len());
    backend.flush().expect("flush");
}

/// Polls until `len` bytes are received on `conn`, consuming and returning them.
pub fn receive(backend: &mut EpollBackend, conn: ConnId, len: usize) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < len {
        let mut out = Vec::new();
        backend
            .poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        if let Some(mut io) = backend.io(conn) {
            let n = io.received().len();
            got.extend_from_slice(io.received());
            io.consume(n);
        }
        backend.flush().expect("flush");
        assert!(start.elapsed() < LIMIT, "received {} of {len}", got.len());
    }
    got
}

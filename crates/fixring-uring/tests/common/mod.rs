//! Helpers shared by the backend's socket tests: every wait is bounded.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fixring_core::config::BusyPoll;
use fixring_io::{Backend, BackendOptions, Completion, ConnId};
use fixring_uring::UringBackend;

/// The longest any test waits for one event.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Options for a small backend with the given idle policy.
pub fn options(busy_poll: BusyPoll) -> BackendOptions {
    BackendOptions {
        max_connections: 16,
        buffer_size: 16 * 1024,
        busy_poll,
        sqpoll: false,
    }
}

/// A backend with `options`.
pub fn backend(options: &BackendOptions) -> UringBackend {
    match UringBackend::new(options) {
        Ok(b) => b,
        Err(e) => panic!("io_uring backend: {e}"),
    }
}

/// 127.0.0.1 on a port of the kernel's choosing.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Polls (10 ms at a time, 5 s at most) until a completion matches `pick`, which returns
/// what the test wants from it. Other completions are kept in `seen`.
pub fn wait_for<T>(
    b: &mut UringBackend,
    seen: &mut Vec<Completion>,
    mut pick: impl FnMut(&Completion) -> Option<T>,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        if let Err(e) = b.poll(Some(Duration::from_millis(10)), &mut out) {
            panic!("poll: {e}");
        }
        let mut found = None;
        for c in out.drain(..) {
            if found.is_none()
                && let Some(t) = pick(&c)
            {
                found = Some(t);
                continue;
            }
            seen.push(c);
        }
        if let Some(t) = found {
            return t;
        }
    }
    panic!("no matching completion within {DEADLINE:?}; saw {seen:?}");
}

/// Waits for `Received` on `conn` and returns every received byte so far, consuming them.
pub fn receive(b: &mut UringBackend, conn: ConnId, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut seen = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while got.len() < want {
        assert!(
            Instant::now() < deadline,
            "received {} of {want}",
            got.len()
        );
        if let Some(mut io) = b.io(conn) {
            let bytes = io.received().to_vec();
            io.consume(bytes.len());
            got.extend_from_slice(&bytes);
        }
        if let Err(e) = b.flush() {
            panic!("flush: {e}");
        }
        if got.len() >= want {
            break;
        }
        wait_for(b, &mut seen, |c| match c {
            Completion::Received { conn: c } if *c == conn => Some(()),
            _ => None,
        });
    }
    got
}

/// Commits `data` into `conn`'s send buffer (it must fit) and flushes.
pub fn send(b: &mut UringBackend, conn: ConnId, data: &[u8]) {
    let Some(mut io) = b.io(conn) else {
        panic!("connection {conn:?} is not open");
    };
    let tx = io.tx();
    let spare = tx.spare();
    assert!(spare.len() >= data.len(), "send buffer too small");
    spare[..data.len()].copy_from_slice(data);
    tx.commit(data.len());
    if let Err(e) = b.flush() {
        panic!("flush: {e}");
    }
    // The queued write is submitted by the next poll, as the engine's loop does right away.
    // Received bytes stay in the buffers for `receive`, which reads them directly.
    let mut reported = Vec::new();
    if let Err(e) = b.poll(Some(Duration::ZERO), &mut reported) {
        panic!("poll: {e}");
    }
}

/// The `Accepted` connection of the next accept.
pub fn accepted(b: &mut UringBackend) -> ConnId {
    let mut seen = Vec::new();
    wait_for(b, &mut seen, |c| match c {
        Completion::Accepted { conn, .. } => Some(*conn),
        _ => None,
    })
}

/// Connects the backend to its own listener at `addr`: (outbound, accepted).
pub fn self_pair(
    b: &mut UringBackend,
    addr: SocketAddr,
    options: &fixring_core::config::SocketOptions,
) -> (ConnId, ConnId) {
    let out_conn = match b.connect(addr, None, options, Duration::from_secs(2)) {
        Ok(c) => c,
        Err(e) => panic!("connect: {e}"),
    };
    let (mut connected, mut accepted) = (false, None);
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    while !connected || accepted.is_none() {
        assert!(Instant::now() < deadline, "no connection");
        if let Err(e) = b.poll(Some(Duration::from_millis(10)), &mut out) {
            panic!("poll: {e}");
        }
        for c in out.drain(..) {
            match c {
                Completion::Connected { conn, .. } if conn == out_conn => connected = true,
                Completion::Accepted { conn, .. } => accepted = Some(conn),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    (out_conn, accepted.unwrap_or(ConnId(u32::MAX)))
}

//! Every descriptor the backend opens is closed by shutdown and drop. Its own test binary,
//! with one test, so that no other test opens descriptors meanwhile.

mod common;

use std::fs;
use std::time::Duration;

use common::{LIMIT, backend, drive, loopback, pair, receive, send};
use fixring_core::config::SocketOptions;
use fixring_io::{Backend, BackendOptions, Completion, Wake};

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

#[test]
fn shutdown_and_drop_close_every_descriptor() {
    let before = open_fds();
    let options = SocketOptions::default();
    let mut b = backend(BackendOptions::default());
    let waker = b.waker();
    let (listener, client, server) = pair(&mut b, &options);
    send(&mut b, client, b"hello");
    assert_eq!(receive(&mut b, server, 5), b"hello");
    // One connection closed by the loop, one failed connect, one connect in flight.
    b.close(client);
    let addr = b.local_addr(listener).expect("addr");
    let refused = std::net::TcpListener::bind(loopback())
        .expect("bind")
        .local_addr()
        .expect("addr");
    b.connect(refused, None, &options, LIMIT).expect("connect");
    drive(&mut b, |c| matches!(c, Completion::ConnectFailed { .. }));
    b.connect(addr, None, &options, LIMIT).expect("connect");
    waker.wake();
    let mut out = Vec::new();
    b.poll(Some(Duration::from_millis(10)), &mut out)
        .expect("poll");
    assert!(open_fds() > before);
    b.shutdown().expect("shutdown");
    assert_eq!(open_fds(), before, "after shutdown");
    drop(b);
    drop(waker);
    assert_eq!(open_fds(), before, "after drop");

    // Drop alone is enough.
    let mut b = backend(BackendOptions::default());
    pair(&mut b, &options);
    drop(b);
    assert_eq!(open_fds(), before, "after drop without shutdown");
}

//! No descriptor outlives a backend. Alone in its binary, so that no other test opens
//! descriptors meanwhile.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{accepted, backend, loopback, options, receive, self_pair, send};
use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_io::{Backend, Wake};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn shutdown_and_drop_close_every_descriptor() {
    let before = open_fds();
    {
        let mut b = backend(&options(BusyPoll::Park));
        let waker = b.waker();
        let l = b
            .listen(loopback(), &SocketOptions::default())
            .expect("listen");
        let addr = b.local_addr(l).expect("addr");
        let _idle = b
            .listen(loopback(), &SocketOptions::default())
            .expect("listen");
        // A connection of the backend to itself, with bytes both ways.
        let (out_conn, in_conn) = self_pair(&mut b, addr, &SocketOptions::default());
        send(&mut b, out_conn, b"hello");
        assert_eq!(receive(&mut b, in_conn, 5), b"hello");
        send(&mut b, in_conn, b"world");
        assert_eq!(receive(&mut b, out_conn, 5), b"world");
        // A std client, closed by the backend with bytes pending.
        let mut client = TcpStream::connect(addr).expect("client");
        let c = accepted(&mut b);
        client.write_all(b"x").expect("write");
        {
            let mut io = b.io(c).expect("io");
            let tx = io.tx();
            tx.spare()[..3].copy_from_slice(b"bye");
            tx.commit(3);
        }
        b.close(c);
        // A connect still in flight at shutdown, to a closed port or a slow one.
        let _pending = b.connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_secs(5),
        );
        waker.wake();
        b.shutdown().expect("shutdown");
        drop(b);
        waker.wake();
        drop(waker);
        drop(client);
    }
    assert_eq!(open_fds(), before);
}

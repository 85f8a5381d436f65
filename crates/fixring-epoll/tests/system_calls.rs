//! What the epoll backend counts as its system calls.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_epoll::EpollBackend;
use fixring_io::{Backend, BackendOptions, Completion};

#[test]
fn a_parked_echo_costs_a_wait_a_read_and_a_write() {
    let options = BackendOptions {
        busy_poll: BusyPoll::Park,
        ..BackendOptions::default()
    };
    let mut b = EpollBackend::new(&options).expect("epoll");
    let l = b
        .listen(
            "127.0.0.1:0".parse().expect("addr"),
            &SocketOptions::default(),
        )
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    const ROUNDS: usize = 200;
    let echo = std::thread::spawn(move || {
        let mut client = TcpStream::connect(addr).expect("connect");
        client.set_nodelay(true).expect("nodelay");
        let mut buf = [0u8; 64];
        for _ in 0..ROUNDS {
            client.write_all(&buf).expect("write");
            client.read_exact(&mut buf).expect("read");
        }
    });
    let mut out = Vec::new();
    let mut echoed = 0;
    let mut before = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while echoed < ROUNDS * 64 {
        assert!(Instant::now() < deadline, "echoed {echoed} bytes");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        for c in out.drain(..) {
            let Completion::Received { conn } = c else {
                continue;
            };
            if echoed == 64 * 10 {
                before = Some(b.system_calls());
            }
            let Some(mut io) = b.io(conn) else {
                continue;
            };
            let bytes = io.received().to_vec();
            io.consume(bytes.len());
            let tx = io.tx();
            tx.spare()[..bytes.len()].copy_from_slice(&bytes);
            tx.commit(bytes.len());
            echoed += bytes.len();
        }
        b.flush().expect("flush");
    }
    echo.join().expect("echo");
    let calls = b.system_calls() - before.expect("counted");
    let rounds = u64::try_from(ROUNDS - 10).unwrap_or(1);
    // epoll_wait, recv, send per message (the first counted from its recv on); a little more
    // for polls that end on their timeout.
    assert!(
        (rounds * 3 - 3..=rounds * 7 / 2).contains(&calls),
        "{calls} system calls for {rounds} round trips"
    );
}

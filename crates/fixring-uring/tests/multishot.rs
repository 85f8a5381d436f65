//! The redone data path: received bytes held back while the receive slot is full, sends into
//! a socket whose buffer is full, and what a round trip costs in system calls.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{DEADLINE, accepted, backend, loopback, options, receive, wait_for};
use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_io::{Backend, BackendOptions, Completion};
use socket2::{Domain, Socket, Type};

/// A byte pattern whose order shows: byte `i` is `i * 7 mod 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i * 7 % 251).unwrap_or(0))
        .collect()
}

fn small_slots(busy_poll: BusyPoll) -> BackendOptions {
    BackendOptions {
        buffer_size: 4096,
        ..options(busy_poll)
    }
}

#[test]
fn bytes_beyond_a_full_receive_slot_arrive_in_order() {
    let mut b = backend(&small_slots(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let data = pattern(256 * 1024);
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        let mut client = TcpStream::connect(addr).expect("connect");
        client.write_all(&sent).expect("write");
        client
    });
    let conn = accepted(&mut b);
    // Let the receive slot fill and the rest pile up before anything is consumed.
    let mut seen = Vec::new();
    wait_for(&mut b, &mut seen, |c| match c {
        Completion::Received { conn: c } if *c == conn => Some(()),
        _ => None,
    });
    std::thread::sleep(Duration::from_millis(50));
    let mut out = Vec::new();
    b.poll(Some(Duration::from_millis(10)), &mut out)
        .expect("poll");
    assert!(b.io(conn).expect("io").receive_buffer_full());
    let got = receive(&mut b, conn, data.len());
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes out of order");
    drop(writer.join().expect("writer"));
}

#[test]
fn the_end_of_stream_comes_after_the_bytes_held_back() {
    let mut b = backend(&small_slots(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let data = pattern(64 * 1024);
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        let mut client = TcpStream::connect(addr).expect("connect");
        client.write_all(&sent).expect("write");
        // Closed here, with most of the bytes not yet consumed by the backend's loop.
    });
    let conn = accepted(&mut b);
    writer.join().expect("writer");
    std::thread::sleep(Duration::from_millis(50));
    let mut got = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    let closed = loop {
        assert!(Instant::now() < deadline, "received {} bytes", got.len());
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        let mut closed = None;
        for c in out.drain(..) {
            match c {
                Completion::Received { conn: c } if c == conn => {
                    if let Some(mut io) = b.io(conn) {
                        let bytes = io.received().to_vec();
                        io.consume(bytes.len());
                        got.extend_from_slice(&bytes);
                    }
                }
                Completion::Closed { conn: c, error, .. } if c == conn => closed = Some(error),
                _ => {}
            }
        }
        b.flush().expect("flush");
        if let Some(error) = closed {
            break error;
        }
    };
    assert!(closed.is_none(), "an orderly close: {closed:?}");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes out of order");
}

#[test]
fn sends_into_a_full_socket_wait_and_lose_nothing() {
    let mut b = backend(&small_slots(BusyPoll::SpinThenPark(Duration::from_micros(
        20,
    ))));
    let tiny = SocketOptions {
        send_buffer_size: Some(4096),
        ..SocketOptions::default()
    };
    let l = b.listen(loopback(), &tiny).expect("listen");
    let addr = b.local_addr(l).expect("addr");
    // A small receive window on the client too, so that its side cannot absorb everything.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    socket.connect(&addr.into()).expect("connect");
    let mut client = TcpStream::from(socket);
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let conn = accepted(&mut b);
    let data = pattern(1024 * 1024);
    let reader = std::thread::spawn(move || {
        // Not reading at first, so that the backend's socket buffer fills.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = vec![0u8; 1024 * 1024];
        client.read_exact(&mut got).expect("read");
        // The client stays open until the test has checked the backend's side.
        (got, client)
    });
    let mut offset = 0;
    let mut out = Vec::new();
    let mut writable = 0;
    let deadline = Instant::now() + DEADLINE;
    while offset < data.len() {
        assert!(Instant::now() < deadline, "sent {offset} bytes");
        if let Some(mut io) = b.io(conn) {
            let tx = io.tx();
            let spare = tx.spare();
            let n = spare.len().min(data.len() - offset);
            spare[..n].copy_from_slice(&data[offset..offset + n]);
            tx.commit(n);
            offset += n;
            if n == 0 {
                tx.notify_when_writable();
            }
        }
        b.flush().expect("flush");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        for c in out.drain(..) {
            match c {
                Completion::Writable { conn: c } if c == conn => writable += 1,
                Completion::Closed { .. } => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    }
    while b.io(conn).is_some_and(|mut io| io.tx().queued() > 0) {
        assert!(Instant::now() < deadline, "bytes still queued");
        b.flush().expect("flush");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        out.clear();
    }
    let (got, _client) = reader.join().expect("reader");
    assert!(got == data, "bytes lost or out of order");
    assert!(writable > 0, "the loop was told when room came back");
}

/// Echoes `ROUNDS` 64-byte messages of a blocking client and returns the system calls (or,
/// with `enters`, the enters alone) the backend made for the last `ROUNDS - 10` of them, and
/// that count.
fn echo_round_trips(busy_poll: BusyPoll, enters: bool) -> (u64, u64) {
    let count = |b: &fixring_uring::UringBackend| {
        if enters { b.enters() } else { b.system_calls() }
    };
    let mut b = backend(&options(busy_poll));
    let l = b
        .listen(loopback(), &SocketOptions::default())
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
    let conn = accepted(&mut b);
    let mut seen = Vec::new();
    let mut echoed = 0;
    let mut before = None;
    while echoed < ROUNDS * 64 {
        wait_for(&mut b, &mut seen, |c| match c {
            Completion::Received { conn: c } if *c == conn => Some(()),
            _ => None,
        });
        if echoed == 64 * 10 {
            before = Some(count(&b));
        }
        let Some(mut io) = b.io(conn) else {
            panic!("connection gone");
        };
        let bytes = io.received().to_vec();
        io.consume(bytes.len());
        let tx = io.tx();
        tx.spare()[..bytes.len()].copy_from_slice(&bytes);
        tx.commit(bytes.len());
        echoed += bytes.len();
        b.flush().expect("flush");
    }
    let mut out = Vec::new();
    b.poll(Some(Duration::ZERO), &mut out).expect("poll");
    echo.join().expect("echo");
    let calls = count(&b) - before.expect("counted");
    (calls, u64::try_from(ROUNDS - 10).unwrap_or(1))
}

#[test]
fn a_parked_round_trip_costs_about_one_enter() {
    let (calls, rounds) = echo_round_trips(BusyPoll::Park, false);
    // One enter submits the echo and sleeps until the next message; a few more for messages
    // split across receives or polls that return on their timeout.
    assert!(
        calls <= rounds * 3 / 2,
        "{calls} system calls for {rounds} round trips"
    );
}

#[test]
fn a_spinning_loop_that_answers_one_connection_reads_it_without_the_ring() {
    let (enters, rounds) = echo_round_trips(BusyPoll::Spin, true);
    // Its multishot receive cancelled, the connection is read with `recv(2)` at every look
    // and answered with `send(2)`: no task work to run, so no enter, round trip after round
    // trip. Armed, the receive cost an enter each round trip.
    assert!(enters <= 5, "{enters} enters for {rounds} round trips");
}

/// Echoes `rounds` 4-byte pings of `client` on `conn`.
fn ping(
    b: &mut fixring_uring::UringBackend,
    conn: fixring_io::ConnId,
    client: &mut TcpStream,
    rounds: usize,
) {
    for _ in 0..rounds {
        client.write_all(b"ping").expect("write");
        let got = receive(b, conn, 4);
        assert_eq!(got, b"ping");
        common::send(b, conn, &got);
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).expect("read the echo");
    }
}

/// A backend with `busy_poll` and a client whose connection it has answered twenty times,
/// enough to poll it.
fn polled(busy_poll: BusyPoll) -> (fixring_uring::UringBackend, TcpStream, fixring_io::ConnId) {
    let mut b = backend(&options(busy_poll));
    let (mut client, conn) = connected_client(&mut b);
    client.set_nodelay(true).expect("nodelay");
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    ping(&mut b, conn, &mut client, 20);
    (b, client, conn)
}

#[test]
fn a_polled_connection_wakes_a_loop_that_parks() {
    // Polled by now; the spin then runs out and the loop parks.
    let (mut b, mut client, conn) = polled(BusyPoll::SpinThenPark(Duration::from_micros(50)));
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        client.write_all(b"late").expect("write");
        client
    });
    let start = Instant::now();
    let mut out = Vec::new();
    while !out
        .iter()
        .any(|c| matches!(c, Completion::Received { conn: c } if *c == conn))
    {
        assert!(start.elapsed() < DEADLINE, "nothing received: {out:?}");
        b.poll(Some(Duration::from_secs(2)), &mut out)
            .expect("poll");
    }
    // The re-armed receive woke the parked poll; the poll did not sleep out its two seconds.
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "woken after {:?}",
        start.elapsed()
    );
    assert_eq!(receive(&mut b, conn, 4), b"late");
    drop(writer.join().expect("writer"));
}

#[test]
fn a_polled_connection_hears_the_last_bytes_and_the_close() {
    let (mut b, mut client, conn) = polled(BusyPoll::Spin);
    client.write_all(b"bye").expect("write");
    drop(client);
    let mut got = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    let error = loop {
        assert!(Instant::now() < deadline, "no close; received {got:?}");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        let closed = out.drain(..).find_map(|c| match c {
            Completion::Closed { conn: c, error, .. } if c == conn => Some(error),
            _ => None,
        });
        if let Some(mut io) = b.io(conn) {
            let bytes = io.received().to_vec();
            io.consume(bytes.len());
            got.extend_from_slice(&bytes);
        }
        if let Some(error) = closed {
            break error;
        }
        b.flush().expect("flush");
    };
    assert_eq!(got, b"bye");
    assert!(error.is_none(), "a clean end of stream: {error:?}");
}

#[test]
fn a_polled_connection_reset_by_its_peer_ends_with_the_error() {
    let (mut b, client, conn) = polled(BusyPoll::Spin);
    assert_eq!(
        reset_by(client, &mut b, conn),
        Some(std::io::ErrorKind::ConnectionReset)
    );
}

#[test]
fn connections_written_in_turn_all_keep_receiving() {
    let mut b = backend(&options(BusyPoll::Spin));
    let (mut one, first) = connected_client(&mut b);
    let (mut two, second) = connected_client(&mut b);
    for client in [&mut one, &mut two] {
        client.set_nodelay(true).expect("nodelay");
        client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    }
    // The first is polled; the second, not written for a while, is still heard.
    ping(&mut b, first, &mut one, 10);
    ping(&mut b, second, &mut two, 10);
    // The first is no longer the one written: it is heard again too.
    ping(&mut b, first, &mut one, 1);
    for _ in 0..10 {
        ping(&mut b, first, &mut one, 1);
        ping(&mut b, second, &mut two, 1);
    }
}

/// Echoes everything a client sends in pieces of many sizes, on a spinning backend with small
/// slots, and returns what came back: the direct receives of a spinning loop, the multishot
/// receive and the bytes held back when the slot is full all take turns.
fn spinning_echo(data: &[u8]) -> Vec<u8> {
    let mut b = backend(&small_slots(BusyPoll::Spin));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let mut client = TcpStream::connect(addr).expect("connect");
    client.set_nodelay(true).expect("nodelay");
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut reader = client.try_clone().expect("clone");
    let sent = data.to_vec();
    let writer = std::thread::spawn(move || {
        let mut offset = 0;
        let mut piece = 1;
        while offset < sent.len() {
            let end = (offset + piece).min(sent.len());
            client.write_all(&sent[offset..end]).expect("write");
            offset = end;
            // 1 byte to about 6 KB, more than a slot, and back.
            piece = (piece * 13 + 7) % 6007 + 1;
        }
        client
    });
    let len = data.len();
    let echo_reader = std::thread::spawn(move || {
        let mut got = vec![0u8; len];
        reader.read_exact(&mut got).expect("read the echo");
        got
    });
    let conn = accepted(&mut b);
    let mut echoed = 0;
    let mut out = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while echoed < len {
        assert!(Instant::now() < deadline, "echoed {echoed} of {len} bytes");
        b.poll(Some(Duration::from_millis(1)), &mut out)
            .expect("poll");
        assert!(
            !out.iter().any(|c| matches!(c, Completion::Closed { .. })),
            "closed: {out:?}"
        );
        out.clear();
        if let Some(mut io) = b.io(conn) {
            let room = io.tx().spare().len();
            let bytes = io.received();
            let n = bytes.len().min(room);
            let bytes = bytes[..n].to_vec();
            io.consume(n);
            let tx = io.tx();
            tx.spare()[..n].copy_from_slice(&bytes);
            tx.commit(n);
            echoed += n;
        }
        b.flush().expect("flush");
    }
    while b.io(conn).is_some_and(|mut io| io.tx().queued() > 0) {
        assert!(Instant::now() < deadline, "echo still queued");
        b.poll(Some(Duration::from_millis(1)), &mut out)
            .expect("poll");
        out.clear();
        b.flush().expect("flush");
    }
    let got = echo_reader.join().expect("echo reader");
    drop(writer.join().expect("writer"));
    got
}

#[test]
fn a_spinning_loop_receives_every_byte_in_order() {
    let data = pattern(2 * 1024 * 1024);
    let got = spinning_echo(&data);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes lost or out of order");
}

#[test]
fn a_reset_is_an_error_on_a_spinning_loop() {
    let mut b = backend(&options(BusyPoll::Spin));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let client = TcpStream::connect(addr).expect("connect");
    let conn = accepted(&mut b);
    // The backend writes last, as a loop that waits for an answer does.
    common::send(&mut b, conn, b"ping");
    let mut buf = [0u8; 4];
    (&client).read_exact(&mut buf).expect("read");
    assert_eq!(
        reset_by(client, &mut b, conn),
        Some(std::io::ErrorKind::ConnectionReset)
    );
}

/// Resets `client`'s connection (a close with a zero linger) and returns the error the
/// backend's `Closed` for `conn` carries.
fn reset_by(
    client: TcpStream,
    b: &mut fixring_uring::UringBackend,
    conn: fixring_io::ConnId,
) -> Option<std::io::ErrorKind> {
    let client = Socket::from(client);
    client.set_linger(Some(Duration::ZERO)).expect("linger");
    drop(client);
    let mut seen = Vec::new();
    wait_for(b, &mut seen, |c| match c {
        Completion::Closed { conn: c, error, .. } if *c == conn => {
            Some(error.as_ref().map(std::io::Error::kind))
        }
        _ => None,
    })
}

/// A client connected to a listener of `b`, and its accepted connection.
fn connected_client(b: &mut fixring_uring::UringBackend) -> (TcpStream, fixring_io::ConnId) {
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let client = TcpStream::connect(addr).expect("connect");
    (client, accepted(b))
}

#[test]
fn the_last_bytes_before_a_close_are_readable_when_they_are_reported() {
    let mut b = backend(&options(BusyPoll::Park));
    let (mut client, conn) = connected_client(&mut b);
    client.write_all(b"last words").expect("write");
    drop(client);
    // Both the bytes and the end are in the kernel before the next poll.
    std::thread::sleep(Duration::from_millis(50));
    let mut got = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < deadline, "no close; got {got:?}");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        let mut closed = false;
        for c in out.drain(..) {
            match c {
                Completion::Received { conn: c } if c == conn => {
                    let mut io = b.io(conn).expect("readable when reported");
                    let bytes = io.received().to_vec();
                    io.consume(bytes.len());
                    got.extend_from_slice(&bytes);
                }
                Completion::Closed { conn: c, .. } if c == conn => closed = true,
                _ => {}
            }
        }
        b.flush().expect("flush");
        if closed {
            break;
        }
    }
    assert_eq!(got, b"last words");
}

#[test]
fn shutdown_closes_sockets_held_in_the_fixed_file_table() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let mut client = TcpStream::connect(addr).expect("connect");
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let _conn = accepted(&mut b);
    assert!(b.fixed_files());
    b.shutdown().expect("shutdown");
    // The backend lives on, but the peer sees the end of the stream.
    let mut buf = [0u8; 1];
    assert_eq!(client.read(&mut buf).expect("read"), 0);
    drop(b);
}

/// Commits a few bytes on an accepted connection and asks for them to be sent now; returns
/// whether the client had them before any flush. They arrive after the flush either way.
fn sent_before_the_flush(busy_poll: BusyPoll) -> bool {
    let mut b = backend(&options(busy_poll));
    let (mut client, conn) = connected_client(&mut b);
    b.flush().expect("flush");
    let Some(mut io) = b.io(conn) else {
        panic!("connection gone");
    };
    let tx = io.tx();
    tx.spare()[..6].copy_from_slice(b"answer");
    tx.commit(6);
    b.send_now(conn);
    let mut got = [0u8; 6];
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let early = client.read_exact(&mut got).is_ok();
    if !early {
        b.flush().expect("flush");
        let mut out = Vec::new();
        b.poll(Some(Duration::ZERO), &mut out).expect("poll");
        client.set_read_timeout(Some(DEADLINE)).expect("timeout");
        client.read_exact(&mut got).expect("read after the flush");
    }
    assert_eq!(&got, b"answer");
    early
}

#[test]
fn an_answer_sent_now_leaves_before_the_flush_unless_the_loop_parks() {
    assert!(sent_before_the_flush(BusyPoll::Spin));
    assert!(sent_before_the_flush(BusyPoll::SpinThenPark(
        Duration::from_micros(50)
    )));
    // A parking loop's write waits for the enter that also waits for completions.
    assert!(!sent_before_the_flush(BusyPoll::Park));
}

//! The epoll backend over loopback sockets.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::BorrowedFd;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{LIMIT, backend, drive, loopback, pair, receive, send};
use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_epoll::EpollBackend;
use fixring_io::{Backend, BackendError, BackendOptions, Completion, ConnId, Wake, backend_error};
use socket2::SockRef;

/// Tests that count or time things run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn echoes_both_ways() {
    let mut b = backend(BackendOptions::default());
    let (_, client, server) = pair(&mut b, &SocketOptions::default());
    send(&mut b, client, b"8=FIX.4.4|ping");
    let got = receive(&mut b, server, 14);
    assert_eq!(got, b"8=FIX.4.4|ping");
    send(&mut b, server, &got);
    assert_eq!(receive(&mut b, client, 14), b"8=FIX.4.4|ping");
}

/// Fills `conn`'s send buffer from `data[*sent..]` as far as it has room.
fn feed(b: &mut EpollBackend, conn: ConnId, data: &[u8], sent: &mut usize) {
    if let Some(mut io) = b.io(conn) {
        let tx = io.tx();
        let spare = tx.spare();
        let n = spare.len().min(data.len() - *sent);
        spare[..n].copy_from_slice(&data[*sent..*sent + n]);
        tx.commit(n);
        *sent += n;
    }
}

/// Moves everything received on `conn` into `got`.
fn drain(b: &mut EpollBackend, conn: ConnId, got: &mut Vec<u8>) {
    if let Some(mut io) = b.io(conn) {
        let n = io.received().len();
        got.extend_from_slice(io.received());
        io.consume(n);
    }
}

#[test]
fn transfers_100_kb_both_ways_through_16_kib_buffers() {
    let options = BackendOptions {
        buffer_size: 16 * 1024,
        ..BackendOptions::default()
    };
    let mut b = backend(options);
    // Small kernel buffers, so that writes block and receive buffers fill up.
    let socket = SocketOptions {
        send_buffer_size: Some(8 * 1024),
        receive_buffer_size: Some(8 * 1024),
        ..SocketOptions::default()
    };
    let (_, client, server) = pair(&mut b, &socket);
    let up: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let down: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let (mut up_sent, mut down_sent) = (0, 0);
    let (mut up_got, mut down_got) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while up_got.len() < up.len() || down_got.len() < down.len() {
        feed(&mut b, client, &up, &mut up_sent);
        feed(&mut b, server, &down, &mut down_sent);
        b.flush().expect("flush");
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        for c in &out {
            assert!(matches!(c, Completion::Received { .. }), "unexpected {c:?}");
        }
        drain(&mut b, server, &mut up_got);
        drain(&mut b, client, &mut down_got);
        assert!(
            start.elapsed() < LIMIT,
            "stalled at {} / {}",
            up_got.len(),
            down_got.len()
        );
    }
    assert!(up_got == up, "upstream bytes differ");
    assert!(down_got == down, "downstream bytes differ");
}

#[test]
fn peer_close_reports_the_last_bytes_then_closed() {
    let mut b = backend(BackendOptions::default());
    let listener = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(listener).expect("addr");
    let mut peer = TcpStream::connect(addr).expect("connect");
    let local = peer.local_addr().expect("peer addr");
    let seen = drive(&mut b, |c| matches!(c, Completion::Accepted { .. }));
    let conn = match seen.last() {
        Some(Completion::Accepted {
            conn,
            peer,
            listener: l,
        }) => {
            assert_eq!(*peer, local);
            assert_eq!(*l, listener);
            *conn
        }
        other => panic!("unexpected {other:?}"),
    };
    peer.write_all(b"35=5|").expect("write");
    drop(peer);
    let mut got = Vec::new();
    let start = Instant::now();
    let error = loop {
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        drain(&mut b, conn, &mut got);
        if let Some(closed) = out.into_iter().find_map(|c| match c {
            Completion::Closed {
                conn: c,
                error,
                unsent,
            } => {
                assert_eq!(c, conn);
                assert_eq!(unsent, 0);
                Some(error)
            }
            _ => None,
        }) {
            break closed;
        }
        assert!(start.elapsed() < LIMIT, "no Closed");
    };
    assert!(error.is_none(), "orderly close, got {error:?}");
    assert_eq!(got, b"35=5|");
    assert!(b.io(conn).is_none(), "released after Closed");
}

#[test]
fn connect_to_a_closed_port_fails_with_econnrefused() {
    let port = TcpListener::bind(loopback())
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut b = backend(BackendOptions::default());
    let conn = b
        .connect(port, None, &SocketOptions::default(), LIMIT)
        .expect("connect starts");
    let seen = drive(&mut b, |c| matches!(c, Completion::ConnectFailed { .. }));
    match seen.last() {
        Some(Completion::ConnectFailed { conn: c, error }) => {
            assert_eq!(*c, conn);
            assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(b.io(conn).is_none());
}

#[test]
fn connect_times_out_when_the_peer_drops_syns() {
    // A backlog of 0 holds one connection; while it waits to be accepted, SYNs are dropped.
    let full =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    full.bind(&loopback().into()).expect("bind");
    full.listen(0).expect("listen");
    let addr = full.local_addr().expect("addr").as_socket().expect("ip");
    let mut b = backend(BackendOptions::default());
    let options = SocketOptions::default();
    let first = b.connect(addr, None, &options, LIMIT).expect("connect");
    drive(
        &mut b,
        |c| matches!(c, Completion::Connected { conn, .. } if *conn == first),
    );
    let start = Instant::now();
    let second = b
        .connect(addr, None, &options, Duration::from_millis(200))
        .expect("connect");
    let seen = drive(&mut b, |c| matches!(c, Completion::ConnectFailed { .. }));
    match seen.last() {
        Some(Completion::ConnectFailed { conn, error }) => {
            assert_eq!(*conn, second);
            assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

fn sock(b: &EpollBackend, conn: ConnId) -> BorrowedFd<'_> {
    let fd = b.socket_fd(conn).expect("fd");
    // Safety: the backend keeps the descriptor open while it is borrowed.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

#[test]
fn socket_options_apply_to_both_ends() {
    let options = SocketOptions {
        nodelay: true,
        send_buffer_size: Some(64 * 1024),
        receive_buffer_size: Some(48 * 1024),
        reuse_address: true,
        keep_alive: true,
    };
    let mut b = backend(BackendOptions::default());
    let (_, client, server) = pair(&mut b, &options);
    for conn in [client, server] {
        let fd = sock(&b, conn);
        let s = SockRef::from(&fd);
        assert!(s.tcp_nodelay().expect("nodelay"));
        assert!(s.keepalive().expect("keepalive"));
        // Linux doubles the requested sizes for its bookkeeping.
        assert_eq!(s.send_buffer_size().expect("sndbuf"), 2 * 64 * 1024);
        assert_eq!(s.recv_buffer_size().expect("rcvbuf"), 2 * 48 * 1024);
    }
    let off = SocketOptions {
        nodelay: false,
        ..SocketOptions::default()
    };
    let (_, client, server) = pair(&mut b, &off);
    for conn in [client, server] {
        let fd = sock(&b, conn);
        assert!(!SockRef::from(&fd).tcp_nodelay().expect("nodelay"));
        assert!(!SockRef::from(&fd).keepalive().expect("keepalive"));
    }
}

#[test]
fn waker_interrupts_a_parked_poll_from_another_thread() {
    let _serial = serial();
    let mut b = backend(BackendOptions {
        busy_poll: BusyPoll::Park,
        ..BackendOptions::default()
    });
    let waker = b.waker();
    let start = Instant::now();
    let thread = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        waker.wake();
    });
    let mut out = Vec::new();
    b.poll(Some(LIMIT), &mut out).expect("poll");
    assert!(matches!(out.as_slice(), [Completion::Woken]), "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    thread.join().expect("waker thread");
    // Woken once: the eventfd was reset.
    let mut out = Vec::new();
    b.poll(Some(Duration::from_millis(10)), &mut out)
        .expect("poll");
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn every_idle_policy_honours_the_timeout() {
    let _serial = serial();
    for busy_poll in [
        BusyPoll::Spin,
        BusyPoll::Park,
        BusyPoll::SpinThenPark(Duration::from_millis(5)),
    ] {
        let mut b = backend(BackendOptions {
            busy_poll,
            ..BackendOptions::default()
        });
        let start = Instant::now();
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(30)), &mut out)
            .expect("poll");
        let elapsed = start.elapsed();
        assert!(out.is_empty());
        assert!(
            elapsed >= Duration::from_millis(30),
            "{busy_poll:?}: {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(1),
            "{busy_poll:?}: {elapsed:?}"
        );
        let (_, client, server) = pair(&mut b, &SocketOptions::default());
        send(&mut b, client, b"x");
        assert_eq!(receive(&mut b, server, 1), b"x", "{busy_poll:?}");
    }
}

#[test]
fn a_full_table_keeps_accepted_sockets_waiting_and_refuses_connects() {
    let mut b = backend(BackendOptions {
        max_connections: 2,
        ..BackendOptions::default()
    });
    let listener = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(listener).expect("addr");
    let mut peers: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let mut conns = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        conns.extend(out.iter().filter_map(|c| match c {
            Completion::Accepted { conn, .. } => Some(*conn),
            _ => None,
        }));
    }
    assert_eq!(conns.len(), 2);
    for peer in &mut peers {
        peer.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        match peer.read(&mut [0; 8]) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("a peer was turned away: {other:?}"),
        }
    }
    let error = b
        .connect(addr, None, &SocketOptions::default(), LIMIT)
        .expect_err("table full");
    assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(
        backend_error(&error),
        Some(BackendError::TableFull { capacity: 2 })
    );
    // A slot freed goes to the socket that waited for it, its bytes intact.
    peers[2].write_all(b"logon").expect("write");
    b.close(conns[0]);
    let seen = drive(&mut b, |c| matches!(c, Completion::Accepted { .. }));
    let third = seen
        .iter()
        .find_map(|c| match c {
            Completion::Accepted { conn, .. } => Some(*conn),
            _ => None,
        })
        .expect("accepted");
    assert_eq!(receive(&mut b, third, 5), b"logon");
}

#[test]
fn close_writes_committed_bytes_before_closing() {
    let mut b = backend(BackendOptions::default());
    let listener = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(listener).expect("addr");
    let mut peer = TcpStream::connect(addr).expect("connect");
    peer.set_read_timeout(Some(LIMIT)).expect("timeout");
    let seen = drive(&mut b, |c| matches!(c, Completion::Accepted { .. }));
    let Some(Completion::Accepted { conn, .. }) = seen.last() else {
        panic!("unexpected {seen:?}");
    };
    let conn = *conn;
    let mut io = b.io(conn).expect("io");
    io.tx().spare()[..9].copy_from_slice(b"35=5|bye|");
    io.tx().commit(9);
    b.close(conn);
    assert!(b.io(conn).is_none());
    assert!(b.socket_fd(conn).is_none());
    let mut got = Vec::new();
    peer.read_to_end(&mut got).expect("read to end");
    assert_eq!(got, b"35=5|bye|");
    let mut out = Vec::new();
    b.poll(Some(Duration::from_millis(20)), &mut out)
        .expect("poll");
    assert!(out.is_empty(), "no Closed after close: {out:?}");
}

#[test]
fn unknown_identifiers_are_refused() {
    let mut b = backend(BackendOptions::default());
    assert!(b.io(ConnId(7)).is_none());
    assert!(b.socket_fd(ConnId(7)).is_none());
    b.close(ConnId(7));
    let listener = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    b.unlisten(listener);
    let error = b.local_addr(listener).expect_err("closed listener");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    b.shutdown().expect("shutdown");
    let mut out = Vec::new();
    assert!(b.poll(Some(Duration::ZERO), &mut out).is_err());
    b.waker().wake();
}

#[test]
fn a_full_receive_buffer_pauses_reads_until_the_loop_consumes() {
    let mut b = backend(BackendOptions {
        buffer_size: 4096,
        ..BackendOptions::default()
    });
    let (_, client, server) = pair(&mut b, &SocketOptions::default());
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 239) as u8).collect();
    let mut sent = 0;
    // Send everything without letting the server consume: its buffer fills and stays full.
    let start = Instant::now();
    while sent < data.len() {
        feed(&mut b, client, &data, &mut sent);
        b.flush().expect("flush");
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(5)), &mut out)
            .expect("poll");
        assert!(start.elapsed() < LIMIT);
    }
    for _ in 0..10 {
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(5)), &mut out)
            .expect("poll");
    }
    let io = b.io(server).expect("io");
    assert!(io.receive_buffer_full());
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < data.len() {
        drain(&mut b, server, &mut got);
        feed(&mut b, client, &data, &mut sent);
        b.flush().expect("flush");
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(20)), &mut out)
            .expect("poll");
        assert!(start.elapsed() < LIMIT, "stalled at {}", got.len());
    }
    assert!(got == data, "bytes differ");
}

#[test]
fn close_keeps_writing_when_the_socket_would_block() {
    let mut b = backend(BackendOptions {
        buffer_size: 64 * 1024,
        ..BackendOptions::default()
    });
    let listener = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(listener).expect("addr");
    // A peer with a small receive window that reads only after the close.
    let peer =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    peer.set_recv_buffer_size(4096).expect("rcvbuf");
    peer.connect(&addr.into()).expect("connect");
    let mut peer = TcpStream::from(peer);
    let seen = drive(&mut b, |c| matches!(c, Completion::Accepted { .. }));
    let Some(Completion::Accepted { conn, .. }) = seen.last() else {
        panic!("unexpected {seen:?}");
    };
    let conn = *conn;
    let fd = sock(&b, conn);
    SockRef::from(&fd)
        .set_send_buffer_size(4096)
        .expect("sndbuf");
    let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 233) as u8).collect();
    let mut io = b.io(conn).expect("io");
    io.tx().spare().copy_from_slice(&data);
    io.tx().commit(data.len());
    b.close(conn);
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        peer.set_read_timeout(Some(LIMIT)).expect("timeout");
        let mut got = Vec::new();
        peer.read_to_end(&mut got).map(|_| got)
    });
    let start = Instant::now();
    while !reader.is_finished() {
        let mut out = Vec::new();
        b.poll(Some(Duration::from_millis(5)), &mut out)
            .expect("poll");
        assert!(out.is_empty(), "{out:?}");
        assert!(start.elapsed() < LIMIT);
    }
    let got = reader.join().expect("reader").expect("read");
    assert!(got == data, "got {} of {} bytes", got.len(), data.len());
}

#[test]
fn system_calls_are_counted_by_the_backend() {
    let mut b = backend(BackendOptions {
        busy_poll: BusyPoll::Park,
        ..BackendOptions::default()
    });
    let (_, client, server) = pair(&mut b, &SocketOptions::default());
    // Creating the backend, listening, connecting and accepting all count.
    assert!(b.system_calls() > 8, "{}", b.system_calls());
    let before = b.system_calls();
    let mut out = Vec::new();
    b.poll(Some(Duration::ZERO), &mut out).unwrap();
    assert_eq!(b.system_calls() - before, 1, "one epoll_wait: {out:?}");
    let before = b.system_calls();
    send(&mut b, client, b"8=FIX.4.4|ping");
    assert_eq!(receive(&mut b, server, 14), b"8=FIX.4.4|ping");
    // At least the send, a wait that sees it and the read; a few waits more at most.
    let used = b.system_calls() - before;
    assert!((3..=12).contains(&used), "{used}");
}

#[test]
fn an_answer_sent_now_leaves_before_the_flush() {
    let mut b = backend(BackendOptions::default());
    let listener = TcpListener::bind(loopback()).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let conn = b
        .connect(addr, None, &SocketOptions::default(), LIMIT)
        .expect("connect");
    drive(&mut b, |c| matches!(c, Completion::Connected { .. }));
    let (mut peer, _) = listener.accept().expect("accept");
    let mut io = b.io(conn).expect("live connection");
    io.tx().spare()[..6].copy_from_slice(b"answer");
    io.tx().commit(6);
    b.send_now(conn);
    peer.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut got = [0u8; 6];
    peer.read_exact(&mut got).expect("sent before any flush");
    assert_eq!(&got, b"answer");
    b.flush().expect("flush");
}

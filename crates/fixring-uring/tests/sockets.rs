//! The io_uring backend over loopback sockets.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{DEADLINE, accepted, backend, loopback, options, receive, self_pair, send, wait_for};
use fixring_core::config::{BusyPoll, SocketOptions};
use fixring_io::{
    Backend, BackendError, BackendOptions, Completion, ConnId, Wake, backend_error, is_unavailable,
};
use fixring_uring::{RingMode, UringBackend};
use socket2::{Domain, SockRef, Socket, Type};

fn client_stream(b: &UringBackend, listener: fixring_io::ListenerId) -> TcpStream {
    let addr = b.local_addr(listener).expect("local_addr");
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    s
}

#[test]
fn accept_and_echo_both_ways() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let mut client = client_stream(&b, l);
    let conn = accepted(&mut b);
    client.write_all(b"ping").expect("write");
    assert_eq!(receive(&mut b, conn, 4), b"ping");
    send(&mut b, conn, b"pong");
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"pong");
    assert!(matches!(
        b.ring_mode(),
        RingMode::DeferTaskrun | RingMode::CoopTaskrun | RingMode::Plain
    ));
    assert!(b.fixed_files());
}

#[test]
fn outbound_connect_exchanges_bytes() {
    let mut b = backend(&options(BusyPoll::Spin));
    let server = TcpListener::bind(loopback()).expect("bind");
    let addr = server.local_addr().expect("addr");
    let conn = b
        .connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_secs(2),
        )
        .expect("connect");
    let mut seen = Vec::new();
    let peer = wait_for(&mut b, &mut seen, |c| match c {
        Completion::Connected { conn: c, peer } if *c == conn => Some(*peer),
        _ => None,
    });
    assert_eq!(peer, addr);
    let (mut s, _) = server.accept().expect("accept");
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    send(&mut b, conn, b"8=FIX.4.4");
    let mut buf = [0u8; 9];
    s.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"8=FIX.4.4");
    s.write_all(b"reply").expect("write");
    assert_eq!(receive(&mut b, conn, 5), b"reply");
}

/// Echoes 100 KB through 16 KiB buffers between two connections of one backend, with small
/// kernel socket buffers so that writes are partial and send slots compact.
fn echo_100k(b: &mut UringBackend) {
    const TOTAL: usize = 100 * 1024;
    let small = SocketOptions {
        send_buffer_size: Some(4096),
        receive_buffer_size: Some(4096),
        ..SocketOptions::default()
    };
    let l = b.listen(loopback(), &small).expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let client = b
        .connect(addr, None, &small, Duration::from_secs(2))
        .expect("connect");
    let mut server = None;
    let mut connected = false;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.is_none() || !connected {
        assert!(Instant::now() < deadline, "no connection");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        for c in out.drain(..) {
            match c {
                Completion::Accepted { conn, .. } => server = Some(conn),
                Completion::Connected { conn, .. } if conn == client => connected = true,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let server = server.unwrap_or(ConnId(u32::MAX));
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut echoed) = (0usize, Vec::with_capacity(TOTAL));
    while echoed.len() < TOTAL {
        assert!(
            Instant::now() < deadline,
            "echoed {} of {TOTAL}",
            echoed.len()
        );
        if let Some(mut io) = b.io(client) {
            let (rx, tx) = io.split();
            echoed.extend_from_slice(rx);
            let n = rx.len();
            let spare = tx.spare();
            let k = spare.len().min(TOTAL - sent);
            spare[..k].copy_from_slice(&data[sent..sent + k]);
            tx.commit(k);
            sent += k;
            io.consume(n);
        }
        if let Some(mut io) = b.io(server) {
            let (rx, tx) = io.split();
            let spare = tx.spare();
            let k = spare.len().min(rx.len());
            spare[..k].copy_from_slice(&rx[..k]);
            tx.commit(k);
            io.consume(k);
        }
        b.flush().expect("flush");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        for c in out.drain(..) {
            assert!(matches!(c, Completion::Received { .. }), "unexpected {c:?}");
        }
    }
    assert!(echoed == data, "echoed bytes differ");
}

#[test]
fn large_transfer_through_small_buffers() {
    let mut b = backend(&options(BusyPoll::SpinThenPark(Duration::from_micros(50))));
    echo_100k(&mut b);
}

#[test]
fn many_slots_echo() {
    let opts = BackendOptions {
        max_connections: 8193,
        buffer_size: 16 * 1024,
        busy_poll: BusyPoll::Park,
        sqpoll: false,
    };
    let mut b = backend(&opts);
    echo_100k(&mut b);
}

#[test]
fn sqpoll_ring_echoes() {
    let opts = BackendOptions {
        sqpoll: true,
        ..options(BusyPoll::Park)
    };
    let mut b = backend(&opts);
    assert!(matches!(b.ring_mode(), RingMode::SqPoll | RingMode::Plain));
    echo_100k(&mut b);
}

#[test]
fn backend_moves_to_its_loop_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<UringBackend>();
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let worker = std::thread::spawn(move || {
        let conn = accepted(&mut b);
        receive(&mut b, conn, 3)
    });
    let mut client = TcpStream::connect(addr).expect("connect");
    client.write_all(b"abc").expect("write");
    assert_eq!(worker.join().expect("worker"), b"abc");
}

#[test]
fn bytes_consumed_while_a_read_is_in_flight_stay_in_order() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let mut client = client_stream(&b, l);
    let conn = accepted(&mut b);
    client.write_all(b"first").expect("write");
    let mut seen = Vec::new();
    wait_for(&mut b, &mut seen, |c| match c {
        Completion::Received { conn: c } if *c == conn => Some(()),
        _ => None,
    });
    // Re-arm the read past the 5 unconsumed bytes, then consume them under it.
    b.flush().expect("flush");
    let mut io = b.io(conn).expect("io");
    assert_eq!(io.received(), b"first");
    io.consume(2);
    client.write_all(b"second").expect("write");
    wait_for(&mut b, &mut seen, |c| match c {
        Completion::Received { conn: c } if *c == conn => Some(()),
        _ => None,
    });
    let mut io = b.io(conn).expect("io");
    assert_eq!(io.received(), b"rstsecond");
}

#[test]
fn peer_close_reports_closed() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let client = client_stream(&b, l);
    let conn = accepted(&mut b);
    drop(client);
    let mut seen = Vec::new();
    let (error, unsent) = wait_for(&mut b, &mut seen, |c| match c {
        Completion::Closed {
            conn: c,
            error,
            unsent,
        } if *c == conn => Some((error.as_ref().map(|e| e.kind()), *unsent)),
        _ => None,
    });
    assert_eq!((error, unsent), (None, 0));
    assert!(b.io(conn).is_none());
    assert!(b.socket_fd(conn).is_none());
}

#[test]
fn connect_to_closed_port_is_refused() {
    let mut b = backend(&options(BusyPoll::Park));
    let addr = {
        let l = TcpListener::bind(loopback()).expect("bind");
        l.local_addr().expect("addr")
    };
    let conn = b
        .connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_secs(2),
        )
        .expect("connect");
    let mut seen = Vec::new();
    let errno = wait_for(&mut b, &mut seen, |c| match c {
        Completion::ConnectFailed { conn: c, error } if *c == conn => Some(error.raw_os_error()),
        _ => None,
    });
    assert_eq!(errno, Some(libc::ECONNREFUSED));
}

#[test]
fn connect_times_out_on_a_full_accept_queue() {
    // A listener with backlog 0 queues one connection and drops later SYNs.
    let full = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    full.bind(&loopback().into()).expect("bind");
    full.listen(0).expect("listen");
    let addr = full
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .expect("addr");
    let _filler = TcpStream::connect_timeout(&addr, DEADLINE).expect("filler");
    let mut b = backend(&options(BusyPoll::Park));
    let started = Instant::now();
    let conn = b
        .connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_millis(200),
        )
        .expect("connect");
    let mut seen = Vec::new();
    let kind = wait_for(&mut b, &mut seen, |c| match c {
        Completion::ConnectFailed { conn: c, error } if *c == conn => Some(error.kind()),
        _ => None,
    });
    assert_eq!(kind, std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

fn sockopts(fd: std::os::fd::RawFd) -> (bool, usize, usize, bool) {
    // Safety: the backend keeps this descriptor open while its connection is live, and the
    // borrow ends within this function.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let s = SockRef::from(&fd);
    (
        s.tcp_nodelay().expect("nodelay"),
        s.send_buffer_size().expect("sndbuf"),
        s.recv_buffer_size().expect("rcvbuf"),
        s.keepalive().expect("keepalive"),
    )
}

fn sysctl(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
fn socket_options_apply_to_accepted_and_connected_sockets() {
    const SIZE: usize = 65536;
    let mut b = backend(&options(BusyPoll::Park));
    let opts = SocketOptions {
        nodelay: true,
        send_buffer_size: Some(SIZE),
        receive_buffer_size: Some(SIZE),
        reuse_address: true,
        keep_alive: true,
    };
    // Linux doubles the value, after capping it at the sysctl maximum.
    let snd = 2 * SIZE.min(sysctl("wmem_max"));
    let rcv = 2 * SIZE.min(sysctl("rmem_max"));
    let l = b.listen(loopback(), &opts).expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let (out_conn, in_conn) = self_pair(&mut b, addr, &opts);
    for conn in [in_conn, out_conn] {
        let fd = b.socket_fd(conn).expect("fd");
        assert_eq!(sockopts(fd), (true, snd, rcv, true), "{conn:?}");
    }
}

#[test]
fn waker_interrupts_poll_from_another_thread() {
    for policy in [
        BusyPoll::Park,
        BusyPoll::Spin,
        BusyPoll::SpinThenPark(Duration::from_micros(50)),
    ] {
        let mut b = backend(&options(policy));
        let waker = b.waker();
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            flag.store(true, Ordering::SeqCst);
            waker.wake();
        });
        let started = Instant::now();
        let mut out = Vec::new();
        while out.is_empty() && started.elapsed() < DEADLINE {
            b.poll(Some(DEADLINE), &mut out).expect("poll");
        }
        assert!(matches!(out.as_slice(), [Completion::Woken]), "{out:?}");
        assert!(done.load(Ordering::SeqCst));
        assert!(started.elapsed() < Duration::from_secs(2));
        t.join().expect("waker thread");
        // The read is re-armed: a second wake is reported too.
        b.waker().wake();
        out.clear();
        b.poll(Some(DEADLINE), &mut out).expect("poll");
        assert!(matches!(out.as_slice(), [Completion::Woken]), "{out:?}");
    }
}

#[test]
fn a_full_table_keeps_new_sockets_waiting_and_refuses_connects() {
    let opts = BackendOptions {
        max_connections: 1,
        ..options(BusyPoll::Park)
    };
    let mut b = backend(&opts);
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let _first = client_stream(&b, l);
    let conn = accepted(&mut b);
    let mut second = client_stream(&b, l);
    second.write_all(b"logon").expect("write");
    // The second socket waits for a slot, open, and is not reported yet.
    second
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let mut out = Vec::new();
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_millis(200) {
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        assert!(out.is_empty(), "{out:?}");
        match second.read(&mut [0u8; 1]) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("the waiting socket was closed: {other:?}"),
        }
    }
    let err = b
        .connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_secs(1),
        )
        .expect_err("table is full");
    assert_eq!(
        backend_error(&err),
        Some(BackendError::TableFull { capacity: 1 })
    );
    assert!(b.io(conn).is_some());
    // Once the first is closed, the waiting socket takes its slot, its bytes intact.
    b.close(conn);
    b.flush().expect("flush");
    let next = accepted(&mut b);
    let mut seen = Vec::new();
    wait_for(&mut b, &mut seen, |c| match c {
        Completion::Received { conn } if *conn == next => Some(()),
        _ => None,
    });
    let mut io = b.io(next).expect("the waiting socket's slot");
    assert_eq!(io.received(), b"logon");
}

#[test]
fn close_writes_pending_bytes_first() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let mut client = client_stream(&b, l);
    let conn = accepted(&mut b);
    let data: Vec<u8> = (0..12_000u32).map(|i| (i % 7) as u8).collect();
    {
        let mut io = b.io(conn).expect("io");
        let tx = io.tx();
        tx.spare()[..data.len()].copy_from_slice(&data);
        tx.commit(data.len());
    }
    b.close(conn);
    assert!(b.io(conn).is_none());
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        client.read_to_end(&mut got).map(|_| got)
    });
    let mut out = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while !reader.is_finished() && Instant::now() < deadline {
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
    }
    assert!(out.is_empty(), "no completion follows close: {out:?}");
    let got = reader.join().expect("reader").expect("read");
    assert!(got == data, "got {} bytes", got.len());
}

#[test]
fn close_to_a_peer_that_never_reads_frees_the_slot_after_the_drain_timeout() {
    let opts = BackendOptions {
        max_connections: 1,
        ..options(BusyPoll::Park)
    };
    let mut b = backend(&opts);
    let small = SocketOptions {
        send_buffer_size: Some(4096),
        ..SocketOptions::default()
    };
    let l = b.listen(loopback(), &small).expect("listen");
    let addr = b.local_addr(l).expect("addr");
    let stalled = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    stalled.set_recv_buffer_size(2048).expect("rcvbuf");
    stalled.connect(&addr.into()).expect("connect");
    let conn = accepted(&mut b);
    {
        let mut io = b.io(conn).expect("io");
        let tx = io.tx();
        let n = tx.spare().len();
        tx.spare().fill(b'x');
        tx.commit(n);
    }
    b.close(conn);
    let started = Instant::now();
    let mut out = Vec::new();
    let freed = loop {
        assert!(started.elapsed() < DEADLINE, "slot never freed");
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
        if let Ok(c) = b.connect(
            addr,
            None,
            &SocketOptions::default(),
            Duration::from_secs(1),
        ) {
            break c;
        }
    };
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    b.close(freed);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn unlisten_stops_accepting() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let addr = b.local_addr(l).expect("addr");
    b.unlisten(l);
    let mut out = Vec::new();
    for _ in 0..5 {
        b.poll(Some(Duration::from_millis(10)), &mut out)
            .expect("poll");
    }
    assert!(out.is_empty());
    assert!(b.local_addr(l).is_err());
    assert!(TcpStream::connect(addr).is_err(), "listener still open");
}

#[test]
fn shutdown_stops_the_backend() {
    let mut b = backend(&options(BusyPoll::Park));
    let l = b
        .listen(loopback(), &SocketOptions::default())
        .expect("listen");
    let _client = client_stream(&b, l);
    let _conn = accepted(&mut b);
    b.shutdown().expect("shutdown");
    b.shutdown().expect("second shutdown");
    let err = b
        .listen(loopback(), &SocketOptions::default())
        .expect_err("shut down");
    assert_eq!(backend_error(&err), Some(BackendError::ShutDown));
    assert!(b.poll(Some(Duration::ZERO), &mut Vec::new()).is_err());
}

#[test]
fn bad_options_are_rejected_and_unavailability_is_recognised() {
    let zero = BackendOptions {
        max_connections: 0,
        ..BackendOptions::default()
    };
    let err = UringBackend::new(&zero).expect_err("zero connections");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(!is_unavailable(&err));
    assert!(is_unavailable(&std::io::Error::from_raw_os_error(
        libc::EPERM
    )));
    assert!(is_unavailable(&std::io::Error::from_raw_os_error(
        libc::ENOSYS
    )));
}

//! A connection flood for admission tests: thousands of non-blocking sockets on one thread
//! (epoll), spread over a few loopback source addresses, that connect again as soon as the
//! acceptor closes them. Bounded: it stops when told, at its deadline, or after a number of
//! connects, whichever comes first, and closes every socket it opened.
//!
//! The thread has a descriptor table of its own, as a flooding client on another host has:
//! its sockets count against the descriptor limit in that table, not in the engine's.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// How a flood looks.
#[derive(Clone, Debug)]
pub(crate) struct FloodPlan {
    pub(crate) target: SocketAddr,
    /// The loopback addresses the connections come from, in turn.
    pub(crate) sources: Vec<Ipv4Addr>,
    /// Connections kept open (or trying to be) at once.
    pub(crate) connections: usize,
    /// What each connection sends once connected, before it waits (nothing: idle).
    pub(crate) payload: Vec<u8>,
    /// The flood ends by itself this long after it started.
    pub(crate) deadline: Duration,
    /// It ends by itself after this many connects.
    pub(crate) max_connects: u64,
    /// The core its thread runs on, when it must keep off the others.
    pub(crate) core: Option<usize>,
}

/// A running flood.
pub(crate) struct Flood {
    stop: Arc<AtomicBool>,
    connects: Arc<AtomicU64>,
    closed_by_peer: Arc<AtomicU64>,
    established: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    /// Starts flooding by `plan`.
    pub(crate) fn start(plan: FloodPlan) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let connects = Arc::new(AtomicU64::new(0));
        let closed_by_peer = Arc::new(AtomicU64::new(0));
        let established = Arc::new(AtomicU64::new(0));
        let counters = Counters {
            stop: Arc::clone(&stop),
            connects: Arc::clone(&connects),
            closed_by_peer: Arc::clone(&closed_by_peer),
            established: Arc::clone(&established),
        };
        let thread = std::thread::spawn(move || run(&plan, &counters));
        Self {
            stop,
            connects,
            closed_by_peer,
            established,
            thread: Some(thread),
        }
    }

    /// Connects started so far.
    pub(crate) fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Connections that completed their TCP handshake so far.
    pub(crate) fn established(&self) -> u64 {
        self.established.load(Ordering::Relaxed)
    }

    /// Connections the acceptor closed so far.
    pub(crate) fn closed_by_peer(&self) -> u64 {
        self.closed_by_peer.load(Ordering::Relaxed)
    }

    /// Stops the flood and waits for its sockets to be closed.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the flood thread panicked");
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Counters {
    stop: Arc<AtomicBool>,
    connects: Arc<AtomicU64>,
    closed_by_peer: Arc<AtomicU64>,
    established: Arc<AtomicU64>,
}

/// One flooding socket.
struct Conn {
    socket: Socket,
    connected: bool,
    /// Connected and not yet set to its behaviour.
    fresh: bool,
}

fn run(plan: &FloodPlan, counters: &Counters) {
    // Safety: neither call takes a pointer. The thread's copy of the table is its own; the
    // copies of the engine's descriptors in it are closed, so that they cannot keep the
    // engine's sockets open.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_FILES), 0, "unshare(CLONE_FILES)");
        assert_eq!(libc::close_range(3, u32::MAX, 0), 0, "close_range");
    }
    if let Some(core) = plan.core {
        let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
        assert!(pinned, "the flood cannot run on core {core}");
    }
    // Safety: epoll_create1 takes no pointers; a non-negative result is a new descriptor.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(epoll >= 0, "epoll_create1 failed");
    // Safety: the descriptor was just created and nothing else owns it.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
    let started = Instant::now();
    let mut conns: HashMap<RawFd, Conn> = HashMap::with_capacity(plan.connections);
    let mut next_source = 0;
    let mut open = |conns: &mut HashMap<RawFd, Conn>| {
        if counters.connects.load(Ordering::Relaxed) >= plan.max_connects {
            return;
        }
        let source = plan.sources[next_source % plan.sources.len()];
        next_source += 1;
        if let Some(conn) = connect(plan.target, source) {
            counters.connects.fetch_add(1, Ordering::Relaxed);
            let fd = conn.socket.as_raw_fd();
            let mut event = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP) as u32,
                u64: fd as u64,
            };
            // Safety: `event` is a valid epoll_event for the duration of the call.
            unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
            conns.insert(fd, conn);
        }
    };
    for _ in 0..plan.connections {
        open(&mut conns);
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 4096];
    while !counters.stop.load(Ordering::Relaxed) && started.elapsed() < plan.deadline {
        // Safety: `events` has room for its length of entries.
        let n = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                20,
            )
        };
        for event in events.iter().take(n.max(0) as usize) {
            let fd = event.u64 as RawFd;
            let flags = event.events;
            let Some(conn) = conns.get_mut(&fd) else {
                continue;
            };
            let mut gone = flags & (libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLRDHUP) as u32 != 0;
            if flags & libc::EPOLLOUT as u32 != 0 && !conn.connected {
                conn.connected = true;
                counters.established.fetch_add(1, Ordering::Relaxed);
            }
            if !gone && flags & libc::EPOLLOUT as u32 != 0 && conn.fresh {
                conn.fresh = false;
                if !plan.payload.is_empty() {
                    let _ = conn.socket.send(&plan.payload);
                }
                let mut event = libc::epoll_event {
                    events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
                    u64: fd as u64,
                };
                // Safety: as above.
                unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_MOD, fd, &mut event) };
            }
            if !gone && flags & libc::EPOLLIN as u32 != 0 {
                // Safety: `buf` is writable for its length.
                let read = unsafe {
                    libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
                };
                gone = read == 0
                    || (read < 0
                        && std::io::Error::last_os_error().kind()
                            != std::io::ErrorKind::WouldBlock);
            }
            if gone {
                counters.closed_by_peer.fetch_add(1, Ordering::Relaxed);
                conns.remove(&fd);
                open(&mut conns);
            }
        }
    }
    // Dropping the sockets closes them; the epoll descriptor goes with `epoll`.
    conns.clear();
}

/// Starts a non-blocking connect from `source` to `target`.
fn connect(target: SocketAddr, source: Ipv4Addr) -> Option<Conn> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).ok()?;
    socket.set_nonblocking(true).ok()?;
    // The port is chosen at connect for the whole 4-tuple, so that many connections from few
    // source addresses do not run out of ports at bind.
    let on: libc::c_int = 1;
    // Safety: `on` is a c_int that lives for the call, and its size is passed.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    socket
        .bind(&SockAddr::from(SocketAddrV4::new(source, 0)))
        .ok()?;
    match socket.connect(&SockAddr::from(target)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(_) => return None,
    }
    Some(Conn {
        socket,
        connected: false,
        fresh: true,
    })
}

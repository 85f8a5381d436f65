//! A fault-injecting TCP proxy on loopback, for the reliability tests.
//!
//! [`FaultProxy`] listens on `127.0.0.1:0` and forwards each accepted connection to a target,
//! with two threads per connection (one per direction). The fault of a new connection is the
//! one set last with [`FaultProxy::set_fault`]; [`FaultProxy::reset_all`],
//! [`FaultProxy::stall_all`] and [`FaultProxy::resume_all`] act on the live ones. Every loop is
//! bounded: reads and writes time out every few milliseconds to look at the stop flags, and
//! dropping the proxy joins every thread.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket2::SockRef;

/// How often a blocked read or write looks at the stop flags.
const TICK: Duration = Duration::from_millis(20);

/// What the proxy does to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Forwards faithfully.
    None,
    /// Accepts, then resets at once (the client sees its connection reset before any byte).
    Refuse,
    /// Forwards `after` bytes (both directions counted together), then resets both sockets
    /// (SO_LINGER 0, so the peers see RST, not FIN). `after` may fall inside a message.
    Reset {
        /// Bytes forwarded before the reset.
        after: usize,
    },
    /// Forwards `after` bytes, then closes both sockets in order (FIN).
    CloseAfter(usize),
    /// Forwards nothing and keeps both sockets open: a half-open, silent peer.
    Stall,
    /// Holds every chunk back this long before forwarding it.
    Delay(Duration),
    /// Forwards one byte per write.
    OneByteWrites,
    /// Flips the bits of forwarded bytes from byte `after` on: only that byte when `once`,
    /// every 64th byte otherwise.
    Corrupt {
        /// Bytes forwarded intact first.
        after: usize,
        /// Whether only one byte is corrupted.
        once: bool,
    },
}

/// The flags and counters one connection's two threads share with the proxy.
struct Control {
    fault: Fault,
    stall: AtomicBool,
    reset: AtomicBool,
    closed: AtomicBool,
    forwarded: AtomicUsize,
    /// Bytes after which the connection is reset (`usize::MAX`: never).
    reset_at: AtomicUsize,
    /// Bytes after which the connection is closed (`usize::MAX`: never).
    close_at: AtomicUsize,
    /// Whether a Logon went from the target to the client (the session logged on).
    logged_on: AtomicBool,
    /// Whether a run-time fault ([`FaultProxy::reset_all`] and its fellows) hit the
    /// connection before its Logon.
    sabotaged: AtomicBool,
}

impl Control {
    /// Marks a live connection that has not logged on yet as broken on purpose.
    fn sabotage(&self) {
        let ended = self.closed.load(Ordering::Acquire) || self.reset.load(Ordering::Acquire);
        if !ended && !self.logged_on.load(Ordering::Acquire) {
            self.sabotaged.store(true, Ordering::Release);
        }
    }
}

/// What became of the connections a proxy accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attempts {
    /// Connections whose fault lets a session log on (none, a delay, one-byte writes) and
    /// that no run-time fault hit before their Logon: attempts on a reachable peer.
    pub(crate) reachable: u64,
    /// Those of them that carried a Logon reply.
    pub(crate) logged_on: u64,
    /// Connections accepted with a fault that breaks them, or hit by one before their Logon.
    pub(crate) sabotaged: u64,
    /// Attempts on a reachable peer that did not log on, described, once they have ended.
    pub(crate) failed: Vec<String>,
}

/// Totals over the proxy's life.
#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    bytes: AtomicU64,
}

/// A live connection: its control block and its two threads.
type Link = (Arc<Control>, Vec<JoinHandle<()>>);

struct Shared {
    target: SocketAddr,
    stop: AtomicBool,
    fault: Mutex<Fault>,
    counters: Counters,
    live: Mutex<Vec<Link>>,
    /// Every connection accepted, for [`FaultProxy::attempts`].
    all: Mutex<Vec<Arc<Control>>>,
}

/// A TCP proxy on loopback that injects [`Fault`]s.
pub(crate) struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `target` (a loopback address), forwarding faithfully.
    pub(crate) fn start(target: SocketAddr) -> Self {
        assert!(
            target.ip().is_loopback(),
            "the proxy forwards to loopback only"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            target,
            stop: AtomicBool::new(false),
            fault: Mutex::new(Fault::None),
            counters: Counters::default(),
            live: Mutex::new(Vec::new()),
            all: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || accept_loop(&listener, &accepting))
            .expect("spawn the proxy thread");
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The port clients connect to.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The fault of every connection accepted from now on.
    pub(crate) fn set_fault(&self, fault: Fault) {
        *lock(&self.shared.fault) = fault;
    }

    /// Resets every live connection (RST to both peers).
    pub(crate) fn reset_all(&self) {
        for (control, _) in lock(&self.shared.live).iter() {
            control.sabotage();
            control.reset.store(true, Ordering::Release);
        }
    }

    /// Resets every live connection once it has forwarded `extra` more bytes: with `extra`
    /// smaller than the next message, the reset falls inside it.
    pub(crate) fn reset_all_after(&self, extra: usize) {
        for (control, _) in lock(&self.shared.live).iter() {
            control.sabotage();
            let at = control.forwarded.load(Ordering::Acquire) + extra;
            control.reset_at.store(at, Ordering::Release);
        }
    }

    /// Stops forwarding on every live connection, keeping the sockets open.
    pub(crate) fn stall_all(&self) {
        for (control, _) in lock(&self.shared.live).iter() {
            control.sabotage();
            control.stall.store(true, Ordering::Release);
        }
    }

    /// Forwards again on every live connection.
    pub(crate) fn resume_all(&self) {
        for (control, _) in lock(&self.shared.live).iter() {
            control.stall.store(false, Ordering::Release);
        }
    }

    /// Connections accepted so far.
    pub(crate) fn connections(&self) -> u64 {
        self.shared.counters.connections.load(Ordering::Relaxed)
    }

    /// Bytes forwarded so far, both directions.
    pub(crate) fn bytes(&self) -> u64 {
        self.shared.counters.bytes.load(Ordering::Relaxed)
    }

    /// What became of every connection accepted so far.
    pub(crate) fn attempts(&self) -> Attempts {
        let mut attempts = Attempts::default();
        for control in lock(&self.shared.all).iter() {
            let clean = matches!(
                control.fault,
                Fault::None | Fault::Delay(_) | Fault::OneByteWrites
            );
            if clean && !control.sabotaged.load(Ordering::Acquire) {
                attempts.reachable += 1;
                if control.logged_on.load(Ordering::Acquire) {
                    attempts.logged_on += 1;
                } else {
                    attempts.failed.push(format!(
                        "{:?}, {} bytes forwarded, closed {}, reset {}",
                        control.fault,
                        control.forwarded.load(Ordering::Acquire),
                        control.closed.load(Ordering::Acquire),
                        control.reset.load(Ordering::Acquire)
                    ));
                }
            } else {
                attempts.sabotaged += 1;
            }
        }
        attempts
    }

    /// Connections whose threads still run.
    pub(crate) fn live(&self) -> usize {
        let mut live = lock(&self.shared.live);
        reap(&mut live);
        live.len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let live = std::mem::take(&mut *lock(&self.shared.live));
        for (_, threads) in live {
            for thread in threads {
                let _ = thread.join();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Joins the threads of connections that have ended.
fn reap(live: &mut Vec<Link>) {
    live.retain(|(_, threads)| !threads.iter().all(JoinHandle::is_finished));
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                let fault = *lock(&shared.fault);
                open(client, fault, shared);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
            Err(_) => thread::sleep(TICK),
        }
    }
}

/// Sets up one proxied connection: the upstream socket and the two forwarding threads.
fn open(client: TcpStream, fault: Fault, shared: &Arc<Shared>) {
    let control = Arc::new(Control {
        fault,
        stall: AtomicBool::new(fault == Fault::Stall),
        reset: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        forwarded: AtomicUsize::new(0),
        reset_at: AtomicUsize::new(match fault {
            Fault::Reset { after } => after,
            _ => usize::MAX,
        }),
        close_at: AtomicUsize::new(match fault {
            Fault::CloseAfter(after) => after,
            _ => usize::MAX,
        }),
        logged_on: AtomicBool::new(false),
        sabotaged: AtomicBool::new(false),
    });
    lock(&shared.all).push(Arc::clone(&control));
    if fault == Fault::Refuse {
        let _ = SockRef::from(&client).set_linger(Some(Duration::ZERO));
        return;
    }
    let Ok(upstream) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(2)) else {
        let _ = SockRef::from(&client).set_linger(Some(Duration::ZERO));
        return;
    };
    for socket in [&client, &upstream] {
        let _ = socket.set_nonblocking(false);
        let _ = socket.set_read_timeout(Some(TICK));
        let _ = socket.set_write_timeout(Some(TICK));
        let _ = socket.set_nodelay(true);
    }
    let client = Arc::new(client);
    let upstream = Arc::new(upstream);
    // Listed before a byte is forwarded: a test that saw the Logon pass and then resets,
    // stalls or closes every live connection must find this one among them.
    let mut live = lock(&shared.live);
    reap(&mut live);
    let mut threads = Vec::new();
    for (from, to, downstream) in [
        (Arc::clone(&client), Arc::clone(&upstream), false),
        (upstream, client, true),
    ] {
        let (pumping, shared) = (Arc::clone(&control), Arc::clone(shared));
        let spawned = thread::Builder::new()
            .name("fault-proxy-pump".into())
            .spawn(move || pump(&from, &to, downstream, &pumping, &shared));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(_) => control.reset.store(true, Ordering::Release),
        }
    }
    live.push((control, threads));
}

/// Forwards `from` → `to` until either side ends, the connection is reset or closed by its
/// fault, or the proxy stops. `downstream` is the target-to-client direction, where the
/// acceptor's Logon shows that the session logged on.
fn pump(from: &TcpStream, to: &TcpStream, downstream: bool, control: &Control, shared: &Shared) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if shared.stop.load(Ordering::Acquire) || control.closed.load(Ordering::Acquire) {
            break;
        }
        if control.reset.load(Ordering::Acquire) {
            break;
        }
        if control.stall.load(Ordering::Acquire) {
            thread::sleep(TICK);
            continue;
        }
        let n = match (&*from).read(&mut buf) {
            Ok(0) => {
                control.closed.store(true, Ordering::Release);
                break;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => {
                control.closed.store(true, Ordering::Release);
                break;
            }
        };
        if downstream && buf[..n].windows(6).any(|w| w == b"\x0135=A\x01") {
            control.logged_on.store(true, Ordering::Release);
        }
        if !forward(&mut buf[..n], to, control, shared) {
            break;
        }
    }
    finish(from, to, control);
}

/// Applies the connection's fault to one chunk and writes it; false once the connection
/// must end.
fn forward(chunk: &mut [u8], to: &TcpStream, control: &Control, shared: &Shared) -> bool {
    let start = control.forwarded.fetch_add(chunk.len(), Ordering::AcqRel);
    let reset_at = control.reset_at.load(Ordering::Acquire);
    let close_at = control.close_at.load(Ordering::Acquire);
    let (limit, then_reset) = (reset_at.min(close_at), reset_at <= close_at);
    let mut len = chunk.len();
    let mut end = false;
    if start + len >= limit {
        len = limit.saturating_sub(start);
        end = true;
    }
    match control.fault {
        Fault::Delay(delay) => sleep_bounded(delay, control, shared),
        Fault::Corrupt { after, once } => {
            for (i, byte) in chunk[..len].iter_mut().enumerate() {
                let at = start + i;
                if at == after || (!once && at > after && (at - after).is_multiple_of(64)) {
                    *byte ^= 0xFF;
                }
            }
        }
        _ => {}
    }
    let written = if control.fault == Fault::OneByteWrites {
        chunk[..len]
            .chunks(1)
            .all(|byte| write_all(to, byte, control, shared))
    } else {
        write_all(to, &chunk[..len], control, shared)
    };
    shared
        .counters
        .bytes
        .fetch_add(len as u64, Ordering::Relaxed);
    if end {
        if then_reset {
            control.reset.store(true, Ordering::Release);
        } else {
            control.closed.store(true, Ordering::Release);
        }
    }
    written && !end
}

/// Writes all of `bytes`, giving up when the connection or the proxy stops.
fn write_all(to: &TcpStream, mut bytes: &[u8], control: &Control, shared: &Shared) -> bool {
    while !bytes.is_empty() {
        if shared.stop.load(Ordering::Acquire)
            || control.reset.load(Ordering::Acquire)
            || control.closed.load(Ordering::Acquire)
        {
            return false;
        }
        match (&*to).write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                control.closed.store(true, Ordering::Release);
                return false;
            }
        }
    }
    true
}

fn sleep_bounded(delay: Duration, control: &Control, shared: &Shared) {
    let end = std::time::Instant::now() + delay;
    while std::time::Instant::now() < end
        && !shared.stop.load(Ordering::Acquire)
        && !control.reset.load(Ordering::Acquire)
    {
        thread::sleep(TICK.min(end.saturating_duration_since(std::time::Instant::now())));
    }
}

/// Ends one direction: a reset makes the last close send RST; an orderly end shuts both
/// sockets down so that the other direction's thread sees it at once.
fn finish(from: &TcpStream, to: &TcpStream, control: &Control) {
    if control.reset.load(Ordering::Acquire) {
        for socket in [from, to] {
            let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
        }
    } else {
        control.closed.store(true, Ordering::Release);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }
}

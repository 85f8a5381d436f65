//! The floor: a raw non-blocking socket ping-pong over loopback, no FIX and no engine.
//!
//! Two threads (pinned to the two benchmark cores when there are two) each spin on `recv` of
//! a non-blocking TCP_NODELAY socket: the client sends an order-sized message and waits for
//! an ExecutionReport-sized answer, the server answers each message in full.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::order::EXECUTION_REPORT_BYTES;
use super::pin::pin_current;
use super::{BenchError, Measured, Options, Scenario, nanos, new_histogram, scheduled};

/// What the threads share with the watching thread.
struct Shared {
    done: AtomicU64,
    abort: AtomicBool,
    /// Yield while spinning: both threads share one core.
    yielding: bool,
}

pub(super) fn run(
    scenario: Scenario,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Measured, BenchError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| BenchError::Io { what, source }
    };
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("baseline: bind 127.0.0.1"))?;
    let addr = listener
        .local_addr()
        .map_err(io("baseline: local address"))?;
    listener
        .set_nonblocking(true)
        .map_err(io("baseline: non-blocking listener"))?;
    let shared = Arc::new(Shared {
        done: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        yielding: options.cores.is_none(),
    });
    let (server_core, client_core) = match options.cores {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let order_size = options.size.max(1);
    let server = spawn("fixring-bench-server", {
        let shared = Arc::clone(&shared);
        move || serve(&listener, server_core, order_size, &shared)
    })?;
    let client = spawn("fixring-bench-client", {
        let shared = Arc::clone(&shared);
        let options = options.clone();
        move || {
            let stream = TcpStream::connect(addr).map_err(io("baseline: connect"))?;
            ping(stream, client_core, &options, &shared)
        }
    })?;

    let total = options.total();
    let mut last = (0, Instant::now());
    while !client.is_finished() {
        thread::sleep(Duration::from_millis(100));
        let done = shared.done.load(Ordering::Relaxed);
        progress(done, total);
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() >= options.stall {
            shared.abort.store(true, Ordering::Relaxed);
            let _ = client.join();
            let _ = server.join();
            return Err(BenchError::Stalled {
                scenario: scenario.name.to_owned(),
                waiting_for: format!("round trip {} of {total}", done + 1),
                waited: options.stall,
            });
        }
    }
    let measured = join(client);
    shared.abort.store(true, Ordering::Relaxed);
    let served = join(server);
    let (histogram, elapsed) = measured?;
    served?;
    Ok(Measured {
        scenario,
        histogram,
        elapsed,
    })
}

fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<JoinHandle<Result<T, BenchError>>, BenchError> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map_err(|e| BenchError::Thread(e.to_string()))
}

fn join<T>(thread: JoinHandle<Result<T, BenchError>>) -> Result<T, BenchError> {
    thread
        .join()
        .unwrap_or_else(|_| Err(BenchError::Thread("a baseline thread panicked".to_owned())))
}

fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)
}

/// Accepts one connection and answers every `order_size` bytes with an ExecutionReport's
/// worth, until the client closes.
fn serve(
    listener: &TcpListener,
    core: Option<usize>,
    order_size: usize,
    shared: &Shared,
) -> Result<(), BenchError> {
    pin_current(core)?;
    let io = |what: &'static str| {
        move |source| BenchError::Io {
            what: format!("baseline server: {what}"),
            source,
        }
    };
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if shared.abort.load(Ordering::Relaxed) {
                    return Ok(());
                }
                thread::sleep(Duration::from_micros(100));
            }
            Err(e) => return Err(io("accept")(e)),
        }
    };
    prepare(&stream).map_err(io("socket options"))?;
    let mut order = vec![0u8; order_size];
    let reply = vec![b'8'; EXECUTION_REPORT_BYTES];
    loop {
        if !read_full(&mut stream, &mut order, shared).map_err(io("recv"))? {
            return Ok(());
        }
        write_full(&mut stream, &reply, shared).map_err(io("send"))?;
    }
}

/// Sends `total` orders and times each answer.
fn ping(
    mut stream: TcpStream,
    core: Option<usize>,
    options: &Options,
    shared: &Shared,
) -> Result<(Histogram<u64>, Duration), BenchError> {
    pin_current(core)?;
    let io = |what: &'static str| {
        move |source| BenchError::Io {
            what: format!("baseline client: {what}"),
            source,
        }
    };
    prepare(&stream).map_err(io("socket options"))?;
    let mut histogram = new_histogram()?;
    let order = vec![b'D'; options.size.max(1)];
    let mut reply = vec![0u8; EXECUTION_REPORT_BYTES];
    let interval = options.interval();
    let total = options.total();
    let start = Instant::now();
    let mut measured_from = start;
    for n in 0..total {
        let sent = match interval {
            // Open loop: wait for the intended time, and count from it even when late.
            Some(interval) => {
                let intended = scheduled(start, interval, n);
                wait_until(intended, true);
                intended
            }
            None => Instant::now(),
        };
        if n == options.warmup {
            measured_from = sent;
        }
        write_full(&mut stream, &order, shared).map_err(io("send"))?;
        if !read_full(&mut stream, &mut reply, shared).map_err(io("recv"))? {
            return Err(BenchError::Protocol(
                "baseline: the server closed the connection".to_owned(),
            ));
        }
        if n >= options.warmup {
            histogram.saturating_record(nanos(sent.elapsed()));
        }
        shared.done.store(n + 1, Ordering::Relaxed);
    }
    Ok((histogram, measured_from.elapsed()))
}

/// Waits until `at`: sleeps until shortly before it, then spins when `spin` (the thread has
/// a core of its own), else sleeps all the way (and wakes up to tens of microseconds late).
pub(super) fn wait_until(at: Instant, spin: bool) {
    const SPIN: Duration = Duration::from_micros(60);
    loop {
        let now = Instant::now();
        if now >= at {
            return;
        }
        let left = at - now;
        if !spin {
            thread::sleep(left);
        } else if left > SPIN {
            thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Fills `buf`, spinning on `WouldBlock`; `false` when the peer closed first or the run was
/// aborted.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shared: &Shared) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match stream.read(rest) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                if shared.abort.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                if shared.yielding {
                    thread::yield_now();
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Writes all of `buf`, spinning on `WouldBlock`.
fn write_full(stream: &mut TcpStream, buf: &[u8], shared: &Shared) -> io::Result<()> {
    let mut written = 0;
    while written < buf.len() {
        let Some(rest) = buf.get(written..) else {
            break;
        };
        match stream.write(rest) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                if shared.abort.load(Ordering::Relaxed) {
                    return Err(io::Error::new(ErrorKind::TimedOut, "aborted"));
                }
                if shared.yielding {
                    thread::yield_now();
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

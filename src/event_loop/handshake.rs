//! TLS handshakes of sockets that have not logged on, run off the loop.
//!
//! A ClientHello costs its sender nothing and the server a signature: from tens of
//! microseconds (ECDSA) to a millisecond or two (RSA 2048). Run on the loop, a stream of them
//! from one cheap client would hold up every session the loop serves. Instead the loop takes
//! each handshake step of a socket waiting for its Logon ([`Router::take_handshake`]) and
//! hands it to a thread of its own, started at the first, which runs at the lowest nice
//! value (19) on the cores the process may use other than the loops' (`EventLoopCores`), or
//! on all of them when there is no other. Beside a pinned loop on its core, a thread signing
//! a stream of ClientHellos delayed the loop's wake-ups by up to milliseconds, nice 19 or
//! not; on the other cores it takes the time they leave, and, unlike `SCHED_IDLE`, it is
//! never starved outright by a busy host, so a counterparty's TLS Logon always gets through.
//! The step comes back through the thread's queue and wakes the loop, which sends the answer
//! and routes the socket's Logon.
//!
//! Steps wait newest first, so a counterparty's handshake does not queue behind a flood's,
//! and at most [`WAITING_LIMIT`] of them: beyond that the oldest is dropped unrun and its
//! socket refused.
//!
//! [`Router::take_handshake`]: fixring_core::connection::Router::take_handshake

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use fixring_core::connection::HandshakeStep;
use fixring_io::{ConnId, Wake};

/// The most handshake steps that wait for the thread; beyond, the oldest is dropped. A
/// hundred RSA 2048 signatures are about a tenth of a second of a core.
const WAITING_LIMIT: usize = 128;

/// The steps waiting to run, newest last, and those that ran.
#[derive(Default)]
struct Queue {
    waiting: Vec<(ConnId, HandshakeStep)>,
    done: Vec<(ConnId, HandshakeStep)>,
    /// Set when the loop drops its end: the thread stops.
    closed: bool,
}

/// What the loop and its handshake thread share.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a step is added or the queue closes.
    added: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A step that panicked leaves the queue consistent: go on with it.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A loop's handshake thread, once it has one, and the steps in flight.
pub(super) struct Handshakes<W> {
    waker: W,
    /// The cores the thread keeps off where it can: every loop's.
    loop_cores: Vec<usize>,
    shared: Option<Arc<Shared>>,
    /// Steps handed over and not taken back yet: without any, a turn does not look.
    outstanding: usize,
}

impl<W: Wake + Clone> Handshakes<W> {
    /// No thread yet; the first step starts it, off `loop_cores` where the process has
    /// another core. Its finished steps wake the loop through `waker`.
    pub(super) fn new(waker: W, loop_cores: Vec<usize>) -> Self {
        Self {
            waker,
            loop_cores,
            shared: None,
            outstanding: 0,
        }
    }

    /// Hands `step` of socket `conn` to the thread. Returns a step dropped unrun to make
    /// room (the oldest waiting, or `step` itself when the thread cannot be started), with
    /// why: refuse its socket.
    pub(super) fn submit(
        &mut self,
        conn: ConnId,
        step: HandshakeStep,
    ) -> Option<(ConnId, HandshakeStep, String)> {
        let shared = match &self.shared {
            Some(shared) => Arc::clone(shared),
            None => match self.spawn() {
                Ok(shared) => {
                    self.shared = Some(Arc::clone(&shared));
                    shared
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot start the TLS handshake thread");
                    let reason = format!("the handshake thread cannot be started: {error}");
                    return Some((conn, step, reason));
                }
            },
        };
        let mut queue = shared.lock();
        queue.waiting.push((conn, step));
        self.outstanding += 1;
        let dropped = if queue.waiting.len() > WAITING_LIMIT {
            self.outstanding -= 1;
            let (conn, step) = queue.waiting.remove(0);
            let reason = format!("{WAITING_LIMIT} handshakes were waiting for the thread");
            Some((conn, step, reason))
        } else {
            None
        };
        drop(queue);
        shared.added.notify_one();
        dropped
    }

    /// Whether a step has run and waits to be taken back.
    pub(super) fn has_done(&self) -> bool {
        self.outstanding > 0
            && self
                .shared
                .as_ref()
                .is_some_and(|shared| !shared.lock().done.is_empty())
    }

    /// Takes back every step that has run, in the order they ran.
    pub(super) fn take_done(&mut self, into: &mut Vec<(ConnId, HandshakeStep)>) {
        if self.outstanding == 0 {
            return;
        }
        if let Some(shared) = &self.shared {
            let mut queue = shared.lock();
            self.outstanding -= queue.done.len();
            into.append(&mut queue.done);
        }
    }

    fn spawn(&self) -> std::io::Result<Arc<Shared>> {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let waker = self.waker.clone();
        let loop_cores = self.loop_cores.clone();
        std::thread::Builder::new()
            .name("fixring-handshake".to_owned())
            .spawn(move || {
                run_in_the_background(&loop_cores);
                serve(&theirs, &waker);
            })?;
        Ok(shared)
    }
}

impl<W> Drop for Handshakes<W> {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.lock().closed = true;
            shared.added.notify_one();
        }
    }
}

/// The thread's body: runs the newest waiting step, gives it back, wakes the loop; ends
/// once the loop has gone.
fn serve(shared: &Shared, waker: &impl Wake) {
    loop {
        let mut queue = shared.lock();
        let (conn, mut step) = loop {
            if queue.closed {
                return;
            }
            if let Some(next) = queue.waiting.pop() {
                break next;
            }
            queue = shared
                .added
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(queue);
        step.run();
        shared.lock().done.push((conn, step));
        waker.wake();
    }
}

/// Gives the calling thread the lowest nice value, 19, and the cores the process may use
/// other than `loop_cores` (a thread starts on its parent's cores, and a loop may be pinned
/// to one), or all of them when the loops' are all there are. Either failing leaves the
/// thread as it was, which is said at `debug`.
fn run_in_the_background(loop_cores: &[usize]) {
    // SAFETY: a zeroed `cpu_set_t` is an empty set, and CPU_ISSET, CPU_SET and CPU_COUNT read
    // or write one within its size; sched_getaffinity writes at most
    // `size_of::<cpu_set_t>()` bytes into the set it is given; pid 0 in sched_setaffinity is
    // the calling thread, and so is its own thread id in setpriority (Linux's nice is per
    // thread).
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut all: libc::cpu_set_t = std::mem::zeroed();
        let read = libc::sched_getaffinity(libc::getpid(), size, &mut all) == 0;
        let mut others: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            if libc::CPU_ISSET(cpu, &all) && !loop_cores.contains(&cpu) {
                libc::CPU_SET(cpu, &mut others);
            }
        }
        let cores = if libc::CPU_COUNT(&others) > 0 {
            &others
        } else {
            &all
        };
        if !read || libc::sched_setaffinity(0, size, cores) != 0 {
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "the handshake thread keeps its parent's cores");
        }
        let thread = libc::gettid() as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, thread, 19) != 0 {
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "the handshake thread keeps the normal CPU priority");
        }
    }
}

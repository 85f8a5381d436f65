//! The engine: event-loop threads, their backends, and the way in from outside.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fixring_core::config::{Settings, Transport};
use fixring_core::{Event, EventKind, SessionId};
use fixring_epoll::EpollBackend;
use fixring_io::{Backend, BackendOptions, Wake};
use fixring_uring::UringBackend;

use crate::application::Application;
use crate::clock::Clock;
use crate::error::EngineError;
use crate::event_loop::{Directory, EventLoop, LoopPlan, Shutdown};
use crate::handle::{Gate, Inbox, Queued, SessionHandle};
use crate::message_log::{self, LogWriter, LoopLog};
use crate::stats::{LatencyStats, LoopCounters, Published};
use crate::status::{LoopSnapshot, LoopView, StatusServer};

/// Messages a loop's queue holds before [`SessionHandle::send`] reports it full.
const QUEUE_CAPACITY: usize = 4096;

/// The longest [`Engine::latency`] waits for the loops' next hand-over: a loop turns at least
/// every 100 ms and hands over at most every 100 ms.
const FRESH_WITHIN: Duration = Duration::from_millis(250);

/// Which I/O backend an event loop runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// io_uring.
    Uring,
    /// epoll.
    Epoll,
}

impl BackendKind {
    /// `uring` or `epoll`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        }
    }
}

/// What a loop reports once it is set up.
struct Ready {
    backend: BackendKind,
    waker: Arc<dyn Wake>,
    listen_addrs: Vec<SocketAddr>,
    sessions: Directory,
}

struct Running {
    threads: Vec<JoinHandle<Result<(), EngineError>>>,
    shutdown: Arc<Shutdown>,
    loops: Vec<LoopInfo>,
    /// The message log's writer, finished once every loop has ended.
    log: Option<LogWriter>,
    /// The status server (`HttpAcceptPort`), stopped once every loop has ended.
    status: Option<StatusServer>,
}

struct LoopInfo {
    backend: BackendKind,
    stats: Arc<Published>,
    waker: Arc<dyn Wake>,
    queue: SyncSender<Queued>,
    gate: Arc<Gate>,
    listen_addrs: Vec<SocketAddr>,
    sessions: Directory,
    /// What the loop publishes for the status server, with `HttpAcceptPort`.
    status: Option<Arc<Mutex<LoopSnapshot>>>,
}

/// A FIX connection engine: acceptors and initiators on pinned event loops.
///
/// ```no_run
/// use fixring::{Application, Engine};
///
/// #[derive(Clone)]
/// struct Quiet;
/// impl Application for Quiet {}
///
/// let mut engine = Engine::from_file("fixring.cfg".as_ref(), Quiet)?;
/// engine.start()?;
/// // … trade …
/// engine.stop();
/// engine.wait()?;
/// # Ok::<(), fixring::EngineError>(())
/// ```
pub struct Engine<A: Application + Clone> {
    settings: Settings,
    app: A,
    backend: BackendOptions,
    running: Option<Running>,
}

impl<A: Application + Clone> Engine<A> {
    /// An engine for `settings`, calling `app` (one clone per event loop; wrap it in
    /// [`crate::Synchronized`] to share one object).
    pub fn new(settings: Settings, app: A) -> Self {
        let backend = BackendOptions {
            busy_poll: settings.engine.busy_poll,
            ..BackendOptions::default()
        };
        Self {
            settings,
            app,
            backend,
            running: None,
        }
    }

    /// An engine for the settings file at `path`.
    pub fn from_file(path: &Path, app: A) -> Result<Self, EngineError> {
        let settings = Settings::load(path).map_err(EngineError::Settings)?;
        Ok(Self::new(settings, app))
    }

    /// Changes how the backends are set up (buffer sizes, connection limit, SQPOLL).
    pub fn set_backend_options(&mut self, options: BackendOptions) {
        self.backend = options;
    }

    /// The settings the engine runs.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Starts the event loops: binds every acceptor port and starts every initiator.
    ///
    /// Fails with [`EngineError::PortBindFailed`] when a port cannot be bound (after
    /// reporting `fix.connection.error`), and with other errors when a loop cannot be set up.
    /// Nothing is left running on failure.
    pub fn start(&mut self) -> Result<(), EngineError> {
        if self.running.is_some() {
            return Err(EngineError::AlreadyStarted);
        }
        self.settings
            .load_dictionaries()
            .map_err(EngineError::Settings)?;
        let plans = LoopPlan::split(&self.settings, self.backend)?;
        raise_descriptor_limit();
        let status_listener = match self.settings.engine.http_accept {
            Some(addr) => Some(
                StatusServer::bind(addr)
                    .map_err(|source| EngineError::StatusBindFailed { addr, source })?,
            ),
            None => None,
        };
        let (mut loop_logs, log) = match message_log::open(&plans)? {
            Some((loops, writer)) => (loops, Some(writer)),
            None => (Vec::new(), None),
        };
        // Calibrated here, so that no loop's first message pays for it.
        crate::stamp::calibrate();
        let clock = Clock::start();
        let shutdown = Arc::new(Shutdown::default());
        let mut threads = Vec::new();
        let mut loops = Vec::new();
        let mut failure = None;
        for (number, plan) in plans.into_iter().enumerate() {
            let (queue_tx, queue_rx) = mpsc::sync_channel(QUEUE_CAPACITY);
            let gate = Arc::new(Gate::default());
            let inbox = Inbox {
                receiver: queue_rx,
                gate: Arc::clone(&gate),
            };
            let (ready_tx, ready_rx) = mpsc::channel();
            let app = self.app.clone();
            let transport = self.settings.engine.transport;
            let loop_shutdown = Arc::clone(&shutdown);
            let stats = Arc::new(Published::new());
            let loop_stats = Arc::clone(&stats);
            let loop_log = loop_logs.get_mut(number).and_then(Option::take);
            let status = status_listener
                .as_ref()
                .map(|_| Arc::new(Mutex::new(LoopSnapshot::default())));
            let loop_status = status.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("fixring-loop-{number}"))
                .spawn(move || {
                    let shared = LoopShared {
                        queue: inbox,
                        shutdown: loop_shutdown,
                        stats: loop_stats,
                        ready: ready_tx,
                        log: loop_log,
                        status: loop_status,
                    };
                    run_loop(plan, transport, app, clock, shared)
                });
            let thread = match spawned {
                Ok(thread) => thread,
                Err(source) => {
                    failure = Some(EngineError::Thread(source));
                    break;
                }
            };
            threads.push(thread);
            match ready_rx.recv() {
                Ok(ready) => loops.push(LoopInfo {
                    backend: ready.backend,
                    stats,
                    waker: ready.waker,
                    queue: queue_tx,
                    gate,
                    listen_addrs: ready.listen_addrs,
                    sessions: ready.sessions,
                    status,
                }),
                // The loop failed before it was ready; its error comes back through join.
                Err(_) => {
                    failure = threads.pop().map(join_error);
                    break;
                }
            }
        }
        let status = match (failure.is_none(), status_listener) {
            (true, Some(listener)) => match StatusServer::start(listener, status_views(&loops)) {
                Ok(server) => Some(server),
                Err(source) => {
                    failure = Some(EngineError::Thread(source));
                    None
                }
            },
            _ => None,
        };
        let running = Running {
            threads,
            shutdown,
            loops,
            log,
            status,
        };
        if let Some(error) = failure {
            stop_all(&running);
            for thread in running.threads {
                let _ = thread.join();
            }
            if let Some(log) = running.log {
                log.finish();
            }
            return Err(error);
        }
        self.running = Some(running);
        Ok(())
    }

    /// Asks every loop to stop gracefully: Logout on every logged-on session, bounded by
    /// LogoutTimeout, then every socket closed and `fix.connection.stopped` reported. Returns at
    /// once; [`Engine::wait`] waits for the end.
    pub fn stop(&self) {
        if let Some(running) = &self.running {
            stop_all(running);
        }
    }

    /// Waits until every loop has ended (after [`Engine::stop`], or a loop failure), then
    /// until the message log has written and synced every line the loops handed over.
    pub fn wait(&mut self) -> Result<(), EngineError> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        let mut result = Ok(());
        for thread in running.threads {
            let outcome = thread.join().unwrap_or(Err(EngineError::LoopPanicked));
            if result.is_ok() {
                result = outcome;
            }
        }
        if let Some(log) = running.log {
            log.finish();
        }
        if let Some(status) = running.status {
            status.stop();
        }
        result
    }

    /// A handle to send into `session` from any thread, once the engine is started.
    pub fn handle(&self, session: &SessionId) -> Option<SessionHandle> {
        let running = self.running.as_ref()?;
        running.loops.iter().find_map(|info| {
            let sessions = info.sessions.read().unwrap_or_else(PoisonError::into_inner);
            let index = sessions.iter().position(|id| id == session)?;
            Some(SessionHandle::new(
                session.clone(),
                index,
                info.queue.clone(),
                Arc::clone(&info.gate),
                Arc::clone(&info.waker),
            ))
        })
    }

    /// The backend each running loop uses (io_uring, or epoll after a fallback).
    pub fn backends(&self) -> Vec<BackendKind> {
        self.running
            .iter()
            .flat_map(|r| r.loops.iter().map(|l| l.backend))
            .collect()
    }

    /// The latency histograms of every loop, added together: inbound (receive → application
    /// callback) and outbound (hand-over → write started), in nanoseconds: everything recorded
    /// until the call. Loops hand what they record over every 100 ms, without waiting for a
    /// reader; the call waits for each loop's next hand-over (about 100 ms, at most
    /// 250 ms).
    pub fn latency(&self) -> LatencyStats {
        let loops: Vec<_> = self
            .running
            .iter()
            .flat_map(|r| r.loops.iter())
            .map(|info| &info.stats)
            .collect();
        // Take what is handed over, which lets each loop hand over again, then wait for that.
        let seen: Vec<u64> = loops.iter().map(|stats| stats.swaps()).collect();
        for stats in &loops {
            drop(stats.latency());
        }
        let deadline = Instant::now() + FRESH_WITHIN;
        while !loops
            .iter()
            .zip(&seen)
            .all(|(stats, &seen)| stats.handed_over_since(seen))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut total = LatencyStats::new();
        for stats in &loops {
            total.add(&stats.latency());
        }
        total
    }

    /// What each running loop has spent so far, in the order of the loops: its backend's
    /// system calls (published every turn) and its thread's CPU time (read now).
    pub fn loop_counters(&self) -> Vec<LoopCounters> {
        self.running
            .iter()
            .flat_map(|r| r.loops.iter().map(|l| l.stats.counters()))
            .collect()
    }

    /// The address of the status page, `/metrics` and `/status.json` (`HttpAcceptPort`),
    /// while the engine runs: with port 0, the port taken.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.running
            .as_ref()?
            .status
            .as_ref()
            .map(StatusServer::addr)
    }

    /// The addresses the acceptors listen on.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.running
            .iter()
            .flat_map(|r| r.loops.iter().flat_map(|l| l.listen_addrs.iter().copied()))
            .collect()
    }
}

impl<A: Application + Clone> Drop for Engine<A> {
    fn drop(&mut self) {
        self.stop();
        let _ = self.wait();
    }
}

fn stop_all(running: &Running) {
    running.shutdown.request();
    for info in &running.loops {
        info.waker.wake();
    }
}

/// What the status server reads of each loop.
fn status_views(loops: &[LoopInfo]) -> Vec<LoopView> {
    loops
        .iter()
        .enumerate()
        .filter_map(|(number, info)| {
            Some(LoopView {
                number,
                sessions: Arc::clone(&info.sessions),
                snapshot: Arc::clone(info.status.as_ref()?),
                latency: Arc::clone(&info.stats),
            })
        })
        .collect()
}

fn join_error(thread: JoinHandle<Result<(), EngineError>>) -> EngineError {
    match thread.join() {
        Ok(Err(error)) => error,
        Ok(Ok(())) => EngineError::LoopPanicked,
        Err(_) => EngineError::LoopPanicked,
    }
}

/// What a loop thread shares with the engine.
struct LoopShared {
    queue: Inbox,
    shutdown: Arc<Shutdown>,
    stats: Arc<Published>,
    ready: mpsc::Sender<Ready>,
    /// The loop's end of the message log, when one of its sessions logs.
    log: Option<LoopLog>,
    /// What the loop publishes for the status server, with `HttpAcceptPort`.
    status: Option<Arc<Mutex<LoopSnapshot>>>,
}

/// The body of a loop thread: pin, pick the backend, set up, report ready, run.
fn run_loop<A: Application>(
    plan: LoopPlan,
    transport: Transport,
    mut app: A,
    clock: Clock,
    shared: LoopShared,
) -> Result<(), EngineError> {
    if let Some(core) = plan.core {
        let pinned = core_affinity::get_core_ids()
            .and_then(|ids| ids.into_iter().find(|id| id.id == core))
            .is_some_and(core_affinity::set_for_current);
        if !pinned {
            return Err(EngineError::Pin { core });
        }
    }
    let options = plan.backend;
    if transport != Transport::Epoll {
        match UringBackend::new(&options) {
            Ok(backend) => return drive(backend, BackendKind::Uring, app, plan, clock, shared),
            Err(error) if transport == Transport::Auto && fixring_io::is_unavailable(&error) => {
                tracing::warn!(%error, "io_uring is not available; falling back to epoll");
                let kind = EventKind::BackendFallback {
                    reason: error.to_string(),
                };
                app.on_event(&Event::new(clock.wall().utc_at(clock.now()), kind));
            }
            Err(source) => return Err(EngineError::Backend(source)),
        }
    }
    let backend = EpollBackend::new(&options).map_err(EngineError::Backend)?;
    drive(backend, BackendKind::Epoll, app, plan, clock, shared)
}

fn drive<B: Backend, A: Application>(
    backend: B,
    kind: BackendKind,
    app: A,
    plan: LoopPlan,
    clock: Clock,
    shared: LoopShared,
) -> Result<(), EngineError> {
    let waker: Arc<dyn Wake> = Arc::new(backend.waker());
    let sessions: Directory = Arc::new(RwLock::new(
        plan.sessions.iter().map(|s| s.id.clone()).collect(),
    ));
    let LoopShared {
        queue,
        shutdown,
        stats,
        ready,
        log,
        status,
    } = shared;
    let parts = crate::event_loop::Shared {
        queue,
        shutdown,
        stats,
        log,
        status,
        directory: Arc::clone(&sessions),
    };
    let event_loop = EventLoop::new(backend, app, clock, plan, parts)?;
    let listen_addrs = event_loop.listen_addrs();
    // The receiver is gone only if start() gave up; the loop then stops by its flag.
    let _ = ready.send(Ready {
        backend: kind,
        waker,
        listen_addrs,
        sessions,
    });
    event_loop.run().map_err(EngineError::Backend)
}

/// Raises the soft descriptor limit to the hard one, once per process, and says so: every
/// connection, and every socket that waits for one during a flood, holds a descriptor.
fn raise_descriptor_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| match fixring_io::limits::raise_nofile() {
        Ok(fixring_io::limits::NofileLimit::Raised { from, to }) => {
            tracing::info!(from, to, "raised the soft RLIMIT_NOFILE to the hard limit");
        }
        Ok(fixring_io::limits::NofileLimit::Unchanged(limit)) => {
            tracing::debug!(limit, "RLIMIT_NOFILE is already at the hard limit");
        }
        Err(error) => {
            tracing::warn!(%error, "the soft RLIMIT_NOFILE could not be raised to the hard limit");
        }
    });
}

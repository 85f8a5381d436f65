//! One event loop: a thread that owns a backend, some sessions and their connections.
//!
//! The loop is the only place where the core's state machines meet the sockets. Each turn it
//! runs expired timers, waits on the backend (by the configured idle policy) until the next
//! deadline, handles what completed, drains messages queued by [`crate::SessionHandle`]s, lets
//! every session it touched write what it has to say, and flushes the backend.

mod completions;
mod conns;
mod dynamic;
mod handshake;
mod log;
mod parked;
mod plan;
mod resolve;
mod shutdown;
mod slots;
mod status;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use fixring_core::config::{BusyPoll, ConnectionType, SessionConfig};
use fixring_core::connection::{Port, Router, Template};
use fixring_core::session::SendError;
use fixring_core::tls::server_config;
use fixring_core::{ErrorCode, Event, EventKind, Instant, SessionId};
use fixring_io::{Backend, Completion, ConnId, ListenerId};

use crate::application::Application;
use crate::clock::Clock;
use crate::handle::{Inbox, Queued};
use crate::message_log::LoopLog;
use crate::stamp::Stamp;
use crate::stats::{LoopStats, Published};
use crate::status::{LoopSnapshot, LoopStatus};
use conns::Owners;
pub(crate) use plan::LoopPlan;
use resolve::Resolver;
pub(crate) use shutdown::Shutdown;
use slots::Slot;

/// The longest a loop sleeps without looking at its stop flag and queue.
const MAX_PARK: Duration = Duration::from_millis(100);

/// Idle turns of a spinning loop between two looks at whether publishing is due.
const IDLE_TURNS_PER_PUBLISH: u32 = 64;

/// Idle turns of a spinning loop between two readings of the clock for its timers and its
/// stop flag: a reading is most of an idle turn's cost, and a turn takes tens of
/// nanoseconds, so a timer or a stop is seen within a microsecond or so of being due.
const IDLE_TURNS_PER_CLOCK: u32 = 16;

/// Messages a connection's read hands on, once they have left bytes to send, before the loop
/// writes those and reads on. A burst of orders then gets its first answers out while the
/// rest are handled. See docs/benchmarks.md for what it changed in a flood.
const READ_BATCH: usize = 16;

/// Rounds of writing and reading on a loop makes in one turn for reads that paused; what is
/// left waits for the next turn, which does not wait, so that timers and the other sockets
/// get their turn under a flood of one.
const RESUMES_PER_TURN: usize = 8;

/// Extra time granted after the longest LogoutTimeout before a stop closes what is left.
const STOP_GRACE: Duration = Duration::from_millis(100);

/// A slot whose read paused with whole messages unread.
#[derive(Clone, Copy, Debug)]
struct Paused {
    index: usize,
    /// When its bytes were seen.
    seen: Stamp,
    /// The batch it paused after; it reads twice as many next.
    batch: usize,
}

/// A listening socket; its sessions are the router's port of the same number.
struct Listener {
    id: ListenerId,
    addr: SocketAddr,
}

/// What a loop shares with the engine: the queue of its session handles, the stop flag,
/// its latency histograms, its end of the message log, and the status of its sessions for
/// the status server.
pub(crate) struct Shared {
    pub(crate) queue: Inbox,
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) stats: Arc<Published>,
    pub(crate) log: Option<LoopLog>,
    pub(crate) status: Option<Arc<Mutex<LoopSnapshot>>>,
    /// The identity of each of the loop's sessions, in slot order: the configured ones, then
    /// those its templates made.
    pub(crate) directory: Directory,
}

/// The identity of each of a loop's sessions, in slot order, read by session handles and
/// the status server; the loop adds to it when a template makes a session.
pub(crate) type Directory = Arc<RwLock<Vec<SessionId>>>;

/// An event loop over backend `B`, calling application `A`.
pub(crate) struct EventLoop<B: Backend, A: Application> {
    backend: B,
    app: A,
    clock: Clock,
    slots: Vec<Slot>,
    /// The templates of dynamic sessions of the loop's ports.
    templates: Vec<SessionConfig>,
    /// The identities of the loop's sessions, shared.
    directory: Directory,
    /// The size of each socket's buffers.
    buffer_size: usize,
    listeners: Vec<Listener>,
    /// Accepted sockets until their Logon, and which session each Logon is for.
    router: Router<fixring_io::ConnId>,
    /// Sockets turned away before their Logon during a flood, held open but unread.
    parked: parked::Parked,
    /// Host names to addresses, off the loop.
    resolver: Resolver<B::Waker>,
    owners: Owners,
    queue: Inbox,
    /// A message taken off the queue while checking it before a wait, sent first.
    early: Option<Queued>,
    /// Whether the loop spins (`BusyPoll=spin`): it then polls without waiting and looks at
    /// its queue every turn, so that session handles never need to wake it.
    spins: bool,
    /// Turns a spinning loop found nothing to do, counted to space out its publishing and
    /// its clock readings.
    idle_turns: u32,
    /// The clock's last reading, which a spinning loop's idle turns reuse.
    last_now: Instant,
    shutdown: Arc<Shutdown>,
    /// The kinds of session this loop runs, acceptors first.
    kinds: Vec<ConnectionType>,
    completions: Vec<Completion>,
    /// Sockets not logged on that received bytes this batch, with when the completion came.
    to_route: Vec<(ConnId, Stamp)>,
    /// TLS handshake steps of sockets not logged on, run off the loop.
    handshakes: handshake::Handshakes<B::Waker>,
    /// Reused list of the handshake steps taken back in a turn.
    handshakes_done: Vec<(ConnId, fixring_core::connection::HandshakeStep)>,
    /// Slots that did something this turn and must write and report.
    touched: Vec<usize>,
    /// Slots whose last read paused with whole messages unread (see [`READ_BATCH`]).
    paused: Vec<Paused>,
    /// Slots holding messages that did not fit in their send buffer.
    backlogged: Vec<usize>,
    /// Slots that wrote this turn, whose stores are written ahead once the turn's bytes are
    /// out (see [`fixring_core::session::Session::warm_store`]).
    written: Vec<usize>,
    /// Slots whose session has a file store.
    stored: Vec<usize>,
    /// The earliest deadline known; a full scan refreshes it once it has passed.
    next_deadline: Option<Instant>,
    /// Set once a stop began: when everything must be closed regardless.
    stopping_until: Option<Instant>,
    /// Where outbound messages are encoded before a TLS connection seals them.
    scratch: Vec<u8>,
    /// Latency histograms of this loop.
    stats: LoopStats,
    /// Reused list of hand-over times while a backlog drains.
    stats_scratch: Vec<Stamp>,
    /// Whether a loss of the backend itself ended the loop.
    failed: Option<std::io::Error>,
    /// The loop's end of the message log, when one of its sessions logs.
    log: Option<LoopLog>,
    /// The status of the loop's sessions, with `HttpAcceptPort`.
    status: Option<LoopStatus>,
    /// The reports of listeners backing off for want of descriptors.
    accept_backoffs: AcceptBackoffs,
    /// Whether the batch being handled accepted a socket.
    accepted: bool,
}

/// When a listener's back-off was last reported, and how many came since.
#[derive(Default)]
struct AcceptBackoffs {
    last_report: Option<Instant>,
    unreported: u64,
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Builds the loop: binds its listeners at once, so that a port in use fails start-up.
    pub(crate) fn new(
        mut backend: B,
        mut app: A,
        clock: Clock,
        plan: LoopPlan,
        shared: Shared,
    ) -> Result<Self, crate::EngineError> {
        let Shared {
            queue,
            shutdown,
            stats,
            log,
            status,
            directory,
        } = shared;
        let buffer_size = plan.backend.buffer_size;
        let spins = plan.backend.busy_poll == BusyPoll::Spin;
        let admission = plan.admission();
        let mut listeners = Vec::with_capacity(plan.listeners.len());
        let mut ports = Vec::with_capacity(plan.listeners.len());
        for listener in &plan.listeners {
            let id = match backend.listen(listener.addr, &listener.options) {
                Ok(id) => id,
                Err(source) => {
                    let kind = EventKind::ConnectionError {
                        remote_host: listener.addr.to_string(),
                        code: ErrorCode::PortBindFailed,
                        error_detail: source.to_string(),
                    };
                    app.on_event(&Event::new(clock.wall().utc_at(clock.now()), kind));
                    return Err(crate::EngineError::PortBindFailed {
                        addr: listener.addr,
                        source,
                    });
                }
            };
            let addr = backend.local_addr(id).unwrap_or(listener.addr);
            let sessions = listener
                .slots
                .iter()
                .map(|&i| (i, plan.sessions[i].id.clone()))
                .collect();
            let configs = || {
                let sessions = listener.slots.iter().map(|&i| &plan.sessions[i]);
                sessions.chain(listener.templates.iter().map(|&i| &plan.templates[i]))
            };
            let logon_timeout = configs()
                .map(|config| config.logon_timeout)
                .max()
                .unwrap_or(Duration::from_secs(10));
            let tls = match configs().find_map(|config| config.tls.as_ref()) {
                Some(config) => Some(server_config(config).map_err(|source| {
                    crate::EngineError::AcceptorTls {
                        port: listener.addr.port(),
                        source,
                    }
                })?),
                None => None,
            };
            listeners.push(Listener { id, addr });
            let allowed = listener
                .slots
                .iter()
                .filter_map(|&i| {
                    let addresses = plan.sessions[i].allowed_remote_addresses.clone()?;
                    Some((i, addresses))
                })
                .collect();
            let templates = listener
                .templates
                .iter()
                .map(|&i| Template {
                    number: i,
                    id: plan.templates[i].id.clone(),
                    allowed: plan.templates[i].allowed_remote_addresses.clone(),
                })
                .collect();
            ports.push(Port {
                number: addr.port(),
                sessions,
                logon_timeout,
                tls,
                allowed,
                templates,
            });
        }
        let wall = clock.wall();
        let slots = plan
            .sessions
            .iter()
            .map(|config| Slot::new(config, wall, buffer_size))
            .collect::<Result<Vec<_>, _>>()?;
        let stored = (0..slots.len())
            .filter(|&i| slots[i].file.is_some())
            .collect();
        let mut kinds: Vec<ConnectionType> = Vec::new();
        let templates = plan.templates.iter().map(SessionConfig::connection_type);
        for kind in slots
            .iter()
            .map(|slot| slot.connection.connection_type())
            .chain(templates)
        {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds.sort_by_key(|kind| matches!(kind, ConnectionType::Initiator));
        for &kind in &kinds {
            shutdown.started(kind);
        }
        let resolver = Resolver::new(backend.waker());
        let handshakes = handshake::Handshakes::new(backend.waker(), plan.loop_cores.clone());
        let status =
            status.map(|shared| LoopStatus::new(shared, slots.iter().map(|s| &s.connection)));
        Ok(Self {
            backend,
            app,
            clock,
            slots,
            templates: plan.templates,
            directory,
            buffer_size,
            listeners,
            router: Router::new(ports, buffer_size, admission),
            parked: parked::Parked::new(admission.pressure_logon_timeout),
            resolver,
            owners: Owners::default(),
            queue,
            early: None,
            spins,
            idle_turns: 0,
            last_now: Instant::ZERO,
            shutdown,
            kinds,
            completions: Vec::with_capacity(64),
            to_route: Vec::new(),
            handshakes,
            handshakes_done: Vec::new(),
            touched: Vec::new(),
            paused: Vec::new(),
            backlogged: Vec::new(),
            written: Vec::new(),
            stored,
            next_deadline: None,
            stopping_until: None,
            scratch: vec![0; buffer_size],
            stats: LoopStats::new(stats),
            stats_scratch: Vec::with_capacity(64),
            failed: None,
            log,
            status,
            accept_backoffs: AcceptBackoffs::default(),
            accepted: false,
        })
    }

    /// The address each listener is bound to.
    pub(crate) fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|l| l.addr).collect()
    }

    /// Runs until stopped and every connection is closed.
    pub(crate) fn run(mut self) -> std::io::Result<()> {
        let now = self.clock.now();
        for index in 0..self.slots.len() {
            self.slots[index].connection.start(now);
            self.drain_outputs(index, now);
        }
        self.refresh_deadline();
        loop {
            if !self.spins || self.idle_turns.is_multiple_of(IDLE_TURNS_PER_CLOCK) {
                self.last_now = self.clock.now();
            }
            let now = self.last_now;
            if self.shutdown.is_requested() && self.stopping_until.is_none() {
                self.begin_stop(now);
            }
            if self.next_deadline.is_some_and(|d| d <= now) {
                self.run_timers(now);
            }
            if self.finished(now) {
                break;
            }
            let timeout = match self.next_deadline {
                Some(deadline) => deadline.saturating_duration_since(now).min(MAX_PARK),
                None => MAX_PARK,
            };
            let timeout = self.wait_for(timeout);
            let mut completions = std::mem::take(&mut self.completions);
            let polled = self.backend.poll(Some(timeout), &mut completions);
            self.queue.gate.awake();
            if let Err(error) = polled {
                self.failed = Some(error);
                break;
            }
            if completions.is_empty() && self.idle_spin() {
                self.completions = completions;
                // Reading the clock is most of an idle turn's cost: look at it now and then.
                self.idle_turns = self.idle_turns.wrapping_add(1);
                if self.idle_turns.is_multiple_of(IDLE_TURNS_PER_PUBLISH) {
                    self.publish_if_due();
                }
                continue;
            }
            // One reading of each clock for the turn: the instant the core is handed, and
            // when the completions were seen (the start of each inbound message's latency).
            let seen = Stamp::now();
            let now = self.clock.now();
            self.last_now = now;
            let single = completions.len() == 1;
            for completion in completions.drain(..) {
                self.handle_completion(now, seen, completion);
            }
            self.completions = completions;
            if single {
                self.send_answer_now();
            }
            self.route_received(now, seen);
            self.evict_pending(now);
            self.drain_resolved(now);
            self.drain_queue(now);
            self.write_touched(now);
            if let Err(error) = self.flush(now).and_then(|()| self.resume_paused(now)) {
                self.failed = Some(error);
                break;
            }
            self.warm_stores();
            self.publish_if_due();
        }
        self.finish()
    }

    /// After a turn that handled one completion, lets the backend write the one connection
    /// it touched at once, ahead of the routing, the queue and the flush: the answer to a
    /// lone message leaves that much sooner (docs/benchmarks.md has the figures). Not for a
    /// session with a file store, whose changes are written before its bytes go out.
    fn send_answer_now(&mut self) {
        let [index] = self.touched[..] else {
            return;
        };
        let slot = &self.slots[index];
        if slot.file.is_none()
            && let Some(conn) = slot.conn
        {
            self.backend.send_now(conn);
        }
    }

    /// Whether a spinning loop's poll that found nothing leaves nothing to do this turn:
    /// no socket to route, no slot touched, no read paused, nothing queued (a queued message
    /// is taken and sent next turn). The loop then skips the writes and the flush and spins
    /// on.
    fn idle_spin(&mut self) -> bool {
        if !self.spins
            || !self.to_route.is_empty()
            || !self.touched.is_empty()
            || !self.paused.is_empty()
            || self.handshakes.has_done()
        {
            return false;
        }
        if self.early.is_none() {
            self.early = self.queue.receiver.try_recv().ok();
        }
        self.early.is_none()
    }

    /// Publishes the backend's system calls, and the histograms and the status when due.
    fn publish_if_due(&mut self) {
        self.stats.system_calls(self.backend.system_calls());
        self.stats.publish_if_due();
        if let Some(status) = &mut self.status {
            status.admission(crate::status::AdmissionCounts {
                pending: self.router.pending_len() as u64,
                parked: self.parked.len() as u64,
                evicted: self.router.evicted_total(),
                refused: self.router.refused_total(),
            });
            let connections = self.slots.iter().map(|s| (&s.connection, &s.latency));
            status.publish_if_due(connections, self.clock.wall());
        }
    }

    /// Logs out every logged-on session, stops every initiator, and closes the sockets
    /// that have not logged on.
    fn begin_stop(&mut self, now: Instant) {
        let longest = self
            .slots
            .iter()
            .map(|s| s.connection.logout_timeout())
            .max()
            .unwrap_or_default();
        self.stopping_until = Some(now + longest + STOP_GRACE);
        for index in 0..self.slots.len() {
            self.slots[index].connection.stop(now);
            self.drain_outputs(index, now);
            self.touched.push(index);
        }
        let Self {
            router,
            owners,
            backend,
            ..
        } = self;
        router.close_all(now, closer(owners, backend));
        self.parked.clear();
        self.report_router_events(now);
        self.write_touched(now);
        self.refresh_deadline();
    }

    /// Whether a stop has completed: every session closed, or the grace period over.
    fn finished(&mut self, now: Instant) -> bool {
        let Some(until) = self.stopping_until else {
            return false;
        };
        let open = self.slots.iter().any(|slot| slot.conn.is_some());
        !open || now >= until
    }

    /// Closes what is left, reports the stop and shuts the backend down.
    fn finish(mut self) -> std::io::Result<()> {
        let now = self.clock.now();
        for index in 0..self.slots.len() {
            self.slots[index].connection.finish(now);
            self.drain_outputs(index, now);
        }
        for listener in &self.listeners {
            self.backend.unlisten(listener.id);
        }
        // Nothing can be queued any more; what still is goes back to the application.
        let left = self.early.take().into_iter().chain(self.queue.close());
        for (index, msg, _) in left.collect::<Vec<_>>() {
            if let Some(slot) = self.slots.get(index) {
                let id = slot.connection.id();
                self.app.on_not_sent(id, msg, SendError::NotLoggedOn);
            }
        }
        self.persist(now);
        self.settle_log(now, true);
        // The last loop of each kind to finish reports that kind stopped.
        for connection_type in self.kinds.clone() {
            if self.shutdown.finished(connection_type) {
                self.report(now, EventKind::ConnectionStopped { connection_type });
            }
        }
        let flushed = self.backend.flush();
        self.stats.flushed();
        self.stats.publish();
        if let Some(status) = &mut self.status {
            let connections = self.slots.iter().map(|s| (&s.connection, &s.latency));
            status.publish(connections, self.clock.wall());
        }
        let shut = self.backend.shutdown();
        self.stats.system_calls(self.backend.system_calls());
        match self.failed.take() {
            Some(error) => Err(error),
            None => flushed.and(shut),
        }
    }

    /// Fires every expired timer: sessions, initiator schedules, sockets overdue for their
    /// Logon.
    fn run_timers(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let connection = &mut self.slots[index].connection;
            if connection.poll_timeout().is_some_and(|d| d <= now) {
                connection.handle_timeout(now);
                self.touched.push(index);
            }
        }
        let Self {
            router,
            owners,
            backend,
            ..
        } = self;
        router.handle_timeout(now, closer(owners, backend));
        self.parked.expire(now);
        self.report_router_events(now);
        self.write_touched(now);
        self.refresh_deadline();
    }

    /// Recomputes the earliest deadline of everything the loop owns.
    fn refresh_deadline(&mut self) {
        let sessions = self.slots.iter().map(|s| s.connection.poll_timeout());
        let router = [self.router.poll_timeout(), self.parked.deadline()];
        self.next_deadline = sessions.chain(router).flatten().min();
    }

    /// Lowers the cached deadline to `deadline` if it is earlier.
    fn note_deadline(&mut self, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            self.next_deadline = Some(match self.next_deadline {
                Some(current) => current.min(deadline),
                None => deadline,
            });
        }
    }

    /// Starts the writes; a backend that wrote during the flush may have made room for
    /// messages still waiting, which go out in a second flush.
    fn flush(&mut self, now: Instant) -> std::io::Result<()> {
        self.persist(now);
        self.settle_log(now, false);
        self.backend.flush()?;
        if !self.backlogged.is_empty() {
            for index in std::mem::take(&mut self.backlogged) {
                self.write_pending(now, index);
            }
            self.persist(now);
            self.backend.flush()?;
        }
        self.stats.flushed();
        Ok(())
    }

    /// Writes ahead into the stores of the slots that wrote this turn, now that the turn's
    /// bytes are out: a page fault of a store's growth costs microseconds here, and would
    /// otherwise fall in the middle of a send.
    fn warm_stores(&mut self) {
        let mut written = std::mem::take(&mut self.written);
        written.sort_unstable();
        written.dedup();
        for &index in &written {
            self.slots[index].connection.session_mut().warm_store();
        }
        written.clear();
        self.written = written;
    }

    /// Reads on where reads paused for their answers to go out (now written), then writes
    /// what that answered, for [`RESUMES_PER_TURN`] rounds at most.
    fn resume_paused(&mut self, now: Instant) -> std::io::Result<()> {
        for _ in 0..RESUMES_PER_TURN {
            if self.paused.is_empty() {
                break;
            }
            for paused in std::mem::take(&mut self.paused) {
                let batch = paused.batch.saturating_mul(2);
                self.deliver_batch(now, paused.index, paused.seen, batch);
            }
            self.write_touched(now);
            self.flush(now)?;
        }
        Ok(())
    }

    /// How long the next poll may wait, at most `timeout`: not at all when the loop spins,
    /// when a read paused with messages left, or when a message is already queued. Otherwise
    /// the loop tells the session handles it sleeps, so that the next message wakes it, and
    /// looks at its queue once more.
    fn wait_for(&mut self, timeout: Duration) -> Duration {
        if self.spins || !self.paused.is_empty() {
            return Duration::ZERO;
        }
        self.queue.gate.sleeping();
        if self.early.is_none() {
            self.early = self.queue.receiver.try_recv().ok();
        }
        if self.early.is_some() {
            Duration::ZERO
        } else {
            timeout
        }
    }

    /// Sends messages queued by session handles, in order.
    fn drain_queue(&mut self, now: Instant) {
        if let Some((index, msg, handed_over)) = self.early.take() {
            self.send_queued(now, index, msg, handed_over);
        }
        while let Ok((index, msg, handed_over)) = self.queue.receiver.try_recv() {
            self.send_queued(now, index, msg, handed_over);
        }
    }
}

/// Parks each socket the router evicts for a newer one (see [`parked`]), closes its
/// connection in the backend, and forgets its owner.
fn parker<'a, B: Backend>(
    owners: &'a mut Owners,
    backend: &'a mut B,
    parked: &'a mut parked::Parked,
    now: Instant,
) -> impl FnMut(fixring_io::ConnId) + 'a {
    move |conn| park_and_close(owners, backend, parked, now, conn)
}

/// Parks socket `conn` (see [`parked`]), closes its connection in the backend, and forgets
/// its owner.
fn park_and_close<B: Backend>(
    owners: &mut Owners,
    backend: &mut B,
    parked: &mut parked::Parked,
    now: Instant,
    conn: fixring_io::ConnId,
) {
    if let Some(fd) = backend.socket_fd(conn) {
        parked.park(now, fd);
    }
    owners.remove(conn);
    backend.close(conn);
}

/// Closes a socket the router gives up, and forgets its owner.
fn closer<'a, B: Backend>(
    owners: &'a mut Owners,
    backend: &'a mut B,
) -> impl FnMut(fixring_io::ConnId) + 'a {
    move |conn| {
        owners.remove(conn);
        backend.close(conn);
    }
}

//! `--sessions N`: N fixring initiator sessions on one loop driving one fixring acceptor
//! (one loop, [`Echo`]), to see what a loop costs when it has many sessions to serve.
//!
//! Closed loop by default: each session keeps `--inflight K` orders outstanding and sends the
//! next one as each ExecutionReport comes in. With [`Options::rate`], orders leave on a fixed
//! schedule, dealt to the sessions in turn, from a thread of their own; each is timed from
//! when that thread handed it over (its first attempt, so a full queue counts against the
//! engine), not from when it was due: on a machine whose cores the loops and others' work
//! keep busy, the pacing thread's own lateness in waking up is the machine's, not the
//! engine's.
//!
//! Besides the latencies, the run reads every loop's counters (both engines') at the end of
//! the warm-up and at the end: round trips per second, CPU time of the loop threads per round
//! trip, and the system calls the backends counted per round trip, over that window.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use fixring::{Application, Context, Echo, Engine, LoopCounters, Outbound, SessionHandle};
use fixring_core::codec::{Message, msg_type};
use fixring_core::config::{Settings, Transport};
use fixring_core::session::SendError;
use fixring_core::{ErrorCode, SessionId};
use hdrhistogram::Histogram;

use super::baseline::wait_until;
use super::engine_pair::{ACCEPTOR, INITIATOR, Watch, engine_text, send};
use super::order::{OrderBody, order_id};
use super::{BenchError, Options, Scenario, nanos, new_histogram, scheduled};

/// How a sessions run is set up, besides [`Options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Load {
    /// Initiator sessions.
    pub sessions: usize,
    /// Orders in flight per session (closed loop).
    pub inflight: usize,
}

/// What one scenario of a sessions run measured.
#[derive(Clone, Debug)]
pub(crate) struct SessionsMeasured {
    /// The scenario.
    pub scenario: Scenario,
    /// Round-trip latencies in nanoseconds, after the warm-up.
    pub histogram: Histogram<u64>,
    /// Round trips completed in the counted window.
    pub round_trips: u64,
    /// The counted window: end of the warm-up to the last reply.
    pub window: Duration,
    /// CPU time of every loop thread of both engines over the window, when readable.
    pub cpu: Option<Duration>,
    /// System calls of every loop's backend of both engines over the window.
    pub system_calls: u64,
}

impl SessionsMeasured {
    /// Round trips per second.
    pub(crate) fn msgs_per_s(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            self.round_trips as f64 / secs
        } else {
            0.0
        }
    }

    /// Microseconds of loop CPU time per round trip.
    pub(crate) fn cpu_us_per_msg(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (self.round_trips > 0).then(|| cpu.as_secs_f64() * 1e6 / self.round_trips as f64)
    }

    /// System calls per round trip.
    pub(crate) fn syscalls_per_msg(&self) -> f64 {
        if self.round_trips > 0 {
            self.system_calls as f64 / self.round_trips as f64
        } else {
            0.0
        }
    }
}

/// A scenario's sessions run and, when searched, the highest rate found with p99 under the
/// limit (`Some(None)`: even the lowest rate tried failed).
pub(crate) type Searched = (SessionsMeasured, Option<Option<f64>>);

/// The SenderCompID of initiator session `n`.
fn initiator_id(n: usize) -> String {
    format!("{INITIATOR}{n}")
}

fn acceptor_settings(
    transport: Transport,
    port: u16,
    options: &Options,
    sessions: usize,
) -> Result<Settings, BenchError> {
    let mut text = engine_text(transport, options.cores.map(|c| c.0), options)
        + &format!(
            "ConnectionType=acceptor\nSenderCompID={ACCEPTOR}\nSocketAcceptHost=127.0.0.1\n\
             SocketAcceptPort={port}\n"
        );
    for n in 0..sessions {
        text.push_str(&format!("[SESSION]\nTargetCompID={}\n", initiator_id(n)));
    }
    parse(&text)
}

fn initiator_settings(
    transport: Transport,
    port: u16,
    options: &Options,
    sessions: usize,
) -> Result<Settings, BenchError> {
    let mut text = engine_text(transport, options.cores.map(|c| c.1), options)
        + &format!(
            "ConnectionType=initiator\nTargetCompID={ACCEPTOR}\nReconnectInterval=1\n\
             SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
        );
    for n in 0..sessions {
        text.push_str(&format!("[SESSION]\nSenderCompID={}\n", initiator_id(n)));
    }
    parse(&text)
}

fn parse(text: &str) -> Result<Settings, BenchError> {
    Settings::parse(text, None).map_err(|e| BenchError::Settings(e.to_string()))
}

/// What the driving application shares with the benchmark thread.
struct Shared {
    logged_on: AtomicUsize,
    done: AtomicU64,
    state: Mutex<Driver>,
}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The orders in flight and done. Order `id` belongs to session `id % sessions`; in a closed
/// loop it is that session's order number `id / sessions`.
struct Driver {
    orders: OrderBody,
    body: Vec<u8>,
    sessions: usize,
    inflight: usize,
    warmup: u64,
    total: u64,
    /// Open loop: when the pacing started, and when each order was handed over, in
    /// nanoseconds after it.
    schedule: Option<(Instant, Arc<[AtomicU64]>)>,
    /// Closed loop: when each order in flight left, `session * inflight + number % inflight`.
    sent_at: Vec<Instant>,
    /// Closed loop: each session's next order number.
    next: Vec<u64>,
    /// Orders handed to the engine.
    issued: u64,
    completed: u64,
    histogram: Histogram<u64>,
    error: Option<String>,
}

impl Driver {
    /// Where the send time of closed-loop order `id` is kept.
    fn slot(&self, id: u64) -> usize {
        let sessions = self.sessions as u64;
        let session = (id % sessions) as usize;
        let number = id / sessions;
        session * self.inflight + (number % self.inflight as u64) as usize
    }

    /// The next closed-loop order of `session`, if any is left; its send time is noted.
    fn next_order(&mut self, session: usize) -> Option<u64> {
        if self.issued >= self.total {
            return None;
        }
        let id = self.next[session] * self.sessions as u64 + session as u64;
        self.next[session] += 1;
        self.issued += 1;
        self.orders.write(id, &mut self.body);
        let slot = self.slot(id);
        self.sent_at[slot] = Instant::now();
        Some(id)
    }

    /// An ExecutionReport for order `id` arrived at `now`.
    fn answered(&mut self, id: u64, now: Instant) {
        let sent = match &self.schedule {
            Some((start, handed)) => {
                let at = usize::try_from(id).ok().and_then(|i| handed.get(i));
                *start + Duration::from_nanos(at.map_or(0, |a| a.load(Ordering::Acquire)))
            }
            None => self.sent_at[self.slot(id)],
        };
        if self.completed >= self.warmup {
            self.histogram.saturating_record(nanos(now - sent));
        }
        self.completed += 1;
    }
}

/// The initiators' application: times ExecutionReports and, in a closed loop, sends the
/// session's next order.
#[derive(Clone)]
struct Driving {
    shared: Arc<Shared>,
}

impl Application for Driving {
    fn on_logon(&mut self, _session: &SessionId) {
        self.shared.logged_on.fetch_add(1, Ordering::AcqRel);
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        let now = Instant::now();
        if msg.msg_type() != msg_type::EXECUTION_REPORT {
            return;
        }
        let Some(id) = msg.get(11).and_then(order_id) else {
            self.shared
                .with(|d| d.error = Some("ExecutionReport without a benchmark ClOrdID".to_owned()));
            return;
        };
        let done = self.shared.with(|driver| {
            driver.answered(id, now);
            if driver.schedule.is_none() {
                let session = (id % driver.sessions as u64) as usize;
                if let Some(next) = driver.next_order(session)
                    && let Err(error) = ctx.reply(msg_type::NEW_ORDER_SINGLE, &driver.body)
                {
                    driver.error = Some(format!("order {next} not sent: {error}"));
                }
            }
            driver.completed
        });
        self.shared.done.store(done, Ordering::Release);
    }

    fn on_not_sent(&mut self, _session: &SessionId, _msg: Outbound, reason: SendError) {
        self.shared
            .with(|d| d.error = Some(format!("an order was not sent: {reason}")));
    }
}

/// Starts the acceptor on a free port, trying again if another process took it first.
fn start_acceptor(
    transport: Transport,
    options: &Options,
    sessions: usize,
) -> Result<Engine<Echo>, BenchError> {
    let mut last = None;
    for _ in 0..5 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|source| BenchError::Io {
                what: "finding a free port".to_owned(),
                source,
            })?
            .port();
        let mut engine = Engine::new(
            acceptor_settings(transport, port, options, sessions)?,
            Echo::default(),
        );
        match engine.start() {
            Ok(()) => return Ok(engine),
            Err(error) if error.code() == ErrorCode::PortBindFailed => last = Some(error),
            Err(error) => return Err(error.into()),
        }
    }
    Err(last.map_or_else(
        || BenchError::Protocol("no free port".to_owned()),
        BenchError::Engine,
    ))
}

/// The counters of every loop of both engines, added up.
fn counters(a: &Engine<Echo>, b: &Engine<Driving>) -> (Option<Duration>, u64) {
    let all: Vec<LoopCounters> = a
        .loop_counters()
        .into_iter()
        .chain(b.loop_counters())
        .collect();
    let cpu = all.iter().map(|c| c.cpu_time).sum::<Option<Duration>>();
    (cpu, all.iter().map(|c| c.system_calls).sum())
}

/// Runs one engine scenario with `load`.
pub(crate) fn run(
    scenario: Scenario,
    transport: Transport,
    options: &Options,
    load: Load,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SessionsMeasured, BenchError> {
    let sessions = load.sessions.max(1);
    let inflight = load.inflight.max(1);
    let total = options.total();
    let shared = Arc::new(Shared {
        logged_on: AtomicUsize::new(0),
        done: AtomicU64::new(0),
        state: Mutex::new(Driver {
            orders: OrderBody::new(options.size),
            body: Vec::with_capacity(options.size),
            sessions,
            inflight,
            warmup: options.warmup,
            total,
            schedule: None,
            sent_at: vec![Instant::now(); sessions * inflight],
            next: vec![0; sessions],
            issued: 0,
            completed: 0,
            histogram: new_histogram()?,
            error: None,
        }),
    });
    let mut acceptor = start_acceptor(transport, options, sessions)?;
    let port = acceptor
        .listen_addrs()
        .first()
        .map(|a| a.port())
        .ok_or_else(|| BenchError::Protocol("the acceptor listens nowhere".to_owned()))?;
    let mut initiator = Engine::new(
        initiator_settings(transport, port, options, sessions)?,
        Driving {
            shared: Arc::clone(&shared),
        },
    );
    initiator.start()?;
    let watch = Watch {
        scenario,
        stall: options.stall,
    };
    watch.until("every Logon", || {
        (shared.logged_on.load(Ordering::Acquire) >= sessions).then_some(())
    })?;
    let handles = (0..sessions)
        .map(|n| {
            let id = SessionId::new("FIX.4.4", &initiator_id(n), ACCEPTOR);
            initiator.handle(&id).ok_or_else(|| {
                BenchError::Protocol(format!("the initiator has no handle for {id}"))
            })
        })
        .collect::<Result<Vec<SessionHandle>, _>>()?;

    let pacer = match options.interval() {
        None => {
            for _ in 0..inflight {
                for (session, handle) in handles.iter().enumerate() {
                    let Some(body) = shared.with(|d| d.next_order(session).map(|_| d.body.clone()))
                    else {
                        break;
                    };
                    send(handle, body, &watch)?;
                }
            }
            None
        }
        Some(interval) => {
            let start = Instant::now() + Duration::from_millis(1);
            let handed: Arc<[AtomicU64]> = (0..total).map(|_| AtomicU64::new(0)).collect();
            shared.with(|d| {
                d.schedule = Some((start, Arc::clone(&handed)));
                d.issued = total;
            });
            let orders = shared.with(|d| d.orders.clone());
            let pacing = Pacing {
                start,
                interval,
                handed,
                watch: Watch {
                    scenario,
                    stall: options.stall,
                },
            };
            Some(thread::spawn(move || pacing.run(&handles, &orders)))
        }
    };

    let mut start: Option<(Instant, u64, (Option<Duration>, u64))> = None;
    let mut last = (0, Instant::now());
    let mut shown = Instant::now();
    let end = loop {
        if let Some(error) = shared.with(|d| d.error.take()) {
            return Err(BenchError::Protocol(format!("{}: {error}", scenario.name)));
        }
        let done = shared.done.load(Ordering::Acquire);
        if start.is_none() && done >= options.warmup {
            start = Some((Instant::now(), done, counters(&acceptor, &initiator)));
        }
        if done >= total {
            break (Instant::now(), done, counters(&acceptor, &initiator));
        }
        if shown.elapsed() >= Duration::from_millis(100) {
            progress(done, total);
            shown = Instant::now();
        }
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() >= options.stall {
            return Err(watch.stalled(&format!("ExecutionReport {} of {total}", done + 1)));
        }
        thread::sleep(Duration::from_millis(1));
    };
    if let Some(pacer) = pacer {
        pacer
            .join()
            .map_err(|_| BenchError::Thread("the pacing thread panicked".to_owned()))??;
    }
    initiator.stop();
    initiator.wait()?;
    acceptor.stop();
    acceptor.wait()?;
    let (from, done_from, (cpu_from, calls_from)) = start.unwrap_or(end);
    let (to, done_to, (cpu_to, calls_to)) = end;
    let cpu = match (cpu_from, cpu_to) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let histogram = shared.with(|d| d.histogram.clone());
    Ok(SessionsMeasured {
        scenario,
        histogram,
        round_trips: done_to - done_from,
        window: to - from,
        cpu,
        system_calls: calls_to.saturating_sub(calls_from),
    })
}

/// The open loop's schedule, and where the pacing thread notes each hand-over.
struct Pacing {
    start: Instant,
    interval: Duration,
    handed: Arc<[AtomicU64]>,
    watch: Watch,
}

impl Pacing {
    /// Hands order `n` to session `n % sessions` at its scheduled time.
    fn run(&self, handles: &[SessionHandle], orders: &OrderBody) -> Result<(), BenchError> {
        let spare_core = thread::available_parallelism().is_ok_and(|n| n.get() > 2);
        let mut body = Vec::new();
        for (n, handed) in (0u64..).zip(self.handed.iter()) {
            orders.write(n, &mut body);
            wait_until(scheduled(self.start, self.interval, n), spare_core);
            handed.store(nanos(self.start.elapsed()), Ordering::Release);
            let handle = &handles[(n % handles.len() as u64) as usize];
            send(handle, body.clone(), &self.watch)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_dealt_to_sessions_and_slots() {
        let mut driver = Driver {
            orders: OrderBody::new(100),
            body: Vec::new(),
            sessions: 3,
            inflight: 2,
            warmup: 0,
            total: 5,
            schedule: None,
            sent_at: vec![Instant::now(); 6],
            next: vec![0; 3],
            issued: 0,
            completed: 0,
            histogram: new_histogram().unwrap(),
            error: None,
        };
        assert_eq!(driver.next_order(1), Some(1));
        assert_eq!(driver.next_order(1), Some(4));
        assert_eq!(driver.next_order(1), Some(7));
        // Session 1's orders 0, 1, 2 use its two slots in turn.
        assert_eq!([driver.slot(1), driver.slot(4), driver.slot(7)], [2, 3, 2]);
        assert_eq!(driver.next_order(0), Some(0));
        assert_eq!(driver.next_order(2), Some(2));
        assert_eq!(driver.next_order(2), None, "five orders in all");
        driver.answered(4, Instant::now());
        assert_eq!((driver.completed, driver.histogram.len()), (1, 1));
    }
}

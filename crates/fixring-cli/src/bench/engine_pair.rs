//! A fixring acceptor running [`Echo`] and a fixring initiator driving orders at it, in one
//! process, each on its own event loop (and core when there are two).

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use fixring::{Application, Context, Echo, Engine, HandleError, Outbound, SessionHandle};
use fixring_core::codec::{Message, msg_type};
use fixring_core::config::{Settings, Transport};
use fixring_core::session::SendError;
use fixring_core::{ErrorCode, Event, EventKind, SessionId};
use hdrhistogram::Histogram;

use super::baseline::wait_until;
use super::order::{OrderBody, order_id};
use super::tls::TlsFiles;
use super::{
    BenchError, Measured, Options, Scenario, busy_poll_text, nanos, new_histogram, scheduled,
};

/// The initiator's SenderCompID.
pub(super) const INITIATOR: &str = "BENCHI";
/// The acceptor's SenderCompID.
pub(super) const ACCEPTOR: &str = "BENCHA";

/// The `Transport` settings value.
fn transport_text(transport: Transport) -> &'static str {
    match transport {
        Transport::Uring => "uring",
        Transport::Epoll => "epoll",
        _ => "auto",
    }
}

pub(super) fn engine_text(transport: Transport, core: Option<usize>, options: &Options) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={}\nBusyPoll={}\nBeginString=FIX.4.4\nHeartBtInt=30\n\
         ResetOnLogon=Y\nLogonTimeout=5\nLogoutTimeout=1\n",
        transport_text(transport),
        busy_poll_text(options.busy_poll)
    );
    if let Some(core) = core {
        text.push_str(&format!("EventLoopCores={core}\n"));
    }
    if let Some(dir) = &options.file_store {
        text.push_str(&format!("FileStorePath={}\n", dir.display()));
    }
    if let Some(dir) = &options.file_log {
        text.push_str(&format!("FileLogPath={}\n", dir.display()));
    }
    if let Some(file) = &options.data_dictionary {
        text.push_str(&format!(
            "UseDataDictionary=Y\nDataDictionary={}\n",
            file.display()
        ));
    }
    text
}

/// Settings of the benchmark's acceptor on 127.0.0.1:`port`.
pub(super) fn acceptor_settings(
    transport: Transport,
    port: u16,
    options: &Options,
    tls: Option<&TlsFiles>,
) -> Result<Settings, BenchError> {
    let text = engine_text(transport, options.cores.map(|c| c.0), options)
        + &format!(
            "ConnectionType=acceptor\nSenderCompID={ACCEPTOR}\nSocketAcceptHost=127.0.0.1\n\
             SocketAcceptPort={port}\n[SESSION]\nTargetCompID={INITIATOR}\n"
        )
        + &tls.map(TlsFiles::acceptor_keys).unwrap_or_default();
    parse(&text)
}

/// Settings of the benchmark's initiator towards 127.0.0.1:`port`.
pub(super) fn initiator_settings(
    transport: Transport,
    port: u16,
    options: &Options,
    tls: Option<&TlsFiles>,
) -> Result<Settings, BenchError> {
    let text = engine_text(transport, options.cores.map(|c| c.1), options)
        + &format!(
            "[SESSION]\nConnectionType=initiator\nSenderCompID={INITIATOR}\n\
             TargetCompID={ACCEPTOR}\nReconnectInterval=1\nSocketConnectHost=127.0.0.1\n\
             SocketConnectPort={port}\n"
        )
        + &tls.map(TlsFiles::initiator_keys).unwrap_or_default();
    parse(&text)
}

fn parse(text: &str) -> Result<Settings, BenchError> {
    Settings::parse(text, None).map_err(|e| BenchError::Settings(e.to_string()))
}

/// The initiator's session.
pub(super) fn session_id() -> SessionId {
    SessionId::new("FIX.4.4", INITIATOR, ACCEPTOR)
}

/// Starts an acceptor running [`Echo`] on a free port, trying again if another process took
/// the port first. Returns it with its port.
pub(super) fn start_acceptor(
    transport: Transport,
    options: &Options,
    tls: Option<&TlsFiles>,
) -> Result<(Engine<Echo>, u16), BenchError> {
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
            acceptor_settings(transport, port, options, tls)?,
            Echo::default(),
        );
        match engine.start() {
            Ok(()) => return Ok((engine, port)),
            Err(error) if error.code() == ErrorCode::PortBindFailed => last = Some(error),
            Err(error) => return Err(error.into()),
        }
    }
    Err(last.map_or_else(
        || BenchError::Protocol("no free port".to_owned()),
        BenchError::Engine,
    ))
}

/// What the driving application shares with the benchmark thread.
struct Shared {
    logged_on: AtomicBool,
    done: AtomicU64,
    state: Mutex<Driver>,
}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The round trips in flight and done.
struct Driver {
    orders: OrderBody,
    body: Vec<u8>,
    warmup: u64,
    total: u64,
    /// Open loop: when order 0 was due, and the interval between orders.
    schedule: Option<(Instant, Duration)>,
    /// Closed loop: when the order in flight left.
    sent_at: Instant,
    measured_from: Option<Instant>,
    finished_at: Option<Instant>,
    completed: u64,
    histogram: Histogram<u64>,
    error: Option<String>,
}

impl Driver {
    /// An ExecutionReport for order `id` arrived at `now`; returns whether to send the next
    /// order (closed loop).
    fn answered(&mut self, id: u64, now: Instant) -> Result<bool, String> {
        let sent = match self.schedule {
            Some((start, interval)) => scheduled(start, interval, id),
            None if id == self.completed => self.sent_at,
            None => {
                return Err(format!(
                    "ExecutionReport for order {id}, expected {}",
                    self.completed
                ));
            }
        };
        if id == self.warmup {
            self.measured_from = Some(sent);
        }
        if id >= self.warmup {
            self.histogram.saturating_record(nanos(now - sent));
        }
        self.completed += 1;
        if self.completed >= self.total {
            self.finished_at = Some(now);
            return Ok(false);
        }
        Ok(self.schedule.is_none())
    }
}

/// The initiator's application: times ExecutionReports and sends the next order.
#[derive(Clone)]
struct Driving {
    shared: Arc<Shared>,
}

impl Driving {
    /// A reject or a failed validation ends the scenario: a benchmark whose orders or
    /// ExecutionReports are refused measures nothing.
    fn refused(&self, what: String) {
        self.shared.with(|d| {
            d.error.get_or_insert(what);
        });
    }
}

impl Application for Driving {
    fn on_logon(&mut self, _session: &SessionId) {
        self.shared.logged_on.store(true, Ordering::Release);
    }

    fn on_event(&mut self, event: &Event) {
        if let EventKind::MessageInvalid { reason, .. } = &event.kind {
            self.refused(format!(
                "the initiator refused an ExecutionReport: {reason}"
            ));
        }
    }

    fn on_admin_message(&mut self, _session: &SessionId, msg: &Message<'_>) {
        if msg.msg_type() == msg_type::REJECT {
            self.refused(format!("the acceptor rejected an order: {}", text_of(msg)));
        }
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        let now = Instant::now();
        if msg.msg_type() == msg_type::BUSINESS_MESSAGE_REJECT {
            self.refused(format!("the acceptor rejected an order: {}", text_of(msg)));
        }
        if msg.msg_type() != msg_type::EXECUTION_REPORT {
            return;
        }
        let Some(id) = msg.get(11).and_then(order_id) else {
            self.shared
                .with(|d| d.error = Some("ExecutionReport without a benchmark ClOrdID".to_owned()));
            return;
        };
        let done = self.shared.with(|driver| {
            match driver.answered(id, now) {
                Ok(true) => {
                    let next = driver.completed;
                    driver.orders.write(next, &mut driver.body);
                    driver.sent_at = Instant::now();
                    if let Err(error) = ctx.reply(msg_type::NEW_ORDER_SINGLE, &driver.body) {
                        driver.error = Some(format!("order {next} not sent: {error}"));
                    }
                }
                Ok(false) => {}
                Err(error) => driver.error = Some(error),
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

/// A reject's Text (58), or a placeholder.
fn text_of(msg: &Message<'_>) -> String {
    msg.get(58).map_or_else(
        || "(no Text)".to_owned(),
        |t| String::from_utf8_lossy(t).into_owned(),
    )
}

pub(super) fn run(
    scenario: Scenario,
    transport: Transport,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Measured, BenchError> {
    let total = options.total();
    let shared = Arc::new(Shared {
        logged_on: AtomicBool::new(false),
        done: AtomicU64::new(0),
        state: Mutex::new(Driver {
            orders: OrderBody::new(options.size),
            body: Vec::with_capacity(options.size),
            warmup: options.warmup,
            total,
            schedule: None,
            sent_at: Instant::now(),
            measured_from: None,
            finished_at: None,
            completed: 0,
            histogram: new_histogram()?,
            error: None,
        }),
    });
    let tls = scenario.tls.then(TlsFiles::create).transpose()?;
    let (mut acceptor, port) = start_acceptor(transport, options, tls.as_ref())?;
    let mut initiator = Engine::new(
        initiator_settings(transport, port, options, tls.as_ref())?,
        Driving {
            shared: Arc::clone(&shared),
        },
    );
    initiator.start()?;
    let watch = Watch {
        scenario,
        stall: options.stall,
    };
    watch.until("the Logon", || {
        shared.logged_on.load(Ordering::Acquire).then_some(())
    })?;
    let handle = initiator
        .handle(&session_id())
        .ok_or_else(|| BenchError::Protocol("the initiator has no session handle".to_owned()))?;

    if total > 0 {
        match options.interval() {
            None => {
                let body = shared.with(|d| {
                    d.orders.write(0, &mut d.body);
                    d.sent_at = Instant::now();
                    d.body.clone()
                });
                send(&handle, body, &watch)?;
            }
            Some(interval) => pace(&shared, &handle, interval, total, &watch, progress)?,
        }
    }
    let mut last = (0, Instant::now());
    loop {
        if let Some(error) = shared.with(|d| d.error.take()) {
            return Err(BenchError::Protocol(format!("{}: {error}", scenario.name)));
        }
        let done = shared.done.load(Ordering::Acquire);
        progress(done, total);
        if done >= total {
            break;
        }
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() >= options.stall {
            return Err(watch.stalled(&format!("ExecutionReport {} of {total}", done + 1)));
        }
        thread::sleep(Duration::from_millis(50));
    }
    initiator.stop();
    initiator.wait()?;
    acceptor.stop();
    acceptor.wait()?;
    let (histogram, elapsed) = shared.with(|d| {
        let elapsed = match (d.measured_from, d.finished_at) {
            (Some(from), Some(to)) => to - from,
            _ => Duration::ZERO,
        };
        (d.histogram.clone(), elapsed)
    });
    Ok(Measured {
        scenario,
        histogram,
        elapsed,
    })
}

/// Open loop: hands order `n` to the engine at its scheduled time, from this thread.
///
/// The thread spins before each send only when the machine has a core besides the two event
/// loops'; otherwise it sleeps, so as not to take a loop's core, and any order whose time
/// passed while it slept goes at once (still timed from when it was due).
fn pace(
    shared: &Shared,
    handle: &SessionHandle,
    interval: Duration,
    total: u64,
    watch: &Watch,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), BenchError> {
    let orders = shared.with(|d| d.orders.clone());
    let mut body = Vec::new();
    // Order 0 is due a little after now, so that the schedule starts on time.
    let start = Instant::now() + Duration::from_millis(1);
    shared.with(|d| d.schedule = Some((start, interval)));
    let spare_core = thread::available_parallelism().is_ok_and(|n| n.get() > 2);
    let mut shown = Instant::now();
    for n in 0..total {
        orders.write(n, &mut body);
        wait_until(scheduled(start, interval, n), spare_core);
        send(handle, body.clone(), watch)?;
        if shown.elapsed() >= Duration::from_millis(100) {
            progress(shared.done.load(Ordering::Acquire), total);
            shown = Instant::now();
        }
    }
    Ok(())
}

/// Hands `body` to the engine, waiting while its queue is full.
pub(super) fn send(handle: &SessionHandle, body: Vec<u8>, watch: &Watch) -> Result<(), BenchError> {
    let mut msg = body.into();
    let began = Instant::now();
    loop {
        match handle.send(msg_type::NEW_ORDER_SINGLE, msg) {
            Ok(()) => return Ok(()),
            Err(HandleError::Full(outbound)) if began.elapsed() < watch.stall => {
                msg = outbound.body;
                thread::yield_now();
            }
            Err(HandleError::Full(_)) => return Err(watch.stalled("room in the engine's queue")),
            Err(error) => {
                return Err(BenchError::Protocol(format!(
                    "{}: {error}",
                    watch.scenario.name
                )));
            }
        }
    }
}

/// Bounded waits for one scenario.
pub(super) struct Watch {
    pub(super) scenario: Scenario,
    pub(super) stall: Duration,
}

impl Watch {
    /// Polls `ready` until it gives a value, for at most the stall time.
    pub(super) fn until<T>(
        &self,
        what: &str,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, BenchError> {
        let began = Instant::now();
        loop {
            if let Some(value) = ready() {
                return Ok(value);
            }
            if began.elapsed() >= self.stall {
                return Err(self.stalled(what));
            }
            thread::sleep(Duration::from_micros(200));
        }
    }

    pub(super) fn stalled(&self, what: &str) -> BenchError {
        BenchError::Stalled {
            scenario: self.scenario.name.to_owned(),
            waiting_for: what.to_owned(),
            waited: self.stall,
        }
    }
}

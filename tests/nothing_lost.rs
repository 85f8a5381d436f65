//! Nothing handed to the engine vanishes: every order given to a [`fixring::SessionHandle`]
//! is delivered to the peer once or returned through `on_not_sent`, also when it was in flight
//! on a connection that broke (the next connection resends it from the message store).
//! MsgSeqNum carries on across reconnects unless ResetOnLogon; a stop during a steady flow of
//! orders accounts for every order.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::free_port;
use common::proxy::{Fault, FaultProxy};
use common::recorder::Recorder;
use common::rig::{
    Certs, RigOptions, TRANSPORTS, WAIT, acceptor_text, certs, initiator_text, order, start,
};
use fixring::core::codec::Message;
use fixring::core::session::SendError;
use fixring::core::{Event, EventKind, SessionId};
use fixring::{Application, Context, Engine, HandleError, Outbound, SessionHandle};

/// What one side saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// A message from the peer: MsgType, MsgSeqNum, ClOrdID (empty for admin messages).
    Message(String, u64, String),
    /// An event, by name.
    Event(&'static str),
}

/// Records every message with its MsgSeqNum and every event, in one timeline; passes events
/// and not-sent messages on to a [`Recorder`] for waiting.
#[derive(Clone)]
struct Timeline {
    seen: Arc<Mutex<Vec<Seen>>>,
    resent: Arc<AtomicUsize>,
    recorder: Recorder,
}

impl Timeline {
    fn new() -> Self {
        Self {
            seen: Arc::new(Mutex::new(Vec::new())),
            resent: Arc::new(AtomicUsize::new(0)),
            recorder: Recorder::new(),
        }
    }

    fn record(&self, msg: &Message<'_>) {
        let msg_type = String::from_utf8_lossy(msg.msg_type()).into_owned();
        let seq = msg.get_u64(34).ok().flatten().unwrap_or(0);
        // ClOrdID of an order; NewSeqNo of a SequenceReset.
        let tag = if msg.msg_type() == b"4" { 36 } else { 11 };
        let id = String::from_utf8_lossy(msg.get(tag).unwrap_or_default()).into_owned();
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Message(msg_type, seq, id));
        if msg.get(43) == Some(b"Y") && msg.msg_type() == b"D" {
            self.resent.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// ClOrdIDs of the orders delivered, in order.
    fn orders(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Message(t, _, id) if t == "D" => Some(id),
                _ => None,
            })
            .collect()
    }

    /// MsgSeqNums of the Logons received.
    fn logon_seqs(&self) -> Vec<u64> {
        self.snapshot()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Message(t, seq, _) if t == "A" => Some(seq),
                _ => None,
            })
            .collect()
    }

    fn not_sent(&self) -> Vec<String> {
        self.recorder.with(|s| {
            s.not_sent
                .iter()
                .map(|m| {
                    let body = String::from_utf8_lossy(&m.body);
                    body.split('\x01')
                        .find_map(|f| f.strip_prefix("11="))
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
    }

    /// How many orders arrived as possible duplicates: resent from the store.
    fn resent(&self) -> usize {
        self.resent.load(Ordering::Relaxed)
    }
}

impl Application for Timeline {
    fn on_event(&mut self, event: &Event) {
        self.seen.lock().unwrap().push(Seen::Event(event.name()));
        self.recorder.on_event(event);
    }

    fn on_admin_message(&mut self, _session: &SessionId, msg: &Message<'_>) {
        self.record(msg);
    }

    fn on_app_message(&mut self, _ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        self.record(msg);
    }

    fn on_not_sent(&mut self, session: &SessionId, msg: Outbound, reason: SendError) {
        self.recorder.on_not_sent(session, msg, reason);
    }
}

/// An acceptor for VICTIM and an initiator VICTIM, through a proxy when `proxied`.
struct Pair {
    initiator: Engine<Timeline>,
    initiator_app: Timeline,
    proxy: FaultProxy,
    acceptor: Engine<Timeline>,
    acceptor_app: Timeline,
    /// The certificates of a TLS pair, kept while it runs.
    _certs: Option<Certs>,
}

impl Pair {
    fn start(options: RigOptions, proxied: bool) -> Self {
        let certs = options.tls.then(certs);
        let pki = certs.as_ref().map(|c| &c.pki);
        let port = free_port();
        let acceptor_app = Timeline::new();
        let acceptor = start(
            &acceptor_text(options.transport, port, &["VICTIM".to_owned()], pki),
            acceptor_app.clone(),
        );
        let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], port)));
        let initiator_app = Timeline::new();
        let to = if proxied { proxy.port() } else { port };
        let initiator = start(
            &initiator_text(options, "VICTIM", to, pki),
            initiator_app.clone(),
        );
        initiator_app
            .recorder
            .expect_events("fix.connection.established", 1, WAIT);
        Self {
            initiator,
            initiator_app,
            proxy,
            acceptor,
            acceptor_app,
            _certs: certs,
        }
    }

    fn handle(&self) -> SessionHandle {
        self.initiator
            .handle(&SessionId::new("FIX.4.4", "VICTIM", "ACC"))
            .expect("a handle")
    }
}

fn established(seen: &common::recorder::Seen) -> usize {
    seen.events
        .iter()
        .filter(|e| e.name() == "fix.connection.established")
        .count()
}

/// Hands `msg` over, waiting while the loop's queue is full; `false` once the engine stopped.
fn hand_over(handle: &SessionHandle, id: &str) -> bool {
    let mut msg = order(id);
    loop {
        match handle.send(b"D", msg) {
            Ok(()) => return true,
            Err(HandleError::Full(back)) => {
                msg = back.body.to_vec();
                thread::sleep(Duration::from_micros(200));
            }
            Err(_) => return false,
        }
    }
}

/// Polls `done` every 10 ms until it holds or `WAIT` passes; returns whether it held.
fn poll_until(mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + WAIT;
    while !done() {
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits until `value` stops changing for 500 ms (or `WAIT` passes) and returns it.
fn settled<T: PartialEq>(mut value: impl FnMut() -> T) -> T {
    let end = Instant::now() + WAIT;
    let mut last = value();
    let mut since = Instant::now();
    while Instant::now() < end && since.elapsed() < Duration::from_millis(500) {
        thread::sleep(Duration::from_millis(50));
        let now = value();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

/// What became of `n` orders.
struct Account {
    n: usize,
    delivered: usize,
    not_sent: usize,
    resent: usize,
}

impl Account {
    fn unaccounted(&self) -> usize {
        self.n - self.delivered - self.not_sent
    }
}

/// Sends `n` orders while the proxy resets the connection every `every` orders (after a
/// stall when `stall_first`, so that the engine's own send buffer holds bytes), and accounts
/// for every one of them. Nothing is delivered twice.
fn orders_through_resets(
    options: RigOptions,
    n: usize,
    every: usize,
    stall_first: bool,
) -> Account {
    let transport = if options.tls {
        format!("{} tls", options.transport)
    } else {
        options.transport.to_owned()
    };
    let pair = Pair::start(options, true);
    let handle = pair.handle();
    for i in 0..n {
        if i > 0 && i % every == 0 {
            if stall_first {
                pair.proxy.stall_all();
                thread::sleep(Duration::from_millis(300));
            }
            let logons = pair
                .initiator_app
                .recorder
                .count("fix.connection.established");
            pair.proxy.reset_all();
            pair.proxy.resume_all();
            // The flow goes on over the next connection (orders meanwhile come back).
            let back = pair
                .initiator_app
                .recorder
                .wait_for(WAIT, |s| established(s) > logons);
            assert!(back, "{transport}: no reconnect");
        }
        assert!(hand_over(&handle, &format!("N-{i}")), "engine stopped");
        if !stall_first && i % 50 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    pair.proxy.set_fault(Fault::None);
    let logons = pair
        .initiator_app
        .recorder
        .count("fix.connection.established");
    let (delivered, not_sent) = settled(|| {
        (
            pair.acceptor_app.orders().len(),
            pair.initiator_app.not_sent().len(),
        )
    });
    let orders = pair.acceptor_app.orders();
    let unique: HashSet<&String> = orders.iter().collect();
    assert_eq!(
        unique.len(),
        orders.len(),
        "{transport}: an order was delivered twice"
    );
    let returned: HashSet<String> = pair.initiator_app.not_sent().into_iter().collect();
    assert!(
        returned.iter().all(|id| !unique.contains(id)),
        "{transport}: an order was both delivered and returned"
    );
    let account = Account {
        n,
        delivered,
        not_sent,
        resent: pair.acceptor_app.resent(),
    };
    let lost = pair.initiator_app.recorder.with(|s| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ConnectionLost { error_detail, .. } => Some(error_detail.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    });
    eprintln!(
        "{transport}: {n} orders: {delivered} delivered, {not_sent} returned not sent, {} in \
         flight; {} resent; {logons} logons; losses: {lost:?}",
        account.unaccounted(),
        account.resent
    );
    account
}

/// Resets in the middle of a flow of orders: every order is delivered once or returned.
#[test]
fn every_order_is_delivered_or_returned_through_resets() {
    for transport in TRANSPORTS {
        let account = orders_through_resets(RigOptions::new(transport), 3000, 1000, false);
        assert_eq!(account.unaccounted(), 0, "{transport}: orders lost");
        assert!(account.delivered > 0);
    }
}

/// A stall fills the engine's send buffer before the reset, so orders are committed (numbered
/// and encoded) to a connection that breaks: the next connection resends them from the store
/// when the peer asks, and every order is delivered once or returned. Plain and TLS.
#[test]
fn orders_committed_to_a_broken_connection_are_resent() {
    for transport in TRANSPORTS {
        for tls in [false, true] {
            let options = RigOptions {
                tls,
                ..RigOptions::new(transport)
            };
            let account = orders_through_resets(options, 20_000, 10_000, true);
            assert_eq!(
                account.unaccounted(),
                0,
                "{transport} tls={tls}: orders neither delivered nor returned"
            );
            assert!(
                account.resent > 0,
                "{transport} tls={tls}: nothing was resent"
            );
        }
    }
}

/// Without ResetOnLogon the MsgSeqNums carry on across a reconnect; with it they start at 1.
#[test]
fn msg_seq_num_carries_on_across_reconnects_unless_reset_on_logon() {
    for transport in TRANSPORTS {
        for reset_on_logon in [false, true] {
            let options = RigOptions {
                reset_on_logon,
                ..RigOptions::new(transport)
            };
            let label = format!("{transport} ResetOnLogon={reset_on_logon}");
            let pair = Pair::start(options, true);
            let handle = pair.handle();
            for i in 0..5 {
                assert!(hand_over(&handle, &format!("Q-{i}")));
            }
            assert!(
                poll_until(|| pair.acceptor_app.orders().len() == 5),
                "{label}: orders not delivered"
            );
            // Idle: nothing is in flight when the link is reset.
            pair.proxy.reset_all();
            pair.initiator_app
                .recorder
                .expect_events("fix.connection.established", 2, WAIT);
            assert!(hand_over(&handle, "Q-5"));
            let delivered = poll_until(|| pair.acceptor_app.orders().len() == 6);
            assert!(delivered, "{label}: the order after the reconnect was lost");
            let logons = pair.acceptor_app.logon_seqs();
            let order_seqs: Vec<u64> = pair
                .acceptor_app
                .snapshot()
                .into_iter()
                .filter_map(|s| match s {
                    Seen::Message(t, seq, _) if t == "D" => Some(seq),
                    _ => None,
                })
                .collect();
            eprintln!("{label}: Logons {logons:?}, orders {order_seqs:?}");
            if reset_on_logon {
                assert_eq!(logons, [1, 1], "{label}");
                assert_eq!(order_seqs, [2, 3, 4, 5, 6, 2], "{label}");
            } else {
                assert_eq!(logons, [1, 7], "{label}");
                assert_eq!(order_seqs, [2, 3, 4, 5, 6, 8], "{label}");
            }
            assert_eq!(
                pair.acceptor_app.recorder.count("fix.session.sequence_gap"),
                0,
                "{label}"
            );
        }
    }
}

/// What became of a steady flow of orders cut by `stop()`.
struct Flow {
    /// Orders handed over before `stop()` returned.
    before_stop: usize,
    /// Orders handed over in all (the handle takes some after `stop()` returned).
    handed: usize,
    /// Orders neither delivered nor returned, by number.
    missing: Vec<usize>,
}

/// Sends orders continuously from a thread, stops the initiator half a second in, and
/// accounts for every order: delivered before the acceptor's Logout, or returned as not sent.
fn steady_flow_then_stop(transport: &'static str) -> Flow {
    let mut pair = Pair::start(RigOptions::new(transport), false);
    let handle = pair.handle();
    let taken = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sender = {
        let (taken, done) = (Arc::clone(&taken), Arc::clone(&done));
        thread::spawn(move || {
            let mut i = 0;
            while !done.load(Ordering::Acquire) {
                if !hand_over(&handle, &format!("F-{i}")) {
                    break;
                }
                i += 1;
                taken.store(i, Ordering::Release);
                if i % 20 == 0 {
                    thread::sleep(Duration::from_micros(100));
                }
            }
        })
    };
    thread::sleep(Duration::from_millis(500));
    pair.initiator.stop();
    let before_stop = taken.load(Ordering::Acquire);
    pair.initiator.wait().expect("a clean stop");
    done.store(true, Ordering::Release);
    sender.join().expect("the sender thread");
    let handed = taken.load(Ordering::Acquire);
    pair.acceptor_app
        .recorder
        .expect_events("fix.session.logout", 1, WAIT);
    let timeline = pair.acceptor_app.snapshot();
    let logout = timeline
        .iter()
        .position(|s| *s == Seen::Event("fix.session.logout"))
        .expect("a logout");
    let after_logout = timeline[logout..]
        .iter()
        .filter(|s| matches!(s, Seen::Message(t, _, _) if t == "D"))
        .count();
    assert_eq!(after_logout, 0, "{transport}: orders after the Logout");
    let delivered: HashSet<String> = pair.acceptor_app.orders().into_iter().collect();
    let returned: HashSet<String> = pair.initiator_app.not_sent().into_iter().collect();
    let missing: Vec<usize> = (0..handed)
        .filter(|i| {
            let id = format!("F-{i}");
            !delivered.contains(&id) && !returned.contains(&id)
        })
        .collect();
    eprintln!(
        "{transport}: {handed} orders handed over ({before_stop} before stop() returned): \
         {} delivered, {} returned not sent, {} neither",
        delivered.len(),
        returned.len(),
        missing.len()
    );
    assert!(
        delivered.len() > 100,
        "{transport}: the flow was not steady"
    );
    pair.acceptor.stop();
    Flow {
        before_stop,
        handed,
        missing,
    }
}

/// `stop()` during a steady flow: every order handed over before `stop()` returned is
/// delivered before the Logout or returned as not sent.
#[test]
fn stop_during_a_steady_flow_accounts_for_every_order() {
    for transport in TRANSPORTS {
        let flow = steady_flow_then_stop(transport);
        let early: Vec<&usize> = flow
            .missing
            .iter()
            .filter(|&&i| i < flow.before_stop)
            .collect();
        assert!(
            early.is_empty(),
            "{transport}: {} orders handed over before stop() returned are lost, e.g. {:?}",
            early.len(),
            &early[..early.len().min(10)]
        );
    }
}

/// `SessionHandle::send` takes messages until the loop ends; when it ends, the loop closes its
/// queue (senders then get `HandleError::Stopped`) and returns what is still queued through
/// `on_not_sent`, so every message handed over while the engine stops is accounted for.
#[test]
fn every_order_handed_over_during_a_stop_is_accounted_for() {
    // The window is short: a few rounds make it show.
    for transport in TRANSPORTS.repeat(3) {
        let flow = steady_flow_then_stop(transport);
        assert!(
            flow.missing.is_empty(),
            "{transport}: {} of {} orders neither delivered nor returned, e.g. {:?}",
            flow.missing.len(),
            flow.handed,
            &flow.missing[..flow.missing.len().min(10)]
        );
    }
}

/// A burst of orders that arrives faster than the acceptor reads, many times what its receive
/// buffer holds, is answered in full and in order, plain and TLS, on both backends, with the
/// connection kept: the acceptor reads it in batches (some 500 pauses here) and writes each
/// batch's answers before reading on.
#[test]
fn a_burst_is_answered_in_full_and_in_order() {
    const ORDERS: usize = 3000;
    for transport in TRANSPORTS {
        for tls in [false, true] {
            let certs = tls.then(certs);
            let pki = certs.as_ref().map(|c| &c.pki);
            let port = free_port();
            let acceptor_app = Recorder::echoing();
            let _acceptor = start(
                &acceptor_text(transport, port, &["BURST".to_owned()], pki),
                acceptor_app.clone(),
            );
            let initiator_app = Recorder::new();
            let initiator = start(
                &initiator_text(RigOptions::new(transport), "BURST", port, pki),
                initiator_app.clone(),
            );
            initiator_app.expect_events("fix.session.logon", 1, WAIT);
            let handle = initiator
                .handle(&SessionId::new("FIX.4.4", "BURST", "ACC"))
                .expect("a handle");
            for n in 0..ORDERS {
                assert!(hand_over(&handle, &format!("b{n}")), "order {n} refused");
            }
            let answered = || initiator_app.with(|s| s.app_in.len());
            assert!(
                poll_until(|| answered() >= ORDERS),
                "{transport} tls={tls}: {} of {ORDERS} answered; {:?}",
                answered(),
                acceptor_app.names()
            );
            initiator_app.with(|s| {
                for (n, (_, msg_type, cl_ord_id)) in s.app_in.iter().enumerate() {
                    assert_eq!(msg_type, "8", "{transport} tls={tls}: message {n}");
                    assert_eq!(cl_ord_id, &format!("b{n}"), "{transport} tls={tls}");
                }
            });
            for app in [&initiator_app, &acceptor_app] {
                assert_eq!(
                    app.count("fix.connection.established"),
                    1,
                    "{:?}",
                    app.names()
                );
                assert_eq!(app.count("fix.connection.lost"), 0, "{:?}", app.names());
                assert_eq!(app.count("fix.session.invalid_message"), 0);
            }
        }
    }
}

/// Keeps orders in flight: answers each ExecutionReport with the next order, up to `total`.
#[derive(Clone)]
struct Window {
    answered: Arc<AtomicUsize>,
    next: Arc<AtomicUsize>,
    total: usize,
    recorder: Recorder,
}

impl Application for Window {
    fn on_event(&mut self, event: &Event) {
        self.recorder.on_event(event);
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        if msg.msg_type() != b"8" {
            return;
        }
        self.answered.fetch_add(1, Ordering::Release);
        let n = self.next.fetch_add(1, Ordering::AcqRel);
        if n < self.total {
            let sent = ctx.reply(b"D", &padded_order(n));
            assert!(sent.is_ok(), "order {n}: {sent:?}");
        }
    }
}

/// Order `n` of a [`Window`], with a Text of 1,000 bytes.
fn padded_order(n: usize) -> Vec<u8> {
    let mut body = order(&format!("w{n}"));
    body.extend_from_slice(format!("58={}\x01", "x".repeat(1000)).as_bytes());
    body
}

/// A window of 100 orders of about 1 KB kept in flight, several times what the acceptor's
/// receive buffer holds, goes on until every order is answered, on both backends, between
/// spinning loops: the acceptor's reads pause, its receives stop and start again as the
/// buffer fills and empties, and nothing waits for a turn that never comes.
#[test]
fn a_window_of_orders_in_flight_is_answered_to_the_last() {
    const WINDOW: usize = 100;
    const TOTAL: usize = 10_000;
    for transport in TRANSPORTS {
        let port = free_port();
        // Spinning loops: one whose poll finds nothing does not flush.
        let spin = |text: String| text.replacen("[DEFAULT]\n", "[DEFAULT]\nBusyPoll=spin\n", 1);
        let _acceptor = start(
            &spin(acceptor_text(transport, port, &["WINDOW".to_owned()], None)),
            Recorder::echoing(),
        );
        let app = Window {
            answered: Arc::new(AtomicUsize::new(0)),
            next: Arc::new(AtomicUsize::new(WINDOW)),
            total: TOTAL,
            recorder: Recorder::new(),
        };
        let initiator = start(
            &spin(initiator_text(
                RigOptions::new(transport),
                "WINDOW",
                port,
                None,
            )),
            app.clone(),
        );
        app.recorder.expect_events("fix.session.logon", 1, WAIT);
        let handle = initiator
            .handle(&SessionId::new("FIX.4.4", "WINDOW", "ACC"))
            .expect("a handle");
        // The whole window in one go, several times what a receive buffer holds.
        for n in 0..WINDOW {
            assert!(
                handle.send(b"D", padded_order(n)).is_ok(),
                "order {n} refused"
            );
        }
        let answered = || app.answered.load(Ordering::Acquire);
        assert!(
            poll_until(|| answered() >= TOTAL),
            "{transport}: {} of {TOTAL} answered; {:?}",
            answered(),
            app.recorder.names()
        );
    }
}

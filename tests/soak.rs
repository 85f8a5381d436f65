//! The soak: many sessions, each behind its own [`FaultProxy`], cycling through random faults
//! for a bounded time, on both backends. It prints connection attempts, successes, errors and
//! recoveries, the two rates the blueprint sets (at least 99.5 % of attempts on a reachable
//! peer succeed, at least 95 % of errors recover without a person), descriptors and memory at
//! the start and the end, and asserts all of it.
//!
//! `FIXRING_SOAK_SECS` (default 10), `FIXRING_SOAK_SESSIONS` (default 20),
//! `FIXRING_SOAK_RECONNECT` (the initiators' ReconnectInterval, default 1 s) and
//! `FIXRING_SOAK_SEED` (default: from the clock; printed, to replay a run) shape it:
//!
//! ```text
//! FIXRING_SOAK_SECS=60 cargo test --release --test soak -- --nocapture
//! ```

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::free_port;
use common::proxy::{Attempts, Fault, FaultProxy};
use common::rig::{TRANSPORTS, order, start};
use common::vitals::{exclusive, fds_settle, open_fds, rss_kib};
use fixring::core::codec::Message;
use fixring::core::session::SendError;
use fixring::core::{Event, EventKind, SessionId};
use fixring::{Application, Context, Echo, Engine, Outbound};

/// A tiny xorshift64* generator: the soak must replay from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One session's record, kept in counters so that memory stays flat however long the soak.
#[derive(Debug, Default)]
struct SessionStats {
    up: bool,
    logons: u64,
    /// Losses of a logged-on session and failed attempts.
    errors: u64,
    /// Errors followed by a logon again.
    recovered: u64,
    /// Errors since the last logon, and when the first of them happened.
    pending: u64,
    down_since: Option<Instant>,
    longest_recovery: Duration,
    /// Execution reports received.
    echoes: u64,
    total_recovery: Duration,
    recoveries: u64,
}

/// The initiators' application: counts per session, keeps nothing else.
#[derive(Clone, Default)]
struct Counting {
    stats: Arc<Mutex<HashMap<String, SessionStats>>>,
    echoes: Arc<AtomicU64>,
    not_sent: Arc<AtomicU64>,
    /// MsgSeqNums the store could no longer resend (`fix.session.messages_not_resent`).
    not_resent: Arc<AtomicU64>,
}

impl Counting {
    fn error(&self, session: &SessionId) {
        let mut stats = self.stats.lock().unwrap();
        let s = stats.entry(session.sender_comp_id.clone()).or_default();
        s.errors += 1;
        s.pending += 1;
        s.up = false;
        s.down_since.get_or_insert_with(Instant::now);
    }
}

impl Application for Counting {
    fn on_event(&mut self, event: &Event) {
        match &event.kind {
            EventKind::ConnectionEstablished { session_id, .. } => {
                let mut stats = self.stats.lock().unwrap();
                let s = stats.entry(session_id.sender_comp_id.clone()).or_default();
                s.up = true;
                s.logons += 1;
                s.recovered += std::mem::take(&mut s.pending);
                if let Some(since) = s.down_since.take() {
                    let took = since.elapsed();
                    s.longest_recovery = s.longest_recovery.max(took);
                    s.total_recovery += took;
                    s.recoveries += 1;
                }
            }
            // A Logout the peer forced is followed by the loss of the connection: one error.
            EventKind::ConnectionLost { session_id, .. }
            | EventKind::ConnectionFailed { session_id, .. } => self.error(session_id),
            EventKind::MessagesNotResent { begin, end, .. } => {
                self.not_resent
                    .fetch_add(end - begin + 1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, _msg: &Message<'_>) {
        self.echoes.fetch_add(1, Ordering::Relaxed);
        let mut stats = self.stats.lock().unwrap();
        let s = stats
            .entry(ctx.session_id().sender_comp_id.clone())
            .or_default();
        s.echoes += 1;
    }

    fn on_not_sent(&mut self, _session: &SessionId, _msg: Outbound, _reason: SendError) {
        self.not_sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// The acceptors' application: echoes orders, counts them and the connections it refused.
#[derive(Clone, Default)]
struct Echoing {
    echo: Echo,
    orders: Arc<AtomicU64>,
    refused: Arc<Mutex<HashMap<String, u64>>>,
    /// Silent connections a new Logon of the same session replaced.
    replaced: Arc<AtomicU64>,
}

impl Application for Echoing {
    fn on_event(&mut self, event: &Event) {
        if let EventKind::ConnectionError { error_detail, .. } = &event.kind {
            // The detail up to its first specific part (CompIDs, checksums) names the kind.
            let kind = error_detail
                .split([':', ','])
                .next()
                .unwrap_or_default()
                .replace(|c: char| c.is_ascii_digit(), "");
            let kind = if error_detail.contains("already logged on") {
                "session already logged on".to_owned()
            } else {
                kind
            };
            *self.refused.lock().unwrap().entry(kind).or_default() += 1;
        }
        if let EventKind::ConnectionLost { error_detail, .. } = &event.kind
            && error_detail.starts_with("replaced")
        {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        self.orders.fetch_add(1, Ordering::Relaxed);
        self.echo.on_app_message(ctx, msg);
    }
}

/// What the driver does to one session's link next, and for how long.
fn next_fault(rng: &mut Rng, proxy: &FaultProxy) -> (&'static str, Duration) {
    proxy.set_fault(Fault::None);
    proxy.resume_all();
    let secs = |rng: &mut Rng, low: u64, high: u64| Duration::from_millis(rng.range(low, high));
    match rng.range(0, 10) {
        0 | 1 => ("healthy", secs(rng, 1_000, 4_000)),
        2 => {
            proxy.reset_all();
            ("reset", secs(rng, 1_000, 3_000))
        }
        3 => {
            proxy.reset_all_after(rng.range(1, 300) as usize);
            ("reset mid-message", secs(rng, 1_000, 3_000))
        }
        4 => {
            proxy.stall_all();
            ("stall", secs(rng, 3_500, 5_000))
        }
        5 => {
            proxy.set_fault(Fault::Refuse);
            proxy.reset_all();
            ("refuse", secs(rng, 1_000, 3_000))
        }
        6 => {
            proxy.set_fault(Fault::CloseAfter(rng.range(0, 400) as usize));
            proxy.reset_all();
            ("close after N bytes", secs(rng, 1_000, 3_000))
        }
        7 => {
            let after = rng.range(0, 2_000) as usize;
            proxy.set_fault(Fault::Corrupt { after, once: true });
            proxy.reset_all();
            ("corrupt", secs(rng, 1_000, 3_000))
        }
        8 => {
            proxy.set_fault(Fault::Delay(Duration::from_millis(rng.range(5, 150))));
            proxy.reset_all();
            ("delay", secs(rng, 2_000, 4_000))
        }
        _ => {
            proxy.set_fault(Fault::OneByteWrites);
            proxy.reset_all();
            ("one-byte writes", secs(rng, 2_000, 4_000))
        }
    }
}

/// One backend's acceptor, proxies and initiator; they drop initiator first.
struct Side {
    initiator: Engine<Counting>,
    proxies: Vec<FaultProxy>,
    sessions: Vec<SessionId>,
    _acceptor: Engine<Echoing>,
}

/// Settings every side shares.
#[derive(Clone, Copy)]
struct Shape {
    /// The initiators' ReconnectInterval, in seconds.
    reconnect: u64,
}

/// One backend's acceptor, its proxies and its initiator, for sessions `first..first + count`.
fn side(
    transport: &'static str,
    (first, count): (usize, usize),
    shape: Shape,
    app: &Counting,
    acc: &Echoing,
) -> Side {
    let port = free_port();
    let names: Vec<String> = (first..first + count).map(|i| format!("S{i:03}")).collect();
    let mut acceptor_text = format!(
        "[DEFAULT]\nTransport={transport}\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\nHeartBtInt=1\n\
         LogonTimeout=2\nLogoutTimeout=1\n"
    );
    for name in &names {
        acceptor_text.push_str(&format!("[SESSION]\nTargetCompID={name}\n"));
    }
    let acceptor = start(&acceptor_text, acc.clone());
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let proxies: Vec<FaultProxy> = names.iter().map(|_| FaultProxy::start(target)).collect();
    // No ResetOnLogon: MsgSeqNum carries on, and what a broken connection lost is resent
    // from the message store on the next. ReconnectInterval equal to HeartBtInt: after a
    // stall the initiator may log on again before the acceptor noticed the silence, and the
    // acceptor must let it replace the silent connection.
    let mut initiator_text = format!(
        "[DEFAULT]\nTransport={transport}\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         TargetCompID=ACC\nHeartBtInt=1\nReconnectInterval={}\nLogoutTimeout=1\n\
         SocketConnectHost=127.0.0.1\n",
        shape.reconnect
    );
    for (name, proxy) in names.iter().zip(&proxies) {
        initiator_text.push_str(&format!(
            "[SESSION]\nSenderCompID={name}\nSocketConnectPort={}\n",
            proxy.port()
        ));
    }
    let initiator = start(&initiator_text, app.clone());
    let sessions = names
        .iter()
        .map(|n| SessionId::new("FIX.4.4", n, "ACC"))
        .collect();
    Side {
        initiator,
        proxies,
        sessions,
        _acceptor: acceptor,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[test]
fn soak_random_faults() {
    let _alone = exclusive();
    let secs = env_u64("FIXRING_SOAK_SECS", 10);
    let sessions = env_u64("FIXRING_SOAK_SESSIONS", 20).max(2) as usize;
    let clock_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let seed = env_u64("FIXRING_SOAK_SEED", clock_seed);
    let shape = Shape {
        reconnect: env_u64("FIXRING_SOAK_RECONNECT", 1).max(1),
    };
    let mut rng = Rng::new(seed);
    let (fds_start, rss_start) = (open_fds(), rss_kib());
    println!(
        "soak: {secs} s, {sessions} sessions (half on io_uring, half on epoll), HeartBtInt=1, \
         ReconnectInterval={}, FIXRING_SOAK_SEED={seed}",
        shape.reconnect
    );
    println!("soak: start: {fds_start} descriptors, VmRSS {rss_start} KiB");

    let app = Counting::default();
    let acc = Echoing::default();
    let half = sessions / 2;
    let sides: Vec<Side> = TRANSPORTS
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let count = if n == 0 { half } else { sessions - half };
            side(t, (n * half, count), shape, &app, &acc)
        })
        .collect();
    let links: Vec<(&FaultProxy, SessionId, fixring::SessionHandle)> = sides
        .iter()
        .flat_map(|side| {
            side.proxies.iter().zip(&side.sessions).map(|(proxy, id)| {
                let handle = side.initiator.handle(id).expect("a handle");
                (proxy, id.clone(), handle)
            })
        })
        .collect();
    let all_up = |want: u64| {
        let stats = app.stats.lock().unwrap();
        stats.len() == links.len() && stats.values().all(|s| s.up && s.logons >= want)
    };
    let end = Instant::now() + Duration::from_secs(10);
    while !all_up(1) && Instant::now() < end {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(all_up(1), "not every session logged on at the start");

    let began = Instant::now();
    let mut next_change = vec![began; links.len()];
    let mut faults: HashMap<&'static str, u64> = HashMap::new();
    let mut sent = 0u64;
    let mut rss_peak = rss_start;
    while began.elapsed() < Duration::from_secs(secs) {
        let now = Instant::now();
        for (i, (proxy, _, handle)) in links.iter().enumerate() {
            if now >= next_change[i] {
                let (name, hold) = next_fault(&mut rng, proxy);
                *faults.entry(name).or_default() += 1;
                next_change[i] = now + hold;
            }
            if handle.send(b"D", order(&format!("SOAK-{sent}"))).is_ok() {
                sent += 1;
            }
        }
        rss_peak = rss_peak.max(rss_kib());
        thread::sleep(Duration::from_millis(50));
    }

    // Lift every fault; every session must come back by itself.
    for (proxy, _, _) in &links {
        proxy.set_fault(Fault::None);
        proxy.resume_all();
    }
    let settle = Instant::now();
    while !all_up(1) && settle.elapsed() < Duration::from_secs(15) {
        thread::sleep(Duration::from_millis(50));
    }
    let recovered_all = all_up(1);
    let fds_running = open_fds();
    // Every session trades at the end: an order, sent again if it comes back not sent (the
    // session may be going through the last loss), must be answered within 10 s.
    let echoes_of = |id: &SessionId| {
        app.stats
            .lock()
            .unwrap()
            .get(&id.sender_comp_id)
            .map_or(0, |s| s.echoes)
    };
    let mut silent = Vec::new();
    for (_, id, handle) in &links {
        let before = echoes_of(id);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut answered = false;
        while !answered && Instant::now() < deadline {
            if handle.send(b"D", order("SOAK-final")).is_ok() {
                sent += 1;
            }
            let retry = Instant::now() + Duration::from_secs(1);
            while echoes_of(id) == before && Instant::now() < retry {
                thread::sleep(Duration::from_millis(10));
            }
            answered = echoes_of(id) > before;
        }
        if !answered {
            silent.push(id.to_string());
        }
    }
    let traded = silent.is_empty();
    // Every order handed over is delivered or returned; give the last resends a moment.
    let accounted = || acc.orders.load(Ordering::Relaxed) + app.not_sent.load(Ordering::Relaxed);
    let settle = Instant::now();
    while accounted() < sent && settle.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(50));
    }
    let lost = sent.saturating_sub(accounted());

    let mut attempts = Attempts::default();
    for (proxy, _, _) in &links {
        let a = proxy.attempts();
        attempts.reachable += a.reachable;
        attempts.logged_on += a.logged_on;
        attempts.sabotaged += a.sabotaged;
        attempts.failed.extend(a.failed);
    }
    let (errors, recovered, logons, longest, total, recoveries) = {
        let stats = app.stats.lock().unwrap();
        stats.values().fold(
            (0, 0, 0, Duration::ZERO, Duration::ZERO, 0),
            |(e, r, l, m, t, n), s| {
                (
                    e + s.errors,
                    r + s.recovered,
                    l + s.logons,
                    m.max(s.longest_recovery),
                    t + s.total_recovery,
                    n + s.recoveries,
                )
            },
        )
    };
    drop(links);
    drop(sides);
    let fds_end = fds_settle(fds_start, Duration::from_secs(5));
    let rss_end = rss_kib();

    let attempt_rate = percent(attempts.logged_on, attempts.reachable);
    let recovery_rate = percent(recovered, errors);
    let mut fault_list: Vec<_> = faults.into_iter().collect();
    fault_list.sort();
    println!("soak: faults injected: {fault_list:?}");
    println!(
        "soak: connection attempts {}: {} on a reachable peer, {} logged on; {} broken on \
         purpose",
        attempts.reachable + attempts.sabotaged,
        attempts.reachable,
        attempts.logged_on,
        attempts.sabotaged
    );
    println!(
        "soak: logons {logons}, errors {errors}, recovered {recovered}, in {recoveries} \
         outages; an outage lasted {:?} on average, {longest:?} at most",
        total
            .checked_div(recoveries.max(1) as u32)
            .unwrap_or_default()
    );
    println!(
        "soak: orders handed over {sent}, delivered {}, returned not sent {}, lost {lost}; \
         MsgSeqNums not resent {}",
        acc.orders.load(Ordering::Relaxed),
        app.not_sent.load(Ordering::Relaxed),
        app.not_resent.load(Ordering::Relaxed)
    );
    println!(
        "soak: the acceptors refused: {:?}; replaced {} silent connections",
        acc.refused.lock().unwrap(),
        acc.replaced.load(Ordering::Relaxed)
    );
    for failed in &attempts.failed {
        println!("soak: an attempt on a reachable peer failed: {failed}");
    }
    println!(
        "soak: attempt success rate {attempt_rate:.2} % (target 99.5 %), recovery rate \
         {recovery_rate:.2} % (target 95 %)"
    );
    println!(
        "soak: end: {fds_end} descriptors ({fds_running} while running), VmRSS {rss_end} KiB \
         (peak {rss_peak} KiB)"
    );
    assert!(
        recovered_all,
        "a session did not come back once the faults were lifted"
    );
    assert!(
        traded,
        "a session did not trade once the faults were lifted"
    );
    assert_eq!(lost, 0, "orders neither delivered nor returned");
    assert!(
        attempt_rate >= 99.5,
        "attempt success rate {attempt_rate:.2} %"
    );
    assert!(recovery_rate >= 95.0, "recovery rate {recovery_rate:.2} %");
    assert!(errors > 0, "no fault took effect");
    assert!(
        fds_end <= fds_start,
        "{fds_start} descriptors at the start, {fds_end} at the end"
    );
    let grown = rss_end.saturating_sub(rss_start);
    assert!(grown <= 64 * 1024, "VmRSS grew by {grown} KiB");
}

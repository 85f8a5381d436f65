//! A flood of connections never locks out a counterparty: during a flood of 10,000 idle
//! connections, and one of garbage senders, that connect again as soon as they are closed, a
//! configured session logs on 10 times out of 10, each within [`LOGON_BOUND`]; the session
//! already logged on stays up; descriptors and memory come back; and the flood is reported in
//! a few events, not one per connection. On both backends, over loopback. Also: a session's
//! latency through a flood of TLS ClientHellos, and an acceptor out of descriptors.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::flood::{Flood, FloodPlan};
use common::recorder::Recorder;
use common::rig::{fix_message, start};
use common::vitals::{exclusive, fds_settle, open_fds, rss_kib};
use common::{free_port, sending_time_now};
use fixring::core::EventKind;

/// Connections the flood keeps open, or trying to be.
const FLOOD: usize = 10_000;
/// Logons of the configured session during the flood.
const LOGONS: usize = 10;
/// The bound on every Logon during a flood, the 300 ms, held in a debug build on two
/// shared cores; on an idle machine a Logon during a flood takes about a millisecond
/// (docs/reliability.md). Every Logon's time is printed.
const LOGON_BOUND: Duration = Duration::from_millis(300);
/// The time between two Logons.
const PAUSE: Duration = Duration::from_millis(150);
/// The most event lines the engine may report for the whole of one flood.
const MAX_EVENTS: usize = 300;
/// Resident memory a flood may leave behind: the buffers of the loop's 1,024 connections, which
/// epoll allocates as each is first used and keeps (16 KiB each way: 32 MiB), and allocator
/// caches.
const RSS_SLACK_KIB: u64 = 40 * 1024;
/// How long anything that should take a moment may take.
const WAIT: Duration = Duration::from_secs(10);

/// Room for the flood's sockets and the engine's in this process (we run as root; the soft
/// limit goes up to the hard one otherwise).
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: `limit` is a valid rlimit for both calls.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let wanted = 40_000.max(limit.rlim_cur);
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted.max(limit.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn acceptor(transport: &str, port: u16) -> String {
    format!(
        "[DEFAULT]\nTransport={transport}\nHttpAcceptPort=0\nConnectionType=acceptor\n\
         BeginString=FIX.4.4\n\
         SenderCompID=ACC\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\n\
         HeartBtInt=30\nLogonTimeout=10\nLogoutTimeout=1\n\
         [SESSION]\nTargetCompID=STAYER\n[SESSION]\nTargetCompID=CLIENT\n"
    )
}

/// A Logon from `sender` that resets both sequence numbers.
fn logon(sender: &str) -> Vec<u8> {
    fix_message(&[
        "35=A",
        &format!("49={sender}"),
        "56=ACC",
        "34=1",
        &sending_time_now(),
        "98=0",
        "108=30",
        "141=Y",
    ])
}

fn admin(sender: &str, msg_type: &str, seq: u32, extra: &[&str]) -> Vec<u8> {
    let mut fields = vec![
        format!("35={msg_type}"),
        format!("49={sender}"),
        "56=ACC".to_owned(),
        format!("34={seq}"),
        sending_time_now(),
    ];
    fields.extend(extra.iter().map(|&f| f.to_owned()));
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    fix_message(&fields)
}

/// Reads from `stream` until what it received contains `needle`, or `within` passes.
fn read_until(stream: &mut TcpStream, needle: &[u8], within: Duration) -> Result<(), String> {
    let end = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if seen.windows(needle.len()).any(|w| w == needle) {
            return Ok(());
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "timed out; received {:?}",
                String::from_utf8_lossy(&seen)
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "closed; received {:?}",
                    String::from_utf8_lossy(&seen)
                ));
            }
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!(
                    "{e}; received {:?}",
                    String::from_utf8_lossy(&seen)
                ));
            }
        }
    }
}

/// Connects to `addr` and logs on as `sender`: the socket and how long until the acceptor's
/// Logon came back.
fn log_on(
    addr: SocketAddr,
    sender: &str,
    within: Duration,
) -> Result<(TcpStream, Duration), String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, within).map_err(|e| e.to_string())?;
    stream
        .write_all(&logon(sender))
        .map_err(|e| e.to_string())?;
    let left = within.saturating_sub(started.elapsed());
    read_until(&mut stream, b"\x0135=A\x01", left)?;
    Ok((stream, started.elapsed()))
}

/// Logs `sender` out and waits for the acceptor to close the socket.
fn log_out(mut stream: TcpStream, sender: &str) -> Result<(), String> {
    stream
        .write_all(&admin(sender, "5", 2, &[]))
        .map_err(|e| e.to_string())?;
    read_until(&mut stream, b"\x0135=5\x01", WAIT)?;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    Ok(())
}

/// The sum over the loops of `name` on the status server's `/metrics`, once the loops have
/// published (every 100 ms).
fn metric(engine: &fixring::Engine<Recorder>, name: &str) -> u64 {
    let addr = engine.status_addr().expect("HttpAcceptPort serves");
    let end = Instant::now() + WAIT;
    loop {
        let mut stream = TcpStream::connect(addr).expect("the status server");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("GET /metrics");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        let sum: u64 = response
            .lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        if sum > 0 || Instant::now() >= end {
            return sum;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the flooding connections do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Connect and wait.
    Idle,
    /// Send 2 KiB of bytes that are not FIX, and wait.
    Garbage,
}

/// Where the flooding connections come from; the counterparty comes from 127.0.0.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sources {
    /// Sixteen addresses, 127.0.1.1–16, so that the flood fills the budget of every address
    /// and, beyond them, the loop's whole budget.
    Few,
    /// One address per connection, 127.1.0.0 on, so that no address is ever beyond its cap
    /// and the loop's budget alone turns the flood away, oldest first.
    OnePerConnection,
}

impl Sources {
    fn addresses(self) -> Vec<Ipv4Addr> {
        match self {
            Sources::Few => (1..=16).map(|i| Ipv4Addr::new(127, 0, 1, i)).collect(),
            Sources::OnePerConnection => (0..FLOOD as u32)
                .map(|i| Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 1, 0, 0)) + i))
                .collect(),
        }
    }

    /// The prefix of every address of the flood.
    fn prefix(self) -> &'static str {
        match self {
            Sources::Few => "127.0.1.",
            Sources::OnePerConnection => "127.1.",
        }
    }
}

fn flood_plan(target: SocketAddr, behaviour: Behaviour, sources: Sources) -> FloodPlan {
    FloodPlan {
        target,
        sources: sources.addresses(),
        connections: FLOOD,
        payload: match behaviour {
            Behaviour::Idle => Vec::new(),
            Behaviour::Garbage => vec![b'x'; 2048],
        },
        deadline: Duration::from_secs(60),
        max_connects: 2_000_000,
        core: None,
    }
}

fn a_flood_never_locks_out_a_counterparty(
    transport: &'static str,
    behaviour: Behaviour,
    sources: Sources,
) {
    let _one_at_a_time = exclusive();
    raise_descriptor_limit();
    let port = free_port();
    let app = Recorder::new();
    let engine = start(&acceptor(transport, port), app.clone());
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (mut stayer, _) = log_on(addr, "STAYER", WAIT).expect("STAYER logs on before the flood");
    let (fds_before, rss_before) = (open_fds(), rss_kib());
    let events_before = app.with(|s| s.events.len());

    let flood = Flood::start(flood_plan(addr, behaviour, sources));
    // The flood is on once every one of its connections has been tried and the acceptor is
    // closing them as they come.
    let on = Instant::now();
    while (flood.connects() < FLOOD as u64 || flood.closed_by_peer() < 2 * FLOOD as u64 / 10)
        && on.elapsed() < WAIT
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (connects, closed) = (flood.connects(), flood.closed_by_peer());
    assert!(
        connects >= FLOOD as u64 && closed > 0,
        "the flood did not get going: {connects} connects, {closed} closed"
    );

    let mut took = Vec::new();
    for i in 0..LOGONS {
        // Spread over the flood, through the waves of connects the kernel retries.
        std::thread::sleep(PAUSE);
        let (stream, elapsed) = log_on(addr, "CLIENT", WAIT)
            .unwrap_or_else(|e| panic!("{transport}: Logon {} of {LOGONS} failed: {e}", i + 1));
        took.push(elapsed);
        log_out(stream, "CLIENT").unwrap_or_else(|e| panic!("{transport}: Logout {}: {e}", i + 1));
    }
    // The session logged on before the flood still answers.
    stayer
        .write_all(&admin("STAYER", "1", 2, &["112=STILL-THERE"]))
        .expect("STAYER's socket is open");
    read_until(&mut stayer, b"\x01112=STILL-THERE\x01", WAIT).expect("STAYER's Heartbeat");
    let during = (
        flood.connects(),
        flood.closed_by_peer(),
        flood.established(),
    );
    let parked = metric(&engine, "fixring_parked_connections");
    flood.stop();
    assert!(
        parked > 0,
        "{transport}: nothing parked during the flood (fixring_parked_connections)"
    );
    let events = app.with(|s| s.events.len()) - events_before;
    let slowest = took.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{transport} {behaviour:?}: {} connects, {} established, {} closed by the acceptor, \
         {parked} parked; Logons took {took:?}; {events} events",
        during.0, during.2, during.1
    );
    assert!(
        slowest <= LOGON_BOUND,
        "{transport}: a Logon took {slowest:?}, more than {LOGON_BOUND:?}: {took:?}"
    );
    let lost = app.with(|s| {
        s.events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::ConnectionLost { session_id, .. } if session_id.target_comp_id == "STAYER"))
            .count()
    });
    assert_eq!(lost, 0, "{transport}: STAYER was dropped");
    let fds_after = fds_settle(fds_before, WAIT);
    assert!(
        fds_after <= fds_before,
        "{transport}: {fds_after} descriptors open after the flood, {fds_before} before"
    );
    let grown = rss_kib().saturating_sub(rss_before);
    eprintln!(
        "{transport} {behaviour:?}: descriptors {fds_before} → {fds_after}, VmRSS +{grown} KiB"
    );
    assert!(
        grown <= RSS_SLACK_KIB,
        "{transport}: VmRSS grew by {grown} KiB through the flood"
    );
    assert!(
        events <= MAX_EVENTS,
        "{transport}: {events} events for one flood, more than {MAX_EVENTS}: {:?}",
        app.names()
    );

    let evicted_metric = metric(&engine, "fixring_connections_evicted_total");
    assert!(
        evicted_metric > 0,
        "{transport}: /metrics counts no connection evicted"
    );

    engine.stop();
    let flood_events = |s: &common::recorder::Seen| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ConnectionFlood {
                    evicted,
                    refused,
                    sources,
                    ..
                } => Some((*evicted, *refused, sources.clone())),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(
        app.wait_for(WAIT, |s| !flood_events(s).is_empty()),
        "{transport}: no fix.connection.flood"
    );
    let reports = app.with(flood_events);
    let (evicted, refused): (u64, u64) = reports
        .iter()
        .fold((0, 0), |(e, r), report| (e + report.0, r + report.1));
    eprintln!("{transport} {behaviour:?}: fix.connection.flood {reports:?}");
    assert!(
        evicted + refused > 0,
        "{transport}: nothing evicted or refused: {reports:?}"
    );
    let sources_named = reports
        .iter()
        .flat_map(|r| r.2.iter())
        .all(|(address, _)| address.to_string().starts_with(sources.prefix()));
    assert!(
        sources_named,
        "{transport}: the flood's sources: {reports:?}"
    );
}

#[test]
fn idle_flood_uring() {
    a_flood_never_locks_out_a_counterparty("uring", Behaviour::Idle, Sources::Few);
}

#[test]
fn idle_flood_epoll() {
    a_flood_never_locks_out_a_counterparty("epoll", Behaviour::Idle, Sources::Few);
}

/// The flood from as many addresses as connections: the oldest of all is turned away, and
/// the counterparty's connection, the newest, stays until its Logon is read.
#[test]
fn idle_flood_from_one_address_per_connection_uring() {
    a_flood_never_locks_out_a_counterparty("uring", Behaviour::Idle, Sources::OnePerConnection);
}

#[test]
fn garbage_flood_uring() {
    a_flood_never_locks_out_a_counterparty("uring", Behaviour::Garbage, Sources::Few);
}

#[test]
fn garbage_flood_epoll() {
    a_flood_never_locks_out_a_counterparty("epoll", Behaviour::Garbage, Sources::Few);
}

/// The ClientHello a TLS client trusting `ca` sends first.
fn client_hello(ca: &std::path::Path) -> Vec<u8> {
    use fixring::core::tls::{TlsConnection, TlsSetup};
    let ca = std::fs::read(ca).expect("the CA certificate");
    let config = TlsSetup::from_pem(None, None, Some(&ca))
        .and_then(|setup| setup.client_config())
        .expect("a client configuration");
    let mut client = TlsConnection::client(config, "localhost").expect("a client");
    let mut out = vec![0u8; 16 * 1024];
    let progress = client
        .process(&mut [], &mut out, &mut |_| {})
        .expect("a ClientHello");
    out.truncate(progress.written);
    out
}

/// Orders from `DESK`, sent one every millisecond; waits for each batch's echo.
fn trade(handle: &fixring::SessionHandle, app: &Recorder, from: usize, count: usize) {
    for i in from..from + count {
        handle
            .send(b"D", common::rig::order(&format!("ORD-{i}")))
            .expect("queued");
        std::thread::sleep(Duration::from_millis(1));
    }
    let echoed = app.wait_for(WAIT, |s| s.app_in.len() >= from + count);
    assert!(
        echoed,
        "{} of {} orders echoed",
        app.with(|s| s.app_in.len()),
        from + count
    );
}

/// A logged-on session's orders, measured by the engine's own histogram (hand-over to the
/// socket, on the loop that also serves the flooded TLS port), before and during a flood of
/// ClientHellos, each of which costs the server an RSA signature. The figures are printed,
/// with the CPU time of the loops and of the handshake thread; the test asserts what must
/// hold: every order goes out and comes back, the session is never lost, and the flood is
/// reported.
#[test]
fn a_client_hello_flood_leaves_the_loop_s_sessions_trading() {
    a_flood_leaves_sessions_trading("RSA 2048", common::certs::rsa_pki);
}

#[test]
fn a_client_hello_flood_leaves_the_loop_s_sessions_trading_ecdsa() {
    a_flood_leaves_sessions_trading("ECDSA P-256", common::certs::ecdsa_pki);
}

/// Makes the certificates and key of a TLS port.
type MakePki = fn(&std::path::Path) -> Result<common::certs::Pki, String>;

/// A loop's initiator session trades while a TLS acceptor port of the same loop, its
/// certificate and key made by `pki`, is flooded with ClientHellos. Its hand-over latency
/// before and during the flood is printed (docs/reliability.md has the figures). With two cores or more, the loop
/// is pinned to core 1 and the echoing acceptor and the flood to core 0, as a colocated host
/// keeps a loop's core to itself.
fn a_flood_leaves_sessions_trading(keys: &str, pki: MakePki) {
    let _one_at_a_time = exclusive();
    raise_descriptor_limit();
    let certs = common::rig::certs_of(pki);
    let tls_keys = format!(
        "SocketUseSSL=Y\nSocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
        certs.pki.server_cert.display(),
        certs.pki.server_key.display()
    );
    let payload = client_hello(&certs.pki.ca_cert);
    let (echo_port, tls_port) = (free_port(), free_port());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (pin_rest, pin_loop) = if cores >= 2 {
        ("EventLoopCores=0\n", "EventLoopCores=1\n")
    } else {
        ("", "")
    };
    let echo_app = Recorder::echoing();
    let _echo = start(
        &format!(
            "[DEFAULT]\n{pin_rest}Transport=uring\nBeginString=FIX.4.4\nHeartBtInt=30\n\
             [SESSION]\nConnectionType=acceptor\nSenderCompID=ECHO\nTargetCompID=DESK\n\
             SocketAcceptPort={echo_port}\nSocketAcceptHost=127.0.0.1\n"
        ),
        echo_app,
    );
    let app = Recorder::new();
    let engine = start(
        &format!(
            "[DEFAULT]\n{pin_loop}Transport=uring\nBeginString=FIX.4.4\nHeartBtInt=30\n\
             [SESSION]\nConnectionType=initiator\nSenderCompID=DESK\nTargetCompID=ECHO\n\
             SocketConnectHost=127.0.0.1\nSocketConnectPort={echo_port}\nReconnectInterval=1\n\
             [SESSION]\nConnectionType=acceptor\nSenderCompID=ACC\nTargetCompID=CLIENT\n\
             SocketAcceptPort={tls_port}\nSocketAcceptHost=127.0.0.1\nLogonTimeout=10\n\
             {tls_keys}"
        ),
        app.clone(),
    );
    app.expect_events("fix.session.logon", 1, WAIT);
    let desk = fixring::core::SessionId::new("FIX.4.4", "DESK", "ECHO");
    let handle = engine.handle(&desk).expect("DESK's handle");
    const ORDERS: usize = 300;
    trade(&handle, &app, 0, ORDERS);
    // The loops publish their histograms every 100 ms.
    std::thread::sleep(Duration::from_millis(300));
    let before = engine.latency().outbound().clone();
    let handshake_cpu_before = threads_cpu("fixring-handsha");
    let loops_cpu_before = threads_cpu("fixring-loop");

    let flood = Flood::start(FloodPlan {
        payload,
        connections: 2_000,
        core: (cores >= 2).then_some(0),
        ..flood_plan(
            SocketAddr::from((Ipv4Addr::LOCALHOST, tls_port)),
            Behaviour::Idle,
            Sources::Few,
        )
    });
    let on = Instant::now();
    while flood.closed_by_peer() < 500 && on.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    trade(&handle, &app, ORDERS, ORDERS);
    std::thread::sleep(Duration::from_millis(300));
    let mut during = engine.latency().outbound().clone();
    during.subtract(&before).expect("the same histogram, later");
    let (connects, closed) = (flood.connects(), flood.closed_by_peer());
    flood.stop();
    let signing = threads_cpu_since("fixring-handsha", &handshake_cpu_before);
    let looping = threads_cpu_since("fixring-loop", &loops_cpu_before);
    if cores >= 2 {
        // The handshakes keep off the pinned loop's core (docs/tuning.md).
        let allowed = threads_cpus("fixring-handsha");
        assert!(
            !allowed.is_empty() && allowed.iter().all(|cpus| !cpus.contains(&1)),
            "{keys}: the handshake thread may run on the loop's core 1: {allowed:?}"
        );
    }
    let quantiles = |h: &hdrhistogram::Histogram<u64>| {
        let p = fixring::Percentiles::of(h);
        format!(
            "p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs ({} orders)",
            p.p50 as f64 / 1e3,
            p.p99 as f64 / 1e3,
            p.p999 as f64 / 1e3,
            p.max as f64 / 1e3,
            p.count
        )
    };
    eprintln!(
        "{keys}: hand-over to socket of DESK's orders: before the flood {}; during the flood \
         ({connects} connects, {closed} closed by the acceptor) {}; CPU during the flood: the \
         loops' {looping:?}, the handshake thread's {signing:?}",
        quantiles(&before),
        quantiles(&during)
    );
    assert!(closed > 0, "the flood's connections were never closed");
    let lost = app.with(|s| {
        s.events
            .iter()
            .filter(|e| e.name() == "fix.connection.lost")
            .count()
    });
    assert_eq!(lost, 0, "DESK was dropped");
    engine.stop();
    assert!(
        app.wait_for(WAIT, |s| s
            .events
            .iter()
            .any(|e| e.name() == "fix.connection.flood")),
        "no fix.connection.flood"
    );
}

/// CPU time the engine's threads (named `fixring-…`) have used, from `/proc/self/task`.
fn engine_cpu() -> Duration {
    thread_cpu("fixring")
}

/// CPU time the threads whose name begins with `prefix` have used, from `/proc/self/task`
/// (the kernel keeps the first 15 bytes of a thread's name; `schedstat` counts nanoseconds).
fn thread_cpu(prefix: &str) -> Duration {
    threads_cpu(prefix).values().sum()
}

/// The thread ids and `/proc` directories of the threads whose name begins with `prefix`.
fn threads_named(prefix: &str) -> Vec<(String, std::path::PathBuf)> {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.starts_with(prefix))
        })
        .map(|task| (task.file_name().to_string_lossy().into_owned(), task.path()))
        .collect()
}

/// The CPU time of each thread whose name begins with `prefix`, by thread id.
fn threads_cpu(prefix: &str) -> std::collections::HashMap<String, Duration> {
    let mut threads = std::collections::HashMap::new();
    for (id, path) in threads_named(prefix) {
        let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        let on_cpu = stat.split(' ').next().and_then(|ns| ns.parse::<u64>().ok());
        threads.insert(id, Duration::from_nanos(on_cpu.unwrap_or(0)));
    }
    threads
}

/// The cores each thread whose name begins with `prefix` may run on, from the
/// `Cpus_allowed_list` of `/proc/self/task/*/status` (such as `0,2-3`).
fn threads_cpus(prefix: &str) -> Vec<Vec<usize>> {
    let mut threads = Vec::new();
    for (_, path) in threads_named(prefix) {
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let Some(list) = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        else {
            continue;
        };
        let mut cpus = Vec::new();
        for range in list.trim().split(',') {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            if let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) {
                cpus.extend(first..=last);
            }
        }
        threads.push(cpus);
    }
    threads
}

/// The CPU time the threads whose name begins with `prefix` have used since `before` was
/// taken with [`threads_cpu`]; a thread that ended meanwhile counts for nothing.
fn threads_cpu_since(
    prefix: &str,
    before: &std::collections::HashMap<String, Duration>,
) -> Duration {
    threads_cpu(prefix)
        .into_iter()
        .map(|(id, now)| now.saturating_sub(before.get(&id).copied().unwrap_or_default()))
        .sum()
}

/// Out of descriptors, an acceptor backs off instead of spinning on `accept`, says so once,
/// and takes the waiting connection as soon as descriptors are free again.
#[test]
fn out_of_descriptors_uring() {
    out_of_descriptors_an_acceptor_backs_off_with_one_event("uring");
}

#[test]
fn out_of_descriptors_epoll() {
    out_of_descriptors_an_acceptor_backs_off_with_one_event("epoll");
}

fn out_of_descriptors_an_acceptor_backs_off_with_one_event(transport: &str) {
    let _one_at_a_time = exclusive();
    raise_descriptor_limit();
    let port = free_port();
    let app = Recorder::new();
    let text = acceptor(transport, port);
    let engine = start(&text, app.clone());
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // The client's socket exists before descriptors run out; it connects after.
    let client =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    let cpu = engine_cpu();
    // Every descriptor the limit allows taken (the limit an armed io_uring accept read
    // when it was armed, too): `accept` has none left. Bounded by the limit itself.
    let mut fillers = Vec::new();
    while fillers.len() < 1_000_000
        && let Ok(file) = std::fs::File::open("/dev/null")
    {
        fillers.push(file);
    }
    client
        .connect(&addr.into())
        .expect("connect: the kernel queues it");
    std::thread::sleep(Duration::from_secs(1));
    drop(fillers);
    let used = engine_cpu().saturating_sub(cpu);
    assert!(
        used < Duration::from_millis(500),
        "{transport}: the engine used {used:?} of CPU in one second out of descriptors: spinning"
    );
    let backoffs = details_of(&app, "accept failed");
    assert_eq!(
        backoffs.len(),
        1,
        "{transport}: {backoffs:?} {:?}",
        app.names()
    );
    assert!(
        backoffs[0].contains("Too many open files") && backoffs[0].contains("100 ms"),
        "{transport}: {backoffs:?}"
    );
    let mut stream = TcpStream::from(client);
    stream.write_all(&logon("CLIENT")).expect("Logon");
    read_until(&mut stream, b"\x0135=A\x01", WAIT)
        .unwrap_or_else(|e| panic!("{transport}: no Logon back once descriptors are free: {e}"));
    engine.stop();
}

/// The details of the `fix.connection.error` events that contain `needle`.
fn details_of(app: &Recorder, needle: &str) -> Vec<String> {
    app.with(|s| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ConnectionError { error_detail, .. }
                    if error_detail.contains(needle) =>
                {
                    Some(error_detail.clone())
                }
                _ => None,
            })
            .collect()
    })
}

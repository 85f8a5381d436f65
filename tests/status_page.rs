//! The status server (`HttpAcceptPort`): the page read by a real headless browser (Debian's
//! `chromium`, which scripts/test installs), `/metrics` parsed by a Prometheus text-format
//! parser, and `/status.json`, after orders between a fixring acceptor and initiator.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::free_port;
use common::recorder::Recorder;
use common::rig::{order, start};
use fixring::Engine;

const WAIT: Duration = Duration::from_secs(10);

/// The acceptor's session as the status server names it.
const ACCEPTOR_SESSION: &str = "FIX.4.4:ACC->INIT";

const ORDERS: usize = 50;

/// An acceptor with the status server on a free loopback port, and an initiator that has
/// sent [`ORDERS`] orders and had them echoed back.
struct Running {
    acceptor: Engine<Recorder>,
    initiator: Engine<Recorder>,
    status: SocketAddr,
}

fn run_orders() -> Running {
    let port = free_port();
    let acceptor = start(
        &format!(
            "[DEFAULT]\nHttpAcceptPort=0\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
             SenderCompID=ACC\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort={port}\n\
             HeartBtInt=30\nLogoutTimeout=1\n[SESSION]\nTargetCompID=INIT\n"
        ),
        Recorder::echoing(),
    );
    let status = acceptor.status_addr().expect("HttpAcceptPort serves");
    assert!(status.ip().is_loopback(), "{status}: loopback by default");
    let initiator_app = Recorder::new();
    let initiator = start(
        &format!(
            "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=INIT\n\
             TargetCompID=ACC\nHeartBtInt=30\nReconnectInterval=1\nLogoutTimeout=1\n\
             SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
        ),
        initiator_app.clone(),
    );
    initiator_app.expect_events("fix.connection.established", 1, WAIT);
    let id = fixring::core::SessionId::new("FIX.4.4", "INIT", "ACC");
    let handle = initiator.handle(&id).expect("a handle");
    for n in 0..ORDERS {
        handle
            .send(b"D", order(&format!("ORD-{n}")))
            .expect("queued");
    }
    assert!(
        initiator_app.wait_for(WAIT, |s| s.app_in.len() >= ORDERS),
        "the orders were not all answered"
    );
    Running {
        acceptor,
        initiator,
        status,
    }
}

/// The response to `request`, sent raw: status line, headers and body as text.
fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect to the status port");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream.write_all(request).expect("request written");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("response read");
    String::from_utf8(response).expect("UTF-8 response")
}

fn get(addr: SocketAddr, path: &str) -> String {
    let response = http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    );
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n"),
        "GET {path}: {response}"
    );
    let (_, body) = response.split_once("\r\n\r\n").expect("headers end");
    body.to_owned()
}

/// Polls `/status.json` until `done` holds for the acceptor's session (the loops publish
/// every 100 ms), at most [`WAIT`].
fn status_when(addr: SocketAddr, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status: serde_json::Value =
            serde_json::from_str(&get(addr, "/status.json")).expect("/status.json parses");
        let session = status["sessions"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["session_id"] == ACCEPTOR_SESSION))
            .cloned()
            .unwrap_or_else(|| panic!("no {ACCEPTOR_SESSION} in {status}"));
        if done(&session) {
            return session;
        }
        assert!(
            Instant::now() < deadline,
            "status never got there: {session}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn status_json_metrics_and_a_read_only_server() {
    let mut running = run_orders();
    let addr = running.status;
    // Logon, the orders; the Logon answered, the execution reports.
    let total = ORDERS as u64 + 1;
    let session = status_when(addr, |s| s["messages_in"].as_u64() >= Some(total));
    assert_eq!(session["state"], "connected");
    assert_eq!(session["session_state"], "active");
    assert_eq!(session["connection_type"], "acceptor");
    assert_eq!(session["next_target_seq_num"], total + 1);
    assert_eq!(session["next_sender_seq_num"], total + 1);
    assert_eq!(session["messages_out"], total);
    assert_eq!(session["reconnects"], 0);
    assert!(
        session["remote_host"]
            .as_str()
            .is_some_and(|h| h.starts_with("127.0.0.1:"))
    );
    assert!(
        session["last_in"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    // The session's own latency: one count per application message it received.
    let latency = &session["latency_ns"]["inbound"];
    assert_eq!(latency["count"].as_u64(), Some(ORDERS as u64), "{latency}");
    let (p50, p99, max) = (
        latency["p50"].as_u64().unwrap_or(0),
        latency["p99"].as_u64().unwrap_or(0),
        latency["max"].as_u64().unwrap_or(0),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{latency}");

    let text = get(addr, "/metrics");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let metrics = prometheus_parse::Scrape::parse(lines).expect("/metrics parses");
    let value = |name: &str, extra: Option<(&str, &str)>| {
        metrics
            .samples
            .iter()
            .find(|s| {
                s.metric == name
                    && s.labels.get("session") == Some(ACCEPTOR_SESSION)
                    && extra.is_none_or(|(k, v)| s.labels.get(k) == Some(v))
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("no {name} {extra:?} for {ACCEPTOR_SESSION}:\n{text}"))
    };
    let total = total as f64;
    assert_eq!(
        value("fixring_session_messages_received_total", None),
        total
    );
    assert_eq!(value("fixring_session_messages_sent_total", None), total);
    assert_eq!(
        value("fixring_session_next_target_seq_num", None),
        total + 1.0
    );
    assert_eq!(
        value("fixring_session_next_sender_seq_num", None),
        total + 1.0
    );
    assert_eq!(value("fixring_session_reconnects_total", None), 0.0);
    assert_eq!(
        value("fixring_session_latency_samples_total", None),
        ORDERS as f64
    );
    let p99 = value(
        "fixring_session_latency_nanoseconds",
        Some(("quantile", "0.99")),
    );
    let max = value(
        "fixring_session_latency_nanoseconds",
        Some(("quantile", "1")),
    );
    assert!(0.0 < p99 && p99 <= max, "p99 {p99}, max {max}");
    assert_eq!(value("fixring_session_escalations_total", None), 0.0);
    let connected = Some(("state", "connected"));
    assert_eq!(value("fixring_session_state", connected), 1.0);
    let stopped = Some(("state", "stopped"));
    assert_eq!(value("fixring_session_state", stopped), 0.0);
    let logons = Some(("event", "fix.session.logon"));
    assert_eq!(value("fixring_session_events_total", logons), 1.0);
    assert_eq!(
        value("fixring_session_messages_received_total", None),
        value("fixring_session_next_target_seq_num", None) - 1.0
    );
    assert!(
        text.contains("# TYPE fixring_connection_escalations_total counter\n"),
        "{text}"
    );

    // Read-only, bounded.
    let post = http(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{post}"
    );
    assert!(post.contains("\r\nAllow: GET, HEAD\r\n"), "{post}");
    let mut huge = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    let refused = http(addr, &huge);
    assert!(refused.starts_with("HTTP/1.1 431 "), "{refused}");
    assert!(http(addr, b"GET /nothing HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));

    // A lost connection shows, and counts as an error of the session.
    running.initiator.stop();
    running.initiator.wait().expect("initiator stopped");
    let session = status_when(addr, |s| s["state"] == "disconnected");
    assert_eq!(session["events"]["fix.connection.lost"], 1, "{session}");
    assert_eq!(session["errors"]["fix.connection.lost"], 1, "{session}");
    running.acceptor.stop();
    running.acceptor.wait().expect("acceptor stopped");
    assert!(
        TcpStream::connect_timeout(&addr, WAIT).is_err(),
        "the status port still answers after wait()"
    );
}

/// The page, as Debian's chromium renders it headless: the session's row with its state and
/// sequence numbers in the DOM, and a screenshot written.
#[test]
fn the_status_page_in_a_headless_browser() {
    let running = run_orders();
    let addr = running.status;
    status_when(addr, |s| {
        s["messages_in"].as_u64() >= Some(ORDERS as u64 + 1)
    });
    let dir = common::temp_dir("status-page");
    let shot = dir.path().join("status.png");
    let profile = dir.path().join("profile");
    let mut chromium = Command::new("chromium");
    chromium
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1600,600")
        .arg("--dump-dom")
        .arg(format!("http://{addr}/"));
    let dom = match common::run_bounded(&mut chromium, Duration::from_secs(60)) {
        Ok(output) => output.stdout,
        Err(error) => panic!(
            "the status page needs Debian's chromium to be tested (scripts/test installs it: \
             apt-get install chromium): {error}"
        ),
    };
    let row = dom
        .lines()
        .find(|line| line.contains(&format!("data-session=\"{}\"", html(ACCEPTOR_SESSION))))
        .unwrap_or_else(|| panic!("no row for {ACCEPTOR_SESSION} in the DOM:\n{dom}"));
    let seq = ORDERS + 2;
    for cell in [
        "<td class=\"state connected\">connected</td>".to_owned(),
        format!("<td class=\"next-sender-seq\">{seq}</td>"),
        format!("<td class=\"next-target-seq\">{seq}</td>"),
        "<td class=\"host\">127.0.0.1:".to_owned(),
    ] {
        assert!(row.contains(&cell), "{cell} not in the row:\n{row}");
    }
    assert!(
        dom.contains("http-equiv=\"refresh\""),
        "the page does not reload itself"
    );
    assert_png(&shot);
}

/// `text` as the DOM spells it in an attribute.
fn html(text: &str) -> String {
    text.replace('>', "&gt;")
}

fn assert_png(path: &Path) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert!(bytes.len() > 1000, "a {}-byte screenshot", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
}

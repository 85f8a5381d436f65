//! The status server's thread: a small HTTP/1.1 server, read-only, bounded in what it reads,
//! how long it waits and how many connections it serves at once.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::LoopView;
use super::render::Status;

/// The longest request read: its request line and headers.
const MAX_REQUEST: usize = 8 * 1024;

/// The most read and dropped after an answer.
const MAX_DRAIN: u64 = 256 * 1024;

/// How long a client may take to send its request, or to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections served at once; more are closed at once.
const MAX_CLIENTS: usize = 8;

/// The status server: its address, its thread, and how to stop it.
pub(crate) struct StatusServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StatusServer {
    /// Binds `addr`, before any loop starts, so a port in use fails start-up.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr)
    }

    /// Serves `views` on `listener` from a thread of its own.
    pub(crate) fn start(listener: TcpListener, views: Vec<LoopView>) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let views = Arc::new(views);
        let thread = std::thread::Builder::new()
            .name("fixring-status".to_owned())
            .spawn(move || serve(&listener, &flag, &views))?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address served.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the thread.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept; it sees the flag and returns.
        let _ = TcpStream::connect_timeout(&wake_addr(self.addr), IO_TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where to connect to reach a listener on `addr`: the loopback for a wildcard address.
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn serve(listener: &TcpListener, stop: &AtomicBool, views: &Arc<Vec<LoopView>>) {
    let clients = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let views = Arc::clone(views);
        let count = Arc::clone(&clients);
        let spawned = std::thread::Builder::new()
            .name("fixring-status-client".to_owned())
            .spawn(move || {
                let _ = answer(stream, &views);
                count.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            clients.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Reads one request and answers it; the connection closes after.
fn answer(mut stream: TcpStream, views: &[LoopView]) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let response = match read_head(&mut stream)? {
        Head::Complete(head) => route(&head, views),
        Head::TooLarge => Response::text(431, "Request Header Fields Too Large", "too large\n"),
        Head::Malformed => Response::text(400, "Bad Request", "bad request\n"),
    };
    stream.write_all(&response.bytes)?;
    stream.flush()?;
    // What the client sent beyond what was read (a request too large) is read and dropped,
    // a bounded amount, so that closing does not reset the connection before the client has
    // read the answer.
    stream.shutdown(Shutdown::Write)?;
    let _ = io::copy(&mut (&mut stream).take(MAX_DRAIN), &mut io::sink());
    Ok(())
}

enum Head {
    Complete(String),
    TooLarge,
    Malformed,
}

/// Reads up to the blank line that ends the headers, at most [`MAX_REQUEST`] bytes.
fn read_head(stream: &mut TcpStream) -> io::Result<Head> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(Head::Malformed);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(match String::from_utf8(head) {
                Ok(text) => Head::Complete(text),
                Err(_) => Head::Malformed,
            });
        }
        if head.len() > MAX_REQUEST {
            return Ok(Head::TooLarge);
        }
    }
}

/// The answer to a request: GET (or HEAD) of the page, `/metrics` or `/status.json`.
fn route(head: &str, views: &[LoopView]) -> Response {
    let mut parts = head.lines().next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Response::text(400, "Bad Request", "bad request\n");
    };
    if !version.starts_with("HTTP/1.") {
        return Response::text(400, "Bad Request", "bad request\n");
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return Response::text(405, "Method Not Allowed", "read-only: GET and HEAD only\n");
    }
    let path = target.split('?').next().unwrap_or_default();
    let (content_type, body) = match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", Status::read(views).html()),
        "/metrics" => (
            "text/plain; version=0.0.4; charset=utf-8",
            Status::read(views).metrics(),
        ),
        "/status.json" => ("application/json", Status::read(views).json()),
        _ => return Response::text(404, "Not Found", "not found\n"),
    };
    Response::new(200, "OK", content_type, &body, head_only)
}

struct Response {
    bytes: Vec<u8>,
}

impl Response {
    fn new(code: u16, reason: &str, content_type: &str, body: &str, head_only: bool) -> Self {
        let mut bytes = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
            body.len()
        );
        if code == 405 {
            bytes.push_str("Allow: GET, HEAD\r\n");
        }
        bytes.push_str("\r\n");
        let mut bytes = bytes.into_bytes();
        if !head_only {
            bytes.extend_from_slice(body.as_bytes());
        }
        Self { bytes }
    }

    fn text(code: u16, reason: &str, body: &str) -> Self {
        Self::new(code, reason, "text/plain; charset=utf-8", body, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_line(response: &Response) -> String {
        let text = String::from_utf8_lossy(&response.bytes);
        text.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn only_get_and_head_are_served() {
        let ok = route("GET /metrics HTTP/1.1\r\nHost: x", &[]);
        assert_eq!(status_line(&ok), "HTTP/1.1 200 OK");
        let post = route("POST / HTTP/1.1", &[]);
        assert_eq!(status_line(&post), "HTTP/1.1 405 Method Not Allowed");
        assert!(String::from_utf8_lossy(&post.bytes).contains("Allow: GET, HEAD\r\n"));
        let head = route("HEAD /status.json HTTP/1.1", &[]);
        assert!(String::from_utf8_lossy(&head.bytes).ends_with("\r\n\r\n"));
        let missing = route("GET /nothing HTTP/1.1", &[]);
        assert_eq!(status_line(&missing), "HTTP/1.1 404 Not Found");
        assert_eq!(
            status_line(&route("GET /", &[])),
            "HTTP/1.1 400 Bad Request"
        );
    }

    #[test]
    fn a_wildcard_address_is_woken_on_the_loopback() {
        let any: SocketAddr = "0.0.0.0:8088".parse().unwrap();
        assert_eq!(wake_addr(any), "127.0.0.1:8088".parse().unwrap());
        let one: SocketAddr = "10.1.2.3:80".parse().unwrap();
        assert_eq!(wake_addr(one), one);
    }
}

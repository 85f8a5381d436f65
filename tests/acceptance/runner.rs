//! Runs one acceptance script against an acceptor on loopback, as QuickFIX's runner does:
//! one connection per `iCONNECT`, every `I` line sent fixified, every `E` line compared with
//! the next message read, every `eDISCONNECT` waited for.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::script::{self, Line, Step};

/// How long an expected message may take: the Heartbeats and TestRequests the scripts wait
/// for come within a HeartBtInt and a fifth, and the scripts that wait for them log on with
/// HeartBtInt 2 or 6 s.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the acceptor may take to close a connection it must close (QuickFIX's runner
/// waits ten seconds).
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a script failed: the line and what went wrong.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

/// One connection of a script, and the bytes read from it and not used yet.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
}

/// Runs the script in `path` against the acceptor at `addr`.
pub(crate) fn run(path: &Path, addr: SocketAddr) -> Result<(), Failure> {
    let text = std::fs::read(path).map_err(|e| Failure {
        line: 0,
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    let lines = script::parse(&text).map_err(|reason| Failure { line: 0, reason })?;
    let mut conns: HashMap<u8, Conn> = HashMap::new();
    for Line { number, step } in lines {
        step_once(&mut conns, addr, &step).map_err(|reason| Failure {
            line: number,
            reason,
        })?;
    }
    Ok(())
}

fn step_once(conns: &mut HashMap<u8, Conn>, addr: SocketAddr, step: &Step) -> Result<(), String> {
    match step {
        Step::Connect(cid) => {
            let stream = TcpStream::connect_timeout(&addr, DISCONNECT_TIMEOUT)
                .map_err(|e| format!("cannot connect: {e}"))?;
            conns.insert(
                *cid,
                Conn {
                    stream,
                    pending: Vec::new(),
                },
            );
            Ok(())
        }
        Step::Disconnect(cid) => {
            conns.remove(cid);
            Ok(())
        }
        Step::Send(cid, body) => {
            let conn = conns
                .get_mut(cid)
                .ok_or("Unable to send message because connection was dropped")?;
            let message = script::fixify(&script::timify(body));
            // A peer that has closed may still take the bytes; a reset is what QuickFIX's
            // runner would report.
            conn.stream
                .write_all(&message)
                .map_err(|e| format!("sending {}: {e}", script::show(&message)))
        }
        Step::Expect(cid, body) => {
            let conn = conns.get_mut(cid).ok_or("no connection to read from")?;
            let expected = script::fixify(&script::timify(body));
            let received = conn.read_message()?;
            script::compare(&expected, &received).map_err(|reason| {
                format!(
                    "{reason}\n    expected {}\n    received {}",
                    script::show(&expected),
                    script::show(&received)
                )
            })
        }
        Step::ExpectDisconnect(cid) => {
            let conn = conns.get_mut(cid).ok_or("no connection to wait on")?;
            conn.wait_for_close()?;
            conns.remove(cid);
            Ok(())
        }
    }
}

impl Conn {
    /// Reads the next message: to the end of BodyLength's bytes and the CheckSum field.
    fn read_message(&mut self) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            if let Some(len) = message_len(&self.pending)? {
                return Ok(self.pending.drain(..len).collect());
            }
            match self.fill(deadline, READ_TIMEOUT)? {
                0 if self.pending.is_empty() => {
                    return Err("Was disconnected, expected data".into());
                }
                0 => {
                    return Err(format!(
                        "disconnected in the middle of {}",
                        script::show(&self.pending)
                    ));
                }
                _ => {}
            }
        }
    }

    /// Waits until the acceptor closes the connection; data instead is a failure.
    fn wait_for_close(&mut self) -> Result<(), String> {
        if !self.pending.is_empty() {
            return Err(format!(
                "Expected disconnection, got data: {}",
                script::show(&self.pending)
            ));
        }
        let deadline = Instant::now() + DISCONNECT_TIMEOUT;
        match self.fill(deadline, DISCONNECT_TIMEOUT) {
            Ok(0) => Ok(()),
            Ok(_) => Err(format!(
                "Expected disconnection, got data: {}",
                script::show(&self.pending)
            )),
            Err(reason) if reason.contains("reset") => Ok(()),
            Err(reason) => Err(reason),
        }
    }

    /// Reads what has arrived, waiting until `deadline` (`wait` from the start) at most;
    /// returns the bytes read (0: the acceptor closed the connection).
    fn fill(&mut self, deadline: Instant, wait: Duration) -> Result<usize, String> {
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "nothing from the acceptor in {} s{}",
                    wait.as_secs(),
                    if self.pending.is_empty() {
                        String::new()
                    } else {
                        format!(" (have {})", script::show(&self.pending))
                    }
                ));
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| e.to_string())?;
            match self.stream.read(&mut buf) {
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    return Ok(n);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return Err("connection reset".to_owned());
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// The length of the whole message at the front of `bytes`, once it is all there.
fn message_len(bytes: &[u8]) -> Result<Option<usize>, String> {
    let Some(start) = find(bytes, b"\x019=") else {
        return Ok(None);
    };
    let digits_at = start + 3;
    let Some(end) = bytes[digits_at..].iter().position(|&b| b == 0x01) else {
        return Ok(None);
    };
    let digits = &bytes[digits_at..digits_at + end];
    let body: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("BodyLength is not a number: {}", script::show(bytes)))?;
    let body_end = digits_at + end + 1 + body;
    let Some(trailer) = bytes.get(body_end..) else {
        return Ok(None);
    };
    Ok(trailer
        .iter()
        .position(|&b| b == 0x01)
        .map(|soh| body_end + soh + 1))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

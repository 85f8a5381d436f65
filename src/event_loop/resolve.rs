//! Host names to socket addresses, without blocking the loop.
//!
//! A host given as an IP address needs no lookup and is connected to at once. A name goes
//! to a resolver thread of the loop's own, started at its first name, whose answer comes
//! back through a channel and wakes the loop; the attempt's ConnectTimeout keeps running
//! meanwhile, so a slow lookup is bounded like a slow connect.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender};

use fixring_core::config::HostConfig;
use fixring_io::Wake;

/// Where an attempt connects to, and from.
pub(super) type Addresses = (SocketAddr, Option<SocketAddr>);

/// A lookup's answer for attempt `attempt` of slot `slot`.
pub(super) struct Resolved {
    pub(super) slot: usize,
    pub(super) attempt: u64,
    pub(super) result: io::Result<Addresses>,
}

struct Request {
    slot: usize,
    attempt: u64,
    host: HostConfig,
}

/// The loop's way to names: the resolver thread, once there is one, and its answers.
pub(super) struct Resolver<W> {
    waker: W,
    requests: Option<Sender<Request>>,
    answers: Receiver<Resolved>,
    answer_tx: Sender<Resolved>,
    /// Lookups asked for and not answered yet: without any, a turn does not look.
    outstanding: usize,
}

impl<W: Wake + Clone> Resolver<W> {
    /// A resolver that wakes the loop through `waker` when an answer is in.
    pub(super) fn new(waker: W) -> Self {
        let (answer_tx, answers) = mpsc::channel();
        Self {
            waker,
            requests: None,
            answers,
            answer_tx,
            outstanding: 0,
        }
    }

    /// The addresses of `host` at once when it and its source are IP addresses; otherwise
    /// `None`, and the answer comes later from [`Resolver::poll`].
    pub(super) fn resolve(
        &mut self,
        slot: usize,
        attempt: u64,
        host: &HostConfig,
    ) -> Option<io::Result<Addresses>> {
        if let Some(addresses) = literal(host) {
            return Some(Ok(addresses));
        }
        let request = Request {
            slot,
            attempt,
            host: host.clone(),
        };
        let request = match &self.requests {
            Some(requests) => match requests.send(request) {
                Ok(()) => {
                    self.outstanding += 1;
                    return None;
                }
                Err(mpsc::SendError(request)) => request,
            },
            None => request,
        };
        // No thread yet, or it is gone: start one.
        match self.spawn() {
            Ok(requests) => {
                let sent = requests.send(request).is_ok();
                self.requests = Some(requests);
                if sent {
                    self.outstanding += 1;
                    None
                } else {
                    Some(Err(io::Error::other("the resolver thread ended")))
                }
            }
            Err(error) => Some(Err(error)),
        }
    }

    /// The next answer that has come in.
    pub(super) fn poll(&mut self) -> Option<Resolved> {
        if self.outstanding == 0 {
            return None;
        }
        let answer = self.answers.try_recv().ok()?;
        self.outstanding -= 1;
        Some(answer)
    }

    fn spawn(&self) -> io::Result<Sender<Request>> {
        let (requests, incoming) = mpsc::channel::<Request>();
        let answers = self.answer_tx.clone();
        let waker = self.waker.clone();
        std::thread::Builder::new()
            .name("fixring-resolve".to_owned())
            .spawn(move || {
                // Ends once the loop drops its end of either channel.
                for request in incoming {
                    let answer = Resolved {
                        slot: request.slot,
                        attempt: request.attempt,
                        result: lookup(&request.host),
                    };
                    if answers.send(answer).is_err() {
                        break;
                    }
                    waker.wake();
                }
            })?;
        Ok(requests)
    }
}

/// The addresses of `host` when no name needs looking up.
fn literal(host: &HostConfig) -> Option<Addresses> {
    let addr = SocketAddr::new(host.host.parse::<IpAddr>().ok()?, host.port);
    let source = match (&host.source_host, host.source_port) {
        (None, None) => None,
        (Some(source), port) => Some(SocketAddr::new(
            source.parse::<IpAddr>().ok()?,
            port.unwrap_or(0),
        )),
        (None, Some(port)) => Some(SocketAddr::from(([0, 0, 0, 0], port))),
    };
    Some((addr, source))
}

/// Looks `host` and its source up (blocking: only on the resolver thread).
fn lookup(host: &HostConfig) -> io::Result<Addresses> {
    let addr = first_address(&host.host, host.port)?;
    let source = match (&host.source_host, host.source_port) {
        (None, None) => None,
        (Some(source), port) => Some(first_address(source, port.unwrap_or(0))?),
        (None, Some(port)) => Some(SocketAddr::from(([0, 0, 0, 0], port))),
    };
    Ok((addr, source))
}

/// The first address `host:port` resolves to.
fn first_address(host: &str, port: u16) -> io::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    #[derive(Clone, Default)]
    struct Count(Arc<AtomicUsize>);

    impl Wake for Count {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn ip_addresses_need_no_lookup() {
        let mut resolver = Resolver::new(Count::default());
        let mut host = HostConfig::new("127.0.0.1", 5001);
        host.source_port = Some(6000);
        let (addr, source) = resolver.resolve(0, 1, &host).unwrap().unwrap();
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 5001)));
        assert_eq!(source, Some(SocketAddr::from(([0, 0, 0, 0], 6000))));
        assert!(resolver.requests.is_none(), "no thread for an IP address");
    }

    #[test]
    fn names_are_looked_up_off_the_loop_and_wake_it() {
        let wakes = Count::default();
        let mut resolver = Resolver::new(wakes.clone());
        let host = HostConfig::new("localhost", 5001);
        assert!(
            resolver.resolve(3, 7, &host).is_none(),
            "a name is not resolved inline"
        );
        assert!(
            resolver.resolve(4, 8, &host).is_none(),
            "one thread takes every name"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut answers = Vec::new();
        while answers.len() < 2 && Instant::now() < deadline {
            match resolver.poll() {
                Some(answer) => answers.push(answer),
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        assert_eq!(answers.len(), 2, "both lookups answered");
        let first = &answers[0];
        assert_eq!((first.slot, first.attempt), (3, 7));
        let (addr, _) = first.result.as_ref().expect("localhost resolves");
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), 5001);
        assert_eq!((answers[1].slot, answers[1].attempt), (4, 8));
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            2,
            "each answer wakes the loop"
        );
    }
}

//! Sockets a flood had admitted, held open but unread until their hold is over.
//!
//! A flood that connects again as soon as it is closed comes back at the rate it is closed:
//! closing at once what the admission turns away only sends the flood round again, through
//! the kernel's listen queue, which then fills and drops a counterparty's SYN (the kernel
//! retries it a second later). So while a flood is on, the loop does not close the sockets it
//! evicts or refuses before their Logon: it parks them. A parked socket is a bare descriptor,
//! a duplicate taken before the backend closes its own, with no buffers, no registration and
//! nothing read; it is closed once it has been parked for PressureLogonTimeout, or earlier,
//! oldest first, beyond half the descriptor limit (16,384 at most). A socket is not parked,
//! but closed, when its duplicate would take one of the last eighth of the descriptors. A
//! flood of N sockets, N within those bounds, is then held to N connections per
//! PressureLogonTimeout, the listen queue stays empty, and a counterparty's connection is
//! accepted at once.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use fixring_core::Instant;
use fixring_io::WAITING_LIMIT;

/// The most parked sockets a loop closes in one turn. A flood's sockets are parked in bursts
/// and their holds end in bursts; closing a burst at once (a close of a TCP socket costs
/// microseconds, more over loopback, where it also runs the peer's side) would stall the
/// loop's sessions for milliseconds. Four a turn measured the shortest tails of a trading
/// session during a flood (of 4 and 32); the loop turns again at once while more are due.
pub(super) const EXPIRE_PER_TURN: usize = 4;

/// The parked sockets of one loop, oldest first.
#[derive(Debug)]
pub(super) struct Parked {
    held: VecDeque<(Instant, OwnedFd)>,
    hold: Duration,
    limit: usize,
    /// The lowest descriptor number of the last eighth of the limit, which parking never
    /// takes: the kernel gives out the lowest free number, so a duplicate numbered there
    /// means the process is close to running out, and what is left is for the sessions,
    /// their stores and logs, the other loops and the next accepts.
    reserve: usize,
}

impl Parked {
    /// Sockets held for `hold` each, at most half the process's descriptor limit and
    /// [`WAITING_LIMIT`].
    pub(super) fn new(hold: Duration) -> Self {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // Safety: `limit` is a valid, writable rlimit for the call.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        let descriptors = if read {
            usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
        } else {
            0
        };
        Self {
            held: VecDeque::new(),
            hold,
            limit: (descriptors / 2).min(WAITING_LIMIT),
            reserve: descriptors - descriptors / 8,
        }
    }

    /// Holds the socket `fd` names from `now` on, with a duplicate of the descriptor: the
    /// caller then closes the connection in its backend, which leaves the socket open.
    /// Returns `false` when it is not held (the duplicate would take a descriptor of the
    /// reserve, or there is none left); closing the connection then closes the socket.
    pub(super) fn park(&mut self, now: Instant, fd: RawFd) -> bool {
        if self.limit == 0 {
            return false;
        }
        // Safety: `fd` is the open descriptor of a live connection, which the caller closes
        // only after this call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(duplicate) = borrowed.try_clone_to_owned() else {
            return false;
        };
        if usize::try_from(duplicate.as_raw_fd()).is_ok_and(|n| n >= self.reserve) {
            return false;
        }
        while self.held.len() >= self.limit {
            self.held.pop_front();
        }
        self.held.push_back((now + self.hold, duplicate));
        true
    }

    /// Closes the sockets whose hold is over at `now`, [`EXPIRE_PER_TURN`] at most: the rest
    /// are due at once, for the loop's next turn.
    pub(super) fn expire(&mut self, now: Instant) {
        for _ in 0..EXPIRE_PER_TURN {
            if self.held.front().is_none_or(|(until, _)| *until > now) {
                break;
            }
            self.held.pop_front();
        }
    }

    /// When the oldest socket's hold is over.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.held.front().map(|(until, _)| *until)
    }

    /// How many sockets are parked.
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    /// Closes every parked socket (the loop stops).
    pub(super) fn clear(&mut self) {
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A connected pair over loopback: (the accepted end, the connecting end).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (server, client)
    }

    /// Whether the peer of `client` has closed: a read returns end of file at once.
    fn closed(client: &mut TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        matches!(client.read(&mut [0u8; 16]), Ok(0))
    }

    #[test]
    fn a_parked_socket_stays_open_until_its_hold_is_over() {
        let mut parked = Parked::new(Duration::from_secs(2));
        let (server, mut client) = pair();
        let t0 = Instant::ZERO;
        assert!(parked.park(t0, server.as_raw_fd()));
        drop(server);
        assert!(!closed(&mut client), "closed though parked");
        assert_eq!(parked.deadline(), Some(t0 + Duration::from_secs(2)));
        parked.expire(t0 + Duration::from_secs(1));
        assert_eq!(parked.len(), 1);
        parked.expire(t0 + Duration::from_secs(2));
        assert_eq!((parked.len(), parked.deadline()), (0, None));
        assert!(closed(&mut client), "open after its hold");
    }

    #[test]
    fn a_turn_closes_a_bounded_number() {
        let mut parked = Parked::new(Duration::from_secs(2));
        let pairs: Vec<_> = (0..EXPIRE_PER_TURN + 3).map(|_| pair()).collect();
        for (server, _) in &pairs {
            assert!(parked.park(Instant::ZERO, server.as_raw_fd()));
        }
        let due = Instant::ZERO + Duration::from_secs(2);
        parked.expire(due);
        assert_eq!(parked.len(), 3);
        assert_eq!(parked.deadline(), Some(due), "the rest are due at once");
        parked.expire(due);
        assert_eq!(parked.len(), 0);
    }

    #[test]
    fn beyond_the_limit_the_oldest_is_closed() {
        let mut parked = Parked::new(Duration::from_secs(2));
        parked.limit = 2;
        let mut clients = Vec::new();
        for i in 0..3u64 {
            let (server, client) = pair();
            assert!(parked.park(Instant::ZERO + Duration::from_millis(i), server.as_raw_fd()));
            clients.push(client);
        }
        assert_eq!(parked.len(), 2);
        assert!(closed(&mut clients[0]), "the oldest is still open");
        assert!(!closed(&mut clients[1]) && !closed(&mut clients[2]));
        parked.clear();
        assert!(closed(&mut clients[2]));
    }
}

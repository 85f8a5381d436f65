//! `poll`: waiting by the idle policy, then turning readiness into completions.

use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use fixring_io::idle::{self, Waiter};
use fixring_io::{ACCEPT_BACKOFF, Completion, ConnId, ListenerId, WAITING_LIMIT, is_exhaustion};

use crate::EpollBackend;
use crate::connect::Expiry;
use crate::poller::{Poller, READ, Ready, Token};
use crate::slots::{End, State};
use crate::transfer::{self, WriteRound};

/// Waits up to `timeout` for readiness and appends the completions to `out`.
pub(crate) fn poll(
    backend: &mut EpollBackend,
    timeout: Option<Duration>,
    out: &mut Vec<Completion>,
) -> io::Result<()> {
    let start = Instant::now();
    let first = out.len();
    resume_listeners(backend, start);
    admit_waiting(backend, out);
    report_ending(backend, out, first);
    let mut ready = mem::take(&mut backend.ready);
    ready.clear();
    let result = if out.len() == first {
        let limit = timeout.and_then(|t| start.checked_add(t));
        let deadline = idle::earliest(limit, backend.deadlines.next());
        let deadline = idle::earliest(deadline, backoff_deadline(backend));
        let mut waiter = Readiness {
            poller: &mut backend.poller,
            ready: &mut ready,
        };
        idle::wait(backend.options.busy_poll, start, deadline, &mut waiter)
    } else {
        // Something to report already: gather what else is ready without waiting.
        backend.poller.wait(Some(Duration::ZERO), &mut ready)
    };
    for event in &ready {
        dispatch(backend, *event, out);
    }
    backend.ready = ready;
    result?;
    if !backend.deadlines.is_empty() {
        expire(backend, Instant::now(), out);
    }
    // Ends found just now are reported at once, unless the loop has bytes to read first.
    report_ending(backend, out, first);
    Ok(())
}

/// A poll's wait: readiness gathered into `ready`.
struct Readiness<'a> {
    poller: &'a mut Poller,
    ready: &'a mut Vec<Ready>,
}

impl Waiter for Readiness<'_> {
    /// `epoll_wait` with a zero timeout.
    fn look(&mut self) -> io::Result<bool> {
        self.poller.wait(Some(Duration::ZERO), self.ready)?;
        Ok(!self.ready.is_empty())
    }

    fn park(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        self.poller.wait(remaining, self.ready)
    }
}

/// Reports the connections that ended and frees their slots, except those with a
/// `Received` in `out[first..]`: the loop reads their last bytes before it learns of the end.
fn report_ending(backend: &mut EpollBackend, out: &mut Vec<Completion>, first: usize) {
    let mut ending = mem::take(&mut backend.ending);
    ending.retain(|&(index, generation)| {
        let received = out.get(first..).is_some_and(|new| {
            new.iter()
                .any(|c| matches!(c, Completion::Received { conn } if conn.0 == index))
        });
        if received {
            return true;
        }
        let Some(slot) = backend.slots.current(index, generation) else {
            return false;
        };
        let unsent = slot.buffers.tx_len;
        let State::Ending { socket, .. } = &slot.state else {
            return false;
        };
        backend.poller.delete(socket.as_raw_fd());
        let conn = ConnId(index);
        // The socket closes as the released state drops.
        backend.calls.add(1);
        if let State::Ending { end, .. } = backend.slots.release(index) {
            out.push(match end {
                End::Closed(error) => Completion::Closed {
                    conn,
                    error,
                    unsent,
                },
                End::ConnectFailed(error) => Completion::ConnectFailed { conn, error },
            });
        }
        backend.deadlines.remove(index);
        false
    });
    // Keep the allocation; nothing pushes to the list while it is out.
    ending.append(&mut backend.ending);
    backend.ending = ending;
}

/// Turns one readiness event into completions.
fn dispatch(backend: &mut EpollBackend, event: Ready, out: &mut Vec<Completion>) {
    match event.token {
        Token::Waker => {
            if let Some(eventfd) = &backend.eventfd {
                eventfd.drain();
                backend.calls.add(1);
            }
            if !out.iter().any(|c| matches!(c, Completion::Woken)) {
                out.push(Completion::Woken);
            }
        }
        Token::Listener(id) => accept_all(backend, ListenerId(id), out),
        Token::Conn { index, generation } => {
            let Some(slot) = backend.slots.current(index, generation) else {
                return;
            };
            match slot.state {
                State::Connecting { .. } if event.writable() => finish_connect(backend, index, out),
                State::Open { .. } => {
                    on_open(backend, index, event, out);
                    backend.update_interest(index);
                }
                State::Closing { .. } if event.writable() => finish_closing(backend, index),
                _ => {}
            }
        }
    }
}

/// The most connections one listener accepts in one poll: enough to keep its queue from
/// filling (connections arrive at most as fast as the loop closes others), few enough that
/// a turn of the loop stays short while a flood waits in the queue.
const ACCEPTS_PER_POLL: usize = 1024;

/// Accepts the pending connections of a listener, [`ACCEPTS_PER_POLL`] at most. While every
/// slot is taken they wait for one (see [`WAITING_LIMIT`]); a listener out of descriptors
/// backs off for [`ACCEPT_BACKOFF`].
fn accept_all(backend: &mut EpollBackend, id: ListenerId, out: &mut Vec<Completion>) {
    // The listener is watched level-triggered: what is left is accepted at the next poll.
    for _ in 0..ACCEPTS_PER_POLL {
        let Some(listener) = backend.listeners.get(id) else {
            return;
        };
        backend.calls.add(1);
        let (socket, peer) = match listener.accept() {
            Ok(accepted) => {
                backend
                    .calls
                    .add(fixring_io::socket::apply_calls(&listener.options));
                accepted
            }
            // The peer gave up before the accept, or an option could not be set: that
            // connection is lost, the next one may be fine.
            Err(e) if is_per_connection(&e) => continue,
            Err(error) if is_exhaustion(&error) => {
                back_off(backend, id, Instant::now() + ACCEPT_BACKOFF);
                out.push(Completion::AcceptPaused {
                    listener: id,
                    error,
                });
                return;
            }
            // Nothing pending: try again at the next readiness.
            Err(_) => return,
        };
        if backend.waiting.is_empty() && backend.slots.has_room() {
            admit(backend, id, socket, peer, out);
        } else {
            if backend.waiting.len() >= WAITING_LIMIT {
                // The oldest goes (dropping it closes it).
                backend.waiting.pop_front();
                backend.calls.add(1);
            }
            backend.waiting.push_back((id, socket, peer));
        }
    }
}

/// Gives accepted socket `socket` a slot and reports it.
fn admit(
    backend: &mut EpollBackend,
    id: ListenerId,
    socket: socket2::Socket,
    peer: std::net::SocketAddr,
    out: &mut Vec<Completion>,
) {
    let fd = socket.as_raw_fd();
    let Some(index) = backend.slots.insert(State::Open {
        socket,
        write_blocked: false,
    }) else {
        // Dropped: closed.
        backend.calls.add(1);
        return;
    };
    let token = backend.slots.token(index);
    if backend.poller.add(fd, token, READ).is_err() {
        backend.release(index);
        return;
    }
    if let Some(slot) = backend.slots.get_mut(index) {
        slot.interest = READ;
    }
    out.push(Completion::Accepted {
        listener: id,
        conn: ConnId(index),
        peer,
    });
}

/// Gives the free slots to the sockets waiting for one, newest first.
fn admit_waiting(backend: &mut EpollBackend, out: &mut Vec<Completion>) {
    while backend.slots.has_room()
        && let Some((id, socket, peer)) = backend.waiting.pop_back()
    {
        if backend.listeners.get(id).is_some() {
            admit(backend, id, socket, peer, out);
        }
    }
}

/// Stops watching listener `id` until `until`; [`resume_listeners`] watches it again.
fn back_off(backend: &mut EpollBackend, id: ListenerId, until: Instant) {
    let Some(listener) = backend.listeners.get_mut(id) else {
        return;
    };
    listener.backoff = Some(until);
    let fd = listener.socket.as_raw_fd();
    let _ = backend.poller.modify(fd, Token::Listener(id.0), 0);
}

/// Watches again the listeners whose back-off is over at `now`.
fn resume_listeners(backend: &mut EpollBackend, now: Instant) {
    let over: Vec<ListenerId> = backend
        .listeners
        .backing_off()
        .filter(|&(_, until)| until <= now)
        .map(|(id, _)| id)
        .collect();
    for id in over {
        if let Some(listener) = backend.listeners.get_mut(id) {
            listener.backoff = None;
            let fd = listener.socket.as_raw_fd();
            let _ = backend.poller.modify(fd, Token::Listener(id.0), READ);
        }
    }
}

/// The earliest time a listener backing off accepts again.
fn backoff_deadline(backend: &EpollBackend) -> Option<Instant> {
    let backing_off = backend.listeners.backing_off();
    backing_off.map(|(_, until)| until).min()
}

/// Errors of `accept` that concern one connection only.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO | libc::EPERM)
    ) || matches!(error.kind(), io::ErrorKind::InvalidInput)
}

/// A connecting socket became writable: it connected or failed (`SO_ERROR` says which).
fn finish_connect(backend: &mut EpollBackend, index: u32, out: &mut Vec<Completion>) {
    backend.deadlines.remove(index);
    let Some(slot) = backend.slots.get_mut(index) else {
        return;
    };
    let state = mem::take(&mut slot.state);
    let State::Connecting { socket, peer } = state else {
        slot.state = state;
        return;
    };
    backend.calls.add(1);
    let error = match socket.take_error() {
        Ok(None) => None,
        Ok(Some(e)) | Err(e) => Some(e),
    };
    slot.state = State::Open {
        socket,
        write_blocked: false,
    };
    let conn = ConnId(index);
    match error {
        None => {
            backend.update_interest(index);
            out.push(Completion::Connected { conn, peer });
        }
        Some(error) => {
            backend.release(index);
            out.push(Completion::ConnectFailed { conn, error });
        }
    }
}

/// An open connection is readable or writable (or failed).
fn on_open(backend: &mut EpollBackend, index: u32, event: Ready, out: &mut Vec<Completion>) {
    let conn = ConnId(index);
    if event.writable() {
        let Some(slot) = backend.slots.get_mut(index) else {
            return;
        };
        if let State::Open {
            socket,
            write_blocked: write_blocked @ true,
        } = &mut slot.state
        {
            let before = slot.buffers.tx_len;
            let round = transfer::write(socket, &mut slot.buffers, &backend.calls);
            if slot.buffers.tx_len < before && std::mem::take(&mut slot.buffers.notify_writable) {
                out.push(Completion::Writable { conn });
            }
            match round {
                WriteRound::Done => *write_blocked = false,
                WriteRound::Blocked => {}
                WriteRound::Failed(e) => {
                    backend.end(index, End::Closed(Some(e)));
                    return;
                }
            }
        }
    }
    if !event.readable() {
        return;
    }
    let Some(slot) = backend.slots.get_mut(index) else {
        return;
    };
    let State::Open { socket, .. } = &slot.state else {
        return;
    };
    if !slot.buffers.rx_room() {
        if event.failed() {
            // Failed while the loop has not made room to read: reading cannot report it.
            backend.calls.add(1);
            let error = match socket.take_error() {
                Ok(Some(e)) | Err(e) => e,
                Ok(None) => io::ErrorKind::ConnectionReset.into(),
            };
            backend.end(index, End::Closed(Some(error)));
        }
        return;
    }
    let round = transfer::read(socket, &mut slot.buffers, &backend.calls);
    match round.end {
        None => {}
        // The loop reads the last bytes first; the end is reported at the next poll.
        Some(end) if round.bytes > 0 => backend.end(index, End::Closed(end)),
        Some(error) => {
            let unsent = slot.buffers.tx_len;
            backend.release(index);
            out.push(Completion::Closed {
                conn,
                error,
                unsent,
            });
            return;
        }
    }
    if round.bytes > 0 {
        out.push(Completion::Received { conn });
    }
}

/// A closing connection is writable: write the rest, and close once done or failed.
fn finish_closing(backend: &mut EpollBackend, index: u32) {
    let Some(slot) = backend.slots.get_mut(index) else {
        return;
    };
    let State::Closing { socket } = &slot.state else {
        return;
    };
    if let WriteRound::Done | WriteRound::Failed(_) =
        transfer::write(socket, &mut slot.buffers, &backend.calls)
    {
        backend.release(index);
    }
}

/// Fails connects that timed out and closes connections whose linger ended.
fn expire(backend: &mut EpollBackend, now: Instant, out: &mut Vec<Completion>) {
    for deadline in backend.deadlines.expired(now) {
        let Some(slot) = backend.slots.current(deadline.index, deadline.generation) else {
            continue;
        };
        match (deadline.expiry, &slot.state) {
            (Expiry::Connect, State::Connecting { .. }) => {
                backend.release(deadline.index);
                out.push(Completion::ConnectFailed {
                    conn: ConnId(deadline.index),
                    error: io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
                });
            }
            (Expiry::Linger, State::Closing { .. }) => backend.release(deadline.index),
            _ => {}
        }
    }
}

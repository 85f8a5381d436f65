//! Waiting for completions by the idle policy, and routing each completion to its operation.
//!
//! With `DEFER_TASKRUN`, completions are posted only when this thread enters the kernel with
//! `GETEVENTS`; every path here does (the busy-poll step and the parking wait alike).

use std::io;
use std::time::{Duration, Instant};

use fixring_io::Completion;
use fixring_io::idle::{self, Waiter};

use crate::UringBackend;
use crate::token::{OpKind, Token};

/// A poll's wait: what the backend reports lands in `out` past `before`.
struct Reaping<'a> {
    backend: &'a mut UringBackend,
    out: &'a mut Vec<Completion>,
    before: usize,
}

impl Waiter for Reaping<'_> {
    /// Enters the kernel with `GETEVENTS` (the busy-poll step) and reaps.
    fn look(&mut self) -> io::Result<bool> {
        self.backend.ring.get_events()?;
        self.backend.dispatch(self.out);
        Ok(self.out.len() > self.before)
    }

    fn park(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        self.backend.park(deadline, self.out, self.before)
    }
}

impl UringBackend {
    pub(crate) fn do_poll(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Completion>,
    ) -> io::Result<()> {
        self.check_running()?;
        let start = Instant::now();
        let deadline = timeout.and_then(|t| start.checked_add(t));
        let busy_poll = self.busy_poll;
        let before = out.len();
        let mut waiter = Reaping {
            backend: self,
            out,
            before,
        };
        idle::wait(busy_poll, start, deadline, &mut waiter)
    }

    /// Sleeps in the kernel until something is reported or `deadline` passes.
    fn park(
        &mut self,
        deadline: Option<Instant>,
        out: &mut Vec<Completion>,
        before: usize,
    ) -> io::Result<()> {
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                self.ring.get_events()?;
                self.dispatch(out);
                return Ok(());
            }
            self.ring.wait(remaining)?;
            self.dispatch(out);
            if out.len() > before {
                return Ok(());
            }
        }
    }

    /// Reaps the completion queue and hands each completion to its operation's handler.
    pub(crate) fn dispatch(&mut self, out: &mut Vec<Completion>) {
        let mut cqes = std::mem::take(&mut self.cqes);
        self.ring.reap(&mut cqes);
        for cqe in cqes.drain(..) {
            let Some(token) = Token::decode(cqe.user_data) else {
                continue;
            };
            match token.kind {
                OpKind::Wake => self.on_wake(cqe.result, out),
                OpKind::Accept => self.on_accept(token, cqe, out),
                OpKind::Connect => self.on_connect(token, cqe.result, out),
                OpKind::ConnectTimeout => self.on_connect_timeout(token),
                OpKind::Read => self.on_read(token, cqe.result, out),
                OpKind::Write => self.on_write(token, cqe.result, out),
                OpKind::DrainTimeout => self.on_drain_timeout(token),
                OpKind::AcceptBackoff => self.on_accept_backoff(token),
                OpKind::Cancel => {}
            }
        }
        self.cqes = cqes;
        self.admit_waiting(out);
    }
}

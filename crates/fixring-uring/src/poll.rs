//! Waiting for completions by the idle policy, and routing each completion to its operation.
//!
//! With `DEFER_TASKRUN`, completions are posted only when this thread enters the kernel with
//! `GETEVENTS`. The busy-poll step enters when something is queued to submit or the kernel
//! flags waiting completions (`IORING_SQ_TASKRUN`), and otherwise only looks at the
//! completion queue; the parking wait is one enter that submits and sleeps.

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
    /// The busy-poll step (a direct receive when the kernel's flag is likely the answer
    /// awaited, see `recv.rs`; otherwise entering the kernel only when it has something to
    /// submit or run), then a reap.
    fn look(&mut self) -> io::Result<bool> {
        if self.backend.receive_direct(self.out) {
            return Ok(true);
        }
        if self.backend.ring.get_events()? || !self.backend.silent.is_empty() {
            self.backend.dispatch(self.out);
        }
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
        let busy_poll = self.busy_poll;
        let before = out.len();
        self.report_pending(out);
        if !self.silent.is_empty() {
            // Sends issued by an enter outside a poll (a push that made room) end here.
            self.dispatch(out);
        }
        if out.len() > before {
            // Bytes held back are reported; gather what else is ready without waiting.
            if self.ring.get_events()? {
                self.dispatch(out);
            }
            return Ok(());
        }
        let mut waiter = Reaping {
            backend: self,
            out,
            before,
        };
        if timeout == Some(Duration::ZERO) {
            // A poll that must not wait (every turn of a spinning loop) looks once, whatever
            // the policy, and reads no clock.
            return waiter.look().map(drop);
        }
        let start = Instant::now();
        let deadline = timeout.and_then(|t| start.checked_add(t));
        idle::wait(busy_poll, start, deadline, &mut waiter)
    }

    /// Sleeps in the kernel until something is reported or `deadline` passes.
    fn park(
        &mut self,
        deadline: Option<Instant>,
        out: &mut Vec<Completion>,
        before: usize,
    ) -> io::Result<()> {
        self.unpoll_hot();
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                if self.ring.get_events()? {
                    self.dispatch(out);
                }
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
                OpKind::Read => self.on_recv(token, cqe, out),
                OpKind::Write => self.on_write(token, cqe.result, out),
                OpKind::DrainTimeout => self.on_drain_timeout(token),
                OpKind::AcceptBackoff => self.on_accept_backoff(token),
                OpKind::Cancel => {}
            }
        }
        self.cqes = cqes;
        self.finish_silent_sends(out);
        self.admit_waiting(out);
    }
}

//! The session's schedule as a connection follows it: the boundaries are deadlines, a
//! session logged on when its window closes logs out, an initiator connects only inside its
//! window, and the sequence numbers start again with each new session period.

use std::time::Duration;

use super::{Connection, Outgoing, Output, Side};
use crate::schedule::{At, Schedule};
use crate::session::SessionState;
use crate::{EventKind, Instant, WallClock};

/// A connection's schedule and what it said at the last look.
#[derive(Debug)]
pub(super) struct SessionWindow {
    schedule: Schedule,
    wall: WallClock,
    /// The last answer and until when it holds (`None`: for ever); `None` before the first
    /// look.
    at: Option<(At, Option<Instant>)>,
    /// The engine started the connection: an initiator connects once its window is open.
    started: bool,
    /// An initiator's reconnect was held back until the window opens.
    held: bool,
    /// The session period changed while a connection was up: it logs out, and the sequence
    /// numbers start again once it is gone.
    reset_due: bool,
}

impl SessionWindow {
    pub(super) fn new(schedule: Schedule, wall: WallClock) -> Self {
        Self {
            schedule,
            wall,
            at: None,
            started: false,
            held: false,
            reset_due: false,
        }
    }

    /// Whether the session may be logged on, by the last look (a non-stop session always).
    fn is_open(&self) -> bool {
        self.schedule.is_non_stop() || self.at.is_some_and(|(at, _)| at.is_open())
    }

    /// Why the session may not be logged on, by the last look; `None` when it may.
    pub(super) fn closed_because(&self) -> Option<String> {
        let (at, _) = self.at.filter(|(at, _)| !at.is_open())?;
        let what = if at.period.is_none() {
            "session time"
        } else {
            "logon time"
        };
        Some(format!("outside the {what} ({})", self.schedule))
    }
}

impl<M: Outgoing> Connection<M> {
    /// When the schedule's answer changes next; at once before the first look.
    pub(super) fn window_deadline(&self) -> Option<Instant> {
        if self.window.schedule.is_non_stop() {
            return None;
        }
        match &self.window.at {
            None => Some(Instant::ZERO),
            Some((_, until)) => *until,
        }
    }

    /// Marks the connection started by the engine, looks at the schedule, and tells whether
    /// an initiator may connect now.
    pub(super) fn start_window(&mut self, now: Instant) -> bool {
        self.window.started = true;
        self.window.held = false;
        self.check_window(now);
        self.window.is_open()
    }

    /// Looks at the schedule again when its answer may have changed by `now`, and acts on
    /// a change: a new session period resets the sequence numbers (once the connection is
    /// gone), a window that closes logs a connection out.
    pub(super) fn check_window(&mut self, now: Instant) {
        if self.window.schedule.is_non_stop() {
            return;
        }
        if self.window_deadline().is_some_and(|d| d <= now) {
            let utc = self.window.wall.utc_at(now);
            let at = self.window.schedule.at(utc);
            let until = at.changes_at.map(|change| {
                let ahead = change.unix_nanos().saturating_sub(utc.unix_nanos());
                now + Duration::from_nanos(ahead.max(1))
            });
            let previous = match self.window.at.replace((at, until)) {
                Some((previous, _)) => previous.period,
                // The first look: the period the sequence numbers were started in, which a
                // file store may have kept from an earlier run.
                None => self.window.schedule.period_of(self.session.creation_time()),
            };
            if previous != at.period {
                self.window.reset_due = true;
            }
        }
        if self.link.is_some() && (self.window.reset_due || !self.window.is_open()) {
            let text = match self.window.at {
                Some((at, _)) if at.period.is_some() && !self.window.reset_due => {
                    "logon time ended"
                }
                _ => "session time ended",
            };
            // Logged on: a Logout goes out; still logging on: the socket closes.
            self.session.logout(now, text);
            self.collect_session_events();
        }
        self.follow_window(now);
    }

    /// What needs no new look at the schedule: the reset once the connection is gone, and
    /// an initiator held back outside its window, or let go inside it.
    pub(super) fn follow_window(&mut self, now: Instant) {
        if self.window.schedule.is_non_stop() || self.window.at.is_none() {
            return;
        }
        // Once the old period's connection is gone and its session disconnected.
        if self.link.is_none()
            && self.window.reset_due
            && self.session.state() == SessionState::Disconnected
        {
            self.window.reset_due = false;
            let session = &self.session;
            let fresh = (session.next_sender_seq(), session.next_target_seq()) == (1, 1)
                && session.stored_messages() == 0;
            self.session.reset(now);
            // Reported when it changed something: a period that ends resets, and the next
            // one, starting after a gap, finds nothing left to reset.
            if !fresh {
                let reason = format!("a new session period began ({})", self.window.schedule);
                let session_id = self.session.id().clone();
                let reset = EventKind::SessionReset { session_id, reason };
                self.output.push_back(Output::Event(reset));
            }
        }
        let open = self.window.is_open();
        let window = &mut self.window;
        let Side::Initiator { schedule, .. } = &mut self.side else {
            return;
        };
        if !open {
            if schedule.state().is_disconnected() && schedule.pause() {
                window.held = true;
            }
        } else if window.started && !self.stopping {
            if schedule.state().is_stopped() {
                schedule.start(now);
            } else if std::mem::take(&mut window.held) {
                schedule.resume(now);
            }
        }
    }
}

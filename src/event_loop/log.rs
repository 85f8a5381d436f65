//! What the loop hands the message log: each session's captured messages, its events, and
//! the news that its sequence numbers started again.

use fixring_core::{EventKind, Instant};
use fixring_io::Backend;

use super::EventLoop;
use crate::application::Application;
use crate::message_log::format::event_session;

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Hands slot `index`'s messages captured since the last call to the log, after moving
    /// its logs to the backup path if its sequence numbers started again meanwhile.
    pub(super) fn log_captured(&mut self, index: usize, now: Instant) {
        let Self {
            log: Some(log),
            slots,
            clock,
            ..
        } = self
        else {
            return;
        };
        if !log.is_enabled(index) {
            return;
        }
        let wall = clock.wall();
        let slot = &mut slots[index];
        let mut lost = 0;
        let epoch = slot.connection.session().store_epoch();
        if epoch != slot.log_epoch {
            slot.log_epoch = epoch;
            lost += log.backup(index, wall.utc_at(now)).unwrap_or(0);
        }
        slot.connection.poll_captured(|captured| {
            let at = wall.utc_at(captured.at);
            lost += log
                .message(index, captured.direction, at, captured.bytes)
                .unwrap_or(0);
        });
        if lost > 0 {
            let session_id = slot.connection.id().clone();
            self.report(now, EventKind::LogOverflow { session_id, lost });
        }
    }

    /// Accounts in the logs for lines lost while the writer was behind, where there is room
    /// now, or, when the loop ends (`wait`), once there is; reports each count.
    pub(super) fn settle_log(&mut self, now: Instant, wait: bool) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let mut settled = Vec::new();
        log.settle(self.clock.wall().utc_at(now), wait, |index, lost| {
            settled.push((index, lost));
        });
        for (index, lost) in settled {
            let session_id = self.slots[index].connection.id().clone();
            self.report(now, EventKind::LogOverflow { session_id, lost });
        }
    }

    /// Hands an event to the log: its session's event log, or the GLOBAL one.
    pub(super) fn log_event(&mut self, now: Instant, kind: &EventKind) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let index = event_session(kind)
            .and_then(|id| self.slots.iter().position(|s| s.connection.id() == id));
        let at = self.clock.wall().utc_at(now);
        if let Some(lost) = log.event(index, at, kind)
            && let Some(index) = index
        {
            let session_id = self.slots[index].connection.id().clone();
            self.report(now, EventKind::LogOverflow { session_id, lost });
        }
    }
}

//! What the loop tells the status server beyond its periodic samples: the events it reports.

use fixring_core::EventKind;
use fixring_io::Backend;

use super::EventLoop;
use crate::application::Application;
use crate::message_log::format::event_session;

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Counts an event for the status server, under its session when it names one.
    pub(super) fn count_event(&mut self, kind: &EventKind) {
        let Some(status) = self.status.as_mut() else {
            return;
        };
        let index = event_session(kind)
            .and_then(|id| self.slots.iter().position(|s| s.connection.id() == id));
        status.event(index, kind);
    }
}

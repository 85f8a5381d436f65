//! Dynamic sessions (QuickFIX/J's AcceptorTemplate=Y): a Logon that fits a template of its
//! port, and no configured session, makes a session of the loop, which it keeps from then on
//! like a configured one.

use fixring_core::{ErrorCode, EventKind, Instant, SessionId};
use fixring_io::Backend;

use super::EventLoop;
use super::slots::Slot;
use crate::application::Application;

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Makes session `id` from template `template` and adds it to the loop, its router, its
    /// log and its status; returns its slot. `None` when the session cannot be made (its
    /// file store cannot be opened): an event says why, from `remote_host`.
    pub(super) fn make_session(
        &mut self,
        now: Instant,
        template: usize,
        id: SessionId,
        remote_host: String,
    ) -> Option<usize> {
        let config = self.templates.get(template)?.instantiate(id);
        let slot = match Slot::new(&config, self.clock.wall(), self.buffer_size) {
            Ok(slot) => slot,
            Err(error) => {
                let kind = EventKind::ConnectionError {
                    remote_host,
                    code: ErrorCode::ConfigError,
                    error_detail: format!(
                        "the session the Logon's template makes cannot be made: {error}"
                    ),
                };
                self.report(now, kind);
                return None;
            }
        };
        let index = self.slots.len();
        if slot.file.is_some() {
            self.stored.push(index);
        }
        self.router.add_session(template, index, config.id.clone());
        if let Some(log) = &mut self.log {
            log.add_session(index, template, &config, self.clock.wall().utc_at(now));
        }
        if let Some(status) = &mut self.status {
            status.add_session(&slot.connection);
        }
        self.slots.push(slot);
        self.directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(config.id);
        self.slots[index].connection.start(now);
        self.drain_outputs(index, now);
        Some(index)
    }
}

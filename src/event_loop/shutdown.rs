//! What the loops of one engine share about stopping: the request, and which loops still
//! run, so that `fix.connection.stopped` is reported once per engine and kind of session.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use fixring_core::config::ConnectionType;

/// The stop flag of an engine and a count of the loops still running, by kind of session.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: AtomicBool,
    /// Running loops with acceptor sessions, then with initiator sessions.
    running: [AtomicUsize; 2],
}

impl Shutdown {
    /// Asks every loop to stop.
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
    }

    /// Whether a stop was asked for.
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// A loop with sessions of `kind` is set up and will run.
    pub(crate) fn started(&self, kind: ConnectionType) {
        self.count(kind).fetch_add(1, Ordering::AcqRel);
    }

    /// A loop with sessions of `kind` has finished; returns whether it was the last one.
    pub(crate) fn finished(&self, kind: ConnectionType) -> bool {
        self.count(kind).fetch_sub(1, Ordering::AcqRel) == 1
    }

    fn count(&self, kind: ConnectionType) -> &AtomicUsize {
        match kind {
            ConnectionType::Acceptor => &self.running[0],
            ConnectionType::Initiator => &self.running[1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_loop_of_a_kind_is_the_one_to_report() {
        let shutdown = Shutdown::default();
        shutdown.started(ConnectionType::Acceptor);
        shutdown.started(ConnectionType::Acceptor);
        shutdown.started(ConnectionType::Initiator);
        assert!(!shutdown.is_requested());
        shutdown.request();
        assert!(shutdown.is_requested());
        assert!(!shutdown.finished(ConnectionType::Acceptor));
        assert!(shutdown.finished(ConnectionType::Initiator));
        assert!(shutdown.finished(ConnectionType::Acceptor));
    }
}

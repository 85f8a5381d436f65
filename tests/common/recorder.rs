//! An application that records what the engine tells it, for tests to wait on.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use fixring::core::codec::Message;
use fixring::core::{Event, SessionId};
use fixring::{Application, Context, Echo, Outbound};

/// What a [`Recorder`] has seen.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) events: Vec<Event>,
    /// Application messages received: (session, MsgType, ClOrdID).
    pub(crate) app_in: Vec<(SessionId, String, String)>,
    pub(crate) not_sent: Vec<Outbound>,
}

/// Records every event and application message; echoes orders when asked.
#[derive(Clone)]
pub(crate) struct Recorder {
    seen: Arc<(Mutex<Seen>, Condvar)>,
    echo: Option<Echo>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            seen: Arc::new((Mutex::new(Seen::default()), Condvar::new())),
            echo: None,
        }
    }

    pub(crate) fn echoing() -> Self {
        Self {
            echo: Some(Echo::default()),
            ..Self::new()
        }
    }

    /// Waits until `done` holds for what was seen, or `timeout` passes.
    pub(crate) fn wait_for(&self, timeout: Duration, mut done: impl FnMut(&Seen) -> bool) -> bool {
        let (lock, cond) = &*self.seen;
        let end = Instant::now() + timeout;
        let mut seen = lock.lock().unwrap();
        loop {
            if done(&seen) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = cond.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// Waits for `count` events named `name`; panics with everything seen on timeout.
    pub(crate) fn expect_events(&self, name: &str, count: usize, timeout: Duration) {
        if !self.wait_for(timeout, |s| count_named(s, name) >= count) {
            panic!("expected {count} × {name}; saw {:#?}", self.names());
        }
    }

    pub(crate) fn count(&self, name: &str) -> usize {
        self.with(|s| count_named(s, name))
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.with(|s| s.events.iter().map(|e| e.name().to_owned()).collect())
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&Seen) -> R) -> R {
        f(&self.seen.0.lock().unwrap())
    }

    fn record(&self, f: impl FnOnce(&mut Seen)) {
        let (lock, cond) = &*self.seen;
        f(&mut lock.lock().unwrap());
        cond.notify_all();
    }
}

fn count_named(seen: &Seen, name: &str) -> usize {
    seen.events.iter().filter(|e| e.name() == name).count()
}

impl Application for Recorder {
    fn on_event(&mut self, event: &Event) {
        self.record(|s| s.events.push(event.clone()));
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        let id = ctx.session_id().clone();
        let msg_type = String::from_utf8_lossy(msg.msg_type()).into_owned();
        let cl_ord_id = String::from_utf8_lossy(msg.get(11).unwrap_or_default()).into_owned();
        self.record(|s| s.app_in.push((id, msg_type, cl_ord_id)));
        if let Some(echo) = &mut self.echo {
            echo.on_app_message(ctx, msg);
        }
    }

    fn on_not_sent(
        &mut self,
        _session: &SessionId,
        msg: Outbound,
        _reason: fixring::core::session::SendError,
    ) {
        self.record(|s| s.not_sent.push(msg));
    }
}

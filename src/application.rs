//! What the engine calls back into: the [`Application`] trait, the reply [`Context`] and
//! [`Synchronized`] for an application shared by several event loops.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use fixring_core::codec::Message;
use fixring_core::connection::{Reply, Sent};
use fixring_core::session::SendError;
use fixring_core::{Event, SessionId};
use fixring_io::TxBuf;

use crate::handle::{Handed, Outbound};
use crate::stamp::Stamp;
use crate::stats::LoopStats;

/// The application side of the engine. Every method runs on an event-loop thread, so it must
/// return quickly; the defaults do nothing.
pub trait Application: Send + 'static {
    /// An engine event: `fix.connection.*` and `fix.session.*`.
    fn on_event(&mut self, event: &Event) {
        let _ = event;
    }

    /// A session completed its Logon exchange.
    fn on_logon(&mut self, session: &SessionId) {
        let _ = session;
    }

    /// A logged-on session ended (Logout, or its connection went down).
    fn on_logout(&mut self, session: &SessionId) {
        let _ = session;
    }

    /// An admin message (Logon, Heartbeat, TestRequest, …) arrived and was handled.
    fn on_admin_message(&mut self, session: &SessionId, msg: &Message<'_>) {
        let _ = (session, msg);
    }

    /// An application message arrived in sequence. Reply through `ctx`.
    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        let _ = (ctx, msg);
    }

    /// A message handed over through a [`crate::SessionHandle`] could not be sent; it is
    /// returned here rather than dropped.
    fn on_not_sent(&mut self, session: &SessionId, msg: Outbound, reason: SendError) {
        let _ = (session, msg, reason);
    }
}

/// The session a message arrived on, with the means to answer it at once.
pub struct Context<'s, 't> {
    pub(crate) reply: Reply<'s, Handed, TxBuf<'t>>,
    pub(crate) stats: &'s mut LoopStats,
}

impl Context<'_, '_> {
    /// The session the message arrived on.
    pub fn session_id(&self) -> &SessionId {
        self.reply.session_id()
    }

    /// Sends a message on this session: `body` is its encoded body fields (see
    /// [`fixring_core::codec::FieldWriter`]). The header, MsgSeqNum and SendingTime are added
    /// here; the bytes go out when the callback returns. Behind messages already waiting or
    /// a resend still going out, or when the send buffer is full, the message waits, in
    /// order, for its turn.
    pub fn reply(&mut self, msg_type: &[u8], body: &[u8]) -> Result<(), SendError> {
        let handed_over = Stamp::now();
        let sent = self.reply.send(msg_type, body, || Handed {
            msg: Outbound {
                msg_type: Bytes::copy_from_slice(msg_type),
                body: Bytes::copy_from_slice(body),
            },
            handed_over,
        })?;
        if sent == Sent::Now {
            self.stats.committed(handed_over);
        }
        Ok(())
    }
}

/// An application shared by several event loops, behind a mutex.
///
/// The engine needs one application per loop; give it a `Synchronized<A>` (which clones
/// cheaply) when one application object must see every session. Each callback holds the lock
/// for its duration only.
pub struct Synchronized<A> {
    inner: Arc<Mutex<A>>,
}

impl<A> Synchronized<A> {
    /// Wraps `app` for sharing.
    pub fn new(app: A) -> Self {
        Self {
            inner: Arc::new(Mutex::new(app)),
        }
    }

    /// Runs `f` with the application locked, e.g. to read its state from another thread.
    pub fn with<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl<A> Clone for Synchronized<A> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A: Application> Application for Synchronized<A> {
    fn on_event(&mut self, event: &Event) {
        self.with(|app| app.on_event(event));
    }

    fn on_logon(&mut self, session: &SessionId) {
        self.with(|app| app.on_logon(session));
    }

    fn on_logout(&mut self, session: &SessionId) {
        self.with(|app| app.on_logout(session));
    }

    fn on_admin_message(&mut self, session: &SessionId, msg: &Message<'_>) {
        self.with(|app| app.on_admin_message(session, msg));
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        self.with(|app| app.on_app_message(ctx, msg));
    }

    fn on_not_sent(&mut self, session: &SessionId, msg: Outbound, reason: SendError) {
        self.with(|app| app.on_not_sent(session, msg, reason));
    }
}

//! Sending into a session from any thread.

use core::fmt;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use fixring_core::SessionId;
use fixring_core::connection::Outgoing;
use fixring_io::Wake;

/// A message handed to the engine: its MsgType and its encoded body fields. The engine adds
/// the header (CompIDs, MsgSeqNum, SendingTime) and the trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// MsgType (35), e.g. `D`.
    pub msg_type: Bytes,
    /// Body fields, `tag=value<SOH>`…, without header or trailer.
    pub body: Bytes,
}

/// A message queued to an event loop for its session number `.0`, handed over at `.2`.
pub(crate) type Queued = (usize, Outbound, std::time::Instant);

/// A message the application handed over, with when: what a connection's backlog holds.
#[derive(Debug)]
pub(crate) struct Handed {
    pub(crate) msg: Outbound,
    pub(crate) handed_over: std::time::Instant,
}

impl Outgoing for Handed {
    fn msg_type(&self) -> &[u8] {
        &self.msg.msg_type
    }

    fn body(&self) -> &[u8] {
        &self.msg.body
    }
}

/// The loop's end of its queue. `open` turns false, under its write lock, when the loop ends:
/// a sender checks it under the read lock, so no message can slip in after the final drain.
pub(crate) struct Inbox {
    pub(crate) receiver: Receiver<Queued>,
    pub(crate) open: Arc<RwLock<bool>>,
}

impl Inbox {
    /// Closes the queue for good and returns what is still in it.
    pub(crate) fn close(&self) -> Vec<Queued> {
        *self.open.write().unwrap_or_else(PoisonError::into_inner) = false;
        self.receiver.try_iter().collect()
    }
}

/// Why [`SessionHandle::send`] did not take a message. The message comes back with the error:
/// nothing handed over is dropped silently.
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum HandleError {
    /// The loop's queue is full; try again later.
    Full(Outbound),
    /// The engine has stopped.
    Stopped(Outbound),
}

impl HandleError {
    /// The message that was not taken.
    pub fn into_message(self) -> Outbound {
        match self {
            Self::Full(msg) | Self::Stopped(msg) => msg,
        }
    }
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the event loop's queue is full; message not taken"),
            Self::Stopped(_) => f.write_str("the engine has stopped; message not taken"),
        }
    }
}

impl std::error::Error for HandleError {}

/// Sends messages into one session from any thread, in order.
///
/// The message is queued to the session's event loop, which encodes and writes it. If the
/// session turns out not to be logged on, or its send buffer is full, the loop returns the
/// message through [`crate::Application::on_not_sent`].
#[derive(Clone)]
pub struct SessionHandle {
    id: SessionId,
    index: usize,
    queue: SyncSender<Queued>,
    open: Arc<RwLock<bool>>,
    waker: Arc<dyn Wake>,
}

impl SessionHandle {
    pub(crate) fn new(
        id: SessionId,
        index: usize,
        queue: SyncSender<Queued>,
        open: Arc<RwLock<bool>>,
        waker: Arc<dyn Wake>,
    ) -> Self {
        Self {
            id,
            index,
            queue,
            open,
            waker,
        }
    }

    /// The session this handle sends into.
    pub fn session_id(&self) -> &SessionId {
        &self.id
    }

    /// Queues `body` as a message of type `msg_type`.
    pub fn send(&self, msg_type: &[u8], body: impl Into<Bytes>) -> Result<(), HandleError> {
        let msg = Outbound {
            msg_type: Bytes::copy_from_slice(msg_type),
            body: body.into(),
        };
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        if !*open {
            return Err(HandleError::Stopped(msg));
        }
        match self
            .queue
            .try_send((self.index, msg, std::time::Instant::now()))
        {
            Ok(()) => {
                self.waker.wake();
                Ok(())
            }
            Err(TrySendError::Full((_, msg, _))) => Err(HandleError::Full(msg)),
            Err(TrySendError::Disconnected((_, msg, _))) => Err(HandleError::Stopped(msg)),
        }
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("session", &self.id.to_string())
            .finish()
    }
}

//! Sending into a session from any thread.

use core::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering, fence};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use bytes::Bytes;
use fixring_core::SessionId;
use fixring_core::connection::Outgoing;
use fixring_io::Wake;

use crate::stamp::Stamp;

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
pub(crate) type Queued = (usize, Outbound, Stamp);

/// A message the application handed over, with when: what a connection's backlog holds.
#[derive(Debug)]
pub(crate) struct Handed {
    pub(crate) msg: Outbound,
    pub(crate) handed_over: Stamp,
}

impl Outgoing for Handed {
    fn msg_type(&self) -> &[u8] {
        &self.msg.msg_type
    }

    fn body(&self) -> &[u8] {
        &self.msg.body
    }
}

/// What a loop's session handles and the loop share besides the queue: whether the queue is
/// still open (and who is inside it), and whether the loop sleeps.
///
/// No lock and no allocation per message: a sender enters by incrementing a counter that
/// also carries the closed bit, and wakes the loop only when it sleeps, once per sleep.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// [`CLOSED`] and the count of senders between their check and their push.
    entry: AtomicUsize,
    /// [`AWAKE`], [`ASLEEP`] or [`WOKEN`].
    sleep: AtomicU8,
}

/// The bit of [`Gate::entry`] that says the queue is closed for good.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// The loop looks at its queue before it next waits: no wake-up is needed.
const AWAKE: u8 = 0;
/// The loop may be waiting in its backend: the next message wakes it.
const ASLEEP: u8 = 1;
/// A sender has woken the sleeping loop; the others need not.
const WOKEN: u8 = 2;

impl Gate {
    /// Enters the queue; `false` once it is closed.
    fn enter(&self) -> bool {
        if self.entry.fetch_add(1, Ordering::Acquire) & CLOSED != 0 {
            self.leave();
            return false;
        }
        true
    }

    fn leave(&self) {
        self.entry.fetch_sub(1, Ordering::Release);
    }

    /// Whether a message just pushed needs a wake-up: the loop sleeps and no one has woken
    /// it yet.
    fn needs_wake(&self) -> bool {
        // Pairs with the fence in `sleeping`: either the loop sees the message before it
        // waits, or this sees that it sleeps.
        fence(Ordering::SeqCst);
        self.sleep.load(Ordering::Relaxed) == ASLEEP
            && self
                .sleep
                .compare_exchange(ASLEEP, WOKEN, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    /// The loop is about to wait: senders must wake it from now on. The loop looks at its
    /// queue once more after this, before it waits.
    pub(crate) fn sleeping(&self) {
        self.sleep.store(ASLEEP, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The loop is done waiting and will look at its queue.
    pub(crate) fn awake(&self) {
        self.sleep.store(AWAKE, Ordering::Relaxed);
    }

    /// Closes the queue and waits (a few instructions at most) for the senders inside.
    fn close(&self) {
        self.entry.fetch_or(CLOSED, Ordering::AcqRel);
        while self.entry.load(Ordering::Acquire) & !CLOSED != 0 {
            std::thread::yield_now();
        }
    }
}

/// The loop's end of its queue. The gate closes when the loop ends, after which no message
/// can slip in behind the final drain.
pub(crate) struct Inbox {
    pub(crate) receiver: Receiver<Queued>,
    pub(crate) gate: Arc<Gate>,
}

impl Inbox {
    /// Closes the queue for good and returns what is still in it.
    pub(crate) fn close(&self) -> Vec<Queued> {
        self.gate.close();
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
///
/// A send takes no lock and allocates nothing of its own (a MsgType of one or two letters or
/// digits, as FIX's are, is not copied; the body is the caller's). It wakes the loop with a
/// system call only when the loop sleeps, once per sleep: a burst of messages costs one
/// wake-up, and a spinning loop none.
#[derive(Clone)]
pub struct SessionHandle {
    id: SessionId,
    index: usize,
    queue: SyncSender<Queued>,
    gate: Arc<Gate>,
    waker: Arc<dyn Wake>,
}

impl SessionHandle {
    pub(crate) fn new(
        id: SessionId,
        index: usize,
        queue: SyncSender<Queued>,
        gate: Arc<Gate>,
        waker: Arc<dyn Wake>,
    ) -> Self {
        Self {
            id,
            index,
            queue,
            gate,
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
            msg_type: msg_type_bytes(msg_type),
            body: body.into(),
        };
        if !self.gate.enter() {
            return Err(HandleError::Stopped(msg));
        }
        let pushed = self.queue.try_send((self.index, msg, Stamp::now()));
        self.gate.leave();
        match pushed {
            Ok(()) => {
                if self.gate.needs_wake() {
                    self.waker.wake();
                }
                Ok(())
            }
            Err(TrySendError::Full((_, msg, _))) => Err(HandleError::Full(msg)),
            Err(TrySendError::Disconnected((_, msg, _))) => Err(HandleError::Stopped(msg)),
        }
    }
}

/// Letters and digits, the characters of FIX's MsgTypes.
const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Every one- and two-character MsgType of letters and digits, one after another: 62 single
/// characters, then the 62 x 62 pairs.
static MSG_TYPES: [u8; 62 + 62 * 62 * 2] = {
    let mut all = [0u8; 62 + 62 * 62 * 2];
    let mut i = 0;
    while i < 62 {
        all[i] = ALNUM[i];
        let mut j = 0;
        while j < 62 {
            let at = 62 + (i * 62 + j) * 2;
            all[at] = ALNUM[i];
            all[at + 1] = ALNUM[j];
            j += 1;
        }
        i += 1;
    }
    all
};

/// Where `c` is in [`ALNUM`].
fn alnum_index(c: u8) -> Option<usize> {
    match c {
        b'0'..=b'9' => Some(usize::from(c - b'0')),
        b'A'..=b'Z' => Some(usize::from(c - b'A') + 10),
        b'a'..=b'z' => Some(usize::from(c - b'a') + 36),
        _ => None,
    }
}

/// `msg_type` as `Bytes`, without allocating for a MsgType of one or two letters or digits.
fn msg_type_bytes(msg_type: &[u8]) -> Bytes {
    let at = match *msg_type {
        [a] => alnum_index(a).map(|a| a..a + 1),
        [a, b] => alnum_index(a)
            .zip(alnum_index(b))
            .map(|(a, b)| 62 + (a * 62 + b) * 2)
            .map(|at| at..at + 2),
        _ => None,
    };
    match at.and_then(|at| MSG_TYPES.get(at)) {
        Some(bytes) => Bytes::from_static(bytes),
        None => Bytes::copy_from_slice(msg_type),
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("session", &self.id.to_string())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn msg_types_come_from_the_table() {
        for msg_type in [&b"D"[..], b"8", b"AE", b"zz", b"0", b"U1"] {
            let bytes = msg_type_bytes(msg_type);
            assert_eq!(&bytes[..], msg_type);
            let table = MSG_TYPES.as_ptr_range();
            assert!(
                table.contains(&bytes.as_ptr()),
                "{msg_type:?} is not copied"
            );
        }
        assert_eq!(&msg_type_bytes(b"ABC")[..], b"ABC");
        assert_eq!(&msg_type_bytes(b"-")[..], b"-");
        assert_eq!(&msg_type_bytes(b"")[..], b"");
    }

    #[derive(Default)]
    struct Wakes(AtomicU32);

    impl Wake for Wakes {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_sleeping_loop_is_woken_once_per_sleep_and_an_awake_one_never() {
        let (tx, rx) = mpsc::sync_channel(16);
        let gate = Arc::new(Gate::default());
        let wakes = Arc::new(Wakes::default());
        let waker: Arc<dyn Wake> = wakes.clone();
        let id = SessionId::new("FIX.4.4", "A", "B");
        let handle = SessionHandle::new(id, 0, tx, Arc::clone(&gate), waker);
        let inbox = Inbox {
            receiver: rx,
            gate: Arc::clone(&gate),
        };
        handle.send(b"D", &b"1"[..]).unwrap();
        handle.send(b"D", &b"2"[..]).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0, "awake: no wake-up");
        gate.sleeping();
        for n in 0..5u8 {
            handle.send(b"D", vec![n]).unwrap();
        }
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "one wake-up per burst");
        gate.awake();
        gate.sleeping();
        handle.send(b"D", &b"3"[..]).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        let left = inbox.close();
        assert_eq!(left.len(), 8, "everything queued is still there");
        match handle.send(b"D", &b"4"[..]) {
            Err(HandleError::Stopped(msg)) => assert_eq!(&msg.body[..], b"4"),
            other => panic!("{other:?}"),
        }
    }
}

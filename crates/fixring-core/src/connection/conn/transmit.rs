//! What a connection sends, and in which order: the session's own messages (a resend
//! included) first, then the application's, in the order they were handed over.

use std::collections::VecDeque;

use super::{BACKLOG_LIMIT, Connection, Outgoing, Output};
use crate::connection::capture::{Capture, Direction};
use crate::connection::io::{Lent, SendBuffer, SocketBuffers};
use crate::connection::link::Writer;
use crate::session::{SendError, Session};
use crate::{Instant, SessionId};

/// How a message given to [`Reply::send`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// It is in the send buffer.
    Now,
    /// It waits, in order, behind messages ahead of it or for room in the send buffer.
    Queued,
}

/// The session a message arrived on, with the means to answer it at once.
pub struct Reply<'a, M, T> {
    session: &'a mut Session,
    backlog: &'a mut VecDeque<M>,
    capture: &'a mut Option<Capture>,
    writer: Writer<'a, T>,
    now: Instant,
}

impl<'a, M: Outgoing, T: SendBuffer> Reply<'a, M, T> {
    pub(crate) fn new(
        session: &'a mut Session,
        backlog: &'a mut VecDeque<M>,
        capture: &'a mut Option<Capture>,
        writer: Writer<'a, T>,
        now: Instant,
    ) -> Self {
        Self {
            session,
            backlog,
            capture,
            writer,
            now,
        }
    }

    /// The session the message arrived on.
    pub fn session_id(&self) -> &SessionId {
        self.session.id()
    }

    /// Sends a message of type `msg_type` with the encoded body fields `body`: into the send
    /// buffer at once, or, behind messages already waiting, a resend still going out, or a
    /// full send buffer, after them (`queue` makes the message to keep).
    pub fn send(
        &mut self,
        msg_type: &[u8],
        body: &[u8],
        queue: impl FnOnce() -> M,
    ) -> Result<Sent, SendError> {
        let Self {
            session,
            backlog,
            capture,
            writer,
            now,
        } = self;
        if backlog.is_empty() && !session.is_resending() {
            let encode = |buf: &mut [u8]| {
                let len = session.send(*now, msg_type, body, buf)?;
                captured(capture, *now, buf, len);
                Ok(len)
            };
            match writer.write(encode) {
                Ok(_) => return Ok(Sent::Now),
                Err(SendError::InsufficientSize(_)) if writer.queued() > 0 => {}
                Err(error) => return Err(error),
            }
        }
        backlog.push_back(queue());
        writer.notify_when_writable();
        Ok(Sent::Queued)
    }
}

impl<M: Outgoing> Connection<M> {
    /// Takes a message to send on the next [`Connection::poll_transmit`], after those already
    /// waiting. Refused, and given back, when the session is not logged on or
    /// [`BACKLOG_LIMIT`] messages already wait.
    pub fn send(&mut self, msg: M) -> Result<(), (M, SendError)> {
        if !self.session.state().is_active() {
            return Err((msg, SendError::NotLoggedOn));
        }
        if self.backlog.len() >= BACKLOG_LIMIT {
            return Err((
                msg,
                SendError::BacklogFull {
                    limit: BACKLOG_LIMIT,
                },
            ));
        }
        self.backlog.push_back(msg);
        Ok(())
    }

    /// Writes what the connection has to send while it fits: first the session's own
    /// messages (Logon, Heartbeats, a resend, Logout), then the application's waiting ones,
    /// each handed to `sent` once in the send buffer. Asks to hear when room frees up
    /// otherwise. A session that has said its last word is closed. Returns whether messages
    /// are still waiting.
    pub fn poll_transmit<B: SocketBuffers>(
        &mut self,
        now: Instant,
        lent: &mut Lent<'_, B>,
        sent: &mut impl FnMut(M),
    ) -> bool {
        let Self {
            session,
            link,
            backlog,
            output,
            capture,
            ..
        } = self;
        let Some(link) = link.as_mut() else {
            return false;
        };
        let resending = link.write(&mut lent.socket, lent.scratch, |writer| {
            loop {
                let encode = |buf: &mut [u8]| {
                    let len = session.poll_transmit(now, buf)?.unwrap_or(0);
                    captured(capture, now, buf, len);
                    Ok::<_, SendError>(len)
                };
                match writer.write(encode) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(_) => {
                        // A resend fills the buffer: the rest, and the application's
                        // messages after it, wait for room.
                        writer.notify_when_writable();
                        return true;
                    }
                }
            }
            while let Some(msg) = backlog.front() {
                let encode = |buf: &mut [u8]| {
                    let len = session.send(now, msg.msg_type(), msg.body(), buf)?;
                    captured(capture, now, buf, len);
                    Ok(len)
                };
                match writer.write(encode) {
                    Ok(_) => {
                        if let Some(msg) = backlog.pop_front() {
                            sent(msg);
                        }
                    }
                    Err(SendError::InsufficientSize(_)) if writer.queued() > 0 => {
                        writer.notify_when_writable();
                        break;
                    }
                    Err(reason) => {
                        // Not logged on, or larger than the whole send buffer: it can
                        // never go.
                        if let Some(msg) = backlog.pop_front() {
                            output.push_back(Output::NotSent(msg, reason));
                        }
                    }
                }
            }
            false
        });
        let waiting = resending == Some(true) || !self.backlog.is_empty();
        self.collect_session_events();
        if let Some(reason) = self.session.poll_close().cloned() {
            self.close(now, lent, &reason);
        }
        waiting
    }
}

/// Keeps a copy of the message just encoded into `buf[..len]`, when capturing.
fn captured(capture: &mut Option<Capture>, now: Instant, buf: &[u8], len: usize) {
    if let Some(capture) = capture.as_mut()
        && len > 0
    {
        capture.record(Direction::Outgoing, now, buf.get(..len).unwrap_or_default());
    }
}

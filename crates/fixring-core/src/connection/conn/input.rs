//! What a connection does with the bytes its socket receives.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::{Connection, Outgoing, Reply, Side};
use crate::codec::{DecodeError, Message};
use crate::connection::capture::{Capture, Direction};
use crate::connection::framing::{parse, read_messages};
use crate::connection::io::{Lent, SendBuffer, SocketBuffers};
use crate::connection::link::{Link, Writer};
use crate::session::{Inbound, ProtocolViolation, Session};
use crate::tls::{TlsConnection, TlsError};
use crate::{Instant, SessionId};

/// Where a connection delivers what its peer sent: the application's side of the core.
pub trait Deliver<M, T> {
    /// An application message arrived in sequence; `reply` answers it at once.
    fn application(&mut self, reply: Reply<'_, M, T>, msg: &Message<'_>);

    /// An admin message (Logon, Heartbeat, TestRequest, …) arrived and was handled.
    fn admin(&mut self, session: &SessionId, msg: &Message<'_>);
}

impl<M: Outgoing> Connection<M> {
    /// An initiator's socket is being opened to `peer`: it belongs to this connection now.
    pub fn handle_connecting(&mut self, peer: SocketAddr) {
        self.link = Some(Link::plain(Some(peer)));
    }

    /// An initiator's socket connected to `peer`. A TLS session starts its handshake (the
    /// ClientHello goes into the send buffer); a plain one queues its Logon.
    pub fn handle_connected<B: SocketBuffers>(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        lent: &mut Lent<'_, B>,
    ) {
        let client = self.tls_client();
        let capacity = self.framer.max_message_size();
        let Some(link) = self.link.as_mut() else {
            return;
        };
        link.set_peer(peer);
        match client {
            Some(Ok(tls)) => {
                link.start_tls(tls, capacity);
                self.receive(now, lent);
            }
            Some(Err(error)) => self.tls_failed(now, error),
            None => self.connected(now),
        }
        self.collect_session_events();
    }

    /// An acceptor's router mapped a socket's first Logon to this session: the session
    /// takes the socket (its link, handshake done on a TLS port) and reads the Logon with
    /// [`Connection::handle_received`].
    /// Outside the session's schedule the socket is refused at once (closed, with a
    /// `fix.connection.error` saying so).
    pub fn handle_accepted(&mut self, now: Instant, link: Link) {
        self.check_window(now);
        self.link = Some(link);
        self.session.connected(now);
        if let Side::Acceptor { lifecycle } = &mut self.side {
            let result = lifecycle.connected(now);
            self.refused(result);
        }
        if let Some(detail) = self.window.closed_because() {
            self.refuse(now, format!("Logon refused: {detail}"));
        }
    }

    /// The socket received bytes: TLS records are processed, and every whole message is
    /// framed, parsed, handed to the session and delivered through `deliver`.
    pub fn handle_received<B: SocketBuffers>(
        &mut self,
        now: Instant,
        lent: &mut Lent<'_, B>,
        deliver: &mut impl Deliver<M, B::Tx>,
    ) {
        self.handle_received_in_batches(now, lent, deliver, usize::MAX);
    }

    /// [`Connection::handle_received`], pausing after `batch` messages (at least one) once
    /// their handling has left bytes to send, so that the caller can write those before the
    /// rest is read: a counterparty that sent a burst gets the first answers while the rest
    /// are handled. Returns whether it paused; the caller then calls again, received bytes
    /// or not, after writing.
    pub fn handle_received_in_batches<B: SocketBuffers>(
        &mut self,
        now: Instant,
        lent: &mut Lent<'_, B>,
        deliver: &mut impl Deliver<M, B::Tx>,
        batch: usize,
    ) -> bool {
        let paused = self.receive(now, lent) && self.read(now, lent, deliver, batch.max(1));
        self.collect_session_events();
        paused
    }

    /// Runs the link's TLS over what arrived; returns whether there is input to frame.
    fn receive<B: SocketBuffers>(&mut self, now: Instant, lent: &mut Lent<'_, B>) -> bool {
        let Some(link) = self.link.as_mut() else {
            return false;
        };
        match link.receive(&mut lent.socket) {
            Ok(received) => {
                if received.handshake_done {
                    self.tls_established(now);
                }
                received.ready && self.link.is_some()
            }
            Err(error) => {
                self.tls_failed(now, error);
                false
            }
        }
    }

    /// Frames and hands on the whole messages of the input, up to `batch` of them once
    /// bytes wait to be sent, then acts on what stopped the reading: bytes that do not frame,
    /// or a message too large for the buffer. Returns whether it paused after a batch.
    fn read<B: SocketBuffers>(
        &mut self,
        now: Instant,
        lent: &mut Lent<'_, B>,
        deliver: &mut impl Deliver<M, B::Tx>,
        batch: usize,
    ) -> bool {
        let Self {
            session,
            framer,
            link,
            backlog,
            capture,
            ..
        } = self;
        let Some(link) = link.as_mut() else {
            return false;
        };
        let tolerant = session.validates();
        let mut handed = 0;
        let mut paused = false;
        let (skipped, violation) = link.read(&mut lent.socket, lent.scratch, |input, writer| {
            let framed = read_messages(framer, input, tolerant, |frame, msg| {
                if let Some(capture) = capture.as_mut() {
                    capture.record(Direction::Incoming, now, frame);
                }
                let Some(msg) = msg else {
                    return true;
                };
                hand_on(session, backlog, capture, writer, deliver, now, msg);
                // Messages kept from beyond a gap that this one filled come next, in turn.
                while session.poll_close().is_none() {
                    let Some(frame) = session.poll_queued() else {
                        break;
                    };
                    if let Ok(queued) = parse(&frame, tolerant) {
                        hand_on(session, backlog, capture, writer, deliver, now, &queued);
                    }
                }
                if session.poll_close().is_some() {
                    return false;
                }
                handed += 1;
                paused = handed >= batch && writer.queued() > 0;
                !paused
            });
            (framed.consumed, (framed.skipped, framed.violation))
        });
        self.garbled += skipped as u64;
        if skipped > 0 {
            self.session.handle_garbled();
        }
        match violation {
            Some(violation) => self.session.handle_malformed(violation),
            None if lent.socket.receive_buffer_full() => {
                let max = self.framer.max_message_size();
                let too_large = DecodeError::TooLarge {
                    length: max + 1,
                    max,
                };
                self.session
                    .handle_malformed(ProtocolViolation::Malformed(too_large));
            }
            None => {}
        }
        paused
    }

    /// The initiator's TLS client for the current attempt, verifying the configured
    /// `SocketServerName` or else the host of the attempt (after a failover too).
    fn tls_client(&self) -> Option<Result<TlsConnection, TlsError>> {
        let Side::Initiator {
            schedule,
            hosts,
            tls: Some((config, name)),
        } = &self.side
        else {
            return None;
        };
        let host = schedule.current_host().and_then(|i| hosts.get(i));
        let name = name.clone().or_else(|| host.map(|h| h.host.clone()))?;
        Some(TlsConnection::client(std::sync::Arc::clone(config), &name).map_err(TlsError::Setup))
    }

    /// The handshake completed: an initiator's session starts (its Logon goes out).
    fn tls_established(&mut self, now: Instant) {
        if let Side::Initiator { .. } = self.side {
            self.connected(now);
        }
    }

    /// An initiator's socket is up (and its handshake done): the session starts, unless the
    /// schedule gave the attempt up meanwhile; then the socket closes.
    fn connected(&mut self, now: Instant) {
        let Side::Initiator { schedule, .. } = &mut self.side else {
            return;
        };
        match schedule.handle_connected(now) {
            Ok(()) => {
                self.session.connected(now);
                // A window that closed while the socket was being opened: no Logon.
                self.check_window(now);
            }
            Err(_) => self.abandon(),
        }
    }
}

/// Hands one message to the session, then what it says to hand on to `deliver`.
fn hand_on<M: Outgoing, T: SendBuffer>(
    session: &mut Session,
    backlog: &mut VecDeque<M>,
    capture: &mut Option<Capture>,
    writer: &mut Writer<'_, T>,
    deliver: &mut impl Deliver<M, T>,
    now: Instant,
    msg: &Message<'_>,
) {
    match session.handle_message(now, msg) {
        Inbound::Application => {
            let reply = Reply::new(session, backlog, capture, writer.reborrow(), now);
            deliver.application(reply, msg);
        }
        Inbound::Admin => deliver.admin(session.id(), msg),
        Inbound::Ignored => {}
    }
}

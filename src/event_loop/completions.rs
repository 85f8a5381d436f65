//! What the loop does with each backend completion: it hands the bytes and the news to the
//! socket's owner, the router or a session's connection.

use fixring_core::codec::Message;
use fixring_core::connection::{Deliver, HandshakeStep, Lent, Link, Reply, Routed};
use fixring_core::event::FLOOD_REPORT_INTERVAL;
use fixring_core::{ErrorCode, EventKind, Instant, SessionId};
use fixring_io::{ACCEPT_BACKOFF, Backend, Completion, ConnId, ConnIo, ListenerId, TxBuf};

use super::conns::Owner;
use super::{EventLoop, Paused, READ_BATCH};
use crate::application::{Application, Context};
use crate::handle::Handed;
use crate::stamp::Stamp;
use crate::stats::LoopStats;
use crate::status::LatencySketch;

/// Delivers what a connection received to the application, timing each application message
/// from the receive completion.
struct ToApp<'a, A> {
    app: &'a mut A,
    stats: &'a mut LoopStats,
    /// The session's own latency counters.
    session: &'a mut LatencySketch,
    seen: Stamp,
}

impl<'t, A: Application> Deliver<Handed, TxBuf<'t>> for ToApp<'_, A> {
    fn application(&mut self, reply: Reply<'_, Handed, TxBuf<'t>>, msg: &Message<'_>) {
        let took = self.stats.inbound(self.seen);
        self.session.record(took);
        let mut ctx = Context {
            reply,
            stats: &mut *self.stats,
        };
        self.app.on_app_message(&mut ctx, msg);
    }

    fn admin(&mut self, session: &SessionId, msg: &Message<'_>) {
        self.app.on_admin_message(session, msg);
    }
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Handles one completion of a batch the loop saw at `seen` (`now` on the core's clock).
    pub(super) fn handle_completion(&mut self, now: Instant, seen: Stamp, completion: Completion) {
        match completion {
            Completion::Accepted {
                listener,
                conn,
                peer,
            } => {
                let port = self.listeners.iter().position(|l| l.id == listener);
                let Some(port) = port.filter(|_| self.stopping_until.is_none()) else {
                    self.backend.close(conn);
                    return;
                };
                let accepted = self.router.handle_accepted(now, conn, port, peer);
                self.report_router_events(now);
                if accepted {
                    // Its deadline is noted once the batch is handled: see `evict_pending`.
                    self.owners.insert(conn, Owner::Router);
                    self.accepted = true;
                } else {
                    self.turn_away(now, conn);
                }
            }
            Completion::Connected { conn, peer } => {
                let Some(Owner::Slot(index)) = self.owners.get(conn) else {
                    return;
                };
                let Self {
                    backend,
                    slots,
                    scratch,
                    ..
                } = self;
                if let Some(mut lent) = lend(backend, Some(conn), scratch) {
                    slots[index].refresh_before_logon();
                    slots[index]
                        .connection
                        .handle_connected(now, peer, &mut lent);
                }
                // Touched: its outputs are carried out once it has written.
                self.touched.push(index);
            }
            Completion::ConnectFailed { conn, error } => {
                let Some(Owner::Slot(index)) = self.owners.remove(conn) else {
                    return;
                };
                self.slots[index].conn = None;
                let connection = &mut self.slots[index].connection;
                if error.kind() == std::io::ErrorKind::TimedOut {
                    connection.handle_connect_timed_out(now);
                } else {
                    connection.handle_connect_failed(now, error.to_string());
                }
                self.drain_outputs(index, now);
            }
            Completion::Received { conn } => {
                match self.owners.get(conn) {
                    // Routed once the rest of the batch is handled: see `route_received`.
                    Some(Owner::Router) => self.to_route.push((conn, seen)),
                    Some(Owner::Slot(index)) => self.deliver(now, index, seen),
                    None => {}
                }
            }
            Completion::Closed {
                conn,
                error,
                unsent,
            } => match self.owners.remove(conn) {
                Some(Owner::Router) => self.router.handle_closed(conn),
                Some(Owner::Slot(index)) => {
                    let mut detail = match error {
                        Some(error) => error.to_string(),
                        None => "peer closed the connection".to_owned(),
                    };
                    if unsent > 0 {
                        detail.push_str(&format!("; {unsent} bytes not sent"));
                    }
                    self.slots[index].conn = None;
                    self.slots[index].connection.handle_closed(now, detail);
                    self.drain_outputs(index, now);
                }
                None => {}
            },
            Completion::Writable { conn } => {
                if let Some(Owner::Slot(index)) = self.owners.get(conn) {
                    self.backlogged.retain(|&i| i != index);
                    self.write_pending(now, index);
                }
            }
            Completion::AcceptPaused { listener, error } => {
                self.accept_paused(now, listener, &error);
            }
            Completion::Woken => {}
        }
    }

    /// Routes the first messages of the sockets not logged on that received bytes in the
    /// batch just handled (seen at `seen`), and of those whose handshake step came back.
    /// They wait for the rest of the batch so that a session's socket closed by its peer is
    /// released first: a peer that closes and logs on again at once is never refused as
    /// already logged on, whatever order the backend reported the two in.
    ///
    /// A socket whose TLS handshake has a step to take is not routed on the loop: the step
    /// goes to the loop's handshake thread (see `handshake.rs`), and the socket is routed
    /// once it comes back.
    pub(super) fn route_received(&mut self, now: Instant, seen: Stamp) {
        let mut to_route = std::mem::take(&mut self.to_route);
        for (conn, seen) in to_route.drain(..) {
            if let Some(Owner::Router) = self.owners.get(conn)
                && !self.hand_off(now, conn)
            {
                self.route(now, conn, seen, true, None);
            }
        }
        self.to_route = to_route;
        let mut done = std::mem::take(&mut self.handshakes_done);
        self.handshakes.take_done(&mut done);
        for (conn, step) in done.drain(..) {
            if let Some(Owner::Router) = self.owners.get(conn) {
                self.route(now, conn, seen, true, Some(step));
            }
        }
        self.handshakes_done = done;
    }

    /// Hands the next TLS handshake step of socket `conn`, not logged on, to the handshake
    /// thread; `false` when it has none to take, and its bytes are routed on the loop. A
    /// step dropped to make room refuses its socket.
    fn hand_off(&mut self, now: Instant, conn: ConnId) -> bool {
        let Self {
            backend,
            router,
            scratch,
            ..
        } = self;
        let Some(mut lent) = lend(backend, Some(conn), scratch) else {
            return false;
        };
        let Some(step) = router.take_handshake(conn, &mut lent.socket) else {
            return false;
        };
        if let Some((shed, step, reason)) = self.handshakes.submit(conn, step) {
            let refused = self.router.shed_handshake(shed, &step, &reason);
            self.report_router_events(now);
            if refused {
                self.turn_away(now, shed);
            }
        }
        true
    }

    /// An accepted socket received bytes before its Logon, or its handshake `step` came
    /// back: the router maps its first message to a session, which then reads everything.
    /// A Logon for a session whose connection went silent, or whose peer closed it,
    /// replaces that connection when `may_replace`.
    fn route(
        &mut self,
        now: Instant,
        conn: ConnId,
        seen: Stamp,
        may_replace: bool,
        step: Option<HandshakeStep>,
    ) {
        let Self {
            backend,
            router,
            slots,
            scratch,
            ..
        } = self;
        let Some(mut lent) = lend(backend, Some(conn), scratch) else {
            return;
        };
        // A logged-on session gives way to a new Logon when its connection is silent, or
        // when its peer has already closed it and the close is not reported yet.
        let gives_way = |index: usize| {
            slots.get(index).is_some_and(|s| {
                s.connection.session().is_silent(now)
                    || (s.conn.is_some() && s.fd.is_some_and(fixring_io::socket::peer_closed))
            })
        };
        let from_handshake = step.is_some();
        let routed = match step {
            Some(step) => router.handle_handshake(conn, step, &mut lent, may_replace, gives_way),
            None => router.handle_received(conn, &mut lent, may_replace, gives_way),
        };
        self.report_router_events(now);
        match routed {
            Routed::Session { session, link } => self.accepted(now, conn, session, link, seen),
            Routed::Template { template, id, link } => {
                match self.make_session(now, template, id, link.remote_host()) {
                    Some(session) => self.accepted(now, conn, session, link, seen),
                    None => {
                        self.owners.remove(conn);
                        self.backend.close(conn);
                    }
                }
            }
            Routed::Replace { session } => {
                let slot = &mut self.slots[session];
                match slot.conn {
                    Some(old) if self.backend.peer_closed(old) => slot
                        .connection
                        .handle_closed(now, "peer closed the connection".to_owned()),
                    _ => slot.connection.replace(now),
                }
                self.drain_outputs(session, now);
                self.route(now, conn, seen, false, None);
            }
            Routed::Refused => self.turn_away(now, conn),
            // Bytes may have come while the step was away: the handshake's next step.
            _ if from_handshake => {
                self.hand_off(now, conn);
            }
            _ => {}
        }
    }

    /// Socket `conn`, with `link`, is session `session`'s: its connection reads the Logon.
    fn accepted(&mut self, now: Instant, conn: ConnId, session: usize, link: Link, seen: Stamp) {
        self.owners.insert(conn, Owner::Slot(session));
        let slot = &mut self.slots[session];
        slot.conn = Some(conn);
        slot.fd = self.backend.socket_fd(conn);
        slot.refresh_before_logon();
        slot.connection.handle_accepted(now, link);
        self.deliver(now, session, seen);
    }

    /// Slot `index`'s socket received bytes: its connection frames them and hands them on,
    /// pausing after [`READ_BATCH`] messages that left bytes to send, to be resumed by
    /// [`EventLoop::resume_paused`] once those are written.
    fn deliver(&mut self, now: Instant, index: usize, seen: Stamp) {
        self.deliver_batch(now, index, seen, READ_BATCH);
    }

    /// [`EventLoop::deliver`], pausing after `batch` messages.
    pub(super) fn deliver_batch(&mut self, now: Instant, index: usize, seen: Stamp, batch: usize) {
        let Self {
            backend,
            slots,
            scratch,
            app,
            stats,
            ..
        } = self;
        let slot = &mut slots[index];
        if let Some(mut lent) = lend(backend, slot.conn, scratch) {
            let session = &mut slot.latency;
            let mut to_app = ToApp {
                app,
                stats,
                session,
                seen,
            };
            let paused =
                slot.connection
                    .handle_received_in_batches(now, &mut lent, &mut to_app, batch);
            if paused && !self.paused.iter().any(|p| p.index == index) {
                self.paused.push(Paused { index, seen, batch });
            }
        }
        if slot.connection.backlog_len() > 0 && !self.backlogged.contains(&index) {
            self.backlogged.push(index);
        }
        // Touched: its outputs are carried out once it has written.
        self.touched.push(index);
    }

    /// Once a batch with accepts is handled and its Logons routed, parks the sockets
    /// waiting for their Logon beyond the budgets of the router, and notes their earliest
    /// deadline (which a budget under pressure may have brought forward) and the parked
    /// sockets'.
    pub(super) fn evict_pending(&mut self, now: Instant) {
        // Only an accept adds to the budgets or brings a deadline forward.
        if !std::mem::take(&mut self.accepted) {
            return;
        }
        let Self {
            router,
            owners,
            backend,
            parked,
            ..
        } = self;
        router.evict(now, super::parker(owners, backend, parked, now));
        self.report_router_events(now);
        self.note_deadline(self.router.poll_timeout());
        self.note_deadline(self.parked.deadline());
    }

    /// Closes socket `conn`, which the router refused before its Logon (its events are
    /// reported already), or, while a flood is on, parks it (see [`super::parked`]).
    fn turn_away(&mut self, now: Instant, conn: ConnId) {
        if !self.router.flood_on() {
            self.owners.remove(conn);
            self.backend.close(conn);
            return;
        }
        let Self {
            owners,
            backend,
            parked,
            ..
        } = self;
        super::park_and_close(owners, backend, parked, now, conn);
        self.note_deadline(self.parked.deadline());
    }

    /// A listener ran out of descriptors or memory and backs off: one `fix.connection.error`
    /// per [`FLOOD_REPORT_INTERVAL`] at most, which counts the back-offs not reported since.
    fn accept_paused(&mut self, now: Instant, listener: ListenerId, error: &std::io::Error) {
        let quiet = self
            .accept_backoffs
            .last_report
            .is_none_or(|last| now.saturating_duration_since(last) >= FLOOD_REPORT_INTERVAL);
        if !quiet {
            self.accept_backoffs.unreported += 1;
            return;
        }
        let unreported = std::mem::take(&mut self.accept_backoffs.unreported);
        self.accept_backoffs.last_report = Some(now);
        let addr = self.listeners.iter().find(|l| l.id == listener);
        let mut detail = format!(
            "accept failed: {error}; accepting again in {} ms",
            ACCEPT_BACKOFF.as_millis()
        );
        if unreported > 0 {
            detail.push_str(&format!(
                " ({unreported} more back-offs since the last report)"
            ));
        }
        let kind = EventKind::ConnectionError {
            remote_host: addr.map_or_else(String::new, |l| l.addr.to_string()),
            code: ErrorCode::ConnectionRefused,
            error_detail: detail,
        };
        tracing::warn!(%error, "accept ran out of descriptors or memory; backing off");
        self.report(now, kind);
    }

    /// Hands the router's events (refused sockets) to the application.
    pub(super) fn report_router_events(&mut self, now: Instant) {
        while let Some(kind) = self.router.poll_event(now) {
            self.report(now, kind);
        }
    }
}

/// The buffers of socket `conn`, and the loop's scratch buffer, lent for one call.
pub(super) fn lend<'a, B: Backend>(
    backend: &'a mut B,
    conn: Option<ConnId>,
    scratch: &'a mut [u8],
) -> Option<Lent<'a, ConnIo<'a>>> {
    let socket = backend.io(conn?)?;
    Some(Lent { socket, scratch })
}

//! The loop's sessions: connecting, writing, reporting and closing.

use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use fixring_core::tls::ClientConfig;

use fixring_core::codec::InsufficientSize;
use fixring_core::config::{ConnectionType, HostConfig, Role, SessionConfig, SocketOptions};
use fixring_core::connection::{Action, InitiatorSchedule, Lifecycle, SessionIndex};
use fixring_core::session::{CloseReason, SendError, Session};
use fixring_core::{ErrorCode, Event, Instant, WallClock};
use fixring_io::{Backend, ConnId};

use super::EventLoop;
use super::conns::Owner;
use super::tls::{Sealer, Writer};
use crate::EngineError;
use crate::application::Application;
use crate::file_store::FileStore;
use crate::handle::Outbound;

/// Messages a session holds for a full send buffer before it returns new ones as not sent.
const BACKLOG_LIMIT: usize = 65_536;

/// How a slot gets its connections.
enum Driver {
    Initiator(InitiatorSchedule),
    Acceptor {
        lifecycle: Lifecycle,
        /// The listener and router entry of the current connection.
        route: Option<(usize, SessionIndex)>,
    },
}

/// One configured session and its current connection.
pub(super) struct Slot {
    pub(super) session: Session,
    pub(super) conn: Option<ConnId>,
    pub(super) peer: Option<SocketAddr>,
    driver: Driver,
    hosts: Vec<HostConfig>,
    socket: SocketOptions,
    logout_timeout: std::time::Duration,
    /// Messages handed over that did not fit in the send buffer yet, in order.
    pub(super) backlog: VecDeque<(Outbound, std::time::Instant)>,
    /// An initiator's TLS client set-up and configured server name.
    tls: Option<(Arc<ClientConfig>, Option<String>)>,
    /// Whether the current connection runs TLS.
    pub(super) is_ssl: bool,
    /// The session's file store, with `FileStorePath`.
    pub(super) file: Option<FileStore>,
}

impl Slot {
    pub(super) fn new(config: &SessionConfig, wall: WallClock) -> Result<Self, EngineError> {
        let tls = match (&config.role, &config.tls) {
            (Role::Initiator(_), Some(tls)) => {
                let client =
                    fixring_core::tls::client_config(tls).map_err(|e| EngineError::Config {
                        detail: format!("{}: {e}", config.id),
                    })?;
                Some((client, tls.server_name.clone()))
            }
            _ => None,
        };
        let (driver, hosts) = match &config.role {
            Role::Initiator(initiator) => {
                let schedule =
                    InitiatorSchedule::new(initiator).map_err(|e| EngineError::Config {
                        detail: format!("{}: {e}", config.id),
                    })?;
                (Driver::Initiator(schedule), initiator.hosts.clone())
            }
            Role::Acceptor(_) => (
                Driver::Acceptor {
                    lifecycle: Lifecycle::new(ConnectionType::Acceptor),
                    route: None,
                },
                Vec::new(),
            ),
        };
        let mut session = Session::new(config, wall);
        let file = match &config.file_store_path {
            Some(dir) => Some(
                FileStore::open(dir, &mut session, config.message_store_size).map_err(
                    |source| EngineError::Store {
                        session: config.id.to_string(),
                        path: dir.clone(),
                        source,
                    },
                )?,
            ),
            None => None,
        };
        Ok(Self {
            session,
            conn: None,
            peer: None,
            driver,
            hosts,
            socket: config.socket,
            logout_timeout: config.logout_timeout,
            backlog: VecDeque::new(),
            tls,
            is_ssl: false,
            file,
        })
    }

    pub(super) fn connection_type(&self) -> ConnectionType {
        match self.driver {
            Driver::Initiator(_) => ConnectionType::Initiator,
            Driver::Acceptor { .. } => ConnectionType::Acceptor,
        }
    }

    pub(super) fn logout_timeout(&self) -> std::time::Duration {
        self.logout_timeout
    }

    /// Starts an initiator's schedule; an acceptor waits for its peer.
    pub(super) fn start(&mut self, now: Instant) {
        if let Driver::Initiator(schedule) = &mut self.driver {
            schedule.start(now);
        }
    }

    pub(super) fn schedule_timeout(&self) -> Option<Instant> {
        match &self.driver {
            Driver::Initiator(schedule) => schedule.poll_timeout(),
            Driver::Acceptor { .. } => None,
        }
    }

    /// Begins a stop: logs out a logged-on session; returns a connection still connecting,
    /// which the loop closes at once.
    pub(super) fn stop(&mut self, now: Instant) -> Option<ConnId> {
        let mut aborted = None;
        if let Driver::Initiator(schedule) = &mut self.driver {
            if schedule.state().is_pending() {
                aborted = self.conn.take();
            }
            // A stopped schedule refuses nothing we rely on; its state becomes `stopped`.
            let _ = schedule.stop();
        }
        if self.conn.is_some() {
            self.session.logout(now, "");
        }
        aborted
    }

    /// An accepted connection carries this slot's Logon: the session takes it at once.
    pub(super) fn take_connection(&mut self, now: Instant, conn: ConnId) {
        self.conn = Some(conn);
        self.session.connected(now);
    }

    /// Records where the accepted connection came from and which router entry it holds.
    fn attach_route(
        &mut self,
        now: Instant,
        peer: Option<SocketAddr>,
        route: (usize, SessionIndex),
    ) {
        self.peer = peer;
        if let Driver::Acceptor {
            lifecycle,
            route: current,
        } = &mut self.driver
        {
            let _ = lifecycle.connected(now);
            *current = Some(route);
        }
    }

    /// An initiator's connection completed: returns whether the schedule still wanted it.
    pub(super) fn connected(&mut self, now: Instant) -> bool {
        let Driver::Initiator(schedule) = &mut self.driver else {
            return false;
        };
        if schedule.handle_connected(now).is_err() {
            return false;
        }
        self.session.connected(now);
        true
    }

    /// An initiator's attempt failed: returns the host it was made to.
    pub(super) fn connect_failed(&mut self, now: Instant) -> Option<HostConfig> {
        let Driver::Initiator(schedule) = &mut self.driver else {
            return None;
        };
        let host = schedule
            .current_host()
            .and_then(|i| self.hosts.get(i))
            .cloned();
        let _ = schedule.handle_connect_failed(now, ErrorCode::ConnectionRefused);
        host
    }

    /// An initiator's TLS set-up and the name to verify: the configured `SocketServerName`,
    /// or the host of the current attempt (after a failover too).
    pub(super) fn tls_client(&self) -> Option<(Arc<ClientConfig>, String)> {
        let (config, name) = self.tls.as_ref()?;
        let Driver::Initiator(schedule) = &self.driver else {
            return None;
        };
        let host = schedule.current_host().and_then(|i| self.hosts.get(i));
        let name = name.clone().or_else(|| host.map(|h| h.host.clone()))?;
        Some((Arc::clone(config), name))
    }

    /// An initiator's TLS handshake failed: the attempt failed, to be retried.
    pub(super) fn handshake_failed(&mut self, now: Instant) {
        if let Driver::Initiator(schedule) = &mut self.driver {
            let _ = schedule.handle_connect_failed(now, ErrorCode::SslHandshakeFailed);
        }
    }

    /// Whether the connection is up (TCP connected), logged on or not.
    pub(super) fn is_connected(&self) -> bool {
        match &self.driver {
            Driver::Initiator(schedule) => schedule.state().is_connected(),
            Driver::Acceptor { lifecycle, .. } => lifecycle.state().is_connected(),
        }
    }

    /// The connection is gone: updates the lifecycle; returns the router entry to release.
    fn detach(&mut self, now: Instant, code: ErrorCode) -> Option<(usize, SessionIndex)> {
        self.conn = None;
        self.session.disconnected(now);
        match &mut self.driver {
            Driver::Initiator(schedule) => {
                let _ = schedule.handle_lost(now, code);
                None
            }
            Driver::Acceptor { lifecycle, route } => {
                let _ = lifecycle.disconnected(now, code);
                route.take()
            }
        }
    }
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Carries out what an initiator's schedule asks for: connect, or abandon an attempt.
    pub(super) fn start_connects(&mut self, index: usize, now: Instant) {
        loop {
            let slot = &mut self.slots[index];
            let Driver::Initiator(schedule) = &mut slot.driver else {
                return;
            };
            let action = match schedule.poll_action(now) {
                Some(Action::Connect { host_index, .. }) => Some(host_index),
                Some(Action::AbortConnect { host_index }) => {
                    if let Some(conn) = slot.conn.take() {
                        self.conns.remove(conn);
                        self.backend.close(conn);
                    }
                    let host = slot.hosts.get(host_index).cloned();
                    self.report_failed(index, host, "timed out".to_owned());
                    None
                }
                Some(_) | None => break,
            };
            if let Some(host_index) = action {
                self.connect(index, host_index, now);
            }
        }
        let deadline = self.slots[index].schedule_timeout();
        self.note_deadline(deadline);
    }

    fn connect(&mut self, index: usize, host_index: usize, now: Instant) {
        let slot = &mut self.slots[index];
        let Some(host) = slot.hosts.get(host_index).cloned() else {
            return;
        };
        let Driver::Initiator(schedule) = &mut slot.driver else {
            return;
        };
        let timeout = schedule
            .timer(fixring_core::connection::Timer::ConnectTimeout)
            .map(|deadline| deadline.saturating_duration_since(now))
            .unwrap_or_default();
        let started = resolve(&host.host, host.port).and_then(|addr| {
            let source = source_addr(&host)?;
            let conn = self.backend.connect(addr, source, &slot.socket, timeout)?;
            Ok((conn, addr))
        });
        match started {
            Ok((conn, addr)) => {
                slot.conn = Some(conn);
                slot.peer = Some(addr);
                self.conns.insert(conn, Owner::Slot(index), Some(addr));
            }
            Err(error) => {
                let _ = schedule.handle_connect_failed(now, ErrorCode::ConnectionRefused);
                self.report_failed(index, Some(host), error.to_string());
            }
        }
    }

    /// Reports `fix.connection.failed` for an attempt of slot `index`.
    pub(super) fn report_failed(&mut self, index: usize, host: Option<HostConfig>, detail: String) {
        let slot = &self.slots[index];
        let (remote_host, remote_port) = host.map(|h| (h.host, h.port)).unwrap_or_default();
        self.app.on_event(&Event::ConnectionFailed {
            session_id: slot.session.id().clone(),
            remote_host,
            remote_port,
            code: ErrorCode::ConnectionRefused,
            error_detail: detail,
        });
    }

    /// Maps an accepted connection to slot `index` on its Logon.
    pub(super) fn attach(
        &mut self,
        index: usize,
        now: Instant,
        conn: ConnId,
        route: (usize, SessionIndex),
    ) {
        let peer = self.conns.peer(conn);
        self.conns.set_owner(conn, Owner::Slot(index));
        self.slots[index].is_ssl = self.conns.is_tls(conn);
        self.slots[index].attach_route(now, peer, route);
    }

    /// Lets every slot touched this turn write, report its events, and close if it must.
    pub(super) fn write_touched(&mut self, now: Instant) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for &index in &touched {
            self.write_slot(index, now);
        }
        touched.clear();
        self.touched = touched;
    }

    fn write_slot(&mut self, index: usize, now: Instant) {
        self.write_pending(now, index);
        self.report_session_events(index);
        if let Some(reason) = self.slots[index].session.poll_close().cloned() {
            self.close_slot(index, now, &reason);
        }
        let deadline = self.slots[index].session.poll_timeout();
        self.note_deadline(deadline);
    }

    /// Closes slot `index`'s connection because its session asked to.
    fn close_slot(&mut self, index: usize, now: Instant, reason: &CloseReason) {
        let Some(conn) = self.slots[index].conn else {
            return;
        };
        self.with_writer(index, |_, writer| writer.close_notify());
        self.conns.remove(conn);
        self.backend.close(conn);
        let graceful = matches!(
            reason,
            CloseReason::LogoutComplete | CloseReason::PeerLogout { .. } | CloseReason::LocalStop
        );
        if !graceful {
            self.report_lost(index, reason.to_string());
        }
        self.detach(index, now, ErrorCode::ConnectionLost);
    }

    /// Slot `index`'s peer logged on again on a new connection while the old one was silent
    /// (a half-open link the peer noticed first): the old connection is closed to make way.
    pub(super) fn replace_silent(&mut self, index: usize, now: Instant) {
        let Some(conn) = self.slots[index].conn else {
            return;
        };
        self.conns.remove(conn);
        self.backend.close(conn);
        let silent = self.slots[index].session.silent_for(now);
        let detail = format!(
            "replaced by a new connection of the same session after {:.1} s of silence",
            silent.as_secs_f64()
        );
        self.connection_lost(index, now, detail);
    }

    /// The connection of slot `index` went down under it.
    pub(super) fn connection_lost(&mut self, index: usize, now: Instant, detail: String) {
        self.report_lost(index, detail);
        self.detach(index, now, ErrorCode::ConnectionLost);
    }

    /// Reports the end of slot `index`'s connection: `fix.connection.lost` once it had logged
    /// on; before that the attempt failed (an initiator's `fix.connection.failed`, an
    /// acceptor's `fix.connection.error`).
    fn report_lost(&mut self, index: usize, detail: String) {
        let slot = &self.slots[index];
        if !slot.session.completed_logon() {
            match &slot.driver {
                Driver::Initiator(schedule) => {
                    let host = schedule
                        .current_host()
                        .and_then(|i| slot.hosts.get(i))
                        .cloned();
                    self.report_failed(index, host, detail);
                }
                Driver::Acceptor { .. } => self.app.on_event(&Event::ConnectionError {
                    remote_host: slot.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                    code: ErrorCode::ConnectionRefused,
                    error_detail: detail,
                }),
            }
            return;
        }
        self.app.on_event(&Event::ConnectionLost {
            session_id: slot.session.id().clone(),
            remote_host: slot.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            code: ErrorCode::ConnectionLost,
            error_detail: detail,
        });
    }

    fn detach(&mut self, index: usize, now: Instant, code: ErrorCode) {
        self.return_backlog(index);
        if let Some((listener, entry)) = self.slots[index].detach(now, code)
            && let Some(listener) = self.listeners.get_mut(listener)
        {
            listener.router.release(entry);
        }
        self.report_session_events(index);
        self.start_connects(index, now);
    }

    /// Writes what changed in the sessions with a file store, before the turn's bytes go to
    /// the kernel.
    pub(super) fn persist(&mut self) {
        for &index in &self.stored {
            let slot = &mut self.slots[index];
            let Some(file) = slot.file.as_mut() else {
                continue;
            };
            if let Some(error) = file.persist(&slot.session) {
                tracing::error!(session = %slot.session.id(), %error, "file store write failed");
                let event = Event::StoreError {
                    session_id: slot.session.id().clone(),
                    detail: error.to_string(),
                };
                self.app.on_event(&event);
            }
        }
    }

    /// Hands the session's events to the application, adding `fix.connection.established`
    /// when a Logon completes.
    pub(super) fn report_session_events(&mut self, index: usize) {
        while let Some(event) = self.slots[index].session.poll_event() {
            let slot = &self.slots[index];
            match &event {
                Event::Logon { session_id } => {
                    self.app.on_logon(session_id);
                    let peer = slot.peer;
                    self.app.on_event(&Event::ConnectionEstablished {
                        session_id: session_id.clone(),
                        remote_host: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                        remote_port: peer.map(|p| p.port()).unwrap_or_default(),
                        is_ssl: slot.is_ssl,
                    });
                }
                Event::Logout { session_id, .. } => self.app.on_logout(session_id),
                _ => {}
            }
            self.app.on_event(&event);
        }
    }

    /// Sends a message a [`crate::SessionHandle`] queued: at once if it fits, after the
    /// messages already waiting otherwise; a session that is not logged on returns it.
    pub(super) fn send_queued(
        &mut self,
        now: Instant,
        index: usize,
        msg: Outbound,
        handed_over: std::time::Instant,
    ) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        if !slot.session.state().is_active() {
            let id = slot.session.id().clone();
            self.app.on_not_sent(&id, msg, SendError::NotLoggedOn);
            return;
        }
        if slot.backlog.len() >= BACKLOG_LIMIT {
            let id = slot.session.id().clone();
            self.app.on_not_sent(
                &id,
                msg,
                SendError::InsufficientSize(InsufficientSize { required: 0 }),
            );
            return;
        }
        slot.backlog.push_back((msg, handed_over));
        self.write_pending(now, index);
    }

    /// Writes what slot `index` has to send while it fits: first the session's own messages
    /// (Logon, Heartbeats, a resend), then the application's waiting messages; asks to hear
    /// when room frees up otherwise.
    pub(super) fn write_pending(&mut self, now: Instant, index: usize) {
        let mut committed = std::mem::take(&mut self.stats_scratch);
        let written = self.with_writer(index, |slot, writer| {
            let mut refused = Vec::new();
            let session = &mut slot.session;
            loop {
                match writer
                    .write(|buf| session.poll_transmit(now, buf).map(|len| len.unwrap_or(0)))
                {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(_) => {
                        // A resend fills the buffer: the rest, and the application's
                        // messages after it, wait for room.
                        writer.notify_when_writable();
                        return (refused, true);
                    }
                }
            }
            while let Some((msg, handed_over)) = slot.backlog.front() {
                let session = &mut slot.session;
                match writer.write(|buf| session.send(now, &msg.msg_type, &msg.body, buf)) {
                    Ok(_) => {
                        committed.push(*handed_over);
                        slot.backlog.pop_front();
                    }
                    Err(SendError::InsufficientSize(_)) if writer.queued() > 0 => {
                        writer.notify_when_writable();
                        break;
                    }
                    Err(reason) => {
                        // Not logged on, or larger than the whole send buffer: it can
                        // never go.
                        if let Some((msg, _)) = slot.backlog.pop_front() {
                            refused.push((msg, reason));
                        }
                    }
                }
            }
            (refused, false)
        });
        let (refused, waiting) = written.unwrap_or_default();
        for handed_over in committed.drain(..) {
            self.stats.committed(handed_over);
        }
        self.stats_scratch = committed;
        let slot = &self.slots[index];
        if (waiting || !slot.backlog.is_empty()) && !self.backlogged.contains(&index) {
            self.backlogged.push(index);
        }
        if !refused.is_empty() {
            let id = slot.session.id().clone();
            for (msg, reason) in refused {
                self.app.on_not_sent(&id, msg, reason);
            }
        }
    }

    /// Runs `f` with slot `index` and a writer to its connection (sealing with TLS when the
    /// connection has it); `None` when the slot has no connection.
    fn with_writer<R>(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Slot, &mut Writer<'_, '_>) -> R,
    ) -> Option<R> {
        let Self {
            backend,
            conns,
            scratch,
            slots,
            ..
        } = self;
        let slot = slots.get_mut(index)?;
        let conn = slot.conn?;
        let mut io = backend.io(conn)?;
        let (rx, tx) = io.split();
        let tls = conns
            .tls_mut(conn)
            .filter(|link| link.established)
            .map(|link| Sealer {
                conn: &mut link.conn,
                incoming: rx,
                scratch: &mut scratch[..],
            });
        let mut writer = Writer { tx, tls };
        Some(f(slot, &mut writer))
    }

    /// Returns every waiting message of slot `index` to the application: its connection is
    /// gone.
    fn return_backlog(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        let id = slot.session.id().clone();
        for (msg, _) in std::mem::take(&mut slot.backlog) {
            self.app.on_not_sent(&id, msg, SendError::NotLoggedOn);
        }
    }
}

/// The first address `host:port` resolves to.
fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        )
    })
}

/// The source address to bind before connecting, if one is configured.
fn source_addr(host: &HostConfig) -> std::io::Result<Option<SocketAddr>> {
    match (&host.source_host, host.source_port) {
        (None, None) => Ok(None),
        (Some(source), port) => resolve(source, port.unwrap_or(0)).map(Some),
        (None, Some(port)) => Ok(Some(SocketAddr::from(([0, 0, 0, 0], port)))),
    }
}

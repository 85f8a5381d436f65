//! The loop's sessions: each one's connection and socket, and carrying out what the
//! connection asks for.

use fixring_core::config::{ConnectionType, HostConfig, SessionConfig, SocketOptions};
use fixring_core::connection::{Connection, Output};
use fixring_core::{Event, EventKind, Instant, WallClock};
use fixring_io::{Backend, ConnId};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::EventLoop;
use super::completions::lend;
use super::conns::Owner;
use super::resolve::Addresses;
use crate::EngineError;
use crate::application::Application;
use crate::file_store::FileStore;
use crate::handle::{Handed, Outbound};
use crate::stamp::Stamp;
use crate::status::LatencySketch;

/// One configured session: its connection and, while it has one, its socket.
pub(super) struct Slot {
    pub(super) connection: Connection<Handed>,
    /// The backend's socket, while the connection has one.
    pub(super) conn: Option<ConnId>,
    /// The descriptor of an acceptor's socket while `conn` is set, to see while routing a
    /// new Logon whether its peer has closed it already.
    pub(super) fd: Option<RawFd>,
    socket: SocketOptions,
    /// The session's file store, with `FileStorePath`.
    pub(super) file: Option<FileStore>,
    /// RefreshOnLogon: the session is read again from its file store before each Logon.
    refresh_on_logon: bool,
    /// Connection attempts asked for so far; numbers a lookup's answer.
    attempts: u64,
    /// Whether `on_logon` was called and `on_logout` not yet.
    logged_on: bool,
    /// Receive → application callback of this session's application messages, for the
    /// status server.
    pub(super) latency: LatencySketch,
    /// The attempt whose host name is being looked up, and when it times out.
    lookup: Option<(u64, Instant)>,
    /// The session's store epoch when its log last looked: a change moves the logs to
    /// `FileLogBackupPath`.
    pub(super) log_epoch: u64,
}

impl Slot {
    pub(super) fn new(
        config: &SessionConfig,
        wall: WallClock,
        buffer_size: usize,
    ) -> Result<Self, EngineError> {
        let mut connection =
            Connection::new(config, wall, buffer_size).map_err(|source| EngineError::Session {
                session: config.id.to_string(),
                source,
            })?;
        let file = match &config.file_store_path {
            Some(dir) => Some(
                FileStore::open(dir, connection.session_mut(), config.message_store_size).map_err(
                    |source| EngineError::Store {
                        session: config.id.to_string(),
                        path: dir.clone(),
                        source,
                    },
                )?,
            ),
            None => None,
        };
        if config.log.is_enabled() {
            connection.capture_messages();
        }
        let log_epoch = connection.session().store_epoch();
        Ok(Self {
            connection,
            conn: None,
            socket: config.socket,
            file,
            refresh_on_logon: config.rules.refresh_on_logon,
            fd: None,
            attempts: 0,
            logged_on: false,
            latency: LatencySketch::default(),
            lookup: None,
            log_epoch,
        })
    }
}

impl Slot {
    /// With `RefreshOnLogon` and a file store, reads the session again from the store: a
    /// connection is up and its Logon comes next. A store that cannot be read leaves the
    /// session as it is.
    pub(super) fn refresh_before_logon(&mut self) {
        let (true, Some(file)) = (self.refresh_on_logon, self.file.as_mut()) else {
            return;
        };
        if let Err(error) = file.refresh(self.connection.session_mut()) {
            let id = self.connection.id();
            tracing::warn!(session = %id, %error, "RefreshOnLogon: the file store could not be read");
        }
    }
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    /// Carries out everything slot `index`'s connection asks for, in order: events to report,
    /// messages to give back, its socket to close, a new one to open.
    pub(super) fn drain_outputs(&mut self, index: usize, now: Instant) {
        self.log_captured(index, now);
        while let Some(output) = self.slots[index].connection.poll_output(now) {
            match output {
                Output::Event(kind) => self.report_session(index, now, kind),
                Output::NotSent(handed, reason) => {
                    let id = self.slots[index].connection.id();
                    self.app.on_not_sent(id, handed.msg, reason);
                }
                Output::Close => self.close_socket(index),
                Output::Connect { host, timeout } => self.connect(index, &host, timeout, now),
                Output::Refused(error) => {
                    let id = self.slots[index].connection.id();
                    tracing::warn!(session = %id, %error, "connection state transition refused");
                }
                _ => {}
            }
        }
        let deadline = self.slots[index].connection.poll_timeout();
        self.note_deadline(deadline);
    }

    /// Hands an event of slot `index`'s connection to the application. Its
    /// `fix.connection.established` also calls `on_logon`; the first `fix.session.logout` or
    /// `fix.connection.lost` after it, `on_logout`.
    fn report_session(&mut self, index: usize, now: Instant, kind: EventKind) {
        let slot = &mut self.slots[index];
        match &kind {
            EventKind::ConnectionEstablished { session_id, .. } => {
                slot.logged_on = true;
                self.app.on_logon(session_id);
            }
            EventKind::Logout { session_id, .. } | EventKind::ConnectionLost { session_id, .. }
                if std::mem::take(&mut slot.logged_on) =>
            {
                self.app.on_logout(session_id);
            }
            _ => {}
        }
        self.report(now, kind);
    }

    /// Hands an event to the application, stamped with the loop's wall-clock time at `now`.
    pub(super) fn report(&mut self, now: Instant, kind: EventKind) {
        self.log_event(now, &kind);
        self.count_event(&kind);
        let event = Event::new(self.clock.wall().utc_at(now), kind);
        self.app.on_event(&event);
    }

    /// Closes slot `index`'s socket, if it is still open; an acceptor's session is free
    /// again for its peer's next Logon.
    fn close_socket(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if let Some(conn) = slot.conn.take() {
            self.owners.remove(conn);
            self.backend.close(conn);
        }
        self.backlogged.retain(|&i| i != index);
        if slot.connection.connection_type() == ConnectionType::Acceptor {
            self.router.release(index);
        }
    }

    /// Opens a socket to `host` for slot `index`: at once for an IP address, once the
    /// resolver has answered for a name.
    fn connect(&mut self, index: usize, host: &HostConfig, timeout: Duration, now: Instant) {
        let slot = &mut self.slots[index];
        slot.attempts += 1;
        slot.lookup = None;
        match self.resolver.resolve(index, slot.attempts, host) {
            Some(addresses) => self.open(index, addresses, timeout, now),
            None => slot.lookup = Some((slot.attempts, now + timeout)),
        }
    }

    /// Opens slot `index`'s socket to the addresses of its attempt, or reports why not.
    fn open(
        &mut self,
        index: usize,
        addresses: io::Result<Addresses>,
        timeout: Duration,
        now: Instant,
    ) {
        let slot = &mut self.slots[index];
        let started = addresses.and_then(|(addr, source)| {
            let conn = self.backend.connect(addr, source, &slot.socket, timeout)?;
            Ok((conn, addr))
        });
        match started {
            Ok((conn, addr)) => {
                slot.conn = Some(conn);
                self.owners.insert(conn, Owner::Slot(index));
                slot.connection.handle_connecting(addr);
            }
            Err(error) => slot
                .connection
                .handle_connect_failed(now, error.to_string()),
        }
    }

    /// Opens the sockets whose host names the resolver has answered for, if their attempts
    /// still wait for them.
    pub(super) fn drain_resolved(&mut self, now: Instant) {
        while let Some(answer) = self.resolver.poll() {
            let Some(slot) = self.slots.get_mut(answer.slot) else {
                continue;
            };
            let Some((attempt, deadline)) = slot.lookup else {
                continue;
            };
            if attempt != answer.attempt {
                continue;
            }
            slot.lookup = None;
            if slot.connection.is_connecting() {
                let timeout = deadline.saturating_duration_since(now);
                self.open(answer.slot, answer.result, timeout, now);
                self.drain_outputs(answer.slot, now);
            }
        }
    }

    /// Lets every slot touched this turn write, and carries out what its connection asks.
    pub(super) fn write_touched(&mut self, now: Instant) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for &index in &touched {
            self.write_pending(now, index);
        }
        touched.clear();
        self.touched = touched;
    }

    /// Writes what slot `index` has to send while it fits (the session's own messages, then
    /// the application's waiting ones), then carries out what its connection asks.
    pub(super) fn write_pending(&mut self, now: Instant, index: usize) {
        let Self {
            backend,
            slots,
            scratch,
            stats,
            stats_scratch,
            backlogged,
            written,
            ..
        } = self;
        let slot = &mut slots[index];
        written.push(index);
        if let Some(mut lent) = lend(backend, slot.conn, scratch) {
            let waiting = slot
                .connection
                .poll_transmit(now, &mut lent, &mut |handed: Handed| {
                    stats_scratch.push(handed.handed_over)
                });
            if waiting && !backlogged.contains(&index) {
                backlogged.push(index);
            }
            for handed_over in stats_scratch.drain(..) {
                stats.committed(handed_over);
            }
        }
        self.drain_outputs(index, now);
    }

    /// Sends a message a [`crate::SessionHandle`] queued, after the messages already
    /// waiting; one the session cannot take goes back to the application.
    pub(super) fn send_queued(
        &mut self,
        now: Instant,
        index: usize,
        msg: Outbound,
        handed_over: Stamp,
    ) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        match slot.connection.send(Handed { msg, handed_over }) {
            Ok(()) => self.write_pending(now, index),
            Err((handed, reason)) => {
                let id = slot.connection.id();
                self.app.on_not_sent(id, handed.msg, reason);
            }
        }
    }

    /// Writes what changed in the sessions with a file store, before the turn's bytes go to
    /// the kernel.
    pub(super) fn persist(&mut self, now: Instant) {
        for at in 0..self.stored.len() {
            let slot = &mut self.slots[self.stored[at]];
            let Some(file) = slot.file.as_mut() else {
                continue;
            };
            let session = slot.connection.session();
            if let Some(error) = file.persist(session) {
                tracing::error!(session = %session.id(), %error, "file store write failed");
                let event = EventKind::StoreError {
                    session_id: session.id().clone(),
                    detail: error.to_string(),
                };
                self.report(now, event);
            }
        }
    }
}

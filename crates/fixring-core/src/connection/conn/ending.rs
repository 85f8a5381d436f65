//! How a connection's sockets end: closed by the session, lost, failed, replaced, stopped;
//! and the initiator's schedule of attempts.

use super::{Connection, Outgoing, Output, Side};
use crate::config::HostConfig;
use crate::connection::initiator::Action;
use crate::connection::io::{Lent, SocketBuffers};
use crate::connection::link::Link;
use crate::session::{CloseReason, SendError};
use crate::tls::TlsError;
use crate::{ErrorCode, EventKind, Instant};

impl<M: Outgoing> Connection<M> {
    /// The socket closed under the connection (`detail` says how). A logged-on or connected
    /// session has lost its connection; before that, an initiator's attempt failed.
    pub fn handle_closed(&mut self, now: Instant, detail: String) {
        let link = self.link.take();
        self.output.push_back(Output::Close);
        if self.session.state().is_logged_on() || self.is_connected() {
            self.report_lost(link.as_ref(), detail);
            self.detach(now);
        } else {
            let host = self.current_host();
            self.attempt_failed(now, ErrorCode::ConnectionRefused);
            self.report_failed(host, detail);
        }
    }

    /// An initiator's socket could not be opened, or did not connect (`detail` says why);
    /// there is no socket left to close.
    pub fn handle_connect_failed(&mut self, now: Instant, detail: String) {
        self.link = None;
        let host = self.current_host();
        self.attempt_failed(now, ErrorCode::ConnectionRefused);
        self.report_failed(host, detail);
    }

    /// An acceptor's peer logged on again on a new socket while this one was silent (a
    /// half-open link the peer noticed first): this socket gives way.
    pub fn replace(&mut self, now: Instant) {
        let Some(link) = self.link.take() else {
            return;
        };
        self.output.push_back(Output::Close);
        let silent = self.session.silent_for(now);
        let detail = format!(
            "replaced by a new connection of the same session after {:.1} s of silence",
            silent.as_secs_f64()
        );
        self.report_lost(Some(&link), detail);
        self.detach(now);
    }

    /// Begins a stop: an initiator's schedule stops (an attempt under way is closed at
    /// once), and a logged-on session logs out.
    pub fn stop(&mut self, now: Instant) {
        if let Side::Initiator { schedule, .. } = &mut self.side {
            let result = schedule.stop();
            // Stopping aborts an attempt under way: its socket closes without a report.
            let mut aborted = false;
            while let Some(action) = schedule.poll_action(now) {
                aborted |= matches!(action, Action::AbortConnect { .. });
            }
            self.refused(result);
            if aborted {
                self.abandon();
            }
        }
        if self.link.is_some() {
            self.session.logout(now, "");
        }
        self.collect_session_events();
    }

    /// The engine ends: a socket still open is closed as it is, and what waits for it given
    /// back.
    pub fn finish(&mut self, now: Instant) {
        if self.link.take().is_some() {
            self.output.push_back(Output::Close);
            self.return_backlog();
            self.session.disconnected(now);
            self.collect_session_events();
        }
    }

    /// The socket must close and nothing more will be reported for it: the attempt was
    /// given up.
    pub(super) fn abandon(&mut self) {
        if self.link.take().is_some() {
            self.output.push_back(Output::Close);
        }
    }

    /// Closes the socket because the session asked to, after a TLS close_notify.
    pub(super) fn close<B: SocketBuffers>(
        &mut self,
        now: Instant,
        lent: &mut Lent<'_, B>,
        reason: &CloseReason,
    ) {
        let Some(mut link) = self.link.take() else {
            return;
        };
        link.write(&mut lent.socket, lent.scratch, |writer| {
            writer.close_notify()
        });
        self.output.push_back(Output::Close);
        let graceful = matches!(
            reason,
            CloseReason::LogoutComplete | CloseReason::PeerLogout { .. } | CloseReason::LocalStop
        );
        if !graceful {
            self.report_lost(Some(&link), reason.to_string());
        }
        self.detach(now);
    }

    /// A TLS failure: the alert is in the send buffer and the socket closes. During the
    /// handshake it is `SSL_HANDSHAKE_FAILED`, and an initiator tries again later; after it,
    /// the session's connection is lost.
    pub(super) fn tls_failed(&mut self, now: Instant, error: TlsError) {
        let link = self.link.take();
        self.output.push_back(Output::Close);
        if self.session.state().is_logged_on() || self.is_connected() {
            self.report_lost(link.as_ref(), format!("TLS: {error}"));
            self.detach(now);
        } else {
            self.attempt_failed(now, ErrorCode::SslHandshakeFailed);
            self.output
                .push_back(Output::Event(EventKind::ConnectionError {
                    remote_host: link.as_ref().map(Link::remote_host).unwrap_or_default(),
                    code: ErrorCode::SslHandshakeFailed,
                    error_detail: error.to_string(),
                }));
        }
    }

    /// What an initiator's schedule asks for at `now`: a connect, or giving up an attempt
    /// that ran out of time.
    pub(super) fn poll_schedule(&mut self, now: Instant) {
        let Side::Initiator {
            schedule, hosts, ..
        } = &mut self.side
        else {
            return;
        };
        if !schedule.is_due(now) {
            return;
        }
        match schedule.poll_action(now) {
            Some(Action::Connect {
                host, timeout_at, ..
            }) => self.output.push_back(Output::Connect {
                host: host.clone(),
                timeout: timeout_at.saturating_duration_since(now),
            }),
            Some(Action::AbortConnect { host_index }) => {
                let host = hosts.get(host_index).cloned();
                self.abandon();
                self.report_failed(host, "timed out".to_owned());
            }
            None => {}
        }
    }

    /// The socket is gone: what waits is given back, the session ends its connection and
    /// the lifecycle moves to `disconnected`.
    fn detach(&mut self, now: Instant) {
        self.return_backlog();
        self.session.disconnected(now);
        let result = match &mut self.side {
            // A socket that closes during the engine's stop leaves the schedule `stopped`.
            Side::Initiator { schedule, .. } if schedule.state().is_stopped() => Ok(()),
            Side::Initiator { schedule, .. } => {
                schedule.handle_lost(now, ErrorCode::ConnectionLost)
            }
            Side::Acceptor { lifecycle } => lifecycle.disconnected(now, ErrorCode::ConnectionLost),
        };
        self.refused(result);
        self.collect_session_events();
    }

    /// Gives every waiting message back: its connection is gone.
    fn return_backlog(&mut self) {
        for msg in self.backlog.drain(..) {
            self.output
                .push_back(Output::NotSent(msg, SendError::NotLoggedOn));
        }
    }

    /// An initiator's attempt failed with `code`.
    fn attempt_failed(&mut self, now: Instant, code: ErrorCode) {
        if let Side::Initiator { schedule, .. } = &mut self.side
            && !schedule.state().is_stopped()
        {
            let result = schedule.handle_connect_failed(now, code);
            self.refused(result);
        }
    }

    /// The host of an initiator's current or last attempt.
    fn current_host(&self) -> Option<HostConfig> {
        match &self.side {
            Side::Initiator {
                schedule, hosts, ..
            } => schedule.current_host().and_then(|i| hosts.get(i)).cloned(),
            Side::Acceptor { .. } => None,
        }
    }

    /// Reports the end of the socket of `link`: `fix.connection.lost` once the session
    /// logged on; before that the attempt failed (an initiator's `fix.connection.failed`, an
    /// acceptor's `fix.connection.error`).
    fn report_lost(&mut self, link: Option<&Link>, detail: String) {
        let remote_host = link.map(Link::remote_host).unwrap_or_default();
        let event = if self.session.completed_logon() {
            EventKind::ConnectionLost {
                session_id: self.session.id().clone(),
                remote_host,
                code: ErrorCode::ConnectionLost,
                error_detail: detail,
            }
        } else {
            match &self.side {
                Side::Initiator { .. } => {
                    let host = self.current_host();
                    return self.report_failed(host, detail);
                }
                Side::Acceptor { .. } => EventKind::ConnectionError {
                    remote_host,
                    code: ErrorCode::ConnectionRefused,
                    error_detail: detail,
                },
            }
        };
        self.output.push_back(Output::Event(event));
    }

    /// Reports `fix.connection.failed` for an attempt to `host`.
    fn report_failed(&mut self, host: Option<HostConfig>, detail: String) {
        let (remote_host, remote_port) = host.map(|h| (h.host, h.port)).unwrap_or_default();
        self.output
            .push_back(Output::Event(EventKind::ConnectionFailed {
                session_id: self.session.id().clone(),
                remote_host,
                remote_port,
                code: ErrorCode::ConnectionRefused,
                error_detail: detail,
            }));
    }
}

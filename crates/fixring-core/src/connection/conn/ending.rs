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
    /// The socket closed under the connection (`detail` says how). A connected session's
    /// connection has ended; before that, an initiator's attempt failed.
    pub fn handle_closed(&mut self, now: Instant, detail: String) {
        let link = self.link.take();
        self.output.push_back(Output::Close);
        if self.session.state().is_logged_on() || self.is_connected() {
            self.end(now, link.as_ref(), detail, Answered::Yes);
        } else {
            self.attempt_failed(now, ErrorCode::ConnectionRefused, detail);
        }
    }

    /// An initiator's socket could not be opened, or did not connect (`detail` says why);
    /// there is no socket left to close.
    pub fn handle_connect_failed(&mut self, now: Instant, detail: String) {
        self.link = None;
        self.attempt_failed(now, ErrorCode::ConnectionRefused, detail);
    }

    /// An initiator's socket did not connect within `SocketConnectTimeout`; there is no
    /// socket left to close. The same failure, with the same detail, as when the schedule's
    /// own timer gives the attempt up first.
    pub fn handle_connect_timed_out(&mut self, now: Instant) {
        self.link = None;
        let detail = self.connect_timed_out();
        self.attempt_failed(now, ErrorCode::ConnectionRefused, detail);
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
        self.end(now, Some(&link), detail, Answered::No);
    }

    /// Begins a stop: an initiator's schedule stops (an attempt under way is closed at
    /// once), and a logged-on session logs out. The connection's end that follows is the
    /// stop's: it reports no `fix.connection.lost`.
    pub fn stop(&mut self, now: Instant) {
        self.stopping = true;
        if let Side::Initiator { schedule, .. } = &mut self.side
            && !schedule.state().is_stopped()
        {
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

    /// An acceptor's socket is refused after its Logon was routed here (`detail` says why):
    /// it closes unanswered, reported as `fix.connection.error`.
    pub(super) fn refuse(&mut self, now: Instant, detail: String) {
        let link = self.link.take();
        self.output.push_back(Output::Close);
        self.end(now, link.as_ref(), detail, Answered::Yes);
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
        // A peer that went silent, or never answered the Logon or our Logout, is a host to
        // fail over from.
        let answered = match reason {
            CloseReason::PeerSilent { .. }
            | CloseReason::LogonTimeout
            | CloseReason::LogoutTimeout => Answered::No,
            _ => Answered::Yes,
        };
        self.end(now, Some(&link), reason.to_string(), answered);
    }

    /// A TLS failure: the alert is in the send buffer and the socket closes. During the
    /// handshake it is `SSL_HANDSHAKE_FAILED`, and an initiator tries again later; after it,
    /// the session's connection has ended.
    pub(super) fn tls_failed(&mut self, now: Instant, error: TlsError) {
        let link = self.link.take();
        self.output.push_back(Output::Close);
        if self.session.state().is_logged_on() || self.is_connected() {
            self.end(now, link.as_ref(), format!("TLS: {error}"), Answered::Yes);
        } else {
            if let Side::Initiator { schedule, .. } = &mut self.side
                && !schedule.state().is_stopped()
            {
                let result = schedule.handle_connect_failed(now, ErrorCode::SslHandshakeFailed);
                self.refused(result);
            }
            self.output
                .push_back(Output::Event(EventKind::ConnectionError {
                    remote_host: link.as_ref().map(Link::remote_host).unwrap_or_default(),
                    code: ErrorCode::SslHandshakeFailed,
                    error_detail: error.to_string(),
                }));
        }
    }

    /// What an initiator's schedule asks for at `now`: a connect (reported as an attempt),
    /// or giving up an attempt that ran out of time.
    pub(super) fn poll_schedule(&mut self, now: Instant) {
        let Side::Initiator { schedule, .. } = &mut self.side else {
            return;
        };
        if !schedule.is_due(now) {
            return;
        }
        match schedule.poll_action(now) {
            Some(Action::Connect {
                host, timeout_at, ..
            }) => {
                let host = host.clone();
                let timeout = timeout_at.saturating_duration_since(now);
                let attempt = schedule.counters().attempts;
                self.output
                    .push_back(Output::Event(EventKind::ConnectionAttempt {
                        session_id: self.session.id().clone(),
                        remote_host: host.host.clone(),
                        remote_port: host.port,
                        attempt,
                    }));
                self.output.push_back(Output::Connect { host, timeout });
            }
            Some(Action::AbortConnect { host_index }) => {
                let host = self.host(host_index);
                self.abandon();
                let detail = self.connect_timed_out();
                self.report_failed(host, detail);
            }
            None => {}
        }
    }

    /// The connected socket of `link` is gone (`detail` says why): what waits is given back,
    /// the session ends its connection (reporting its Logout if one was exchanged), the end
    /// is reported, and the lifecycle moves to `disconnected`.
    ///
    /// A logged-on connection that the engine's stop did not end reports
    /// `fix.connection.lost`. One that never completed the Logon exchange is an initiator's
    /// failed attempt (`fix.connection.failed`) or an acceptor's refused peer
    /// (`fix.connection.error`). `answered` says whether the host was still answering: an
    /// initiator fails over from one that was not, and from one that never logged on.
    fn end(&mut self, now: Instant, link: Option<&Link>, detail: String, answered: Answered) {
        let logged_on = self.session.completed_logon();
        self.return_backlog();
        self.session.disconnected(now);
        self.collect_session_events();
        if !self.stopping {
            let remote_host = link.map(Link::remote_host).unwrap_or_default();
            let event = match &self.side {
                _ if logged_on => Some(EventKind::ConnectionLost {
                    session_id: self.session.id().clone(),
                    remote_host,
                    code: ErrorCode::ConnectionLost,
                    error_detail: detail,
                }),
                Side::Initiator { .. } => {
                    let host = self.current_host();
                    self.report_failed(host, detail);
                    None
                }
                Side::Acceptor { .. } => Some(EventKind::ConnectionError {
                    remote_host,
                    code: ErrorCode::ConnectionRefused,
                    error_detail: detail,
                }),
            };
            if let Some(event) = event {
                self.output.push_back(Output::Event(event));
            }
        }
        let result = match &mut self.side {
            // A socket that closes during the engine's stop leaves the schedule `stopped`.
            Side::Initiator { schedule, .. } if schedule.state().is_stopped() => Ok(()),
            Side::Initiator { schedule, .. } if logged_on && answered == Answered::Yes => {
                schedule.handle_lost(now, ErrorCode::ConnectionLost)
            }
            Side::Initiator { schedule, .. } => {
                schedule.handle_unanswered(now, ErrorCode::ConnectionLost)
            }
            Side::Acceptor { lifecycle } => lifecycle.disconnected(now, ErrorCode::ConnectionLost),
        };
        self.refused(result);
    }

    /// Gives every waiting message back: its connection is gone.
    fn return_backlog(&mut self) {
        for msg in self.backlog.drain(..) {
            self.output
                .push_back(Output::NotSent(msg, SendError::NotLoggedOn));
        }
    }

    /// An initiator's attempt failed with `code` before it connected (`detail` says how).
    fn attempt_failed(&mut self, now: Instant, code: ErrorCode, detail: String) {
        let host = self.current_host();
        if let Side::Initiator { schedule, .. } = &mut self.side
            && !schedule.state().is_stopped()
        {
            let result = schedule.handle_connect_failed(now, code);
            self.refused(result);
        }
        self.report_failed(host, detail);
    }

    /// The one detail of an attempt that ran out of `SocketConnectTimeout`, whichever timer
    /// noticed first: the schedule's, or the socket's own.
    fn connect_timed_out(&self) -> String {
        match &self.side {
            Side::Initiator { schedule, .. } => format!(
                "connect timed out (SocketConnectTimeout {} s)",
                schedule.connect_timeout().as_secs_f64()
            ),
            Side::Acceptor { .. } => "connect timed out".to_owned(),
        }
    }

    /// An initiator's host `index`.
    fn host(&self, index: usize) -> Option<HostConfig> {
        match &self.side {
            Side::Initiator { hosts, .. } => hosts.get(index).cloned(),
            Side::Acceptor { .. } => None,
        }
    }

    /// The host of an initiator's current or last attempt.
    fn current_host(&self) -> Option<HostConfig> {
        match &self.side {
            Side::Initiator { schedule, .. } => schedule.current_host().and_then(|i| self.host(i)),
            Side::Acceptor { .. } => None,
        }
    }

    /// Reports `fix.connection.failed` for an attempt to `host`, unless the engine is
    /// stopping.
    fn report_failed(&mut self, host: Option<HostConfig>, detail: String) {
        if self.stopping {
            return;
        }
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

/// Whether the host of a connection that ended was still answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answered {
    /// It was: the peer closed the connection, logged out, or broke the protocol.
    Yes,
    /// It was not: the peer went silent, or did not answer a Logon or a Logout in time.
    No,
}

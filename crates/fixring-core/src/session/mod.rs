//! The FIX session layer that connections need.
//!
//! A [`Session`] lives as long as its configured session, across connections: sequence numbers
//! carry on from one connection to the next unless `ResetOnLogon` is set. For each connection the
//! engine calls [`Session::connected`], feeds every framed inbound message to
//! [`Session::handle_message`], calls [`Session::handle_timeout`] when [`Session::poll_timeout`]
//! says so, writes what [`Session::poll_transmit`] produces, and closes the socket once
//! [`Session::poll_close`] returns a reason, then calls [`Session::disconnected`].
//!
//! What is covered: the Logon exchange with HeartBtInt, Heartbeat and TestRequest on silence,
//! LogonTimeout, the Logout exchange bounded by LogoutTimeout, MsgSeqNum checking (too low:
//! Logout and disconnect; a gap is reported and a ResendRequest sent), ResetOnLogon, CompID and
//! BeginString validation, SequenceReset. There is no message store yet: a ResendRequest from the
//! peer is answered with a SequenceReset-GapFill over the requested range.

mod admin;
mod inbound;
mod violation;

use std::collections::VecDeque;
use std::time::Duration;

use crate::codec::{self, FieldWriter, Header, InsufficientSize};
use crate::config::{ConnectionType, SessionConfig};
use crate::timer::{TimerName, TimerTable};
use crate::{Event, Instant, SessionId, WallClock};

use admin::Admin;
pub use inbound::Inbound;
pub use violation::{CloseReason, ProtocolViolation, SendError};

/// The session's named deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The Logon exchange must complete by then.
    LogonTimeout,
    /// Nothing sent for HeartBtInt: send a Heartbeat.
    Heartbeat,
    /// Nothing received for HeartBtInt plus a margin: send a TestRequest, then give up.
    TestRequest,
    /// Our Logout was not answered in time: close.
    LogoutTimeout,
}

impl TimerName for Timer {
    const ALL: &'static [Self] = &[
        Self::LogonTimeout,
        Self::Heartbeat,
        Self::TestRequest,
        Self::LogoutTimeout,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::LogonTimeout => "logon_timeout",
            Self::Heartbeat => "heartbeat",
            Self::TestRequest => "test_request",
            Self::LogoutTimeout => "logout_timeout",
        }
    }
}

/// Where a session stands on its current connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// No connection.
    Disconnected,
    /// Connected; the Logon exchange has not completed. `sent` tells whether our Logon is out.
    AwaitingLogon {
        /// Whether we have sent our Logon (initiators send first).
        sent: bool,
    },
    /// Logged on: application messages flow.
    Active,
    /// A Logout is out and its answer awaited.
    LoggingOut,
    /// The connection must be closed; see [`Session::poll_close`].
    Closing,
}

impl SessionState {
    /// Whether application messages can be sent.
    pub fn is_active(self) -> bool {
        self == Self::Active
    }

    /// Whether the Logon exchange has completed and no Logout has ended it yet.
    pub fn is_logged_on(self) -> bool {
        matches!(self, Self::Active | Self::LoggingOut)
    }
}

/// The part of the peer's silence beyond HeartBtInt tolerated before we act, as a fraction.
const SILENCE_MARGIN_PERCENT: u32 = 20;

/// Room for the body of an admin message; Text fields longer than this are truncated.
const ADMIN_BODY: usize = 512;

/// One configured FIX session's protocol state machine.
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    connection_type: ConnectionType,
    configured_heartbeat: Duration,
    logon_timeout: Duration,
    logout_timeout: Duration,
    reset_on_logon: bool,
    clock: WallClock,

    state: SessionState,
    heartbeat: Duration,
    next_sender_seq: u64,
    next_target_seq: u64,
    /// Highest MsgSeqNum a ResendRequest of ours already covers.
    resend_requested_to: u64,
    test_request_counter: u64,
    test_request_outstanding: bool,
    /// Whether the current connection completed the Logon exchange.
    logged_on: bool,
    last_received: Instant,
    last_sent: Instant,
    timers: TimerTable<Timer, 4>,
    admin: VecDeque<Admin>,
    events: VecDeque<Event>,
    close: Option<CloseReason>,
    close_after_flush: bool,
}

impl Session {
    /// A session for `config`, stamping SendingTime from `clock`.
    pub fn new(config: &SessionConfig, clock: WallClock) -> Self {
        Self {
            id: config.id.clone(),
            connection_type: config.connection_type(),
            configured_heartbeat: config.heartbeat_interval,
            logon_timeout: config.logon_timeout,
            logout_timeout: config.logout_timeout,
            reset_on_logon: config.reset_on_logon,
            clock,
            state: SessionState::Disconnected,
            heartbeat: config.heartbeat_interval,
            next_sender_seq: 1,
            next_target_seq: 1,
            resend_requested_to: 0,
            test_request_counter: 0,
            test_request_outstanding: false,
            logged_on: false,
            last_received: Instant::ZERO,
            last_sent: Instant::ZERO,
            timers: TimerTable::default(),
            admin: VecDeque::new(),
            events: VecDeque::new(),
            close: None,
            close_after_flush: false,
        }
    }

    /// The session's identity, as we send it (our SenderCompID first).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The session's state on its current connection.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The MsgSeqNum our next outbound message will carry.
    pub fn next_sender_seq(&self) -> u64 {
        self.next_sender_seq
    }

    /// The MsgSeqNum we expect on the peer's next message.
    pub fn next_target_seq(&self) -> u64 {
        self.next_target_seq
    }

    /// Sets both sequence numbers, e.g. when restoring them at start-up.
    pub fn set_sequence_numbers(&mut self, next_sender: u64, next_target: u64) {
        self.next_sender_seq = next_sender.max(1);
        self.next_target_seq = next_target.max(1);
    }

    /// The heartbeat interval in force (the configured one, or the initiator's for an acceptor).
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat
    }

    /// A new connection is up. An initiator queues its Logon; both sides start LogonTimeout.
    pub fn connected(&mut self, now: Instant) {
        self.timers.stop_all();
        self.admin.clear();
        self.close = None;
        self.close_after_flush = false;
        self.test_request_outstanding = false;
        self.resend_requested_to = 0;
        self.last_received = now;
        self.last_sent = now;
        self.heartbeat = self.configured_heartbeat;
        let initiator = self.connection_type == ConnectionType::Initiator;
        if initiator {
            if self.reset_on_logon {
                self.reset_sequence_numbers();
            }
            self.admin.push_back(Admin::Logon {
                reset: self.reset_on_logon,
            });
        }
        self.state = SessionState::AwaitingLogon { sent: initiator };
        self.timers
            .set(Timer::LogonTimeout, now + self.logon_timeout);
    }

    /// The connection is gone. Reports a Logout if the session was logged on.
    pub fn disconnected(&mut self, _now: Instant) {
        if std::mem::take(&mut self.logged_on) {
            let reason = match &self.close {
                Some(reason) => reason.to_string(),
                None => "connection closed".to_owned(),
            };
            self.events.push_back(Event::Logout {
                session_id: self.id.clone(),
                reason,
            });
        }
        self.state = SessionState::Disconnected;
        self.timers.stop_all();
        self.admin.clear();
        self.close = None;
        self.close_after_flush = false;
    }

    /// Starts a graceful Logout: sends Logout with `text` and waits LogoutTimeout for the reply.
    /// A session that is not logged on is closed at once.
    pub fn logout(&mut self, now: Instant, text: &str) {
        match self.state {
            SessionState::Active => {
                self.admin.push_back(Admin::Logout {
                    text: text.to_owned(),
                });
                self.state = SessionState::LoggingOut;
                self.timers
                    .set(Timer::LogoutTimeout, now + self.logout_timeout);
            }
            SessionState::AwaitingLogon { .. } => self.close_now(CloseReason::LocalStop),
            SessionState::Disconnected | SessionState::LoggingOut | SessionState::Closing => {}
        }
    }

    /// The earliest deadline the caller must wake up for.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Runs every timer that has expired by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((timer, _)) = self.timers.poll_expired(now) {
            match timer {
                Timer::LogonTimeout => self.close_now(CloseReason::LogonTimeout),
                Timer::LogoutTimeout => self.close_now(CloseReason::LogoutTimeout),
                Timer::Heartbeat => {
                    if self.state.is_logged_on() {
                        self.admin.push_back(Admin::Heartbeat { test_req_id: None });
                    }
                }
                Timer::TestRequest => {
                    if self.test_request_outstanding {
                        self.close_now(CloseReason::PeerSilent {
                            interval: self.heartbeat,
                        });
                    } else {
                        self.test_request_outstanding = true;
                        self.test_request_counter += 1;
                        let id = self.test_request_counter.to_string().into_bytes();
                        self.admin.push_back(Admin::TestRequest { id });
                        self.timers
                            .set(Timer::TestRequest, now + self.silence_limit());
                    }
                }
            }
        }
    }

    /// Writes the next admin message (Logon, Heartbeat, Logout, …) into `out`, returning its
    /// length, or `Ok(None)` when nothing is waiting.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, InsufficientSize> {
        let Some(admin) = self.admin.front() else {
            if self.close_after_flush {
                self.close_after_flush = false;
                self.state = SessionState::Closing;
            }
            return Ok(None);
        };
        let mut body = [0u8; ADMIN_BODY];
        let mut writer = FieldWriter::new(&mut body);
        admin.write_body(&mut writer, self.heartbeat)?;
        let msg_type = admin.msg_type();
        let gap_fill = admin.fixed_seq_num();
        let seq = gap_fill.unwrap_or(self.next_sender_seq);
        let body_len = writer.len();
        let len = self.encode(
            now,
            msg_type,
            seq,
            gap_fill.is_some(),
            &body[..body_len],
            out,
        )?;
        if gap_fill.is_none() {
            self.next_sender_seq += 1;
        }
        self.admin.pop_front();
        Ok(Some(len))
    }

    /// Encodes an application message with the next MsgSeqNum into `out`.
    ///
    /// `body` holds the message's body fields, already encoded (`tag=value<SOH>`…). The message
    /// is sent only while the session is logged on; otherwise nothing changes and the caller keeps
    /// its message.
    pub fn send(
        &mut self,
        now: Instant,
        msg_type: &[u8],
        body: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        if !self.state.is_active() {
            return Err(SendError::NotLoggedOn);
        }
        let len = self.encode(now, msg_type, self.next_sender_seq, false, body, out)?;
        self.next_sender_seq += 1;
        Ok(len)
    }

    /// The next event: logon, logout, sequence gap.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Why the connection must be closed, once everything [`Session::poll_transmit`] had to say
    /// has been written.
    pub fn poll_close(&self) -> Option<&CloseReason> {
        match self.state {
            SessionState::Closing => self.close.as_ref(),
            _ => None,
        }
    }

    fn encode(
        &mut self,
        now: Instant,
        msg_type: &[u8],
        seq: u64,
        poss_dup: bool,
        body: &[u8],
        out: &mut [u8],
    ) -> Result<usize, InsufficientSize> {
        let sending_time = self.clock.utc_at(now);
        let header = Header {
            begin_string: &self.id.begin_string,
            msg_type,
            sender_comp_id: &self.id.sender_comp_id,
            target_comp_id: &self.id.target_comp_id,
            msg_seq_num: seq,
            sending_time,
            poss_dup,
            orig_sending_time: poss_dup.then_some(sending_time),
        };
        let len = codec::encode(&header, body, out)?;
        self.last_sent = now;
        if self.state.is_logged_on() && !self.heartbeat.is_zero() {
            self.timers.set(Timer::Heartbeat, now + self.heartbeat);
        }
        Ok(len)
    }

    fn silence_limit(&self) -> Duration {
        self.heartbeat + self.heartbeat * SILENCE_MARGIN_PERCENT / 100
    }

    fn reset_sequence_numbers(&mut self) {
        self.next_sender_seq = 1;
        self.next_target_seq = 1;
    }

    /// Sends a Logout saying why, then closes once it is written.
    fn logout_and_close(&mut self, reason: CloseReason) {
        self.admin.push_back(Admin::Logout {
            text: reason.to_string(),
        });
        self.state = SessionState::LoggingOut;
        self.close_after_flush = true;
        self.timers.stop_all();
        if self.close.is_none() {
            self.close = Some(reason);
        }
    }

    /// Closes without another word.
    fn close_now(&mut self, reason: CloseReason) {
        self.admin.clear();
        self.timers.stop_all();
        self.state = SessionState::Closing;
        if self.close.is_none() {
            self.close = Some(reason);
        }
    }
}

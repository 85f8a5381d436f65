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
//! Logout and disconnect, but a Logout or ResendRequest is answered all the same; a gap is
//! reported and a ResendRequest sent), ResetOnLogon, CompID and
//! BeginString validation, SendingTime accuracy (CheckLatency, MaxLatency), SequenceReset, and ResendRequest: the application messages asked
//! for go again from the session's outbound store (PossDupFlag=Y, OrigSendingTime), and admin
//! messages, or messages no longer stored, are skipped with SequenceReset-GapFill.

mod accuracy;
mod admin;
mod inbound;
mod queue;
mod reject;
mod rules;
mod state;
mod store;
mod violation;

use std::collections::VecDeque;
use std::time::Duration;

use crate::codec::{
    self, FieldWriter, Header, InsufficientSize, TimestampReader, TimestampWriter, msg_type,
};
use crate::config::{ConnectionType, SessionConfig, SessionRules};
use crate::dictionary::Validator;
use crate::timer::{TimerName, TimerTable};
use crate::{EventKind, Instant, SessionId, TimestampPrecision, UtcTimestamp, WallClock};

use admin::Admin;
pub use inbound::Inbound;
use state::State;
pub use store::SentMessage;
use store::SentStore;
pub use violation::{CloseReason, ProtocolViolation, SendError};

/// The BeginString of FIX 5's transport, whose Logon carries DefaultApplVerID.
const FIXT_1_1: &str = "FIXT.1.1";

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
    /// MaxLatency when CheckLatency is on: how far from our clock SendingTime may be.
    max_latency: Option<Duration>,
    /// Reads the peer's SendingTimes, remembering the day.
    sending_times: TimestampReader,
    /// Writes our SendingTimes, remembering the second.
    stamps: TimestampWriter,
    clock: WallClock,
    /// The session keys beyond the connection.
    rules: SessionRules,
    /// Checks every message received against the data dictionaries, when configured.
    validator: Option<Validator>,
    /// RejectInvalidMessage: a message failing validation is rejected (else delivered).
    reject_invalid_message: bool,
    /// SendingTime's precision: the configured one, whole seconds before FIX.4.2.
    precision: TimestampPrecision,

    state: State,
    heartbeat: Duration,
    next_sender_seq: u64,
    next_target_seq: u64,
    /// Highest MsgSeqNum a ResendRequest of ours already covers.
    resend_requested_to: u64,
    /// When our last ResendRequest went out, while its gap is open.
    resend_requested_at: Option<Instant>,
    /// The chunk of a gap asked for last, with `ResendRequestChunkSize`.
    resend_chunk: Option<rules::ResendChunk>,
    /// The sequence numbers start again once the connection ends (ResetOnLogout after a
    /// Logout exchange, ResetOnError after a garbled message).
    reset_when_disconnected: bool,
    /// CmeEnhancedResend: the MsgSeqNum our next Logon goes with, from the
    /// NextExpectedMsgSeqNum (789) of the Logout that answered our last one; taken when the
    /// connection ends.
    next_sender_after_close: Option<u64>,
    /// Messages the peer sent beyond a gap, until it is filled.
    beyond_gap: queue::BeyondGap,
    last_received: Instant,
    last_sent: Instant,
    timers: TimerTable<Timer, 4>,
    admin: VecDeque<Admin>,
    /// The application messages sent, for the peer's ResendRequests.
    store: SentStore,
    events: VecDeque<EventKind>,
    /// Whether a Logout went out or came in on the current connection.
    logout_exchanged: bool,
    /// When the sequence numbers last started again (QuickFIX's store creation time): a
    /// schedule resets them when this lies in an earlier session period.
    creation_time: UtcTimestamp,
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
            max_latency: config.check_latency.then_some(config.max_latency),
            sending_times: TimestampReader::default(),
            stamps: TimestampWriter::default(),
            clock,
            rules: config.rules,
            validator: config
                .dictionary
                .loaded
                .clone()
                .map(|dictionaries| Validator::new(dictionaries, config.dictionary.options)),
            reject_invalid_message: config.dictionary.reject_invalid_message,
            precision: match config.id.begin_string.as_str() {
                // As QuickFIX: sub-second SendingTimes came with FIX.4.2.
                "FIX.4.0" | "FIX.4.1" => TimestampPrecision::Seconds,
                _ => config.rules.timestamp_precision,
            },
            state: State::Disconnected,
            heartbeat: config.heartbeat_interval,
            next_sender_seq: 1,
            next_target_seq: 1,
            resend_requested_to: 0,
            resend_requested_at: None,
            resend_chunk: None,
            reset_when_disconnected: false,
            next_sender_after_close: None,
            beyond_gap: queue::BeyondGap::default(),
            last_received: Instant::ZERO,
            last_sent: Instant::ZERO,
            timers: TimerTable::default(),
            admin: VecDeque::new(),
            store: SentStore::new(config.message_store_size),
            events: VecDeque::new(),
            logout_exchanged: false,
            creation_time: clock.utc_at(Instant::ZERO),
        }
    }

    /// The session's identity, as we send it (our SenderCompID first).
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The session's state on its current connection.
    pub fn state(&self) -> SessionState {
        self.state.public()
    }

    /// The MsgSeqNum our next outbound message will carry.
    pub fn next_sender_seq(&self) -> u64 {
        self.next_sender_seq
    }

    /// The MsgSeqNum we expect on the peer's next message.
    pub fn next_target_seq(&self) -> u64 {
        self.next_target_seq
    }

    /// When the last message arrived, or the current connection came up if none has since.
    pub fn last_received(&self) -> Instant {
        self.last_received
    }

    /// When the last message went out, or the current connection came up if none has since.
    pub fn last_sent(&self) -> Instant {
        self.last_sent
    }

    /// Sets both sequence numbers, e.g. when restoring them at start-up. The messages kept for
    /// resending are forgotten: they no longer match the numbers.
    pub fn set_sequence_numbers(&mut self, next_sender: u64, next_target: u64) {
        self.next_sender_seq = next_sender.max(1);
        self.next_target_seq = next_target.max(1);
        self.store.clear();
    }

    /// When the sequence numbers last started again, or the session was made: QuickFIX's
    /// store creation time.
    pub fn creation_time(&self) -> UtcTimestamp {
        self.creation_time
    }

    /// Restores the creation time an earlier run of the session left in its store.
    pub fn set_creation_time(&mut self, creation_time: UtcTimestamp) {
        self.creation_time = creation_time;
    }

    /// Starts both sequence numbers again at 1 and empties the message store, as at the
    /// start of a new session period; the creation time becomes `now`. Only while
    /// disconnected: a connection's numbers are the peer's business too.
    pub fn reset(&mut self, now: Instant) {
        if self.state() == SessionState::Disconnected {
            self.reset_sequence_numbers(now);
        }
    }

    /// Whether an answer to the peer's ResendRequest is still going out through
    /// [`Session::poll_transmit`]. New application messages should wait for it: sent before
    /// it, they would arrive ahead of the messages they follow.
    pub fn is_resending(&self) -> bool {
        self.admin
            .iter()
            .any(|admin| matches!(admin, Admin::Resend { .. }))
    }

    /// Whether the current connection completed the Logon exchange (and still counts as
    /// logged on while it closes). A connection that ends without it was a failed attempt.
    pub fn completed_logon(&self) -> bool {
        self.state.is_logon_completed()
    }

    /// How long the peer has been silent on the current connection.
    pub fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_received)
    }

    /// Whether the session is logged on and its peer has been silent for longer than the
    /// point at which a TestRequest goes out (HeartBtInt plus a margin): the connection is
    /// probably half-open. Never with HeartBtInt 0.
    pub fn is_silent(&self, now: Instant) -> bool {
        self.completed_logon()
            && !self.heartbeat.is_zero()
            && self.silent_for(now) > self.silence_limit()
    }

    /// The application messages kept for resending with a MsgSeqNum of at least `from`,
    /// oldest first; what a file store writes out.
    pub fn sent_messages(&self, from: u64) -> impl Iterator<Item = SentMessage<'_>> {
        self.store.iter_from(from)
    }

    /// Changes whenever the sequence numbers start again and the kept messages are dropped
    /// with them (ResetOnLogon, a peer's reset, [`Session::set_sequence_numbers`]).
    pub fn store_epoch(&self) -> u64 {
        self.store.epoch()
    }

    /// Restores, before the session first connects, what an earlier run of it left: both
    /// sequence numbers and the application messages it sent, kept for resending as if just
    /// sent (those at or above `next_sender` are left out).
    pub fn restore<'a>(
        &mut self,
        next_sender: u64,
        next_target: u64,
        sent: impl IntoIterator<Item = SentMessage<'a>>,
    ) {
        self.set_sequence_numbers(next_sender, next_target);
        for message in sent {
            if message.seq < self.next_sender_seq {
                self.store.push(
                    message.seq,
                    message.sending_time,
                    message.msg_type,
                    message.body,
                );
            }
        }
    }

    /// How many sent application messages are kept for resending.
    pub fn stored_messages(&self) -> usize {
        self.store.len()
    }

    /// Writes ahead into the memory the store of sent messages grows into, a few pages at
    /// most, so that the page faults of its growth are taken here rather than while a
    /// message is sent. The engine calls it after a turn's bytes have gone out. It does
    /// nothing while the store has kept nothing, and little once it has grown to
    /// `MessageStoreSize`.
    pub fn warm_store(&mut self) {
        self.store.warm();
    }

    /// The heartbeat interval in force (the configured one, or the initiator's for an acceptor).
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat
    }

    /// A new connection is up. An initiator queues its Logon; both sides start LogonTimeout.
    pub fn connected(&mut self, now: Instant) {
        self.timers.stop_all();
        self.admin.clear();
        self.resend_requested_to = 0;
        self.resend_requested_at = None;
        self.resend_chunk = None;
        self.beyond_gap.clear();
        self.logout_exchanged = false;
        self.last_received = now;
        self.last_sent = now;
        self.heartbeat = self.configured_heartbeat;
        let initiator = self.connection_type == ConnectionType::Initiator;
        if initiator {
            if self.reset_on_logon {
                self.reset_sequence_numbers(now);
            }
            self.admin.push_back(Admin::Logon {
                reset: self.reset_on_logon,
            });
        }
        self.state = State::AwaitingLogon { sent: initiator };
        self.timers
            .set(Timer::LogonTimeout, now + self.logon_timeout);
    }

    /// The connection is gone. Reports a Logout if the session was logged on and a Logout
    /// went out or came in; a connection that ended otherwise is the caller's to report.
    pub fn disconnected(&mut self, now: Instant) {
        let state = std::mem::replace(&mut self.state, State::Disconnected);
        if state.is_logon_completed() && std::mem::take(&mut self.logout_exchanged) {
            let reason = match state.close_reason() {
                Some(reason) => reason.to_string(),
                None => "connection closed".to_owned(),
            };
            self.events.push_back(EventKind::Logout {
                session_id: self.id.clone(),
                reason,
            });
        }
        self.timers.stop_all();
        self.admin.clear();
        self.reset_after_disconnect(now);
    }

    /// Starts a graceful Logout: sends Logout with `text` and waits LogoutTimeout for the reply.
    /// A session that is not logged on is closed at once.
    pub fn logout(&mut self, now: Instant, text: &str) {
        match self.state() {
            SessionState::Active => {
                self.admin.push_back(Admin::Logout {
                    text: text.to_owned(),
                });
                self.advance(State::logging_out);
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
                // No Heartbeat while our TestRequest is unanswered, as QuickFIX: the answer
                // re-arms the timer (see `handle_message`).
                Timer::Heartbeat => {
                    if self.state().is_logged_on() && !self.state.is_test_request_outstanding() {
                        self.admin.push_back(Admin::Heartbeat { test_req_id: None });
                    }
                }
                Timer::TestRequest => {
                    if self.state.is_test_request_outstanding() {
                        let reason = CloseReason::PeerSilent {
                            interval: self.heartbeat,
                        };
                        if self.rules.send_logout_before_timeout_disconnect {
                            self.logout_and_close(reason);
                        } else {
                            self.close_now(reason);
                        }
                    } else {
                        self.state.set_test_request_outstanding(true);
                        self.admin.push_back(Admin::TestRequest);
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
            if self.state.closes_when_flushed() {
                self.advance(State::flushed);
            }
            return Ok(None);
        };
        if let Admin::Resend { from, to } = *admin {
            return self.transmit_resend(now, from, to, out).map(Some);
        }
        let mut body = [0u8; ADMIN_BODY];
        let mut writer = FieldWriter::new(&mut body);
        admin.write_body(&mut writer, self.heartbeat)?;
        // As QuickFIX: a FIXT.1.1 Logon, ours or our answer, says the default ApplVerID, and
        // so does a BusinessMessageReject.
        if let (Admin::Logon { .. } | Admin::BusinessReject { .. }, Some(appl_ver_id)) =
            (admin, self.rules.default_appl_ver_id)
            && self.id.begin_string == FIXT_1_1
        {
            writer.field_u64(
                crate::codec::tags::DEFAULT_APPL_VER_ID,
                u64::from(appl_ver_id),
            )?;
        }
        let msg_type = admin.msg_type();
        let logout = matches!(admin, Admin::Logout { .. });
        let body_len = writer.len();
        let sending_time = self.clock.utc_at(now);
        let seq = self.next_sender_seq;
        let len = self.encode(sending_time, msg_type, seq, None, &body[..body_len], out)?;
        self.note_sent(now);
        self.next_sender_seq += 1;
        self.logout_exchanged |= logout;
        self.admin.pop_front();
        Ok(Some(len))
    }

    /// Writes the next piece of the answer to a ResendRequest for `from..=to`: the stored
    /// message `from` again, or a gap fill up to the next stored one.
    fn transmit_resend(
        &mut self,
        now: Instant,
        from: u64,
        to: u64,
        out: &mut [u8],
    ) -> Result<usize, InsufficientSize> {
        let sending_time = self.clock.utc_at(now);
        let next = self
            .store
            .first_from(from)
            .filter(|stored| stored.seq <= to);
        let (len, resume_at) = match next {
            Some(stored) if stored.seq == from => {
                let header = self.header(
                    stored.msg_type,
                    from,
                    sending_time,
                    Some(stored.sending_time),
                );
                (codec::encode(&header, stored.body, out)?, from + 1)
            }
            next => {
                let new_seq = next.map_or(to + 1, |stored| stored.seq);
                let mut body = [0u8; 64];
                let mut writer = FieldWriter::new(&mut body);
                admin::write_gap_fill(&mut writer, new_seq)?;
                let body_len = writer.len();
                let len = self.encode(
                    sending_time,
                    msg_type::SEQUENCE_RESET,
                    from,
                    Some(sending_time),
                    &body[..body_len],
                    out,
                )?;
                if self.store.may_have_dropped(from) {
                    self.events.push_back(EventKind::MessagesNotResent {
                        session_id: self.id.clone(),
                        begin: from,
                        end: new_seq - 1,
                    });
                }
                (len, new_seq)
            }
        };
        self.note_sent(now);
        if resume_at > to {
            self.admin.pop_front();
        } else if let Some(Admin::Resend { from, .. }) = self.admin.front_mut() {
            *from = resume_at;
        }
        Ok(len)
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
        if !self.state().is_active() {
            return Err(SendError::NotLoggedOn);
        }
        let sending_time = self.clock.utc_at(now);
        let seq = self.next_sender_seq;
        let len = self.encode(sending_time, msg_type, seq, None, body, out)?;
        self.note_sent(now);
        self.store.push(seq, sending_time, msg_type, body);
        self.next_sender_seq += 1;
        Ok(len)
    }

    /// The next event: logon, logout, sequence gap.
    pub fn poll_event(&mut self) -> Option<EventKind> {
        self.events.pop_front()
    }

    /// Why the connection must be closed, once everything [`Session::poll_transmit`] had to say
    /// has been written.
    pub fn poll_close(&self) -> Option<&CloseReason> {
        self.state.closing_reason()
    }

    /// Encodes a message into `out`; `orig_sending_time` marks it a possible duplicate.
    fn encode(
        &mut self,
        sending_time: UtcTimestamp,
        msg_type: &[u8],
        seq: u64,
        orig_sending_time: Option<UtcTimestamp>,
        body: &[u8],
        out: &mut [u8],
    ) -> Result<usize, InsufficientSize> {
        let mut stamp = [0u8; UtcTimestamp::FIX_MAX_LEN];
        let len = self.stamps.write(sending_time, self.precision, &mut stamp);
        let header = self.header(msg_type, seq, sending_time, orig_sending_time);
        codec::encode_stamped(&header, stamp.get(..len).unwrap_or_default(), body, out)
    }

    fn header<'a>(
        &'a self,
        msg_type: &'a [u8],
        seq: u64,
        sending_time: UtcTimestamp,
        orig_sending_time: Option<UtcTimestamp>,
    ) -> Header<'a> {
        Header {
            begin_string: &self.id.begin_string,
            msg_type,
            sender_comp_id: &self.id.sender_comp_id,
            sender_sub_id: &self.id.sender_sub_id,
            sender_location_id: &self.id.sender_location_id,
            target_comp_id: &self.id.target_comp_id,
            target_sub_id: &self.id.target_sub_id,
            target_location_id: &self.id.target_location_id,
            msg_seq_num: seq,
            sending_time,
            poss_dup: orig_sending_time.is_some(),
            orig_sending_time,
            last_msg_seq_num_processed: self
                .rules
                .enable_last_msg_seq_num_processed
                .then(|| self.next_target_seq - 1),
            precision: self.precision,
        }
    }

    /// Something went out: the Heartbeat is due one interval from now.
    fn note_sent(&mut self, now: Instant) {
        self.last_sent = now;
        if self.state().is_logged_on() && !self.heartbeat.is_zero() {
            self.timers.set(Timer::Heartbeat, now + self.heartbeat);
        }
    }

    fn silence_limit(&self) -> Duration {
        self.heartbeat + self.heartbeat * SILENCE_MARGIN_PERCENT / 100
    }

    fn reset_sequence_numbers(&mut self, now: Instant) {
        self.creation_time = self.clock.utc_at(now);
        self.next_sender_seq = 1;
        self.next_target_seq = 1;
        self.store.clear();
        self.beyond_gap.clear();
        self.resend_chunk = None;
    }

    /// Sends a Logout saying why, then closes once it is written.
    fn logout_and_close(&mut self, reason: CloseReason) {
        self.admin.push_back(Admin::Logout {
            text: reason.logout_text(),
        });
        self.timers.stop_all();
        self.advance(|state| state.logging_out_then_close(reason));
    }

    /// Closes without another word.
    fn close_now(&mut self, reason: CloseReason) {
        self.admin.clear();
        self.timers.stop_all();
        self.advance(|state| state.closing(reason));
    }

    /// Moves the state on to the one `next` makes of it.
    fn advance(&mut self, next: impl FnOnce(State) -> State) {
        let state = std::mem::replace(&mut self.state, State::Disconnected);
        self.state = next(state);
    }
}

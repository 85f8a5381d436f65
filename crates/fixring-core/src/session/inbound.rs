//! What a session does with each message the peer sends.

use std::time::Duration;

use super::admin::Admin;
use super::reject::RejectReason;
use super::state::State;
use super::{CloseReason, ProtocolViolation, Session, SessionState, Timer};
use crate::codec::{Message, msg_type, tags};
use crate::config::ConnectionType;
use crate::dictionary::{RejectKind, Rejection};
use crate::{EventKind, Instant};

/// The least time a ResendRequest is given before it is sent again.
const RESEND_PATIENCE: Duration = Duration::from_secs(1);

/// What the caller should do with a message after [`Session::handle_message`].
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// An application message, in sequence: hand it to the application.
    Application,
    /// An admin message the session handled (the application may still look at it).
    Admin,
    /// Not processed: a duplicate, a message beyond a sequence gap, or a connection that is
    /// closing. Nothing is delivered.
    Ignored,
}

impl Session {
    /// Handles one framed, parsed message from the peer.
    pub fn handle_message(&mut self, now: Instant, msg: &Message<'_>) -> Inbound {
        let inbound = self.handle_inbound(now, msg);
        self.continue_chunked_resend();
        inbound
    }

    fn handle_inbound(&mut self, now: Instant, msg: &Message<'_>) -> Inbound {
        if !self.state.is_open() {
            return Inbound::Ignored;
        }
        self.last_received = now;
        if self.state.is_test_request_outstanding() {
            self.state.set_test_request_outstanding(false);
            // A Heartbeat held back while our TestRequest was unanswered is due now.
            if self.state().is_active() && !self.heartbeat.is_zero() {
                let due = self.last_sent + self.heartbeat;
                self.timers.set(Timer::Heartbeat, due.max(now));
            }
        }
        if self.completed_logon() && !self.heartbeat.is_zero() {
            self.timers
                .set(Timer::TestRequest, now + self.silence_limit());
        }

        if let Some(inbound) = self.check_comp_ids_present(msg) {
            return inbound;
        }
        let header = self.check_header(msg);
        // As QuickFIX: a message is validated once its BeginString is known to be right,
        // before its CompIDs, SendingTime and MsgSeqNum are looked at.
        if !matches!(header, Err(ProtocolViolation::BeginStringMismatch { .. }))
            && let Some(inbound) = self.validate(msg)
        {
            return inbound;
        }
        if let Err(violation) = header {
            // As QuickFIX, a logged-on session rejects a CompID problem before its Logout.
            if matches!(violation, ProtocolViolation::CompIdMismatch { .. })
                && self.completed_logon()
            {
                self.reject(msg, RejectReason::CompIdProblem);
            }
            self.violation(violation);
            return Inbound::Ignored;
        }
        if !self.check_sending_time(now, msg) {
            return Inbound::Ignored;
        }
        let seq = match msg.get_u64(tags::MSG_SEQ_NUM) {
            Ok(Some(seq)) => seq,
            _ => {
                self.violation(ProtocolViolation::MissingSeqNum);
                return Inbound::Ignored;
            }
        };
        let kind = msg.msg_type();
        if !self.completed_logon() {
            if kind == msg_type::LOGOUT
                && self.rules.cme_enhanced_resend
                && self.connection_type == ConnectionType::Initiator
            {
                self.logout_before_logon(msg);
                self.on_logout(now, msg);
                return Inbound::Admin;
            }
            if kind != msg_type::LOGON {
                self.close_now(CloseReason::Protocol(
                    ProtocolViolation::FirstMessageNotLogon,
                ));
                return Inbound::Ignored;
            }
            if let Err(violation) = self.check_logon_identity(msg) {
                self.close_now(CloseReason::Protocol(violation));
                return Inbound::Ignored;
            }
            self.on_logon(now, msg, seq);
            return Inbound::Admin;
        }
        if kind == msg_type::LOGON {
            // As QuickFIX: a Logon with ResetSeqNumFlag on a logged-on session starts both
            // sequences again at 1, and is answered with a Logon that says so.
            if msg.get(tags::RESET_SEQ_NUM_FLAG) == Some(b"Y") && seq == 1 {
                self.reset_sequence_numbers(now);
                self.next_target_seq = 2;
                self.resend_requested_to = 0;
                self.admin.push_back(Admin::Logon { reset: true });
                return Inbound::Admin;
            }
            self.violation(ProtocolViolation::DuplicateLogon);
            return Inbound::Ignored;
        }
        if kind == msg_type::SEQUENCE_RESET && msg.get(tags::GAP_FILL_FLAG) != Some(b"Y") {
            // Reset mode ignores MsgSeqNum: the peer tells us where it stands.
            self.apply_new_seq_no(msg, true);
            return Inbound::Admin;
        }
        // A Logout, and a ResendRequest (which a two-way gap would otherwise leave unanswered
        // for ever), are acted on even out of sequence. As QuickFIX, a MsgSeqNum too low on
        // them is no violation and leaves the number expected next as it is, and a Logout
        // too high is answered without asking for what it skipped.
        if !self.rules.validate_sequence_numbers {
            // ValidateSequenceNumbers=N: taken as it comes.
            self.next_target_seq = seq.saturating_add(1);
            return self.dispatch(now, msg, kind);
        }
        let always = kind == msg_type::LOGOUT || kind == msg_type::RESEND_REQUEST;
        if !always && seq < self.next_target_seq && !self.check_poss_dup(msg) {
            return Inbound::Ignored;
        }
        let too_high_logout = kind == msg_type::LOGOUT && seq > self.next_target_seq;
        let in_sequence = if (always && seq < self.next_target_seq) || too_high_logout {
            false
        } else {
            self.check_sequence(now, msg, seq)
        };
        if !in_sequence && !always {
            if seq > self.next_target_seq {
                self.beyond_gap.keep(seq, msg.as_bytes());
            }
            return Inbound::Ignored;
        }
        self.dispatch(now, msg, kind)
    }

    /// As QuickFIX, before anything else: a message without SenderCompID or TargetCompID is
    /// refused for the missing field. A logged-on session answers an application message of
    /// FIX.4.2 on with a BusinessMessageReject (and counts its MsgSeqNum), any other with a
    /// Reject (counting it when it was the one expected); before logon the connection closes.
    fn check_comp_ids_present(&mut self, msg: &Message<'_>) -> Option<Inbound> {
        let tag = [tags::SENDER_COMP_ID, tags::TARGET_COMP_ID]
            .into_iter()
            .find(|&tag| msg.get(tag).is_none())?;
        let rejection = Rejection {
            kind: RejectKind::RequiredTagMissing,
            tag: Some(i64::from(tag)),
        };
        if !self.completed_logon() {
            self.close_now(CloseReason::Protocol(ProtocolViolation::Invalid(rejection)));
            return Some(Inbound::Ignored);
        }
        let kind = msg.msg_type();
        let seq = msg.get_u64(tags::MSG_SEQ_NUM).ok().flatten();
        let before_fix42 = matches!(self.id.begin_string.as_str(), "FIX.4.0" | "FIX.4.1");
        if !msg_type::is_admin(kind) && !before_fix42 {
            self.next_target_seq += 1;
            self.admin.push_back(Admin::BusinessReject {
                ref_seq_num: seq,
                ref_msg_type: kind.to_vec(),
                tag,
            });
        } else {
            if kind != msg_type::SEQUENCE_RESET && seq == Some(self.next_target_seq) {
                self.next_target_seq += 1;
            }
            self.reject(msg, RejectReason::RequiredTagMissing { tag });
        }
        Some(Inbound::Ignored)
    }

    /// Whether messages are checked against a data dictionary: they are then parsed with
    /// [`Message::parse_for_validation`], so that empty values and bad tag numbers are
    /// rejected with their reason rather than skipped as garbled.
    pub fn validates(&self) -> bool {
        self.validator.is_some()
    }

    /// Validates `msg` against the data dictionaries; `Some` when it failed and was dealt
    /// with. As QuickFIX: a logged-on session rejects it, and counts its MsgSeqNum when that
    /// was the one expected (a Logon's and a SequenceReset's excepted); before logon there is
    /// no Reject to send and the connection closes; with RejectInvalidMessage=N it is
    /// reported and handled as if valid.
    fn validate(&mut self, msg: &Message<'_>) -> Option<Inbound> {
        let rejection = self.validator.as_mut()?.validate(msg).err()?;
        self.events.push_back(EventKind::MessageInvalid {
            session_id: self.id.clone(),
            msg_seq_num: msg.get_u64(tags::MSG_SEQ_NUM).ok().flatten(),
            reason: rejection.to_string(),
        });
        if !self.reject_invalid_message {
            return None;
        }
        if !self.completed_logon() {
            self.close_now(CloseReason::Protocol(ProtocolViolation::Invalid(rejection)));
            return Some(Inbound::Ignored);
        }
        let kind = msg.msg_type();
        let seq = msg.get_u64(tags::MSG_SEQ_NUM).ok().flatten();
        if kind != msg_type::LOGON
            && kind != msg_type::SEQUENCE_RESET
            && seq == Some(self.next_target_seq)
        {
            self.next_target_seq += 1;
        }
        self.reject(msg, RejectReason::Invalid(rejection));
        Some(Inbound::Ignored)
    }

    /// The next message the peer sent beyond a gap that is now its turn: hand it to
    /// [`Session::handle_message`] as if it had just arrived. Call it after every message
    /// handled, until it returns `None`.
    pub fn poll_queued(&mut self) -> Option<Vec<u8>> {
        if self.beyond_gap.is_empty() || !self.completed_logon() || !self.state.is_open() {
            return None;
        }
        self.beyond_gap.take(self.next_target_seq)
    }

    /// The peer sent bytes that do not frame or parse: Logout if logged on, then close.
    pub fn handle_malformed(&mut self, violation: ProtocolViolation) {
        self.violation(violation);
    }

    fn dispatch(&mut self, now: Instant, msg: &Message<'_>, kind: &[u8]) -> Inbound {
        if kind == msg_type::HEARTBEAT || kind == msg_type::REJECT {
            Inbound::Admin
        } else if kind == msg_type::TEST_REQUEST {
            let id = msg.get(tags::TEST_REQ_ID).unwrap_or_default().to_vec();
            self.admin.push_back(Admin::Heartbeat {
                test_req_id: Some(id),
            });
            Inbound::Admin
        } else if kind == msg_type::RESEND_REQUEST {
            self.on_resend_request(msg);
            Inbound::Admin
        } else if kind == msg_type::SEQUENCE_RESET {
            self.apply_new_seq_no(msg, false);
            Inbound::Admin
        } else if kind == msg_type::LOGOUT {
            self.on_logout(now, msg);
            Inbound::Admin
        } else {
            Inbound::Application
        }
    }

    fn check_header(&self, msg: &Message<'_>) -> Result<(), ProtocolViolation> {
        if msg.begin_string() != self.id.begin_string.as_bytes() {
            let received = String::from_utf8_lossy(msg.begin_string()).into_owned();
            return Err(ProtocolViolation::BeginStringMismatch { received });
        }
        if !self.rules.check_comp_id {
            return Ok(());
        }
        let sender = msg.get(tags::SENDER_COMP_ID).unwrap_or_default();
        let target = msg.get(tags::TARGET_COMP_ID).unwrap_or_default();
        if sender != self.id.target_comp_id.as_bytes()
            || target != self.id.sender_comp_id.as_bytes()
        {
            return Err(ProtocolViolation::CompIdMismatch {
                sender: String::from_utf8_lossy(sender).into_owned(),
                target: String::from_utf8_lossy(target).into_owned(),
            });
        }
        Ok(())
    }

    /// Applies MsgSeqNum rules; returns whether the message should be processed.
    fn check_sequence(&mut self, now: Instant, msg: &Message<'_>, seq: u64) -> bool {
        let expected = self.next_target_seq;
        if seq == expected {
            self.next_target_seq += 1;
            return true;
        }
        if seq < expected {
            if msg.get(tags::POSS_DUP_FLAG) != Some(b"Y") {
                self.violation(ProtocolViolation::SeqNumTooLow {
                    expected,
                    received: seq,
                });
            }
            return false;
        }
        self.report_gap(now, expected, seq);
        false
    }

    /// Reports a gap and asks for a resend from the first missing message, once per gap.
    ///
    /// A ResendRequest that has had no effect for a while (lost, or garbled and skipped by
    /// the peer) is sent again when messages keep coming beyond the gap.
    fn report_gap(&mut self, now: Instant, expected: u64, received: u64) {
        let unanswered = self.resend_requested_at.is_some_and(|at| {
            now.saturating_duration_since(at) > self.silence_limit().max(RESEND_PATIENCE)
        });
        let redundant = self.rules.send_redundant_resend_requests;
        if expected > self.resend_requested_to || unanswered || redundant {
            self.resend_requested_at = Some(now);
            self.events.push_back(EventKind::SequenceGap {
                session_id: self.id.clone(),
                expected,
                received,
            });
            self.request_resend(expected, received - 1);
            self.resend_requested_to = received;
        }
    }

    fn on_logon(&mut self, now: Instant, msg: &Message<'_>, seq: u64) {
        let heartbeat = match msg.get_u64(tags::HEART_BT_INT) {
            Ok(Some(secs)) => Duration::from_secs(secs),
            _ => {
                self.close_now(CloseReason::Protocol(ProtocolViolation::InvalidHeartBtInt));
                return;
            }
        };
        let peer_reset = msg.get(tags::RESET_SEQ_NUM_FLAG) == Some(b"Y");
        if let Some(validator) = &mut self.validator {
            let peer_default = msg
                .get(tags::DEFAULT_APPL_VER_ID)
                .and_then(|code| core::str::from_utf8(code).ok()?.parse().ok());
            validator.set_peer_appl_ver_id(peer_default);
        }
        if self.connection_type == ConnectionType::Acceptor {
            self.heartbeat = heartbeat;
            if peer_reset || self.reset_on_logon {
                self.reset_sequence_numbers(now);
            }
            // As QuickFIX: ResetOnLogon starts again at 1 without saying so; the reply
            // carries ResetSeqNumFlag only to answer the peer's.
            self.admin.push_back(Admin::Logon { reset: peer_reset });
        } else if peer_reset {
            self.next_target_seq = 1;
        }

        let expected = self.next_target_seq;
        if seq < expected {
            // Our Logon reply, if queued, gives way to a Logout saying why.
            self.admin.clear();
            let violation = ProtocolViolation::SeqNumTooLow {
                expected,
                received: seq,
            };
            self.logout_and_close(CloseReason::Protocol(violation));
            return;
        }
        self.advance(State::logged_on);
        self.timers.stop(Timer::LogonTimeout);
        if !self.heartbeat.is_zero() {
            self.timers.set(Timer::Heartbeat, now + self.heartbeat);
            self.timers
                .set(Timer::TestRequest, now + self.silence_limit());
        }
        self.events.push_back(EventKind::Logon {
            session_id: self.id.clone(),
        });
        if seq == expected {
            self.next_target_seq += 1;
        } else {
            self.report_gap(now, expected, seq);
        }
    }

    fn on_logout(&mut self, _now: Instant, msg: &Message<'_>) {
        self.logout_exchanged = true;
        // As QuickFIX: ResetOnLogout resets once a Logout came in, the peer's or its answer.
        self.reset_when_disconnected |= self.rules.reset_on_logout;
        if self.state() == SessionState::LoggingOut {
            self.close_now(CloseReason::LogoutComplete);
            return;
        }
        let text = String::from_utf8_lossy(msg.get(tags::TEXT).unwrap_or_default()).into_owned();
        self.admin.push_back(Admin::Logout {
            text: String::new(),
        });
        self.timers.stop_all();
        self.advance(|state| state.answering_logout(CloseReason::PeerLogout { text }));
    }

    fn on_resend_request(&mut self, msg: &Message<'_>) {
        let Ok(Some(begin)) = msg.get_u64(tags::BEGIN_SEQ_NO) else {
            return;
        };
        // EndSeqNo 0 (or beyond what we sent) asks for everything up to now.
        let last_sent = self.next_sender_seq - 1;
        let end = match msg.get_u64(tags::END_SEQ_NO) {
            Ok(Some(end)) if end != 0 => end.min(last_sent),
            _ => last_sent,
        };
        if begin < 1 || begin > end {
            return;
        }
        // A request while an answer is still going out widens that answer rather than
        // queueing another: a peer repeating itself costs one resend, not one per request.
        let pending = self.admin.iter_mut().find_map(|admin| match admin {
            Admin::Resend { from, to } => Some((from, to)),
            _ => None,
        });
        match pending {
            Some((from, to)) => {
                *from = (*from).min(begin);
                *to = (*to).max(end);
            }
            None => self.admin.push_back(Admin::Resend {
                from: begin,
                to: end,
            }),
        }
    }

    /// Moves the number expected next on to the SequenceReset's NewSeqNo; in reset mode
    /// (`reset`), a NewSeqNo going backwards is rejected instead, as QuickFIX does.
    fn apply_new_seq_no(&mut self, msg: &Message<'_>, reset: bool) {
        let Ok(Some(new_seq)) = msg.get_u64(tags::NEW_SEQ_NO) else {
            return;
        };
        let new_seq = if reset {
            new_seq
        } else {
            self.gap_fill_within_chunk(new_seq)
        };
        if new_seq > self.next_target_seq {
            self.next_target_seq = new_seq;
        } else if reset && new_seq < self.next_target_seq {
            self.reject(msg, RejectReason::ValueIncorrect);
        }
    }

    /// A protocol violation: Logout with the reason if logged on, otherwise close at once.
    fn violation(&mut self, violation: ProtocolViolation) {
        let reason = CloseReason::Protocol(violation);
        if self.completed_logon() {
            self.logout_and_close(reason);
        } else {
            self.close_now(reason);
        }
    }
}

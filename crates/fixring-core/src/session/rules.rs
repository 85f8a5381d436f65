//! The session keys beyond the connection, where they act on the session: the Sub and
//! Location IDs of a Logon, ResendRequests in chunks, and the resets after a Logout, a
//! disconnect or an error (see [`crate::config::SessionRules`]).

use super::admin::Admin;
use super::{CloseReason, ProtocolViolation, Session};
use crate::Instant;
use crate::codec::{Message, Tag, tags};

impl Session {
    /// Checks the Sub and Location IDs of the peer's Logon against the session's: each one
    /// configured must be there, reversed (the peer's SenderSubID is our TargetSubID…). One
    /// left unset is not checked, as QuickFIX C++ (which has none) does not. Skipped with
    /// `CheckCompID=N`.
    pub(super) fn check_logon_identity(&self, msg: &Message<'_>) -> Result<(), ProtocolViolation> {
        if !self.rules.check_comp_id {
            return Ok(());
        }
        let pairs = [
            (tags::SENDER_SUB_ID, &self.id.target_sub_id),
            (tags::SENDER_LOCATION_ID, &self.id.target_location_id),
            (tags::TARGET_SUB_ID, &self.id.sender_sub_id),
            (tags::TARGET_LOCATION_ID, &self.id.sender_location_id),
        ];
        for (tag, ours) in pairs {
            if ours.is_empty() {
                continue;
            }
            let received = msg.get(tag).unwrap_or_default();
            if received != ours.as_bytes() {
                return Err(ProtocolViolation::IdentityMismatch {
                    tag,
                    expected: ours.clone(),
                    received: String::from_utf8_lossy(received).into_owned(),
                });
            }
        }
        Ok(())
    }

    /// The first ResendRequest for a gap from `begin` up to `last` (the MsgSeqNum before the
    /// one that showed the gap): all of it (EndSeqNo 0), or with `ResendRequestChunkSize`
    /// the first chunk, the rest following as each is filled.
    pub(super) fn request_resend(&mut self, begin: u64, last: u64) {
        let chunk = self.rules.resend_request_chunk_size;
        if chunk == 0 {
            self.resend_chunk = None;
            self.admin.push_back(Admin::ResendRequest { begin, end: 0 });
            return;
        }
        let end = last.min(begin.saturating_add(chunk - 1));
        self.resend_chunk = Some(ResendChunk { end, last });
        self.admin.push_back(Admin::ResendRequest { begin, end });
    }

    /// Once the chunk asked for last is filled, asks for the next one, until the gap is.
    pub(super) fn continue_chunked_resend(&mut self) {
        let Some(chunk) = self.resend_chunk else {
            return;
        };
        if self.next_target_seq <= chunk.end {
            return;
        }
        if chunk.end >= chunk.last || self.next_target_seq > chunk.last {
            self.resend_chunk = None;
            return;
        }
        let begin = chunk.end + 1;
        self.request_resend(begin.max(self.next_target_seq), chunk.last);
    }

    /// A garbled message arrived (its BodyLength, CheckSum or fields are wrong). With
    /// `ResetOnError`, a logged-on session logs out, closes and starts its sequence numbers
    /// again, as QuickFIX/J's "Auto reset"; otherwise it is skipped, as the FIX rules ask.
    pub fn handle_garbled(&mut self) {
        if !self.rules.reset_on_error || !self.completed_logon() || !self.state.is_open() {
            return;
        }
        self.reset_when_disconnected = true;
        self.logout_and_close(CloseReason::AutoReset);
    }

    /// The connection has ended: resets the sequence numbers if `ResetOnDisconnect` says
    /// so, or if a Logout exchange with `ResetOnLogout`, or an auto reset, asked for it.
    pub(super) fn reset_after_disconnect(&mut self, now: Instant) {
        let asked = std::mem::take(&mut self.reset_when_disconnected);
        if asked || self.rules.reset_on_disconnect {
            self.reset_sequence_numbers(now);
        }
        if let Some(next) = self.next_sender_after_close.take() {
            self.next_sender_seq = next;
        }
    }

    /// CmeEnhancedResend: the peer's Logout answered our Logon. Its NextExpectedMsgSeqNum
    /// (789), when it has one, is the MsgSeqNum of our next Logon, once this connection,
    /// whose Logout answer still goes with our current number, has ended.
    pub(super) fn logout_before_logon(&mut self, msg: &Message<'_>) {
        if let Ok(Some(next)) = msg.get_u64(tags::NEXT_EXPECTED_MSG_SEQ_NUM)
            && next >= 1
        {
            self.next_sender_after_close = Some(next);
        }
    }

    /// CmeEnhancedResend: a GapFill's NewSeqNo reaching past the chunk of a gap asked for
    /// fills that chunk only, so that the next chunk is asked for; `new_seq` otherwise.
    pub(super) fn gap_fill_within_chunk(&self, new_seq: u64) -> u64 {
        match self.resend_chunk {
            Some(chunk) if self.rules.cme_enhanced_resend && chunk.end < chunk.last => {
                new_seq.min(chunk.end + 1)
            }
            _ => new_seq,
        }
    }
}

/// The part of a gap a chunked ResendRequest asked for: up to `end`, of a gap up to `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ResendChunk {
    end: u64,
    last: u64,
}

/// The tag of a Sub or Location ID, as it is called in messages.
pub(super) fn identity_tag_name(tag: Tag) -> &'static str {
    match tag {
        tags::SENDER_SUB_ID => "SenderSubID",
        tags::SENDER_LOCATION_ID => "SenderLocationID",
        tags::TARGET_SUB_ID => "TargetSubID",
        tags::TARGET_LOCATION_ID => "TargetLocationID",
        _ => "field",
    }
}

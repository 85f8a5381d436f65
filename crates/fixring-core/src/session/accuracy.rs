//! SendingTime accuracy, as QuickFIX checks it: with `CheckLatency`, a message whose
//! SendingTime (52) is more than `MaxLatency` away from our clock, either way, is not
//! processed; and a possible duplicate needs an OrigSendingTime (122) no later than its
//! SendingTime.

use super::reject::RejectReason;
use super::{CloseReason, ProtocolViolation, Session};
use crate::Instant;
use crate::codec::{Message, msg_type, parse_utc_timestamp, tags};

impl Session {
    /// Checks `msg`'s SendingTime against the session's clock at `now`; returns whether the
    /// message may be processed. One out of range (or missing, or unreadable) is rejected
    /// (SessionRejectReason 10) and the session logged out, as QuickFIX does; before the
    /// Logon exchange has completed, the connection is closed without a word.
    pub(super) fn check_sending_time(&mut self, now: Instant, msg: &Message<'_>) -> bool {
        let Some(max_latency) = self.max_latency else {
            return true;
        };
        let ours = self.clock.utc_at(now).unix_millis();
        let theirs = msg.sending_time().map(|time| self.sending_times.read(time));
        let max_millis = u64::try_from(max_latency.as_millis()).unwrap_or(u64::MAX);
        if let Some(Ok(theirs)) = theirs
            && ours.abs_diff(theirs.unix_millis()) <= max_millis
        {
            return true;
        }
        let violation = ProtocolViolation::SendingTimeAccuracy {
            received: String::from_utf8_lossy(msg.sending_time().unwrap_or_default()).into_owned(),
        };
        if self.completed_logon() {
            self.reject(msg, RejectReason::SendingTimeAccuracy);
            self.logout_and_close(CloseReason::Protocol(violation));
        } else {
            self.close_now(CloseReason::Protocol(violation));
        }
        false
    }

    /// Checks a possible duplicate whose MsgSeqNum is below the one expected, as QuickFIX
    /// does (only then, and never a SequenceReset); returns whether it passes. Without
    /// OrigSendingTime it is rejected, unless `RequiresOrigSendingTime=N` (SessionRejectReason 1, RefTagID 122); with one later
    /// than its SendingTime, or either unreadable, rejected (10) and the session logged out.
    pub(super) fn check_poss_dup(&mut self, msg: &Message<'_>) -> bool {
        if msg.get(tags::POSS_DUP_FLAG) != Some(b"Y") || msg.msg_type() == msg_type::SEQUENCE_RESET
        {
            return true;
        }
        let Some(orig) = msg.get(tags::ORIG_SENDING_TIME) else {
            // RequiresOrigSendingTime=N (QuickFIX/J, QuickFIX/n) lets it through.
            if !self.rules.requires_orig_sending_time {
                return true;
            }
            let tag = tags::ORIG_SENDING_TIME;
            self.reject(msg, RejectReason::RequiredTagMissing { tag });
            return false;
        };
        let sending = msg.sending_time().unwrap_or_default();
        if let (Ok(orig), Ok(sending)) = (parse_utc_timestamp(orig), parse_utc_timestamp(sending))
            && orig <= sending
        {
            return true;
        }
        let violation = ProtocolViolation::OrigSendingTimeAfterSendingTime {
            orig_sending_time: String::from_utf8_lossy(orig).into_owned(),
            sending_time: String::from_utf8_lossy(sending).into_owned(),
        };
        self.reject(msg, RejectReason::SendingTimeAccuracy);
        self.logout_and_close(CloseReason::Protocol(violation));
        false
    }
}

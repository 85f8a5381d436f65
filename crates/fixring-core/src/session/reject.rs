//! Session-level Rejects (MsgType 3): why a message of the peer's is refused, in QuickFIX's
//! words.

use super::Session;
use super::admin::Admin;
use crate::codec::{Message, Tag, tags};

/// A SessionRejectReason (373) the session sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RejectReason {
    /// 1: a field the message needs is absent; `tag` goes out as RefTagID (371).
    RequiredTagMissing { tag: Tag },
    /// 5: a value out of range, e.g. a SequenceReset-Reset's NewSeqNo going backwards.
    ValueIncorrect,
    /// 9: SenderCompID or TargetCompID do not match the session.
    CompIdProblem,
    /// 10: SendingTime too far from our clock.
    SendingTimeAccuracy,
}

impl RejectReason {
    /// The SessionRejectReason (373) value.
    pub(super) fn code(self) -> u64 {
        match self {
            Self::RequiredTagMissing { .. } => 1,
            Self::ValueIncorrect => 5,
            Self::CompIdProblem => 9,
            Self::SendingTimeAccuracy => 10,
        }
    }

    /// The RefTagID (371) of the field at fault, when the reason names one.
    pub(super) fn ref_tag_id(self) -> Option<Tag> {
        match self {
            Self::RequiredTagMissing { tag } => Some(tag),
            _ => None,
        }
    }

    /// The Text (58) QuickFIX sends with this reason.
    pub(super) fn text(self) -> &'static str {
        match self {
            Self::RequiredTagMissing { .. } => "Required tag missing",
            Self::ValueIncorrect => "Value is incorrect (out of range) for this tag",
            Self::CompIdProblem => "CompID problem",
            Self::SendingTimeAccuracy => "SendingTime accuracy problem",
        }
    }
}

impl Session {
    /// Queues a Reject of `msg` for `reason`: its MsgSeqNum (as RefSeqNum 45, when it has
    /// one) and MsgType (as RefMsgType 372). The Reject takes the next MsgSeqNum of ours.
    pub(super) fn reject(&mut self, msg: &Message<'_>, reason: RejectReason) {
        self.admin.push_back(Admin::Reject {
            ref_seq_num: msg.get_u64(tags::MSG_SEQ_NUM).ok().flatten(),
            ref_msg_type: msg.msg_type().to_vec(),
            reason,
        });
    }
}

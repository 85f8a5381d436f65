//! Session-level Rejects (MsgType 3): why a message of the peer's is refused, in QuickFIX's
//! words.

use super::Session;
use super::admin::{Admin, RejectStyle};
use crate::codec::{Message, Tag, tags};
use crate::dictionary::Rejection;

/// The routing fields of a message and the ones a reply to it carries instead, as QuickFIX's
/// `reverseRoute`: OnBehalfOf (115, 116, 144) becomes DeliverTo (128, 129, 145) and back.
const REVERSED_ROUTES: [(Tag, Tag); 6] = [
    (115, 128),
    (116, 129),
    (128, 115),
    (129, 116),
    (144, 145),
    (145, 144),
];

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
    /// A message that fails validation against the data dictionary, for the reason given.
    Invalid(Rejection),
}

impl RejectReason {
    /// The SessionRejectReason (373) value.
    pub(super) fn code(self) -> u64 {
        match self {
            Self::RequiredTagMissing { .. } => 1,
            Self::ValueIncorrect => 5,
            Self::CompIdProblem => 9,
            Self::SendingTimeAccuracy => 10,
            Self::Invalid(rejection) => rejection.kind.code(),
        }
    }

    /// The RefTagID (371) of the field at fault, when the reason names one.
    pub(super) fn ref_tag_id(self) -> Option<i64> {
        match self {
            Self::RequiredTagMissing { tag } => Some(i64::from(tag)),
            Self::Invalid(rejection) => rejection.tag,
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
            Self::Invalid(rejection) => rejection.kind.text(),
        }
    }
}

impl Session {
    /// Queues a Reject of `msg` for `reason`: its MsgSeqNum (as RefSeqNum 45, when it has
    /// one) and MsgType (as RefMsgType 372), its routing fields reversed. The Reject takes
    /// the next MsgSeqNum of ours.
    pub(super) fn reject(&mut self, msg: &Message<'_>, reason: RejectReason) {
        let route = REVERSED_ROUTES
            .iter()
            .filter_map(|&(theirs, ours)| {
                let value = msg.get(theirs).filter(|v| !v.is_empty())?;
                Some((ours, value.to_vec()))
            })
            .collect();
        self.admin.push_back(Admin::Reject {
            ref_seq_num: msg.get_u64(tags::MSG_SEQ_NUM).ok().flatten(),
            ref_msg_type: msg.msg_type().to_vec(),
            reason,
            route,
            style: RejectStyle::of(&self.id.begin_string),
        });
    }
}

//! The admin messages a session sends on its own.

use std::time::Duration;

use super::reject::RejectReason;
use crate::codec::{FieldWriter, InsufficientSize, Tag, msg_type, tags};

/// The TestReqID of every TestRequest a session sends, as QuickFIX's.
const TEST_REQ_ID: &[u8] = b"TEST";

/// An admin message waiting for [`super::Session::poll_transmit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Admin {
    /// Logon with our HeartBtInt; `reset` writes ResetSeqNumFlag=Y: an initiator's request
    /// that both sides start again at 1, or an acceptor's answer to the peer's.
    Logon { reset: bool },
    /// Heartbeat, answering a TestRequest when `test_req_id` is set.
    Heartbeat { test_req_id: Option<Vec<u8>> },
    /// TestRequest with TestReqID [`TEST_REQ_ID`].
    TestRequest,
    /// Logout with a reason.
    Logout { text: String },
    /// A session-level Reject of the peer's message `ref_seq_num` (when it had one) of type
    /// `ref_msg_type`.
    Reject {
        ref_seq_num: Option<u64>,
        ref_msg_type: Vec<u8>,
        reason: RejectReason,
        /// The peer's routing fields reversed (DeliverTo for OnBehalfOf and back), by tag.
        route: Vec<(Tag, Vec<u8>)>,
        style: RejectStyle,
    },
    /// A BusinessMessageReject of the peer's application message `ref_seq_num` of type
    /// `ref_msg_type`: a conditionally required field (`tag`) is missing, as QuickFIX says
    /// when an application message lacks SenderCompID or TargetCompID.
    BusinessReject {
        ref_seq_num: Option<u64>,
        ref_msg_type: Vec<u8>,
        tag: Tag,
    },
    /// ResendRequest from `begin` to `end`; 0 is infinity.
    ResendRequest { begin: u64, end: u64 },
    /// The peer's ResendRequest for `from` up to `to`, inclusive, not yet answered in full:
    /// stored messages go again, everything else is skipped with gap fills.
    Resend { from: u64, to: u64 },
}

impl Admin {
    pub(super) fn msg_type(&self) -> &'static [u8] {
        match self {
            Self::Logon { .. } => msg_type::LOGON,
            Self::Heartbeat { .. } => msg_type::HEARTBEAT,
            Self::TestRequest => msg_type::TEST_REQUEST,
            Self::Logout { .. } => msg_type::LOGOUT,
            Self::Reject { .. } => msg_type::REJECT,
            Self::BusinessReject { .. } => msg_type::BUSINESS_MESSAGE_REJECT,
            Self::ResendRequest { .. } => msg_type::RESEND_REQUEST,
            Self::Resend { .. } => msg_type::SEQUENCE_RESET,
        }
    }

    /// Writes the message's body fields in tag order, as QuickFIX writes them.
    pub(super) fn write_body(
        &self,
        out: &mut FieldWriter<'_>,
        heartbeat: Duration,
    ) -> Result<(), InsufficientSize> {
        match self {
            Self::Logon { reset } => {
                out.field_u64(tags::ENCRYPT_METHOD, 0)?;
                out.field_u64(tags::HEART_BT_INT, heartbeat.as_secs())?;
                if *reset {
                    out.field(tags::RESET_SEQ_NUM_FLAG, b"Y")?;
                }
            }
            Self::Heartbeat { test_req_id } => {
                // The peer's TestReqID: absent or empty gets no field (an empty value is not
                // valid FIX), and an oversized one is cut to fit the admin buffer.
                if let Some(id) = test_req_id.as_deref().filter(|id| !id.is_empty()) {
                    out.field(tags::TEST_REQ_ID, truncated(id))?;
                }
            }
            Self::TestRequest => out.field(tags::TEST_REQ_ID, TEST_REQ_ID)?,
            Self::Logout { text } => {
                if !text.is_empty() {
                    out.field(tags::TEXT, truncated(text.as_bytes()))?;
                }
            }
            Self::Reject {
                ref_seq_num,
                ref_msg_type,
                reason,
                route,
                style,
            } => {
                // Header fields, after the standard ones QuickFIX writes before them.
                for (tag, value) in route {
                    out.field(*tag, truncated(value))?;
                }
                if let Some(seq) = ref_seq_num {
                    out.field_u64(tags::REF_SEQ_NUM, *seq)?;
                }
                match reason.ref_tag_id() {
                    Some(tag) if *style == RejectStyle::BeforeFix42 => {
                        out.field_str(tags::TEXT, &format!("{} ({tag})", reason.text()))?;
                    }
                    Some(tag) => {
                        out.field_str(tags::TEXT, reason.text())?;
                        out.field(tags::REF_TAG_ID, format!("{tag}").as_bytes())?;
                    }
                    None => out.field_str(tags::TEXT, reason.text())?,
                }
                if *style != RejectStyle::BeforeFix42 && !ref_msg_type.is_empty() {
                    out.field(tags::REF_MSG_TYPE, truncated(ref_msg_type))?;
                }
                // As QuickFIX: FIX.4.2 defines the reasons up to 11 (Invalid MsgType).
                let code = reason.code();
                if *style == RejectStyle::AfterFix42 || (*style == RejectStyle::Fix42 && code <= 11)
                {
                    out.field_u64(tags::SESSION_REJECT_REASON, code)?;
                }
            }
            Self::BusinessReject {
                ref_seq_num,
                ref_msg_type,
                tag,
            } => {
                if let Some(seq) = ref_seq_num {
                    out.field_u64(tags::REF_SEQ_NUM, *seq)?;
                }
                // QuickFIX's words, the tag after them: a BusinessMessageReject has no RefTagID.
                let text = format!("Conditionally Required Field Missing ({tag})");
                out.field_str(tags::TEXT, &text)?;
                out.field(tags::REF_MSG_TYPE, truncated(ref_msg_type))?;
                // BusinessRejectReason (380) 5: conditionally required field missing.
                out.field_u64(BUSINESS_REJECT_REASON, 5)?;
            }
            Self::ResendRequest { begin, end } => {
                out.field_u64(tags::BEGIN_SEQ_NO, *begin)?;
                out.field_u64(tags::END_SEQ_NO, *end)?;
            }
            // Answered piece by piece by the session, which writes its gap fills itself.
            Self::Resend { .. } => {}
        }
        Ok(())
    }
}

/// Which fields a Reject has, by BeginString, as QuickFIX writes them: RefTagID (371),
/// RefMsgType (372) and SessionRejectReason (373) came with FIX.4.2, which defines its reasons
/// up to 11; before it the tag at fault goes in the Text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RejectStyle {
    /// FIX.4.0 and FIX.4.1.
    BeforeFix42,
    /// FIX.4.2.
    Fix42,
    /// FIX.4.3 on, and FIXT.1.1.
    AfterFix42,
}

impl RejectStyle {
    pub(super) fn of(begin_string: &str) -> Self {
        match begin_string {
            "FIX.4.0" | "FIX.4.1" => Self::BeforeFix42,
            "FIX.4.2" => Self::Fix42,
            _ => Self::AfterFix42,
        }
    }
}

/// The body of a SequenceReset-GapFill moving the peer on to `new_seq`, in tag order as
/// QuickFIX writes it: NewSeqNo (36), then GapFillFlag (123).
pub(super) fn write_gap_fill(
    out: &mut FieldWriter<'_>,
    new_seq: u64,
) -> Result<(), InsufficientSize> {
    out.field_u64(tags::NEW_SEQ_NO, new_seq)?;
    out.field(tags::GAP_FILL_FLAG, b"Y")
}

/// BusinessRejectReason: why a BusinessMessageReject refuses a message.
const BUSINESS_REJECT_REASON: Tag = 380;

/// Text, or an echoed TestReqID, longer than this is cut, keeping admin messages inside their
/// fixed buffer.
const MAX_TEXT: usize = 256;

fn truncated(text: &[u8]) -> &[u8] {
    let text = &text[..text.len().min(MAX_TEXT)];
    // A SOH inside Text would end the field early; stop before it.
    match text.iter().position(|&b| b == 0x01) {
        Some(end) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;

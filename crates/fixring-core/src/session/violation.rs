//! Why a session ends a connection, and why it refuses to send.

use core::fmt;
use std::time::Duration;

use crate::codec::{DecodeError, InsufficientSize, ParseError};

/// Why a session asks for its connection to be closed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The Logon exchange did not complete within LogonTimeout.
    LogonTimeout,
    /// The peer answered our Logout.
    LogoutComplete,
    /// The peer did not answer our Logout within LogoutTimeout.
    LogoutTimeout,
    /// The peer sent a Logout, and we answered it.
    PeerLogout {
        /// The peer's Text (58), if any.
        text: String,
    },
    /// Nothing arrived for two silence intervals, a TestRequest included.
    PeerSilent {
        /// The heartbeat interval in force.
        interval: Duration,
    },
    /// The peer broke the protocol.
    Protocol(ProtocolViolation),
    /// The local side stopped the session before logon completed.
    LocalStop,
    /// A garbled message arrived with `ResetOnError`: the session logs out and starts its
    /// sequence numbers again, as QuickFIX/J's "Auto reset".
    AutoReset,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LogonTimeout => f.write_str("logon timed out"),
            Self::LogoutComplete => f.write_str("logout complete"),
            Self::LogoutTimeout => f.write_str("logout reply timed out"),
            Self::PeerLogout { text } if text.is_empty() => f.write_str("peer logged out"),
            Self::PeerLogout { text } => write!(f, "peer logged out: {text}"),
            Self::PeerSilent { interval } => {
                write!(
                    f,
                    "peer silent, no reply to TestRequest (HeartBtInt {}s)",
                    interval.as_secs()
                )
            }
            Self::Protocol(violation) => violation.fmt(f),
            Self::LocalStop => f.write_str("stopped locally"),
            Self::AutoReset => f.write_str("auto reset after a garbled message (ResetOnError)"),
        }
    }
}

impl CloseReason {
    /// The Text (58) of the Logout a session sends when it closes for this reason: QuickFIX's
    /// wording where it differs from the reason's own (which may say more).
    pub(super) fn logout_text(&self) -> String {
        match self {
            Self::Protocol(ProtocolViolation::BeginStringMismatch { .. }) => {
                "Incorrect BeginString".to_owned()
            }
            // As QuickFIX/J, whose Logout says nothing on a timeout or an auto reset.
            Self::PeerSilent { .. } | Self::AutoReset => String::new(),
            // The Reject before the Logout says why.
            Self::Protocol(
                ProtocolViolation::CompIdMismatch { .. }
                | ProtocolViolation::SendingTimeAccuracy { .. }
                | ProtocolViolation::OrigSendingTimeAfterSendingTime { .. },
            ) => String::new(),
            reason => reason.to_string(),
        }
    }
}

/// A way the peer broke the FIX session protocol.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolViolation {
    /// MsgSeqNum below the expected one, without PossDupFlag.
    SeqNumTooLow {
        /// The MsgSeqNum we expected.
        expected: u64,
        /// The MsgSeqNum received.
        received: u64,
    },
    /// A message without a usable MsgSeqNum (34).
    MissingSeqNum,
    /// SenderCompID/TargetCompID do not match the session.
    CompIdMismatch {
        /// The peer's SenderCompID (49) as received.
        sender: String,
        /// The peer's TargetCompID (56) as received.
        target: String,
    },
    /// SendingTime (52) is further from our clock than MaxLatency, or missing, or not a
    /// UTCTimestamp.
    SendingTimeAccuracy {
        /// The SendingTime received, empty when there was none.
        received: String,
    },
    /// A possible duplicate's OrigSendingTime (122) is later than its SendingTime (52), or
    /// one of the two is not a UTCTimestamp.
    OrigSendingTimeAfterSendingTime {
        /// The OrigSendingTime received.
        orig_sending_time: String,
        /// The SendingTime received, empty when there was none.
        sending_time: String,
    },
    /// A Logon's Sub or Location ID differs from the one the session is configured with.
    IdentityMismatch {
        /// The field: SenderSubID (50), TargetSubID (57), SenderLocationID (142) or
        /// TargetLocationID (143), as the peer sent it.
        tag: crate::codec::Tag,
        /// The value the session expects there.
        expected: String,
        /// The value received, empty when the field was absent.
        received: String,
    },
    /// BeginString differs from the session's.
    BeginStringMismatch {
        /// The BeginString received.
        received: String,
    },
    /// The first message on a connection was not a Logon.
    FirstMessageNotLogon,
    /// A Logon arrived on a connection already logged on.
    DuplicateLogon,
    /// The Logon's HeartBtInt (108) is missing, not a number, or negative.
    InvalidHeartBtInt,
    /// A message could not be framed.
    Malformed(DecodeError),
    /// A framed message's fields could not be read.
    BadField(ParseError),
    /// A message before logon failed validation against the data dictionary.
    Invalid(crate::dictionary::Rejection),
}

impl fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SeqNumTooLow { expected, received } => {
                write!(
                    f,
                    "MsgSeqNum too low, expecting {expected} but received {received}"
                )
            }
            Self::MissingSeqNum => f.write_str("MsgSeqNum (34) missing or invalid"),
            Self::CompIdMismatch { sender, target } => {
                write!(
                    f,
                    "CompID problem: SenderCompID={sender} TargetCompID={target}"
                )
            }
            Self::SendingTimeAccuracy { received } => {
                write!(f, "SendingTime accuracy problem: received {received:?}")
            }
            Self::OrigSendingTimeAfterSendingTime {
                orig_sending_time,
                sending_time,
            } => write!(
                f,
                "SendingTime accuracy problem: OrigSendingTime {orig_sending_time:?} \
                 after SendingTime {sending_time:?}"
            ),
            Self::IdentityMismatch {
                tag,
                expected,
                received,
            } => write!(
                f,
                "{} ({tag}) problem: expected {expected:?}, received {received:?}",
                super::rules::identity_tag_name(*tag)
            ),
            Self::BeginStringMismatch { received } => {
                write!(f, "Incorrect BeginString: received {received}")
            }
            Self::FirstMessageNotLogon => f.write_str("first message was not a Logon"),
            Self::DuplicateLogon => f.write_str("Logon received on a logged-on session"),
            Self::InvalidHeartBtInt => {
                f.write_str("Logon with a missing or invalid HeartBtInt (108)")
            }
            Self::Malformed(error) => write!(f, "malformed message: {error}"),
            Self::BadField(error) => write!(f, "malformed field: {error}"),
            Self::Invalid(rejection) => write!(f, "invalid message: {rejection}"),
        }
    }
}

impl std::error::Error for ProtocolViolation {}

/// Why [`super::Session::send`] did not encode a message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The session is not logged on; the message was not sent and stays with the caller.
    NotLoggedOn,
    /// The output buffer is too small.
    InsufficientSize(InsufficientSize),
    /// So many messages already wait for room in the send buffer that this one is refused.
    BacklogFull {
        /// How many messages may wait.
        limit: usize,
    },
}

impl From<InsufficientSize> for SendError {
    fn from(e: InsufficientSize) -> Self {
        Self::InsufficientSize(e)
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLoggedOn => f.write_str("session is not logged on; message not sent"),
            Self::InsufficientSize(e) => e.fmt(f),
            Self::BacklogFull { limit } => write!(
                f,
                "{limit} messages already wait for room in the send buffer; message not sent"
            ),
        }
    }
}

impl std::error::Error for SendError {}

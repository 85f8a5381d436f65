//! Tag numbers and MsgType values the session layer uses.

/// A FIX tag number.
pub type Tag = u32;

/// BeginSeqNo: first sequence number of a ResendRequest's range.
pub const BEGIN_SEQ_NO: Tag = 7;
/// BeginString: the protocol version, always the first field.
pub const BEGIN_STRING: Tag = 8;
/// BodyLength: always the second field.
pub const BODY_LENGTH: Tag = 9;
/// CheckSum: always the last field.
pub const CHECK_SUM: Tag = 10;
/// EndSeqNo: last sequence number of a ResendRequest's range (0 for "infinity").
pub const END_SEQ_NO: Tag = 16;
/// MsgSeqNum: the message's sequence number.
pub const MSG_SEQ_NUM: Tag = 34;
/// MsgType: always the third field.
pub const MSG_TYPE: Tag = 35;
/// NewSeqNo: the next sequence number a SequenceReset announces.
pub const NEW_SEQ_NO: Tag = 36;
/// PossDupFlag: `Y` when the message may have been sent before.
pub const POSS_DUP_FLAG: Tag = 43;
/// RefSeqNum: the sequence number a Reject refers to.
pub const REF_SEQ_NUM: Tag = 45;
/// SenderCompID: the sending firm's identifier.
pub const SENDER_COMP_ID: Tag = 49;
/// SenderSubID: a desk or trader within the sending firm.
pub const SENDER_SUB_ID: Tag = 50;
/// SendingTime: when the message was sent, UTC.
pub const SENDING_TIME: Tag = 52;
/// TargetCompID: the receiving firm's identifier.
pub const TARGET_COMP_ID: Tag = 56;
/// TargetSubID: a desk or trader within the receiving firm.
pub const TARGET_SUB_ID: Tag = 57;
/// Text: free-form text, e.g. a Logout or Reject reason.
pub const TEXT: Tag = 58;
/// EncryptMethod: 0 (none) on a Logon.
pub const ENCRYPT_METHOD: Tag = 98;
/// HeartBtInt: the heartbeat interval in seconds on a Logon.
pub const HEART_BT_INT: Tag = 108;
/// TestReqID: the identifier a TestRequest asks to see echoed in a Heartbeat.
pub const TEST_REQ_ID: Tag = 112;
/// OrigSendingTime: the original SendingTime of a resent message.
pub const ORIG_SENDING_TIME: Tag = 122;
/// GapFillFlag: `Y` when a SequenceReset fills a gap rather than resets.
pub const GAP_FILL_FLAG: Tag = 123;
/// ResetSeqNumFlag: `Y` on a Logon that resets both sequence numbers to 1.
pub const RESET_SEQ_NUM_FLAG: Tag = 141;
/// SenderLocationID: the sending firm's location.
pub const SENDER_LOCATION_ID: Tag = 142;
/// TargetLocationID: the receiving firm's location.
pub const TARGET_LOCATION_ID: Tag = 143;
/// LastMsgSeqNumProcessed: the last MsgSeqNum of the peer's the sender processed.
pub const LAST_MSG_SEQ_NUM_PROCESSED: Tag = 369;
/// NextExpectedMsgSeqNum: the MsgSeqNum the sender expects from us next.
pub const NEXT_EXPECTED_MSG_SEQ_NUM: Tag = 789;
/// ApplVerID: on a FIXT.1.1 message, the application version of its body.
pub const APPL_VER_ID: Tag = 1128;
/// DefaultApplVerID: on a FIXT.1.1 Logon, the application version the session's messages
/// default to.
pub const DEFAULT_APPL_VER_ID: Tag = 1137;
/// RefTagID: the tag a session-level Reject refers to.
pub const REF_TAG_ID: Tag = 371;
/// RefMsgType: the MsgType a session-level Reject refers to.
pub const REF_MSG_TYPE: Tag = 372;
/// SessionRejectReason: the code of a session-level Reject.
pub const SESSION_REJECT_REASON: Tag = 373;

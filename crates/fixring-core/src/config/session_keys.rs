//! The session-layer keys beyond the connection: what resets the sequence numbers, how gaps
//! are asked for, which optional header fields go out and how precise SendingTime is, what
//! is checked on input; and the Sub and Location IDs that are part of a session's identity.
//!
//! Each key has the meaning, the spelling and the default of the engine that defines it
//! (QuickFIX C++, QuickFIX/J, QuickFIX/n, quickfixgo); docs/configuration.md lists them.

use super::error::Report;
use super::parse::{View, invalid};
use super::session::{flag, number};
use crate::{SessionId, TimestampPrecision};

const SENDER_SUB_ID: &str = "sendersubid";
const SENDER_LOCATION_ID: &str = "senderlocationid";
const TARGET_SUB_ID: &str = "targetsubid";
const TARGET_LOCATION_ID: &str = "targetlocationid";
const RESET_ON_LOGOUT: &str = "resetonlogout";
const RESET_ON_DISCONNECT: &str = "resetondisconnect";
const RESET_ON_ERROR: &str = "resetonerror";
const REFRESH_ON_LOGON: &str = "refreshonlogon";
const SEND_REDUNDANT_RESEND_REQUESTS: &str = "sendredundantresendrequests";
const RESEND_REQUEST_CHUNK_SIZE: &str = "resendrequestchunksize";
const MAX_MESSAGES_IN_RESEND_REQUEST: &str = "maxmessagesinresendrequest";
const ENABLE_LAST_MSG_SEQ_NUM_PROCESSED: &str = "enablelastmsgseqnumprocessed";
const REQUIRES_ORIG_SENDING_TIME: &str = "requiresorigsendingtime";
const SEND_LOGOUT_BEFORE_TIMEOUT: &str = "sendlogoutbeforedisconnectfromtimeout";
const TIMESTAMP_PRECISION: &str = "timestampprecision";
const MILLISECONDS_IN_TIMESTAMP: &str = "millisecondsintimestamp";
const CHECK_COMP_ID: &str = "checkcompid";
const VALIDATE_LENGTH_AND_CHECKSUM: &str = "validatelengthandchecksum";
const DEFAULT_APPL_VER_ID: &str = "defaultapplverid";
const CME_ENHANCED_RESEND: &str = "cmeenhancedresend";
const VALIDATE_SEQUENCE_NUMBERS: &str = "validatesequencenumbers";

/// Every key this module reads (lower-cased).
const KEYS: [&str; 21] = [
    SENDER_SUB_ID,
    SENDER_LOCATION_ID,
    TARGET_SUB_ID,
    TARGET_LOCATION_ID,
    RESET_ON_LOGOUT,
    RESET_ON_DISCONNECT,
    RESET_ON_ERROR,
    REFRESH_ON_LOGON,
    SEND_REDUNDANT_RESEND_REQUESTS,
    RESEND_REQUEST_CHUNK_SIZE,
    MAX_MESSAGES_IN_RESEND_REQUEST,
    ENABLE_LAST_MSG_SEQ_NUM_PROCESSED,
    REQUIRES_ORIG_SENDING_TIME,
    SEND_LOGOUT_BEFORE_TIMEOUT,
    TIMESTAMP_PRECISION,
    MILLISECONDS_IN_TIMESTAMP,
    CHECK_COMP_ID,
    VALIDATE_LENGTH_AND_CHECKSUM,
    DEFAULT_APPL_VER_ID,
    CME_ENHANCED_RESEND,
    VALIDATE_SEQUENCE_NUMBERS,
];

/// Whether a canonical name is one of this module's keys.
pub(super) fn is_key(name: &str) -> bool {
    KEYS.contains(&name)
}

/// What a session does beyond the connection: resets, resend requests, optional header
/// fields, SendingTime precision and input checks. `Default` is every engine's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRules {
    /// ResetOnLogout: both sequence numbers start again at 1 once a Logout exchange ends the
    /// connection (the peer's Logout, or its answer to ours) (default N).
    pub reset_on_logout: bool,
    /// ResetOnDisconnect: both sequence numbers start again at 1 whenever the connection
    /// ends, for whatever reason (default N).
    pub reset_on_disconnect: bool,
    /// ResetOnError (QuickFIX/J): a garbled message while logged on logs the session out
    /// ("Auto reset"), closes it and starts both sequence numbers again at 1 (default N).
    pub reset_on_error: bool,
    /// RefreshOnLogon: before each Logon, the sequence numbers and sent messages are read
    /// again from the file store (`FileStorePath`) (default N).
    pub refresh_on_logon: bool,
    /// SendRedundantResendRequests: every message beyond a gap asks for a resend again,
    /// even when a ResendRequest already covers it (default N: one per gap).
    pub send_redundant_resend_requests: bool,
    /// ResendRequestChunkSize (QuickFIX/J), MaxMessagesInResendRequest (QuickFIX C++ and
    /// QuickFIX/n): a gap is asked for in ResendRequests of at most this many messages, the
    /// next once the last is filled; 0 asks for everything at once (default 0).
    pub resend_request_chunk_size: u64,
    /// EnableLastMsgSeqNumProcessed: every message we send carries LastMsgSeqNumProcessed
    /// (369), the last MsgSeqNum of the peer's we processed (default N).
    pub enable_last_msg_seq_num_processed: bool,
    /// RequiresOrigSendingTime (QuickFIX/J, QuickFIX/n): a possible duplicate without
    /// OrigSendingTime (122) is rejected; with N it is accepted (default Y).
    pub requires_orig_sending_time: bool,
    /// SendLogoutBeforeDisconnectFromTimeout (QuickFIX/J, QuickFIX/n): a peer that stays
    /// silent past its TestRequest gets a Logout before the connection closes (default N).
    pub send_logout_before_timeout_disconnect: bool,
    /// TimestampPrecision, MillisecondsInTimeStamp: the digits of a second in SendingTime
    /// and OrigSendingTime, from FIX.4.2 on; FIX.4.0 and FIX.4.1 send whole seconds, as
    /// QuickFIX does (default milliseconds).
    pub timestamp_precision: TimestampPrecision,
    /// CheckCompID: the peer's SenderCompID and TargetCompID must be ours reversed; with N
    /// they are not checked (default Y).
    pub check_comp_id: bool,
    /// ValidateLengthAndChecksum: a message whose BodyLength or CheckSum is wrong is garbled
    /// and skipped; with N it is read all the same, framed up to its CheckSum field as
    /// QuickFIX frames it (default Y).
    pub validate_length_and_checksum: bool,
    /// DefaultApplVerID: the ApplVerID (1137) a FIXT.1.1 session's Logon carries, as its
    /// code (`9` for FIX.5.0SP2); none by default. Other BeginStrings do not send it.
    pub default_appl_ver_id: Option<u8>,
    /// CmeEnhancedResend (QuickFIX/n), CME's resend rules: a GapFill that reaches past the
    /// chunk of a gap asked for (`MaxMessagesInResendRequest`) fills that chunk only, and
    /// the next chunk is asked for; a Logout in answer to our Logon that carries
    /// NextExpectedMsgSeqNum (789) is answered, and our next Logon goes with that MsgSeqNum
    /// (default N).
    pub cme_enhanced_resend: bool,
    /// ValidateSequenceNumbers (QuickFIX/J): a logged-on session's messages are checked
    /// against the MsgSeqNum expected, a gap asked for again and a number too low logged out;
    /// with N every message is taken as it comes, and the number expected next follows the
    /// peer's (default Y).
    pub validate_sequence_numbers: bool,
}

impl Default for SessionRules {
    fn default() -> Self {
        Self {
            reset_on_logout: false,
            reset_on_disconnect: false,
            reset_on_error: false,
            refresh_on_logon: false,
            send_redundant_resend_requests: false,
            resend_request_chunk_size: 0,
            enable_last_msg_seq_num_processed: false,
            requires_orig_sending_time: true,
            send_logout_before_timeout_disconnect: false,
            timestamp_precision: TimestampPrecision::Millis,
            check_comp_id: true,
            validate_length_and_checksum: true,
            default_appl_ver_id: None,
            cme_enhanced_resend: false,
            validate_sequence_numbers: true,
        }
    }
}

/// Fills in `id`'s SenderSubID, SenderLocationID, TargetSubID and TargetLocationID.
pub(super) fn read_identity(view: &View<'_, '_>, id: &mut SessionId) {
    let value = |name| {
        view.get(name)
            .map_or_else(String::new, |e| e.value.to_owned())
    };
    id.sender_sub_id = value(SENDER_SUB_ID);
    id.sender_location_id = value(SENDER_LOCATION_ID);
    id.target_sub_id = value(TARGET_SUB_ID);
    id.target_location_id = value(TARGET_LOCATION_ID);
}

/// Reads the session's rules; errors go to `report` and leave the default in place.
pub(super) fn read_rules(view: &View<'_, '_>, report: &mut Report) -> SessionRules {
    let mut rules = SessionRules::default();
    let set = |name: &str, field: &mut bool, report: &mut Report| {
        if let Some(value) = flag(view, name, report) {
            *field = value;
        }
    };
    set(RESET_ON_LOGOUT, &mut rules.reset_on_logout, report);
    set(RESET_ON_DISCONNECT, &mut rules.reset_on_disconnect, report);
    set(RESET_ON_ERROR, &mut rules.reset_on_error, report);
    set(REFRESH_ON_LOGON, &mut rules.refresh_on_logon, report);
    set(
        SEND_REDUNDANT_RESEND_REQUESTS,
        &mut rules.send_redundant_resend_requests,
        report,
    );
    set(
        ENABLE_LAST_MSG_SEQ_NUM_PROCESSED,
        &mut rules.enable_last_msg_seq_num_processed,
        report,
    );
    set(
        REQUIRES_ORIG_SENDING_TIME,
        &mut rules.requires_orig_sending_time,
        report,
    );
    set(
        SEND_LOGOUT_BEFORE_TIMEOUT,
        &mut rules.send_logout_before_timeout_disconnect,
        report,
    );
    set(CHECK_COMP_ID, &mut rules.check_comp_id, report);
    set(CME_ENHANCED_RESEND, &mut rules.cme_enhanced_resend, report);
    set(
        VALIDATE_SEQUENCE_NUMBERS,
        &mut rules.validate_sequence_numbers,
        report,
    );
    set(
        VALIDATE_LENGTH_AND_CHECKSUM,
        &mut rules.validate_length_and_checksum,
        report,
    );
    // Both spellings mean the same; QuickFIX/J's wins when a file has both.
    for name in [MAX_MESSAGES_IN_RESEND_REQUEST, RESEND_REQUEST_CHUNK_SIZE] {
        if let Some(chunk) = view.get(name).and_then(|entry| number(entry, report)) {
            rules.resend_request_chunk_size = chunk;
        }
    }
    // As QuickFIX C++: MillisecondsInTimeStamp first, TimestampPrecision over it.
    if let Some(millis) = flag(view, MILLISECONDS_IN_TIMESTAMP, report) {
        rules.timestamp_precision = if millis {
            TimestampPrecision::Millis
        } else {
            TimestampPrecision::Seconds
        };
    }
    if let Some(precision) = timestamp_precision(view, report) {
        rules.timestamp_precision = precision;
    }
    rules.default_appl_ver_id = default_appl_ver_id(view, report);
    rules
}

/// The FIX versions DefaultApplVerID names, in the order of their ApplVerID codes (0–9).
const APPL_VER_IDS: [&str; 10] = [
    "FIX.2.7",
    "FIX.3.0",
    "FIX.4.0",
    "FIX.4.1",
    "FIX.4.2",
    "FIX.4.3",
    "FIX.4.4",
    "FIX.5.0",
    "FIX.5.0SP1",
    "FIX.5.0SP2",
];

/// The ApplVerID code of a version named as a BeginString (`FIX.4.4` is 6), in any case.
pub(super) fn appl_ver_id_of(version: &str) -> Option<u8> {
    APPL_VER_IDS
        .iter()
        .position(|name| name.eq_ignore_ascii_case(version))
        .and_then(|code| u8::try_from(code).ok())
}

/// DefaultApplVerID: an ApplVerID code (`0`–`9`) or the BeginString of the version
/// (`FIX.5.0SP2`), as QuickFIX C++, QuickFIX/J, QuickFIX/n and quickfixgo take it.
fn default_appl_ver_id(view: &View<'_, '_>, report: &mut Report) -> Option<u8> {
    let entry = view.get(DEFAULT_APPL_VER_ID)?;
    let value = entry.value.trim();
    let by_code = value.parse::<u8>().ok().filter(|&code| code <= 9);
    let code = by_code.or_else(|| appl_ver_id_of(value));
    if code.is_none() {
        let reason = "expected an ApplVerID code 0-9 or a version such as FIX.5.0SP2".to_owned();
        invalid(report, entry, reason);
    }
    code
}

/// TimestampPrecision: QuickFIX C++'s digits (0, 3, 6, 9), QuickFIX/J's and quickfixgo's
/// names (`SECONDS`, `MILLIS`, `MICROS`, `NANOS`) or QuickFIX/n's (`Second`, `Millisecond`,
/// `Microsecond`, `Nanosecond`), in any case.
fn timestamp_precision(view: &View<'_, '_>, report: &mut Report) -> Option<TimestampPrecision> {
    let entry = view.get(TIMESTAMP_PRECISION)?;
    let value = entry.value.to_ascii_lowercase();
    let precision = match value.as_str() {
        "0" | "seconds" | "second" => TimestampPrecision::Seconds,
        "3" | "millis" | "millisecond" => TimestampPrecision::Millis,
        "6" | "micros" | "microsecond" => TimestampPrecision::Micros,
        "9" | "nanos" | "nanosecond" => TimestampPrecision::Nanos,
        _ => {
            let reason = "expected 0, 3, 6 or 9 digits (or SECONDS, MILLIS, MICROS, NANOS): \
                          fixring writes whole milli-, micro- or nanoseconds"
                .to_owned();
            invalid(report, entry, reason);
            return None;
        }
    };
    Some(precision)
}

//! Encoding a whole outbound message: standard header, caller's body, trailer.

use super::ascii::{U64_DIGITS, checksum, checksum_digits, format_u64};
use super::writer::{Cursor, InsufficientSize};
use crate::UtcTimestamp;

/// The standard header fields of an outbound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// BeginString (8), e.g. `"FIX.4.4"`.
    pub begin_string: &'a str,
    /// MsgType (35), e.g. [`super::msg_type::LOGON`].
    pub msg_type: &'a [u8],
    /// SenderCompID (49).
    pub sender_comp_id: &'a str,
    /// TargetCompID (56).
    pub target_comp_id: &'a str,
    /// MsgSeqNum (34).
    pub msg_seq_num: u64,
    /// SendingTime (52), written as UTC with milliseconds.
    pub sending_time: UtcTimestamp,
    /// Whether to write PossDupFlag (43) as `Y`; when false the field is left out.
    pub poss_dup: bool,
    /// OrigSendingTime (122), written when present.
    pub orig_sending_time: Option<UtcTimestamp>,
}

/// Fixed bytes of the header fields after BodyLength: `35=`, `34=`, `49=`, `52=`, `56=` and
/// their five SOHs, plus SendingTime itself.
const FIXED_HEADER_LEN: usize = 5 * 4 + UtcTimestamp::FIX_LEN;
/// `43=Y<SOH>`.
const POSS_DUP_LEN: usize = 5;
/// `122=` + timestamp + SOH.
const ORIG_SENDING_TIME_LEN: usize = 5 + UtcTimestamp::FIX_LEN;
/// `10=NNN<SOH>`.
const TRAILER_LEN: usize = 7;

/// Writes a whole message into `out` and returns its length.
///
/// Fields appear as QuickFIX writes them: 8, 9, 35 first, then the other header fields in
/// tag order (34, 43 when set, 49, 52, 56, 122 when set), then `body` verbatim, then
/// CheckSum (10). `body` is zero or more already-encoded fields
/// (`tag=value<SOH>…`, e.g. from a [`super::FieldWriter`]); BodyLength and CheckSum are
/// computed here. When `out` is too short nothing usable is written and the error says how
/// long it must be.
pub fn encode(header: &Header<'_>, body: &[u8], out: &mut [u8]) -> Result<usize, InsufficientSize> {
    let mut seq_buf = [0u8; U64_DIGITS];
    let seq = format_u64(&mut seq_buf, header.msg_seq_num);
    let mut body_len = FIXED_HEADER_LEN
        + header.msg_type.len()
        + header.sender_comp_id.len()
        + header.target_comp_id.len()
        + seq.len()
        + body.len();
    if header.poss_dup {
        body_len += POSS_DUP_LEN;
    }
    if header.orig_sending_time.is_some() {
        body_len += ORIG_SENDING_TIME_LEN;
    }
    let mut len_buf = [0u8; U64_DIGITS];
    let len_digits = format_u64(&mut len_buf, body_len as u64);
    // "8=" value SOH "9=" digits SOH
    let header_len = 2 + header.begin_string.len() + 1 + 2 + len_digits.len() + 1;
    let total = header_len + body_len + TRAILER_LEN;
    let out = out
        .get_mut(..total)
        .ok_or(InsufficientSize { required: total })?;

    let mut w = Cursor::new(out, 0);
    w.field(b"8", header.begin_string.as_bytes())?;
    w.field(b"9", len_digits)?;
    w.field(b"35", header.msg_type)?;
    w.field(b"34", seq)?;
    if header.poss_dup {
        w.field(b"43", b"Y")?;
    }
    w.field(b"49", header.sender_comp_id.as_bytes())?;
    let mut time = [0u8; UtcTimestamp::FIX_LEN];
    header.sending_time.write_fix(&mut time);
    w.field(b"52", &time)?;
    w.field(b"56", header.target_comp_id.as_bytes())?;
    if let Some(orig) = header.orig_sending_time {
        orig.write_fix(&mut time);
        w.field(b"122", &time)?;
    }
    w.put(body)?;
    let sum = checksum(w.written());
    w.field(b"10", &checksum_digits(sum))?;
    Ok(w.pos())
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;

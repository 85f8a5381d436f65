//! Encoding a whole outbound message: standard header, caller's body, trailer.

use super::ascii::{U64_DIGITS, checksum, checksum_digits, format_u64};
use super::writer::{Cursor, InsufficientSize};
use crate::{TimestampPrecision, UtcTimestamp};

/// The standard header fields of an outbound message.
///
/// The Sub and Location IDs are written when not empty; `Header::default()` leaves every
/// optional field out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// BeginString (8), e.g. `"FIX.4.4"`.
    pub begin_string: &'a str,
    /// MsgType (35), e.g. [`super::msg_type::LOGON`].
    pub msg_type: &'a [u8],
    /// SenderCompID (49).
    pub sender_comp_id: &'a str,
    /// SenderSubID (50), written when not empty.
    pub sender_sub_id: &'a str,
    /// SenderLocationID (142), written when not empty.
    pub sender_location_id: &'a str,
    /// TargetCompID (56).
    pub target_comp_id: &'a str,
    /// TargetSubID (57), written when not empty.
    pub target_sub_id: &'a str,
    /// TargetLocationID (143), written when not empty.
    pub target_location_id: &'a str,
    /// MsgSeqNum (34).
    pub msg_seq_num: u64,
    /// SendingTime (52), written as UTC with `precision`.
    pub sending_time: UtcTimestamp,
    /// Whether to write PossDupFlag (43) as `Y`; when false the field is left out.
    pub poss_dup: bool,
    /// OrigSendingTime (122), written when present, with `precision`.
    pub orig_sending_time: Option<UtcTimestamp>,
    /// LastMsgSeqNumProcessed (369), written when present.
    pub last_msg_seq_num_processed: Option<u64>,
    /// The digits of a second SendingTime and OrigSendingTime carry (milliseconds unless
    /// `TimestampPrecision` says otherwise).
    pub precision: TimestampPrecision,
}

/// Fixed bytes of the header fields after BodyLength: `35=`, `34=`, `49=`, `52=`, `56=` and
/// their five SOHs.
const FIXED_HEADER_LEN: usize = 5 * 4;
/// `43=Y<SOH>`.
const POSS_DUP_LEN: usize = 5;
/// `122=` + SOH, without the timestamp.
const ORIG_SENDING_TIME_LEN: usize = 5;
/// `50=` + SOH (also 56's and 57's), without the value.
const TWO_DIGIT_TAG_LEN: usize = 4;
/// `142=` + SOH (also 143's and 369's), without the value.
const THREE_DIGIT_TAG_LEN: usize = 5;
/// `10=NNN<SOH>`.
const TRAILER_LEN: usize = 7;

/// Writes a whole message into `out` and returns its length.
///
/// Fields appear as QuickFIX writes them: 8, 9, 35 first, then the other header fields in
/// tag order (34, 43 when set, 49, 50, 52, 56, 57, 122, 142, 143, 369 when set), then `body`
/// verbatim, then CheckSum (10). `body` is zero or more already-encoded fields
/// (`tag=value<SOH>…`, e.g. from a [`super::FieldWriter`]); BodyLength and CheckSum are
/// computed here. When `out` is too short nothing usable is written and the error says how
/// long it must be.
pub fn encode(header: &Header<'_>, body: &[u8], out: &mut [u8]) -> Result<usize, InsufficientSize> {
    let mut time = [0u8; UtcTimestamp::FIX_MAX_LEN];
    let len = write_time(header.sending_time, header.precision, &mut time);
    encode_stamped(header, time.get(..len).unwrap_or_default(), body, out)
}

/// [`encode`] with SendingTime already written as `sending_time` (of `header.precision`'s
/// length), e.g. by a [`super::timestamp::TimestampWriter`]; `header.sending_time` is not
/// read.
pub(crate) fn encode_stamped(
    header: &Header<'_>,
    sending_time: &[u8],
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, InsufficientSize> {
    let mut seq_buf = [0u8; U64_DIGITS];
    let seq = format_u64(&mut seq_buf, header.msg_seq_num);
    let mut last_buf = [0u8; U64_DIGITS];
    let last_processed = header
        .last_msg_seq_num_processed
        .map(|last| format_u64(&mut last_buf, last));
    let time_len = sending_time.len();
    let mut body_len = FIXED_HEADER_LEN
        + time_len
        + header.msg_type.len()
        + header.sender_comp_id.len()
        + header.target_comp_id.len()
        + seq.len()
        + body.len();
    if header.poss_dup {
        body_len += POSS_DUP_LEN;
    }
    if header.orig_sending_time.is_some() {
        body_len += ORIG_SENDING_TIME_LEN + header.precision.fix_len();
    }
    body_len += optional_len(TWO_DIGIT_TAG_LEN, header.sender_sub_id)
        + optional_len(TWO_DIGIT_TAG_LEN, header.target_sub_id)
        + optional_len(THREE_DIGIT_TAG_LEN, header.sender_location_id)
        + optional_len(THREE_DIGIT_TAG_LEN, header.target_location_id);
    if let Some(digits) = last_processed {
        body_len += THREE_DIGIT_TAG_LEN + digits.len();
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
    optional_field(&mut w, b"50", header.sender_sub_id)?;
    w.field(b"52", sending_time)?;
    w.field(b"56", header.target_comp_id.as_bytes())?;
    optional_field(&mut w, b"57", header.target_sub_id)?;
    if let Some(orig) = header.orig_sending_time {
        let mut time = [0u8; UtcTimestamp::FIX_MAX_LEN];
        let len = write_time(orig, header.precision, &mut time);
        w.field(b"122", time.get(..len).unwrap_or_default())?;
    }
    optional_field(&mut w, b"142", header.sender_location_id)?;
    optional_field(&mut w, b"143", header.target_location_id)?;
    if let Some(digits) = last_processed {
        w.field(b"369", digits)?;
    }
    w.put(body)?;
    let sum = checksum(w.written());
    w.field(b"10", &checksum_digits(sum))?;
    Ok(w.pos())
}

/// The bytes of an optional field whose tag with `=` and SOH takes `fixed`: none when
/// `value` is empty.
#[inline]
fn optional_len(fixed: usize, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        fixed + value.len()
    }
}

#[inline]
fn optional_field(w: &mut Cursor<'_>, tag: &[u8], value: &str) -> Result<(), InsufficientSize> {
    if value.is_empty() {
        return Ok(());
    }
    w.field(tag, value.as_bytes())
}

/// Writes `time` with `precision` into `out`; the millisecond form, the usual one, by its
/// own fixed-size path.
#[inline]
fn write_time(
    time: UtcTimestamp,
    precision: TimestampPrecision,
    out: &mut [u8; UtcTimestamp::FIX_MAX_LEN],
) -> usize {
    if precision == TimestampPrecision::Millis
        && let Some(millis) = out.first_chunk_mut::<{ UtcTimestamp::FIX_LEN }>()
    {
        time.write_fix(millis);
        return UtcTimestamp::FIX_LEN;
    }
    time.write_fix_precise(precision, out)
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;

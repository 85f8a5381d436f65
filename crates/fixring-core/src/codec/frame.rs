//! Framing: finding where the FIX message at the start of a byte stream ends.

use core::fmt;

use super::ascii::{SOH, checksum};
use crate::ErrorCode;

/// The default [`Framer`] limit on a message's total length: 64 KiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Most digits accepted in BodyLength; more is reported as [`DecodeError::BadBodyLength`].
const MAX_BODY_LENGTH_DIGITS: usize = 9;

/// Length of the trailer `10=NNN<SOH>`.
const TRAILER_LEN: usize = 7;

/// The bytes every message starts with, used to re-synchronise after garbage.
const MESSAGE_START: &[u8] = b"8=FIX";

/// Frames FIX messages in a byte stream by BodyLength and verifies their CheckSum.
///
/// The framer holds no state between calls: [`Framer::decode`] looks at the start of the
/// buffer it is given, and the caller consumes what the answer says before calling again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Framer {
    max_message_size: usize,
    /// Whether a wrong BodyLength or CheckSum makes a message garbled
    /// (`ValidateLengthAndChecksum`, on by default).
    validate: bool,
}

impl Default for Framer {
    /// A framer accepting messages up to [`DEFAULT_MAX_MESSAGE_SIZE`] bytes.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_SIZE)
    }
}

impl Framer {
    /// A framer refusing messages whose total length exceeds `max_message_size` bytes.
    ///
    /// A receive buffer of at least this size always holds a whole acceptable message.
    pub const fn new(max_message_size: usize) -> Self {
        Self {
            max_message_size,
            validate: true,
        }
    }

    /// The same framer, checking BodyLength and CheckSum or not (`ValidateLengthAndChecksum`).
    ///
    /// Without the check, a message whose CheckSum is wrong is framed all the same, and one
    /// whose BodyLength is wrong runs to the first CheckSum field from where BodyLength says
    /// it ends, as QuickFIX reads it; a CheckSum field that is not three digits is still
    /// garbled.
    pub const fn validating(self, validate: bool) -> Self {
        Self { validate, ..self }
    }

    /// The largest total message length, header and trailer included, this framer accepts.
    pub const fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Decodes the message at the start of `buf`.
    ///
    /// - [`Decoded::Message`]: `buf[..len]` is a whole message whose CheckSum is correct.
    /// - [`Decoded::Incomplete`]: `buf` is the beginning of a message that may still be valid;
    ///   call again once more bytes have arrived. Nothing past `buf` is ever read.
    /// - [`Decoded::Invalid`]: the start of `buf` is not a valid message. Dropping `discard`
    ///   bytes (always at least one, never more than `buf.len()`) skips to the next place a
    ///   message could begin (past the first CheckSum field after where a wrong BodyLength
    ///   says the message ends), so a caller looping on `decode` always makes progress.
    ///
    /// The framer checks the envelope only (`8=`, `9=`, `10=`); [`super::Message::parse`]
    /// checks the fields in between.
    pub fn decode(&self, buf: &[u8]) -> Decoded {
        match self.frame(buf) {
            Ok(Some(len)) => Decoded::Message { len },
            Ok(None) => Decoded::Incomplete,
            Err((discard, error)) => Decoded::Invalid { discard, error },
        }
    }

    /// `Ok(Some(len))` for a whole message, `Ok(None)` when incomplete.
    fn frame(&self, buf: &[u8]) -> Result<Option<usize>, (usize, DecodeError)> {
        let resync = |error| (resync(buf), error);

        let begin_value = match buf {
            [] | [b'8'] => return Ok(None),
            [b'8', b'=', rest @ ..] => rest,
            _ => return Err(resync(DecodeError::Garbage)),
        };
        let begin_len = match begin_string_len(begin_value) {
            Prefix::Complete(len) => len,
            Prefix::Partial => return Ok(None),
            Prefix::Mismatch => return Err(resync(DecodeError::BadBeginString)),
        };
        // "8=" + value + SOH.
        let length_field_at = 2 + begin_len + 1;
        let digits = match buf.get(length_field_at..).unwrap_or_default() {
            [] | [b'9'] => return Ok(None),
            [b'9', b'=', digits @ ..] => digits,
            _ => return Err(resync(DecodeError::BadBodyLength)),
        };
        let (digit_count, body_len) = match body_length(digits) {
            Prefix::Complete(parsed) => parsed,
            Prefix::Partial => return Ok(None),
            Prefix::Mismatch => return Err(resync(DecodeError::BadBodyLength)),
        };

        let body_start = length_field_at + 2 + digit_count + 1;
        let body_end = body_start + body_len;
        let total = body_end + TRAILER_LEN;
        if total > self.max_message_size {
            return Err(resync(DecodeError::TooLarge {
                length: total,
                max: self.max_message_size,
            }));
        }
        let Some((covered, trailer)) = buf.get(..total).and_then(|m| m.split_at_checked(body_end))
        else {
            return Ok(None);
        };
        // BodyLength must end on the SOH closing the last body field, right before "10=".
        // A message whose BodyLength is wrong runs, as QuickFIX reads it, to the first
        // CheckSum field from where BodyLength says it ends (a length too long swallows the
        // message after it); without one, to the next possible message start.
        let wrong_length = || match checksum_field_end(buf, body_end) {
            Some(end) if !self.validate => Ok(Some(end)),
            Some(end) => Err((end, DecodeError::BadBodyLength)),
            None => Err(resync(DecodeError::BadBodyLength)),
        };
        let [.., SOH] = covered else {
            return wrong_length();
        };
        let [b'1', b'0', b'=', digits @ .., last] = trailer else {
            return wrong_length();
        };
        let declared = match (digits, last) {
            (&[h, t, u], &SOH) if [h, t, u].iter().all(u8::is_ascii_digit) => {
                u16::from(h - b'0') * 100 + u16::from(t - b'0') * 10 + u16::from(u - b'0')
            }
            _ => return Err(resync(DecodeError::MalformedChecksum)),
        };
        let computed = checksum(covered);
        if declared != u16::from(computed) && self.validate {
            return Err((total, DecodeError::BadChecksum { declared, computed }));
        }
        Ok(Some(total))
    }
}

/// What the framer found at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole message with a correct CheckSum occupies `buf[..len]`.
    Message {
        /// The message's total length in bytes, trailer included.
        len: usize,
    },
    /// The buffer holds the beginning of a message; more bytes are needed.
    Incomplete,
    /// The buffer does not start with a valid message.
    Invalid {
        /// How many bytes to drop (at least one): to the next possible message start, or, for a
        /// wrong BodyLength, to the end of the first CheckSum field after where it says the
        /// message ends, as QuickFIX reads such a message.
        discard: usize,
        /// Why the bytes are invalid.
        error: DecodeError,
    },
}

/// Why the bytes at the start of a buffer are not a valid FIX message.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// The bytes do not begin with `8=`: not the start of a message.
    Garbage,
    /// BeginString (tag 8) is not `FIX.x.y` or `FIXT.1.1`.
    BadBeginString,
    /// BodyLength (tag 9) is missing, not a number of at most nine digits, not ended by SOH,
    /// or does not end where the last body field's SOH and `10=` are.
    BadBodyLength,
    /// The message would be longer than the framer's limit; reported as soon as BodyLength
    /// has been read, before the rest of the message arrives.
    TooLarge {
        /// The message's total length as BodyLength declares it.
        length: usize,
        /// The framer's limit.
        max: usize,
    },
    /// The CheckSum field (tag 10) is not three digits followed by SOH.
    MalformedChecksum,
    /// The CheckSum field does not match the bytes it covers.
    BadChecksum {
        /// The value the message carries.
        declared: u16,
        /// The sum modulo 256 of the bytes before `10=`.
        computed: u8,
    },
}

impl DecodeError {
    /// A short statement of what is wrong, without the values.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Garbage => "bytes before a message start (expected \"8=\")",
            Self::BadBeginString => "BeginString(8) is not FIX.x.y or FIXT.1.1",
            Self::BadBodyLength => "BodyLength(9) is missing, malformed or does not reach \"10=\"",
            Self::TooLarge { .. } => "message exceeds the maximum size",
            Self::MalformedChecksum => "CheckSum(10) is not three digits followed by SOH",
            Self::BadChecksum { .. } => "CheckSum(10) does not match the message",
        }
    }

    /// The engine error code a connection dropped for this error reports.
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::ConnectionLost
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())?;
        match self {
            Self::TooLarge { length, max } => write!(f, ": {length} bytes, limit {max}"),
            Self::BadChecksum { declared, computed } => {
                write!(f, ": declared {declared:03}, computed {computed:03}")
            }
            _ => Ok(()),
        }
    }
}

impl std::error::Error for DecodeError {}

/// How far a partial field matches what is expected.
enum Prefix<T> {
    /// The field is whole and valid.
    Complete(T),
    /// Every byte present is valid, but the field is not over yet.
    Partial,
    /// The field cannot become valid.
    Mismatch,
}

/// Matches BeginString's value and its SOH; `Complete` carries the value's length.
fn begin_string_len(value: &[u8]) -> Prefix<usize> {
    // The usual case, a whole `FIX.x.y` and its SOH, without the templates' loop.
    if let Some(&[b'F', b'I', b'X', b'.', major, b'.', minor, SOH]) = value.first_chunk::<8>()
        && major.is_ascii_digit()
        && minor.is_ascii_digit()
    {
        return Prefix::Complete(7);
    }
    // `#` stands for any digit.
    const TEMPLATES: [&[u8]; 2] = [b"FIX.#.#\x01", b"FIXT.1.1\x01"];
    let mut partial = false;
    for template in TEMPLATES {
        let matches = value
            .iter()
            .zip(template)
            .all(|(&b, &t)| b == t || (t == b'#' && b.is_ascii_digit()));
        if !matches {
            continue;
        }
        if value.len() >= template.len() {
            return Prefix::Complete(template.len() - 1);
        }
        partial = true;
    }
    if partial {
        Prefix::Partial
    } else {
        Prefix::Mismatch
    }
}

/// Parses BodyLength's digits up to their SOH; `Complete` carries (digit count, value).
fn body_length(digits: &[u8]) -> Prefix<(usize, usize)> {
    let mut value = 0usize;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' if i < MAX_BODY_LENGTH_DIGITS => {
                value = value * 10 + usize::from(b - b'0');
            }
            SOH if i > 0 => return Prefix::Complete((i, value)),
            _ => return Prefix::Mismatch,
        }
    }
    Prefix::Partial
}

/// Where the first CheckSum field (`<SOH>10=…<SOH>`) at or after `body_end - 1` ends, if it
/// is all in `buf`.
fn checksum_field_end(buf: &[u8], body_end: usize) -> Option<usize> {
    let from = body_end.saturating_sub(1);
    let rest = buf.get(from..)?;
    let at = rest.windows(4).position(|w| w == b"\x0110=")?;
    let value_at = from + at + 4;
    let soh = buf.get(value_at..)?.iter().position(|&b| b == SOH)?;
    Some(value_at + soh + 1)
}

/// How many bytes to drop from `buf` to reach the next byte, after the first, where a message
/// could begin: a full `8=FIX`, or a prefix of it at the very end of the buffer.
fn resync(buf: &[u8]) -> usize {
    let mut from = 1;
    while let Some(rest) = buf.get(from..) {
        let Some(offset) = rest.iter().position(|&b| b == b'8') else {
            break;
        };
        let at = from + offset;
        let candidate = rest.get(offset..).unwrap_or_default();
        if MESSAGE_START.starts_with(candidate) || candidate.starts_with(MESSAGE_START) {
            return at;
        }
        from = at + 1;
    }
    buf.len()
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;

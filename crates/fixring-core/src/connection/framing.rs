//! The one loop that cuts a byte stream into FIX messages.

use crate::codec::{DecodeError, Decoded, Framer, Message};
use crate::session::ProtocolViolation;

/// Where [`read_messages`] stopped.
#[derive(Debug)]
pub(crate) struct Framed {
    /// Bytes at the front of the input that were used up: whole messages, garbled ones
    /// skipped, and what was discarded before a violation.
    pub(crate) consumed: usize,
    /// Garbled messages (or runs of bytes that do not begin one) skipped.
    pub(crate) skipped: usize,
    /// The bytes that cannot be framed at all (a message larger than the buffer), if reading
    /// stopped on them.
    pub(crate) violation: Option<ProtocolViolation>,
}

/// Frames and parses whole messages at the front of `input` and hands each frame to `f`
/// with its parsed message (`None` when its fields do not parse), until
/// the input runs out, a message is incomplete, a message cannot be framed at all, or `f`
/// returns `false` (its message counts as consumed).
///
/// A garbled message — a bad CheckSum or BodyLength, the first three fields out of order,
/// bytes before `8=`, fields that do not parse — is skipped as the FIX session rules ask:
/// not delivered and its MsgSeqNum not counted, so that the gap it leaves is found and
/// resent as usual.
///
/// With `tolerant`, messages are parsed with [`Message::parse_for_validation`]: empty values
/// and tags 0 or negative reach the session, whose data dictionary rejects them.
pub(crate) fn read_messages(
    framer: &Framer,
    input: &[u8],
    tolerant: bool,
    mut f: impl FnMut(&[u8], Option<&Message<'_>>) -> bool,
) -> Framed {
    let mut consumed = 0;
    let mut skipped = 0;
    while let Some(rest) = input.get(consumed..).filter(|rest| !rest.is_empty()) {
        let len = match framer.decode(rest) {
            Decoded::Message { len } => len,
            Decoded::Incomplete => break,
            Decoded::Invalid {
                discard,
                error: error @ DecodeError::TooLarge { .. },
            } => {
                return Framed {
                    consumed: consumed + discard,
                    skipped,
                    violation: Some(ProtocolViolation::Malformed(error)),
                };
            }
            Decoded::Invalid { discard, .. } => {
                consumed += discard;
                skipped += 1;
                continue;
            }
        };
        let frame = rest.get(..len).unwrap_or_default();
        consumed += len;
        // Borrowed where it was parsed: a message is a few hundred bytes to move.
        let parsed = parse(frame, tolerant);
        if parsed.is_err() {
            skipped += 1;
        }
        if !f(frame, parsed.as_ref().ok()) {
            break;
        }
    }
    Framed {
        consumed,
        skipped,
        violation: None,
    }
}

/// Parses one framed message, tolerating what a data dictionary rejects when `tolerant`.
pub(crate) fn parse(frame: &[u8], tolerant: bool) -> Result<Message<'_>, crate::codec::ParseError> {
    if tolerant {
        Message::parse_for_validation(frame)
    } else {
        Message::parse(frame)
    }
}

/// The first whole message at the front of `input`, without consuming it: `Ok(None)` while
/// it is incomplete.
pub(crate) fn first_message<'a>(
    framer: &Framer,
    input: &'a [u8],
) -> Result<Option<Message<'a>>, ProtocolViolation> {
    match framer.decode(input) {
        Decoded::Message { len } => Message::parse(input.get(..len).unwrap_or_default())
            .map(Some)
            .map_err(ProtocolViolation::BadField),
        Decoded::Incomplete => Ok(None),
        Decoded::Invalid { error, .. } => Err(ProtocolViolation::Malformed(error)),
    }
}

//! The one loop that cuts a byte stream into FIX messages.

use crate::codec::{Decoded, Framer, Message};
use crate::session::ProtocolViolation;

/// Where [`read_messages`] stopped.
#[derive(Debug)]
pub(crate) struct Framed {
    /// Bytes at the front of the input that were used up: whole messages, and garbage
    /// discarded before a violation.
    pub(crate) consumed: usize,
    /// The bytes that could not be framed or parsed, if reading stopped on them.
    pub(crate) violation: Option<ProtocolViolation>,
}

/// Frames and parses whole messages at the front of `input` and hands each to `f`, until
/// the input runs out, a message is incomplete, bytes do not frame or parse, or `f` returns
/// `false` (its message counts as consumed).
pub(crate) fn read_messages(
    framer: &Framer,
    input: &[u8],
    mut f: impl FnMut(&Message<'_>) -> bool,
) -> Framed {
    let mut consumed = 0;
    while let Some(rest) = input.get(consumed..).filter(|rest| !rest.is_empty()) {
        let len = match framer.decode(rest) {
            Decoded::Message { len } => len,
            Decoded::Incomplete => break,
            Decoded::Invalid { discard, error } => {
                return Framed {
                    consumed: consumed + discard,
                    violation: Some(ProtocolViolation::Malformed(error)),
                };
            }
        };
        let frame = rest.get(..len).unwrap_or_default();
        consumed += len;
        match Message::parse(frame) {
            Ok(msg) => {
                if !f(&msg) {
                    break;
                }
            }
            Err(error) => {
                return Framed {
                    consumed,
                    violation: Some(ProtocolViolation::BadField(error)),
                };
            }
        }
    }
    Framed {
        consumed,
        violation: None,
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

//! The `user_data` of every submission: operation kind, slot index and slot generation, packed
//! as a [`SlotKey`] with the kind. A completion whose generation no longer matches its slot
//! belongs to an earlier occupant and is ignored.

use fixring_io::slots::SlotKey;

/// The kinds of operation the backend submits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// The eventfd read of the waker.
    Wake = 1,
    /// A listener's multishot accept.
    Accept = 2,
    /// An outbound connect.
    Connect = 3,
    /// The link timeout of an outbound connect.
    ConnectTimeout = 4,
    /// A read into a connection's receive slot.
    Read = 5,
    /// A write from a connection's send slot.
    Write = 6,
    /// A cancellation request; its own completion carries nothing.
    Cancel = 7,
    /// The bound on writing a closed connection's last bytes.
    DrainTimeout = 8,
    /// A listener's back-off after its accept ran out of descriptors.
    AcceptBackoff = 9,
}

/// A decoded `user_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: OpKind,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl Token {
    /// A token for `kind` on slot `index` of generation `generation`.
    pub(crate) fn new(kind: OpKind, index: u32, generation: u32) -> Self {
        let key = SlotKey::new(index, generation);
        Self {
            kind,
            index: key.index,
            generation: key.generation,
        }
    }

    /// The packed `user_data`.
    pub(crate) fn encode(self) -> u64 {
        SlotKey::new(self.index, self.generation).pack(self.kind as u8)
    }

    /// Unpacks a `user_data`; `None` for a kind this backend never submits.
    pub(crate) fn decode(user_data: u64) -> Option<Self> {
        let (kind, key) = SlotKey::unpack(user_data);
        let kind = match kind {
            1 => OpKind::Wake,
            2 => OpKind::Accept,
            3 => OpKind::Connect,
            4 => OpKind::ConnectTimeout,
            5 => OpKind::Read,
            6 => OpKind::Write,
            7 => OpKind::Cancel,
            8 => OpKind::DrainTimeout,
            9 => OpKind::AcceptBackoff,
            _ => return None,
        };
        Some(Self {
            kind,
            index: key.index,
            generation: key.generation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Token::new(OpKind::Write, 0xdead_beef, 0x0123_4567);
        let back = Token::decode(t.encode());
        assert_eq!(
            back,
            Some(Token::new(OpKind::Write, 0xdead_beef, 0x23_4567))
        );
        assert_eq!(Token::decode(0), None);
        assert_eq!(Token::decode(0xff << 56), None);
    }
}

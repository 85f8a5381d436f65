//! The outbound message store: the application messages a session sent, kept so that a
//! ResendRequest can be answered with the messages themselves rather than a gap fill.
//!
//! Each message is kept as its MsgType, body and original SendingTime; a resend re-encodes it
//! with the same MsgSeqNum, PossDupFlag=Y and OrigSendingTime. Messages live in one growing
//! byte buffer, so storing one costs a copy and no allocation once the buffer has grown to
//! the session's flow. The store is bounded in bytes: past the limit the oldest messages are
//! dropped, and a resend that reaches back beyond them is told so.

use std::collections::VecDeque;

use crate::UtcTimestamp;

/// Dead bytes at the front of the buffer are reclaimed once they are at least this many and
/// at least half of the buffer.
const COMPACT_AFTER: usize = 64 * 1024;

/// One stored message: where its bytes are and what the resend needs besides them.
#[derive(Clone, Copy, Debug)]
struct Entry {
    seq: u64,
    sending_time: UtcTimestamp,
    /// Offset of the MsgType in the buffer, counted from the first byte ever stored.
    start: usize,
    msg_type_len: usize,
    body_len: usize,
}

/// An application message the session sent and keeps for resending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentMessage<'a> {
    /// MsgSeqNum it was sent with.
    pub seq: u64,
    /// Its SendingTime then; a resend carries it as OrigSendingTime.
    pub sending_time: UtcTimestamp,
    /// MsgType (35).
    pub msg_type: &'a [u8],
    /// The body fields, as the application encoded them.
    pub body: &'a [u8],
}

/// The application messages sent, in MsgSeqNum order, up to a limit in bytes.
#[derive(Debug, Default)]
pub(super) struct SentStore {
    limit: usize,
    entries: VecDeque<Entry>,
    bytes: Vec<u8>,
    /// Counted from the first byte ever stored: the offset of `bytes[0]`.
    base: usize,
    /// MsgSeqNums below this may have been dropped to keep within the limit.
    dropped_below: u64,
    /// Bumped whenever the store is emptied because the sequence numbers start again.
    epoch: u64,
}

impl SentStore {
    /// A store keeping up to `limit` bytes of messages; 0 keeps none.
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Keeps a message just sent with MsgSeqNum `seq`, dropping the oldest ones past the limit.
    pub(super) fn push(
        &mut self,
        seq: u64,
        sending_time: UtcTimestamp,
        msg_type: &[u8],
        body: &[u8],
    ) {
        let size = msg_type.len() + body.len();
        if size > self.limit {
            // Too large to keep at all: a later resend must skip it, so count it as dropped.
            self.forget();
            self.dropped_below = seq + 1;
            return;
        }
        while self.stored_bytes() + size > self.limit {
            self.drop_oldest();
        }
        let start = self.base + self.bytes.len();
        self.bytes.extend_from_slice(msg_type);
        self.bytes.extend_from_slice(body);
        self.entries.push_back(Entry {
            seq,
            sending_time,
            start,
            msg_type_len: msg_type.len(),
            body_len: body.len(),
        });
    }

    /// The first stored message with a MsgSeqNum of at least `seq`.
    pub(super) fn first_from(&self, seq: u64) -> Option<SentMessage<'_>> {
        self.iter_from(seq).next()
    }

    /// The stored messages with a MsgSeqNum of at least `seq`, oldest first.
    pub(super) fn iter_from(&self, seq: u64) -> impl Iterator<Item = SentMessage<'_>> {
        let at = self.entries.partition_point(|entry| entry.seq < seq);
        self.entries.range(at..).filter_map(|entry| {
            let from = entry.start - self.base;
            let type_end = from + entry.msg_type_len;
            Some(SentMessage {
                seq: entry.seq,
                sending_time: entry.sending_time,
                msg_type: self.bytes.get(from..type_end)?,
                body: self.bytes.get(type_end..type_end + entry.body_len)?,
            })
        })
    }

    /// How many times the store was emptied by a sequence reset.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether messages sent from MsgSeqNum `begin` on may include some no longer kept.
    pub(super) fn may_have_dropped(&self, begin: u64) -> bool {
        self.limit == 0 || begin < self.dropped_below
    }

    /// Forgets everything: the sequence numbers start again.
    pub(super) fn clear(&mut self) {
        self.forget();
        self.epoch += 1;
    }

    fn forget(&mut self) {
        self.entries.clear();
        self.base += self.bytes.len();
        self.bytes.clear();
        self.dropped_below = 0;
    }

    /// How many messages are kept.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn stored_bytes(&self) -> usize {
        self.entries
            .front()
            .map_or(0, |first| self.base + self.bytes.len() - first.start)
    }

    fn drop_oldest(&mut self) {
        let Some(oldest) = self.entries.pop_front() else {
            return;
        };
        self.dropped_below = oldest.seq + 1;
        let dead = match self.entries.front() {
            Some(next) => next.start - self.base,
            None => self.bytes.len(),
        };
        if dead >= COMPACT_AFTER && dead * 2 >= self.bytes.len() {
            self.bytes.drain(..dead);
            self.base += dead;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: u64) -> UtcTimestamp {
        UtcTimestamp::from_unix_millis(millis)
    }

    #[test]
    fn messages_come_back_by_sequence_number() {
        let mut store = SentStore::new(1024);
        store.push(2, at(2), b"D", b"11=A\x01");
        store.push(5, at(5), b"F", b"11=B\x01");
        let first = store.first_from(1).expect("stored");
        assert_eq!(
            first,
            SentMessage {
                seq: 2,
                sending_time: at(2),
                msg_type: b"D",
                body: b"11=A\x01",
            }
        );
        let next = store.first_from(3).expect("stored");
        assert_eq!(
            (next.seq, next.msg_type, next.body),
            (5, &b"F"[..], &b"11=B\x01"[..])
        );
        assert_eq!(store.first_from(6), None);
        assert!(!store.may_have_dropped(1));
    }

    #[test]
    fn the_oldest_go_first_past_the_limit() {
        let mut store = SentStore::new(20);
        for seq in 1..=10 {
            store.push(seq, at(seq), b"D", b"11=ABCD\x01");
        }
        // Each message is 9 bytes: two fit.
        assert_eq!(store.len(), 2);
        assert_eq!(store.first_from(1).map(|m| m.seq), Some(9));
        assert!(store.may_have_dropped(8));
        assert!(!store.may_have_dropped(9));
    }

    #[test]
    fn a_long_flow_stays_within_the_limit_and_intact() {
        let mut store = SentStore::new(100_000);
        for seq in 1..=50_000u64 {
            let body = format!("11=ORDER-{seq}\x01");
            store.push(seq, at(seq), b"D", body.as_bytes());
            assert!(store.stored_bytes() <= 100_000);
        }
        assert!(store.bytes.len() <= 2 * 100_000 + COMPACT_AFTER);
        let last = store.first_from(50_000).expect("kept");
        assert_eq!(last.body, b"11=ORDER-50000\x01");
        let oldest = store.first_from(0).expect("kept");
        let body = format!("11=ORDER-{}\x01", oldest.seq);
        assert_eq!(oldest.body, body.as_bytes());
    }

    #[test]
    fn nothing_is_kept_without_room() {
        let mut store = SentStore::new(0);
        store.push(1, at(1), b"D", b"11=A\x01");
        assert_eq!(store.first_from(1), None);
        assert!(store.may_have_dropped(1));
        store.clear();
        assert_eq!(store.len(), 0);
    }
}

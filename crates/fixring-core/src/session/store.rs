//! The outbound message store: the application messages a session sent, kept so that a
//! ResendRequest can be answered with the messages themselves rather than a gap fill.
//!
//! Each message is kept as its MsgType, body and original SendingTime; a resend re-encodes it
//! with the same MsgSeqNum, PossDupFlag=Y and OrigSendingTime. The store is bounded in bytes:
//! past the limit the oldest messages are dropped, and a resend that reaches back beyond them
//! is told so.
//!
//! Messages live in one ring of at most the limit in bytes, each in one piece: a message that
//! does not fit before the ring's end starts again at its front (the end's few bytes are left
//! unused), over the oldest messages. So storing one costs a copy and moves no other. The
//! ring grows as messages come until it reaches the limit, then its memory is reused; its
//! growth is made ahead of need by [`SentStore::warm`], which the engine calls after a turn's
//! bytes have gone out, and which writes ahead into the memory grown into, so that the page
//! faults of that growth (some microseconds each on a virtual machine) are not taken in the
//! middle of a send.

use std::collections::VecDeque;

use crate::UtcTimestamp;

/// How far past the end of the ring's written memory [`SentStore::warm`] keeps it written
/// ahead, in bytes: enough for a burst of some dozens of messages.
const WARM_AHEAD: usize = 32 * 1024;

/// The most pages one [`SentStore::warm`] writes, so that a call costs a few page faults at
/// most.
const WARM_PAGES: usize = 4;

/// The page size assumed for writing ahead: one byte is written every this many.
const PAGE: usize = 4096;

/// How many entries past the kept ones [`SentStore::warm`] keeps written ahead (some 12 KB);
/// it writes them again once half are used.
const ENTRIES_AHEAD: usize = 256;

/// One stored message: where its bytes are and what the resend needs besides them.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    seq: u64,
    sending_time: UtcTimestamp,
    /// Offset of the MsgType in the ring.
    start: usize,
    msg_type_len: usize,
    body_len: usize,
}

impl Entry {
    fn len(&self) -> usize {
        self.msg_type_len + self.body_len
    }
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
    /// The ring: its length is how far it has grown, at most `limit`.
    bytes: Vec<u8>,
    /// Where the next message goes, unless it does not fit there.
    tail: usize,
    /// Bytes of the messages kept.
    stored: usize,
    /// How far into `bytes`' spare capacity has been written ahead.
    warmed: usize,
    /// How many entries `entries` can hold in memory written ahead.
    entries_warmed: usize,
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

    /// Keeps a message just sent with MsgSeqNum `seq`, dropping the oldest ones to make room.
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
        let start = self.place(size);
        let end = start + size;
        let type_end = start + msg_type.len();
        if end <= self.bytes.len() {
            self.bytes[start..type_end].copy_from_slice(msg_type);
            self.bytes[type_end..end].copy_from_slice(body);
        } else {
            // Growing: nothing kept lies past `start` (see `place`).
            self.bytes.truncate(start);
            self.bytes.extend_from_slice(msg_type);
            self.bytes.extend_from_slice(body);
        }
        self.tail = end;
        self.stored += size;
        self.entries.push_back(Entry {
            seq,
            sending_time,
            start,
            msg_type_len: msg_type.len(),
            body_len: body.len(),
        });
    }

    /// Where a message of `size` bytes (at most the limit) goes, once the oldest messages in
    /// its way are dropped.
    ///
    /// The kept messages lie either in one run from the oldest's start to `tail`, or, once the
    /// ring has come round, from the oldest's start to where the ring last came round, then
    /// from the front to `tail`. Either way the messages in the way of the next one are the
    /// oldest.
    fn place(&mut self, size: usize) -> usize {
        while let Some(oldest) = self.entries.front() {
            let head = oldest.start;
            if head < self.tail {
                // One run, [head, tail): room after it, or else before it.
                if self.tail + size <= self.limit {
                    return self.tail;
                }
                if size <= head {
                    return 0;
                }
            } else if self.tail + size <= head {
                // Come round: the room is between the newest and the oldest.
                return self.tail;
            }
            self.drop_oldest();
        }
        self.tail = 0;
        0
    }

    /// Writes ahead into the memory the ring and the list of entries grow into next, a few
    /// pages a call at most, so that the page faults of their growth (and the list's
    /// reallocation) happen here rather than in [`SentStore::push`]. The ring is done with
    /// once it has grown to the limit.
    pub(super) fn warm(&mut self) {
        if self.limit == 0 || self.bytes.is_empty() {
            // Nothing stored yet: a session that sends no application message costs nothing.
            return;
        }
        self.warm_entries();
        let len = self.bytes.len();
        let want = (len + WARM_AHEAD).min(self.limit);
        if want <= len {
            return;
        }
        let capacity = self.bytes.capacity();
        if capacity < want {
            // Grown here, not in a push; doubling, up to the limit.
            let grown = capacity.saturating_mul(2).clamp(want, self.limit);
            self.bytes.reserve_exact(grown - len);
            if self.bytes.capacity() != capacity {
                self.warmed = len;
            }
        }
        let spare = self.bytes.spare_capacity_mut();
        let from = self.warmed.max(len) - len;
        let to = (want - len).min(spare.len());
        for at in (from..to).step_by(PAGE).take(WARM_PAGES) {
            spare[at].write(0);
            // The next write lands one page on, in the next page whatever the alignment.
            self.warmed = len + at + PAGE;
        }
        std::hint::black_box(&mut *spare);
    }

    /// Makes room for [`ENTRIES_AHEAD`] more entries (no more than the limit in bytes could
    /// hold) and writes their slots, by pushing placeholders and taking them back, once half
    /// of those written ahead are used.
    fn warm_entries(&mut self) {
        let len = self.entries.len();
        let ahead = ENTRIES_AHEAD.min(self.limit);
        if self.entries_warmed >= len + ahead / 2 {
            return;
        }
        if self.entries.capacity() < len + ahead {
            self.entries.reserve(len.max(ahead));
        }
        self.entries
            .extend(std::iter::repeat_n(Entry::default(), ahead));
        self.entries.truncate(len);
        self.entries_warmed = len + ahead;
    }

    /// The first stored message with a MsgSeqNum of at least `seq`.
    pub(super) fn first_from(&self, seq: u64) -> Option<SentMessage<'_>> {
        self.iter_from(seq).next()
    }

    /// The stored messages with a MsgSeqNum of at least `seq`, oldest first.
    pub(super) fn iter_from(&self, seq: u64) -> impl Iterator<Item = SentMessage<'_>> {
        let at = self.entries.partition_point(|entry| entry.seq < seq);
        self.entries.range(at..).filter_map(|entry| {
            let type_end = entry.start + entry.msg_type_len;
            Some(SentMessage {
                seq: entry.seq,
                sending_time: entry.sending_time,
                msg_type: self.bytes.get(entry.start..type_end)?,
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

    /// Drops every message; the ring keeps its memory.
    fn forget(&mut self) {
        self.entries.clear();
        self.tail = 0;
        self.stored = 0;
        self.dropped_below = 0;
    }

    /// How many messages are kept.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn drop_oldest(&mut self) {
        if let Some(oldest) = self.entries.pop_front() {
            self.dropped_below = oldest.seq + 1;
            self.stored -= oldest.len();
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
            assert!(store.stored <= 100_000);
            store.warm();
        }
        assert!(store.bytes.len() <= 100_000);
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

    /// Pushes messages of sizes from 1 to `max` bytes (the body a run of one byte value) into
    /// a store of `limit`, warming it now and then, and checks after each that what is kept
    /// is intact, is the newest run of what was pushed, and fills the ring but for about two
    /// messages.
    fn ring_round(limit: usize, max: usize, pushes: u64) {
        let mut store = SentStore::new(limit);
        let mut size = 1;
        let body = |seq: u64, len: usize| vec![b'a' + (seq % 26) as u8; len - 1];
        let mut sizes = std::collections::HashMap::new();
        for seq in 1..=pushes {
            let message = body(seq, size);
            store.push(seq, at(seq), b"D", &message);
            sizes.insert(seq, size);
            if seq % 7 == 0 {
                store.warm();
            }
            assert!(store.stored <= limit && store.bytes.len() <= limit);
            let kept: Vec<_> = store.iter_from(0).collect();
            assert_eq!(kept.last().map(|m| m.seq), Some(seq), "the newest is kept");
            for (m, next) in kept.iter().zip(kept.iter().skip(1)) {
                assert_eq!(m.seq + 1, next.seq, "kept messages are one run");
            }
            for m in &kept {
                assert_eq!(m.msg_type, b"D");
                assert_eq!(
                    m.body,
                    body(m.seq, sizes[&m.seq]).as_slice(),
                    "seq {}",
                    m.seq
                );
            }
            let total: usize = kept.iter().map(|m| 1 + m.body.len()).sum();
            assert_eq!(total, store.stored);
            let oldest = kept.first().map_or(1, |m| m.seq);
            assert!(!store.may_have_dropped(oldest));
            if oldest > 1 {
                assert!(store.may_have_dropped(oldest - 1));
                assert!(total + 2 * max >= limit, "{total} kept of {limit}");
            }
            size = (size * 31 + 17) % max + 1;
        }
    }

    #[test]
    fn the_ring_comes_round_and_keeps_the_newest_intact() {
        ring_round(1000, 97, 5_000);
        ring_round(4096, 1000, 3_000);
        ring_round(64, 64, 2_000);
    }

    #[test]
    fn warming_writes_ahead_without_growing_past_the_limit() {
        let mut store = SentStore::new(1 << 20);
        store.push(1, at(1), b"D", b"11=A\x01");
        for _ in 0..100 {
            store.warm();
        }
        assert!(store.bytes.capacity() >= WARM_AHEAD);
        assert!(store.bytes.capacity() <= 1 << 20);
        assert!(store.warmed >= WARM_AHEAD - PAGE);
        let mut small = SentStore::new(100);
        small.push(1, at(1), b"D", b"11=A\x01");
        small.warm();
        assert!(small.bytes.capacity() <= 100);
        let mut none = SentStore::new(0);
        none.push(1, at(1), b"D", b"11=A\x01");
        none.warm();
        assert_eq!(none.bytes.capacity(), 0);
        let mut idle = SentStore::new(1 << 20);
        idle.warm();
        assert_eq!(
            idle.bytes.capacity(),
            0,
            "nothing stored, nothing written ahead"
        );
        assert_eq!(idle.entries.capacity(), 0);
    }
}

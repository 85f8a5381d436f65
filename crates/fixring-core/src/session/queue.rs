//! Messages the peer sent beyond a gap in its MsgSeqNums, kept until the gap is filled, as
//! QuickFIX keeps them: a peer that resends only what is missing needs not send them again.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// How many messages beyond a gap are kept; past that, newer ones are left for the peer to
/// resend (the ResendRequest asks for everything from the gap on).
const LIMIT: usize = 10_000;

/// Frames by MsgSeqNum.
#[derive(Debug, Default)]
pub(super) struct BeyondGap {
    frames: BTreeMap<u64, Vec<u8>>,
}

impl BeyondGap {
    /// Keeps the frame of message `seq`, unless the queue is full.
    pub(super) fn keep(&mut self, seq: u64, frame: &[u8]) {
        if self.frames.len() < LIMIT || self.frames.contains_key(&seq) {
            self.frames.insert(seq, frame.to_vec());
        }
    }

    /// The frame of message `next`, if kept; frames below it are dropped (they were resent
    /// or gap filled meanwhile).
    pub(super) fn take(&mut self, next: u64) -> Option<Vec<u8>> {
        while let Some(entry) = self.frames.first_entry() {
            match entry.key().cmp(&next) {
                Ordering::Less => {
                    entry.remove();
                }
                Ordering::Equal => return Some(entry.remove()),
                Ordering::Greater => return None,
            }
        }
        None
    }

    /// Whether nothing is kept.
    pub(super) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Forgets everything kept.
    pub(super) fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_in_turn_and_stale_ones_are_dropped() {
        let mut queue = BeyondGap::default();
        queue.keep(5, b"five");
        queue.keep(3, b"three");
        queue.keep(7, b"seven");
        assert_eq!(queue.take(2), None, "nothing numbered 2");
        assert_eq!(queue.take(3).as_deref(), Some(&b"three"[..]));
        // 5 was resent meanwhile: the kept copy is stale once 6 is expected.
        assert_eq!(queue.take(6), None);
        assert_eq!(queue.take(7).as_deref(), Some(&b"seven"[..]));
        assert_eq!(queue.take(8), None);
        queue.keep(9, b"nine");
        queue.clear();
        assert_eq!(queue.take(9), None);
    }
}

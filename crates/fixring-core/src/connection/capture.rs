//! A copy of every whole message a connection receives and sends, kept for the caller's
//! message log until it asks for them.
//!
//! The copy is appended to one byte buffer, so that keeping a message costs a copy and no
//! allocation once the buffer has grown; the caller drains it after each call.

use crate::Instant;

/// Which way a captured message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received from the peer.
    Incoming,
    /// Sent to the peer.
    Outgoing,
}

/// One captured message; see [`Connection::poll_captured`](super::Connection::poll_captured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Captured<'a> {
    /// Which way it went.
    pub direction: Direction,
    /// The `now` of the call that framed it or wrote it into the send buffer.
    pub at: Instant,
    /// The whole message, `8=` to the CheckSum's SOH, in plain text.
    pub bytes: &'a [u8],
}

/// Bytes before each message: direction, instant, length.
const HEADER: usize = 1 + 8 + 4;

/// The messages captured since the caller last drained them.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    records: Vec<u8>,
}

impl Capture {
    /// Keeps a copy of `bytes`.
    pub(crate) fn record(&mut self, direction: Direction, at: Instant, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX) as usize;
        self.records.push(match direction {
            Direction::Incoming => 0,
            Direction::Outgoing => 1,
        });
        self.records.extend_from_slice(&at.as_nanos().to_le_bytes());
        self.records.extend_from_slice(&(len as u32).to_le_bytes());
        self.records.extend_from_slice(&bytes[..len]);
    }

    /// Hands every message kept to `f`, in order, and forgets them.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(Captured<'_>)) {
        let mut rest = self.records.as_slice();
        while let Some((header, body)) = rest.split_first_chunk::<HEADER>() {
            let (direction, header) = header.split_at(1);
            let (at, len) = header.split_at(8);
            let at = u64::from_le_bytes(at.try_into().unwrap_or_default());
            let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
            let Some((bytes, next)) = body.split_at_checked(len) else {
                break;
            };
            let direction = match direction {
                [0] => Direction::Incoming,
                _ => Direction::Outgoing,
            };
            f(Captured {
                direction,
                at: Instant::from_nanos(at),
                bytes,
            });
            rest = next;
        }
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_back_what_it_kept_in_order_once() {
        let mut capture = Capture::default();
        capture.record(
            Direction::Incoming,
            Instant::from_nanos(5),
            b"8=FIX.4.4\x01",
        );
        capture.record(Direction::Outgoing, Instant::from_nanos(7), b"");
        let mut seen = Vec::new();
        capture.drain(|c| seen.push((c.direction, c.at.as_nanos(), c.bytes.to_vec())));
        assert_eq!(
            seen,
            vec![
                (Direction::Incoming, 5, b"8=FIX.4.4\x01".to_vec()),
                (Direction::Outgoing, 7, Vec::new()),
            ]
        );
        capture.drain(|_| panic!("drained twice"));
    }
}

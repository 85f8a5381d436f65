//! Moving bytes between a socket and a slot's buffers.

use std::io::{self, Read};

use socket2::Socket;

use crate::slots::Buffers;

/// What a read round found besides the bytes it stored.
#[derive(Debug)]
pub(crate) struct ReadRound {
    /// Bytes appended to the receive buffer.
    pub(crate) bytes: usize,
    /// The stream ended: `Some(None)` at the peer's end of stream, `Some(Some(e))` on error.
    pub(crate) end: Option<Option<io::Error>>,
}

/// Reads into the free tail of the receive buffer until the socket has nothing more, the
/// buffer is full, or the stream ends.
///
/// A read shorter than the room offered means the socket's queue was empty at that moment;
/// the level-triggered registration reports anything that arrives later, so the round stops
/// there instead of paying for a read that would only say `EAGAIN`. Each `recv` is counted in
/// `calls`.
pub(crate) fn read(socket: &Socket, buffers: &mut Buffers, calls: &mut u64) -> ReadRound {
    let mut round = ReadRound {
        bytes: 0,
        end: None,
    };
    while let Some(room) = buffers.rx.get_mut(buffers.rx_len..) {
        if room.is_empty() {
            break;
        }
        let offered = room.len();
        *calls += 1;
        match (&*socket).read(room) {
            Ok(0) => {
                round.end = Some(None);
                break;
            }
            Ok(n) => {
                buffers.rx_len += n;
                round.bytes += n;
                if n < offered {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                round.end = Some(Some(e));
                break;
            }
        }
    }
    round
}

/// The state of the send buffer after a write round.
#[derive(Debug)]
pub(crate) enum WriteRound {
    /// Everything committed is written.
    Done,
    /// The socket's send buffer is full; the rest waits for writability.
    Blocked,
    /// The connection failed.
    Failed(io::Error),
}

/// Writes the committed bytes (without SIGPIPE) until they are all written or the socket
/// would block, then moves what is left to the front of the send buffer. Each `send` is
/// counted in `calls`.
pub(crate) fn write(socket: &Socket, buffers: &mut Buffers, calls: &mut u64) -> WriteRound {
    let len = buffers.tx_len.min(buffers.tx.len());
    let mut sent = 0;
    let round = loop {
        let Some(pending) = buffers.tx.get(sent..len) else {
            break WriteRound::Done;
        };
        if pending.is_empty() {
            break WriteRound::Done;
        }
        *calls += 1;
        match socket.send_with_flags(pending, libc::MSG_NOSIGNAL) {
            Ok(0) => break WriteRound::Blocked,
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break WriteRound::Blocked,
            Err(e) => break WriteRound::Failed(e),
        }
    };
    if sent > 0 {
        buffers.tx.copy_within(sent..len, 0);
        buffers.tx_len = len - sent;
    }
    round
}

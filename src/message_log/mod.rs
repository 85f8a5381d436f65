//! The message log (`FileLogPath`, the `ScreenLog…` keys): every message in and out of a
//! session and its events, in QuickFIX C++'s files and layout, written off the loops.
//!
//! Each event loop owns the producer of a byte ring allocated at start-up ([`ring`]); per
//! message it copies the bytes and a small header in and publishes them with one atomic
//! store: no lock, no system call, no allocation. One writer thread per engine drains every
//! loop's ring, formats the lines into a buffer per file and writes each buffer in one call
//! ([`writer`]). When a session's lines do not fit because the writer fell behind, its
//! `FileLogOverflow` decides: `block` (the default) waits for the writer, `drop` counts what
//! it could not hand over and, once there is room, writes a line saying how many were lost
//! and reports `fix.session.log_overflow`. [`crate::Engine::wait`] returns once the writer
//! has written and synced everything.

pub(crate) mod format;
mod ring;
mod writer;

use std::thread::Thread;

use fixring_core::config::{LogConfig, LogOverflow, SessionConfig};
use fixring_core::connection::Direction;
use fixring_core::{EventKind, UtcTimestamp};

pub(crate) use writer::{LogWriter, open};

/// What a record in the ring is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Incoming = 0,
    Outgoing = 1,
    Event = 2,
    /// The payload is the number of message lines lost, then of event lines, two `u64`s.
    Lost = 3,
    /// The session's sequence numbers started again: move its logs to the backup path.
    Backup = 4,
    /// A template made the session: the payload is the template's number (a `u32`), then
    /// the prefix of its files' names, a zero byte, and its name on the screen.
    Open = 5,
}

impl Kind {
    fn of(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Incoming,
            1 => Self::Outgoing,
            2 => Self::Event,
            3 => Self::Lost,
            4 => Self::Backup,
            5 => Self::Open,
            _ => return None,
        })
    }
}

/// The slot number of what belongs to no session (the GLOBAL logs).
const GLOBAL_SLOT: u32 = u32::MAX;

/// A record's header: kind, slot, time (Unix nanoseconds).
const HEADER: usize = 1 + 4 + 8;

fn header(kind: Kind, slot: u32, at: UtcTimestamp) -> [u8; HEADER] {
    let mut header = [0u8; HEADER];
    header[0] = kind as u8;
    header[1..5].copy_from_slice(&slot.to_le_bytes());
    header[5..].copy_from_slice(&at.unix_nanos().to_le_bytes());
    header
}

/// A record taken apart.
struct Record<'a> {
    kind: Kind,
    slot: u32,
    at: UtcTimestamp,
    payload: &'a [u8],
}

impl<'a> Record<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Self> {
        let (header, payload) = bytes.split_first_chunk::<HEADER>()?;
        let slot = u32::from_le_bytes(header[1..5].try_into().ok()?);
        let at = u64::from_le_bytes(header[5..].try_into().ok()?);
        Some(Self {
            kind: Kind::of(header[0])?,
            slot,
            at: UtcTimestamp::from_unix_nanos(at),
            payload,
        })
    }
}

/// The ring size of a loop: its sessions' `FileLogBufferSize`s, and room for the largest
/// message several times over.
fn ring_size<'a>(sessions: impl Iterator<Item = &'a SessionConfig>, max_message: usize) -> usize {
    let shares: usize = sessions
        .filter(|s| s.log.is_enabled())
        .map(|s| s.log.buffer_size)
        .sum();
    shares.max(4 * (max_message + HEADER + 8))
}

/// One session's side of the loop's log.
struct SlotLog {
    enabled: bool,
    overflow: LogOverflow,
    /// Whether its logs move to FileLogBackupPath when its sequence numbers start again.
    backs_up: bool,
    /// Message lines, then event lines, not handed over since the last report.
    lost: [u64; 2],
}

/// The loop's end of the message log: what it hands each line to.
pub(crate) struct LoopLog {
    producer: ring::Producer,
    slots: Vec<SlotLog>,
    /// The writer, woken while the loop waits for room.
    writer: Thread,
    /// Reused for the text of events.
    text: String,
    /// Some slot has lines lost and not yet accounted for in its log.
    owing: bool,
}

impl LoopLog {
    /// Whether slot `index` logs anything.
    pub(crate) fn is_enabled(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(|s| s.enabled)
    }

    /// Hands one message of slot `index` over; returns lines lost earlier and now accounted
    /// for, to report.
    pub(crate) fn message(
        &mut self,
        index: usize,
        direction: Direction,
        at: UtcTimestamp,
        bytes: &[u8],
    ) -> Option<u64> {
        let kind = match direction {
            Direction::Incoming => Kind::Incoming,
            Direction::Outgoing => Kind::Outgoing,
        };
        self.push(index, kind, at, bytes)
    }

    /// Hands an event over: to its session's event log, or to the GLOBAL one.
    pub(crate) fn event(
        &mut self,
        index: Option<usize>,
        at: UtcTimestamp,
        kind: &EventKind,
    ) -> Option<u64> {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        format::event_text(&mut text, kind);
        let lost = match index {
            Some(index) => self.push(index, Kind::Event, at, text.as_bytes()),
            None => {
                let header = header(Kind::Event, GLOBAL_SLOT, at);
                // Nothing to count the loss against: the GLOBAL log waits for room.
                self.push_blocking(&[&header, text.as_bytes()]);
                None
            }
        };
        self.text = text;
        lost
    }

    /// Template `template` made session `config` the loop's slot `index` (the next one): it
    /// logs as the template says, in files named after its own identity, which the writer
    /// opens.
    pub(crate) fn add_session(
        &mut self,
        index: usize,
        template: usize,
        config: &SessionConfig,
        at: UtcTimestamp,
    ) {
        self.slots.push(slot_log(&config.log));
        if !config.log.is_enabled() {
            return;
        }
        let slot_number = u32::try_from(index).unwrap_or(GLOBAL_SLOT);
        let header = header(Kind::Open, slot_number, at);
        let number = u32::try_from(template).unwrap_or(u32::MAX).to_le_bytes();
        let prefix = format::prefix(&config.id);
        let who = config.id.to_string();
        self.push_blocking(&[&header, &number, prefix.as_bytes(), &[0], who.as_bytes()]);
    }

    /// Slot `index`'s sequence numbers started again: its logs move to its backup path,
    /// when it has one.
    pub(crate) fn backup(&mut self, index: usize, at: UtcTimestamp) -> Option<u64> {
        if !self.slots.get(index).is_some_and(|s| s.backs_up) {
            return None;
        }
        self.push(index, Kind::Backup, at, &[])
    }

    /// Pushes one record of slot `index` by its overflow policy; returns how many lines lost
    /// earlier were just accounted for in the log, for `fix.session.log_overflow`.
    fn push(&mut self, index: usize, kind: Kind, at: UtcTimestamp, payload: &[u8]) -> Option<u64> {
        let slot_number = u32::try_from(index).unwrap_or(GLOBAL_SLOT);
        let slot = self.slots.get(index)?;
        if !slot.enabled {
            return None;
        }
        let overflow = slot.overflow;
        let report = self.push_lost(index, at, false);
        let header = header(kind, slot_number, at);
        let parts: [&[u8]; 2] = [&header, payload];
        let pushed = match overflow {
            LogOverflow::Drop => self.producer.push(&parts),
            _ => self.push_blocking(&parts),
        };
        if !pushed {
            let which = usize::from(matches!(kind, Kind::Event | Kind::Backup));
            self.slots[index].lost[which] += 1;
            self.owing = true;
        }
        report
    }

    /// Writes the record of slot `index`'s lost lines, if it has any and there is room (or
    /// once there is, when `wait`); returns how many lines it accounts for.
    fn push_lost(&mut self, index: usize, at: UtcTimestamp, wait: bool) -> Option<u64> {
        let [messages, events] = self.slots.get(index)?.lost;
        if messages + events == 0 {
            return None;
        }
        let slot_number = u32::try_from(index).unwrap_or(GLOBAL_SLOT);
        let header = header(Kind::Lost, slot_number, at);
        let parts: [&[u8]; 3] = [&header, &messages.to_le_bytes(), &events.to_le_bytes()];
        let pushed = if wait {
            self.push_blocking(&parts)
        } else {
            self.producer.push(&parts)
        };
        if !pushed {
            return None;
        }
        self.slots[index].lost = [0; 2];
        self.owing = self.slots.iter().any(|s| s.lost != [0; 2]);
        Some(messages + events)
    }

    /// Accounts in each log for the lines it lost, where there is room now (waiting for
    /// room when `wait`, as the loop ends); calls `report` with each slot and count written.
    pub(crate) fn settle(
        &mut self,
        at: UtcTimestamp,
        wait: bool,
        mut report: impl FnMut(usize, u64),
    ) {
        if !self.owing {
            return;
        }
        for index in 0..self.slots.len() {
            if let Some(lost) = self.push_lost(index, at, wait) {
                report(index, lost);
            }
        }
    }

    /// Pushes a record, waiting for the writer to make room; `false` only when the writer
    /// is gone or the record can never fit.
    fn push_blocking(&mut self, parts: &[&[u8]]) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > self.producer.max_record() {
            return false;
        }
        loop {
            if self.producer.push(parts) {
                return true;
            }
            if self.producer.is_closed() {
                return false;
            }
            self.writer.unpark();
            std::thread::yield_now();
        }
    }
}

/// Whether any session of `sessions` logs.
pub(crate) fn any_enabled<'a>(mut sessions: impl Iterator<Item = &'a SessionConfig>) -> bool {
    sessions.any(|s| s.log.is_enabled())
}

fn slot_log(log: &LogConfig) -> SlotLog {
    SlotLog {
        enabled: log.is_enabled(),
        overflow: log.overflow,
        backs_up: log.file_log_path.is_some() && log.file_log_backup_path.is_some(),
        lost: [0; 2],
    }
}

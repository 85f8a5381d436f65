//! The file store (`FileStorePath`): a session's sequence numbers and the application messages
//! it sent, kept on disk so that a restarted process carries on where the last one stopped,
//! with the same MsgSeqNums and the same messages to resend.
//!
//! Each session has two files in the directory, named after it (`FIX.4.4-US-THEM`, plus
//! `-QUALIFIER` when it has one, characters other than letters, digits, `.`, `_` and `-`
//! replaced by `_`):
//!
//! - `NAME.seqnums`: the next MsgSeqNum to send and the next one expected, as two 20-digit
//!   numbers on one line, rewritten in place when they change. The file is locked while a
//!   process uses it, so two processes cannot run the same session on the same store.
//! - `NAME.messages`: the application messages sent, appended one record each: a 24-byte
//!   header (MsgSeqNum, SendingTime in milliseconds since 1970, MsgType length, body
//!   length; little-endian u64, u64, u32, u32), then MsgType and body. A record cut short by
//!   a crash is dropped when the files are read. The file is rewritten from the session's
//!   in-memory store once it holds more than twice `MessageStoreSize`, and emptied when the
//!   sequence numbers start again.
//!
//! The loop writes what changed at the end of each turn, before it hands the turn's bytes to
//! the kernel. The files are not synced to the device: they survive the process, not the
//! machine.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use fixring_core::session::{SentMessage, Session};
use fixring_core::{SessionId, UtcTimestamp};

/// Bytes of a record's header.
const HEADER: usize = 24;

/// Width of one sequence number in the `.seqnums` file.
const SEQ_DIGITS: usize = 20;

/// The `.messages` file is rewritten once it is this much larger than the in-memory store
/// (at least).
const REWRITE_SLACK: u64 = 1 << 20;

/// One session's files.
#[derive(Debug)]
pub(crate) struct FileStore {
    seqnums: File,
    messages: File,
    messages_path: PathBuf,
    /// The sequence numbers as last written.
    written_seqs: (u64, u64),
    /// Messages from this MsgSeqNum on are not written yet.
    next_to_write: u64,
    /// The session's store epoch the `.messages` file belongs to.
    epoch: u64,
    /// Bytes in the `.messages` file.
    messages_len: u64,
    /// The file is rewritten past this many bytes.
    rewrite_above: u64,
    /// Whether the last write failed (reported once until one succeeds).
    failing: bool,
    records: Vec<u8>,
}

impl FileStore {
    /// Opens (creating them if needed) the files of `session` in `dir` and restores the
    /// session from them: its sequence numbers, and the messages it sent for resending.
    pub(crate) fn open(dir: &Path, session: &mut Session, store_size: usize) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let name = file_name(session.id());
        let seqnums_path = dir.join(format!("{name}.seqnums"));
        let messages_path = dir.join(format!("{name}.messages"));
        let mut seqnums = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&seqnums_path)?;
        seqnums.try_lock().map_err(|_| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is in use by another process", seqnums_path.display()),
            )
        })?;
        let mut text = String::new();
        seqnums.read_to_string(&mut text)?;
        let (next_sender, next_target) = parse_seqnums(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not two sequence numbers", seqnums_path.display()),
            )
        })?;

        let mut messages = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&messages_path)?;
        let mut bytes = Vec::new();
        messages.read_to_end(&mut bytes)?;
        let (sent, good) = parse_records(&bytes);
        if good < bytes.len() {
            // A record cut short by a crash: drop it, so that appends follow whole records.
            messages.set_len(good as u64)?;
        }
        messages.seek(SeekFrom::End(0))?;
        // A record written just before a crash that left the numbers behind still counts.
        let next_sender = sent
            .last()
            .map_or(next_sender, |last| next_sender.max(last.seq + 1));
        session.restore(next_sender, next_target, sent);
        let written_seqs = (session.next_sender_seq(), session.next_target_seq());
        let mut store = Self {
            seqnums,
            messages,
            messages_path,
            written_seqs: (0, 0),
            next_to_write: session.next_sender_seq(),
            epoch: session.store_epoch(),
            messages_len: good as u64,
            rewrite_above: (store_size as u64).saturating_mul(2) + REWRITE_SLACK,
            failing: false,
            records: Vec::new(),
        };
        store.write_seqnums(written_seqs)?;
        Ok(store)
    }

    /// Writes what changed in `session` since the last call: messages sent, then the
    /// sequence numbers. Returns an error only on the first failure of a run of them, so
    /// that the caller reports it once.
    pub(crate) fn persist(&mut self, session: &Session) -> Option<io::Error> {
        match self.write_changes(session) {
            Ok(()) => {
                self.failing = false;
                None
            }
            Err(error) if !self.failing => {
                self.failing = true;
                Some(error)
            }
            Err(_) => None,
        }
    }

    fn write_changes(&mut self, session: &Session) -> io::Result<()> {
        if session.store_epoch() != self.epoch {
            // The sequence numbers started again: so does the file.
            self.messages.set_len(0)?;
            self.messages_len = 0;
            self.next_to_write = 1;
            self.epoch = session.store_epoch();
        }
        self.records.clear();
        for message in session.sent_messages(self.next_to_write) {
            push_record(&mut self.records, &message);
            self.next_to_write = message.seq + 1;
        }
        if !self.records.is_empty() {
            self.messages.write_all(&self.records)?;
            self.messages_len += self.records.len() as u64;
            if self.messages_len > self.rewrite_above {
                self.rewrite(session)?;
            }
        }
        let seqs = (session.next_sender_seq(), session.next_target_seq());
        if seqs != self.written_seqs {
            self.write_seqnums(seqs)?;
        }
        Ok(())
    }

    /// Replaces the `.messages` file with what the session still keeps.
    fn rewrite(&mut self, session: &Session) -> io::Result<()> {
        let temporary = self.messages_path.with_extension("messages.new");
        self.records.clear();
        for message in session.sent_messages(0) {
            push_record(&mut self.records, &message);
        }
        fs::write(&temporary, &self.records)?;
        fs::rename(&temporary, &self.messages_path)?;
        self.messages = OpenOptions::new().append(true).open(&self.messages_path)?;
        self.messages_len = self.records.len() as u64;
        Ok(())
    }

    fn write_seqnums(&mut self, (next_sender, next_target): (u64, u64)) -> io::Result<()> {
        let line = format!("{next_sender:0SEQ_DIGITS$} {next_target:0SEQ_DIGITS$}\n");
        self.seqnums.write_all_at(line.as_bytes(), 0)?;
        self.written_seqs = (next_sender, next_target);
        Ok(())
    }
}

/// The files' name for session `id`.
fn file_name(id: &SessionId) -> String {
    let mut name = format!(
        "{}-{}-{}",
        id.begin_string, id.sender_comp_id, id.target_comp_id
    );
    if !id.qualifier.is_empty() {
        name.push('-');
        name.push_str(&id.qualifier);
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The two numbers of a `.seqnums` file; an empty file is a session that never ran.
fn parse_seqnums(text: &str) -> Option<(u64, u64)> {
    let mut numbers = text.split_ascii_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next(), numbers.next()) {
        (None, _, _) => Some((1, 1)),
        (Some(Ok(sender)), Some(Ok(target)), None) => Some((sender.max(1), target.max(1))),
        _ => None,
    }
}

fn push_record(out: &mut Vec<u8>, message: &SentMessage<'_>) {
    out.extend_from_slice(&message.seq.to_le_bytes());
    out.extend_from_slice(&message.sending_time.unix_millis().to_le_bytes());
    out.extend_from_slice(&(message.msg_type.len() as u32).to_le_bytes());
    out.extend_from_slice(&(message.body.len() as u32).to_le_bytes());
    out.extend_from_slice(message.msg_type);
    out.extend_from_slice(message.body);
}

/// The whole records at the start of `bytes`, in order, and how many bytes they take.
fn parse_records(bytes: &[u8]) -> (Vec<SentMessage<'_>>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some((message, len)) = bytes.get(at..).and_then(parse_record) {
        records.push(message);
        at += len;
    }
    (records, at)
}

fn parse_record(bytes: &[u8]) -> Option<(SentMessage<'_>, usize)> {
    let header = bytes.get(..HEADER)?;
    let seq = u64::from_le_bytes(header.get(..8)?.try_into().ok()?);
    let millis = u64::from_le_bytes(header.get(8..16)?.try_into().ok()?);
    let type_len = u32::from_le_bytes(header.get(16..20)?.try_into().ok()?) as usize;
    let body_len = u32::from_le_bytes(header.get(20..24)?.try_into().ok()?) as usize;
    let type_end = HEADER.checked_add(type_len)?;
    let end = type_end.checked_add(body_len)?;
    let message = SentMessage {
        seq,
        sending_time: UtcTimestamp::from_unix_millis(millis),
        msg_type: bytes.get(HEADER..type_end)?,
        body: bytes.get(type_end..end)?,
    };
    Some((message, end))
}

#[cfg(test)]
mod tests {
    use fixring_core::config::{AcceptorConfig, Role, SessionConfig};
    use fixring_core::{Instant, WallClock};

    use super::*;

    fn session(qualifier: &str) -> Session {
        let mut id = SessionId::new("FIX.4.4", "US", "THEM/X");
        id.qualifier = qualifier.to_owned();
        let config = SessionConfig::new(
            id,
            Role::Acceptor(AcceptorConfig {
                accept_host: None,
                accept_port: 9000,
            }),
        );
        let clock = WallClock::new(Instant::ZERO, UtcTimestamp::from_unix_millis(1_000));
        Session::new(&config, clock)
    }

    fn message(seq: u64, body: &'static [u8]) -> SentMessage<'static> {
        SentMessage {
            seq,
            sending_time: UtcTimestamp::from_unix_millis(seq * 1000),
            msg_type: b"D",
            body,
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fixring-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn names_are_safe_file_names() {
        assert_eq!(file_name(session("").id()), "FIX.4.4-US-THEM_X");
        assert_eq!(file_name(session("b 2").id()), "FIX.4.4-US-THEM_X-b_2");
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_dropped() {
        let mut bytes = Vec::new();
        push_record(&mut bytes, &message(2, b"11=A\x01"));
        push_record(&mut bytes, &message(3, b"11=B\x01"));
        let whole = bytes.len();
        push_record(&mut bytes, &message(4, b"11=C\x01"));
        bytes.truncate(bytes.len() - 3);
        let (records, good) = parse_records(&bytes);
        assert_eq!(records, [message(2, b"11=A\x01"), message(3, b"11=B\x01")]);
        assert_eq!(good, whole);
        assert_eq!(parse_records(&[0xff; 40]).0, []);
    }

    #[test]
    fn sequence_numbers_read_strictly() {
        assert_eq!(parse_seqnums(""), Some((1, 1)));
        assert_eq!(
            parse_seqnums("00000000000000000007 00000000000000000003\n"),
            Some((7, 3))
        );
        assert_eq!(parse_seqnums("7"), None);
        assert_eq!(parse_seqnums("7 x"), None);
        assert_eq!(parse_seqnums("7 3 9"), None);
    }

    #[test]
    fn a_session_comes_back_as_it_was_and_the_store_is_locked() {
        let dir = temp_dir("restore");
        let mut first = session("");
        let mut store = FileStore::open(&dir, &mut first, 1 << 20).expect("open");
        assert_eq!(first.next_sender_seq(), 1, "a new store starts at 1");
        // The session moves on (as after sending two orders and receiving eight messages).
        first.restore(5, 9, [message(2, b"11=A\x01"), message(4, b"11=B\x01")]);
        assert!(store.persist(&first).is_none());
        let locked = FileStore::open(&dir, &mut session(""), 1 << 20).expect_err("locked");
        assert!(locked.to_string().contains("in use"), "{locked}");
        drop(store);

        let mut restored = session("");
        let _store = FileStore::open(&dir, &mut restored, 1 << 20).expect("open again");
        assert_eq!(restored.next_sender_seq(), 5);
        assert_eq!(restored.next_target_seq(), 9);
        let sent: Vec<_> = restored.sent_messages(0).collect();
        assert_eq!(sent, [message(2, b"11=A\x01"), message(4, b"11=B\x01")]);
        let _ = fs::remove_dir_all(&dir);
    }
}

//! The file store (`FileStorePath`): a session's sequence numbers and the application messages
//! it sent, kept on disk so that a restarted process carries on where the last one stopped,
//! with the same MsgSeqNums and the same messages to resend.
//!
//! Each session has one append-only journal in the directory, `NAME.store`, named after the
//! session (`FIX.4.4-US-THEM`, plus `-57_DESK` and the like for each Sub or Location ID it
//! has, by tag, and `-QUALIFIER` when it has one; characters other than
//! letters, digits, `.`, `_` and `-` replaced by `_`). It holds two kinds of record, all
//! numbers little-endian:
//!
//! - `M`, a message sent: MsgSeqNum (u64), SendingTime in milliseconds since 1970 (u64), MsgType
//!   length (u32), body length (u32), then MsgType and body;
//! - `S`, the sequence numbers: the next MsgSeqNum to send and the next one expected (u64
//!   each);
//! - `C`, the creation time: when the sequence numbers last started again, in nanoseconds
//!   since 1970 (u64), QuickFIX's store creation time. A session schedule starts them again
//!   at start-up when it lies in an earlier session period. A journal without one (written
//!   before it was kept) counts as created when it is opened.
//!
//! Reading it back, the last `S` gives the numbers (the next to send is moved past the last
//! message, should a crash have come between the two), and the messages are kept for
//! resending. A record cut short by a crash is dropped. The journal is rewritten from the
//! session's in-memory store once it holds more than twice `MessageStoreSize`, and emptied when
//! the sequence numbers start again. It is locked while a process uses it, so two processes
//! cannot run the same session on the same store.
//!
//! The loop appends what changed at the end of each turn, in one write, before it hands the
//! turn's bytes to the kernel. The journal is not synced to the device: it survives the
//! process, not the machine.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fixring_core::session::{SentMessage, Session};
use fixring_core::{SessionId, UtcTimestamp};

/// The kind byte of a message record.
const MESSAGE: u8 = b'M';

/// The kind byte of a sequence-numbers record.
const SEQNUMS: u8 = b'S';

/// Bytes of a message record before its MsgType and body.
const MESSAGE_HEADER: usize = 25;

/// Bytes of a sequence-numbers record.
const SEQNUMS_LEN: usize = 17;

/// The kind byte of a creation-time record.
const CREATED: u8 = b'C';

/// Bytes of a creation-time record.
const CREATED_LEN: usize = 9;

/// The journal is rewritten once it is this much larger than the in-memory store (at least).
const REWRITE_SLACK: u64 = 1 << 20;

/// One session's journal.
#[derive(Debug)]
pub(crate) struct FileStore {
    file: File,
    path: PathBuf,
    /// The sequence numbers as last written.
    written_seqs: (u64, u64),
    /// The creation time as last written; `None` when the journal has none.
    written_created: Option<UtcTimestamp>,
    /// Messages from this MsgSeqNum on are not written yet.
    next_to_write: u64,
    /// The session's store epoch the journal belongs to.
    epoch: u64,
    /// Bytes in the journal.
    len: u64,
    /// The journal is rewritten past this many bytes.
    rewrite_above: u64,
    /// Whether the last write failed (reported once until one succeeds).
    failing: bool,
    records: Vec<u8>,
}

impl FileStore {
    /// Opens (creating it if needed) the journal of `session` in `dir` and restores the
    /// session from it: its sequence numbers, and the messages it sent for resending.
    pub(crate) fn open(dir: &Path, session: &mut Session, store_size: usize) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.store", file_name(session.id())));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        lock(&file).map_err(|_| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is in use by another process", path.display()),
            )
        })?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let journal = Journal::read(&bytes);
        if journal.len < bytes.len() {
            // A record cut short by a crash: drop it, so that appends follow whole records.
            file.set_len(journal.len as u64)?;
        }
        file.seek(SeekFrom::End(0))?;
        let (next_sender, next_target) = journal.seqnums;
        let next_sender = journal
            .sent
            .last()
            .map_or(next_sender, |last| next_sender.max(last.seq + 1));
        session.restore(next_sender, next_target, journal.sent);
        if let Some(created) = journal.created {
            session.set_creation_time(created);
        }
        Ok(Self {
            file,
            path,
            written_seqs: (next_sender, next_target),
            written_created: journal.created,
            next_to_write: session.next_sender_seq(),
            epoch: session.store_epoch(),
            len: journal.len as u64,
            rewrite_above: (store_size as u64).saturating_mul(2) + REWRITE_SLACK,
            failing: false,
            records: Vec::new(),
        })
    }

    /// Reads the journal again and restores `session` from it, as [`FileStore::open`] did
    /// (`RefreshOnLogon`): what another writer of the file changed since is taken up.
    pub(crate) fn refresh(&mut self, session: &mut Session) -> io::Result<()> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        let read = self.file.read_to_end(&mut bytes);
        self.file.seek(SeekFrom::End(0))?;
        read?;
        let journal = Journal::read(&bytes);
        let (next_sender, next_target) = journal.seqnums;
        let next_sender = journal
            .sent
            .last()
            .map_or(next_sender, |last| next_sender.max(last.seq + 1));
        session.restore(next_sender, next_target, journal.sent);
        self.written_seqs = (next_sender, next_target);
        self.next_to_write = session.next_sender_seq();
        self.epoch = session.store_epoch();
        self.len = bytes.len() as u64;
        Ok(())
    }

    /// Appends what changed in `session` since the last call: the messages sent, then the
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
        let seqs = (session.next_sender_seq(), session.next_target_seq());
        if session.store_epoch() != self.epoch {
            // The sequence numbers started again: so does the journal.
            self.file.set_len(0)?;
            self.len = 0;
            self.next_to_write = 1;
            self.written_seqs = (0, 0);
            self.written_created = None;
            self.epoch = session.store_epoch();
        }
        self.records.clear();
        let created = session.creation_time();
        if self.written_created != Some(created) {
            push_created(&mut self.records, created);
        }
        let mut next_to_write = self.next_to_write;
        for message in session.sent_messages(next_to_write) {
            push_message(&mut self.records, &message);
            next_to_write = message.seq + 1;
        }
        if seqs != self.written_seqs {
            push_seqnums(&mut self.records, seqs);
        }
        if self.records.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.file.write_all(&self.records) {
            // Whatever part went in is cut off again, so that the next attempt appends
            // whole records after whole records.
            let _ = self.file.set_len(self.len);
            return Err(error);
        }
        self.len += self.records.len() as u64;
        self.next_to_write = next_to_write;
        self.written_seqs = seqs;
        self.written_created = Some(created);
        if self.len > self.rewrite_above {
            self.rewrite(session)?;
        }
        Ok(())
    }

    /// Replaces the journal with what the session still keeps and its sequence numbers.
    fn rewrite(&mut self, session: &Session) -> io::Result<()> {
        self.records.clear();
        push_created(&mut self.records, session.creation_time());
        for message in session.sent_messages(0) {
            push_message(&mut self.records, &message);
        }
        push_seqnums(&mut self.records, self.written_seqs);
        let temporary = self.path.with_extension("store.new");
        fs::write(&temporary, &self.records)?;
        // Readable too: RefreshOnLogon reads the journal again.
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&temporary)?;
        file.try_lock().map_err(io::Error::other)?;
        fs::rename(&temporary, &self.path)?;
        self.file = file;
        self.len = self.records.len() as u64;
        Ok(())
    }
}

/// How long opening a journal waits for another holder of its lock to let go: a process
/// that stops and starts again at once, or a child process of ours between its fork and its
/// exec, holds it for moments only.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Takes the journal's exclusive lock, waiting at most [`LOCK_PATIENCE`] for it.
fn lock(file: &File) -> Result<(), fs::TryLockError> {
    let until = std::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// The journal's name for session `id`.
fn file_name(id: &SessionId) -> String {
    let mut name = format!(
        "{}-{}-{}",
        id.begin_string, id.sender_comp_id, id.target_comp_id
    );
    // Sub and Location IDs, when set, by tag: sessions differing only by them are two.
    for (tag, part) in [
        ("50", &id.sender_sub_id),
        ("142", &id.sender_location_id),
        ("57", &id.target_sub_id),
        ("143", &id.target_location_id),
    ] {
        if !part.is_empty() {
            name.push_str(&format!("-{tag}_{part}"));
        }
    }
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

fn push_message(out: &mut Vec<u8>, message: &SentMessage<'_>) {
    out.push(MESSAGE);
    out.extend_from_slice(&message.seq.to_le_bytes());
    out.extend_from_slice(&message.sending_time.unix_millis().to_le_bytes());
    out.extend_from_slice(&(message.msg_type.len() as u32).to_le_bytes());
    out.extend_from_slice(&(message.body.len() as u32).to_le_bytes());
    out.extend_from_slice(message.msg_type);
    out.extend_from_slice(message.body);
}

fn push_created(out: &mut Vec<u8>, created: UtcTimestamp) {
    out.push(CREATED);
    out.extend_from_slice(&created.unix_nanos().to_le_bytes());
}

fn push_seqnums(out: &mut Vec<u8>, (next_sender, next_target): (u64, u64)) {
    out.push(SEQNUMS);
    out.extend_from_slice(&next_sender.to_le_bytes());
    out.extend_from_slice(&next_target.to_le_bytes());
}

/// What a journal holds.
#[derive(Debug, PartialEq, Eq)]
struct Journal<'a> {
    /// The last sequence numbers recorded; (1, 1) for a session that never ran.
    seqnums: (u64, u64),
    /// The messages, in order.
    sent: Vec<SentMessage<'a>>,
    /// The last creation time recorded.
    created: Option<UtcTimestamp>,
    /// Bytes taken by whole records.
    len: usize,
}

impl<'a> Journal<'a> {
    /// Reads the whole records at the start of `bytes`.
    fn read(bytes: &'a [u8]) -> Self {
        let mut journal = Self {
            seqnums: (1, 1),
            sent: Vec::new(),
            created: None,
            len: 0,
        };
        while let Some(rest) = bytes.get(journal.len..) {
            let read = match rest.first() {
                Some(&MESSAGE) => read_message(rest).map(|(message, len)| {
                    journal.sent.push(message);
                    len
                }),
                Some(&SEQNUMS) => read_seqnums(rest).map(|(seqnums, len)| {
                    journal.seqnums = seqnums;
                    len
                }),
                Some(&CREATED) => u64_at(rest, 1).map(|nanos| {
                    journal.created = Some(UtcTimestamp::from_unix_nanos(nanos));
                    CREATED_LEN
                }),
                _ => None,
            };
            match read {
                Some(len) => journal.len += len,
                None => break,
            }
        }
        journal
    }
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn read_message(bytes: &[u8]) -> Option<(SentMessage<'_>, usize)> {
    let seq = u64_at(bytes, 1)?;
    let millis = u64_at(bytes, 9)?;
    let type_end = MESSAGE_HEADER.checked_add(u32_at(bytes, 17)?)?;
    let end = type_end.checked_add(u32_at(bytes, 21)?)?;
    let message = SentMessage {
        seq,
        sending_time: UtcTimestamp::from_unix_millis(millis),
        msg_type: bytes.get(MESSAGE_HEADER..type_end)?,
        body: bytes.get(type_end..end)?,
    };
    Some((message, end))
}

fn read_seqnums(bytes: &[u8]) -> Option<((u64, u64), usize)> {
    let next_sender = u64_at(bytes, 1)?.max(1);
    let next_target = u64_at(bytes, 9)?.max(1);
    Some(((next_sender, next_target), SEQNUMS_LEN))
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
        let mut id = SessionId::new("FIX.4.4", "US", "THEM");
        id.target_sub_id = "DESK 1".into();
        id.sender_location_id = "NY".into();
        id.qualifier = "Q".into();
        assert_eq!(file_name(&id), "FIX.4.4-US-THEM-142_NY-57_DESK_1-Q");
    }

    #[test]
    fn refresh_takes_up_what_another_writer_changed() {
        let dir = temp_dir("refresh");
        let mut live = session("");
        let mut store = FileStore::open(&dir, &mut live, 1 << 20).expect("open");
        live.restore(5, 9, [message(2, b"11=A\x01")]);
        assert!(store.persist(&live).is_none());
        // Another writer (a standby's tooling) moves the numbers on behind our back.
        let mut records = Vec::new();
        push_message(&mut records, &message(5, b"11=B\x01"));
        push_seqnums(&mut records, (6, 12));
        let path = dir.join(format!("{}.store", file_name(live.id())));
        let mut other = OpenOptions::new().append(true).open(&path).expect("append");
        other.write_all(&records).expect("write");
        store.refresh(&mut live).expect("refresh");
        assert_eq!((live.next_sender_seq(), live.next_target_seq()), (6, 12));
        assert_eq!(live.stored_messages(), 2);
        // Nothing is written twice, and the journal is not started again.
        assert!(store.persist(&live).is_none());
        let mut reopened = session("");
        drop(store);
        let _store = FileStore::open(&dir, &mut reopened, 1 << 20).expect("reopen");
        assert_eq!(
            (reopened.next_sender_seq(), reopened.next_target_seq()),
            (6, 12)
        );
        assert_eq!(reopened.stored_messages(), 2);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_dropped() {
        let mut bytes = Vec::new();
        push_message(&mut bytes, &message(2, b"11=A\x01"));
        push_seqnums(&mut bytes, (3, 7));
        push_message(&mut bytes, &message(3, b"11=B\x01"));
        let whole = bytes.len();
        push_seqnums(&mut bytes, (4, 8));
        bytes.truncate(bytes.len() - 3);
        let journal = Journal::read(&bytes);
        assert_eq!(
            journal,
            Journal {
                seqnums: (3, 7),
                sent: vec![message(2, b"11=A\x01"), message(3, b"11=B\x01")],
                created: None,
                len: whole,
            }
        );
        assert_eq!(Journal::read(&[0xff; 40]).len, 0);
        assert_eq!(Journal::read(&[]).seqnums, (1, 1));
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

    #[test]
    fn the_creation_time_survives_a_restart_and_moves_with_a_reset() {
        let dir = temp_dir("created");
        let mut first = session("");
        let made = first.creation_time();
        let mut store = FileStore::open(&dir, &mut first, 1 << 20).expect("open");
        first.restore(4, 2, [message(2, b"11=A\x01")]);
        assert!(store.persist(&first).is_none());
        drop(store);
        // A later run is made at another time, and gets the first one's back.
        let clock = WallClock::new(Instant::ZERO, UtcTimestamp::from_unix_millis(90_000_000));
        let config = SessionConfig::new(
            first.id().clone(),
            Role::Acceptor(AcceptorConfig {
                accept_host: None,
                accept_port: 9000,
            }),
        );
        let mut second = Session::new(&config, clock);
        assert_ne!(second.creation_time(), made);
        let mut store = FileStore::open(&dir, &mut second, 1 << 20).expect("open again");
        assert_eq!(second.creation_time(), made);
        assert_eq!(second.next_sender_seq(), 4);
        // A new session period: new numbers, a new creation time, kept across the next run.
        second.reset(Instant::from_secs(60));
        let reset_at = UtcTimestamp::from_unix_millis(90_060_000);
        assert_eq!(second.creation_time(), reset_at);
        assert!(store.persist(&second).is_none());
        drop(store);
        let mut third = session("");
        let _store = FileStore::open(&dir, &mut third, 1 << 20).expect("open a third time");
        assert_eq!(third.creation_time(), reset_at);
        assert_eq!((third.next_sender_seq(), third.stored_messages()), (1, 0));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failing_write_is_reported_once_until_one_succeeds() {
        let dir = temp_dir("failing");
        let mut first = session("");
        let mut store = FileStore::open(&dir, &mut first, 1 << 20).expect("open");
        let writable = std::mem::replace(&mut store.file, File::open(&store.path).expect("open"));
        first.restore(3, 2, [message(2, b"11=A\x01")]);
        assert!(store.persist(&first).is_some(), "a read-only journal fails");
        assert!(store.persist(&first).is_none(), "reported once");
        store.file = writable;
        assert!(store.persist(&first).is_none());
        assert!(!store.failing);
        // What failed went in on the retry.
        let journal = fs::read(&store.path).expect("read");
        let read = Journal::read(&journal);
        assert_eq!(
            (read.seqnums, read.sent),
            ((3, 2), vec![message(2, b"11=A\x01")])
        );
        first.restore(4, 2, [message(3, b"11=B\x01")]);
        store.file = File::open(&store.path).expect("open");
        assert!(
            store.persist(&first).is_some(),
            "a new failure is reported again"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rewritten_journal_keeps_what_the_session_keeps() {
        let dir = temp_dir("rewrite");
        let mut first = session("");
        let mut store = FileStore::open(&dir, &mut first, 1 << 20).expect("open");
        store.rewrite_above = 0;
        first.restore(4, 2, [message(2, b"11=A\x01"), message(3, b"11=B\x01")]);
        assert!(store.persist(&first).is_none());
        let journal = fs::read(&store.path).expect("read");
        assert_eq!(store.len, journal.len() as u64);
        drop(store);
        let mut restored = session("");
        let _store = FileStore::open(&dir, &mut restored, 1 << 20).expect("open again");
        assert_eq!(
            (restored.next_sender_seq(), restored.next_target_seq()),
            (4, 2)
        );
        assert_eq!(restored.stored_messages(), 2);
        let _ = fs::remove_dir_all(&dir);
    }
}

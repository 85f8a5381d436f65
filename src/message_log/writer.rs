//! The log writer: one thread per engine that drains every loop's ring into the files and
//! the screen, a batch at a time.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fixring_core::config::{LogConfig, LogPrecision, ScreenLogConfig};

use super::format::{self, ScreenKind};
use super::ring::{self, Consumer};
use super::{Kind, LoopLog, Record, slot_log};
use crate::EngineError;
use crate::event_loop::LoopPlan;

/// How long the writer sleeps when every ring is empty.
const IDLE_WAIT: Duration = Duration::from_millis(1);

/// A log file and the lines waiting to go into it.
struct Sink {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
    /// The last write failed and was reported; cleared by the next one that succeeds.
    failing: bool,
}

impl Sink {
    fn open(path: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            file,
            pending: Vec::with_capacity(64 * 1024),
            failing: false,
        })
    }

    /// Writes what is pending in one call; a failure is reported once until a write works.
    fn write(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.file.write_all(&self.pending) {
            Ok(()) => self.failing = false,
            Err(error) if !self.failing => {
                self.failing = true;
                tracing::error!(path = %self.path.display(), %error, "message log write failed");
            }
            Err(_) => {}
        }
        self.pending.clear();
    }

    fn sync(&mut self) {
        self.write();
        if let Err(error) = self.file.sync_data() {
            tracing::error!(path = %self.path.display(), %error, "message log sync failed");
        }
    }
}

/// A session's (or the GLOBAL) pair of files.
struct Files {
    messages: Sink,
    events: Sink,
    dir: PathBuf,
    backup_dir: Option<PathBuf>,
    prefix: String,
}

impl Files {
    fn open(dir: &Path, backup_dir: Option<&Path>, prefix: String) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        if let Some(backup) = backup_dir {
            std::fs::create_dir_all(backup)?;
        }
        Ok(Self {
            messages: Sink::open(dir.join(format::messages_file(&prefix)))?,
            events: Sink::open(dir.join(format::event_file(&prefix)))?,
            dir: dir.to_path_buf(),
            backup_dir: backup_dir.map(Path::to_path_buf),
            prefix,
        })
    }

    /// Moves both logs to the first free backup number, as QuickFIX C++'s
    /// `FileLog::backup`, and starts them again empty.
    fn backup(&mut self) -> io::Result<()> {
        let Some(backup_dir) = self.backup_dir.clone() else {
            return Ok(());
        };
        self.messages.sync();
        self.events.sync();
        let mut n = 1;
        let (messages, events) = loop {
            let messages = backup_dir.join(format::messages_backup(&self.prefix, n));
            let events = backup_dir.join(format::event_backup(&self.prefix, n));
            if !messages.exists() && !events.exists() {
                break (messages, events);
            }
            n += 1;
        };
        std::fs::rename(&self.messages.path, messages)?;
        std::fs::rename(&self.events.path, events)?;
        self.messages = Sink::open(self.dir.join(format::messages_file(&self.prefix)))?;
        self.events = Sink::open(self.dir.join(format::event_file(&self.prefix)))?;
        Ok(())
    }
}

/// What the writer knows of one session.
struct SessionSink {
    config: LogConfig,
    files: Option<Files>,
    /// `FIX.4.4:SENDER->TARGET`, as the screen log names it.
    who: String,
}

/// One loop's ring and its sessions, by slot.
struct LoopSink {
    consumer: Consumer,
    sessions: Vec<SessionSink>,
    /// The log settings of the loop's templates of dynamic sessions, by number.
    templates: Vec<LogConfig>,
}

/// Where everything goes: what [`LogWriter`]'s thread owns.
struct Writer {
    loops: Vec<LoopSink>,
    global: Vec<Files>,
    /// The screen settings of the GLOBAL events: shown when any session shows events.
    global_screen: Option<ScreenLogConfig>,
    screen: Vec<u8>,
    stop: Arc<AtomicBool>,
}

/// The running writer; [`LogWriter::finish`] writes and syncs what is left and ends it.
pub(crate) struct LogWriter {
    thread: JoinHandle<()>,
    stop: Arc<AtomicBool>,
}

impl LogWriter {
    /// Writes everything the loops handed over, syncs the files and ends the thread. Call
    /// it once every loop has ended.
    pub(crate) fn finish(self) {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        if self.thread.join().is_err() {
            tracing::error!("the message log writer panicked");
        }
    }
}

/// The loops' ends of the log, one per loop (`None` for a loop that logs nothing), and
/// the writer.
pub(crate) type Opened = (Vec<Option<LoopLog>>, LogWriter);

/// Opens the files of every session that logs, on the caller's thread so that a directory
/// that cannot be written fails start-up, and starts the writer. `None` when nothing logs.
pub(crate) fn open(plans: &[LoopPlan]) -> Result<Option<Opened>, EngineError> {
    if !super::any_enabled(plans.iter().flat_map(LoopPlan::configs)) {
        return Ok(None);
    }
    let mut loops = Vec::new();
    let mut producers = Vec::new();
    let mut global: Vec<Files> = Vec::new();
    let mut global_screen = None;
    for plan in plans {
        let size = super::ring_size(plan.configs(), plan.backend.buffer_size);
        let (producer, consumer) = ring::ring(size);
        let mut sessions = Vec::with_capacity(plan.sessions.len());
        for config in plan.configs() {
            let log = &config.log;
            let error = |path: &Path, source| EngineError::Log {
                session: config.id.to_string(),
                path: path.to_path_buf(),
                source,
            };
            let files = match &log.file_log_path {
                // A template's sessions open their own files when it makes them.
                Some(dir) if config.template => {
                    if !global.iter().any(|g| g.dir == *dir) {
                        let globals = Files::open(dir, None, format::GLOBAL.to_owned())
                            .map_err(|source| error(dir, source))?;
                        global.push(globals);
                    }
                    None
                }
                Some(dir) => {
                    let backup = log.file_log_backup_path.as_deref();
                    let files = Files::open(dir, backup, format::prefix(&config.id))
                        .map_err(|source| error(dir, source))?;
                    if !global.iter().any(|g| g.dir == *dir) {
                        let globals = Files::open(dir, None, format::GLOBAL.to_owned())
                            .map_err(|source| error(dir, source))?;
                        global.push(globals);
                    }
                    Some(files)
                }
                None => None,
            };
            if log.screen.events && global_screen.is_none() {
                global_screen = Some(log.screen);
            }
            if !config.template {
                sessions.push(SessionSink {
                    config: log.clone(),
                    files,
                    who: config.id.to_string(),
                });
            }
        }
        let templates = plan.templates.iter().map(|t| t.log.clone()).collect();
        let enabled = plan.configs().any(|s| s.log.is_enabled());
        producers.push(enabled.then(|| {
            (
                producer,
                plan.sessions
                    .iter()
                    .map(|s| slot_log(&s.log))
                    .collect::<Vec<_>>(),
            )
        }));
        loops.push(LoopSink {
            consumer,
            sessions,
            templates,
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = Writer {
        loops,
        global,
        global_screen,
        screen: Vec::new(),
        stop: Arc::clone(&stop),
    };
    let thread = std::thread::Builder::new()
        .name("fixring-log".to_owned())
        .spawn(move || writer.run())
        .map_err(EngineError::Thread)?;
    let handle = thread.thread().clone();
    let loop_logs = producers
        .into_iter()
        .map(|entry| {
            entry.map(|(producer, slots)| LoopLog {
                producer,
                slots,
                writer: handle.clone(),
                text: String::with_capacity(256),
                owing: false,
            })
        })
        .collect();
    Ok(Some((loop_logs, LogWriter { thread, stop })))
}

impl Writer {
    fn run(mut self) {
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            let count = self.drain();
            self.write();
            if count == 0 {
                if stopping {
                    break;
                }
                std::thread::park_timeout(IDLE_WAIT);
            }
        }
        for files in self.files() {
            files.messages.sync();
            files.events.sync();
        }
    }

    /// Every file, the sessions' and the GLOBAL ones.
    fn files(&mut self) -> impl Iterator<Item = &mut Files> {
        let sessions = self
            .loops
            .iter_mut()
            .flat_map(|l| l.sessions.iter_mut().filter_map(|s| s.files.as_mut()));
        sessions.chain(self.global.iter_mut())
    }

    /// Formats every record waiting in every ring; returns how many there were.
    fn drain(&mut self) -> usize {
        let Self {
            loops,
            global,
            global_screen,
            screen,
            ..
        } = self;
        let mut count = 0;
        for sink in loops.iter_mut() {
            let LoopSink {
                consumer,
                sessions,
                templates,
            } = sink;
            count += consumer.drain(|bytes| {
                let Some(record) = Record::parse(bytes) else {
                    return;
                };
                if record.kind == Kind::Open {
                    open_session(sessions, templates, &record);
                    return;
                }
                match sessions.get_mut(record.slot as usize) {
                    Some(session) => session_record(session, screen, &record),
                    None => global_record(global, *global_screen, screen, &record),
                }
            });
        }
        count
    }

    /// Writes every buffer filled by the last drain.
    fn write(&mut self) {
        for files in self.files() {
            files.messages.write();
            files.events.write();
        }
        if !self.screen.is_empty() {
            let mut out = io::stdout().lock();
            // The console may be gone; the files are what must be kept.
            let _ = out.write_all(&self.screen).and_then(|()| out.flush());
            self.screen.clear();
        }
    }
}

/// Opens the logs of a session a template made (a [`Kind::Open`] record): it takes the
/// record's slot. Files that cannot be opened are reported; the session then logs to the
/// screen only, if it shows anything there.
fn open_session(sessions: &mut Vec<SessionSink>, templates: &[LogConfig], record: &Record<'_>) {
    let Some((number, rest)) = record.payload.split_first_chunk::<4>() else {
        return;
    };
    let Some(config) = templates.get(u32::from_le_bytes(*number) as usize) else {
        return;
    };
    let mut parts = rest.splitn(2, |&b| b == 0);
    let prefix = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let who = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let files = config.file_log_path.as_deref().and_then(|dir| {
        let backup = config.file_log_backup_path.as_deref();
        Files::open(dir, backup, prefix)
            .inspect_err(|error| {
                tracing::error!(session = %who, path = %dir.display(), %error,
                    "the message log of a session made from a template cannot be opened");
            })
            .ok()
    });
    // A session made earlier that logs nothing sent no record: it gets a sink that stays
    // unused, so that each sink sits at its slot.
    sessions.resize_with(record.slot as usize, || SessionSink {
        config: LogConfig::default(),
        files: None,
        who: String::new(),
    });
    sessions.push(SessionSink {
        config: config.clone(),
        files,
        who,
    });
}

/// Formats one record of a session into its files and the screen.
fn session_record(session: &mut SessionSink, screen: &mut Vec<u8>, record: &Record<'_>) {
    let config = &session.config;
    let at = record.at;
    let stamp = Some((at, config.precision));
    let shown = |kind: ScreenKind| match kind {
        ScreenKind::Incoming => config.screen.incoming,
        ScreenKind::Outgoing => config.screen.outgoing,
        ScreenKind::Event => config.screen.events,
    };
    let show = |screen: &mut Vec<u8>, kind: ScreenKind, text: &[u8]| {
        format::screen(
            screen,
            at,
            config.screen.precision,
            &session.who,
            kind,
            text,
        );
    };
    match record.kind {
        Kind::Incoming | Kind::Outgoing => {
            let kind = if record.kind == Kind::Incoming {
                ScreenKind::Incoming
            } else {
                ScreenKind::Outgoing
            };
            let heartbeat = format::is_heartbeat(record.payload);
            if let Some(files) = &mut session.files
                && (config.heartbeats || !heartbeat)
            {
                let stamp = stamp.filter(|_| config.timestamps_for_messages);
                format::line(&mut files.messages.pending, stamp, record.payload);
            }
            if shown(kind) && (config.screen.heartbeats || !heartbeat) {
                show(screen, kind, record.payload);
            }
        }
        Kind::Event => {
            if let Some(files) = &mut session.files {
                format::line(&mut files.events.pending, stamp, record.payload);
            }
            if shown(ScreenKind::Event) {
                show(screen, ScreenKind::Event, record.payload);
            }
        }
        Kind::Lost => {
            let count = |at: usize| {
                record
                    .payload
                    .get(at..at + 8)
                    .and_then(|n| n.try_into().ok())
                    .map_or(0, u64::from_le_bytes)
            };
            let text = format::lost_text(count(0), count(8));
            if let Some(files) = &mut session.files {
                format::line(&mut files.messages.pending, stamp, text.as_bytes());
                format::line(&mut files.events.pending, stamp, text.as_bytes());
            }
            if shown(ScreenKind::Event) {
                show(screen, ScreenKind::Event, text.as_bytes());
            }
        }
        // Handled by the drain before a record reaches its session.
        Kind::Open => {}
        Kind::Backup => {
            if let Some(files) = &mut session.files
                && let Err(error) = files.backup()
            {
                tracing::error!(session = %session.who, %error, "message log backup failed");
            }
        }
    }
}

/// Formats an event of no session into every GLOBAL event log and the screen.
fn global_record(
    global: &mut [Files],
    screen_config: Option<ScreenLogConfig>,
    screen: &mut Vec<u8>,
    record: &Record<'_>,
) {
    if record.kind != Kind::Event {
        return;
    }
    for files in global.iter_mut() {
        let stamp = Some((record.at, LogPrecision::Nanos));
        format::line(&mut files.events.pending, stamp, record.payload);
    }
    if let Some(config) = screen_config {
        let kind = ScreenKind::Event;
        format::screen(
            screen,
            record.at,
            config.precision,
            format::GLOBAL,
            kind,
            record.payload,
        );
    }
}

//! The message log's keys: `FileLogPath` and its companions, the `ScreenLog…` keys, and
//! fixring's own `FileLogOverflow` and `FileLogBufferSize`.
//!
//! QuickFIX C++, QuickFIX/J, QuickFIX/n and quickfixgo all spell the directory
//! `FileLogPath`; `FileLogBackupPath` is QuickFIX C++'s; `FileLogHeartbeats`,
//! `FileIncludeMilliseconds`, `FileIncludeTimeStampForMessages`, `ScreenLogShowHeartBeats`
//! and `ScreenIncludeMilliseconds` are QuickFIX/J's.

use std::path::PathBuf;

use super::error::Report;
use super::parse::{View, invalid};
use super::session::{bool_value, number};

const FILE_LOG_PATH: &str = "filelogpath";
const FILE_LOG_BACKUP_PATH: &str = "filelogbackuppath";
const FILE_LOG_HEARTBEATS: &str = "filelogheartbeats";
const FILE_INCLUDE_MILLISECONDS: &str = "fileincludemilliseconds";
const FILE_INCLUDE_TIMESTAMP: &str = "fileincludetimestampformessages";
const FILE_LOG_OVERFLOW: &str = "filelogoverflow";
const FILE_LOG_BUFFER_SIZE: &str = "filelogbuffersize";
const SCREEN_INCOMING: &str = "screenlogshowincoming";
const SCREEN_OUTGOING: &str = "screenlogshowoutgoing";
const SCREEN_EVENTS: &str = "screenlogshowevents";
const SCREEN_HEARTBEATS: &str = "screenlogshowheartbeats";
const SCREEN_INCLUDE_MILLISECONDS: &str = "screenincludemilliseconds";

/// Every key of the message log (lower-cased).
pub(super) const KEYS: [&str; 12] = [
    FILE_LOG_PATH,
    FILE_LOG_BACKUP_PATH,
    FILE_LOG_HEARTBEATS,
    FILE_INCLUDE_MILLISECONDS,
    FILE_INCLUDE_TIMESTAMP,
    FILE_LOG_OVERFLOW,
    FILE_LOG_BUFFER_SIZE,
    SCREEN_INCOMING,
    SCREEN_OUTGOING,
    SCREEN_EVENTS,
    SCREEN_HEARTBEATS,
    SCREEN_INCLUDE_MILLISECONDS,
];

/// The smallest `FileLogBufferSize`: a few messages.
pub const MIN_LOG_BUFFER_SIZE: usize = 4096;

/// The default `FileLogBufferSize`: 1 MiB per session, some 5,000 orders.
pub const DEFAULT_LOG_BUFFER_SIZE: usize = 1 << 20;

/// How a session's messages and events are logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// FileLogPath: the directory of the session's messages and event logs (default none:
    /// no file log).
    pub file_log_path: Option<PathBuf>,
    /// FileLogBackupPath: where the logs are moved when the sequence numbers start again
    /// (default none: the logs are never moved).
    pub file_log_backup_path: Option<PathBuf>,
    /// FileLogHeartbeats: Heartbeats (35=0) go to the messages log too (default Y).
    pub heartbeats: bool,
    /// FileIncludeMilliseconds: the precision of the file logs' timestamps.
    pub precision: LogPrecision,
    /// FileIncludeTimeStampForMessages: each message's line begins with its time (default
    /// Y, as QuickFIX C++).
    pub timestamps_for_messages: bool,
    /// FileLogOverflow: what the loop does when the log writer falls behind.
    pub overflow: LogOverflow,
    /// FileLogBufferSize: the bytes of log the loop holds for this session while the writer
    /// catches up (default 1 MiB, at least 4 KiB).
    pub buffer_size: usize,
    /// The `ScreenLog…` keys: what goes to standard output.
    pub screen: ScreenLogConfig,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            file_log_path: None,
            file_log_backup_path: None,
            heartbeats: true,
            precision: LogPrecision::Nanos,
            timestamps_for_messages: true,
            overflow: LogOverflow::Block,
            buffer_size: DEFAULT_LOG_BUFFER_SIZE,
            screen: ScreenLogConfig::default(),
        }
    }
}

impl LogConfig {
    /// Whether anything of the session is logged, to a file or to the screen.
    pub fn is_enabled(&self) -> bool {
        self.file_log_path.is_some() || self.screen.is_enabled()
    }
}

/// The digits of a second a log's timestamps carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogPrecision {
    /// `YYYYMMDD-HH:MM:SS` (`…IncludeMilliseconds=N`).
    Seconds,
    /// `YYYYMMDD-HH:MM:SS.sss` (`…IncludeMilliseconds=Y`, QuickFIX/J and QuickFIX C++ 1.14).
    Millis,
    /// `YYYYMMDD-HH:MM:SS.sssssssss` (the key absent, as QuickFIX C++ 1.15).
    #[default]
    Nanos,
}

/// What the loop does with a line when the log writer has fallen so far behind that the
/// session's share of the log buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogOverflow {
    /// `block`: the loop waits for the writer; nothing is ever lost (default).
    #[default]
    Block,
    /// `drop`: the loop goes on and counts the lines it could not hand over; once there is
    /// room again the log gets a line saying how many were lost, and the application an
    /// event.
    Drop,
}

/// What a session shows on standard output, in QuickFIX C++'s screen-log layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScreenLogConfig {
    /// ScreenLogShowIncoming (default N).
    pub incoming: bool,
    /// ScreenLogShowOutgoing (default N).
    pub outgoing: bool,
    /// ScreenLogShowEvents (default N).
    pub events: bool,
    /// ScreenLogShowHeartBeats: Heartbeats shown too (default Y).
    pub heartbeats: bool,
    /// ScreenIncludeMilliseconds: the precision of the screen's timestamps.
    pub precision: LogPrecision,
}

impl Default for ScreenLogConfig {
    fn default() -> Self {
        Self {
            incoming: false,
            outgoing: false,
            events: false,
            heartbeats: true,
            precision: LogPrecision::Nanos,
        }
    }
}

impl ScreenLogConfig {
    /// Whether anything goes to the screen.
    pub fn is_enabled(&self) -> bool {
        self.incoming || self.outgoing || self.events
    }
}

/// Whether a canonical name is a key of the message log.
pub(super) fn is_log_key(name: &str) -> bool {
    KEYS.contains(&name)
}

/// Reads the message log's keys of one session.
pub(super) fn read_log(view: &View<'_, '_>, report: &mut Report) -> LogConfig {
    let mut log = LogConfig::default();
    let path = |name: &str| {
        view.get(name)
            .filter(|e| !e.value.is_empty())
            .map(|e| PathBuf::from(e.value))
    };
    let flag = |name: &str, report: &mut Report| view.get(name).and_then(|e| bool_value(e, report));
    log.file_log_path = path(FILE_LOG_PATH);
    log.file_log_backup_path = path(FILE_LOG_BACKUP_PATH);
    if let Some(b) = flag(FILE_LOG_HEARTBEATS, report) {
        log.heartbeats = b;
    }
    if let Some(b) = flag(FILE_INCLUDE_MILLISECONDS, report) {
        log.precision = precision(b);
    }
    if let Some(b) = flag(FILE_INCLUDE_TIMESTAMP, report) {
        log.timestamps_for_messages = b;
    }
    if let Some(entry) = view.get(FILE_LOG_OVERFLOW) {
        if entry.value.eq_ignore_ascii_case("block") {
            log.overflow = LogOverflow::Block;
        } else if entry.value.eq_ignore_ascii_case("drop") {
            log.overflow = LogOverflow::Drop;
        } else {
            invalid(report, entry, "expected block or drop".to_owned());
        }
    }
    if let Some(entry) = view.get(FILE_LOG_BUFFER_SIZE)
        && let Some(bytes) = number(entry, report)
    {
        match usize::try_from(bytes) {
            Ok(size) if size >= MIN_LOG_BUFFER_SIZE => log.buffer_size = size,
            _ => invalid(
                report,
                entry,
                format!("must be at least {MIN_LOG_BUFFER_SIZE} bytes"),
            ),
        }
    }
    let screen = &mut log.screen;
    if let Some(b) = flag(SCREEN_INCOMING, report) {
        screen.incoming = b;
    }
    if let Some(b) = flag(SCREEN_OUTGOING, report) {
        screen.outgoing = b;
    }
    if let Some(b) = flag(SCREEN_EVENTS, report) {
        screen.events = b;
    }
    if let Some(b) = flag(SCREEN_HEARTBEATS, report) {
        screen.heartbeats = b;
    }
    if let Some(b) = flag(SCREEN_INCLUDE_MILLISECONDS, report) {
        screen.precision = precision(b);
    }
    log
}

/// `…IncludeMilliseconds=Y` is milliseconds, `N` whole seconds.
fn precision(include_milliseconds: bool) -> LogPrecision {
    if include_milliseconds {
        LogPrecision::Millis
    } else {
        LogPrecision::Seconds
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{LogOverflow, LogPrecision, Settings};

    const SESSION: &str = "[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                           SenderCompID=A\nTargetCompID=B\nSocketAcceptPort=5001\n";

    #[test]
    fn defaults_are_quickfix_cpp_s_layout_and_never_drop() {
        let settings = Settings::parse(SESSION, None).expect("parses");
        let log = &settings.sessions[0].log;
        assert_eq!(log.file_log_path, None);
        assert!(!log.is_enabled());
        assert!(log.heartbeats && log.timestamps_for_messages);
        assert_eq!(log.precision, LogPrecision::Nanos);
        assert_eq!(log.overflow, LogOverflow::Block);
    }

    #[test]
    fn every_key_is_read_without_a_warning() {
        let text = format!(
            "[DEFAULT]\nFileLogPath=log\nFileLogBackupPath=old\nFileLogHeartbeats=N\n\
             FileIncludeMilliseconds=Y\nFileIncludeTimeStampForMessages=N\n\
             FileLogOverflow=drop\nFileLogBufferSize=8192\nScreenLogShowIncoming=Y\n\
             ScreenLogShowOutgoing=Y\nScreenLogShowEvents=N\nScreenLogShowHeartBeats=N\n\
             ScreenIncludeMilliseconds=N\n{SESSION}"
        );
        let settings = Settings::parse(&text, None).expect("parses");
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
        let log = &settings.sessions[0].log;
        assert_eq!(log.file_log_path.as_deref(), Some("log".as_ref()));
        assert_eq!(log.file_log_backup_path.as_deref(), Some("old".as_ref()));
        assert!(!log.heartbeats && !log.timestamps_for_messages);
        assert_eq!(log.precision, LogPrecision::Millis);
        assert_eq!(log.overflow, LogOverflow::Drop);
        assert_eq!(log.buffer_size, 8192);
        assert!(log.screen.incoming && log.screen.outgoing && !log.screen.events);
        assert!(!log.screen.heartbeats);
        assert_eq!(log.screen.precision, LogPrecision::Seconds);
    }

    #[test]
    fn bad_values_are_errors_with_their_line() {
        let text = format!("{SESSION}FileLogOverflow=sometimes\nFileLogBufferSize=10\n");
        let errors = Settings::parse(&text, None).expect_err("refused");
        let text = errors.to_string();
        assert!(text.contains(":7: FileLogOverflow"), "{text}");
        assert!(text.contains(":8: FileLogBufferSize"), "{text}");
    }
}

//! Errors and warnings of a settings file, each naming the file, line and key.

use core::fmt;
use std::path::{Path, PathBuf};

use crate::ErrorCode;

/// One problem found in a settings file.
///
/// Displayed as `FILE:LINE: Key: message`, where FILE is `<settings>` for text that did not
/// come from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The settings file, if the text came from one.
    pub file: Option<PathBuf>,
    /// The 1-based line the problem is on; for a missing key, the line of the `[SESSION]`
    /// header; 0 when the file could not be read at all.
    pub line: usize,
    /// The key concerned, as written in the file (or the expected spelling when missing).
    pub key: String,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// The error code of the engine's interface this maps onto: always
    /// [`ErrorCode::ConfigError`].
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::ConfigError
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = FileName(self.file.as_deref());
        if self.line == 0 {
            write!(f, "{file}: {}", self.kind)
        } else if self.key.is_empty() {
            write!(f, "{file}:{}: {}", self.line, self.kind)
        } else {
            write!(f, "{file}:{}: {}: {}", self.line, self.key, self.kind)
        }
    }
}

impl std::error::Error for ConfigError {}

/// What is wrong with a setting.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Read {
        /// The operating system's reason.
        reason: String,
    },
    /// A line that is neither `Key=Value`, a section header, a comment nor blank; or an
    /// unknown section; or a key before the first section.
    Syntax {
        /// What was expected.
        reason: &'static str,
    },
    /// A key the session's connection type requires is absent.
    MissingKey,
    /// A port outside 1..=65535.
    PortOutOfRange {
        /// The value as written.
        value: String,
    },
    /// A boolean other than `Y` or `N`.
    InvalidBool {
        /// The value as written.
        value: String,
    },
    /// A value that should be a non-negative whole number and is not.
    InvalidNumber {
        /// The value as written.
        value: String,
    },
    /// A second session with the same BeginString, CompIDs and qualifier.
    DuplicateSession {
        /// The `[SESSION]` line of the first one.
        first_line: usize,
    },
    /// A HostSelectionPolicy other than `ROUNDROBIN` or `PRIORITY`.
    UnknownPolicy {
        /// The value as written.
        value: String,
    },
    /// A ConnectionType other than `acceptor` or `initiator`.
    UnknownConnectionType {
        /// The value as written.
        value: String,
    },
    /// An initiator without any SocketConnectHost.
    NoHost,
    /// A TLS acceptor and a plain acceptor on the same SocketAcceptPort.
    TlsPlainPortConflict {
        /// The shared port.
        port: u16,
        /// The `[SESSION]` line of the earlier session on that port.
        other_line: usize,
    },
    /// The file has no `[SESSION]`: there is nothing to run.
    NoSessions,
    /// A key of another engine asking for behaviour fixring does not have (a database store,
    /// a proxy, a Java key store…): refused rather than run without it. The value is not
    /// repeated, as it may be a password.
    Unsupported {
        /// What the key asks for and what fixring does instead.
        reason: &'static str,
    },
    /// Any other value that cannot be used.
    InvalidValue {
        /// The value as written.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { reason } => write!(f, "cannot read the settings file: {reason}"),
            Self::Syntax { reason } => write!(f, "syntax error: {reason}"),
            Self::MissingKey => write!(f, "required key is missing"),
            Self::PortOutOfRange { value } => {
                write!(f, "port {value:?} is outside 1..=65535")
            }
            Self::InvalidBool { value } => write!(f, "expected Y or N, found {value:?}"),
            Self::InvalidNumber { value } => {
                write!(f, "expected a whole number, found {value:?}")
            }
            Self::DuplicateSession { first_line } => {
                write!(f, "session already defined at line {first_line}")
            }
            Self::UnknownPolicy { value } => {
                write!(f, "expected ROUNDROBIN or PRIORITY, found {value:?}")
            }
            Self::UnknownConnectionType { value } => {
                write!(f, "expected acceptor or initiator, found {value:?}")
            }
            Self::NoHost => write!(f, "initiator has no SocketConnectHost"),
            Self::TlsPlainPortConflict { port, other_line } => write!(
                f,
                "port {port} mixes TLS and plain sessions (the session at line {other_line})"
            ),
            Self::NoSessions => write!(f, "No sessions defined: the file has no [SESSION]"),
            Self::Unsupported { reason } => write!(f, "not supported: {reason}"),
            Self::InvalidValue { value, reason } => write!(f, "invalid value {value:?}: {reason}"),
        }
    }
}

/// Every error found in one settings file, in file order, with the warnings found beside
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

impl ConfigErrors {
    /// The errors in file order, each once: a `[DEFAULT]` line wrong for every session that
    /// inherits it is one error.
    pub(super) fn new(mut errors: Vec<ConfigError>, warnings: Vec<ConfigWarning>) -> Self {
        errors.sort_by_key(|e| e.line);
        let mut seen = Vec::with_capacity(errors.len());
        errors.retain(|e| {
            let first = !seen.contains(e);
            if first {
                seen.push(e.clone());
            }
            first
        });
        Self { errors, warnings }
    }

    /// The errors, in file order.
    pub fn iter(&self) -> core::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    /// The warnings of the same file (unknown keys): worth saying even when it is refused.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// How many errors there are (at least one).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none; never true for a value returned by the parser.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = core::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A key that loads but deserves the operator's attention: unknown, not implemented yet, or
/// turning a protection off.
///
/// Displayed as `FILE:LINE: Key: message`, e.g. `FILE:LINE: Key: unknown key, ignored`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The settings file, if the text came from one.
    pub file: Option<PathBuf>,
    /// The 1-based line of the key.
    pub line: usize,
    /// The key as written.
    pub key: String,
    /// Why the key is worth a warning.
    pub kind: ConfigWarningKind,
}

/// Why a key is worth a warning.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigWarningKind {
    /// No engine key of that name: an application's own key, or a misspelling.
    UnknownKey,
    /// A QuickFIX key whose behaviour fixring does not implement yet; the session runs
    /// without it.
    NotImplemented {
        /// What the session does instead.
        reason: &'static str,
    },
    /// A file the key names cannot be read now: the engine's start will refuse the session
    /// unless it can be read then.
    UnreadableFile {
        /// The operating system's reason.
        reason: String,
    },
    /// A setting that turns a protection off (certificate verification, revocation checks):
    /// loaded as asked, and said every time.
    Insecure {
        /// What is no longer checked.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = FileName(self.file.as_deref());
        write!(f, "{file}:{}: {}: ", self.line, self.key)?;
        match &self.kind {
            ConfigWarningKind::UnknownKey => f.write_str("unknown key, ignored"),
            ConfigWarningKind::NotImplemented { reason } => {
                write!(f, "not implemented yet, ignored: {reason}")
            }
            ConfigWarningKind::Insecure { reason } => write!(f, "WARNING, insecure: {reason}"),
            ConfigWarningKind::UnreadableFile { reason } => {
                write!(
                    f,
                    "cannot be read now ({reason}): the engine will not start so"
                )
            }
        }
    }
}

/// The file part of a message.
struct FileName<'a>(Option<&'a Path>);

impl fmt::Display for FileName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("<settings>"),
        }
    }
}

/// Collects the errors and warnings of one file while it is parsed.
pub(super) struct Report {
    pub(super) file: Option<PathBuf>,
    pub(super) errors: Vec<ConfigError>,
    pub(super) warnings: Vec<ConfigWarning>,
    /// Whether the files a session names are opened while parsing ([`super::Settings::load`]).
    pub(super) check_files: bool,
}

impl Report {
    pub(super) fn new(file: Option<&Path>) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            errors: Vec::new(),
            warnings: Vec::new(),
            check_files: false,
        }
    }

    pub(super) fn error(&mut self, line: usize, key: &str, kind: ConfigErrorKind) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            key: key.to_owned(),
            kind,
        });
    }

    pub(super) fn warn(&mut self, line: usize, key: &str, kind: ConfigWarningKind) {
        self.warnings.push(ConfigWarning {
            file: self.file.clone(),
            line,
            key: key.to_owned(),
            kind,
        });
    }
}

//! From a split settings file to [`Settings`]: every key read, checked and defaulted, with
//! every error of the file collected.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{ConfigError, ConfigErrorKind, ConfigErrors, ConfigWarningKind, Report};
use super::keys::{self, HostKey};
use super::session::read_session;
use super::settings_file::{Entry, SettingsFile};
use super::unsupported::{self, Verdict};
use super::{Admission, BusyPoll, EngineConfig, Role, SessionConfig, Settings, Transport};

impl Settings {
    /// Parses the text of a QuickFIX-style settings file.
    ///
    /// `path` is only used to name the file in errors and warnings. Every error of the text
    /// is returned, in line order, not just the first.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, ConfigErrors> {
        Self::parse_with(text, path, false)
    }

    /// [`Settings::parse`]; with `check_files`, the TLS files named are also opened, and
    /// each one that cannot be read is a warning (the engine's start would refuse it).
    fn parse_with(
        text: &str,
        path: Option<&Path>,
        check_files: bool,
    ) -> Result<Self, ConfigErrors> {
        let mut report = Report::new(path);
        report.check_files = check_files;
        let file = SettingsFile::split(text, &mut report);
        let engine = read_engine(&file.defaults, &mut report);
        check_keys(&file.defaults, true, &mut report);
        let mut sessions = Vec::new();
        for section in &file.sessions {
            check_keys(&section.entries, false, &mut report);
            let view = View {
                defaults: &file.defaults,
                section: &section.entries,
                line: section.line,
            };
            if let Some(session) = read_session(&view, &mut report) {
                sessions.push(session);
            }
        }
        check_across_sessions(&sessions, &mut report);
        if file.sessions.is_empty() {
            // As QuickFIX: an engine with nothing to run is a mistake, not a quiet success.
            // Reported at the end of the file, after what else is wrong with it.
            report.error(text.lines().count().max(1), "", ConfigErrorKind::NoSessions);
        }
        if !report.errors.is_empty() {
            return Err(ConfigErrors::new(report.errors, report.warnings));
        }
        Ok(Self {
            path: path.map(Path::to_path_buf),
            engine,
            sessions,
            warnings: report.warnings,
        })
    }

    /// Reads and parses a settings file; a file that cannot be read is itself an error
    /// naming the file. The TLS certificate, key and CA files it names are opened too
    /// (relative to the working directory, as the engine reads them): one that cannot be
    /// read is a warning naming its key.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_with(&text, Some(path), true),
            Err(e) => {
                let unreadable = ConfigError {
                    file: Some(PathBuf::from(path)),
                    line: 0,
                    key: String::new(),
                    kind: ConfigErrorKind::Read {
                        reason: e.to_string(),
                    },
                };
                Err(ConfigErrors::new(vec![unreadable], Vec::new()))
            }
        }
    }
}

/// The settings one session sees: its own entries over those of `[DEFAULT]`.
pub(super) struct View<'s, 'a> {
    defaults: &'s [Entry<'a>],
    section: &'s [Entry<'a>],
    /// The line of the `[SESSION]` header.
    pub(super) line: usize,
}

impl<'s, 'a> View<'s, 'a> {
    /// The entry for a canonical name: the session's last one, else `[DEFAULT]`'s last one.
    pub(super) fn get(&self, name: &str) -> Option<&'s Entry<'a>> {
        let find = |entries: &'s [Entry<'a>]| entries.iter().rev().find(|e| e.name == name);
        find(self.section).or_else(|| find(self.defaults))
    }

    /// Every entry whose canonical name starts with `prefix`, one per name: the session's
    /// over `[DEFAULT]`'s, in the order they were first written.
    pub(super) fn prefixed(&self, prefix: &str) -> Vec<&'s Entry<'a>> {
        let mut found: Vec<&'s Entry<'a>> = Vec::new();
        for entry in self.defaults.iter().chain(self.section) {
            if !entry.name.starts_with(prefix) {
                continue;
            }
            match found.iter_mut().find(|e| e.name == entry.name) {
                Some(slot) => *slot = entry,
                None => found.push(entry),
            }
        }
        found
    }

    /// Every numbered failover key of the session, `[DEFAULT]`'s overridden by the session's.
    pub(super) fn numbered(&self) -> HashMap<(HostKey, usize), &'s Entry<'a>> {
        let mut found = HashMap::new();
        for entry in self.defaults.iter().chain(self.section) {
            if let Some(key) = keys::numbered(&entry.name) {
                found.insert(key, entry);
            }
        }
        found
    }
}

/// Checks every key's name: an unknown key is warned about, a key of another engine whose
/// behaviour fixring does not have is refused (unless its value asks for what fixring does),
/// and engine keys are an error outside `[DEFAULT]`.
fn check_keys(entries: &[Entry<'_>], is_default: bool, report: &mut Report) {
    for entry in entries {
        let name = entry.name.as_str();
        if keys::ENGINE.contains(&name) {
            if !is_default {
                report.error(
                    entry.line,
                    entry.key,
                    ConfigErrorKind::InvalidValue {
                        value: entry.value.to_owned(),
                        reason: "engine settings belong in [DEFAULT]".to_owned(),
                    },
                );
            }
        } else if let Some(verdict) = unsupported::judge(name, entry.value) {
            if let Verdict::Refused(reason) = verdict {
                report.error(
                    entry.line,
                    entry.key,
                    ConfigErrorKind::Unsupported { reason },
                );
            }
        } else if let Some(reason) = keys::not_implemented(name) {
            report.warn(
                entry.line,
                entry.key,
                ConfigWarningKind::NotImplemented { reason },
            );
        } else if !keys::is_session_key(name) && !keys::has_no_effect(name) {
            report.warn(entry.line, entry.key, ConfigWarningKind::UnknownKey);
        }
    }
}

/// Reads EventLoopCores, BusyPoll, Transport, HttpAcceptPort, HttpAcceptHost and the
/// admission keys from `[DEFAULT]`.
fn read_engine(defaults: &[Entry<'_>], report: &mut Report) -> EngineConfig {
    let mut engine = EngineConfig::default();
    let find = |name: &str| defaults.iter().rev().find(|e| e.name == name);
    if let Some(entry) = find(keys::EVENT_LOOP_CORES) {
        match parse_cores(entry.value) {
            Ok(cores) => engine.event_loop_cores = cores,
            Err(reason) => invalid(report, entry, reason),
        }
    }
    if let Some(entry) = find(keys::BUSY_POLL) {
        match parse_busy_poll(entry.value) {
            Ok(busy_poll) => engine.busy_poll = busy_poll,
            Err(reason) => invalid(report, entry, reason),
        }
    }
    if let Some(entry) = find(keys::TRANSPORT) {
        let value = entry.value;
        if value.eq_ignore_ascii_case("auto") {
            engine.transport = Transport::Auto;
        } else if value.eq_ignore_ascii_case("uring") {
            engine.transport = Transport::Uring;
        } else if value.eq_ignore_ascii_case("epoll") {
            engine.transport = Transport::Epoll;
        } else {
            invalid(report, entry, "expected auto, uring or epoll".to_owned());
        }
    }
    engine.http_accept = read_http_accept(
        find(keys::HTTP_ACCEPT_PORT),
        find(keys::HTTP_ACCEPT_HOST),
        report,
    );
    engine.admission = read_admission(&find, report);
    engine
}

/// MaxPendingConnections, MaxPendingConnectionsPerAddress and PressureLogonTimeout.
fn read_admission<'e, 'a: 'e>(
    find: &impl Fn(&str) -> Option<&'e Entry<'a>>,
    report: &mut Report,
) -> Admission {
    let mut admission = Admission::default();
    let count = |entry: &Entry<'_>| match entry.value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of connections, at least 1".to_owned()),
    };
    if let Some(entry) = find(keys::MAX_PENDING_CONNECTIONS) {
        match count(entry) {
            Ok(n) => admission.max_pending = n,
            Err(reason) => invalid(report, entry, reason),
        }
    }
    if let Some(entry) = find(keys::MAX_PENDING_PER_ADDRESS) {
        match count(entry) {
            Ok(n) => admission.max_pending_per_address = n,
            Err(reason) => invalid(report, entry, reason),
        }
    }
    if let Some(entry) = find(keys::PRESSURE_LOGON_TIMEOUT) {
        match entry.value.parse::<u64>() {
            Ok(secs) if secs >= 1 => admission.pressure_logon_timeout = Duration::from_secs(secs),
            _ => invalid(
                report,
                entry,
                "expected a whole number of seconds, at least 1".to_owned(),
            ),
        }
    }
    admission
}

/// HttpAcceptPort, on HttpAcceptHost (an IP address) or else the loopback.
fn read_http_accept(
    port: Option<&Entry<'_>>,
    host: Option<&Entry<'_>>,
    report: &mut Report,
) -> Option<SocketAddr> {
    let ip = match host {
        Some(entry) => match entry.value.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                invalid(report, entry, "expected an IP address".to_owned());
                return None;
            }
        },
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let Some(entry) = port else {
        if let Some(entry) = host {
            invalid(
                report,
                entry,
                "HttpAcceptHost needs HttpAcceptPort".to_owned(),
            );
        }
        return None;
    };
    match entry.value.parse::<u16>() {
        Ok(port) => Some(SocketAddr::new(ip, port)),
        Err(_) => {
            invalid(
                report,
                entry,
                "expected a port number, 0 to 65535".to_owned(),
            );
            None
        }
    }
}

/// `0,1,3`: distinct core numbers; an empty value means one unpinned loop.
fn parse_cores(value: &str) -> Result<Vec<usize>, String> {
    let mut cores = Vec::new();
    if value.is_empty() {
        return Ok(cores);
    }
    for part in value.split(',') {
        let part = part.trim();
        let core: usize = part
            .parse()
            .map_err(|_| format!("{part:?} is not a core number"))?;
        if cores.contains(&core) {
            return Err(format!("core {core} is listed twice"));
        }
        cores.push(core);
    }
    Ok(cores)
}

/// `spin`, `park` or `spin-then-park:US`.
fn parse_busy_poll(value: &str) -> Result<BusyPoll, String> {
    const EXPECTED: &str = "expected spin, park or spin-then-park:MICROSECONDS";
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "spin" => Ok(BusyPoll::Spin),
        "park" => Ok(BusyPoll::Park),
        _ => {
            let micros = lower
                .strip_prefix("spin-then-park:")
                .ok_or_else(|| EXPECTED.to_owned())?;
            let micros: u64 = micros.trim().parse().map_err(|_| EXPECTED.to_owned())?;
            Ok(BusyPoll::SpinThenPark(Duration::from_micros(micros)))
        }
    }
}

/// Reports an [`ConfigErrorKind::InvalidValue`] on an entry.
pub(super) fn invalid(report: &mut Report, entry: &Entry<'_>, reason: String) {
    report.error(
        entry.line,
        entry.key,
        ConfigErrorKind::InvalidValue {
            value: entry.value.to_owned(),
            reason,
        },
    );
}

/// Duplicate identities, and plain and TLS acceptors sharing a port.
fn check_across_sessions(sessions: &[SessionConfig], report: &mut Report) {
    let mut ids = HashMap::new();
    let mut ports: HashMap<u16, (bool, usize)> = HashMap::new();
    for session in sessions {
        if let Some(first_line) = ids.insert(&session.id, session.line) {
            report.error(
                session.line,
                "[SESSION]",
                ConfigErrorKind::DuplicateSession { first_line },
            );
            // Keep pointing at the first definition.
            ids.insert(&session.id, first_line);
        }
        if let Role::Acceptor(acceptor) = &session.role {
            let is_tls = session.tls.is_some();
            let port = acceptor.accept_port;
            match ports.get(&port) {
                Some(&(other_tls, other_line)) if other_tls != is_tls => report.error(
                    session.line,
                    "SocketAcceptPort",
                    ConfigErrorKind::TlsPlainPortConflict { port, other_line },
                ),
                Some(_) => {}
                None => {
                    ports.insert(port, (is_tls, session.line));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_accept_port_binds_the_loopback_unless_a_host_is_set() {
        let session = "[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                       SenderCompID=A\nTargetCompID=B\nSocketAcceptPort=9000\n";
        let engine = |text: &str| {
            Settings::parse(&format!("{text}{session}"), None).map(|s| s.engine.http_accept)
        };
        assert_eq!(engine("[DEFAULT]\n").ok(), Some(None));
        assert_eq!(
            engine("[DEFAULT]\nHttpAcceptPort=8088\n").ok(),
            Some(Some("127.0.0.1:8088".parse().unwrap()))
        );
        assert_eq!(
            engine("[DEFAULT]\nHttpAcceptPort=8088\nHttpAcceptHost=0.0.0.0\n").ok(),
            Some(Some("0.0.0.0:8088".parse().unwrap()))
        );
        assert!(engine("[DEFAULT]\nHttpAcceptHost=0.0.0.0\n").is_err());
        assert!(engine("[DEFAULT]\nHttpAcceptPort=http\n").is_err());
        assert!(engine("[DEFAULT]\nHttpAcceptPort=8088\nHttpAcceptHost=host\n").is_err());
    }

    #[test]
    fn busy_poll_values() {
        assert_eq!(parse_busy_poll("SPIN"), Ok(BusyPoll::Spin));
        assert_eq!(parse_busy_poll("park"), Ok(BusyPoll::Park));
        assert_eq!(
            parse_busy_poll("spin-then-park:20"),
            Ok(BusyPoll::SpinThenPark(Duration::from_micros(20)))
        );
        assert!(parse_busy_poll("spin-then-park").is_err());
        assert!(parse_busy_poll("spin-then-park:x").is_err());
    }

    #[test]
    fn core_lists() {
        assert_eq!(parse_cores("0, 1"), Ok(vec![0, 1]));
        assert_eq!(parse_cores(""), Ok(vec![]));
        assert!(parse_cores("0,0").is_err());
        assert!(parse_cores("a").is_err());
    }
}

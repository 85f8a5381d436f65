//! One `[SESSION]`: its identity, role, addresses, timers, socket options and TLS.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::error::{ConfigErrorKind, Report};
use super::keys::{self, HostKey};
use super::parse::{View, invalid};
use super::session_keys;
use super::settings_file::Entry;
use super::{
    AcceptorConfig, ConnectionType, HostConfig, HostSelectionPolicy, InitiatorConfig, Role,
    SessionConfig, SocketOptions,
};
use crate::SessionId;

/// Reads one session; `None` when it has errors (they are in `report`).
pub(super) fn read_session(view: &View<'_, '_>, report: &mut Report) -> Option<SessionConfig> {
    let errors_before = report.errors.len();
    let mut id = SessionId {
        begin_string: required(view, keys::BEGIN_STRING, "BeginString", report),
        sender_comp_id: required(view, keys::SENDER_COMP_ID, "SenderCompID", report),
        target_comp_id: required(view, keys::TARGET_COMP_ID, "TargetCompID", report),
        qualifier: view
            .get(keys::SESSION_QUALIFIER)
            .map_or_else(String::new, |e| e.value.to_owned()),
        ..SessionId::default()
    };
    session_keys::read_identity(view, &mut id);
    let rules = session_keys::read_rules(view, report);
    let connection_type = connection_type(view, report);
    let role = match connection_type {
        Some(ConnectionType::Acceptor) => read_acceptor(view, report).map(Role::Acceptor),
        Some(ConnectionType::Initiator) => read_initiator(view, report).map(Role::Initiator),
        None => None,
    };
    let tls = connection_type.and_then(|t| super::tls::read_tls(view, t, report));
    let template = acceptor_template(view, connection_type, report);
    // Read everything before giving up, so that every error of the session is reported.
    let heartbeat_interval = seconds(view, keys::HEARTBEAT_INTERVAL, false, report);
    let logon_timeout = seconds(view, keys::LOGON_TIMEOUT, false, report);
    let logout_timeout = seconds(view, keys::LOGOUT_TIMEOUT, false, report);
    let reset_on_logon = flag(view, keys::RESET_ON_LOGON, report);
    let check_latency = flag(view, keys::CHECK_LATENCY, report);
    let max_latency = seconds(view, keys::MAX_LATENCY, false, report);
    let persist_messages = flag(view, keys::PERSIST_MESSAGES, report);
    let store_size = view
        .get(keys::MESSAGE_STORE_SIZE)
        .and_then(|entry| number(entry, report))
        .map(|bytes| usize::try_from(bytes).unwrap_or(usize::MAX));
    let file_store_path = text(view, keys::FILE_STORE_PATH).map(PathBuf::from);
    let socket = read_socket(view, report);
    let allowed_remote_addresses = allowed_remote_addresses(view, connection_type, report);
    let schedule = super::schedule::read_schedule(view, report);
    let log = super::log::read_log(view, report);
    if report.errors.len() != errors_before {
        return None;
    }
    let mut session = SessionConfig::new(id, role?);
    session.line = view.line;
    session.tls = tls?;
    if let Some(d) = heartbeat_interval {
        session.heartbeat_interval = d;
    }
    if let Some(d) = logon_timeout {
        session.logon_timeout = d;
    }
    if let Some(d) = logout_timeout {
        session.logout_timeout = d;
    }
    if let Some(b) = reset_on_logon {
        session.reset_on_logon = b;
    }
    if let Some(b) = check_latency {
        session.check_latency = b;
    }
    if let Some(d) = max_latency {
        session.max_latency = d;
    }
    if let Some(bytes) = store_size {
        session.message_store_size = bytes;
    }
    if persist_messages == Some(false) {
        session.message_store_size = 0;
    }
    session.file_store_path = file_store_path;
    session.socket = socket;
    session.allowed_remote_addresses = allowed_remote_addresses;
    session.schedule = schedule?;
    session.rules = rules;
    session.log = log;
    session.template = template;
    Some(session)
}

/// AllowedRemoteAddresses: IP addresses separated by commas (spaces allowed), as QuickFIX C++
/// and QuickFIX/J read them; an acceptor's key.
fn allowed_remote_addresses(
    view: &View<'_, '_>,
    connection_type: Option<ConnectionType>,
    report: &mut Report,
) -> Option<Vec<IpAddr>> {
    let entry = view.get(keys::ALLOWED_REMOTE_ADDRESSES)?;
    if connection_type == Some(ConnectionType::Initiator) {
        invalid(
            report,
            entry,
            "an acceptor's key: an initiator chooses whom it connects to".to_owned(),
        );
        return None;
    }
    let mut addresses = Vec::new();
    for item in entry.value.split(',').map(str::trim) {
        match item.parse::<IpAddr>() {
            Ok(address) => addresses.push(address),
            Err(_) => {
                let reason = format!(
                    "{item:?} is not an IP address (the list is IP addresses separated by commas)"
                );
                invalid(report, entry, reason);
                return None;
            }
        }
    }
    Some(addresses)
}

/// QuickFIX/J's AcceptorTemplate: `Y` makes the section a template of dynamic sessions, an
/// acceptor's key. Its identity fields may be `*`, which matches any value.
fn acceptor_template(
    view: &View<'_, '_>,
    connection_type: Option<ConnectionType>,
    report: &mut Report,
) -> bool {
    let Some(entry) = view.get(keys::ACCEPTOR_TEMPLATE) else {
        return false;
    };
    let template = bool_value(entry, report) == Some(true);
    if template && connection_type == Some(ConnectionType::Initiator) {
        let reason = "an acceptor's key: a template makes a session for a Logon that arrives, \
                      and an initiator sends the Logon";
        invalid(report, entry, reason.to_owned());
        return false;
    }
    template
}

/// A key every session needs; an empty string (and an error) when absent or empty.
fn required(view: &View<'_, '_>, name: &str, spelling: &str, report: &mut Report) -> String {
    match view.get(name) {
        None => {
            report.error(view.line, spelling, ConfigErrorKind::MissingKey);
            String::new()
        }
        Some(entry) if entry.value.is_empty() => {
            invalid(report, entry, "must not be empty".to_owned());
            String::new()
        }
        Some(entry) => entry.value.to_owned(),
    }
}

/// ConnectionType; without it, as a quickfixgo program decides by the keys it is given: a
/// session with SocketAcceptPort and no SocketConnectHost/Port is an acceptor, one with
/// SocketConnectHost or SocketConnectPort and no SocketAcceptPort an initiator.
fn connection_type(view: &View<'_, '_>, report: &mut Report) -> Option<ConnectionType> {
    let Some(entry) = view.get(keys::CONNECTION_TYPE) else {
        let accepts = view.get(keys::ACCEPT_PORT).is_some();
        let connects =
            view.get(keys::CONNECT_HOST).is_some() || view.get(keys::CONNECT_PORT).is_some();
        return match (accepts, connects) {
            (true, false) => Some(ConnectionType::Acceptor),
            (false, true) => Some(ConnectionType::Initiator),
            (true, true) => {
                let reason = "without ConnectionType the role follows the keys, and this session \
                              has both SocketAcceptPort and SocketConnectHost/Port: set \
                              ConnectionType=acceptor or initiator";
                report.error(
                    view.line,
                    "ConnectionType",
                    ConfigErrorKind::InvalidValue {
                        value: String::new(),
                        reason: reason.to_owned(),
                    },
                );
                None
            }
            (false, false) => {
                report.error(view.line, "ConnectionType", ConfigErrorKind::MissingKey);
                None
            }
        };
    };
    if entry.value.eq_ignore_ascii_case("acceptor") {
        Some(ConnectionType::Acceptor)
    } else if entry.value.eq_ignore_ascii_case("initiator") {
        Some(ConnectionType::Initiator)
    } else {
        report.error(
            entry.line,
            entry.key,
            ConfigErrorKind::UnknownConnectionType {
                value: entry.value.to_owned(),
            },
        );
        None
    }
}

fn read_acceptor(view: &View<'_, '_>, report: &mut Report) -> Option<AcceptorConfig> {
    let accept_host = text(view, keys::ACCEPT_HOST);
    let Some(entry) = view.get(keys::ACCEPT_PORT) else {
        report.error(view.line, "SocketAcceptPort", ConfigErrorKind::MissingKey);
        return None;
    };
    Some(AcceptorConfig {
        accept_host,
        accept_port: port(entry, report)?,
    })
}

fn read_initiator(view: &View<'_, '_>, report: &mut Report) -> Option<InitiatorConfig> {
    let hosts = read_hosts(view, report);
    let reconnect_interval = seconds(view, keys::RECONNECT_INTERVAL, false, report);
    let start_over = seconds(view, keys::START_OVER_INTERVAL, true, report);
    let connect_timeout = seconds(view, keys::CONNECT_TIMEOUT, false, report);
    let policy = view.get(keys::HOST_SELECTION_POLICY).and_then(|entry| {
        if entry.value.eq_ignore_ascii_case("ROUNDROBIN") {
            Some(HostSelectionPolicy::RoundRobin)
        } else if entry.value.eq_ignore_ascii_case("PRIORITY") {
            Some(HostSelectionPolicy::Priority)
        } else {
            report.error(
                entry.line,
                entry.key,
                ConfigErrorKind::UnknownPolicy {
                    value: entry.value.to_owned(),
                },
            );
            None
        }
    });
    let mut initiator = InitiatorConfig::new(hosts?);
    if let Some(d) = reconnect_interval {
        initiator.reconnect_interval = d;
    }
    if let Some(d) = start_over {
        initiator.priority_start_over_interval = d;
    }
    if let Some(d) = connect_timeout {
        initiator.connect_timeout = d;
    }
    if let Some(policy) = policy {
        initiator.host_selection = policy;
    }
    Some(initiator)
}

/// The unnumbered host, then hosts 1, 2, 3… in order; numbers must not skip.
fn read_hosts(view: &View<'_, '_>, report: &mut Report) -> Option<Vec<HostConfig>> {
    let errors_before = report.errors.len();
    let mut hosts = Vec::new();
    let main = [
        view.get(keys::CONNECT_HOST),
        view.get(keys::CONNECT_PORT),
        view.get(keys::SOURCE_HOST),
        view.get(keys::SOURCE_PORT),
    ];
    if let Some(host) = read_host(view, main, "", report) {
        hosts.push(host);
    }
    let numbered = view.numbered();
    let mut by_number: BTreeMap<usize, [Option<&Entry<'_>>; 4]> = BTreeMap::new();
    for (&(key, n), &entry) in &numbered {
        let slot = by_number.entry(n).or_default();
        let index = match key {
            HostKey::Host => 0,
            HostKey::Port => 1,
            HostKey::SourceHost => 2,
            HostKey::SourcePort => 3,
        };
        if let Some(place) = slot.get_mut(index) {
            *place = Some(entry);
        }
    }
    for (expected, (n, entries)) in (1..).zip(&by_number) {
        if *n != expected {
            if let Some(entry) = entries.iter().flatten().next() {
                invalid(
                    report,
                    entry,
                    format!("failover hosts are numbered 1, 2, 3…; number {expected} is missing"),
                );
            }
            break;
        }
        if let Some(host) = read_host(view, *entries, &n.to_string(), report) {
            hosts.push(host);
        }
    }
    // QuickFIX/J's SocketLocalHost/SocketLocalPort bind every attempt of the session; a
    // host's own SocketConnectSourceHost<n>/Port<n> takes precedence.
    let local_host = text(view, keys::LOCAL_HOST);
    let local_port = match view.get(keys::LOCAL_PORT) {
        Some(entry) => port(entry, report),
        None => None,
    };
    if report.errors.len() != errors_before {
        return None;
    }
    if hosts.is_empty() {
        report.error(view.line, "SocketConnectHost", ConfigErrorKind::NoHost);
        return None;
    }
    for host in &mut hosts {
        if host.source_host.is_none() && host.source_port.is_none() {
            host.source_host.clone_from(&local_host);
            host.source_port = local_port;
        }
    }
    Some(hosts)
}

/// One host from its host, port, source host and source port entries (`suffix` is the
/// failover number, empty for the main host); `None` when there is no host or on error.
fn read_host(
    view: &View<'_, '_>,
    [host, port_entry, source_host, source_port]: [Option<&Entry<'_>>; 4],
    suffix: &str,
    report: &mut Report,
) -> Option<HostConfig> {
    let missing = |report: &mut Report, key: HostKey| {
        let key = format!("{}{suffix}", key.spelling());
        report.error(view.line, &key, ConfigErrorKind::MissingKey);
    };
    let (host, port_entry) = match (host, port_entry) {
        (Some(host), Some(port_entry)) => (host, port_entry),
        (Some(_), None) => {
            missing(report, HostKey::Port);
            return None;
        }
        (None, Some(_)) => {
            missing(report, HostKey::Host);
            return None;
        }
        (None, None) => {
            if let Some(entry) = source_host.or(source_port) {
                invalid(
                    report,
                    entry,
                    "a source address needs its connect host".to_owned(),
                );
            }
            return None;
        }
    };
    if host.value.is_empty() {
        invalid(report, host, "must not be empty".to_owned());
        return None;
    }
    let port = port(port_entry, report);
    let source_port = match source_port {
        Some(entry) => Some(self::port(entry, report)?),
        None => None,
    };
    Some(HostConfig {
        host: host.value.to_owned(),
        port: port?,
        source_host: source_host
            .filter(|e| !e.value.is_empty())
            .map(|e| e.value.to_owned()),
        source_port,
    })
}

fn read_socket(view: &View<'_, '_>, report: &mut Report) -> SocketOptions {
    let mut socket = SocketOptions::default();
    if let Some(b) = flag(view, keys::NODELAY, report) {
        socket.nodelay = b;
    }
    if let Some(b) = flag(view, keys::REUSE_ADDRESS, report) {
        socket.reuse_address = b;
    }
    if let Some(b) = flag(view, keys::KEEP_ALIVE, report) {
        socket.keep_alive = b;
    }
    socket.send_buffer_size = buffer_size(view, keys::SEND_BUFFER_SIZE, report);
    socket.receive_buffer_size = buffer_size(view, keys::RECEIVE_BUFFER_SIZE, report);
    socket
}

/// A free-text value; `None` when absent or empty.
fn text(view: &View<'_, '_>, name: &str) -> Option<String> {
    view.get(name)
        .filter(|e| !e.value.is_empty())
        .map(|e| e.value.to_owned())
}

pub(super) fn flag(view: &View<'_, '_>, name: &str, report: &mut Report) -> Option<bool> {
    bool_value(view.get(name)?, report)
}

/// `Y`/`N` in either case.
pub(super) fn bool_value(entry: &Entry<'_>, report: &mut Report) -> Option<bool> {
    if entry.value.eq_ignore_ascii_case("y") {
        Some(true)
    } else if entry.value.eq_ignore_ascii_case("n") {
        Some(false)
    } else {
        report.error(
            entry.line,
            entry.key,
            ConfigErrorKind::InvalidBool {
                value: entry.value.to_owned(),
            },
        );
        None
    }
}

/// A whole number, reported as [`ConfigErrorKind::InvalidNumber`] when it is not one.
pub(super) fn number(entry: &Entry<'_>, report: &mut Report) -> Option<u64> {
    let parsed = entry.value.parse().ok();
    if parsed.is_none() {
        report.error(
            entry.line,
            entry.key,
            ConfigErrorKind::InvalidNumber {
                value: entry.value.to_owned(),
            },
        );
    }
    parsed
}

fn port(entry: &Entry<'_>, report: &mut Report) -> Option<u16> {
    let value = number(entry, report)?;
    let port = u16::try_from(value).ok().filter(|p| *p != 0);
    if port.is_none() {
        report.error(
            entry.line,
            entry.key,
            ConfigErrorKind::PortOutOfRange {
                value: entry.value.to_owned(),
            },
        );
    }
    port
}

/// A duration in whole seconds; zero only where `allow_zero`.
fn seconds(
    view: &View<'_, '_>,
    name: &str,
    allow_zero: bool,
    report: &mut Report,
) -> Option<Duration> {
    let entry = view.get(name)?;
    let secs = number(entry, report)?;
    if secs == 0 && !allow_zero {
        invalid(report, entry, "must be greater than 0".to_owned());
        return None;
    }
    Some(Duration::from_secs(secs))
}

/// A socket buffer size in bytes, greater than zero.
fn buffer_size(view: &View<'_, '_>, name: &str, report: &mut Report) -> Option<usize> {
    let entry = view.get(name)?;
    let bytes = number(entry, report)?;
    match usize::try_from(bytes) {
        Ok(size) if size > 0 => Some(size),
        _ => {
            invalid(
                report,
                entry,
                "must be between 1 and usize::MAX bytes".to_owned(),
            );
            None
        }
    }
}

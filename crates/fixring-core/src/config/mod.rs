//! Typed configuration, and the QuickFIX settings format that fills it.
//!
//! The structs here are plain data with defaults from the blueprint; they are validated when a
//! settings file is parsed ([`Settings::parse`]), so a value that reaches the engine is valid.
//! Keys of QuickFIX C++, QuickFIX/J and quickfixgo are accepted where they mean the same thing;
//! docs/configuration.md lists every key.

mod dictionary;
mod error;
mod keys;
mod log;
mod parse;
mod schedule;
mod session;
mod session_keys;
mod settings_file;
mod tls;
mod unsupported;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::SessionId;
use crate::schedule::Schedule;

pub use dictionary::{DictionaryConfig, DictionaryPath};
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, ConfigWarning, ConfigWarningKind};
pub use log::{
    DEFAULT_LOG_BUFFER_SIZE, LogConfig, LogOverflow, LogPrecision, MIN_LOG_BUFFER_SIZE,
    ScreenLogConfig,
};
pub use session_keys::SessionRules;

/// Everything a settings file describes: the engine's own settings and its sessions.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The file the settings came from, if any; named in every error.
    pub path: Option<PathBuf>,
    /// Engine-wide settings (`EventLoopCores`, `BusyPoll`, `Transport`, `HttpAcceptPort`,
    /// `HttpAcceptHost`).
    pub engine: EngineConfig,
    /// The configured sessions, in file order.
    pub sessions: Vec<SessionConfig>,
    /// Keys that were not recognised, kept so that a QuickFIX file still loads.
    pub warnings: Vec<ConfigWarning>,
}

/// Whether a session accepts connections or makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionType {
    /// Listens on `SocketAcceptPort` and waits for the peer's Logon.
    Acceptor,
    /// Connects to `SocketConnectHost`/`SocketConnectPort` and sends the Logon.
    Initiator,
}

impl ConnectionType {
    /// `acceptor` or `initiator`, as written in settings files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Acceptor => "acceptor",
            Self::Initiator => "initiator",
        }
    }
}

/// One configured session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// BeginString, SenderCompID, TargetCompID (with their Sub and Location IDs) and
    /// SessionQualifier.
    pub id: SessionId,
    /// Acceptor or initiator, with the addresses of each.
    pub role: Role,
    /// HeartBtInt: the heartbeat interval sent in our Logon (default 30 s).
    pub heartbeat_interval: Duration,
    /// LogonTimeout: how long to wait for the Logon reply, or for an accepted socket's
    /// first Logon (default 10 s).
    pub logon_timeout: Duration,
    /// LogoutTimeout: how long to wait for the Logout reply before closing (default 2 s).
    pub logout_timeout: Duration,
    /// ResetOnLogon: both sequence numbers start again at 1 on every Logon (default N).
    pub reset_on_logon: bool,
    /// CheckLatency: a message whose SendingTime (52) is more than `max_latency` away from our
    /// clock is rejected (SessionRejectReason 10) and the session logged out; a Logon is
    /// refused with a disconnect (default Y, as QuickFIX).
    pub check_latency: bool,
    /// MaxLatency: how far from our clock, either way, a SendingTime may be with
    /// `check_latency` (default 120 s, as QuickFIX).
    pub max_latency: Duration,
    /// The bytes of sent application messages kept in memory to answer the peer's
    /// ResendRequests (`MessageStoreSize`, default 16 MiB; 0 with `PersistMessages=N`). Past
    /// it the oldest are dropped, and a resend reaching back to them is skipped with a gap
    /// fill and reported.
    pub message_store_size: usize,
    /// FileStorePath: a directory where the session's sequence numbers and sent messages
    /// are kept across restarts of the process (default none: they live in memory only).
    pub file_store_path: Option<PathBuf>,
    /// The message log: `FileLogPath` and the `ScreenLog…` keys (default: none).
    pub log: LogConfig,
    /// Socket options applied to every socket of the session.
    pub socket: SocketOptions,
    /// StartTime, EndTime and the other schedule keys: when the session may be logged on and
    /// when its sequence numbers start again (default non-stop).
    pub schedule: Schedule,
    /// TLS settings; `None` for a plain-text session.
    pub tls: Option<TlsConfig>,
    /// AllowedRemoteAddresses: an acceptor's session takes Logons only from these addresses;
    /// a connection from another is closed with an event (default: any address).
    pub allowed_remote_addresses: Option<Vec<IpAddr>>,
    /// Resets, resend requests, optional header fields, SendingTime precision, input checks.
    pub rules: SessionRules,
    /// UseDataDictionary, DataDictionary and the other validation keys: which dictionaries
    /// messages are checked against, and how.
    pub dictionary: DictionaryConfig,
    /// AcceptorTemplate=Y (QuickFIX/J): not a session but the template of dynamic ones. A
    /// Logon that matches no configured session of its port and matches this identity, where
    /// each field that is `*` matches any value, creates a session with this configuration and
    /// the Logon's identity (default N).
    pub template: bool,
    /// The line of the `[SESSION]` header in the settings file, for messages.
    pub line: usize,
}

/// The default `MessageStoreSize`: 16 MiB of sent messages per session, some 80,000 orders.
pub const DEFAULT_MESSAGE_STORE_SIZE: usize = 16 << 20;

impl SessionConfig {
    /// A session with the blueprint's defaults for everything but its identity and role.
    pub fn new(id: SessionId, role: Role) -> Self {
        Self {
            id,
            role,
            heartbeat_interval: Duration::from_secs(30),
            logon_timeout: Duration::from_secs(10),
            logout_timeout: Duration::from_secs(2),
            reset_on_logon: false,
            check_latency: true,
            max_latency: Duration::from_secs(120),
            message_store_size: DEFAULT_MESSAGE_STORE_SIZE,
            file_store_path: None,
            log: LogConfig::default(),
            socket: SocketOptions::default(),
            schedule: Schedule::non_stop(),
            tls: None,
            allowed_remote_addresses: None,
            rules: SessionRules::default(),
            dictionary: DictionaryConfig::default(),
            template: false,
            line: 0,
        }
    }

    /// The session a template makes for `id`: this configuration with that identity.
    pub fn instantiate(&self, id: SessionId) -> Self {
        Self {
            id,
            template: false,
            ..self.clone()
        }
    }

    /// Acceptor or initiator.
    pub fn connection_type(&self) -> ConnectionType {
        match self.role {
            Role::Acceptor(_) => ConnectionType::Acceptor,
            Role::Initiator(_) => ConnectionType::Initiator,
        }
    }
}

/// The role of a session, with the addresses that role needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Accepts connections on a local port.
    Acceptor(AcceptorConfig),
    /// Connects to one of a list of hosts.
    Initiator(InitiatorConfig),
}

/// Where an acceptor listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptorConfig {
    /// SocketAcceptHost: the local address to bind; every interface when `None`.
    pub accept_host: Option<String>,
    /// SocketAcceptPort.
    pub accept_port: u16,
}

/// Where and how an initiator connects.
#[derive(Clone, Debug, PartialEq)]
pub struct InitiatorConfig {
    /// SocketConnectHost/Port, then SocketConnectHost1..N/Port1..N, in order; never empty.
    pub hosts: Vec<HostConfig>,
    /// ReconnectInterval: the wait after a failed attempt or a lost connection (default 30 s).
    pub reconnect_interval: Duration,
    /// HostSelectionPolicy (default round robin).
    pub host_selection: HostSelectionPolicy,
    /// HostSelectionPolicyPriorityStartOverInterval: under [`HostSelectionPolicy::Priority`],
    /// how long after leaving the first host to go back to it (default 120 s).
    pub priority_start_over_interval: Duration,
    /// SocketConnectTimeout: a connect attempt fails after this long (default 10 s).
    pub connect_timeout: Duration,
}

impl InitiatorConfig {
    /// An initiator of the given hosts with the blueprint's defaults.
    pub fn new(hosts: Vec<HostConfig>) -> Self {
        Self {
            hosts,
            reconnect_interval: Duration::from_secs(30),
            host_selection: HostSelectionPolicy::RoundRobin,
            priority_start_over_interval: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// One host an initiator can connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// `SocketConnectHost[n]`: a name or an address.
    pub host: String,
    /// `SocketConnectPort[n]`.
    pub port: u16,
    /// `SocketConnectSourceHost[n]`: the local address to bind before connecting.
    pub source_host: Option<String>,
    /// `SocketConnectSourcePort[n]`: the local port to bind before connecting.
    pub source_port: Option<u16>,
}

impl HostConfig {
    /// A host without a source address.
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
            source_host: None,
            source_port: None,
        }
    }
}

/// How an initiator picks the host of its next attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostSelectionPolicy {
    /// `ROUNDROBIN`: the next host on every attempt, wrapping around.
    #[default]
    RoundRobin,
    /// `PRIORITY`: the first host whenever possible; after failing over, go back to the first
    /// host once the start-over interval has passed.
    Priority,
}

/// Socket options applied to every socket of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// SocketNodelay: TCP_NODELAY (default on: this is a low-latency engine).
    pub nodelay: bool,
    /// SocketSendBufferSize: SO_SNDBUF in bytes; the kernel's default when `None`.
    pub send_buffer_size: Option<usize>,
    /// SocketReceiveBufferSize: SO_RCVBUF in bytes; the kernel's default when `None`.
    pub receive_buffer_size: Option<usize>,
    /// SocketReuseAddress: SO_REUSEADDR, so an acceptor can restart at once (default on).
    pub reuse_address: bool,
    /// SocketKeepAlive (QuickFIX/J): SO_KEEPALIVE, the kernel's TCP keep-alive probes
    /// (default off, as QuickFIX/J).
    pub keep_alive: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            nodelay: true,
            send_buffer_size: None,
            receive_buffer_size: None,
            reuse_address: true,
            keep_alive: false,
        }
    }
}

/// TLS settings of a session. Its `Debug` output leaves the PKCS#12 password out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Our certificate chain (PEM): required for an acceptor (or `pkcs12_file`), optional
    /// for an initiator.
    pub certificate_file: Option<PathBuf>,
    /// QuickFIX/n's SSLCertificate: our chain and its key in one PKCS#12 file (.pfx/.p12),
    /// instead of `certificate_file` and `private_key_file`.
    pub pkcs12_file: Option<PathBuf>,
    /// SSLCertificatePassword: the password of `pkcs12_file` (empty when not set).
    pub pkcs12_password: String,
    /// The private key of that certificate (PEM).
    pub private_key_file: Option<PathBuf>,
    /// CA certificates (PEM). On an acceptor, requires and verifies client certificates
    /// (mutual TLS); on an initiator, the roots the server's chain is verified against.
    pub ca_file: Option<PathBuf>,
    /// SocketServerName: the name an initiator verifies and sends as SNI; the connect host
    /// when `None`.
    pub server_name: Option<String>,
    /// TlsMinVersion (or quickfixgo's SocketMinimumTLSVersion): the oldest TLS version
    /// accepted (default 1.2; 1.3 offers only 1.3).
    pub min_version: TlsMinVersion,
    /// SSLProtocols (QuickFIX/n) or SSLProtocol (QuickFIX C++) naming a single version: only
    /// that version is offered (default both 1.2 and 1.3).
    pub only_version: Option<crate::tls::TlsVersion>,
    /// SocketInsecureSkipVerify=Y (quickfixgo) or SSLValidateCertificates=N (QuickFIX/n) on
    /// an initiator: the server's certificate and name are NOT verified. Loud in check-config,
    /// run and the session description (default off).
    pub skip_verification: bool,
    /// TlsSystemRoots: an initiator also trusts the Mozilla root CAs bundled with fixring
    /// (default N: only `ca_file`).
    pub system_roots: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password = if self.pkcs12_password.is_empty() {
            ""
        } else {
            "<hidden>"
        };
        f.debug_struct("TlsConfig")
            .field("certificate_file", &self.certificate_file)
            .field("pkcs12_file", &self.pkcs12_file)
            .field("pkcs12_password", &password)
            .field("private_key_file", &self.private_key_file)
            .field("ca_file", &self.ca_file)
            .field("server_name", &self.server_name)
            .field("min_version", &self.min_version)
            .field("only_version", &self.only_version)
            .field("skip_verification", &self.skip_verification)
            .field("system_roots", &self.system_roots)
            .finish()
    }
}

/// The oldest TLS version a session accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMinVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Engine-wide settings, from `[DEFAULT]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// EventLoopCores: one event-loop thread per listed core, pinned to it. Empty means one
    /// unpinned loop.
    pub event_loop_cores: Vec<usize>,
    /// BusyPoll: how an idle loop waits.
    pub busy_poll: BusyPoll,
    /// Transport: which I/O backend runs the loops.
    pub transport: Transport,
    /// HttpAcceptPort on HttpAcceptHost: where the status page, `/metrics` and
    /// `/status.json` are served (default none: no status server; the host defaults to the
    /// loopback; port 0 takes a free port).
    pub http_accept: Option<SocketAddr>,
    /// How the acceptors admit connections that have not logged on yet.
    pub admission: Admission,
}

/// How an event loop's acceptors admit connections that have not logged on yet: a budget of
/// their own, apart from the sessions' connections, a cap per peer address, and a shorter
/// LogonTimeout while the budget fills. See docs/reliability.md, Admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// MaxPendingConnections: the connections of one event loop that may wait for their
    /// Logon at once. A new one beyond it turns away the oldest still waiting of an address
    /// with more than one waiting (the oldest of all when every address has one).
    pub max_pending: usize,
    /// MaxPendingConnectionsPerAddress: the connections from one IP address that may wait
    /// for their Logon at once. A new one beyond it turns away that address's oldest.
    pub max_pending_per_address: usize,
    /// PressureLogonTimeout: the LogonTimeout of every waiting connection while more than
    /// half of MaxPendingConnections are taken, when shorter than its session's; also how
    /// long a connection turned away during a flood is held open, unread, before it closes.
    pub pressure_logon_timeout: Duration,
}

impl Admission {
    /// MaxPendingConnections' default: half of an event loop's 1,024 connections.
    pub const DEFAULT_MAX_PENDING: usize = 512;
    /// MaxPendingConnectionsPerAddress' default.
    pub const DEFAULT_MAX_PENDING_PER_ADDRESS: usize = 64;
    /// PressureLogonTimeout's default.
    pub const DEFAULT_PRESSURE_LOGON_TIMEOUT: Duration = Duration::from_secs(2);
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            max_pending: Self::DEFAULT_MAX_PENDING,
            max_pending_per_address: Self::DEFAULT_MAX_PENDING_PER_ADDRESS,
            pressure_logon_timeout: Self::DEFAULT_PRESSURE_LOGON_TIMEOUT,
        }
    }
}

/// How an event loop waits when it has nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusyPoll {
    /// `spin`: never sleep; lowest latency, one core per loop.
    Spin,
    /// `park`: block in the kernel until a completion arrives.
    Park,
    /// `spin-then-park:US`: spin for this long after the last work, then block.
    SpinThenPark(Duration),
}

impl Default for BusyPoll {
    fn default() -> Self {
        Self::SpinThenPark(Duration::from_micros(50))
    }
}

/// The I/O backend of the event loops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// io_uring, falling back to epoll when the kernel refuses io_uring.
    #[default]
    Auto,
    /// io_uring only; start-up fails when it is refused.
    Uring,
    /// epoll only.
    Epoll,
}

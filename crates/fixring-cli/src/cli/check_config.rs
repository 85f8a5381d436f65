//! `fixring check-config FILE`: parse a settings file and describe what it configures.
//!
//! Exits 0 and prints the engine settings and one block per session when the file is
//! valid (warnings go to stderr); exits 2 and prints every error to stderr otherwise.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fixring_core::config::{
    BusyPoll, EngineConfig, HostSelectionPolicy, Role, SessionConfig, Settings, TlsConfig,
    TlsMinVersion, Transport,
};
use fixring_core::tls::TlsVersion;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The settings file to check.
    file: PathBuf,
}

/// The exit code of a file with errors.
const INVALID: u8 = 2;

/// Runs the subcommand.
pub(crate) fn run(args: &Args) -> ExitCode {
    match load(&args.file) {
        Some(settings) => {
            let _ = std::io::stdout()
                .lock()
                .write_all(describe(&settings).as_bytes());
            ExitCode::SUCCESS
        }
        None => ExitCode::from(INVALID),
    }
}

/// Loads the settings file at `path`, printing its warnings to stderr, and its errors after
/// them when it has any (then `None`). `run` and `check-config` say the same about a file.
pub(crate) fn load(path: &std::path::Path) -> Option<Settings> {
    let mut err = std::io::stderr().lock();
    // Nothing useful can be done if stderr is gone.
    // The data dictionaries the sessions name are read too: a missing or broken one is an
    // error of the file, as it stops the engine from starting.
    let loaded = Settings::load(path).and_then(|mut settings| {
        settings.load_dictionaries()?;
        Ok(settings)
    });
    match loaded {
        Ok(settings) => {
            for warning in &settings.warnings {
                let _ = writeln!(err, "{warning}");
            }
            Some(settings)
        }
        Err(errors) => {
            for warning in errors.warnings() {
                let _ = writeln!(err, "{warning}");
            }
            let _ = writeln!(err, "{errors}");
            let count = errors.len();
            let _ = writeln!(
                err,
                "fixring: {}: {} has {count} error{}",
                fixring_core::ErrorCode::ConfigError.code(),
                path.display(),
                if count == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// The human-readable description of valid settings.
fn describe(settings: &Settings) -> String {
    let mut out = String::new();
    describe_engine(&mut out, &settings.engine);
    let count = settings.sessions.len();
    let _ = writeln!(out, "{count} session{}", if count == 1 { "" } else { "s" });
    for session in &settings.sessions {
        out.push('\n');
        describe_session(&mut out, session);
    }
    out
}

fn describe_engine(out: &mut String, engine: &EngineConfig) {
    let cores = if engine.event_loop_cores.is_empty() {
        "one unpinned loop".to_owned()
    } else {
        let list: Vec<String> = engine
            .event_loop_cores
            .iter()
            .map(usize::to_string)
            .collect();
        list.join(",")
    };
    let busy_poll = match engine.busy_poll {
        BusyPoll::Spin => "spin".to_owned(),
        BusyPoll::Park => "park".to_owned(),
        BusyPoll::SpinThenPark(window) => format!("spin-then-park:{}", window.as_micros()),
    };
    let _ = writeln!(out, "engine");
    let _ = writeln!(out, "  event loop cores: {cores}");
    let _ = writeln!(out, "  busy poll:        {busy_poll}");
    let transport = match engine.transport {
        Transport::Auto => "auto",
        Transport::Uring => "uring",
        Transport::Epoll => "epoll",
    };
    let _ = writeln!(out, "  transport:        {transport}");
    let admission = &engine.admission;
    let _ = writeln!(
        out,
        "  admission:        {} connections not logged on per loop, {} per address, \
         LogonTimeout {} s under pressure",
        admission.max_pending,
        admission.max_pending_per_address,
        admission.pressure_logon_timeout.as_secs()
    );
}

fn describe_session(out: &mut String, session: &SessionConfig) {
    let _ = writeln!(out, "session {} (line {})", session.id, session.line);
    let _ = writeln!(out, "  role:        {}", session.connection_type().as_str());
    if session.template {
        let _ = writeln!(
            out,
            "  template:    AcceptorTemplate=Y: a Logon for no configured session that fits \
             {} (* matches any value) makes a session with these settings",
            session.id
        );
    }
    match &session.role {
        Role::Acceptor(acceptor) => {
            let host = acceptor.accept_host.as_deref().unwrap_or("*");
            let _ = writeln!(out, "  accept:      {host}:{}", acceptor.accept_port);
            let allowed = match &session.allowed_remote_addresses {
                Some(addresses) => {
                    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                    format!("AllowedRemoteAddresses {}", list.join(", "))
                }
                None => "any address (no AllowedRemoteAddresses)".to_owned(),
            };
            let _ = writeln!(out, "  allowed:     {allowed}");
        }
        Role::Initiator(initiator) => {
            for (i, host) in initiator.hosts.iter().enumerate() {
                let _ = write!(out, "  connect {i}:   {}:{}", host.host, host.port);
                if host.source_host.is_some() || host.source_port.is_some() {
                    let source = host.source_host.as_deref().unwrap_or("*");
                    let port = host.source_port.map_or("*".to_owned(), |p| p.to_string());
                    let _ = write!(out, " from {source}:{port}");
                }
                out.push('\n');
            }
            let policy = match initiator.host_selection {
                HostSelectionPolicy::RoundRobin => "ROUNDROBIN".to_owned(),
                HostSelectionPolicy::Priority => format!(
                    "PRIORITY (start over after {} s)",
                    initiator.priority_start_over_interval.as_secs()
                ),
            };
            let _ = writeln!(out, "  hosts:       {policy}");
            let _ = writeln!(
                out,
                "  reconnect:   every {} s, connect timeout {} s",
                initiator.reconnect_interval.as_secs(),
                initiator.connect_timeout.as_secs()
            );
        }
    }
    describe_tls(out, session.tls.as_ref());
    let _ = writeln!(out, "  schedule:    {}", session.schedule);
    super::session_rules::describe(out, session);
    let _ = writeln!(
        out,
        "  session:     HeartBtInt {} s, LogonTimeout {} s, LogoutTimeout {} s, ResetOnLogon {}",
        session.heartbeat_interval.as_secs(),
        session.logon_timeout.as_secs(),
        session.logout_timeout.as_secs(),
        yes_no(session.reset_on_logon)
    );
    let kept = match session.message_store_size {
        0 => "none kept for resending".to_owned(),
        bytes => format!("up to {bytes} bytes kept for resending"),
    };
    let file = match &session.file_store_path {
        Some(dir) => format!("files in {}", dir.display()),
        None => "in memory".to_owned(),
    };
    let _ = writeln!(out, "  store:       {kept}, {file}");
    let socket = &session.socket;
    let size = |s: Option<usize>| s.map_or("default".to_owned(), |b| b.to_string());
    let _ = writeln!(
        out,
        "  socket:      nodelay {}, reuse address {}, send buffer {}, receive buffer {}",
        yes_no(socket.nodelay),
        yes_no(socket.reuse_address),
        size(socket.send_buffer_size),
        size(socket.receive_buffer_size)
    );
}

fn describe_tls(out: &mut String, tls: Option<&TlsConfig>) {
    let Some(tls) = tls else {
        let _ = writeln!(out, "  tls:         off");
        return;
    };
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map_or("-".to_owned(), |p| p.display().to_string())
    };
    let _ = writeln!(
        out,
        "  tls:         cert {}, key {}, CA {}, server name {}",
        path(&tls.certificate_file),
        path(&tls.private_key_file),
        path(&tls.ca_file),
        tls.server_name.as_deref().unwrap_or("-")
    );
    if tls.pkcs12_file.is_some() {
        let _ = writeln!(
            out,
            "  tls pkcs12:  {} (SSLCertificate)",
            path(&tls.pkcs12_file)
        );
    }
    let versions = match (tls.only_version, tls.min_version) {
        (_, TlsMinVersion::Tls13) | (Some(TlsVersion::Tls13), _) => "TLS 1.3",
        (Some(_), _) => "TLS 1.2",
        (None, _) => "TLS 1.2 and 1.3",
    };
    let roots = if tls.system_roots {
        ", bundled Mozilla roots (TlsSystemRoots)"
    } else {
        ""
    };
    let _ = writeln!(out, "  tls offers:  {versions}{roots}");
    if tls.skip_verification {
        let _ = writeln!(
            out,
            "  tls WARNING: the server's certificate is NOT verified \
             (SocketInsecureSkipVerify=Y / SSLValidateCertificates=N)"
        );
    }
}

pub(super) const fn yes_no(value: bool) -> &'static str {
    if value { "Y" } else { "N" }
}

//! The settings file format end to end: a QuickFIX-shaped file, defaults, inheritance,
//! failover order, warnings, case-insensitivity and every error kind with its line and key.

use std::path::Path;
use std::time::Duration;

use fixring_core::ErrorCode;
use fixring_core::config::{
    Admission, BusyPoll, ConfigError, ConfigErrorKind, ConfigErrors, ConnectionType, EngineConfig,
    HostConfig, HostSelectionPolicy, InitiatorConfig, Role, SessionConfig, Settings, SocketOptions,
    TlsMinVersion, Transport,
};

fn parse(text: &str) -> Settings {
    match Settings::parse(text, None) {
        Ok(settings) => settings,
        Err(errors) => panic!("unexpected errors:\n{errors}"),
    }
}

fn errors(text: &str) -> ConfigErrors {
    match Settings::parse(text, Some(Path::new("t.cfg"))) {
        Ok(settings) => panic!("expected errors, parsed {settings:?}"),
        Err(errors) => errors,
    }
}

/// The only error of `text`.
fn error(text: &str) -> ConfigError {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error:\n{errors}");
    errors
        .iter()
        .next()
        .cloned()
        .unwrap_or_else(|| unreachable!())
}

fn initiator(session: &SessionConfig) -> &InitiatorConfig {
    match &session.role {
        Role::Initiator(initiator) => initiator,
        Role::Acceptor(_) => panic!("not an initiator"),
    }
}

const ACCEPTOR: &str = "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                        SenderCompID=S\nSocketAcceptPort=9000\n";

/// A whole acceptor session, for files whose error lies elsewhere.
const ONE_SESSION: &str = "[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                           SenderCompID=S\nTargetCompID=T\nSocketAcceptPort=9000\n";

const INITIATOR: &str = "[DEFAULT]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
                         SenderCompID=S\n";

#[test]
fn quickfix_sample_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quickfix_sample.cfg");
    let settings = Settings::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.path.as_deref(), Some(path.as_path()));
    // Every key is read, the dictionary keys too.
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    let ids: Vec<String> = settings.sessions.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "FIX.4.1:DESK7->VENUEA",
            "FIX.4.0:DESK7->VENUEB",
            "FIX.4.2:DESK7->VENUEC"
        ]
    );
    let [a, b, c] = &settings.sessions[..] else {
        panic!("three sessions")
    };
    assert_eq!(a.line, 12);
    assert_eq!(a.heartbeat_interval, Duration::from_secs(25));
    assert_eq!(initiator(a).hosts, [HostConfig::new("10.1.2.3", 7101)]);
    assert_eq!(initiator(a).reconnect_interval, Duration::from_secs(45));
    assert_eq!(
        initiator(b).hosts,
        [
            HostConfig::new("venue-b.example", 7202),
            HostConfig::new("venue-b-dr.example", 7203)
        ]
    );
    assert_eq!(b.heartbeat_interval, Duration::from_secs(40));
    assert_eq!(initiator(c).reconnect_interval, Duration::from_secs(15));
    assert!(settings.sessions.iter().all(|s| s.tls.is_none()));
}

#[test]
fn defaults_are_those_of_the_structs() {
    let settings = parse(&format!(
        "{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\n"
    ));
    assert_eq!(settings.engine, EngineConfig::default());
    let [session] = &settings.sessions[..] else {
        panic!("one session")
    };
    let mut expected = SessionConfig::new(
        session.id.clone(),
        Role::Initiator(InitiatorConfig::new(vec![HostConfig::new("h", 1)])),
    );
    expected.line = 5;
    assert_eq!(*session, expected);
    assert_eq!(session.socket, SocketOptions::default());
    assert_eq!(session.id.qualifier, "");
}

#[test]
fn default_section_is_inherited_and_overridden() {
    let text = format!(
        "{ACCEPTOR}HeartBtInt=20\nSocketNodelay=N\n\
         [SESSION]\nTargetCompID=A\n\
         [SESSION]\nTargetCompID=B\nHeartBtInt=5\nSocketNodelay=Y\nSocketAcceptPort=9001\n"
    );
    let settings = parse(&text);
    let [a, b] = &settings.sessions[..] else {
        panic!("two sessions")
    };
    assert_eq!(a.heartbeat_interval, Duration::from_secs(20));
    assert!(!a.socket.nodelay);
    assert_eq!(b.heartbeat_interval, Duration::from_secs(5));
    assert!(b.socket.nodelay);
    let port = |s: &SessionConfig| match &s.role {
        Role::Acceptor(a) => a.accept_port,
        Role::Initiator(_) => 0,
    };
    assert_eq!((port(a), port(b)), (9000, 9001));
}

#[test]
fn the_admission_keys_are_read() {
    let text = "[DEFAULT]\nMaxPendingConnections=200\nMaxPendingConnectionsPerAddress=8\n\
        PressureLogonTimeout=3\n[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
        SenderCompID=S\nTargetCompID=T\nSocketAcceptPort=9000\n";
    let admission = parse(text).engine.admission;
    assert_eq!(
        admission,
        Admission {
            max_pending: 200,
            max_pending_per_address: 8,
            pressure_logon_timeout: Duration::from_secs(3),
        }
    );
}

#[test]
fn every_connection_key_is_read() {
    let text = "[DEFAULT]\nEventLoopCores=0,1\nBusyPoll=spin-then-park:80\nTransport=epoll\n\
        [SESSION]\nConnectionType=initiator\nBeginString=FIXT.1.1\nSenderCompID=S\n\
        TargetCompID=T\nSessionQualifier=Q\nSocketConnectHost=a\nSocketConnectPort=1\n\
        SocketConnectSourceHost=10.0.0.1\nSocketConnectSourcePort=4000\n\
        SocketConnectHost1=b\nSocketConnectPort1=2\nSocketConnectSourceHost1=10.0.0.2\n\
        ReconnectInterval=7\nHostSelectionPolicy=priority\n\
        HostSelectionPolicyPriorityStartOverInterval=60\nSocketConnectTimeout=3\n\
        SocketNodelay=N\nSocketSendBufferSize=65536\nSocketReceiveBufferSize=131072\n\
        SocketReuseAddress=N\nHeartBtInt=15\nLogonTimeout=4\nLogoutTimeout=6\nResetOnLogon=Y\n\
        SocketUseSSL=Y\nSocketCAFile=ca.pem\nSocketServerName=venue.example\n";
    let settings = parse(text);
    assert_eq!(settings.engine.event_loop_cores, [0, 1]);
    assert_eq!(
        settings.engine.busy_poll,
        BusyPoll::SpinThenPark(Duration::from_micros(80))
    );
    assert_eq!(settings.engine.transport, Transport::Epoll);
    let [s] = &settings.sessions[..] else {
        panic!("one session")
    };
    assert_eq!(s.id.to_string(), "FIXT.1.1:S->T:Q");
    assert_eq!(settings.engine.admission, Admission::default());
    let i = initiator(s);
    assert_eq!(i.hosts.len(), 2);
    assert_eq!(i.hosts[0].source_host.as_deref(), Some("10.0.0.1"));
    assert_eq!(i.hosts[0].source_port, Some(4000));
    assert_eq!(i.hosts[1].source_host.as_deref(), Some("10.0.0.2"));
    assert_eq!(i.hosts[1].source_port, None);
    assert_eq!(i.reconnect_interval, Duration::from_secs(7));
    assert_eq!(i.host_selection, HostSelectionPolicy::Priority);
    assert_eq!(i.priority_start_over_interval, Duration::from_secs(60));
    assert_eq!(i.connect_timeout, Duration::from_secs(3));
    assert_eq!(
        s.socket,
        SocketOptions {
            nodelay: false,
            send_buffer_size: Some(65536),
            receive_buffer_size: Some(131_072),
            reuse_address: false,
            keep_alive: false,
        }
    );
    assert_eq!(s.heartbeat_interval, Duration::from_secs(15));
    assert_eq!(s.logon_timeout, Duration::from_secs(4));
    assert_eq!(s.logout_timeout, Duration::from_secs(6));
    assert!(s.reset_on_logon);
    let tls = s.tls.as_ref().unwrap_or_else(|| panic!("TLS"));
    assert_eq!(tls.ca_file.as_deref(), Some(Path::new("ca.pem")));
    assert_eq!(tls.server_name.as_deref(), Some("venue.example"));
    assert_eq!(tls.certificate_file, None);
}

#[test]
fn failover_hosts_follow_their_numbers() {
    let text = format!(
        "{INITIATOR}[SESSION]\nTargetCompID=T\n\
         SocketConnectHost3=d\nSocketConnectPort3=4\nSocketConnectHost1=b\nSocketConnectPort1=2\n\
         SocketConnectHost=a\nSocketConnectPort=1\nSocketConnectPort2=3\nSocketConnectHost2=c\n"
    );
    let settings = parse(&text);
    let hosts: Vec<&str> = initiator(&settings.sessions[0])
        .hosts
        .iter()
        .map(|h| h.host.as_str())
        .collect();
    assert_eq!(hosts, ["a", "b", "c", "d"]);
}

#[test]
fn unknown_keys_are_warnings() {
    let text = format!(
        "{ACCEPTOR}MyOwnKey=1\nUseDataDictionary=N\nSSLProtocol=all\n[SESSION]\nTargetCompID=T\n\
         Colour=blue\nSocketKeyStore=ks.jks\n"
    );
    let settings =
        Settings::parse(&text, Some(Path::new("w.cfg"))).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
    // SocketKeyStore is QuickFIX/J's: with TLS off it changes nothing (refused with TLS on).
    assert_eq!(
        warnings,
        [
            "w.cfg:6: MyOwnKey: unknown key, ignored",
            "w.cfg:11: Colour: unknown key, ignored",
        ]
    );
}

#[test]
fn sections_keys_and_booleans_ignore_case() {
    let text = "[default]\nconnectiontype=ACCEPTOR\nbeginstring=FIX.4.4\nSENDERCOMPID=S\n\
        socketacceptport=9000\n[Session]\nTargetCompId=T\nsocketnodelay=n\nRESETONLOGON=y\n\
        SocketTcpNoDelay=N\nSendBufferSize=4096\n";
    let settings = parse(text);
    let s = &settings.sessions[0];
    assert_eq!(s.id.to_string(), "FIX.4.4:S->T");
    assert!(s.reset_on_logon);
    assert!(!s.socket.nodelay);
    assert_eq!(s.socket.send_buffer_size, Some(4096));
}

#[test]
fn tls_keys_of_quickfix_cpp_map_by_role() {
    let text = "[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=S\nSocketUseSSL=Y\n\
        ServerCertificateFile=server.pem\nServerCertificateKeyFile=server.key\n\
        ClientCertificateFile=client.pem\nClientCertificateKeyFile=client.key\n\
        CertificationAuthoritiesFile=ca.pem\n\
        [SESSION]\nConnectionType=acceptor\nTargetCompID=A\nSocketAcceptPort=9000\n\
        [SESSION]\nConnectionType=initiator\nTargetCompID=B\nSocketConnectHost=h\nSocketConnectPort=1\n";
    let settings = parse(text);
    assert!(settings.warnings.is_empty());
    let tls: Vec<_> = settings
        .sessions
        .iter()
        .map(|s| s.tls.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        tls[0].certificate_file.as_deref(),
        Some(Path::new("server.pem"))
    );
    assert_eq!(
        tls[0].private_key_file.as_deref(),
        Some(Path::new("server.key"))
    );
    assert_eq!(
        tls[1].certificate_file.as_deref(),
        Some(Path::new("client.pem"))
    );
    assert_eq!(
        tls[1].private_key_file.as_deref(),
        Some(Path::new("client.key"))
    );
    assert!(
        tls.iter()
            .all(|t| t.ca_file.as_deref() == Some(Path::new("ca.pem")))
    );
}

#[test]
fn errors_display_file_line_and_key() {
    let e = error(&format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nHeartBtInt=x\n"
    ));
    assert_eq!(
        e.to_string(),
        "t.cfg:8: HeartBtInt: expected a whole number, found \"x\""
    );
    assert_eq!(e.code(), ErrorCode::ConfigError);
    let no_file = Settings::parse("junk\n", None).unwrap_err();
    assert!(no_file.to_string().starts_with("<settings>:1: junk: "));
}

#[test]
fn all_errors_of_a_file_are_reported() {
    let errors = errors(&format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nHeartBtInt=x\nSocketNodelay=maybe\n\
         [SESSION]\nTargetCompID=U\nSocketAcceptPort=70000\n"
    ));
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.key.as_str())).collect();
    assert_eq!(
        found,
        [
            (8, "HeartBtInt"),
            (9, "SocketNodelay"),
            (12, "SocketAcceptPort")
        ]
    );
    assert_eq!(errors.to_string().lines().count(), 3);
}

/// (text, line, key, kind matcher) for each error kind.
#[test]
fn each_error_kind_has_its_line_and_key() {
    type Check = fn(&ConfigErrorKind) -> bool;
    let cases: Vec<(String, usize, &str, Check)> = vec![
        (format!("[DEFAULT]\nno equals sign\n{ONE_SESSION}"), 2, "no equals sign", |k| {
            matches!(k, ConfigErrorKind::Syntax { .. })
        }),
        (format!("[SESSIONS]\n{ONE_SESSION}"), 1, "[SESSIONS]", |k| {
            matches!(k, ConfigErrorKind::Syntax { .. })
        }),
        ("[DEFAULT]\nConnectionType=acceptor\n".into(), 2, "", |k| {
            *k == ConfigErrorKind::NoSessions
        }),
        (format!("{ACCEPTOR}\n[SESSION]\n"), 7, "TargetCompID", |k| {
            *k == ConfigErrorKind::MissingKey
        }),
        ("[SESSION]\nBeginString=FIX.4.4\nSenderCompID=S\nTargetCompID=T\n".into(), 1, "ConnectionType", |k| {
            *k == ConfigErrorKind::MissingKey
        }),
        ("[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=S\nTargetCompID=T\n".into(), 1, "SocketAcceptPort", |k| {
            *k == ConfigErrorKind::MissingKey
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\n"), 5, "SocketConnectHost", |k| {
            *k == ConfigErrorKind::NoHost
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\n"), 5, "SocketConnectPort", |k| {
            *k == ConfigErrorKind::MissingKey
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\nSocketConnectHost1=g\n"), 5, "SocketConnectPort1", |k| {
            *k == ConfigErrorKind::MissingKey
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\nSocketConnectHost2=g\nSocketConnectPort2=2\n"), 9, "SocketConnectHost2", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nSocketAcceptPort=0\n"), 8, "SocketAcceptPort", |k| {
            matches!(k, ConfigErrorKind::PortOutOfRange { .. })
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=65536\n"), 8, "SocketConnectPort", |k| {
            matches!(k, ConfigErrorKind::PortOutOfRange { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nResetOnLogon=yes\n"), 8, "ResetOnLogon", |k| {
            matches!(k, ConfigErrorKind::InvalidBool { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nSocketSendBufferSize=big\n"), 8, "SocketSendBufferSize", |k| {
            matches!(k, ConfigErrorKind::InvalidNumber { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nHeartBtInt=0\n"), 8, "HeartBtInt", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\n[SESSION]\ntargetcompid=T\n"), 8, "[SESSION]", |k| {
            *k == ConfigErrorKind::DuplicateSession { first_line: 6 }
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\nHostSelectionPolicy=RANDOM\n"), 9, "HostSelectionPolicy", |k| {
            matches!(k, ConfigErrorKind::UnknownPolicy { .. })
        }),
        ("[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=S\n[SESSION]\nTargetCompID=T\nConnectionType=both\n".into(), 6, "ConnectionType", |k| {
            matches!(k, ConfigErrorKind::UnknownConnectionType { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=A\nSocketUseSSL=Y\nSocketCertificateFile=c.pem\nSocketPrivateKeyFile=k.pem\n[SESSION]\nTargetCompID=B\n"), 11, "SocketAcceptPort", |k| {
            *k == ConfigErrorKind::TlsPlainPortConflict { port: 9000, other_line: 6 }
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nSocketUseSSL=Y\nSocketCertificateFile=c.pem\n"), 9, "SocketCertificateFile", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { reason, .. } if reason.contains("SocketPrivateKeyFile"))
        }),
        (format!("{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\nSocketUseSSL=Y\nSocketCAFile=ca.pem\nTlsMinVersion=1.1\n"), 11, "TlsMinVersion", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nBusyPoll=sometimes\n{ONE_SESSION}"), 2, "BusyPoll", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nEventLoopCores=0,x\n{ONE_SESSION}"), 2, "EventLoopCores", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nTransport=dpdk\n{ONE_SESSION}"), 2, "Transport", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nTransport=uring\n"), 8, "Transport", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nMaxPendingConnections=0\n{ONE_SESSION}"), 2, "MaxPendingConnections", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nMaxPendingConnectionsPerAddress=many\n{ONE_SESSION}"), 2, "MaxPendingConnectionsPerAddress", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("[DEFAULT]\nPressureLogonTimeout=0.5\n{ONE_SESSION}"), 2, "PressureLogonTimeout", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
        (format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\nMaxPendingConnections=5\n"), 8, "MaxPendingConnections", |k| {
            matches!(k, ConfigErrorKind::InvalidValue { .. })
        }),
    ];
    for (text, line, key, check) in cases {
        let e = error(&text);
        assert_eq!((e.line, e.key.as_str()), (line, key), "{e}\nfor:\n{text}");
        assert!(check(&e.kind), "wrong kind: {e}\nfor:\n{text}");
    }
}

#[test]
fn an_acceptor_without_ssl_key_is_missing_both_files() {
    let errors = errors(&format!(
        "{ACCEPTOR}SocketUseSSL=Y\n[SESSION]\nTargetCompID=T\n"
    ));
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["SocketUseSSL"]);
    assert!(
        errors
            .iter()
            .all(|e| e.line == 6 && e.to_string().contains("SocketPrivateKeyFile"))
    );
}

#[test]
fn an_unreadable_file_is_an_error_naming_it() {
    let path = Path::new("/nonexistent/fixring/settings.cfg");
    let errors = Settings::load(path).unwrap_err();
    let e = errors.iter().next().unwrap_or_else(|| unreachable!());
    assert_eq!(e.file.as_deref(), Some(path));
    assert!(matches!(e.kind, ConfigErrorKind::Read { .. }));
    assert!(
        errors
            .to_string()
            .starts_with("/nonexistent/fixring/settings.cfg: cannot read")
    );
}

#[test]
fn a_bad_address_does_not_hide_the_other_errors_of_its_session() {
    let errors = errors(&format!(
        "{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=0\n\
         ReconnectInterval=soon\nHeartBtInt=x\n"
    ));
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["SocketConnectPort", "ReconnectInterval", "HeartBtInt"]
    );
}

#[test]
fn tls_minimum_version_and_system_roots() {
    let text = format!(
        "{INITIATOR}TlsSystemRoots=Y\n[SESSION]\nTargetCompID=T\nSocketConnectHost=fix.example.com\n\
         SocketConnectPort=443\nSocketUseSSL=Y\nTlsMinVersion=TLSv1.3\n"
    );
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let tls = settings.sessions[0].tls.clone().expect("a TLS session");
    assert_eq!(tls.min_version, TlsMinVersion::Tls13);
    assert!(tls.system_roots);
    assert_eq!(tls.ca_file, None);
}

#[test]
fn the_message_store_is_sized_or_turned_off() {
    let session = |keys: &str| {
        let text = format!("{ACCEPTOR}{keys}[SESSION]\nTargetCompID=T\n");
        parse(&text).sessions[0].message_store_size
    };
    assert_eq!(session(""), 16 << 20);
    assert_eq!(session("MessageStoreSize=1048576\n"), 1 << 20);
    assert_eq!(session("PersistMessages=N\nMessageStoreSize=1048576\n"), 0);
    assert_eq!(session("PersistMessages=Y\n"), 16 << 20);
    let bad = error(&format!(
        "{ACCEPTOR}MessageStoreSize=lots\n[SESSION]\nTargetCompID=T\n"
    ));
    assert_eq!((bad.line, bad.key.as_str()), (6, "MessageStoreSize"));
    assert!(matches!(bad.kind, ConfigErrorKind::InvalidNumber { .. }));
}

#[test]
fn without_connection_type_the_role_follows_the_keys_as_quickfixgo() {
    let text = "[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=S\n\
                [SESSION]\nTargetCompID=A\nSocketAcceptPort=9000\n\
                [SESSION]\nTargetCompID=B\nSocketConnectHost=127.0.0.1\nSocketConnectPort=9001\n";
    let settings = parse(text);
    let types: Vec<ConnectionType> = settings
        .sessions
        .iter()
        .map(SessionConfig::connection_type)
        .collect();
    assert_eq!(types, [ConnectionType::Acceptor, ConnectionType::Initiator]);
    let both = error(
        "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=S\nTargetCompID=T\n\
         SocketAcceptPort=9000\nSocketConnectHost=h\nSocketConnectPort=1\n",
    );
    assert_eq!((both.line, both.key.as_str()), (1, "ConnectionType"));
    assert!(
        both.to_string()
            .contains("both SocketAcceptPort and SocketConnectHost/Port")
    );
}

#[test]
fn allowed_remote_addresses_are_ip_addresses_of_an_acceptor() {
    let settings = parse(&format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nAllowedRemoteAddresses=127.0.0.1, ::1,10.1.2.3\n"
    ));
    let expected: Vec<std::net::IpAddr> = ["127.0.0.1", "::1", "10.1.2.3"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(
        settings.sessions[0].allowed_remote_addresses,
        Some(expected)
    );
    let name = error(&format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nAllowedRemoteAddresses=127.0.0.1,gateway\n"
    ));
    assert_eq!(name.line, 8);
    assert!(
        name.to_string()
            .contains("\"gateway\" is not an IP address"),
        "{name}"
    );
    let initiator = error(&format!(
        "{INITIATOR}[SESSION]\nTargetCompID=T\nSocketConnectHost=h\nSocketConnectPort=1\n\
         AllowedRemoteAddresses=127.0.0.1\n"
    ));
    assert!(
        initiator.to_string().contains("an acceptor's key"),
        "{initiator}"
    );
}

#[test]
fn quickfix_j_socket_keys_mean_what_they_mean_there() {
    let settings = parse(
        "[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=S\nSocketKeepAlive=Y\n\
         [SESSION]\nConnectionType=acceptor\nTargetCompID=A\nSocketAcceptPort=9000\n\
         SocketAcceptAddress=127.0.0.5\n\
         [SESSION]\nConnectionType=initiator\nTargetCompID=B\nSocketConnectHost=10.0.0.1\n\
         SocketConnectPort=9001\nSocketLocalHost=10.0.0.2\nSocketLocalPort=4000\n\
         SocketConnectHost1=10.0.0.9\nSocketConnectPort1=9001\n\
         SocketConnectHost2=10.0.0.8\nSocketConnectPort2=9001\nSocketConnectSourceHost2=10.0.0.3\n",
    );
    let acceptor = &settings.sessions[0];
    assert!(acceptor.socket.keep_alive);
    match &acceptor.role {
        Role::Acceptor(a) => assert_eq!(a.accept_host.as_deref(), Some("127.0.0.5")),
        Role::Initiator(_) => panic!("not an acceptor"),
    }
    // Every host binds SocketLocalHost/Port, but for one with its own source address.
    let sources: Vec<(Option<&str>, Option<u16>)> = initiator(&settings.sessions[1])
        .hosts
        .iter()
        .map(|h| (h.source_host.as_deref(), h.source_port))
        .collect();
    assert_eq!(
        sources,
        [
            (Some("10.0.0.2"), Some(4000)),
            (Some("10.0.0.2"), Some(4000)),
            (Some("10.0.0.3"), None)
        ]
    );
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
}

#[test]
fn default_appl_ver_id_is_a_code_or_the_version_it_names() {
    let rules = |value: &str| {
        parse(&format!(
            "{ACCEPTOR}BeginString=FIXT.1.1\n[SESSION]\nTargetCompID=T\nDefaultApplVerID={value}\n"
        ))
        .sessions[0]
            .rules
            .default_appl_ver_id
    };
    assert_eq!(rules("9"), Some(9));
    assert_eq!(rules("FIX.5.0SP2"), Some(9));
    assert_eq!(rules("FIX.4.4"), Some(6));
    let bad = error(&format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nDefaultApplVerID=FIX.9\n"
    ));
    assert_eq!((bad.line, bad.key.as_str()), (8, "DefaultApplVerID"));
}

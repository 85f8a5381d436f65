//! TLS end to end over loopback on each backend, with certificates made at test time: logon
//! and orders, mutual TLS, every handshake failure, plain text on a TLS port and the reverse.

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::{Pki, rsa_pki};
use common::recorder::Recorder;
use common::{TempDir, free_port, temp_dir};
use fixring::core::config::Settings;
use fixring::core::tls::TlsSetupError;
use fixring::core::{ErrorCode, EventKind, SessionId};
use fixring::{Engine, EngineError};

const TRANSPORTS: [&str; 2] = ["uring", "epoll"];
const WAIT: Duration = Duration::from_secs(10);

/// Two unrelated PKIs: `trusted` for the normal case, `stranger` for a CA nobody trusts.
struct Pkis {
    trusted: Pki,
    stranger: Pki,
    _dirs: (TempDir, TempDir),
}

fn pkis() -> Pkis {
    let (a, b) = (temp_dir("tls-trusted"), temp_dir("tls-stranger"));
    let trusted = rsa_pki(a.path()).unwrap_or_else(|e| panic!("certificates: {e}"));
    let stranger = rsa_pki(b.path()).unwrap_or_else(|e| panic!("certificates: {e}"));
    Pkis {
        trusted,
        stranger,
        _dirs: (a, b),
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn acceptor_text(transport: &str, port: u16, pki: &Pki, client_ca: Option<&Path>) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nTargetCompID=INIT\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\n\
         HeartBtInt=30\nLogonTimeout=2\nLogoutTimeout=1\nSocketUseSSL=Y\n\
         SocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
        path(&pki.server_cert),
        path(&pki.server_key)
    );
    if let Some(ca) = client_ca {
        text.push_str(&format!("SocketCAFile={}\n", path(ca)));
    }
    text
}

/// An initiator trusting `ca`, presenting `client` (certificate, key) when given.
fn initiator_text(transport: &str, port: u16, ca: &Path, client: Option<(&Path, &Path)>) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID=INIT\nTargetCompID=ACC\nHeartBtInt=30\nReconnectInterval=1\nLogoutTimeout=1\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nSocketUseSSL=Y\nSocketCAFile={}\n",
        path(ca)
    );
    if let Some((cert, key)) = client {
        text.push_str(&format!(
            "SocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
            path(cert),
            path(key)
        ));
    }
    text
}

fn start(text: &str, app: Recorder) -> Engine<Recorder> {
    let settings = Settings::parse(text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut engine = Engine::new(settings, app);
    engine
        .start()
        .unwrap_or_else(|e| panic!("engine did not start: {e}"));
    engine
}

/// The `error_detail` of every `fix.connection.error` with `code`.
fn errors(app: &Recorder, code: ErrorCode) -> Vec<String> {
    app.with(|s| {
        s.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ConnectionError {
                    code: c,
                    error_detail,
                    ..
                } if *c == code => Some(error_detail.clone()),
                _ => None,
            })
            .collect()
    })
}

#[test]
fn tls_logon_and_orders() {
    let pki = pkis();
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let _acceptor = start(
            &acceptor_text(transport, port, &pki.trusted, None),
            acceptor_app.clone(),
        );
        let app = Recorder::new();
        let initiator = start(
            &initiator_text(transport, port, &pki.trusted.ca_cert, None),
            app.clone(),
        );
        app.expect_events("fix.connection.established", 1, WAIT);
        let established = app.with(|s| {
            s.events
                .iter()
                .find(|e| e.name() == "fix.connection.established")
                .map(|e| e.kind.clone())
        });
        assert!(
            matches!(
                established,
                Some(EventKind::ConnectionEstablished { is_ssl: true, .. })
            ),
            "{established:?}"
        );
        acceptor_app.expect_events("fix.connection.established", 1, WAIT);

        let handle = initiator
            .handle(&SessionId::new("FIX.4.4", "INIT", "ACC"))
            .unwrap();
        for id in 0..300 {
            let body = format!("11=T{id}\x0155=EURUSD\x0154=2\x0138=5\x0140=1\x01");
            handle.send(b"D", body.into_bytes()).unwrap();
        }
        let all = app.wait_for(WAIT, |s| s.app_in.len() >= 300);
        assert!(
            all,
            "{transport}: {} execution reports over TLS",
            app.with(|s| s.app_in.len())
        );
        app.with(|s| {
            assert!(
                s.app_in
                    .iter()
                    .enumerate()
                    .all(|(i, (_, t, id))| t == "8" && *id == format!("T{i}"))
            )
        });
    }
}

#[test]
fn mutual_tls_admits_the_right_client_and_refuses_a_stranger() {
    let pki = pkis();
    for transport in TRANSPORTS {
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let text = acceptor_text(transport, port, &pki.trusted, Some(&pki.trusted.ca_cert));
        let _acceptor = start(&text, acceptor_app.clone());

        // No client certificate: refused.
        let anonymous = Recorder::new();
        let anonymous_engine = start(
            &initiator_text(transport, port, &pki.trusted.ca_cert, None),
            anonymous.clone(),
        );
        acceptor_app.expect_events("fix.connection.error", 1, WAIT);
        drop(anonymous_engine);
        // A certificate from a CA the acceptor does not trust: refused.
        let client = Some((
            pki.stranger.client_cert.as_path(),
            pki.stranger.client_key.as_path(),
        ));
        let stranger = Recorder::new();
        let stranger_engine = start(
            &initiator_text(transport, port, &pki.trusted.ca_cert, client),
            stranger.clone(),
        );
        acceptor_app.expect_events("fix.connection.error", 2, WAIT);
        drop(stranger_engine);
        let refused = errors(&acceptor_app, ErrorCode::SslHandshakeFailed);
        assert!(refused.len() >= 2, "{refused:?}");
        assert!(refused[0].contains("certificate"), "{refused:?}");
        assert_eq!(anonymous.count("fix.connection.established"), 0);
        assert_eq!(stranger.count("fix.connection.established"), 0);

        // The right client certificate: admitted.
        let client = Some((
            pki.trusted.client_cert.as_path(),
            pki.trusted.client_key.as_path(),
        ));
        let good = Recorder::new();
        let _good = start(
            &initiator_text(transport, port, &pki.trusted.ca_cert, client),
            good.clone(),
        );
        good.expect_events("fix.connection.established", 1, WAIT);
        assert_eq!(acceptor_app.count("fix.connection.established"), 1);
    }
}

#[test]
fn an_unknown_ca_or_a_wrong_name_fails_the_handshake_and_is_retried() {
    let pki = pkis();
    for transport in TRANSPORTS {
        let port = free_port();
        let _acceptor = start(
            &acceptor_text(transport, port, &pki.trusted, None),
            Recorder::echoing(),
        );

        let app = Recorder::new();
        let _wrong_ca = start(
            &initiator_text(transport, port, &pki.stranger.ca_cert, None),
            app.clone(),
        );
        // Retried after ReconnectInterval: a second failure within a few seconds.
        assert!(app.wait_for(WAIT, |s| {
            s.events
                .iter()
                .filter(|e| e.code() == Some(ErrorCode::SslHandshakeFailed))
                .count()
                >= 2
        }));
        let details = errors(&app, ErrorCode::SslHandshakeFailed);
        assert!(
            details[0].contains("not signed by a trusted") || details[0].contains("CA"),
            "{details:?}"
        );

        let app = Recorder::new();
        let text = initiator_text(transport, port, &pki.trusted.ca_cert, None)
            + "SocketServerName=wrong.example\n";
        let _wrong_name = start(&text, app.clone());
        app.expect_events("fix.connection.error", 1, WAIT);
        let details = errors(&app, ErrorCode::SslHandshakeFailed);
        assert!(details[0].contains("name"), "{details:?}");
        assert_eq!(app.count("fix.connection.established"), 0);
    }
}

#[test]
fn plain_text_on_a_tls_port_and_tls_on_a_plain_port_are_refused() {
    let pki = pkis();
    for transport in TRANSPORTS {
        // A plain-text initiator against a TLS acceptor.
        let port = free_port();
        let acceptor_app = Recorder::new();
        let _acceptor = start(
            &acceptor_text(transport, port, &pki.trusted, None),
            acceptor_app.clone(),
        );
        let plain = initiator_text(transport, port, &pki.trusted.ca_cert, None)
            .replace("SocketUseSSL=Y", "SocketUseSSL=N");
        let _plain = start(&plain, Recorder::new());
        acceptor_app.expect_events("fix.connection.error", 1, WAIT);
        let details = errors(&acceptor_app, ErrorCode::SslHandshakeFailed);
        assert!(
            details.iter().any(|d| d.contains("does not speak TLS")),
            "{details:?}"
        );

        // A TLS initiator against a plain acceptor.
        let port = free_port();
        let plain_acceptor = acceptor_text(transport, port, &pki.trusted, None)
            .replace("SocketUseSSL=Y", "SocketUseSSL=N");
        let plain_app = Recorder::new();
        let _plain_acceptor = start(&plain_acceptor, plain_app.clone());
        let _tls = start(
            &initiator_text(transport, port, &pki.trusted.ca_cert, None),
            Recorder::new(),
        );
        plain_app.expect_events("fix.connection.error", 1, WAIT);
        let details = errors(&plain_app, ErrorCode::ConnectionRefused);
        assert!(
            details
                .iter()
                .any(|d| d.contains("TLS handshake on a plain-text port")),
            "{details:?}"
        );
    }
}

#[test]
fn a_missing_certificate_fails_start_up_naming_the_file() {
    let pki = pkis();
    let port = free_port();
    let text = acceptor_text("epoll", port, &pki.trusted, None)
        .replace(&path(&pki.trusted.server_cert), "/nonexistent/server.pem");
    let settings = Settings::parse(&text, None).unwrap();
    let mut engine = Engine::new(settings, Recorder::new());
    let error = engine.start().expect_err("no certificate file");
    assert_eq!(error.code(), ErrorCode::ConfigError);
    assert!(
        error.to_string().contains("/nonexistent/server.pem"),
        "{error}"
    );
    assert!(
        matches!(
            &error,
            EngineError::AcceptorTls { port: p, source: TlsSetupError::Unreadable { .. } }
                if *p == port
        ),
        "{error:?}"
    );
}

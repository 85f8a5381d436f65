//! TLS against other implementations: QuickFIX C++'s SSL acceptor and initiator (mutual TLS,
//! RSA certificates made at test time) and `openssl s_server`/`s_client` as generic peers.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::certs::{Pki, rsa_pki};
use common::quickfix::{PeerSettings, PeerTls, QuickFixPeer};
use common::recorder::Recorder;
use common::{free_port, temp_dir};
use fixring::Engine;
use fixring::core::codec::{Header, encode};
use fixring::core::config::Settings;
use fixring::core::{EventKind, UtcTimestamp};

const TRANSPORTS: [&str; 2] = ["uring", "epoll"];
const STEP: Duration = Duration::from_secs(15);

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn start(text: &str, app: Recorder) -> Engine<Recorder> {
    let settings = Settings::parse(text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut engine = Engine::new(settings, app);
    engine
        .start()
        .unwrap_or_else(|e| panic!("engine did not start: {e}"));
    engine
}

/// A TLS acceptor requiring client certificates of `pki`'s CA.
fn acceptor_text(transport: &str, port: u16, pki: &Pki, target: &str) -> String {
    format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=FIXRING\nTargetCompID={target}\nSocketAcceptPort={port}\nHeartBtInt=30\n\
         SocketUseSSL=Y\nSocketCertificateFile={}\nSocketPrivateKeyFile={}\nSocketCAFile={}\n",
        path(&pki.server_cert),
        path(&pki.server_key),
        path(&pki.ca_cert)
    )
}

/// A TLS initiator verifying `pki`'s CA and presenting its client certificate.
fn initiator_text(transport: &str, port: u16, pki: &Pki, target: &str) -> String {
    format!(
        "[DEFAULT]\nTransport={transport}\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID=FIXRING\nTargetCompID={target}\nHeartBtInt=30\nReconnectInterval=1\nResetOnLogon=Y\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nSocketUseSSL=Y\nSocketCAFile={}\n\
         SocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
        path(&pki.ca_cert),
        path(&pki.client_cert),
        path(&pki.client_key)
    )
}

fn peer(settings: &PeerSettings, args: &[&str]) -> QuickFixPeer {
    QuickFixPeer::spawn(settings, args).unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

fn expect_line(peer: &mut QuickFixPeer, prefix: &str) -> String {
    peer.wait_for_line(prefix, STEP)
        .unwrap_or_else(|e| panic!("QuickFIX peer: {e}"))
}

fn is_ssl_established(app: &Recorder) -> bool {
    app.with(|s| {
        s.events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::ConnectionEstablished { is_ssl: true, .. }
            )
        })
    })
}

#[test]
fn quickfix_ssl_initiator_trades_with_a_fixring_tls_acceptor() {
    let dir = temp_dir("tls-interop-qf-initiator");
    let pki = rsa_pki(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::echoing();
        let _acceptor = start(&acceptor_text(transport, port, &pki, "QF"), app.clone());
        let mut settings = PeerSettings::initiator(port, "QF", "FIXRING");
        settings.tls = Some(PeerTls::client(&pki));
        let mut qf = peer(&settings, &["--orders", "200", "--quiet"]);
        expect_line(&mut qf, "LOGON");
        let rtt = expect_line(&mut qf, "RTT");
        assert!(rtt.contains("count=200"), "{rtt}");
        eprintln!("{transport}: QuickFIX SSL initiator -> fixring TLS acceptor: {rtt}");
        assert!(is_ssl_established(&app));
        let _ = qf.stop();
    }
}

#[test]
fn fixring_tls_initiator_logs_on_to_a_quickfix_ssl_acceptor() {
    let dir = temp_dir("tls-interop-qf-acceptor");
    let pki = rsa_pki(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for transport in TRANSPORTS {
        let port = free_port();
        let mut settings = PeerSettings::acceptor(port, "QF", "FIXRING");
        settings.tls = Some(PeerTls::server(&pki));
        let mut qf = peer(&settings, &[]);
        let app = Recorder::new();
        let initiator = start(&initiator_text(transport, port, &pki, "QF"), app.clone());
        expect_line(&mut qf, "LOGON");
        app.expect_events("fix.connection.established", 1, STEP);
        assert!(is_ssl_established(&app));
        let id = fixring::core::SessionId::new("FIX.4.4", "FIXRING", "QF");
        let handle = initiator.handle(&id).unwrap();
        for n in 0..50 {
            let body = format!(
                "11=S{n}\x0121=1\x0155=IBM\x0154=1\x0160=20261126-00:00:00.000\x0138=100\x0140=1\x01"
            );
            handle.send(b"D", body.into_bytes()).unwrap();
        }
        assert!(
            app.wait_for(STEP, |s| s.app_in.len() >= 50),
            "{}",
            app.with(|s| s.app_in.len())
        );
        drop(initiator);
        expect_line(&mut qf, "LOGOUT");
        let _ = qf.stop();
    }
}

/// A child process killed on drop (only ever one we started).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a child writes on stdout, in chunks as they come (FIX has no newlines), read by a
/// thread that ends with the child.
fn output_of(child: &mut Child) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) until the output contains `needle`.
fn wait_for_output(output: &mpsc::Receiver<Vec<u8>>, needle: &str) -> bool {
    let end = Instant::now() + STEP;
    let mut seen = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match output.recv_timeout(left) {
            Ok(chunk) => {
                seen.extend_from_slice(&chunk);
                if String::from_utf8_lossy(&seen).contains(needle) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn openssl_s_server_receives_our_logon_over_tls() {
    let dir = temp_dir("tls-interop-s-server");
    let pki = rsa_pki(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for transport in TRANSPORTS {
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &port.to_string(), "-quiet"])
            .args([
                "-cert",
                &path(&pki.server_cert),
                "-key",
                &path(&pki.server_key),
            ])
            .args(["-CAfile", &path(&pki.ca_cert), "-Verify", "1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed by scripts/test");
        let mut server = Reaped(child);
        let output = output_of(&mut server.0);
        // s_server has no readiness signal; until it listens, the engine's attempts are
        // refused and retried every ReconnectInterval.
        let app = Recorder::new();
        let _initiator = start(
            &initiator_text(transport, port, &pki, "OPENSSL"),
            app.clone(),
        );
        assert!(
            wait_for_output(&output, "35=A\x0134=1\x0149=FIXRING\x0152="),
            "{transport}: s_server never saw our Logon: {:?}",
            app.names()
        );
    }
}

#[test]
fn openssl_s_client_logs_on_to_our_tls_acceptor() {
    let dir = temp_dir("tls-interop-s-client");
    let pki = rsa_pki(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for transport in TRANSPORTS {
        let port = free_port();
        let app = Recorder::new();
        let _acceptor = start(
            &acceptor_text(transport, port, &pki, "OPENSSL"),
            app.clone(),
        );
        let child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-quiet",
            ])
            .args(["-CAfile", &path(&pki.ca_cert), "-verify_return_error"])
            .args([
                "-cert",
                &path(&pki.client_cert),
                "-key",
                &path(&pki.client_key),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed by scripts/test");
        let mut client = Reaped(child);
        let output = output_of(&mut client.0);
        let header = Header {
            begin_string: "FIX.4.4",
            msg_type: b"A",
            sender_comp_id: "OPENSSL",
            target_comp_id: "FIXRING",
            msg_seq_num: 1,
            // The engine checks SendingTime against its clock.
            sending_time: UtcTimestamp::from_unix_millis(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ),
            poss_dup: false,
            orig_sending_time: None,
            ..Default::default()
        };
        let mut logon = [0u8; 256];
        let len = encode(&header, b"98=0\x01108=30\x01", &mut logon).unwrap();
        client
            .0
            .stdin
            .as_mut()
            .unwrap()
            .write_all(&logon[..len])
            .unwrap();
        app.expect_events("fix.connection.established", 1, STEP);
        assert!(is_ssl_established(&app));
        // Our Logon reply reaches s_client, decrypted.
        let reply = "35=A\x0134=1\x0149=FIXRING\x0152=";
        assert!(
            wait_for_output(&output, reply),
            "{transport}: no Logon reply through s_client"
        );
    }
}

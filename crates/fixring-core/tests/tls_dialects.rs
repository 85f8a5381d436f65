//! TLS in the words of each dialect, from settings text to a real rustls handshake:
//! QuickFIX/n's PKCS#12 certificates, DER CA files and SSLProtocols, quickfixgo's
//! SocketInsecureSkipVerify. Certificates are made at test time with rcgen, the .pfx files
//! with `openssl pkcs12 -export` as QuickFIX/n users make them.

use std::path::{Path, PathBuf};
use std::process::Command;

use fixring_core::config::{ConfigWarningKind, Settings, TlsConfig};
use fixring_core::tls::{TlsConnection, client_config, server_config};
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};

const NAME: &str = "fix.example.test";

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("CA certificate");
        Self { cert, key }
    }

    /// A leaf for `name` as (certificate PEM, key PEM).
    fn issue(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("fixring-tls-dialects-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    /// A .pfx of `leaf` protected by `password`, made by openssl.
    fn pfx(&self, name: &str, (cert, key): &(String, String), password: &str) -> PathBuf {
        let cert = self.write(&format!("{name}.crt"), cert.as_bytes());
        let key = self.write(&format!("{name}.key"), key.as_bytes());
        let out = self.0.join(format!("{name}.pfx"));
        let status = Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .arg("-out")
            .arg(&out)
            .arg("-passout")
            .arg(format!("pass:{password}"))
            .status()
            .expect("openssl must be installed (scripts/test installs it)");
        assert!(status.success(), "openssl pkcs12 -export failed");
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tls_of(text: &str) -> (TlsConfig, Settings) {
    let settings = Settings::parse(text, None).unwrap_or_else(|e| panic!("{e}\nfor:\n{text}"));
    let tls = settings.sessions[0].tls.clone().expect("TLS on");
    (tls, settings)
}

/// Runs a handshake between the two configurations; whether both sides finished it.
fn handshake(server: &TlsConfig, client: &TlsConfig) -> bool {
    let server = server_config(server).unwrap_or_else(|e| panic!("server: {e}"));
    let client = client_config(client).unwrap_or_else(|e| panic!("client: {e}"));
    let mut s = TlsConnection::server(server).expect("server");
    let mut c = TlsConnection::client(client, NAME).expect("client");
    let (mut to_s, mut to_c) = (Vec::new(), Vec::new());
    let (mut s_done, mut c_done) = (false, false);
    let mut out = vec![0u8; 32 * 1024];
    for _ in 0..32 {
        let mut step = |tls: &mut TlsConnection, inbox: &mut Vec<u8>, done: &mut bool| {
            let mut sent = Vec::new();
            loop {
                match tls.process(inbox, &mut out, &mut |_| {}) {
                    Ok(p) => {
                        inbox.drain(..p.consumed);
                        sent.extend_from_slice(&out[..p.written]);
                        *done |= p.handshake_done;
                        if !tls.wants_write() {
                            return Some(sent);
                        }
                    }
                    Err(_) => return None,
                }
            }
        };
        let Some(a) = step(&mut c, &mut to_c, &mut c_done) else {
            return false;
        };
        to_s.extend_from_slice(&a);
        let Some(b) = step(&mut s, &mut to_s, &mut s_done) else {
            return false;
        };
        to_c.extend_from_slice(&b);
        if a.is_empty() && b.is_empty() {
            break;
        }
    }
    s_done && c_done
}

fn acceptor(keys: &str) -> String {
    format!(
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=S\n\
         SocketAcceptPort=9000\n{keys}[SESSION]\nTargetCompID=T\n"
    )
}

fn initiator(keys: &str) -> String {
    format!(
        "[DEFAULT]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=T\n\
         SocketConnectHost=127.0.0.1\nSocketConnectPort=9000\n{keys}[SESSION]\nTargetCompID=S\n"
    )
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn quickfix_n_pfx_certificates_and_a_der_ca_make_a_mutual_tls_handshake() {
    let dir = TempDir::new("n");
    let ca = Ca::new("CA");
    let server_pfx = dir.pfx("server", &ca.issue(NAME), "qfnpass123");
    let client_pfx = dir.pfx("client", &ca.issue("client"), "other pass");
    let ca_der = dir.write("ca.cer", ca.cert.der());
    let ca_pem = dir.write("ca.pem", ca.cert.pem().as_bytes());
    let (server, _) = tls_of(&acceptor(&format!(
        "SSLEnable=Y\nSSLCertificate={}\nSSLCertificatePassword=qfnpass123\n\
         SSLCACertificate={}\nSSLCheckCertificateRevocation=N\nSSLProtocols=Default\n",
        p(&server_pfx),
        p(&ca_der)
    )));
    assert!(
        server.ca_file.is_some(),
        "QuickFIX/n requires client certificates by default"
    );
    let client_text = |protocols: &str| {
        initiator(&format!(
            "SSLEnable=Y\nSSLCertificate={}\nSSLCertificatePassword=other pass\n\
             SSLCACertificate={}\nSSLServerName={NAME}\nSSLCheckCertificateRevocation=N\n\
             SSLProtocols={protocols}\n",
            p(&client_pfx),
            p(&ca_pem)
        ))
    };
    for protocols in ["Tls12", "Tls13", "Tls12, Tls13", "Default"] {
        let (client, _) = tls_of(&client_text(protocols));
        assert!(handshake(&server, &client), "SSLProtocols={protocols}");
    }
    // Without its client certificate the client is refused by the QuickFIX/n acceptor.
    let (mut anonymous, _) = tls_of(&client_text("Tls13"));
    anonymous.pkcs12_file = None;
    assert!(!handshake(&server, &anonymous));
    // A server held to 1.2 by SSLProtocols and a 1.3-only client have no version in common.
    let (held, _) = tls_of(&client_text("Tls12"));
    let mut server12 = server.clone();
    server12.only_version = held.only_version;
    let (client13, _) = tls_of(&client_text("Tls13"));
    assert!(!handshake(&server12, &client13));
}

#[test]
fn a_wrong_pfx_password_is_refused_with_the_reason() {
    let dir = TempDir::new("password");
    let ca = Ca::new("CA");
    let pfx = dir.pfx("server", &ca.issue(NAME), "right");
    let (mut server, _) = tls_of(&acceptor(&format!(
        "SSLEnable=Y\nSSLCertificate={}\nSSLCertificatePassword=wrong\n\
         SSLRequireClientCertificate=N\nSSLCheckCertificateRevocation=N\n",
        p(&pfx)
    )));
    let error = server_config(&server)
        .expect_err("wrong password")
        .to_string();
    assert!(error.contains("SSLCertificatePassword"), "{error}");
    assert!(error.contains("server.pfx"), "{error}");
    server.pkcs12_password = "right".to_owned();
    assert!(server_config(&server).is_ok());
}

#[test]
fn quickfixgo_insecure_skip_verify_connects_to_an_unknown_server_and_says_so() {
    let dir = TempDir::new("go");
    let unknown = Ca::new("Unknown CA");
    let (cert, key) = unknown.issue("some.other.name");
    let server = TlsConfig {
        certificate_file: Some(dir.write("s.crt", cert.as_bytes())),
        private_key_file: Some(dir.write("s.key", key.as_bytes())),
        ..TlsConfig::default()
    };
    let (client, settings) = tls_of(&initiator("SocketUseSSL=Y\nSocketInsecureSkipVerify=Y\n"));
    assert!(client.skip_verification);
    assert!(
        settings
            .warnings
            .iter()
            .any(|w| w.key == "SocketInsecureSkipVerify"
                && matches!(w.kind, ConfigWarningKind::Insecure { .. }))
    );
    assert!(handshake(&server, &client), "verification is off");
    // Without the key the same server is refused: its CA is not among the bundled roots.
    let (verifying, settings) = tls_of(&initiator("SocketUseSSL=Y\n"));
    assert!(verifying.system_roots && settings.warnings.is_empty());
    assert!(!handshake(&server, &verifying));
}

#[test]
fn tls_keys_of_other_meanings_are_refused_naming_them() {
    let cases = [
        (
            initiator(
                "SSLEnable=Y\nSSLCACertificate=ca.cer\nSSLProtocols=Tls11\nSSLCheckCertificateRevocation=N\n",
            ),
            "SSLProtocols",
            "TLS 1.2",
        ),
        (
            initiator("SSLEnable=Y\nSSLCACertificate=ca.cer\nSSLCheckCertificateRevocation=Y\n"),
            "SSLCheckCertificateRevocation",
            "revocation",
        ),
        (
            initiator("SocketUseSSL=Y\nSocketMinimumTLSVersion=TLS11\n"),
            "SocketMinimumTLSVersion",
            "TLS 1.2",
        ),
        (
            initiator("SocketUseSSL=Y\nSSLProtocol=+SSLv3 +TLSv1.2\n"),
            "SSLProtocol",
            "TLS 1.2",
        ),
        (
            initiator("SSLEnable=Y\nSSLCheckCertificateRevocation=N\n"),
            "SSLEnable",
            "SSLCACertificate",
        ),
        (
            acceptor("SSLEnable=Y\nSSLCertificate=s.pfx\nSSLCheckCertificateRevocation=N\n"),
            "SSLEnable",
            "SSLRequireClientCertificate",
        ),
        (
            acceptor(
                "SocketUseSSL=Y\nSSLCipherSuite=HIGH\nSocketCertificateFile=c\nSocketPrivateKeyFile=k\n",
            ),
            "SSLCipherSuite",
            "cipher",
        ),
    ];
    for (text, key, words) in cases {
        let errors = Settings::parse(&text, None).expect_err(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.key == key && e.to_string().contains(words)),
            "expected {key} ({words}):\n{errors}\nfor:\n{text}"
        );
    }
    // With TLS off, the TLS detail keys change nothing (QuickFIX C++'s tradeclient.cfg).
    let plain = Settings::parse(
        &initiator("SSLProtocol=+SSLv3 +TLSv1 -SSLv2\nSSLEnable=N\n"),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(plain.sessions[0].tls.is_none());
}

#[test]
fn load_warns_about_a_certificate_it_cannot_read() {
    let dir = TempDir::new("unreadable");
    let ca = Ca::new("CA");
    let ca_file = dir.write("ca.pem", ca.cert.pem().as_bytes());
    let missing = dir.0.join("missing.pfx");
    let text = acceptor(&format!(
        "SSLEnable=Y\nSSLCertificate={}\nSSLCACertificate={}\nSSLCheckCertificateRevocation=N\n",
        p(&missing),
        p(&ca_file)
    ));
    let file = dir.write("t.cfg", text.as_bytes());
    let loaded = Settings::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let unreadable: Vec<&str> = loaded
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, ConfigWarningKind::UnreadableFile { .. }))
        .map(|w| w.key.as_str())
        .collect();
    assert_eq!(unreadable, ["SSLCertificate"], "{:?}", loaded.warnings);
    // Parsing text alone opens no file.
    assert!(Settings::parse(&text, None).is_ok_and(|s| s.warnings.is_empty()));
}

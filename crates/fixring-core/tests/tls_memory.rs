//! TLS between an in-memory client and server: handshakes, data, and every failure an
//! operator must be told about. Certificates are generated per run with rcgen.

use std::path::PathBuf;

use fixring_core::ErrorCode;
use fixring_core::config::{TlsConfig, TlsMinVersion};
use fixring_core::tls::{
    HandshakeFailure, PemRole, TlsConnection, TlsError, TlsSetup, TlsSetupError, TlsVersion,
    client_config, server_config,
};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};
use rustls::AlertDescription;

const SERVER_NAME: &str = "fix.example.test";
const LOGON: &[u8] = b"8=FIX.4.4\x019=70\x0135=A\x0134=1\x0149=CLIENT\x0152=20260101-00:00:00.000\x0156=SERVER\x0198=0\x01108=30\x0110=123\x01";

/// A certificate authority that issues leaf certificates.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

/// A leaf certificate and its key, as PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("CA certificate");
        Self { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(&self, name: &str) -> Leaf {
        self.issue_with(name, KeyPair::generate().expect("leaf key"))
    }

    fn issue_with(&self, name: &str, key: KeyPair) -> Leaf {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// One side of a connection with its inbox (ciphertext from the peer) and what it received.
struct Endpoint {
    tls: TlsConnection,
    inbox: Vec<u8>,
    received: Vec<u8>,
    handshake_done: bool,
    peer_closed: bool,
    error: Option<TlsError>,
    out_size: usize,
}

impl Endpoint {
    fn new(tls: TlsConnection) -> Self {
        Self {
            tls,
            inbox: Vec::new(),
            received: Vec::new(),
            handshake_done: false,
            peer_closed: false,
            error: None,
            out_size: 16 * 1024 + 512,
        }
    }

    /// Processes the inbox; returns the bytes to send to the peer.
    fn poll(&mut self) -> Vec<u8> {
        let mut out = vec![0u8; self.out_size];
        let mut sent = Vec::new();
        loop {
            let received = &mut self.received;
            match self.tls.process(&mut self.inbox, &mut out, &mut |p| {
                received.extend_from_slice(p)
            }) {
                Ok(progress) => {
                    self.inbox.drain(..progress.consumed);
                    sent.extend_from_slice(&out[..progress.written]);
                    self.handshake_done |= progress.handshake_done;
                    self.peer_closed |= progress.peer_closed;
                    if !self.tls.wants_write() {
                        return sent;
                    }
                }
                Err(failure) => {
                    sent.extend_from_slice(&out[..failure.written]);
                    if self.error.is_none() {
                        self.error = Some(failure.error);
                    }
                    return sent;
                }
            }
        }
    }

    fn seal(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; data.len() + 256];
        let n = self
            .tls
            .encrypt(&mut self.inbox, data, &mut out)
            .expect("encrypt");
        out.truncate(n);
        out
    }

    fn handshake_error(&self) -> Option<HandshakeFailure> {
        match &self.error {
            Some(TlsError::Handshake(failure)) => Some(failure.clone()),
            _ => None,
        }
    }
}

/// Moves bytes both ways until neither side has anything more to say.
fn drive(client: &mut Endpoint, server: &mut Endpoint) {
    for _ in 0..32 {
        let to_server = client.poll();
        server.inbox.extend_from_slice(&to_server);
        let to_client = server.poll();
        client.inbox.extend_from_slice(&to_client);
        if to_server.is_empty() && to_client.is_empty() {
            return;
        }
    }
    panic!("the handshake did not settle");
}

fn pair(server: TlsSetup, client: TlsSetup, name: &str) -> (Endpoint, Endpoint) {
    let server_config = server.server_config().expect("server config");
    let client_config = client.client_config().expect("client config");
    (
        Endpoint::new(TlsConnection::client(client_config, name).expect("client")),
        Endpoint::new(TlsConnection::server(server_config).expect("server")),
    )
}

fn server_setup(leaf: &Leaf, client_ca: Option<&Ca>) -> TlsSetup {
    let ca = client_ca.map(Ca::pem);
    TlsSetup::from_pem(
        Some(leaf.cert.as_bytes()),
        Some(leaf.key.as_bytes()),
        ca.as_deref().map(str::as_bytes),
    )
    .expect("server setup")
}

fn client_setup(trusted: &Ca, leaf: Option<&Leaf>) -> TlsSetup {
    TlsSetup::from_pem(
        leaf.map(|l| l.cert.as_bytes()),
        leaf.map(|l| l.key.as_bytes()),
        Some(trusted.pem().as_bytes()),
    )
    .expect("client setup")
}

fn exchange_data(client: &mut Endpoint, server: &mut Endpoint) {
    // Several records in one read.
    let mut burst = Vec::new();
    for i in 0..3 {
        burst.extend(client.seal(format!("message {i};").as_bytes()));
    }
    server.inbox.extend(burst);
    assert!(server.poll().is_empty());
    assert_eq!(server.received, b"message 0;message 1;message 2;");
    assert!(server.inbox.is_empty());

    // One record split across two reads.
    let record = server.seal(LOGON);
    let (head, tail) = record.split_at(record.len() / 2);
    client.inbox.extend_from_slice(head);
    client.poll();
    assert!(client.received.is_empty());
    assert_eq!(client.inbox.len(), head.len(), "an incomplete record stays");
    // Sending while part of a record is held.
    let reply = client.seal(b"reply");
    server.inbox.extend(reply);
    server.poll();
    assert!(server.received.ends_with(b"reply"));
    client.inbox.extend_from_slice(tail);
    client.poll();
    assert_eq!(client.received, LOGON);
    assert!(client.inbox.is_empty());
}

fn handshake_and_data(version: TlsVersion) {
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let (mut client, mut server) = pair(
        server_setup(&leaf, None),
        client_setup(&ca, None).only_version(version),
        SERVER_NAME,
    );
    assert_eq!(
        client.tls.encrypt(&mut [], b"early", &mut [0u8; 256]),
        Err(TlsError::HandshakeIncomplete)
    );
    drive(&mut client, &mut server);
    assert!(client.handshake_done && server.handshake_done);
    assert!(!client.tls.is_handshaking() && !server.tls.is_handshaking());
    assert_eq!(client.tls.protocol_version(), Some(version));
    assert_eq!(server.tls.protocol_version(), Some(version));
    assert_eq!(client.tls.peer_certificates().map(<[_]>::len), Some(1));
    assert!(server.tls.peer_certificates().is_none());

    exchange_data(&mut client, &mut server);

    let mut out = [0u8; 64];
    let n = client
        .tls
        .close_notify(&mut [], &mut out)
        .expect("close_notify");
    server.inbox.extend_from_slice(&out[..n]);
    server.poll();
    assert!(server.peer_closed);
    assert_eq!(
        client.tls.encrypt(&mut [], b"x", &mut out),
        Err(TlsError::Closed)
    );
}

#[test]
fn tls13_handshake_then_data_both_ways() {
    handshake_and_data(TlsVersion::Tls13);
}

#[test]
fn tls12_handshake_then_data_both_ways() {
    handshake_and_data(TlsVersion::Tls12);
}

#[test]
fn small_output_buffers_hold_back_handshake_records() {
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let (mut client, mut server) = pair(
        server_setup(&leaf, None),
        client_setup(&ca, None),
        SERVER_NAME,
    );
    client.out_size = 100;
    server.out_size = 100;
    drive(&mut client, &mut server);
    assert!(client.handshake_done && server.handshake_done);
    exchange_data(&mut client, &mut server);
}

#[test]
fn handshake_one_byte_at_a_time() {
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let (mut client, mut server) = pair(
        server_setup(&leaf, Some(&ca)),
        client_setup(&ca, Some(&ca.issue("client"))),
        SERVER_NAME,
    );
    let mut to_server = client.poll();
    let mut to_client = Vec::new();
    for _ in 0..100_000 {
        if let Some((&byte, rest)) = to_server.split_first() {
            server.inbox.push(byte);
            to_server = rest.to_vec();
        }
        to_client.extend(server.poll());
        if let Some((&byte, rest)) = to_client.split_first() {
            client.inbox.push(byte);
            to_client = rest.to_vec();
        }
        to_server.extend(client.poll());
        if to_server.is_empty() && to_client.is_empty() {
            break;
        }
    }
    assert!(client.error.is_none() && server.error.is_none());
    assert!(client.handshake_done && server.handshake_done);
    exchange_data(&mut client, &mut server);
}

#[test]
fn encrypt_reports_the_size_it_needs() {
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let (mut client, mut server) = pair(
        server_setup(&leaf, None),
        client_setup(&ca, None),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    let mut small = [0u8; 16];
    let Err(TlsError::InsufficientSize { required }) =
        client.tls.encrypt(&mut [], LOGON, &mut small)
    else {
        panic!("a 16-byte buffer cannot hold a sealed Logon");
    };
    assert!(required > LOGON.len());
    let mut exact = vec![0u8; required];
    let n = client
        .tls
        .encrypt(&mut [], LOGON, &mut exact)
        .expect("encrypt");
    assert_eq!(n, required);
    server.inbox.extend_from_slice(&exact);
    server.poll();
    assert_eq!(server.received, LOGON);
}

#[test]
fn server_signed_by_an_unknown_ca_is_refused() {
    let trusted = Ca::new("trusted");
    let other = Ca::new("other");
    let (mut client, mut server) = pair(
        server_setup(&other.issue(SERVER_NAME), None),
        client_setup(&trusted, None),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    assert_eq!(client.handshake_error(), Some(HandshakeFailure::UnknownCa));
    assert_eq!(
        server.handshake_error(),
        Some(HandshakeFailure::PeerAlert(AlertDescription::UnknownCA))
    );
    let error = client.error.as_ref().expect("client error");
    assert_eq!(error.code(), ErrorCode::SslHandshakeFailed);
    assert!(
        error.to_string().contains("not signed by a trusted CA"),
        "{error}"
    );
    let alert = server.error.as_ref().expect("server error");
    assert!(
        alert.to_string().ends_with("aborted with alert UnknownCA"),
        "{alert}"
    );
}

#[test]
fn mutual_tls_without_a_client_certificate_is_refused() {
    let ca = Ca::new("CA");
    let (mut client, mut server) = pair(
        server_setup(&ca.issue(SERVER_NAME), Some(&ca)),
        client_setup(&ca, None),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    assert_eq!(
        server.handshake_error(),
        Some(HandshakeFailure::NoClientCertificate)
    );
    assert!(!server.handshake_done);
    assert!(client.error.is_some());
}

#[test]
fn mutual_tls_with_a_client_certificate_from_another_ca_is_refused() {
    let ca = Ca::new("CA");
    let rogue = Ca::new("rogue");
    let (mut client, mut server) = pair(
        server_setup(&ca.issue(SERVER_NAME), Some(&ca)),
        client_setup(&ca, Some(&rogue.issue("client"))),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    assert_eq!(server.handshake_error(), Some(HandshakeFailure::UnknownCa));
    assert!(!server.handshake_done);
    // A TLS 1.3 client has finished its side when the server refuses its certificate: the
    // alert arrives as a failure of the established connection.
    let error = client.error.as_ref().expect("client error");
    assert!(error.to_string().contains("UnknownCA"), "{error}");
}

#[test]
fn mutual_tls_with_a_trusted_client_certificate_succeeds() {
    let ca = Ca::new("CA");
    let (mut client, mut server) = pair(
        server_setup(&ca.issue(SERVER_NAME), Some(&ca)),
        client_setup(&ca, Some(&ca.issue("client"))),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    assert!(client.handshake_done && server.handshake_done);
    assert_eq!(server.tls.peer_certificates().map(<[_]>::len), Some(1));
    exchange_data(&mut client, &mut server);
}

#[test]
fn certificate_for_another_name_is_refused() {
    let ca = Ca::new("CA");
    let (mut client, mut server) = pair(
        server_setup(&ca.issue("other.example.test"), None),
        client_setup(&ca, None),
        SERVER_NAME,
    );
    drive(&mut client, &mut server);
    assert_eq!(
        client.handshake_error(),
        Some(HandshakeFailure::BadServerName)
    );
}

#[test]
fn plain_text_logon_on_a_tls_port_is_recognised() {
    let ca = Ca::new("CA");
    let config = server_setup(&ca.issue(SERVER_NAME), None)
        .server_config()
        .expect("server config");
    let mut server = Endpoint::new(TlsConnection::server(config).expect("server"));
    server.inbox.extend_from_slice(LOGON);
    server.poll();
    assert_eq!(server.handshake_error(), Some(HandshakeFailure::NotTls));
    // Later calls keep reporting the failure.
    let error = server
        .tls
        .process(&mut [], &mut [0u8; 64], &mut |_| {})
        .expect_err("failed connection");
    assert_eq!(error.error, TlsError::Handshake(HandshakeFailure::NotTls));
}

#[test]
fn invalid_server_name_is_a_setup_error() {
    let ca = Ca::new("CA");
    let config = client_setup(&ca, None)
        .client_config()
        .expect("client config");
    let error = TlsConnection::client(config, "not a name!").expect_err("refused");
    assert!(matches!(error, TlsSetupError::InvalidServerName { .. }));
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fixring-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn file_loaders_build_working_configs() {
    let dir = TempDir::new("ok");
    let ca = Ca::new("CA");
    let server_leaf = ca.issue(SERVER_NAME);
    let client_leaf = ca.issue("client");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let server_tls = TlsConfig {
        certificate_file: Some(dir.write("server.pem", &server_leaf.cert)),
        private_key_file: Some(dir.write("server.key", &server_leaf.key)),
        ca_file: Some(ca_file.clone()),
        ..TlsConfig::default()
    };
    let client_tls = TlsConfig {
        certificate_file: Some(dir.write("client.pem", &client_leaf.cert)),
        private_key_file: Some(dir.write("client.key", &client_leaf.key)),
        ca_file: Some(ca_file),
        server_name: Some(SERVER_NAME.to_owned()),
        ..TlsConfig::default()
    };
    let server_config = server_config(&server_tls).expect("server config");
    let client_config = client_config(&client_tls).expect("client config");
    let mut client =
        Endpoint::new(TlsConnection::client(client_config, SERVER_NAME).expect("client"));
    let mut server = Endpoint::new(TlsConnection::server(server_config).expect("server"));
    drive(&mut client, &mut server);
    assert!(client.handshake_done && server.handshake_done);
}

#[test]
fn minimum_version_and_system_roots_come_from_the_settings() {
    let dir = TempDir::new("min-version");
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let server_tls = TlsConfig {
        certificate_file: Some(dir.write("server.pem", &leaf.cert)),
        private_key_file: Some(dir.write("server.key", &leaf.key)),
        min_version: TlsMinVersion::Tls13,
        ..TlsConfig::default()
    };
    // A TLS 1.2-only client cannot talk to a server that requires 1.3.
    let client = client_setup(&ca, None).only_version(TlsVersion::Tls12);
    let mut client = Endpoint::new(
        TlsConnection::client(client.client_config().expect("client"), SERVER_NAME)
            .expect("client"),
    );
    let server_config = server_config(&server_tls).expect("server config");
    let mut server = Endpoint::new(TlsConnection::server(server_config).expect("server"));
    drive(&mut client, &mut server);
    assert!(!client.handshake_done && !server.handshake_done);
    assert!(server.error.is_some(), "the server refused TLS 1.2");

    // An initiator needs trust roots: a CA file, or the bundled roots when asked.
    let no_roots = TlsConfig::default();
    assert!(client_config(&no_roots).is_err());
    let system = TlsConfig {
        system_roots: true,
        ..TlsConfig::default()
    };
    assert!(client_config(&system).is_ok());
}

#[test]
fn file_loader_errors_name_the_file() {
    let dir = TempDir::new("errors");
    let ca = Ca::new("CA");
    let leaf = ca.issue(SERVER_NAME);
    let other = ca.issue(SERVER_NAME);
    let cert = dir.write("server.pem", &leaf.cert);
    let key = dir.write("server.key", &leaf.key);

    let missing = dir.0.join("missing.pem");
    let cfg = TlsConfig {
        certificate_file: Some(missing.clone()),
        private_key_file: Some(key.clone()),
        ..TlsConfig::default()
    };
    let error = server_config(&cfg).expect_err("missing file");
    assert!(
        matches!(error, TlsSetupError::Unreadable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
    assert_eq!(error.code(), ErrorCode::ConfigError);

    let cfg = TlsConfig {
        certificate_file: Some(key.clone()),
        private_key_file: Some(key.clone()),
        ..TlsConfig::default()
    };
    let error = server_config(&cfg).expect_err("no certificate");
    assert!(
        matches!(error, TlsSetupError::NoCertificate { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&key.display().to_string()),
        "{error}"
    );

    let cfg = TlsConfig {
        certificate_file: Some(cert.clone()),
        private_key_file: Some(cert.clone()),
        ..TlsConfig::default()
    };
    let error = server_config(&cfg).expect_err("no key");
    assert!(
        matches!(error, TlsSetupError::NoPrivateKey { .. }),
        "{error:?}"
    );

    let wrong_key = dir.write("other.key", &other.key);
    let cfg = TlsConfig {
        certificate_file: Some(cert.clone()),
        private_key_file: Some(wrong_key.clone()),
        ..TlsConfig::default()
    };
    let error = server_config(&cfg).expect_err("mismatch");
    assert!(
        matches!(error, TlsSetupError::KeyMismatch { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&wrong_key.display().to_string()),
        "{error}"
    );

    let cfg = TlsConfig {
        certificate_file: Some(cert.clone()),
        private_key_file: Some(key.clone()),
        ca_file: Some(dir.write("empty-ca.pem", "no PEM here\n")),
        ..TlsConfig::default()
    };
    let error = server_config(&cfg).expect_err("empty CA");
    assert!(
        matches!(error, TlsSetupError::NoCertificate { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("empty-ca.pem"), "{error}");

    let cfg = TlsConfig {
        certificate_file: Some(cert),
        private_key_file: Some(key),
        ..TlsConfig::default()
    };
    let error = client_config(&cfg).expect_err("no roots");
    assert_eq!(
        error,
        TlsSetupError::NotConfigured {
            role: PemRole::CaCertificates
        }
    );
    assert!(error.to_string().contains("no trust roots"), "{error}");
}

/// An RSA key from the `openssl` command: ring, rcgen's backend here, cannot generate RSA
/// keys, only sign with them.
fn openssl_rsa_key() -> Option<KeyPair> {
    let output = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .ok()?;
    let pem = String::from_utf8(output.stdout).ok()?;
    let alg: &'static SignatureAlgorithm = &rcgen::PKCS_RSA_SHA256;
    KeyPair::from_pem_and_sign_algo(&pem, alg).ok()
}

#[test]
fn rsa_certificates_work() {
    let Some(key) = openssl_rsa_key() else {
        eprintln!("skipped: no `openssl` command to generate an RSA key");
        return;
    };
    let ca = Ca::new("CA");
    let leaf = ca.issue_with(SERVER_NAME, key);
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let (mut client, mut server) = pair(
            server_setup(&leaf, None),
            client_setup(&ca, None).only_version(version),
            SERVER_NAME,
        );
        drive(&mut client, &mut server);
        assert!(
            client.handshake_done && server.handshake_done,
            "{version:?}"
        );
        exchange_data(&mut client, &mut server);
    }
}

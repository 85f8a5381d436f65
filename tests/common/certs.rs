//! Test certificates made at test time: a CA, a server certificate for `localhost` and
//! `127.0.0.1`, and a client certificate, all signed by that CA, with RSA or ECDSA keys.
//!
//! QuickFIX C++ 1.15.1 loads only RSA keys, and `rcgen` on `ring` cannot generate RSA keys, so
//! RSA keys come from the `openssl` command line and `rcgen` builds and signs the certificates;
//! ECDSA P-256 keys come from `rcgen` itself. Nothing here is ever committed: everything lives
//! in a test's temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
};

use super::run_bounded;

/// Paths of the PEM files [`rsa_pki`] or [`ecdsa_pki`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct Pki {
    /// The CA certificate, to verify both the server and the client.
    pub(crate) ca_cert: PathBuf,
    /// The server certificate (SANs `localhost` and `127.0.0.1`).
    pub(crate) server_cert: PathBuf,
    /// The server's private key (PKCS#8).
    pub(crate) server_key: PathBuf,
    /// The client certificate.
    pub(crate) client_cert: PathBuf,
    /// The client's private key (PKCS#8).
    pub(crate) client_key: PathBuf,
}

/// Writes a fresh RSA CA, server and client certificate with their keys into `dir`
/// (`ca.pem`, `server.pem`, `server.key`, `client.pem`, `client.key`; `ca.key` too).
///
/// Call it with two directories for two unrelated PKIs (a CA the other side does not trust).
pub(crate) fn rsa_pki(dir: &Path) -> Result<Pki, String> {
    pki(dir, rsa_key)
}

/// [`rsa_pki`] with ECDSA P-256 keys: a signature costs the server tens of microseconds
/// where RSA 2048 costs about a millisecond.
pub(crate) fn ecdsa_pki(dir: &Path) -> Result<Pki, String> {
    pki(dir, ecdsa_key)
}

/// The PKI of [`rsa_pki`], each key made into its file by `key`.
fn pki(dir: &Path, key: fn(&Path) -> Result<KeyPair, String>) -> Result<Pki, String> {
    let ca_key = key(&dir.join("ca.key"))?;
    let server_key = key(&dir.join("server.key"))?;
    let client_key = key(&dir.join("client.key"))?;

    let mut ca = params(Vec::new(), "fixring test CA")?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca
        .self_signed(&ca_key)
        .map_err(|e| format!("self-signing the CA: {e}"))?;

    let mut server = params(vec!["localhost".into(), "127.0.0.1".into()], "localhost")?;
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = leaf(server, &server_key, &ca, &ca_key)?;

    let mut client = params(Vec::new(), "fixring test client")?;
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = leaf(client, &client_key, &ca, &ca_key)?;

    let pki = Pki {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    };
    write(&pki.ca_cert, &ca)?;
    write(&pki.server_cert, &server)?;
    write(&pki.client_cert, &client)?;
    Ok(pki)
}

/// Generates a 2048-bit RSA key into `path` with `openssl` and loads it for signing.
fn rsa_key(path: &Path) -> Result<KeyPair, String> {
    run_bounded(
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .arg("-out")
            .arg(path),
        Duration::from_secs(60),
    )
    .map_err(|e| format!("{e}\n(the `openssl` command line is needed: apt-get install openssl)"))?;
    let pem =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    KeyPair::from_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256)
        .map_err(|e| format!("loading RSA key {}: {e}", path.display()))
}

/// Generates an ECDSA P-256 key into `path` (PKCS#8 PEM).
fn ecdsa_key(path: &Path) -> Result<KeyPair, String> {
    let key = KeyPair::generate().map_err(|e| format!("generating an ECDSA key: {e}"))?;
    std::fs::write(path, key.serialize_pem())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(key)
}

fn params(names: Vec<String>, common_name: &str) -> Result<CertificateParams, String> {
    let mut params =
        CertificateParams::new(names).map_err(|e| format!("certificate names: {e}"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    Ok(params)
}

fn leaf(
    mut params: CertificateParams,
    key: &KeyPair,
    ca: &Certificate,
    ca_key: &KeyPair,
) -> Result<Certificate, String> {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params
        .signed_by(key, ca, ca_key)
        .map_err(|e| format!("signing a certificate: {e}"))
}

fn write(path: &Path, cert: &Certificate) -> Result<(), String> {
    std::fs::write(path, cert.pem()).map_err(|e| format!("writing {}: {e}", path.display()))
}

//! A session's TLS keys in the four dialects: which keys switch TLS on, the certificate and
//! key (PEM pair or PKCS#12), the trust roots, the versions and the verification switches.
//!
//! TLS is switched on only by a key that means "TLS on" in its own dialect: `SocketUseSSL=Y`
//! (QuickFIX/J, quickfixgo), `SSLEnable=Y` (QuickFIX/n), or, without either, a certificate
//! key (QuickFIX C++'s Server/Client certificate keys, quickfixgo's, QuickFIX/n's
//! `SSLCertificate`). With TLS off the detail keys change nothing and are not checked.

use std::path::PathBuf;

use super::error::{ConfigErrorKind, ConfigWarningKind, Report};
use super::keys;
use super::parse::{View, invalid};
use super::session::bool_value;
use super::settings_file::Entry;
use super::{ConnectionType, TlsConfig, TlsMinVersion};
use crate::tls::TlsVersion;

/// The session's TLS settings; `Some(None)` is plain text, `None` an error (in `report`).
pub(super) fn read_tls(
    view: &View<'_, '_>,
    connection_type: ConnectionType,
    report: &mut Report,
) -> Option<Option<TlsConfig>> {
    let errors_before = report.errors.len();
    let (role_cert, role_key) = match connection_type {
        ConnectionType::Acceptor => (keys::SERVER_CERTIFICATE_FILE, keys::SERVER_KEY_FILE),
        ConnectionType::Initiator => (keys::CLIENT_CERTIFICATE_FILE, keys::CLIENT_KEY_FILE),
    };
    let given = |name: &str| view.get(name).filter(|e| !e.value.is_empty());
    let cert = given(keys::CERTIFICATE_FILE).or_else(|| given(role_cert));
    let key = given(keys::PRIVATE_KEY_FILE).or_else(|| given(role_key));
    let pkcs12 = given(keys::SSL_CERTIFICATE);
    let switch = |name: &str, report: &mut Report| {
        let entry = view.get(name)?;
        bool_value(entry, report).map(|on| (entry, on))
    };
    let use_ssl = switch(keys::USE_SSL, report);
    let ssl_enable = switch(keys::SSL_ENABLE, report);
    let switched_on = [use_ssl, ssl_enable]
        .into_iter()
        .flatten()
        .find(|(_, on)| *on)
        .map(|(entry, _)| entry);
    let enabled = match (use_ssl, ssl_enable) {
        (None, None) => cert.is_some() || key.is_some() || pkcs12.is_some(),
        _ => switched_on.is_some(),
    };
    if report.errors.len() != errors_before {
        return None;
    }
    if !enabled {
        return Some(None);
    }
    // QuickFIX/n's words: SSLEnable=Y, or its SSLCertificate alone.
    let dialect_n = ssl_enable.is_some_and(|(_, on)| on)
        || (use_ssl.is_none() && ssl_enable.is_none() && pkcs12.is_some());
    // The key that turned TLS on, for messages about what the session then lacks.
    let (line, switch_key, switch_value) = match switched_on.or(pkcs12).or(cert).or(key) {
        Some(entry) => (entry.line, entry.key, entry.value),
        None => (view.line, "SocketUseSSL", ""),
    };
    let lacks = |report: &mut Report, reason: &str| {
        report.error(
            line,
            switch_key,
            ConfigErrorKind::InvalidValue {
                value: switch_value.to_owned(),
                reason: reason.to_owned(),
            },
        );
    };
    let mut tls = TlsConfig {
        certificate_file: cert.map(|e| PathBuf::from(e.value)),
        private_key_file: key.map(|e| PathBuf::from(e.value)),
        pkcs12_file: pkcs12.map(|e| PathBuf::from(e.value)),
        pkcs12_password: view
            .get(keys::SSL_CERTIFICATE_PASSWORD)
            .map_or_else(String::new, |e| e.value.to_owned()),
        server_name: given(keys::SERVER_NAME).map(|e| e.value.to_owned()),
        ..TlsConfig::default()
    };
    read_identity(cert, key, pkcs12, [role_cert, role_key], report);
    read_versions(view, &mut tls, report);
    refuse_unsupported(view, report);
    let verify = Verify::read(view, connection_type, report);
    let ca = given(keys::CA_FILE)
        .or_else(|| given(keys::AUTHORITIES_FILE))
        .or_else(|| given(keys::SSL_CA_CERTIFICATE));
    tls.ca_file = ca.map(|e| PathBuf::from(e.value));
    tls.system_roots = verify.system_roots.unwrap_or(false);
    match connection_type {
        ConnectionType::Acceptor => {
            if cert.is_none() && key.is_none() && pkcs12.is_none() {
                let reason = if dialect_n {
                    "a TLS acceptor needs its certificate: SSLCertificate (a .pfx with its key)"
                } else {
                    "a TLS acceptor needs its certificate: SocketCertificateFile and \
                     SocketPrivateKeyFile (or ServerCertificateFile and ServerCertificateKeyFile)"
                };
                lacks(report, reason);
            }
            // QuickFIX/n requires client certificates by default; elsewhere a CA asks for them.
            let require = verify
                .require_client_certificate
                .unwrap_or(dialect_n || tls.ca_file.is_some());
            if verify.validate == Some(false) {
                tls.ca_file = None;
            } else if require && tls.ca_file.is_none() {
                lacks(
                    report,
                    "client certificates are required (SSLRequireClientCertificate, \
                     QuickFIX/n's default Y) and need the CA that signs them: set \
                     SSLCACertificate (or SocketCAFile), or SSLRequireClientCertificate=N",
                );
            } else if !require {
                tls.ca_file = None;
            }
        }
        ConnectionType::Initiator => {
            tls.skip_verification = verify.skip;
            let has_roots = tls.ca_file.is_some() || tls.system_roots;
            if !has_roots && !tls.skip_verification {
                if use_ssl.is_some_and(|(_, on)| on) && verify.system_roots.is_none() {
                    // QuickFIX/J trusts Java's default trust store, quickfixgo the host's
                    // roots: fixring's bundled Mozilla roots are that set.
                    tls.system_roots = true;
                } else {
                    let reason = if dialect_n {
                        "a TLS initiator needs the CA that signs the server's certificate: set \
                         SSLCACertificate (QuickFIX/n would use the Windows certificate store, \
                         which fixring cannot read), or TlsSystemRoots=Y for the Mozilla roots \
                         bundled with fixring"
                    } else {
                        "a TLS initiator needs the CA that signs the server's certificate: set \
                         SocketCAFile (or CertificationAuthoritiesFile), or TlsSystemRoots=Y for \
                         the Mozilla roots bundled with fixring"
                    };
                    lacks(report, reason);
                }
            }
        }
    }
    if dialect_n && view.get(keys::SSL_CHECK_REVOCATION).is_none() {
        report.warn(
            line,
            switch_key,
            ConfigWarningKind::Insecure {
                reason: "QuickFIX/n checks certificate revocation by default \
                         (SSLCheckCertificateRevocation=Y); fixring checks no revocation \
                         lists: set SSLCheckCertificateRevocation=N to say so",
            },
        );
    }
    if report.check_files {
        for entry in [cert, key, pkcs12, ca].into_iter().flatten() {
            // Once per line, not once per session that inherits it from [DEFAULT].
            if report.warnings.iter().any(|w| w.line == entry.line) {
                continue;
            }
            if let Err(e) = std::fs::File::open(entry.value) {
                let reason = e.to_string();
                report.warn(
                    entry.line,
                    entry.key,
                    ConfigWarningKind::UnreadableFile { reason },
                );
            }
        }
    }
    if report.errors.len() != errors_before {
        return None;
    }
    Some(Some(tls))
}

/// Our certificate: a PEM pair or a PKCS#12 file, never both, never half a pair.
fn read_identity(
    cert: Option<&Entry<'_>>,
    key: Option<&Entry<'_>>,
    pkcs12: Option<&Entry<'_>>,
    [role_cert, role_key]: [&str; 2],
    report: &mut Report,
) {
    if let Some(pkcs12) = pkcs12
        && (cert.is_some() || key.is_some())
    {
        invalid(
            report,
            pkcs12,
            "a PKCS#12 file holds the certificate and its key: give either SSLCertificate or \
             a certificate and key file pair, not both"
                .to_owned(),
        );
    }
    let partner = |name: &str| match name {
        keys::CERTIFICATE_FILE => "SocketPrivateKeyFile",
        keys::PRIVATE_KEY_FILE => "SocketCertificateFile",
        n if n == role_cert => spelling_of_role(role_key),
        _ => spelling_of_role(role_cert),
    };
    match (cert, key) {
        (Some(cert), None) => invalid(
            report,
            cert,
            format!(
                "a certificate without its private key: set {}",
                partner(&cert.name)
            ),
        ),
        (None, Some(key)) => invalid(
            report,
            key,
            format!(
                "a private key without its certificate: set {} (or, in QuickFIX/n's words, \
                 SSLCertificate: a .pfx holding both)",
                partner(&key.name)
            ),
        ),
        _ => {}
    }
}

/// How QuickFIX C++ spells its certificate keys.
fn spelling_of_role(name: &str) -> &'static str {
    match name {
        keys::SERVER_CERTIFICATE_FILE => "ServerCertificateFile",
        keys::SERVER_KEY_FILE => "ServerCertificateKeyFile",
        keys::CLIENT_CERTIFICATE_FILE => "ClientCertificateFile",
        _ => "ClientCertificateKeyFile",
    }
}

/// TlsMinVersion, SocketMinimumTLSVersion, SSLProtocols and SSLProtocol.
fn read_versions(view: &View<'_, '_>, tls: &mut TlsConfig, report: &mut Report) {
    if let Some(entry) = view.get(keys::TLS_MIN_VERSION) {
        match version(entry.value) {
            Some(Some(TlsVersion::Tls13)) => tls.min_version = TlsMinVersion::Tls13,
            Some(Some(_)) => {}
            _ => invalid(report, entry, "expected 1.2 or 1.3".to_owned()),
        }
    }
    if let Some(entry) = view.get(keys::MINIMUM_TLS_VERSION) {
        match version(entry.value) {
            Some(Some(TlsVersion::Tls13)) => tls.min_version = TlsMinVersion::Tls13,
            Some(Some(_)) => {}
            Some(None) => invalid(report, entry, BELOW_12.to_owned()),
            None => invalid(report, entry, "expected TLS12 or TLS13".to_owned()),
        }
    }
    for name in [keys::SSL_PROTOCOLS, keys::SSL_PROTOCOL] {
        let Some(entry) = view.get(name) else {
            continue;
        };
        match protocols(name, entry.value) {
            Ok([true, true]) => {}
            Ok([true, false]) => tls.only_version = Some(TlsVersion::Tls12),
            Ok([false, true]) => tls.only_version = Some(TlsVersion::Tls13),
            Ok([false, false]) => invalid(report, entry, "no TLS version left".to_owned()),
            Err(reason) => invalid(report, entry, reason),
        }
    }
}

const BELOW_12: &str = "versions below TLS 1.2 are not offered: rustls implements TLS 1.2 \
                        and 1.3 only, the older ones being broken";

/// `Some(Some(v))` for TLS 1.2 or 1.3 in any usual spelling, `Some(None)` for an older
/// version, `None` for something else.
fn version(value: &str) -> Option<Option<TlsVersion>> {
    let v = value
        .trim()
        .to_ascii_lowercase()
        .replace(['_', '.', 'v', ' '], "");
    match v.as_str() {
        "12" | "tls12" => Some(Some(TlsVersion::Tls12)),
        "13" | "tls13" => Some(Some(TlsVersion::Tls13)),
        "ssl2" | "ssl3" | "ssl30" | "tls" | "tls1" | "tls10" | "tls11" | "10" | "11" => Some(None),
        _ => None,
    }
}

/// Which of TLS 1.2 and 1.3 a protocol list allows: QuickFIX/n's SSLProtocols (`Tls12`,
/// `Tls12, Tls13`, `Default`, `None`: the system's choice) or QuickFIX C++'s SSLProtocol
/// (`all`, `+TLSv1.2 -TLSv1.3`).
fn protocols(name: &str, value: &str) -> Result<[bool; 2], String> {
    let mut allowed = [false, false];
    let cpp = name == keys::SSL_PROTOCOL;
    for item in value.split([',', ' ']).filter(|s| !s.is_empty()) {
        let (add, item) = match item.as_bytes().first() {
            Some(b'+') => (true, &item[1..]),
            Some(b'-') if cpp => (false, &item[1..]),
            _ => (true, item),
        };
        if item.eq_ignore_ascii_case("all")
            || item.eq_ignore_ascii_case("default")
            || item.eq_ignore_ascii_case("none")
        {
            allowed = [add, add];
            continue;
        }
        match version(item) {
            Some(Some(TlsVersion::Tls12)) => allowed[0] = add,
            Some(Some(_)) => allowed[1] = add,
            Some(None) if !add => {}
            Some(None) => return Err(format!("{item}: {BELOW_12}")),
            None => return Err(format!("{item:?} is not a TLS version")),
        }
    }
    Ok(allowed)
}

/// The TLS details of other engines fixring does not let a file choose: QuickFIX C++'s
/// cipher suites, verify level, CA directory and revocation lists, QuickFIX/J's Java key
/// stores and SNI and host name switches (refused with TLS on only: with TLS off they change
/// nothing).
fn refuse_unsupported(view: &View<'_, '_>, report: &mut Report) {
    if let Some(entry) = view.get(keys::SSL_CIPHER_SUITE) {
        let reason = "rustls's cipher suites are fixed (all AEAD with forward secrecy) and \
                      cannot be chosen: remove the key";
        invalid(report, entry, reason.to_owned());
    }
    if let Some(entry) = view.get(keys::CERTIFICATE_VERIFY_LEVEL) {
        let reason = "fixring always verifies the peer it is given roots for: a CA file on an \
                      acceptor requires client certificates, an initiator always verifies the \
                      server; remove the key";
        invalid(report, entry, reason.to_owned());
    }
    if let Some(entry) = view.get(keys::SSL_CHECK_REVOCATION)
        && !entry.value.eq_ignore_ascii_case("n")
    {
        let reason = "fixring checks no revocation lists (CRL or OCSP): set N";
        invalid(report, entry, reason.to_owned());
    }
    const JAVA_KEY_STORE: &str = "a Java key store setting; fixring reads PEM files: export \
                                  the store's certificate and key to SocketCertificateFile and \
                                  SocketPrivateKeyFile, its trusted certificates to SocketCAFile";
    let refused = [
        (keys::KEY_STORE, JAVA_KEY_STORE),
        (keys::KEY_STORE_PASSWORD, JAVA_KEY_STORE),
        (keys::KEY_MANAGER_ALGORITHM, JAVA_KEY_STORE),
        (keys::KEY_STORE_TYPE, JAVA_KEY_STORE),
        (keys::TRUST_STORE, JAVA_KEY_STORE),
        (keys::TRUST_STORE_PASSWORD, JAVA_KEY_STORE),
        (keys::TRUST_MANAGER_ALGORITHM, JAVA_KEY_STORE),
        (keys::TRUST_STORE_TYPE, JAVA_KEY_STORE),
        (
            keys::AUTHORITIES_DIRECTORY,
            "fixring reads the CA certificates from one PEM file: put them in \
             CertificationAuthoritiesFile",
        ),
        (
            keys::REVOCATION_LIST_FILE,
            "fixring checks no revocation lists (CRL or OCSP)",
        ),
        (
            keys::REVOCATION_LIST_DIRECTORY,
            "fixring checks no revocation lists (CRL or OCSP)",
        ),
    ];
    for (name, reason) in refused {
        if let Some(entry) = view.get(name) {
            report.error(
                entry.line,
                entry.key,
                ConfigErrorKind::Unsupported { reason },
            );
        }
    }
    if let Some(entry) = view.get(keys::USE_SNI)
        && !entry.value.eq_ignore_ascii_case("y")
    {
        let reason = "fixring always sends the server's name (SNI): SocketServerName, else \
                      the connect host; set Y";
        invalid(report, entry, reason.to_owned());
    }
    if let Some(entry) = view.get(keys::ENDPOINT_IDENTIFICATION)
        && !entry.value.eq_ignore_ascii_case("https")
    {
        let reason = "fixring always checks that the server's certificate names the host, as \
                      HTTPS does: set HTTPS (SocketInsecureSkipVerify=Y turns every check off)";
        invalid(report, entry, reason.to_owned());
    }
}

/// The verification switches of the dialects.
struct Verify {
    /// SSLValidateCertificates (QuickFIX/n).
    validate: Option<bool>,
    /// SocketInsecureSkipVerify=Y or SSLValidateCertificates=N on an initiator.
    skip: bool,
    /// SSLRequireClientCertificate (QuickFIX/n, an acceptor's key).
    require_client_certificate: Option<bool>,
    /// TlsSystemRoots, when written.
    system_roots: Option<bool>,
}

impl Verify {
    fn read(view: &View<'_, '_>, connection_type: ConnectionType, report: &mut Report) -> Self {
        let mut flag = |name: &str| view.get(name).and_then(|e| bool_value(e, report));
        let validate = flag(keys::SSL_VALIDATE_CERTIFICATES);
        let insecure = flag(keys::INSECURE_SKIP_VERIFY);
        let require_client_certificate = flag(keys::SSL_REQUIRE_CLIENT_CERTIFICATE);
        let system_roots = flag(keys::TLS_SYSTEM_ROOTS);
        let off = [
            (keys::INSECURE_SKIP_VERIFY, insecure == Some(true)),
            (keys::SSL_VALIDATE_CERTIFICATES, validate == Some(false)),
        ];
        let mut skip = false;
        for (name, is_off) in off {
            let Some(entry) = view.get(name).filter(|_| is_off) else {
                continue;
            };
            let reason = match connection_type {
                ConnectionType::Initiator => {
                    "the server's certificate and name are NOT verified: anyone on the path \
                     can pose as the server and read and change every message"
                }
                // quickfixgo's InsecureSkipVerify only concerns a client, as in Go.
                ConnectionType::Acceptor if name == keys::INSECURE_SKIP_VERIFY => continue,
                ConnectionType::Acceptor => {
                    "client certificates are NOT asked for nor verified: any client may connect"
                }
            };
            skip = true;
            report.warn(
                entry.line,
                entry.key,
                ConfigWarningKind::Insecure { reason },
            );
        }
        Self {
            validate,
            skip,
            require_client_certificate,
            system_roots,
        }
    }
}

//! Certificates, keys and trust roots, loaded from PEM and turned into rustls configurations.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsVersion;
use crate::ErrorCode;
use crate::config::{TlsConfig, TlsMinVersion};

/// The acceptor's configuration for `cfg`: certificate and key are required; a CA file
/// turns on mutual TLS (client certificates required and verified against it).
pub fn server_config(cfg: &TlsConfig) -> Result<Arc<ServerConfig>, TlsSetupError> {
    TlsSetup::from_config(cfg)?.server_config()
}

/// The initiator's configuration for `cfg`: the server's chain is verified against the CA
/// file (required), and a client certificate is presented when certificate and key are given.
pub fn client_config(cfg: &TlsConfig) -> Result<Arc<ClientConfig>, TlsSetupError> {
    TlsSetup::from_config(cfg)?.client_config()
}

/// Parsed TLS material of one endpoint: our chain and key, the CA roots, the versions allowed.
///
/// Built from files ([`TlsSetup::from_config`]) or from PEM in memory
/// ([`TlsSetup::from_pem`]); the key is checked against the certificate when loaded.
#[derive(Debug)]
pub struct TlsSetup {
    identity: Option<Identity>,
    roots: Option<Roots>,
    version: Option<TlsVersion>,
    /// Whether a client also trusts the bundled Mozilla roots.
    system_roots: bool,
    /// Whether a client skips verifying the server (SocketInsecureSkipVerify).
    skip_verification: bool,
}

/// Our certificate chain and the private key matching its first certificate.
#[derive(Debug)]
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    source: PemSource,
}

/// CA certificates, and where they came from for error messages.
#[derive(Debug)]
struct Roots {
    store: Arc<RootCertStore>,
    source: PemSource,
}

impl TlsSetup {
    /// Reads the PEM files named in `cfg`.
    ///
    /// A certificate file without a key file (or the reverse) is an error.
    pub fn from_config(cfg: &TlsConfig) -> Result<Self, TlsSetupError> {
        let cert = read_optional(cfg.certificate_file.as_deref(), PemRole::Certificate)?;
        let key = read_optional(cfg.private_key_file.as_deref(), PemRole::PrivateKey)?;
        let ca = read_optional(cfg.ca_file.as_deref(), PemRole::CaCertificates)?;
        let mut setup = Self::build(borrowed(&cert), borrowed(&key), borrowed(&ca))?;
        if let Some((bytes, source)) = read_optional(cfg.pkcs12_file.as_deref(), PemRole::Pkcs12)? {
            setup.identity = Some(Identity::from_pkcs12(&bytes, &cfg.pkcs12_password, source)?);
        }
        setup.version = cfg.only_version;
        if cfg.min_version == TlsMinVersion::Tls13 {
            setup.version = Some(TlsVersion::Tls13);
        }
        setup.system_roots = cfg.system_roots;
        setup.skip_verification = cfg.skip_verification;
        Ok(setup)
    }

    /// Parses PEM held in memory: our chain, its private key, and CA certificates.
    pub fn from_pem(
        cert_pem: Option<&[u8]>,
        key_pem: Option<&[u8]>,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, TlsSetupError> {
        Self::build(
            memory(cert_pem, PemRole::Certificate),
            memory(key_pem, PemRole::PrivateKey),
            memory(ca_pem, PemRole::CaCertificates),
        )
    }

    /// Allows only `version` instead of TLS 1.2 and 1.3.
    pub fn only_version(mut self, version: TlsVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// The acceptor's configuration: our chain and key (required); with CA certificates,
    /// clients must present a certificate that chains to them.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsSetupError> {
        let identity = self.identity.as_ref().ok_or(TlsSetupError::NotConfigured {
            role: PemRole::Certificate,
        })?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(self.versions())
            .map_err(TlsSetupError::Rejected)?;
        let builder = match &self.roots {
            Some(roots) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::clone(&roots.store),
                    provider(),
                )
                .build()
                .map_err(|e| TlsSetupError::BadCa {
                    source: roots.source.clone(),
                    reason: e.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|e| identity.key_error(&e))?;
        Ok(Arc::new(config))
    }

    /// The initiator's configuration: the server's chain is verified against the CA
    /// certificates (required) and its name always checked; our chain and key, when given,
    /// answer a request for a client certificate.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsSetupError> {
        if self.skip_verification {
            let builder = ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(self.versions())
                .map_err(TlsSetupError::Rejected)?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(super::insecure::NoVerification(
                    provider(),
                )));
            let config = match &self.identity {
                Some(identity) => builder
                    .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                    .map_err(|e| identity.key_error(&e))?,
                None => builder.with_no_client_auth(),
            };
            return Ok(Arc::new(config));
        }
        let store = match (&self.roots, self.system_roots) {
            (Some(roots), false) => Arc::clone(&roots.store),
            (roots, true) => {
                let mut store = roots
                    .as_ref()
                    .map_or_else(RootCertStore::empty, |r| (*r.store).clone());
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                Arc::new(store)
            }
            (None, false) => {
                return Err(TlsSetupError::NotConfigured {
                    role: PemRole::CaCertificates,
                });
            }
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(self.versions())
            .map_err(TlsSetupError::Rejected)?
            .with_root_certificates(store);
        let config = match &self.identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|e| identity.key_error(&e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    fn build(
        cert: Option<(&[u8], PemSource)>,
        key: Option<(&[u8], PemSource)>,
        ca: Option<(&[u8], PemSource)>,
    ) -> Result<Self, TlsSetupError> {
        let identity = match (cert, key) {
            (Some((cert, cert_source)), Some((key, key_source))) => {
                Some(Identity::parse(cert, cert_source, key, key_source)?)
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(TlsSetupError::NotConfigured {
                    role: PemRole::PrivateKey,
                });
            }
            (None, Some(_)) => {
                return Err(TlsSetupError::NotConfigured {
                    role: PemRole::Certificate,
                });
            }
        };
        let roots = ca
            .map(|(pem, source)| Roots::parse(pem, source))
            .transpose()?;
        Ok(Self {
            identity,
            roots,
            version: None,
            system_roots: false,
            skip_verification: false,
        })
    }

    fn versions(&self) -> &'static [&'static SupportedProtocolVersion] {
        static TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
        static TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match self.version {
            Some(TlsVersion::Tls12) => TLS12,
            Some(TlsVersion::Tls13) => TLS13,
            None => rustls::DEFAULT_VERSIONS,
        }
    }
}

impl Identity {
    fn parse(
        cert_pem: &[u8],
        cert_source: PemSource,
        key_pem: &[u8],
        key_source: PemSource,
    ) -> Result<Self, TlsSetupError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError::Malformed {
                source: cert_source.clone(),
                reason: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsSetupError::NoCertificate {
                source: cert_source,
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => TlsSetupError::NoPrivateKey {
                source: key_source.clone(),
            },
            other => TlsSetupError::Malformed {
                source: key_source.clone(),
                reason: other.to_string(),
            },
        })?;
        Self {
            chain,
            key,
            source: key_source,
        }
        .checked()
    }

    /// The identity, once the key is known to match the chain's certificate.
    fn checked(self) -> Result<Self, TlsSetupError> {
        CertifiedKey::from_der(self.chain.clone(), self.key.clone_key(), &provider())
            .map_err(|e| self.key_error(&e))?;
        Ok(self)
    }

    /// Our chain and key from a PKCS#12 file (QuickFIX/n's SSLCertificate), read with
    /// `p12-keystore`: its first private key and the certificates that go with it.
    fn from_pkcs12(bytes: &[u8], password: &str, source: PemSource) -> Result<Self, TlsSetupError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| TlsSetupError::Malformed {
            source: source.clone(),
            reason: format!("{e} (is SSLCertificatePassword right?)"),
        })?;
        let Some((_, chain)) = store.private_key_chain() else {
            return Err(TlsSetupError::NoPrivateKey { source });
        };
        let certs: Vec<CertificateDer<'static>> = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if certs.is_empty() {
            return Err(TlsSetupError::NoCertificate { source });
        }
        let key = PrivateKeyDer::Pkcs8(chain.key().as_der().to_vec().into());
        Self {
            chain: certs,
            key,
            source,
        }
        .checked()
    }

    /// Names the key file in a rustls error about the key or its match with the certificate.
    fn key_error(&self, error: &rustls::Error) -> TlsSetupError {
        match error {
            rustls::Error::InconsistentKeys(_) => TlsSetupError::KeyMismatch {
                source: self.source.clone(),
            },
            other => TlsSetupError::UnsupportedKey {
                source: self.source.clone(),
                reason: other.to_string(),
            },
        }
    }
}

impl Roots {
    fn parse(pem: &[u8], source: PemSource) -> Result<Self, TlsSetupError> {
        let mut store = RootCertStore::empty();
        // QuickFIX/n's SSLCACertificate is often a DER `.cer`: one certificate, no PEM armour.
        if pem.first() == Some(&0x30) {
            store
                .add(CertificateDer::from(pem.to_vec()))
                .map_err(|e| TlsSetupError::BadCa {
                    source: source.clone(),
                    reason: e.to_string(),
                })?;
            return Ok(Self {
                store: Arc::new(store),
                source,
            });
        }
        let mut found = false;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsSetupError::Malformed {
                source: source.clone(),
                reason: e.to_string(),
            })?;
            store.add(cert).map_err(|e| TlsSetupError::BadCa {
                source: source.clone(),
                reason: e.to_string(),
            })?;
            found = true;
        }
        if !found {
            return Err(TlsSetupError::NoCertificate { source });
        }
        Ok(Self {
            store: Arc::new(store),
            source,
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn borrowed(input: &Option<(Vec<u8>, PemSource)>) -> Option<(&[u8], PemSource)> {
    input
        .as_ref()
        .map(|(bytes, source)| (bytes.as_slice(), source.clone()))
}

fn memory(pem: Option<&[u8]>, role: PemRole) -> Option<(&[u8], PemSource)> {
    pem.map(|bytes| (bytes, PemSource { role, path: None }))
}

fn read_optional(
    path: Option<&Path>,
    role: PemRole,
) -> Result<Option<(Vec<u8>, PemSource)>, TlsSetupError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let source = PemSource {
        role,
        path: Some(path.to_path_buf()),
    };
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some((bytes, source))),
        Err(e) => Err(TlsSetupError::Unreadable {
            source,
            reason: e.to_string(),
        }),
    }
}

/// What a PEM input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemRole {
    /// Our certificate chain (CertificateFile).
    Certificate,
    /// The private key of our certificate (PrivateKeyFile).
    PrivateKey,
    /// CA certificates (CAFile), PEM or one DER certificate.
    CaCertificates,
    /// Our chain and key in one PKCS#12 file (QuickFIX/n's SSLCertificate).
    Pkcs12,
}

impl fmt::Display for PemRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate",
            Self::PrivateKey => "private key",
            Self::CaCertificates => "CA certificates",
            Self::Pkcs12 => "PKCS#12",
        })
    }
}

/// Where a piece of TLS material came from: a file, or memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemSource {
    /// What the input was supposed to hold.
    pub role: PemRole,
    /// The file it was read from; `None` for PEM passed in memory.
    pub path: Option<PathBuf>,
}

impl fmt::Display for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} file {}", self.role, path.display()),
            None => write!(f, "in-memory {}", self.role),
        }
    }
}

/// Why TLS material could not be loaded or turned into a configuration.
///
/// Not `Eq`: it keeps rustls's own error, which is only `PartialEq`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The file could not be read (missing, not permitted, …).
    Unreadable {
        /// The file.
        source: PemSource,
        /// The operating system's reason.
        reason: String,
    },
    /// The input is not valid PEM.
    Malformed {
        /// The input.
        source: PemSource,
        /// What is wrong with it.
        reason: String,
    },
    /// The input holds no `CERTIFICATE` section.
    NoCertificate {
        /// The input.
        source: PemSource,
    },
    /// The input holds no private key section (PKCS#8, PKCS#1 or SEC1).
    NoPrivateKey {
        /// The input.
        source: PemSource,
    },
    /// The private key is not the key of the certificate it was given with.
    KeyMismatch {
        /// The key input.
        source: PemSource,
    },
    /// The private key's algorithm is not supported.
    UnsupportedKey {
        /// The key input.
        source: PemSource,
        /// rustls's reason.
        reason: String,
    },
    /// A CA certificate cannot serve as a trust anchor.
    BadCa {
        /// The CA input.
        source: PemSource,
        /// Why it was refused.
        reason: String,
    },
    /// A required input was not configured: the certificate or key of an acceptor (or the
    /// half of a pair given alone), or the CA certificates of an initiator, which has no
    /// other trust roots.
    NotConfigured {
        /// What is missing.
        role: PemRole,
    },
    /// The server name to verify is neither a DNS name nor an IP address.
    InvalidServerName {
        /// The name as configured.
        name: String,
    },
    /// rustls refused the configuration for another reason, with its error.
    Rejected(rustls::Error),
}

impl TlsSetupError {
    /// The engine's code for this failure: always [`ErrorCode::ConfigError`].
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::ConfigError
    }
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { source, reason } => write!(f, "cannot read {source}: {reason}"),
            Self::Malformed { source, reason } => write!(f, "{source} is not valid PEM: {reason}"),
            Self::NoCertificate { source } => write!(f, "{source} contains no certificate"),
            Self::NoPrivateKey { source } => write!(f, "{source} contains no private key"),
            Self::KeyMismatch { source } => {
                write!(f, "{source} does not match the certificate")
            }
            Self::UnsupportedKey { source, reason } => {
                write!(f, "{source} is not a usable key: {reason}")
            }
            Self::BadCa { source, reason } => {
                write!(f, "{source} cannot be used as trust roots: {reason}")
            }
            Self::NotConfigured {
                role: PemRole::CaCertificates,
            } => f.write_str("no trust roots were configured: set a CA file"),
            Self::NotConfigured { role } => write!(f, "no {role} file was configured"),
            Self::InvalidServerName { name } => {
                write!(
                    f,
                    "server name {name:?} is neither a DNS name nor an IP address"
                )
            }
            Self::Rejected(error) => write!(f, "TLS configuration refused: {error}"),
        }
    }
}

impl std::error::Error for TlsSetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected(error) => Some(error),
            _ => None,
        }
    }
}

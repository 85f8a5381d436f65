//! Certificates for the TLS scenarios, made at run time and removed afterwards.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use super::BenchError;

/// A CA and a server certificate for 127.0.0.1, as PEM files in a private temporary
/// directory that is removed on drop.
#[derive(Debug)]
pub(super) struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// Makes a fresh ECDSA P-256 CA and a server certificate it signs.
    pub(super) fn create() -> Result<Self, BenchError> {
        let failed =
            |e: rcgen::Error| BenchError::Protocol(format!("making test certificates: {e}"));
        let ca_key = KeyPair::generate().map_err(failed)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.distinguished_name
            .push(DnType::CommonName, "fixring bench CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
        let key = KeyPair::generate().map_err(failed)?;
        let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned()]).map_err(failed)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let server_cert = server.signed_by(&key, &ca_cert, &ca_key).map_err(failed)?;

        let dir = std::env::temp_dir().join(format!("fixring-bench-tls-{}", std::process::id()));
        let files = Self { dir };
        let write = |name: &str, pem: String| {
            std::fs::write(files.dir.join(name), pem).map_err(|source| BenchError::Io {
                what: format!("writing {}", files.dir.join(name).display()),
                source,
            })
        };
        std::fs::create_dir_all(&files.dir).map_err(|source| BenchError::Io {
            what: format!("creating {}", files.dir.display()),
            source,
        })?;
        write("ca.pem", ca_cert.pem())?;
        write("server.pem", server_cert.pem())?;
        write("server.key", key.serialize_pem())?;
        Ok(files)
    }

    /// Settings lines of a TLS acceptor.
    pub(super) fn acceptor_keys(&self) -> String {
        format!(
            "SocketUseSSL=Y\nSocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
            self.path("server.pem").display(),
            self.path("server.key").display()
        )
    }

    /// Settings lines of a TLS initiator that trusts the CA.
    pub(super) fn initiator_keys(&self) -> String {
        format!(
            "SocketUseSSL=Y\nSocketCAFile={}\n",
            self.path("ca.pem").display()
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        Path::new(&self.dir).join(name)
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! The listener's optional TLS: a PEM certificate chain and private key loaded once at
//! start into a rustls server configuration (ring provider, TLS 1.2 and 1.3 with rustls'
//! default cipher suites, ALPN `http/1.1`). Errors name the file and what is wrong with it;
//! they never quote a file's content.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Largest certificate or key file read (a long chain is a few tens of KiB).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why the listener's certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {path}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the TLS {what} {path} is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge { what: &'static str, path: PathBuf },
    #[error("the TLS {what} {path} is not valid PEM: {why}")]
    BadPem {
        what: &'static str,
        path: PathBuf,
        why: &'static str,
    },
    #[error("the TLS certificate {0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate(PathBuf),
    #[error("the TLS private key {0} holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)")]
    NoKey(PathBuf),
    #[error("the TLS certificate {path} cannot be used: {why}")]
    BadCertificate { path: PathBuf, why: String },
    #[error("the TLS private key {path} cannot be used: {why}")]
    BadKey { path: PathBuf, why: String },
    #[error("the TLS private key {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("the TLS certificate {cert} with the key {key} cannot be used: {why}")]
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        why: String,
    },
}

/// A loaded certificate and key, ready to accept TLS connections. Cheap to clone; its
/// `Debug` shows no key material.
#[derive(Clone)]
pub struct ServerTls(Arc<ServerConfig>);

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerTls(..)")
    }
}

impl ServerTls {
    /// Loads `cert` (a PEM certificate chain, the server's own certificate first) and `key`
    /// (a PEM private key: PKCS#8, PKCS#1 RSA or SEC1 EC) and checks that they match.
    ///
    /// # Errors
    /// A file cannot be read or holds over 1 MiB, is not PEM or holds no item of its kind, the
    /// key is of an unsupported kind, or the key is not the certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        const CERT: &str = "certificate";
        const KEY: &str = "private key";
        let cert_pem = read(CERT, cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_pem(CERT, cert, &e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert.to_path_buf()));
        }
        let key_pem = read(KEY, key)?;
        let private = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(k) => k,
            Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey(key.to_path_buf())),
            Err(e) => return Err(bad_pem(KEY, key, &e)),
        };
        drop(key_pem);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // The key alone first, so an unsupported key is told apart from a mismatch.
        if let Err(e) = provider.key_provider.load_private_key(private.clone_key()) {
            return Err(TlsError::BadKey {
                path: key.to_path_buf(),
                why: e.to_string(),
            });
        }
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| rejected(cert, key, e))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    TlsError::Mismatch {
                        cert: cert.to_path_buf(),
                        key: key.to_path_buf(),
                    }
                }
                rustls::Error::InvalidCertificate(why) => TlsError::BadCertificate {
                    path: cert.to_path_buf(),
                    why: format!("its first certificate is not valid X.509 ({why:?})"),
                },
                e => rejected(cert, key, e),
            })?;
        // Only HTTP/1.1 is served; a client offering ALPN gets it named.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls(Arc::new(config)))
    }

    /// The acceptor for one listener.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.0.clone())
    }
}

/// The file's bytes, at most [`MAX_PEM_BYTES`] of them (a device or a pipe named by
/// mistake is not read without end).
fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let io = |source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// A PEM syntax error, described without the offending line (it may be key material).
fn bad_pem(what: &'static str, path: &Path, e: &pem::Error) -> TlsError {
    let why = match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no -----END line",
        pem::Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        pem::Error::NoItemsFound => "nothing found",
        _ => "unreadable",
    };
    TlsError::BadPem {
        what,
        path: path.to_path_buf(),
        why,
    }
}

fn rejected(cert: &Path, key: &Path, e: rustls::Error) -> TlsError {
    TlsError::Rejected {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        why: e.to_string(),
    }
}

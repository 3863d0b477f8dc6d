//! The HTTPS listener's TLS settings: the certificate and key read from PEM files, and the one
//! `rustls::ServerConfig` every connection of every reactor thread shares.
//!
//! The policy is fixed, not configurable: TLS 1.3 and 1.2 only, the `ring` provider's cipher
//! suites (all AEAD with forward secrecy: AES-GCM and ChaCha20-Poly1305 over ECDHE), ALPN
//! `http/1.1`, session tickets (a rotating `Ticketer`) and a server-side session cache for
//! resumption, and no early data.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use rustls::ServerConfig;

/// Sessions the server-side cache remembers for resumption by session ID (TLS 1.2) or
/// stateful ticket; beyond this the oldest are forgotten. About 100 bytes each.
pub const SESSION_CACHE_ENTRIES: usize = 16 * 1024;

/// The only application protocol offered.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A certificate or key that could not be used, naming the file and the form expected.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The file could not be read.
    #[error("cannot read --{flag} {path}")]
    Unreadable {
        /// `tls-cert` or `tls-key`.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The certificate file holds no certificate.
    #[error(
        "--tls-cert {path} holds no certificate: expected PEM with one or more \
         \"-----BEGIN CERTIFICATE-----\" blocks (the server's certificate first)"
    )]
    NoCertificate {
        /// The file named.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error(
        "--tls-key {path} holds no private key: expected a PEM \"-----BEGIN PRIVATE KEY-----\" \
         (PKCS#8), \"-----BEGIN EC PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\" block"
    )]
    NoKey {
        /// The file named.
        path: PathBuf,
    },
    /// The PEM text itself is malformed.
    #[error("--{flag} {path} is not valid PEM")]
    BadPem {
        /// `tls-cert` or `tls-key`.
        flag: &'static str,
        /// The file named.
        path: PathBuf,
        /// What the PEM parser said.
        #[source]
        source: io::Error,
    },
    /// rustls refused the pair: an unsupported key, or a key that does not belong to the
    /// certificate.
    #[error("--tls-key {key} cannot serve --tls-cert {cert}: {reason}")]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
}

/// Where the certificate and key are read from, to read them again on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tls-cert`.
    pub cert: PathBuf,
    /// `--tls-key`.
    pub key: PathBuf,
}

/// Reads the files again and builds a configuration that keeps `current`'s ticketer and
/// session cache, so sessions resumed across the reload still resume. Connections already
/// open keep the configuration they started with.
pub fn reload(
    current: &ServerConfig,
    files: &TlsFiles,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = read_certificates(&files.cert)?;
    let private_key = read_private_key(&files.key)?;
    build_with(
        chain,
        private_key,
        current.session_storage.clone(),
        current.ticketer.clone(),
    )
    .map_err(|e| TlsConfigError::Refused {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: refusal_reason(&e),
    })
}

/// Reads `cert` and `key` (PEM) and builds the shared server configuration.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = read_certificates(cert)?;
    let private_key = read_private_key(key)?;
    build(chain, private_key).map_err(|e| TlsConfigError::Refused {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: refusal_reason(&e),
    })
}

/// The server configuration for `chain` and `key`, with a fresh ticketer and session cache.
pub fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let storage: Arc<dyn StoresServerSessions> =
        ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    build_with(chain, key, storage, rustls::crypto::ring::Ticketer::new()?)
}

fn build_with(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    session_storage: Arc<dyn StoresServerSessions>,
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    config.session_storage = session_storage;
    config.ticketer = ticketer;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// The `ring` provider: the workspace builds rustls on `ring` (no cmake, no C toolchain beyond
/// `cc`). rustls marks it deprecated because it lacks post-quantum hybrid key exchange
/// (X25519MLKEM768); its classical groups (X25519, P-256, P-384) are what Debian's OpenSSL 3.0
/// offers nginx too.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_pem(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    fs::read(path).map_err(|source| TlsConfigError::Unreadable {
        flag,
        path: path.to_owned(),
        source,
    })
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = read_pem("tls-cert", path)?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsConfigError::BadPem {
            flag: "tls-cert",
            path: path.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let pem = read_pem("tls-key", path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsConfigError::BadPem {
            flag: "tls-key",
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsConfigError::NoKey {
            path: path.to_owned(),
        })
}

/// Says in words why rustls refused a certificate and key.
fn refusal_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(_) => {
            "the private key does not belong to the certificate (its public key differs)".into()
        }
        other => {
            format!("{other} (expected an ECDSA, Ed25519 or RSA key matching the certificate)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reactor_testkit::tls::TestCert;

    #[test]
    fn a_generated_pair_loads() {
        let cert = TestCert::generate("config-ok");
        let config = load(&cert.cert_path, &cert.key_path).expect("loads");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(config.ticketer.enabled());
    }

    #[test]
    fn a_missing_file_is_named() {
        let cert = TestCert::generate("config-missing");
        let missing = cert.cert_path.with_file_name("nope.pem");
        let err = load(&missing, &cert.key_path).expect_err("missing");
        let text = err.to_string();
        assert!(
            text.contains("--tls-cert") && text.contains("nope.pem"),
            "{text}"
        );
    }

    #[test]
    fn swapped_files_say_what_form_was_expected() {
        let cert = TestCert::generate("config-swapped");
        let err = load(&cert.key_path, &cert.key_path).expect_err("a key is no certificate");
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
        let err = load(&cert.cert_path, &cert.cert_path).expect_err("a cert is no key");
        assert!(err.to_string().contains("BEGIN PRIVATE KEY"), "{err}");
    }

    #[test]
    fn a_reload_reads_the_new_pair_and_keeps_the_ticketer() {
        let cert = TestCert::generate("config-reload");
        let first = load(&cert.cert_path, &cert.key_path).expect("loads");
        let files = TlsFiles {
            cert: cert.cert_path.clone(),
            key: cert.key_path.clone(),
        };
        let fresh = TestCert::generate_in(&cert.cert_path.with_file_name("next"));
        std::fs::copy(&fresh.cert_path, &files.cert).expect("replace cert");
        std::fs::copy(&fresh.key_path, &files.key).expect("replace key");
        let second = reload(&first, &files).expect("reloads");
        assert!(Arc::ptr_eq(&first.ticketer, &second.ticketer));
        std::fs::write(&files.key, "not a key").expect("break key");
        assert!(reload(&second, &files).is_err(), "a broken pair is refused");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let one = TestCert::generate("config-one");
        let other = TestCert::generate("config-other");
        let err = load(&one.cert_path, &other.key_path).expect_err("mismatch");
        assert!(err.to_string().contains("does not belong"), "{err}");
    }
}

//! The TLS server configuration of the designs that serve https: the `--https`, `--tls-cert`
//! and `--tls-key` flags and a rustls [`ServerConfig`] built from them, the same for every
//! design that uses it.
//!
//! What it configures, and why:
//! - **Versions**: TLS 1.3 and 1.2 only (rustls offers nothing older).
//! - **ALPN**: `http/1.1`, the one protocol the HTTP session speaks.
//! - **Key exchange**: X25519 first, then P-256, then P-384. rustls' ring provider lists P-384
//!   first, whose key share ring computes several times slower. rustls picks the first group
//!   of the client's list that it supports, so the order is the server's stated preference;
//!   it is set anyway, so that no client or selection rule following it lands on P-384.
//! - **Resumption**: TLS 1.3 tickets and TLS 1.2 tickets from a rotating ticketer, and an
//!   in-memory session cache for TLS 1.2 session IDs, as nginx's `ssl_session_tickets on` and
//!   `ssl_session_cache` give.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerSessionMemoryCache;
use rustls::ServerConfig;

/// TLS 1.2 session IDs kept for resumption (nginx's `shared:SSL:10m` holds about 40,000).
const SESSION_CACHE_ENTRIES: usize = 32 * 1024;

/// The https flags: a listener address and the certificate and key it presents.
#[derive(Debug, Clone, Args)]
pub struct TlsListen {
    /// Serve HTTP/1.1 hello over TLS on this address (port 0 picks a free port); needs
    /// --tls-cert and --tls-key.
    #[arg(long, value_name = "ADDR", requires_all = ["tls_cert", "tls_key"])]
    pub https: Option<SocketAddr>,
    /// https: the certificate chain, PEM (the server's certificate first).
    #[arg(long, value_name = "PEM", requires = "https")]
    pub tls_cert: Option<PathBuf>,
    /// https: the certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "https")]
    pub tls_key: Option<PathBuf>,
}

impl TlsListen {
    /// The address and server configuration, when `--https` was given.
    pub fn config(&self) -> anyhow::Result<Option<(SocketAddr, Arc<ServerConfig>)>> {
        let (Some(addr), Some(cert), Some(key)) = (self.https, &self.tls_cert, &self.tls_key)
        else {
            return Ok(None);
        };
        Ok(Some((addr, server_config(cert, key)?)))
    }
}

/// A server configuration presenting the certificate chain in `cert` with the key in `key`.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_chain(cert)?;
    let key = read_key(key)?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| format!("the key in {} does not fit its certificate", cert.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    config.ticketer = ring::Ticketer::new().context("making the session ticketer")?;
    Ok(Arc::new(config))
}

/// rustls' ring provider with X25519 first among the key exchange groups (see the module
/// documentation). rustls marks the provider deprecated because ring has no post-quantum key
/// exchange; neither the clients nor the peers measured here offer one.
#[allow(deprecated)]
pub fn ring_provider() -> CryptoProvider {
    use ring::kx_group::{SECP256R1, SECP384R1, X25519};
    CryptoProvider {
        kx_groups: vec![X25519, SECP256R1, SECP384R1],
        ..ring::default_provider()
    }
}

/// Every certificate in the PEM file at `path`; an error when it holds none.
fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificates in {}", path.display()))?;
    if chain.is_empty() {
        anyhow::bail!("no certificate in {}", path.display());
    }
    Ok(chain)
}

/// The first private key in the PEM file at `path`.
fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .with_context(|| format!("reading the private key in {}", path.display()))?
        .with_context(|| format!("no private key in {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x25519_is_preferred_and_p384_last() {
        let names: Vec<_> = ring_provider().kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            names,
            [
                rustls::NamedGroup::X25519,
                rustls::NamedGroup::secp256r1,
                rustls::NamedGroup::secp384r1
            ]
        );
    }

    #[test]
    fn a_file_without_certificates_or_key_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("designs-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = server_config(&empty, &empty).unwrap_err();
        assert!(format!("{err:#}").contains("no certificate in"), "{err:#}");
        let missing = dir.join("missing.pem");
        let err = server_config(&missing, &missing).unwrap_err();
        assert!(format!("{err:#}").contains("reading"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

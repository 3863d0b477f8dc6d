//! The TLS server configuration of the designs that serve https: the `--https`, `--tls-cert`
//! and `--tls-key` flags and a rustls [`ServerConfig`] built from them, the same for every
//! design that uses it.
//!
//! The policy is the workspace's ([`reactor_tls`]), the reactor's too: TLS 1.3 and 1.2 only,
//! ALPN `http/1.1`, rustls' ring provider with the key-exchange groups X25519, P-256, P-384 in
//! that order (see [`reactor_tls::crypto_provider`] for why), TLS 1.3 and 1.2 tickets from a
//! rotating ticketer and an in-memory session cache for TLS 1.2 session IDs, as nginx's
//! `ssl_session_tickets on` and `ssl_session_cache` give.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use reactor_tls::{CertKeyFiles, Resumption};
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
    let files = CertKeyFiles {
        cert: cert.to_owned(),
        key: key.to_owned(),
    };
    Ok(reactor_tls::server_config(
        &files,
        Resumption::fresh(SESSION_CACHE_ENTRIES)?,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_or_key_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("designs-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = server_config(&empty, &empty).unwrap_err();
        assert!(
            format!("{err:#}").contains("holds no certificate"),
            "{err:#}"
        );
        let missing = dir.join("missing.pem");
        let err = server_config(&missing, &missing).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! A server's `rustls::ServerConfig`: the certificate chain and key from PEM files, the shared
//! policy (TLS 1.3 and 1.2, the ring provider's AEAD suites over ECDHE, ALPN `http/1.1`, no
//! client certificates, no early data) and the resumption state the caller passes in, so that
//! a reload can keep the ticketer and session cache and sessions resume across it.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::ServerConfig;

use crate::pem::{read_certificates, read_private_key, PemError};
use crate::{crypto_provider, ALPN_HTTP11, PROTOCOL_VERSIONS};

/// Where a server's certificate chain and private key are read from (`--tls-cert`,
/// `--tls-key`), kept to read them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKeyFiles {
    /// The certificate chain, PEM, the server's certificate first.
    pub cert: PathBuf,
    /// The certificate's private key, PEM.
    pub key: PathBuf,
}

/// What lets a client resume a session: TLS 1.2 session IDs and stateful tickets in a
/// server-side cache, TLS 1.3 and 1.2 tickets from a rotating ticketer (as nginx's
/// `ssl_session_cache` and `ssl_session_tickets on` give).
#[derive(Clone)]
pub struct Resumption {
    /// The session cache.
    pub sessions: Arc<dyn StoresServerSessions>,
    /// The ticket maker.
    pub ticketer: Arc<dyn ProducesTickets>,
}

impl Resumption {
    /// A fresh cache of `cache_entries` sessions (about 100 bytes each; beyond that the oldest
    /// are forgotten) and a fresh rotating ticketer.
    pub fn fresh(cache_entries: usize) -> Result<Resumption, ServerConfigError> {
        Ok(Resumption {
            sessions: ServerSessionMemoryCache::new(cache_entries),
            ticketer: rustls::crypto::ring::Ticketer::new().map_err(ServerConfigError::Ticketer)?,
        })
    }

    /// The resumption state of an existing configuration, to carry over to a new one.
    pub fn of(config: &ServerConfig) -> Resumption {
        Resumption {
            sessions: config.session_storage.clone(),
            ticketer: config.ticketer.clone(),
        }
    }
}

/// Why a server configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ServerConfigError {
    /// A file could not be read or held nothing usable.
    #[error(transparent)]
    Pem(#[from] PemError),
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
    /// No ticketer could be made (the system's random source failed).
    #[error("cannot make the TLS session ticketer")]
    Ticketer(#[source] rustls::Error),
}

/// Reads `files` and builds the server configuration with the given resumption state.
pub fn server_config(
    files: &CertKeyFiles,
    resumption: Resumption,
) -> Result<Arc<ServerConfig>, ServerConfigError> {
    let chain = read_certificates("tls-cert", &files.cert)?;
    let key = read_private_key("tls-key", &files.key)?;
    build(chain, key, resumption).map_err(|e| ServerConfigError::Refused {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: refusal_reason(&e),
    })
}

/// The server configuration for `chain` and `key` with the given resumption state.
pub fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    resumption: Resumption,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    config.session_storage = resumption.sessions;
    config.ticketer = resumption.ticketer;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
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

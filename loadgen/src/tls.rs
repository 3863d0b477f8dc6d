//! What the generator trusts and offers over TLS (`https://` targets): the rustls client
//! configuration, built once per run, and one `ClientConfig` per worker thread so that each
//! thread has its own session cache (no lock shared between threads on the hot path).
//!
//! - **Trust.** By default the system's roots (read at run time from the platform store, on
//!   Debian `/etc/ssl/certs`, through `rustls-native-certs`); `--cacert PEM` trusts the
//!   certificates of that file instead (as curl's `--cacert` does); `--insecure` accepts any
//!   certificate (the signature of the handshake is still checked, so the connection is real
//!   TLS, only the server's identity is not).
//! - **Offered.** The workspace's TLS settings ([`reactor_tls`]): TLS 1.3 and 1.2 with rustls'
//!   ring provider, key-exchange groups X25519 first, then P-256 and P-384 (as browsers, curl
//!   and Python's `ssl` send them; see [`reactor_tls::crypto_provider`]), ALPN `http/1.1`; SNI
//!   from the URL's host (none for an IP address, as RFC 6066 says).
//! - **Resumption.** `--tls-resume on` (the default, as browsers, curl and wrk do): a session
//!   cache per thread ([`crate::tls_sessions`]), so a thread's later connections resume (TLS
//!   1.3 tickets, TLS 1.2 tickets or session IDs); `off`: every handshake is a full one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::tls_sessions::SessionCache;

/// The TLS flags of a run, as the command line gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust the certificates of this PEM file instead of the system's roots.
    pub cacert: Option<PathBuf>,
    /// Accept any server certificate.
    pub insecure: bool,
    /// Resume sessions across a thread's connections.
    pub resume: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            cacert: None,
            insecure: false,
            resume: true,
        }
    }
}

/// Whom a run trusts.
#[derive(Debug, Clone)]
enum Trust {
    /// These roots.
    Roots(Arc<RootCertStore>),
    /// Anyone (`--insecure`).
    Anyone,
}

/// Everything a worker needs to open TLS connections to the target, shared read-only.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    /// The name the certificate must match, and the SNI (none for an IP address).
    pub server_name: ServerName<'static>,
    trust: Trust,
    /// Resume sessions across connections.
    pub resume: bool,
}

impl TlsPlan {
    /// The plan for a target whose URL names `host` (no port, no brackets).
    pub fn new(host: &str, opts: &TlsOptions) -> Result<TlsPlan> {
        let server_name = ServerName::try_from(host.to_string())
            .with_context(|| format!("{host:?} is not a valid TLS server name"))?;
        let trust = match (&opts.cacert, opts.insecure) {
            (_, true) => Trust::Anyone,
            (Some(path), false) => Trust::Roots(Arc::new(roots_from_file(path)?)),
            (None, false) => Trust::Roots(Arc::new(system_roots()?)),
        };
        Ok(TlsPlan {
            server_name,
            trust,
            resume: opts.resume,
        })
    }

    /// A client configuration with a session cache of its own (one per worker thread, which
    /// has `connections` connections).
    pub fn client_config(&self, connections: usize) -> Result<Arc<ClientConfig>> {
        let provider = reactor_tls::crypto_provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(reactor_tls::PROTOCOL_VERSIONS)
            .context("the TLS provider offers neither TLS 1.3 nor 1.2")?;
        let mut config = match &self.trust {
            Trust::Roots(roots) => builder
                .with_root_certificates(roots.clone())
                .with_no_client_auth(),
            Trust::Anyone => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
        };
        config.alpn_protocols = vec![reactor_tls::ALPN_HTTP11.to_vec()];
        config.resumption = if self.resume {
            Resumption::store(Arc::new(SessionCache::for_connections(connections)))
        } else {
            Resumption::disabled()
        };
        Ok(Arc::new(config))
    }
}

/// The system's trust store; an error when it holds no usable certificate.
fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        bail!(
            "no system root certificates found{why}; give --cacert PEM to trust a given CA, \
             or --insecure to skip verification"
        );
    }
    Ok(roots)
}

/// The certificates of a PEM file, as the only roots.
fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in reactor_tls::read_certificates("cacert", path)? {
        roots
            .add(cert)
            .with_context(|| format!("--cacert {}: unusable certificate", path.display()))?;
    }
    Ok(roots)
}

/// `--insecure`: any certificate is accepted; the handshake's signatures are still verified.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_is_a_server_name_without_sni_and_a_host_name_has_one() {
        let opts = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        let ip = TlsPlan::new("127.0.0.1", &opts).unwrap();
        assert!(matches!(ip.server_name, ServerName::IpAddress(_)));
        let v6 = TlsPlan::new("::1", &opts).unwrap();
        assert!(matches!(v6.server_name, ServerName::IpAddress(_)));
        let dns = TlsPlan::new("localhost", &opts).unwrap();
        assert!(matches!(dns.server_name, ServerName::DnsName(_)));
        assert!(dns.client_config(1).is_ok());
    }

    #[test]
    fn a_cacert_without_certificates_is_refused_by_name() {
        let path = std::env::temp_dir().join(format!("loadgen-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let opts = TlsOptions {
            cacert: Some(path.clone()),
            ..TlsOptions::default()
        };
        let err = TlsPlan::new("localhost", &opts).unwrap_err().to_string();
        assert!(err.contains("no certificate"), "{err}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_client_offers_http_1_1_by_alpn() {
        let opts = TlsOptions {
            insecure: true,
            resume: false,
            ..TlsOptions::default()
        };
        let config = TlsPlan::new("localhost", &opts)
            .unwrap()
            .client_config(1)
            .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}

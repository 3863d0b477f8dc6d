//! The HTTPS listener's TLS settings: the one `rustls::ServerConfig` every connection of every
//! reactor thread shares, read from `--tls-cert` and `--tls-key` at start-up and again on
//! SIGHUP.
//!
//! The policy is the workspace's, fixed and not configurable ([`reactor_tls`]): TLS 1.3 and 1.2
//! only, the `ring` provider's cipher suites (all AEAD with forward secrecy: AES-GCM and
//! ChaCha20-Poly1305 over ECDHE), key-exchange groups X25519, P-256, P-384, ALPN `http/1.1`,
//! session tickets (a rotating ticketer) and a server-side session cache for resumption, and
//! no early data.

use std::path::Path;
use std::sync::Arc;

use reactor_tls::{CertKeyFiles, Resumption, ServerConfigError};
use rustls::ServerConfig;

/// Sessions the server-side cache remembers for resumption by session ID (TLS 1.2) or
/// stateful ticket; beyond this the oldest are forgotten. About 100 bytes each.
pub const SESSION_CACHE_ENTRIES: usize = 16 * 1024;

/// Reads the files again and builds a configuration that keeps `current`'s ticketer and
/// session cache, so sessions resumed across the reload still resume. Connections already
/// open keep the configuration they started with.
pub fn reload(
    current: &ServerConfig,
    files: &CertKeyFiles,
) -> Result<Arc<ServerConfig>, ServerConfigError> {
    reactor_tls::server_config(files, Resumption::of(current))
}

/// Reads `cert` and `key` (PEM) and builds the shared server configuration, with a fresh
/// ticketer and session cache.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ServerConfigError> {
    let files = CertKeyFiles {
        cert: cert.to_owned(),
        key: key.to_owned(),
    };
    reactor_tls::server_config(&files, Resumption::fresh(SESSION_CACHE_ENTRIES)?)
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
    fn a_reload_reads_the_new_pair_and_keeps_the_ticketer() {
        let cert = TestCert::generate("config-reload");
        let first = load(&cert.cert_path, &cert.key_path).expect("loads");
        let files = CertKeyFiles {
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
}

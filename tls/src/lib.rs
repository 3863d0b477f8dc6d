//! The TLS settings the reactor, the other server designs and the load generator share, so
//! that every side of a measured handshake offers and accepts the same things:
//!
//! - [`crypto_provider`]: rustls on the `ring` provider, with the key-exchange groups in the
//!   one order the workspace uses (X25519, P-256, P-384) and why;
//! - [`PROTOCOL_VERSIONS`] (TLS 1.3 and 1.2) and [`ALPN_HTTP11`], the one application protocol;
//! - [`pem`]: certificate chains and private keys read from PEM files, with errors that name
//!   the flag, the file and the form expected;
//! - [`server`]: a `rustls::ServerConfig` from a certificate and key, with the resumption state
//!   (session cache and ticketer) the caller chooses, so a reload can keep it.
//!
//! What is not shared stays with its binary: the load generator's trust (system roots,
//! `--cacert`, `--insecure`) and per-thread session caches, the server's reload on SIGHUP.

pub mod pem;
pub mod server;

use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::SupportedProtocolVersion;

pub use pem::{read_certificates, read_private_key, PemError};
pub use server::{server_config, CertKeyFiles, Resumption, ServerConfigError};

/// The protocol versions offered and accepted: TLS 1.3 and 1.2 (rustls has nothing older).
pub const PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The only application protocol offered, by ALPN: the HTTP session speaks HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// rustls' `ring` provider (the workspace builds rustls on `ring`: no cmake, no C toolchain
/// beyond `cc`) with the key-exchange groups ordered X25519, P-256, P-384.
///
/// The provider's own order puts P-384 first, whose key share `ring` computes several times
/// slower. The order matters on the client side: a client sends a key share for its first
/// group, and a server that takes the first share offered (nginx, OpenSSL) makes every full
/// handshake pay for it; browsers, curl and Python's `ssl` put X25519 first. On the server side
/// rustls 0.23 picks the first group of the *client's* list that it supports, so there the
/// order is only the stated preference, set so that no change of selection rule could move a
/// handshake to P-384. The groups themselves are those Debian's OpenSSL 3.0 offers nginx too.
///
/// rustls marks `ring::default_provider()` deprecated because `ring` lacks post-quantum hybrid
/// key exchange (X25519MLKEM768); neither the clients nor the peers measured here offer one.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<CryptoProvider> {
    use ring::kx_group::{SECP256R1, SECP384R1, X25519};
    Arc::new(CryptoProvider {
        kx_groups: vec![X25519, SECP256R1, SECP384R1],
        ..ring::default_provider()
    })
}

#[cfg(test)]
mod tests;

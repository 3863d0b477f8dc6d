//! HTTPS: TLS (rustls) between the socket and the HTTP session, in the same reactor.
//!
//! - [`config`]: the certificate and key from PEM files, and the fixed TLS policy;
//! - [`layer`]: one connection's TLS state machine, sans-IO (ciphertext in, plaintext out,
//!   and back), with the handshake deadline;
//! - [`stats`]: handshakes, failures by reason, negotiated versions.
//!
//! The connection (`crate::connection`) only moves bytes between its socket, this layer and
//! the HTTP session; no TLS decision is made there.

pub mod config;
pub mod layer;
pub mod stats;

pub use layer::{Ciphertext, ReadError, TlsLayer};
pub use stats::{TlsFailure, TlsStats};

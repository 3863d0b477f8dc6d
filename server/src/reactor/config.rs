//! The settings of one reactor, derived from the command line.

use std::sync::Arc;
use std::time::Duration;

use reactor_proto::http::{BufferBudget, HttpLimits};

use crate::connection::ConnLimits;
use crate::timers::{duration_to_millis, Millis};
use reactor_tls::CertKeyFiles;

/// How long a closing connection waits for the peer's FIN after our last byte (nginx's
/// lingering close).
const LINGER: Duration = Duration::from_secs(2);

/// Everything a reactor needs to know, derived from the command line.
#[derive(Debug, Clone)]
pub struct ReactorConfig {
    /// Per-connection limits and timeouts.
    pub limits: ConnLimits,
    /// HTTP request limits.
    pub http_limits: HttpLimits,
    /// `--max-buffered`: one budget shared by every reactor thread.
    pub http_budget: Arc<BufferBudget>,
    /// `--max-conns`.
    pub max_conns: usize,
    /// `--accept-budget`.
    pub accept_budget: usize,
    /// `--max-datagram`.
    pub max_datagram: usize,
    /// `--udp-queue`.
    pub udp_queue: usize,
    /// `--drain-timeout`.
    pub drain_timeout: Duration,
    /// `--stats-interval` (zero: only at exit).
    pub stats_interval: Duration,
    /// HTTPS: the TLS configuration every connection shares (`None` without `--https`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `--tls-handshake-timeout` in ms, 0 = off.
    pub tls_handshake_ms: Millis,
    /// HTTPS: the certificate and key files, read again on SIGHUP.
    pub tls_files: Option<CertKeyFiles>,
}

impl ReactorConfig {
    /// Derives the reactor settings from the parsed flags and, with `--https`, the TLS
    /// configuration loaded from `--tls-cert` and `--tls-key`.
    pub fn from_flags(cfg: &crate::config::Config, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        Self {
            limits: ConnLimits {
                max_output: cfg.max_output as usize,
                read_budget: cfg.read_budget,
                idle_ms: duration_to_millis(cfg.idle_timeout),
                write_stall_ms: duration_to_millis(cfg.write_timeout),
                linger_ms: duration_to_millis(LINGER),
            },
            http_limits: HttpLimits {
                max_header_bytes: cfg.max_header_bytes,
                max_body_bytes: cfg.max_body,
                header_timeout: cfg.header_timeout,
                body_timeout: cfg.body_timeout,
                ..HttpLimits::default()
            },
            http_budget: Arc::new(BufferBudget::new(cfg.max_buffered)),
            max_conns: cfg.max_conns as usize,
            accept_budget: cfg.accept_budget,
            max_datagram: cfg.max_datagram,
            udp_queue: cfg.udp_queue,
            drain_timeout: cfg.drain_timeout,
            stats_interval: cfg.stats_interval,
            tls_files: match (&tls, &cfg.tls_cert, &cfg.tls_key) {
                (Some(_), Some(cert), Some(key)) => Some(CertKeyFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            tls,
            tls_handshake_ms: duration_to_millis(cfg.tls_handshake_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The reactor's HTTP flags default to `HttpLimits::default()`, the limits every design in
    /// the comparison applies: one set of defaults, whoever serves.
    #[test]
    fn http_flag_defaults_are_the_shared_http_limits() {
        let flags = crate::config::Config::try_parse_from(["reactor-server"]).expect("defaults");
        let cfg = ReactorConfig::from_flags(&flags, None);
        assert_eq!(cfg.http_limits, HttpLimits::default());
    }
}

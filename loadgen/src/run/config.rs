//! What a run is asked to do: the workload, the target, the load's shape and the HTTP
//! options, as the command line gave them after validation.

use std::time::Duration;

use crate::cli::{Arrival, SizeSpec};
use crate::tls::TlsOptions;

/// Which workload, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1.
    Http,
}

impl Workload {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Tcp => "tcp",
            Workload::Udp => "udp",
            Workload::Http => "http",
        }
    }
}

/// HTTP request options.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Method.
    pub method: String,
    /// Extra headers.
    pub headers: Vec<String>,
    /// Body.
    pub body: Option<String>,
    /// TLS flags (https targets).
    pub tls: TlsOptions,
}

/// A fully resolved run description.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Workload.
    pub workload: Workload,
    /// Target as given.
    pub target: String,
    /// Connections in total.
    pub connections: usize,
    /// Threads.
    pub threads: usize,
    /// Pipeline depth.
    pub pipeline: usize,
    /// A new connection for every request.
    pub connect_per_request: bool,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Warm-up.
    pub warmup: Duration,
    /// Request count limit.
    pub requests: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Payload sizes.
    pub size: SizeSpec,
    /// Offered rate (open loop).
    pub rate: Option<f64>,
    /// Arrival process.
    pub arrival: Arrival,
    /// Start at this Unix time.
    pub start_at: Option<f64>,
    /// HTTP options.
    pub http: HttpOptions,
    /// Draw the progress line.
    pub progress: bool,
    /// Self-check limit on schedule lateness (p99).
    pub max_lateness: Duration,
    /// Idle CPUs were polling when the run began: `--idle-poll`, or another process's PM QoS
    /// request (reported either way, since it changes what a wake-up costs).
    pub idle_poll: bool,
}

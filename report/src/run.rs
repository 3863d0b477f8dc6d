//! One run's report (schema `reactor-loadgen`, version 2); field meanings in loadgen/README.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Latency percentiles in microseconds; every value is `null` when nothing was recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p50: Option<f64>,
    /// 75th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p75: Option<f64>,
    /// 90th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p90: Option<f64>,
    /// 99th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p99: Option<f64>,
    /// 99.9th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p999: Option<f64>,
    /// 99.99th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p9999: Option<f64>,
    /// Largest.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub max: Option<f64>,
    /// Smallest.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub min: Option<f64>,
    /// Mean.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub mean: Option<f64>,
    /// Values recorded.
    pub count: u64,
    /// 95% confidence interval of each percentile.
    pub ci95: PercentileIntervals,
}

/// `[low, high]` bounds in microseconds of each percentile's 95% confidence interval, from its
/// order statistics; `null` where too few values were recorded to bound it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PercentileIntervals {
    /// Of the median.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p50: Option<[f64; 2]>,
    /// Of the 75th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p75: Option<[f64; 2]>,
    /// Of the 90th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p90: Option<[f64; 2]>,
    /// Of the 99th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p99: Option<[f64; 2]>,
    /// Of the 99.9th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p999: Option<[f64; 2]>,
    /// Of the 99.99th percentile.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p9999: Option<[f64; 2]>,
}

/// Closed loop (each connection sends when answered) or open loop (a schedule of sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// Send on a schedule, whatever the server does.
    Open,
    /// Send the next request when the previous one is answered.
    Closed,
}

/// Request payload sizes, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeRange {
    /// Smallest payload.
    pub min: usize,
    /// Largest payload.
    pub max: usize,
}

/// Failed connects by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectErrorKinds {
    /// Connection refused.
    pub refused: u64,
    /// Connect timed out.
    pub timed_out: u64,
    /// Reset during the handshake.
    pub reset: u64,
    /// No local address (ephemeral ports exhausted).
    pub no_local_address: u64,
    /// Connected, but the TLS handshake failed or timed out (`tls.handshake_failures` says
    /// why); absent in documents of plaintext-only generators.
    #[serde(default)]
    pub tls_handshake: u64,
    /// Anything else.
    pub other: u64,
}

/// Request errors by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    /// All of them.
    pub total: u64,
    /// Connects that failed.
    pub connect: u64,
    /// Requests unanswered within the timeout.
    pub timeout: u64,
    /// Connections reset or closed under a request.
    pub reset: u64,
    /// Responses that differed from what was expected.
    pub verify: u64,
    /// HTTP responses with an error status.
    pub http_status: u64,
    /// The connect errors by cause.
    pub connect_by_kind: ConnectErrorKinds,
}

/// What the generator itself did: its CPU, its loop, its wake-ups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// User CPU seconds.
    pub cpu_user_s: f64,
    /// System CPU seconds.
    pub cpu_system_s: f64,
    /// CPU as a share of its threads' capacity.
    pub cpu_share_of_threads: f64,
    /// Share of the wall time its loops had work.
    pub loop_busy_share: f64,
    /// Share of the wall time spent spinning for send times.
    pub spin_share: f64,
    /// Waits that slept or blocked.
    pub wakeups: u64,
    /// Wake-ups per completed request.
    pub wakeups_per_request: f64,
    /// Times it was off its CPU for long while spinning.
    pub stalls: u64,
    /// Seconds lost to those stalls.
    pub stalled_s: f64,
    /// How late its timed waits returned, µs.
    pub wake_overshoot_us: Percentiles,
    /// Whether idle CPUs were kept polling (PM QoS).
    pub idle_poll: bool,
}

/// TLS handshake failures by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeFailures {
    /// All of them.
    pub total: u64,
    /// The server's certificate did not verify (unknown issuer, wrong name, expired).
    pub certificate: u64,
    /// The server refused with a fatal alert (no common version or cipher suite).
    pub alert: u64,
    /// Not TLS we speak: a plaintext server, an old version, a malformed message.
    pub protocol: u64,
    /// The server closed or reset the connection mid-handshake.
    pub peer_closed: u64,
    /// Not done within the connect timeout.
    pub timed_out: u64,
    /// Anything else.
    pub other: u64,
}

/// The TLS figures of an https run. Counts are of every handshake of the run (set-up and
/// measured, as `connects`); `handshakes_per_s` is the measured rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tls {
    /// Negotiated protocol version (`TLSv1.3`, `TLSv1.2`; `mixed` when both were), null
    /// when no handshake completed.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub version: Option<String>,
    /// Negotiated cipher suite (its IANA name; `mixed` when several were), null when no
    /// handshake completed.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub cipher_suite: Option<String>,
    /// Negotiated key exchange group (`X25519`, `secp256r1`, ...; `mixed` when several
    /// were), null when no handshake completed or every one resumed without one.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub key_exchange: Option<String>,
    /// How the server's certificate was checked: `system-roots`, `cacert` or `none`.
    pub verification: String,
    /// `--insecure`: the server's certificate was not verified.
    pub insecure: bool,
    /// Sessions were resumed across connections (`--tls-resume on`).
    pub resumption: bool,
    /// Handshakes completed.
    pub handshakes: u64,
    /// Of them, full handshakes.
    pub full_handshakes: u64,
    /// Of them, resumed ones.
    pub resumed_handshakes: u64,
    /// Handshakes completed per measured second.
    pub handshakes_per_s: f64,
    /// Handshake time, from the ClientHello to completion (after the TCP connect), µs.
    pub handshake_us: Percentiles,
    /// Failed handshakes by why.
    pub handshake_failures: HandshakeFailures,
}

/// One interval of the time series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Index of the interval (seconds since the measured start).
    pub t_s: u64,
    /// Its length, seconds.
    pub length_s: f64,
    /// Requests completed in it.
    pub requests: u64,
    /// Errors in it.
    pub errors: u64,
    /// Requests per second in it.
    pub rps: f64,
    /// Median latency in it, µs.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p50_us: Option<f64>,
    /// p99 latency in it, µs.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub p99_us: Option<f64>,
    /// Largest latency in it, µs.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub max_us: Option<f64>,
}

/// UDP datagram accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Udp {
    /// Datagrams sent.
    pub sent: u64,
    /// Echoes received.
    pub received: u64,
    /// Datagrams given up as lost.
    pub lost: u64,
    /// lost / (received + lost).
    pub loss_ratio: f64,
    /// Echoes that came back out of order.
    pub reordered: u64,
    /// Echoes received twice.
    pub duplicated: u64,
    /// Echoes that came back after being counted lost.
    pub late: u64,
}

/// One run of the load generator, as `--json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`crate::SCHEMA`].
    pub schema: String,
    /// [`crate::SCHEMA_VERSION`] when written.
    pub schema_version: u64,
    /// `tcp`, `udp` or `http`.
    pub workload: String,
    /// The target as given.
    pub target: String,
    /// The address it resolved to.
    pub address: String,
    /// Open or closed loop.
    pub mode: LoadMode,
    /// Offered req/s (open loop), else null.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub offered_rps: Option<f64>,
    /// Arrival process (open loop), else null.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub arrival: Option<String>,
    /// Connections asked for.
    pub connections: usize,
    /// Connections established.
    pub connected: usize,
    /// Generator threads.
    pub threads: usize,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Payload sizes.
    pub size: SizeRange,
    /// When the run started, Unix seconds.
    pub started_unix_s: f64,
    /// Length of the measured window, seconds.
    pub duration_s: f64,
    /// Requests completed in the measured window.
    pub requests: u64,
    /// Requests sent in it.
    pub sent: u64,
    /// Completed req/s.
    pub rps: f64,
    /// Sent req/s.
    pub sent_rps: f64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// MB/s received.
    pub mb_per_s: f64,
    /// Errors by kind.
    pub errors: Errors,
    /// errors / (requests + errors).
    pub error_rate: f64,
    /// Responses that failed verification (also `errors.verify`).
    pub verify_failures: u64,
    /// HTTP status codes and their counts.
    pub status_codes: BTreeMap<String, u64>,
    /// The generator's self-check: false when it could not do what it was asked.
    pub valid: bool,
    /// Why the run is invalid.
    pub invalid_reasons: Vec<String>,
    /// Things worth knowing that do not invalidate it.
    pub warnings: Vec<String>,
    /// Latency from the intended send time (coordinated omission corrected), µs.
    pub latency_us: Percentiles,
    /// Latency from the actual send, µs.
    pub service_time_us: Percentiles,
    /// Intended to actual send, µs.
    pub send_lag_us: Percentiles,
    /// The generator's own lateness against its schedule, µs.
    pub schedule_lateness_us: Percentiles,
    /// Connect latency, µs.
    pub connect_us: Percentiles,
    /// The generator's own figures.
    pub generator: Generator,
    /// Per-interval figures.
    pub timeseries: Vec<Interval>,
    /// Time due requests waited for a free connection, µs.
    pub conn_wait_us: Percentiles,
    /// Response time from the intended send: the headline plus the generator's own schedule
    /// lateness (the wrk2 figure), µs.
    pub intended_latency_us: Percentiles,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
    /// Open loop: requests that fell due (the offer, counted).
    pub due: u64,
    /// Open loop: due requests never sent by the end.
    pub unsent: u64,
    /// The lateness limit of the self-check, µs.
    pub max_lateness_us: f64,
    /// `generator` when the generator limited the run, else null.
    #[serde(deserialize_with = "crate::nullable::deserialize")]
    pub limited_by: Option<String>,
    /// Largest backlog of due requests.
    pub backlog_peak: u64,
    /// Whether every request had a connection of its own.
    pub connect_per_request: bool,
    /// Connections opened in all.
    pub connects: u64,
    /// Connections opened per second while measuring.
    pub connects_per_s: f64,
    /// TLS figures (https runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// UDP accounting (UDP runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<Udp>,
    /// The `--find-max` search (only with it); its own structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_max: Option<serde_json::Value>,
}

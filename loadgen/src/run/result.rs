//! What a run measured: the per-second series, the totals, and how the run went (its
//! connections, TLS handshakes, CPU time, kernel stamps); or why it measured nothing.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use thiserror::Error;

use super::RunConfig;
use crate::stats::{Handshakes, Recorder};

/// Failures that end a run before it measured anything.
#[derive(Debug, Error)]
pub enum RunError {
    /// No connection could be established.
    #[error("target {target} unreachable: {reason}")]
    Unreachable {
        /// Target as given.
        target: String,
        /// First error seen.
        reason: String,
    },
}

/// One second of the run, all threads added.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Seconds since measuring began.
    pub index: u64,
    /// Covered length (the last one may be shorter).
    pub length_ns: u64,
    /// Requests answered.
    pub requests: u64,
    /// Errors of all kinds.
    pub errors: u64,
    /// Corrected latency of the interval.
    pub latency: Histogram<u64>,
    /// Connect times of the connections established in the interval.
    pub connect: Histogram<u64>,
    /// TLS handshake times of the connections established in the interval.
    pub handshake: Histogram<u64>,
}

/// Everything measured in one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// What was run.
    pub config: RunConfig,
    /// Resolved address.
    pub addr: SocketAddr,
    /// Measured wall time.
    pub measured_ns: u64,
    /// All threads and intervals added.
    pub total: Recorder,
    /// Connect latency of every connection counted in `connects`: those of the set-up plus
    /// those made while measuring (reconnects; one per request with --connect-per-request).
    pub connect: Histogram<u64>,
    /// Connections established: at set-up plus while measuring.
    pub connects: u64,
    /// Connections established during set-up (none with a connection per request).
    pub connected: usize,
    /// https targets: every TLS handshake's time and the counts of the run (set-up plus
    /// measuring; those of the measured time alone are in `total`).
    pub tls: Option<Handshakes>,
    /// Per-second series.
    pub intervals: Vec<Interval>,
    /// Generator CPU time (user) during the measured period.
    pub cpu_user: Duration,
    /// Generator CPU time (system) during the measured period.
    pub cpu_sys: Duration,
    /// Wall-clock time measuring began.
    pub started: SystemTime,
    /// First error message seen by any worker.
    pub first_error: Option<String>,
    /// Ctrl-C stopped the run early: the figures are of what was measured until then.
    pub interrupted: bool,
    /// The kernel stamped arriving responses (see [`crate::worker::rxstamp`]).
    pub kernel_stamps: bool,
    /// Reads while measuring that came without a kernel stamp: their responses were timed
    /// when the generator read them, which adds its own wake-up delay.
    pub unstamped_reads: u64,
    /// Answers whose kernel stamp fell before their request's send (a clock step): timed at
    /// the read instead, like the unstamped ones.
    pub stamps_before_send: u64,
    /// The kernel's connection-tracking table at the end of the run (none without one).
    pub conntrack: Option<crate::conntrack::Conntrack>,
}

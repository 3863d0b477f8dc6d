//! One measured run, read from the load generator's JSON and the server's `/proc` counters, and
//! the summary over a scenario's repeats.

mod summary;

use std::time::Duration;

use serde::Serialize;

pub use summary::{classify_limit, Cores, Limit, Spread, Summary, SATURATED};

/// Latency percentiles in microseconds, as the load generator reports them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The comparison's five from the generator's report; unmeasured values are NaN.
    fn from_report(p: &reactor_report::Percentiles) -> Percentiles {
        let f = |v: Option<f64>| v.unwrap_or(f64::NAN);
        Percentiles {
            p50: f(p.p50),
            p90: f(p.p90),
            p99: f(p.p99),
            p999: f(p.p999),
            max: f(p.max),
        }
    }

    /// (label, value) pairs in increasing percentile order, for curves.
    pub fn points(&self) -> [(&'static str, f64); 5] {
        [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p99.9", self.p999),
            ("max", self.max),
        ]
    }
}

/// What the load generator said about one run (the fields the comparison uses).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenReport {
    /// Measured requests completed.
    pub requests: u64,
    /// Requests that failed (connection errors, timeouts, ...).
    pub errors: u64,
    /// Completed requests per second over the measured window.
    pub rps: f64,
    /// The generator's self-check (false: e.g. it could not keep the offered rate).
    pub valid: bool,
    /// Responses whose bytes did not match what was sent.
    pub verify_failures: u64,
    /// Latency from intended send time (coordinated-omission corrected), µs.
    pub latency_us: Percentiles,
    /// Datagrams lost (UDP only).
    pub udp_lost: u64,
    /// Why the self-check marked the run invalid, when it did.
    pub invalid_reasons: Vec<String>,
    /// Connections opened in the measured window (only with `--connect-per-request`).
    pub connects: Option<u64>,
    /// Connect latency, µs (only with `--connect-per-request`).
    pub connect_us: Option<Percentiles>,
    /// TLS handshakes (https runs only).
    pub tls: Option<Handshakes>,
}

/// TLS handshakes of https runs, from the generator's `tls` object: every handshake of the
/// run (connection set-up included, as its `connects`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Handshakes {
    /// Full handshakes (a key exchange and the certificate's signature each).
    pub full: u64,
    /// Resumed handshakes (a session ticket or ID).
    pub resumed: u64,
}

impl Handshakes {
    fn of(t: &reactor_report::Tls) -> Handshakes {
        Handshakes {
            full: t.full_handshakes,
            resumed: t.resumed_handshakes,
        }
    }

    /// Both counts summed over `runs`; None when none of them was an https run.
    pub fn sum<'a>(runs: impl Iterator<Item = &'a GenReport>) -> Option<Handshakes> {
        runs.filter_map(|g| g.tls).reduce(|a, b| Handshakes {
            full: a.full + b.full,
            resumed: a.resumed + b.resumed,
        })
    }
}

impl From<&reactor_report::RunReport> for GenReport {
    /// The fields of the generator's typed report (`reactor-report`) that the comparison uses.
    fn from(r: &reactor_report::RunReport) -> GenReport {
        GenReport {
            requests: r.requests,
            errors: r.errors.total,
            rps: r.rps,
            valid: r.valid,
            verify_failures: r.verify_failures,
            latency_us: Percentiles::from_report(&r.latency_us),
            udp_lost: r.udp.map_or(0, |u| u.lost),
            invalid_reasons: r.invalid_reasons.clone(),
            connects: r.connect_per_request.then_some(r.connects),
            connect_us: r
                .connect_per_request
                .then(|| Percentiles::from_report(&r.connect_us)),
            tls: r.tls.as_ref().map(Handshakes::of),
        }
    }
}

impl GenReport {
    /// The report of a run in which nothing was answered and nothing failed, marked invalid
    /// with the reason.
    pub fn unanswered(r: &reactor_report::RunReport) -> GenReport {
        let mut gen = GenReport::from(r);
        gen.valid = false;
        // The generator's own diagnosis, when it has one (a full connection-tracking table
        // stalls every connect), says more than the guess.
        let diagnosis = r
            .warnings
            .iter()
            .find(|w| w.contains("connection-tracking table"))
            .map_or_else(
                || "a busy machine, or a slow start of the design".to_string(),
                String::clone,
            );
        gen.invalid_reasons.insert(
            0,
            format!(
                "nothing was answered within the run, and nothing failed: the run ended before \
                 the first answer ({diagnosis})"
            ),
        );
        gen
    }
}

/// System calls and context switches of the server over a run, from `perf stat`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct KernelCounts {
    /// `raw_syscalls:sys_enter` events.
    pub syscalls: u64,
    /// `context-switches` events.
    pub context_switches: u64,
}

/// One measured run of one scenario against one design.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// The load generator's report.
    pub gen: GenReport,
    /// Server CPU time (user + system, all threads and descendants) over the run.
    pub server_cpu_s: f64,
    /// The user-space part of it.
    pub server_user_s: f64,
    /// The kernel part of it.
    pub server_sys_s: f64,
    /// Load generator CPU time over the run.
    pub gen_cpu_s: f64,
    /// Wall time of the run (generator start to exit).
    pub wall_s: f64,
    /// CPU time other processes used on the server and generator cores during the run
    /// (steal included).
    pub other_cpu_s: f64,
    /// CPU time the hypervisor took from those cores during the run (steal).
    pub steal_s: f64,
    /// Taken under heavy outside load (`--max-outside-load`): kept out of every figure, like
    /// an invalid run.
    pub noisy: bool,
    /// Which repeat it belongs to (0-based; a retry keeps its repeat's number).
    pub repeat: usize,
}

impl Sample {
    /// Whether this repeat may enter a median, a ratio or a verdict: the generator's
    /// self-check passed and the machine was not heavily loaded by others.
    pub fn counts(&self) -> bool {
        self.gen.valid && !self.noisy
    }

    fn per_request(&self, v: f64) -> f64 {
        if self.gen.requests == 0 {
            return f64::NAN;
        }
        v / self.gen.requests as f64
    }

    /// Server CPU microseconds per completed request.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.per_request(self.server_cpu_s * 1e6)
    }

    /// Server CPU microseconds per connection opened (connect-per-request runs only).
    pub fn cpu_us_per_connection(&self) -> f64 {
        match self.gen.connects {
            Some(n) if n > 0 => self.server_cpu_s * 1e6 / n as f64,
            _ => f64::NAN,
        }
    }

    /// Share of its cores the server kept busy, 0..=1.
    pub fn server_util(&self, cores: usize) -> f64 {
        self.server_cpu_s / (self.wall_s * cores.max(1) as f64)
    }

    /// Share of its cores the generator kept busy, 0..=1.
    pub fn gen_util(&self, cores: usize) -> f64 {
        self.gen_cpu_s / (self.wall_s * cores.max(1) as f64)
    }

    /// Share of the measured cores that other processes kept busy, 0..=1.
    pub fn other_util(&self, cores: usize) -> f64 {
        self.other_cpu_s / (self.wall_s * cores.max(1) as f64)
    }
}

/// Seconds as f64, for JSON.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests;

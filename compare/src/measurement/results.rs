//! One measured run, read from the load generator's JSON and the server's `/proc` counters, and
//! the summary over a scenario's repeats.

use std::time::Duration;

use serde::Serialize;

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

/// Median, its 95% confidence interval and the range of one quantity over the repeats.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Lower end of the median's 95% bootstrap interval.
    pub ci_low: f64,
    /// Upper end of it.
    pub ci_high: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Values it was computed from.
    pub n: usize,
}

impl Spread {
    /// The spread of `values`, ignoring NaN; all NaN when nothing is left.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        let ci = crate::stats::median_ci(&v);
        let fold = |f: fn(f64, f64) -> f64, init| v.iter().copied().fold(init, f);
        Spread {
            median: ci.value,
            ci_low: ci.low,
            ci_high: ci.high,
            min: if v.is_empty() {
                f64::NAN
            } else {
                fold(f64::min, f64::INFINITY)
            },
            max: if v.is_empty() {
                f64::NAN
            } else {
                fold(f64::max, f64::NEG_INFINITY)
            },
            n: v.len(),
        }
    }
}

/// Which side limited a run's throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The load generator used (nearly) all of its cores: req/s is its ceiling, not the server's.
    Generator,
    /// The server used (nearly) all of its cores.
    Server,
    /// Neither was busy: the round trip (wake-ups, the network stack) bounds throughput.
    RoundTrip,
    /// Open loop: the offered rate was met, so the load, not either side, set req/s.
    OfferedRate,
}

impl Limit {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Limit::Generator => "generator",
            Limit::Server => "server",
            Limit::RoundTrip => "neither",
            Limit::OfferedRate => "offered rate",
        }
    }
}

/// A side counts as saturated above this share of its cores.
pub const SATURATED: f64 = 0.85;

/// Decides the limit from the two sides' CPU use (shares of their own cores, 0..=1).
pub fn classify_limit(server_util: f64, gen_util: f64, open_loop: bool) -> Limit {
    let gen_busy = gen_util >= SATURATED;
    let server_busy = server_util >= SATURATED;
    match (gen_busy, server_busy) {
        (true, true) if gen_util >= server_util => Limit::Generator,
        (true, true) => Limit::Server,
        (true, false) => Limit::Generator,
        (false, true) => Limit::Server,
        (false, false) if open_loop => Limit::OfferedRate,
        (false, false) => Limit::RoundTrip,
    }
}

/// The summary of one design in one scenario: what a table row shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Requests per second.
    pub rps: Spread,
    /// Latency percentiles, each the median over the repeats, µs.
    pub latency_us: Percentiles,
    /// p99 latency over the repeats, µs (for baseline verdicts).
    pub p99_us: Spread,
    /// Server CPU µs per request.
    pub cpu_us_per_request: Spread,
    /// The user-space part of it (median), µs.
    pub user_us_per_request: f64,
    /// The kernel part of it (median), µs.
    pub sys_us_per_request: f64,
    /// Server system calls per request (median), where perf counted them.
    pub syscalls_per_request: Option<f64>,
    /// Server context switches per request (median), where perf counted them.
    pub ctx_switches_per_request: Option<f64>,
    /// Server CPU µs per connection opened (connect-per-request runs).
    pub cpu_us_per_connection: Option<Spread>,
    /// Connect latency (median over the repeats), µs (connect-per-request runs).
    pub connect_us: Option<Percentiles>,
    /// TLS handshakes over the measured runs (https scenarios).
    pub handshakes: Option<Handshakes>,
    /// Server CPU use as a share of its cores (median).
    pub server_util: f64,
    /// Generator CPU use as a share of its cores (median).
    pub gen_util: f64,
    /// CPU use by other processes as a share of all measured cores (median): noise.
    pub other_util: f64,
    /// Errors over all runs (warm-up included).
    pub errors: u64,
    /// Verification failures over all runs (warm-up included).
    pub verify_failures: u64,
    /// UDP datagrams lost over the measured runs.
    pub udp_lost: u64,
    /// Runs the generator marked invalid (kept out of every figure).
    pub invalid_runs: usize,
    /// Runs taken under heavy outside load (kept out of every figure).
    pub noisy_runs: usize,
    /// Runs that entered the figures.
    pub valid_runs: usize,
    /// Requests completed over all measured runs, valid or not.
    pub requests: u64,
    /// CPU the hypervisor took from the measured cores (steal), share (median).
    pub steal_util: f64,
    /// The generator's first reason for an invalid run.
    pub first_invalid_reason: Option<String>,
    /// Which side was the limit (from the median CPU use).
    pub limit: Limit,
}

/// Core counts a summary divides by.
#[derive(Debug, Clone, Copy)]
pub struct Cores {
    /// Server cores.
    pub server: usize,
    /// Generator cores.
    pub generator: usize,
    /// Both sets together, each core once.
    pub all: usize,
}

impl Summary {
    /// Summarises the measured `all` samples: figures from those that [count](Sample::counts)
    /// only, errors from every run; the `unmeasured` runs (warm-up, perf counting) contribute
    /// only their errors; `kernel` is the perf run's counts with its requests.
    pub fn of(
        all: &[Sample],
        unmeasured: &[&GenReport],
        kernel: Option<(KernelCounts, u64)>,
        cores: Cores,
        open_loop: bool,
    ) -> Summary {
        let samples: Vec<Sample> = all.iter().filter(|s| s.counts()).cloned().collect();
        let samples = samples.as_slice();
        let med = |f: &dyn Fn(&Sample) -> f64| {
            crate::stats::median(&samples.iter().map(f).collect::<Vec<_>>())
        };
        let lat = |f: &dyn Fn(&Percentiles) -> f64| med(&|s| f(&s.gen.latency_us));
        let server_util = med(&|s| s.server_util(cores.server));
        let gen_util = med(&|s| s.gen_util(cores.generator));
        let warm = |f: fn(&GenReport) -> u64| unmeasured.iter().map(|g| f(g)).sum::<u64>();
        let kernel = |f: fn(&KernelCounts) -> u64| {
            kernel
                .filter(|(_, requests)| *requests > 0)
                .map(|(k, requests)| f(&k) as f64 / requests as f64)
        };
        let connected = samples.iter().any(|s| s.gen.connects.is_some());
        Summary {
            rps: Spread::of(samples.iter().map(|s| s.gen.rps)),
            latency_us: Percentiles {
                p50: lat(&|p| p.p50),
                p90: lat(&|p| p.p90),
                p99: lat(&|p| p.p99),
                p999: lat(&|p| p.p999),
                max: lat(&|p| p.max),
            },
            p99_us: Spread::of(samples.iter().map(|s| s.gen.latency_us.p99)),
            cpu_us_per_request: Spread::of(samples.iter().map(Sample::cpu_us_per_request)),
            user_us_per_request: med(&|s| s.per_request(s.server_user_s * 1e6)),
            sys_us_per_request: med(&|s| s.per_request(s.server_sys_s * 1e6)),
            syscalls_per_request: kernel(|k| k.syscalls),
            ctx_switches_per_request: kernel(|k| k.context_switches),
            cpu_us_per_connection: connected
                .then(|| Spread::of(samples.iter().map(Sample::cpu_us_per_connection))),
            connect_us: connected.then(|| {
                let c = |f: fn(&Percentiles) -> f64| {
                    med(&|s| s.gen.connect_us.as_ref().map_or(f64::NAN, f))
                };
                Percentiles {
                    p50: c(|p| p.p50),
                    p90: c(|p| p.p90),
                    p99: c(|p| p.p99),
                    p999: c(|p| p.p999),
                    max: c(|p| p.max),
                }
            }),
            handshakes: Handshakes::sum(all.iter().map(|s| &s.gen)),
            server_util,
            gen_util,
            // Outside load is noise whether or not the run counted: every run shows it.
            other_util: crate::stats::median(
                &all.iter()
                    .map(|s| s.other_util(cores.all))
                    .collect::<Vec<_>>(),
            ),
            steal_util: crate::stats::median(
                &all.iter()
                    .map(|s| s.steal_s / (s.wall_s * cores.all.max(1) as f64))
                    .collect::<Vec<_>>(),
            ),
            errors: all.iter().map(|s| s.gen.errors).sum::<u64>() + warm(|g| g.errors),
            verify_failures: all.iter().map(|s| s.gen.verify_failures).sum::<u64>()
                + warm(|g| g.verify_failures),
            udp_lost: all.iter().map(|s| s.gen.udp_lost).sum(),
            invalid_runs: all.iter().filter(|s| !s.gen.valid).count(),
            noisy_runs: all.iter().filter(|s| s.gen.valid && s.noisy).count(),
            valid_runs: samples.len(),
            requests: all.iter().map(|s| s.gen.requests).sum(),
            first_invalid_reason: all
                .iter()
                .find_map(|s| s.gen.invalid_reasons.first().cloned()),
            limit: classify_limit(server_util, gen_util, open_loop),
        }
    }
}

/// Seconds as f64, for JSON.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_middle_and_skips_nan() {
        let s = Spread::of([3.0, 1.0, f64::NAN, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of([1.0, 2.0, 3.0, 4.0]).median, 2.5);
        assert!(Spread::of([]).median.is_nan());
    }

    #[test]
    fn limit_follows_the_busier_saturated_side() {
        assert_eq!(classify_limit(0.5, 0.99, false), Limit::Generator);
        assert_eq!(classify_limit(0.99, 0.5, false), Limit::Server);
        assert_eq!(classify_limit(0.95, 0.9, false), Limit::Server);
        assert_eq!(classify_limit(0.3, 0.4, false), Limit::RoundTrip);
        assert_eq!(classify_limit(0.3, 0.4, true), Limit::OfferedRate);
    }

    fn sample(requests: u64, user: f64, sys: f64) -> Sample {
        Sample {
            gen: GenReport {
                requests,
                valid: true,
                ..GenReport::default()
            },
            server_cpu_s: user + sys,
            server_user_s: user,
            server_sys_s: sys,
            gen_cpu_s: 0.0,
            wall_s: 1.0,
            other_cpu_s: 0.5,
            steal_s: 0.0,
            noisy: false,
            repeat: 0,
        }
    }

    #[test]
    fn per_request_figures_divide_by_requests() {
        let s = sample(1000, 0.002, 0.008);
        assert!((s.cpu_us_per_request() - 10.0).abs() < 1e-9);
        assert!((s.server_util(2) - 0.005).abs() < 1e-12);
        assert!((s.other_util(2) - 0.25).abs() < 1e-12);
        let cores = Cores {
            server: 1,
            generator: 1,
            all: 2,
        };
        let perf = KernelCounts {
            syscalls: 2000,
            context_switches: 100,
        };
        let sum = Summary::of(&[s.clone(), s], &[], Some((perf, 1000)), cores, false);
        assert!((sum.user_us_per_request - 2.0).abs() < 1e-9);
        assert!((sum.sys_us_per_request - 8.0).abs() < 1e-9);
        assert_eq!(sum.syscalls_per_request, Some(2.0));
        assert_eq!(sum.ctx_switches_per_request, Some(0.1));
        assert!(sum.cpu_us_per_connection.is_none());
    }

    #[test]
    fn invalid_and_noisy_runs_stay_out_of_the_figures_but_their_errors_count() {
        let cores = Cores {
            server: 1,
            generator: 1,
            all: 2,
        };
        let good = sample(1000, 0.002, 0.008);
        let mut invalid = sample(1000, 0.2, 0.8);
        invalid.gen.valid = false;
        invalid.gen.errors = 2;
        invalid.gen.invalid_reasons = vec!["fell behind".into()];
        let mut noisy = sample(1000, 0.1, 0.4);
        noisy.noisy = true;
        let all = [good.clone(), invalid, noisy, good];
        let sum = Summary::of(&all, &[], None, cores, false);
        assert_eq!(sum.cpu_us_per_request.median, 10.0, "{sum:?}");
        assert_eq!(sum.cpu_us_per_request.max, 10.0, "{sum:?}");
        assert_eq!(
            (sum.valid_runs, sum.invalid_runs, sum.noisy_runs),
            (2, 1, 1)
        );
        assert_eq!(sum.errors, 2);
        assert_eq!(sum.requests, 4000);
        assert_eq!(sum.first_invalid_reason.as_deref(), Some("fell behind"));
    }
}

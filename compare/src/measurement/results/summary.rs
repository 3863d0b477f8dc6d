//! The summary of a design's repeats in one scenario: medians with their intervals, which side
//! was the limit, and the figures verdicts and tables read.

use serde::Serialize;

use super::{GenReport, Handshakes, KernelCounts, Percentiles, Sample};

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

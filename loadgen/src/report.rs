//! Turning a [`RunResult`] into the human summary, the self-check verdict and the JSON document.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use reactor_report::{
    ConnectErrorKinds, Errors, Generator, Interval, LoadMode, PercentileIntervals, Percentiles,
    RunReport, SizeRange, Udp,
};
use serde_json::Value;

use crate::ci;
use crate::clock::NS_PER_SEC;
use crate::run::{RunResult, Workload};
use crate::stats::STALL_NS;
use crate::units::{self, format_ns, percentile_row};

/// Version of the JSON documents (run, probe, merge); bumped on incompatible changes.
pub use reactor_report::SCHEMA_VERSION;

/// Open loop: share of the offered (due) requests a valid run must have sent.
const OFFER_SENT: f64 = 0.99;
/// Share of errors among all outcomes above which a run is invalid: it measured failures.
const MOSTLY_ERRORS: f64 = 0.5;
/// Generator CPU share of its threads at or above which it counts as saturated.
const SATURATED_CPU: f64 = 0.90;
/// Share of the wall time its loop was busy (not waiting) at or above which it counts as
/// saturated even when the OS gave it less CPU (a neighbour on its core).
const SATURATED_BUSY: f64 = 0.95;

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// `{p50, p75, p90, p99, p999, p9999, max, min, mean, count}` in microseconds, all null
/// when the histogram is empty.
pub fn percentiles_us(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles {
            ci95: ci95_us(h),
            ..Percentiles::default()
        };
    }
    let q = |x| Some(us(h.value_at_quantile(x)));
    Percentiles {
        p50: q(0.50),
        p75: q(0.75),
        p90: q(0.90),
        p99: q(0.99),
        p999: q(0.999),
        p9999: q(0.9999),
        max: Some(us(h.max())),
        min: Some(us(h.min())),
        mean: Some(h.mean() / 1e3),
        count: h.len(),
        ci95: ci95_us(h),
    }
}

/// The percentiles the reports print, with their JSON names.
const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p999", 0.999),
    ("p9999", 0.9999),
];

/// Each percentile's 95% confidence interval in microseconds, from its order statistics
/// ([`crate::ci`]); `None` where there are too few samples to bound it.
pub fn ci95_us(h: &Histogram<u64>) -> PercentileIntervals {
    let bound = |q| ci::ci95(h, q).map(|(lo, hi)| [us(lo), us(hi)]);
    PercentileIntervals {
        p50: bound(0.50),
        p75: bound(0.75),
        p90: bound(0.90),
        p99: bound(0.99),
        p999: bound(0.999),
        p9999: bound(0.9999),
    }
}

/// Latencies timed at the read rather than at the kernel's arrival stamp carry the
/// generator's own wake-up delay: said, with how many reads it touched.
fn stamp_warning(r: &RunResult) -> Option<String> {
    if !r.kernel_stamps {
        Some(
            "the kernel gave no receive timestamps: latencies end when the generator read \
             each response, so they include its own wake-up delay"
                .into(),
        )
    } else if r.unstamped_reads > 0 {
        Some(format!(
            "{} reads came without a kernel receive timestamp: their responses were timed \
             when the generator read them, which includes its own wake-up delay",
            r.unstamped_reads
        ))
    } else {
        None
    }
}

/// Is the latency stationary over the run (one of Lancet's checks)? The median of the first
/// third of the intervals against that of the last third: when they differ by more than
/// 2x (and each rests on at least 100 samples), the run's percentiles mix two regimes (a
/// warming cache, a growing queue, a server slowing down) and the warning says so.
fn drift(r: &RunResult) -> Option<String> {
    let n = r.intervals.len();
    if n < 3 {
        return None;
    }
    let third = n / 3;
    let median = |ivs: &[crate::run::Interval]| {
        let mut h = crate::stats::new_histogram();
        for iv in ivs {
            let _ = h.add(&iv.latency);
        }
        (h.len() >= 100).then(|| h.value_at_quantile(0.5))
    };
    let first = median(&r.intervals[..third])?;
    let last = median(&r.intervals[n - third..])?;
    let (lo, hi) = (first.min(last).max(1), first.max(last));
    (hi > 2 * lo).then(|| {
        format!(
            "the latency was not stationary: median {} in the first third of the run, {} in \
             the last; its percentiles mix two regimes (run longer, or look at the time series)",
            format_ns(first),
            format_ns(last)
        )
    })
}

/// The printed percentiles of `h` that rest on too few samples to be bounded.
fn unbounded_percentiles(h: &Histogram<u64>) -> Vec<&'static str> {
    PERCENTILES
        .iter()
        .filter(|&&(_, q)| ci::ranks(h.len(), q).is_none())
        .map(|&(name, _)| name)
        .collect()
}

/// The summary's line of 95% confidence intervals of the latency percentiles that are wide
/// (more than 10% of the value either way), if any.
fn wide_intervals(h: &Histogram<u64>) -> Option<String> {
    let wide: Vec<String> = PERCENTILES
        .iter()
        .filter_map(|&(name, q)| {
            let (lo, hi) = ci::ci95(h, q)?;
            let v = h.value_at_quantile(q).max(1) as f64;
            ((hi - lo) as f64 > 0.2 * v)
                .then(|| format!("{name} [{}, {}]", format_ns(lo), format_ns(hi)))
        })
        .collect();
    (!wide.is_empty()).then(|| format!("  95% CI     {}\n", wide.join("  ")))
}

/// The self-check: is the run trustworthy, and what should the reader be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// False when the generator could not do what it was asked.
    pub valid: bool,
    /// Why it is invalid.
    pub reasons: Vec<String>,
    /// Things worth knowing that do not invalidate the numbers.
    pub warnings: Vec<String>,
    /// The generator, not the server, limited the run (it is among the reasons).
    pub generator_limited: bool,
}

impl Verdict {
    fn invalid(&mut self, by_generator: bool, reason: String) {
        self.valid = false;
        self.generator_limited |= by_generator;
        self.reasons.push(reason);
    }
}

/// Generator CPU use as a share of its threads' capacity.
pub fn cpu_share(r: &RunResult) -> f64 {
    let cpu = (r.cpu_user + r.cpu_sys).as_nanos() as f64;
    cpu / (r.measured_ns as f64 * r.config.threads.max(1) as f64)
}

/// Share of the wall time the generator's loops spent awake with nothing to do: glancing at
/// I/O and waiting on the clock for a send too close to sleep for (precision bought with CPU).
pub fn spin_share(r: &RunResult) -> f64 {
    let wall = r.measured_ns as f64 * r.config.threads.max(1) as f64;
    (r.total.counters.spin_ns as f64 / wall).clamp(0.0, 1.0)
}

/// Wake-ups (waits that slept or blocked) per completed request: below 1 when the open
/// loop batched sends, about 1 when each send had its own, 2 when responses woke it too.
pub fn wakeups_per_request(r: &RunResult) -> f64 {
    let c = &r.total.counters;
    c.wakeups as f64 / c.requests.max(1) as f64
}

/// Share of the wall time the generator's loops had work (were not waiting for I/O or for a
/// send time), over all threads.
pub fn loop_busy_share(r: &RunResult) -> f64 {
    let wall = r.measured_ns as f64 * r.config.threads.max(1) as f64;
    (1.0 - r.total.counters.idle_ns as f64 / wall).clamp(0.0, 1.0)
}

/// The generator itself was out of capacity: CPU (spinning for send times aside) or loop busy
/// near 100 %.
pub fn generator_saturated(r: &RunResult) -> bool {
    cpu_share(r) - spin_share(r) >= SATURATED_CPU || loop_busy_share(r) >= SATURATED_BUSY
}

/// Judge the run: whose fault is a latency, the generator's or the server's?
///
/// In open loop a request's send lag is schedule lateness (the loop noticed late: always the
/// generator) plus connection wait (every connection's pipeline was full). The wait is the
/// server's doing, or too few connections, unless the generator itself was saturated (CPU or
/// loop busy near 100 %): then the slots were full because it had not yet read the responses
/// that free them, and the run measured the generator. CPU spent spinning for send times is
/// CPU the generator could have given to work, so it does not count towards saturation.
pub fn verdict(r: &RunResult) -> Verdict {
    let mut v = Verdict {
        valid: true,
        ..Verdict::default()
    };
    let share = cpu_share(r);
    let busy = loop_busy_share(r);
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let threads = r.config.threads;
    let limit = r.config.max_lateness.as_nanos() as u64;
    let spin = spin_share(r);
    let saturated = share - spin >= SATURATED_CPU || busy >= SATURATED_BUSY;
    let mut load = format!(
        "CPU {:.0}% of its {}, loop busy {:.0}% of the time",
        share * 100.0,
        units::count(threads, "thread"),
        busy * 100.0
    );
    if spin >= 0.01 {
        let _ = write!(load, ", spinning {:.0}%", spin * 100.0);
    }
    if let Some(rate) = r.config.rate {
        let h = &r.total.hist;
        let late = h.schedule_lateness.value_at_quantile(0.99);
        if !h.schedule_lateness.is_empty() && late > limit {
            let cause = if saturated {
                "it is out of CPU".to_string()
            } else {
                let mut cause = "it had CPU to spare, so it was woken late or preempted (a \
                                 neighbour on its core, or the machine's wake-up latency"
                    .to_string();
                let wake = &h.wake_overshoot;
                if !wake.is_empty() {
                    let _ = write!(
                        cause,
                        ": its timed waits returned p99 {} and at worst {} late",
                        format_ns(wake.value_at_quantile(0.99)),
                        format_ns(wake.max())
                    );
                }
                let c = &r.total.counters;
                if c.stalls > 0 {
                    let _ = write!(
                        cause,
                        "; while spinning it was off its CPU {} times for over {}, {} in all",
                        c.stalls,
                        format_ns(STALL_NS),
                        format_ns(c.stalled_ns)
                    );
                }
                cause.push_str("; `reactor-loadgen probe` measures what this machine allows");
                if !r.config.idle_poll {
                    cause.push_str(
                        "; --idle-poll, as root, makes wake-ups cheaper and more punctual where \
                         idle CPUs halt, as on a VM",
                    );
                }
                cause.push(')');
                cause
            };
            v.invalid(
                true,
                format!(
                    "generator fell behind its own schedule: p99 lateness {} (limit {}); {load}; \
                     {cause}",
                    format_ns(late),
                    format_ns(limit)
                ),
            );
        }
        let scheduled = h.schedule_lateness.len() as f64 / secs;
        if h.schedule_lateness.len() > 100 && scheduled < 0.9 * rate {
            v.invalid(
                true,
                format!(
                    "generator scheduled only {scheduled:.0} of the {rate:.0} req/s offered; {load}"
                ),
            );
        }
        let wait = h.conn_wait.value_at_quantile(0.99);
        let waited = !h.conn_wait.is_empty() && wait > limit;
        let overflowed = r.total.counters.backlog_overflows > 0;
        if saturated && (waited || overflowed) {
            v.invalid(
                true,
                format!(
                    "generator saturated ({load}): requests waited p99 {} for a connection \
                     slot that the generator itself had not yet freed by reading the \
                     response; add threads (-t) or lower the rate",
                    format_ns(wait)
                ),
            );
        } else if overflowed {
            v.invalid(
                false,
                format!(
                    "the backlog of due requests overflowed (peak {}): the offered rate is far \
                     above what {} connection(s) x pipeline {} can carry",
                    r.total.counters.backlog_peak, r.config.connections, r.config.pipeline
                ),
            );
        } else if waited {
            v.warnings.push(format!(
                "the backlog grew because every connection was busy: requests waited p99 {} \
                 for a free connection (peak backlog {}); add connections (-c or --pipeline) \
                 unless this queueing in front of the server is what you want to measure",
                format_ns(wait),
                r.total.counters.backlog_peak
            ));
        }
        if saturated && v.valid {
            v.warnings.push(format!(
                "generator near saturation ({load}) but it kept its schedule"
            ));
        }
        let c = &r.total.counters;
        if c.due > 0 && (c.sent as f64) < OFFER_SENT * c.due as f64 {
            v.invalid(
                false,
                format!(
                    "overload: {} of the {} requests offered were sent ({:.1}%; {} never \
                     sent by the end, {} timed out): the server (or --connections x \
                     --pipeline) could not take the offered rate, so this measured a queue, \
                     not the rate asked for",
                    c.sent,
                    c.due,
                    c.sent as f64 * 100.0 / c.due as f64,
                    c.unsent,
                    c.errors.timeout
                ),
            );
        }
    } else if saturated {
        v.generator_limited = true;
        v.warnings.push(format!(
            "generator saturated ({load}): throughput may be the generator's limit, not the \
             server's"
        ));
    }
    if let Some(drift) = drift(r) {
        v.warnings.push(drift);
    }
    let unbounded = unbounded_percentiles(&r.total.hist.latency);
    if !unbounded.is_empty() && !r.total.hist.latency.is_empty() {
        v.warnings.push(format!(
            "latency {} rest(s) on too few samples ({}) to be bounded with 95% confidence: \
             read them as the largest values seen, not as percentiles",
            unbounded.join(", "),
            r.total.hist.latency.len()
        ));
    }
    let errors = error_rate(r);
    if errors > MOSTLY_ERRORS {
        v.invalid(
            false,
            format!(
                "{:.0}% of the outcomes were errors: the run measured failures, not the \
                 service",
                errors * 100.0
            ),
        );
    }
    if let Some(w) = stamp_warning(r) {
        v.warnings.push(w);
    }
    v.warnings.extend(crate::tls_report::warnings(r));
    if r.connected < r.config.connections && !r.config.connect_per_request {
        v.warnings.push(format!(
            "only {} of {} connections could be established",
            r.connected, r.config.connections
        ));
    }
    v
}

/// The human summary.
pub fn summary(r: &RunResult, v: &Verdict) -> String {
    let c = &r.total.counters;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let mut s = String::new();
    let cfg = &r.config;
    let mode = match cfg.rate {
        Some(rate) => format!(
            "open loop, {rate:.0} req/s offered ({} arrivals)",
            format!("{:?}", cfg.arrival).to_lowercase()
        ),
        None => "closed loop".to_string(),
    };
    let mode = if cfg.connect_per_request {
        format!("{mode}, a new connection per request")
    } else {
        mode
    };
    let mode = if cfg.idle_poll {
        format!("{mode}, idle CPUs polling, not halting")
    } else {
        mode
    };
    let _ = writeln!(
        s,
        "{} {} ({}): {}, {}, pipeline {}, {mode}",
        cfg.workload.name(),
        cfg.target,
        r.addr,
        units::count(cfg.connections, "connection"),
        units::count(cfg.threads, "thread"),
        cfg.pipeline
    );
    let _ = writeln!(
        s,
        "  requests   {} in {:.2} s = {:.0} req/s, {:.2} MB/s received, {:.2} MB/s sent",
        c.requests,
        secs,
        c.requests as f64 / secs,
        c.bytes_received as f64 / secs / 1e6,
        c.bytes_sent as f64 / secs / 1e6
    );
    if cfg.rate.is_some() {
        let _ = writeln!(
            s,
            "  offered    {} due, {} sent ({:.1}%), {} never sent",
            c.due,
            c.sent,
            c.sent as f64 * 100.0 / c.due.max(1) as f64,
            c.unsent
        );
    }
    let row = percentile_row;
    s.push_str(&row("latency", &r.total.hist.latency));
    if let Some(line) = wide_intervals(&r.total.hist.latency) {
        s.push_str(&line);
    }
    if cfg.rate.is_some() {
        s.push_str(&row("intended", &r.total.hist.intended_latency));
        s.push_str(&row("service", &r.total.hist.service));
        s.push_str(&row("send lag", &r.total.hist.send_lag));
        s.push_str(&row("  late", &r.total.hist.schedule_lateness));
        s.push_str(&row("  conn wait", &r.total.hist.conn_wait));
        s.push_str(&row("wake-up", &r.total.hist.wake_overshoot));
    }
    s.push_str(&row("connect", &r.connect));
    s.push_str(&crate::tls_report::summary(r));
    if cfg.connect_per_request || c.connects > 0 {
        let _ = writeln!(
            s,
            "  connects   {} in total, {:.0}/s while measuring",
            r.connects,
            c.connects as f64 / secs
        );
    }
    let e = &c.errors;
    let _ = writeln!(
        s,
        "  errors     {} (connect {}, timeout {}, reset {}, verify {}, http status {})",
        e.total(),
        e.connect,
        e.timeout,
        e.reset,
        e.verify,
        e.http_status
    );
    if let (true, Some(first)) = (e.total() > e.http_status, &r.first_error) {
        let _ = writeln!(s, "  first error {first}");
    }
    let k = &e.connect_kinds;
    if e.connect > 0 {
        let _ = writeln!(
            s,
            "  connect errors: refused {}, timed out {}, reset {}, no local address {}, \
             tls handshake {}, other {}",
            k.refused, k.timed_out, k.reset, k.no_local_address, k.tls_handshake, k.other
        );
    }
    if cfg.workload == Workload::Http {
        let codes: Vec<String> = c
            .status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        let _ = writeln!(s, "  status     {}", codes.join(", "));
    }
    if cfg.workload == Workload::Udp {
        let u = &c.udp;
        let _ = writeln!(
            s,
            "  udp        sent {}, received {}, lost {} ({:.2}%), reordered {}, duplicated {}, late {}",
            u.sent,
            u.received,
            u.lost,
            loss_ratio(r) * 100.0,
            u.reordered,
            u.duplicated,
            u.late
        );
    }
    let _ = write!(
        s,
        "  generator  CPU {:.2} s user + {:.2} s system = {:.0}% of {}, loop busy {:.0}%",
        r.cpu_user.as_secs_f64(),
        r.cpu_sys.as_secs_f64(),
        cpu_share(r) * 100.0,
        units::count(cfg.threads, "thread"),
        loop_busy_share(r) * 100.0
    );
    let spin = spin_share(r);
    if spin >= 0.01 {
        let _ = write!(s, ", spinning {:.0}% (waiting on the clock)", spin * 100.0);
    }
    if cfg.rate.is_some() {
        let _ = write!(s, ", {:.2} wake-ups per request", wakeups_per_request(r));
    }
    s.push('\n');
    if v.valid {
        let _ = writeln!(s, "  self-check valid");
    } else {
        let _ = writeln!(s, "  self-check INVALID: {}", v.reasons.join("; "));
    }
    for w in &v.warnings {
        let _ = writeln!(s, "  warning    {w}");
    }
    if r.interrupted {
        let _ = writeln!(
            s,
            "  INTERRUPTED by Ctrl-C after {secs:.2} s: the figures are of what was measured \
             until then"
        );
    }
    s
}

/// Lost UDP datagrams as a share of those sent and resolved (answered or lost).
pub fn loss_ratio(r: &RunResult) -> f64 {
    let u = &r.total.counters.udp;
    let resolved = u.received + u.lost;
    if resolved == 0 {
        0.0
    } else {
        u.lost as f64 / resolved as f64
    }
}

/// Errors as a share of requests answered plus errors.
pub fn error_rate(r: &RunResult) -> f64 {
    let c = &r.total.counters;
    let errors = c.errors.total();
    // An error status is an answered request too: count each outcome once.
    let all = (c.requests + errors).saturating_sub(c.errors.http_status);
    if all == 0 {
        0.0
    } else {
        errors as f64 / all as f64
    }
}

/// The JSON document (schema in loadgen/README.md, types in `reactor-report`).
pub fn to_json(r: &RunResult, v: &Verdict) -> Value {
    // Serialising these plain structs cannot fail (string keys, no custom serialisers).
    serde_json::to_value(to_report(r, v)).unwrap_or_default()
}

/// The typed report of one run: what `--json` writes and `compare` reads.
pub fn to_report(r: &RunResult, v: &Verdict) -> RunReport {
    let c = &r.total.counters;
    let cfg = &r.config;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let status_codes = c
        .status
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(code, &n)| (code.to_string(), n))
        .collect();
    let timeseries = r
        .intervals
        .iter()
        .map(|iv| {
            let len = iv.length_ns.max(1) as f64 / NS_PER_SEC as f64;
            let q = |x| (!iv.latency.is_empty()).then(|| us(iv.latency.value_at_quantile(x)));
            Interval {
                t_s: iv.index,
                length_s: len,
                requests: iv.requests,
                errors: iv.errors,
                rps: iv.requests as f64 / len,
                p50_us: q(0.5),
                p99_us: q(0.99),
                max_us: (!iv.latency.is_empty()).then(|| us(iv.latency.max())),
            }
        })
        .collect();
    let k = &c.errors.connect_kinds;
    let h = &r.total.hist;
    RunReport {
        schema: reactor_report::SCHEMA.to_string(),
        schema_version: SCHEMA_VERSION,
        workload: cfg.workload.name().to_string(),
        target: cfg.target.clone(),
        address: r.addr.to_string(),
        mode: if cfg.rate.is_some() {
            LoadMode::Open
        } else {
            LoadMode::Closed
        },
        offered_rps: cfg.rate,
        arrival: cfg
            .rate
            .map(|_| format!("{:?}", cfg.arrival).to_lowercase()),
        connections: cfg.connections,
        connected: r.connected,
        threads: cfg.threads,
        pipeline: cfg.pipeline,
        size: SizeRange {
            min: cfg.size.min,
            max: cfg.size.max,
        },
        started_unix_s: r
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        duration_s: secs,
        requests: c.requests,
        sent: c.sent,
        rps: c.requests as f64 / secs,
        sent_rps: c.sent as f64 / secs,
        bytes_sent: c.bytes_sent,
        bytes_received: c.bytes_received,
        mb_per_s: c.bytes_received as f64 / secs / 1e6,
        errors: Errors {
            total: c.errors.total(),
            connect: c.errors.connect,
            timeout: c.errors.timeout,
            reset: c.errors.reset,
            verify: c.errors.verify,
            http_status: c.errors.http_status,
            connect_by_kind: ConnectErrorKinds {
                refused: k.refused,
                timed_out: k.timed_out,
                reset: k.reset,
                no_local_address: k.no_local_address,
                tls_handshake: k.tls_handshake,
                other: k.other,
            },
        },
        error_rate: error_rate(r),
        verify_failures: c.errors.verify,
        status_codes,
        valid: v.valid,
        invalid_reasons: v.reasons.clone(),
        warnings: v.warnings.clone(),
        latency_us: percentiles_us(&h.latency),
        service_time_us: percentiles_us(&h.service),
        send_lag_us: percentiles_us(&h.send_lag),
        schedule_lateness_us: percentiles_us(&h.schedule_lateness),
        connect_us: percentiles_us(&r.connect),
        generator: Generator {
            cpu_user_s: r.cpu_user.as_secs_f64(),
            cpu_system_s: r.cpu_sys.as_secs_f64(),
            cpu_share_of_threads: cpu_share(r),
            loop_busy_share: loop_busy_share(r),
            spin_share: spin_share(r),
            wakeups: c.wakeups,
            wakeups_per_request: wakeups_per_request(r),
            stalls: c.stalls,
            stalled_s: c.stalled_ns as f64 / NS_PER_SEC as f64,
            wake_overshoot_us: percentiles_us(&h.wake_overshoot),
            idle_poll: cfg.idle_poll,
        },
        timeseries,
        conn_wait_us: percentiles_us(&h.conn_wait),
        intended_latency_us: percentiles_us(&h.intended_latency),
        interrupted: r.interrupted,
        due: c.due,
        unsent: c.unsent,
        max_lateness_us: cfg.max_lateness.as_nanos() as f64 / 1e3,
        limited_by: v.generator_limited.then(|| "generator".to_string()),
        backlog_peak: c.backlog_peak,
        connect_per_request: cfg.connect_per_request,
        connects: r.connects,
        connects_per_s: c.connects as f64 / secs,
        tls: crate::tls_report::to_json(r),
        udp: (cfg.workload == Workload::Udp).then(|| {
            let u = &c.udp;
            Udp {
                sent: u.sent,
                received: u.received,
                lost: u.lost,
                loss_ratio: loss_ratio(r),
                reordered: u.reordered,
                duplicated: u.duplicated,
                late: u.late,
            }
        }),
        find_max: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_sensible() {
        assert_eq!(format_ns(850), "850 ns");
        assert_eq!(format_ns(12_345), "12.3 µs");
        assert_eq!(format_ns(4_560_000), "4.56 ms");
        assert_eq!(format_ns(1_200_000_000), "1.20 s");
    }

    /// A 1-second open-loop run at 100k/s offered, one thread, 64 connections.
    fn open_run(cpu_share: f64, idle_share: f64, lateness_ns: u64, wait_ns: u64) -> RunResult {
        use crate::run::{HttpOptions, RunConfig};
        use std::time::{Duration, SystemTime};
        let mut total = crate::stats::Recorder::default();
        for _ in 0..100_000 {
            total.hist.schedule_lateness.saturating_record(lateness_ns);
            total.hist.conn_wait.saturating_record(wait_ns);
        }
        total.counters.sent = 100_000;
        total.counters.requests = 100_000;
        total.counters.idle_ns = (idle_share * 1e9) as u64;
        RunResult {
            config: RunConfig {
                workload: Workload::Tcp,
                target: "127.0.0.1:1".into(),
                connections: 64,
                threads: 1,
                pipeline: 1,
                connect_per_request: false,
                duration: Some(Duration::from_secs(1)),
                warmup: Duration::ZERO,
                requests: None,
                timeout: Duration::from_secs(2),
                connect_timeout: Duration::from_secs(2),
                size: crate::cli::SizeSpec { min: 64, max: 64 },
                rate: Some(100_000.0),
                arrival: crate::cli::Arrival::Uniform,
                start_at: None,
                http: HttpOptions::default(),
                progress: false,
                max_lateness: Duration::from_micros(100),
                idle_poll: false,
            },
            addr: "127.0.0.1:1".parse().unwrap(),
            measured_ns: NS_PER_SEC,
            total,
            connect: crate::stats::new_histogram(),
            connected: 64,
            connects: 64,
            tls: None,
            intervals: Vec::new(),
            cpu_user: Duration::from_secs_f64(cpu_share / 2.0),
            cpu_sys: Duration::from_secs_f64(cpu_share / 2.0),
            started: SystemTime::now(),
            first_error: None,
            interrupted: false,
            kernel_stamps: true,
            unstamped_reads: 0,
        }
    }

    #[test]
    fn responses_timed_at_the_read_are_a_warning() {
        let mut r = open_run(0.3, 0.6, 20_000, 0);
        assert!(verdict(&r).warnings.is_empty());
        r.unstamped_reads = 12;
        let v = verdict(&r);
        assert!(v.valid, "{v:?}");
        assert!(v.warnings.iter().any(|w| w.contains("12 reads")), "{v:?}");
        r.kernel_stamps = false;
        let v = verdict(&r);
        assert!(
            v.warnings
                .iter()
                .any(|w| w.contains("no receive timestamps")),
            "{v:?}"
        );
    }

    #[test]
    fn a_saturated_generator_whose_requests_wait_for_slots_is_invalid_and_named() {
        // The case that was once reported valid: lateness small, send lag large because the
        // requests waited for connections the busy generator had not freed.
        let v = verdict(&open_run(0.98, 0.01, 20_000, 30_000_000));
        assert!(!v.valid);
        assert!(v.generator_limited);
        assert!(
            v.reasons.iter().any(|r| r.contains("generator saturated")),
            "{v:?}"
        );
    }

    #[test]
    fn a_server_that_keeps_connections_busy_is_a_warning_to_add_connections() {
        let v = verdict(&open_run(0.30, 0.60, 20_000, 30_000_000));
        assert!(v.valid, "{v:?}");
        assert!(!v.generator_limited);
        assert!(
            v.warnings.iter().any(|w| w.contains("add connections")),
            "{v:?}"
        );
    }

    #[test]
    fn schedule_lateness_is_the_generators_fault() {
        let v = verdict(&open_run(0.40, 0.50, 500_000, 1_000));
        assert!(!v.valid);
        assert!(v.generator_limited);
        assert!(v.reasons[0].contains("generator fell behind"), "{v:?}");
    }

    #[test]
    fn a_punctual_run_is_valid() {
        let v = verdict(&open_run(0.40, 0.50, 20_000, 1_000));
        assert!(
            v.valid && v.reasons.is_empty() && v.warnings.is_empty(),
            "{v:?}"
        );
    }

    #[test]
    fn cpu_spent_spinning_for_send_times_is_not_saturation() {
        // All of its CPU, 60 % of it spinning by choice, and requests waiting for slots: the
        // slots were busy at the server, not because the generator was out of CPU.
        let mut r = open_run(1.0, 0.65, 20_000, 30_000_000);
        r.total.counters.spin_ns = 600_000_000;
        let v = verdict(&r);
        assert!(v.valid, "{v:?}");
        assert!(!v.generator_limited, "{v:?}");
        assert!(
            v.warnings.iter().any(|w| w.contains("add connections")),
            "{v:?}"
        );
        // Without the spinning the same CPU is saturation.
        r.total.counters.spin_ns = 0;
        assert!(!verdict(&r).valid);
    }

    #[test]
    fn lateness_with_cpu_to_spare_quotes_the_machines_wake_ups_and_stalls() {
        let mut r = open_run(0.40, 0.50, 500_000, 1_000);
        r.total.hist.wake_overshoot.saturating_record(3_000_000);
        r.total.counters.stalls = 7;
        r.total.counters.stalled_ns = 12_000_000;
        let v = verdict(&r);
        assert!(!v.valid);
        let reason = &v.reasons[0];
        assert!(reason.contains("had CPU to spare"), "{reason}");
        assert!(reason.contains("returned p99 3.00 ms"), "{reason}");
        assert!(reason.contains("off its CPU 7 times"), "{reason}");
        assert!(reason.contains("--idle-poll"), "{reason}");
        // Once idle CPUs poll, the advice has been taken.
        r.config.idle_poll = true;
        let reason = &verdict(&r).reasons[0];
        assert!(!reason.contains("--idle-poll"), "{reason}");
    }

    #[test]
    fn the_written_document_is_what_the_typed_reader_accepts() {
        for workload in [Workload::Tcp, Workload::Udp, Workload::Http] {
            let mut r = open_run(0.40, 0.50, 500_000, 1_000);
            r.config.workload = workload;
            let v = verdict(&r);
            let text = serde_json::to_string(&to_json(&r, &v)).unwrap_or_default();
            let read = reactor_report::parse(&text);
            assert!(read.is_ok(), "{workload:?}: {read:?}");
            assert_eq!(read.ok(), Some(to_report(&r, &v)));
        }
    }

    #[test]
    fn empty_histogram_gives_nulls() {
        let h = crate::stats::new_histogram();
        assert_eq!(percentiles_us(&h).p99, None);
        let doc = serde_json::to_value(percentiles_us(&h)).unwrap_or_default();
        assert_eq!(doc["p99"], Value::Null);
    }
}

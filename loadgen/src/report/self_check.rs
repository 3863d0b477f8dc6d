//! The run's self-check: is it trustworthy (the generator did what it was asked, and the
//! numbers are the server's), and what should the reader be told.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::{error_rate, PERCENTILES};
use crate::ci;
use crate::clock::NS_PER_SEC;
use crate::run::RunResult;
use crate::stats::STALL_NS;
use crate::units::{self, format_ns};

/// Open loop: share of the offered (due) requests a valid run must have sent.
const OFFER_SENT: f64 = 0.99;
/// Share of errors among all outcomes above which a run is invalid: it measured failures.
const MOSTLY_ERRORS: f64 = 0.5;
/// Generator CPU share of its threads at or above which it counts as saturated.
const SATURATED_CPU: f64 = 0.90;
/// Share of the wall time its loop was busy (not waiting) at or above which it counts as
/// saturated even when the OS gave it less CPU (a neighbour on its core).
const SATURATED_BUSY: f64 = 0.95;

/// Latencies timed at the read rather than at the kernel's arrival stamp carry the
/// generator's own wake-up delay: said, with how many reads it touched.
fn stamp_warning(r: &RunResult) -> Option<String> {
    if !r.kernel_stamps {
        Some(
            "no receive timestamps: the kernel stamped none of the datagrams the generator \
             sent itself at the start (or they were lost); latencies end when the generator \
             read each response, so they include its own wake-up delay"
                .into(),
        )
    } else {
        let mut causes = Vec::new();
        if r.unstamped_reads > 0 {
            causes.push(format!(
                "{} reads came without a kernel receive timestamp",
                r.unstamped_reads
            ));
        }
        if r.stamps_before_send > 0 {
            causes.push(format!(
                "{} answers carried a stamp from before their request's send (a clock step)",
                r.stamps_before_send
            ));
        }
        (!causes.is_empty()).then(|| {
            format!(
                "{}: their responses were timed when the generator read them, which includes \
                 its own wake-up delay",
                causes.join(" and ")
            )
        })
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
pub(super) fn wide_intervals(h: &Histogram<u64>) -> Option<String> {
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
pub struct SelfCheck {
    /// False when the generator could not do what it was asked.
    pub valid: bool,
    /// Why it is invalid.
    pub reasons: Vec<String>,
    /// Things worth knowing that do not invalidate the numbers.
    pub warnings: Vec<String>,
    /// The generator, not the server, limited the run (it is among the reasons).
    pub generator_limited: bool,
}

impl SelfCheck {
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

/// The run's self-check: whose fault is a latency, the generator's or the server's?
///
/// In open loop a request's send lag is schedule lateness (the loop noticed late: always the
/// generator) plus connection wait (every connection's pipeline was full). The wait is the
/// server's doing, or too few connections, unless the generator itself was saturated (CPU or
/// loop busy near 100 %): then the slots were full because it had not yet read the responses
/// that free them, and the run measured the generator. CPU spent spinning for send times is
/// CPU the generator could have given to work, so it does not count towards saturation.
pub fn self_check(r: &RunResult) -> SelfCheck {
    let mut v = SelfCheck {
        valid: true,
        ..SelfCheck::default()
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
            "latency {} {} on too few samples ({}) to be bounded with 95% confidence: \
             read {} as the largest values seen, not as percentiles",
            unbounded.join(", "),
            if unbounded.len() == 1 {
                "rests"
            } else {
                "rest"
            },
            r.total.hist.latency.len(),
            if unbounded.len() == 1 { "it" } else { "them" },
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
    if let Some(table) = r.conntrack.filter(|t| t.nearly_full()) {
        v.warnings.push(table.explain());
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

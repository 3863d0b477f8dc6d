//! `reactor-loadgen probe`: what this machine allows an open-loop generator, measured.
//!
//! Two things bound the schedule lateness any generator can hold, and both belong to the
//! machine rather than to the generator: how late a timed wait returns (a sleeping generator
//! pays it on every wake-up; on a VM whose idle vCPU halts, the host decides), and how often a
//! thread that never sleeps loses its CPU anyway (on a VM, the host running something else on
//! the physical core). The probe measures both, for a while, on the CPU it is pinned to:
//! timed waits of a few lengths, then a thread spinning on the clock against a 20 µs
//! schedule, counting every gap between two clock reads over [`STALL_NS`] as a stall.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::clock::{now_ns, sleep_until_exactly, thread_cpu_ns, tighten_timer_slack};
use crate::report::percentiles_us;
use crate::stats::{new_histogram, STALL_NS};
use crate::units::{format_ns, percentile_row};

/// Lengths of the timed waits measured.
const SLEEPS_NS: [u64; 3] = [50_000, 200_000, 1_000_000];
/// Period of the spinning thread's schedule.
const SPIN_PERIOD_NS: u64 = 20_000;

/// Timed waits of one length.
pub struct WaitProbe {
    /// Requested length.
    pub sleep_ns: u64,
    /// How late each wait returned.
    pub overshoot: Histogram<u64>,
    /// CPU time of the thread per wait, ns.
    pub cpu_per_wait_ns: u64,
}

/// The spinning thread.
pub struct SpinProbe {
    /// How late it noticed each 20 µs tick.
    pub lateness: Histogram<u64>,
    /// Gaps of more than [`STALL_NS`] between two clock reads.
    pub stalls: u64,
    /// Their total length, ns.
    pub stalled_ns: u64,
    /// The longest, ns.
    pub longest_ns: u64,
    /// Length of the spin phase, ns.
    pub wall_ns: u64,
}

/// Everything measured.
pub struct ProbeResult {
    /// One entry per wait length.
    pub waits: Vec<WaitProbe>,
    /// The spin phase.
    pub spin: SpinProbe,
    /// Idle CPUs were held polling meanwhile (`--idle-poll`).
    pub idle_poll: bool,
}

/// Probe for about `duration`: half of it in timed waits, half spinning. `idle_poll` says
/// whether the caller holds idle CPUs polling meanwhile; it is only reported.
pub fn run(duration: Duration, idle_poll: bool) -> ProbeResult {
    tighten_timer_slack();
    let total = duration.as_nanos() as u64;
    let per_length = total / 2 / SLEEPS_NS.len() as u64;
    let waits = SLEEPS_NS
        .iter()
        .map(|&s| probe_waits(s, per_length))
        .collect();
    ProbeResult {
        waits,
        spin: probe_spin(total / 2),
        idle_poll,
    }
}

fn probe_waits(sleep_ns: u64, for_ns: u64) -> WaitProbe {
    let mut overshoot = new_histogram();
    let cpu_before = thread_cpu_ns();
    let end = now_ns() + for_ns;
    let mut n = 0u64;
    while now_ns() < end {
        let wanted = now_ns() + sleep_ns;
        sleep_until_exactly(wanted);
        overshoot.saturating_record(now_ns().saturating_sub(wanted).max(1));
        n += 1;
    }
    WaitProbe {
        sleep_ns,
        overshoot,
        cpu_per_wait_ns: thread_cpu_ns().saturating_sub(cpu_before) / n.max(1),
    }
}

fn probe_spin(for_ns: u64) -> SpinProbe {
    let mut lateness = new_histogram();
    let (mut stalls, mut stalled_ns, mut longest_ns) = (0, 0, 0);
    let start = now_ns();
    let end = start + for_ns;
    let mut due = start + SPIN_PERIOD_NS;
    let mut last = start;
    loop {
        let now = now_ns();
        let gap = now - last;
        if gap > STALL_NS {
            stalls += 1;
            stalled_ns += gap;
            longest_ns = longest_ns.max(gap);
        }
        last = now;
        if now >= due {
            lateness.saturating_record((now - due).max(1));
            due += SPIN_PERIOD_NS;
            // Ticks missed during a stall were noticed now, each as late as it is.
            while due <= now {
                lateness.saturating_record((now - due).max(1));
                due += SPIN_PERIOD_NS;
            }
        }
        if now >= end {
            break;
        }
        std::hint::spin_loop();
    }
    SpinProbe {
        lateness,
        stalls,
        stalled_ns,
        longest_ns,
        // Up to the last clock read the loop acted on, so every tick in it was recorded.
        wall_ns: last - start,
    }
}

impl SpinProbe {
    /// Share of the spin phase the thread was off its CPU.
    pub fn stalled_share(&self) -> f64 {
        self.stalled_ns as f64 / self.wall_ns.max(1) as f64
    }
}

/// The human report.
pub fn summary(p: &ProbeResult) -> String {
    let idle = if p.idle_poll {
        " (idle CPUs polling, not halting)"
    } else {
        ""
    };
    let mut s = format!(
        "probe: what this machine allows an open-loop generator{idle}\n  timed waits, how late they returned:\n",
    );
    for w in &p.waits {
        s.push_str(&percentile_row(&format_ns(w.sleep_ns), &w.overshoot));
        s.push_str(&format!(
            "  {:<10} {} waits, CPU {} per wait\n",
            "",
            w.overshoot.len(),
            format_ns(w.cpu_per_wait_ns)
        ));
    }
    let spin = &p.spin;
    s.push_str("  spinning on the clock, how late a 20 µs schedule was noticed:\n");
    s.push_str(&percentile_row("spinning", &spin.lateness));
    s.push_str(&format!(
        "  {:<10} off the CPU {} times for over {}: {} in all ({:.1}% of the time), longest {}\n",
        "",
        spin.stalls,
        format_ns(STALL_NS),
        format_ns(spin.stalled_ns),
        spin.stalled_share() * 100.0,
        format_ns(spin.longest_ns)
    ));
    let sleep_p99 = p
        .waits
        .iter()
        .map(|w| w.overshoot.value_at_quantile(0.99))
        .min()
        .unwrap_or(0);
    s.push_str(&format!(
        "  floor      p99 schedule lateness: about {} spinning (all the CPU), about {} or more \
         sleeping between sends; a --max-lateness below these cannot be held here now\n",
        format_ns(spin.lateness.value_at_quantile(0.99)),
        format_ns(sleep_p99)
    ));
    s
}

/// The JSON document.
pub fn to_json(p: &ProbeResult) -> Value {
    json!({
        "schema": "reactor-loadgen-probe",
        "schema_version": crate::report::SCHEMA_VERSION,
        "idle_poll": p.idle_poll,
        "timed_waits": p.waits.iter().map(|w| json!({
            "sleep_us": w.sleep_ns as f64 / 1e3,
            "overshoot_us": percentiles_us(&w.overshoot),
            "cpu_per_wait_us": w.cpu_per_wait_ns as f64 / 1e3,
        })).collect::<Vec<_>>(),
        "spin": {
            "lateness_us": percentiles_us(&p.spin.lateness),
            "stalls": p.spin.stalls,
            "stall_threshold_us": STALL_NS as f64 / 1e3,
            "stalled_share": p.spin.stalled_share(),
            "longest_stall_us": p.spin.longest_ns as f64 / 1e3,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_probe_measures_every_wait_length_and_the_spin() {
        let p = run(Duration::from_millis(60), false);
        assert_eq!(p.waits.len(), SLEEPS_NS.len());
        for w in &p.waits {
            assert!(
                !w.overshoot.is_empty(),
                "no {} ns wait measured",
                w.sleep_ns
            );
        }
        // 30 ms of spinning against a 20 µs schedule: every tick is accounted for, however
        // long the thread was off its CPU in between.
        let ticks = p.spin.wall_ns / SPIN_PERIOD_NS;
        assert_eq!(p.spin.lateness.len(), ticks);
        let doc = to_json(&p);
        assert_eq!(doc["timed_waits"].as_array().map(Vec::len), Some(3));
        assert!(summary(&p).contains("floor"));
    }
}

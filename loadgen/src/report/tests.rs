//! The summary, the self-check and the JSON of made-up runs.

use super::*;
use serde_json::Value;

use crate::clock::NS_PER_SEC;
use crate::run::Workload;
use crate::units::format_ns;

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
        stamps_before_send: 0,
        conntrack: None,
    }
}

#[test]
fn responses_timed_at_the_read_are_a_warning() {
    let mut r = open_run(0.3, 0.6, 20_000, 0);
    assert!(self_check(&r).warnings.is_empty());
    r.unstamped_reads = 12;
    let v = self_check(&r);
    assert!(v.valid, "{v:?}");
    assert!(v.warnings.iter().any(|w| w.contains("12 reads")), "{v:?}");
    r.unstamped_reads = 0;
    r.stamps_before_send = 3;
    let v = self_check(&r);
    assert!(
        v.warnings
            .iter()
            .any(|w| w.starts_with("3 answers carried")),
        "{v:?}"
    );
    r.kernel_stamps = false;
    let v = self_check(&r);
    assert!(
        v.warnings
            .iter()
            .any(|w| w.starts_with("no receive timestamps")),
        "{v:?}"
    );
}

#[test]
fn a_saturated_generator_whose_requests_wait_for_slots_is_invalid_and_named() {
    // The case that was once reported valid: lateness small, send lag large because the
    // requests waited for connections the busy generator had not freed.
    let v = self_check(&open_run(0.98, 0.01, 20_000, 30_000_000));
    assert!(!v.valid);
    assert!(v.generator_limited);
    assert!(
        v.reasons.iter().any(|r| r.contains("generator saturated")),
        "{v:?}"
    );
}

#[test]
fn a_server_that_keeps_connections_busy_is_a_warning_to_add_connections() {
    let v = self_check(&open_run(0.30, 0.60, 20_000, 30_000_000));
    assert!(v.valid, "{v:?}");
    assert!(!v.generator_limited);
    assert!(
        v.warnings.iter().any(|w| w.contains("add connections")),
        "{v:?}"
    );
}

#[test]
fn schedule_lateness_is_the_generators_fault() {
    let v = self_check(&open_run(0.40, 0.50, 500_000, 1_000));
    assert!(!v.valid);
    assert!(v.generator_limited);
    assert!(v.reasons[0].contains("generator fell behind"), "{v:?}");
}

#[test]
fn a_punctual_run_is_valid() {
    let v = self_check(&open_run(0.40, 0.50, 20_000, 1_000));
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
    let v = self_check(&r);
    assert!(v.valid, "{v:?}");
    assert!(!v.generator_limited, "{v:?}");
    assert!(
        v.warnings.iter().any(|w| w.contains("add connections")),
        "{v:?}"
    );
    // Without the spinning the same CPU is saturation.
    r.total.counters.spin_ns = 0;
    assert!(!self_check(&r).valid);
}

#[test]
fn lateness_with_cpu_to_spare_quotes_the_machines_wake_ups_and_stalls() {
    let mut r = open_run(0.40, 0.50, 500_000, 1_000);
    r.total.hist.wake_overshoot.saturating_record(3_000_000);
    r.total.counters.stalls = 7;
    r.total.counters.stalled_ns = 12_000_000;
    let v = self_check(&r);
    assert!(!v.valid);
    let reason = &v.reasons[0];
    assert!(reason.contains("had CPU to spare"), "{reason}");
    assert!(reason.contains("returned p99 3.00 ms"), "{reason}");
    assert!(reason.contains("off its CPU 7 times"), "{reason}");
    assert!(reason.contains("--idle-poll"), "{reason}");
    // Once idle CPUs poll, the advice has been taken.
    r.config.idle_poll = true;
    let reason = &self_check(&r).reasons[0];
    assert!(!reason.contains("--idle-poll"), "{reason}");
}

#[test]
fn the_written_document_is_what_the_typed_reader_accepts() {
    for workload in [Workload::Tcp, Workload::Udp, Workload::Http] {
        let mut r = open_run(0.40, 0.50, 500_000, 1_000);
        r.config.workload = workload;
        let v = self_check(&r);
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

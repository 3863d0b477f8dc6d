//! One run: resolve the target, start the workers, gather their per-second reports.
//!
//! The calling thread is the collector: it releases the workers together once every
//! connection is set up, adds up their interval reports (histograms by adding counts), and
//! feeds the progress line ([`crate::progress`]) from those messages, never from the workers'
//! own data.
//!
//! - [`config`]: what a run is asked to do ([`RunConfig`]);
//! - [`target`]: where the load goes (addresses, URLs, the request, the TLS plan);
//! - [`collector`]: the interval reports added up in order;
//! - [`result`]: what a run measured ([`RunResult`]).

mod collector;
mod config;
mod result;
mod target;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;

use crate::clock::{self, now_ns};
use crate::progress::{Goal, Progress};
use crate::stats::{new_histogram, Handshakes};
use crate::tls::TlsPlan;
use crate::worker::rxstamp::{self, Stamping};
use crate::worker::{self, Kind, Msg, Plan, StartGate};
use collector::Collector;

pub use config::{HttpOptions, RunConfig, Workload};
pub use result::{Interval, RunError, RunResult};
pub use target::{parse_http_url, resolve, tls_plan, HttpUrl};

/// How long a run waits for the kernel to confirm that it stamps arriving packets.
const STAMPING_CHECK: Duration = Duration::from_secs(1);

/// Run the load once and collect the results.
pub fn run_once(config: &RunConfig) -> Result<RunResult> {
    let (addr, kind) = resolve(config)?;
    let tls = tls_plan(config)?;
    let https = tls.is_some();
    let threads = config.threads.clamp(1, config.connections.max(1));
    // Held to the end of the run, so that stamping cannot lapse as connections come and go.
    let stamping = Stamping::switch_on(STAMPING_CHECK);
    let plan = Arc::new(worker_plan(
        config,
        addr,
        kind,
        threads,
        stamping.works(),
        tls,
    ));
    let gate = Arc::new(StartGate::default());
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for t in 0..threads {
        let (plan, gate, tx) = (plan.clone(), gate.clone(), tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("loadgen-{t}"))
            .spawn(move || worker::run(t, plan, gate, tx))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    drop(tx);

    // Phase 1: connection set-up.
    let progress = Progress::new(config.progress, config.connections, progress_goal(config));
    let SetUp {
        mut connect,
        connected,
        connect_failures,
        mut first_error,
        mut handshakes,
    } = set_up(&rx, threads, &progress);
    if connected == 0 && !config.connect_per_request {
        gate.open(None);
        for h in handles {
            let _ = h.join();
        }
        return Err(RunError::Unreachable {
            target: config.target.clone(),
            reason: first_error.unwrap_or_else(|| "no connection could be made".into()),
        }
        .into());
    }

    // Phase 2: the load, started together.
    let start_ns = match config.start_at {
        Some(unix) => clock::monotonic_at_unix(unix).max(now_ns() + 1_000_000),
        None => now_ns() + 1_000_000,
    };
    gate.open(Some(start_ns));
    let measure_start = start_ns + config.warmup.as_nanos() as u64;
    if !config.warmup.is_zero() {
        progress.warming_up(measure_start);
    }
    let started = clock::unix_at_monotonic(measure_start);
    let wait = measure_start.saturating_sub(now_ns());
    std::thread::sleep(Duration::from_nanos(wait));
    let cpu_before = clock::process_cpu();
    let unstamped_before = rxstamp::unstamped_reads();
    let before_send_before = rxstamp::stamps_before_send();

    progress.measuring(measure_start);
    let mut collector = Collector::new(threads, &progress);
    let mut finished = 0;
    let mut end_ns = measure_start;
    while finished < threads {
        match rx.recv() {
            Ok(Msg::Interval {
                index,
                length_ns,
                recorder,
            }) => collector.add(index, length_ns, &recorder),
            Ok(Msg::Finished {
                end_ns: e,
                first_error: run_error,
            }) => {
                finished += 1;
                progress.draining();
                first_error = first_error.or(run_error);
                end_ns = end_ns.max(e);
            }
            Ok(Msg::Connected { .. }) => {}
            Err(_) => break,
        }
    }
    let cpu_after = clock::process_cpu();
    let unstamped_reads = rxstamp::unstamped_reads().saturating_sub(unstamped_before);
    let stamps_before_send = rxstamp::stamps_before_send().saturating_sub(before_send_before);
    for h in handles {
        let _ = h.join();
    }
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Interval {
            index,
            length_ns,
            recorder,
        } = msg
        {
            collector.add(index, length_ns, &recorder);
        }
    }
    collector.finish();
    let mut total = collector.total;
    total.counters.errors.connect += connect_failures;
    let _ = connect.add(&total.hist.connect);
    // Every established connection's connect time is in the histogram, so it counts them.
    let connects = connect.len();
    let _ = handshakes.hist.add(&total.hist.handshake);
    handshakes.counts += total.counters.tls;
    Ok(RunResult {
        config: config.clone(),
        addr,
        measured_ns: end_ns.saturating_sub(measure_start).max(1),
        total,
        connect,
        connects,
        connected,
        tls: https.then_some(handshakes),
        intervals: collector.intervals,
        cpu_user: cpu_after.0.saturating_sub(cpu_before.0),
        cpu_sys: cpu_after.1.saturating_sub(cpu_before.1),
        started,
        first_error,
        interrupted: crate::interrupt::requested(),
        kernel_stamps: stamping.works(),
        unstamped_reads,
        stamps_before_send,
        conntrack: crate::conntrack::Conntrack::read(),
    })
}

/// What every worker is told: the run's settings in the units the workers use.
fn worker_plan(
    config: &RunConfig,
    addr: SocketAddr,
    kind: Kind,
    threads: usize,
    kernel_stamps: bool,
    tls: Option<TlsPlan>,
) -> Plan {
    Plan {
        kind,
        addr,
        threads,
        connections: config.connections,
        pipeline: config.pipeline.max(1),
        per_request: config.connect_per_request,
        timeout_ns: config.timeout.as_nanos() as u64,
        connect_timeout_ns: config.connect_timeout.as_nanos() as u64,
        size: config.size,
        rate: config.rate,
        arrival: config.arrival,
        warmup_ns: config.warmup.as_nanos() as u64,
        duration_ns: config.duration.map(|d| d.as_nanos() as u64),
        requests: config.requests,
        max_lateness_ns: config.max_lateness.as_nanos() as u64,
        kernel_stamps,
        tls,
    }
}

/// What the workers reported of their connection set-up, all threads added.
struct SetUp {
    connect: Histogram<u64>,
    connected: usize,
    connect_failures: u64,
    first_error: Option<String>,
    handshakes: Handshakes,
}

/// Phase 1: waits for every worker's set-up report (or for the workers to be gone).
fn set_up(rx: &mpsc::Receiver<Msg>, threads: usize, progress: &Progress) -> SetUp {
    let mut connect = new_histogram();
    let mut connected = 0;
    let mut connect_failures = 0;
    let mut first_error = None;
    let mut handshakes = Handshakes::default();
    for _ in 0..threads {
        match rx.recv() {
            Ok(Msg::Connected {
                up,
                failures,
                first_error: e,
                connect: h,
                handshakes: tls,
            }) => {
                handshakes.add(&tls);
                connected += up;
                progress.connected(up);
                connect_failures += failures;
                first_error = first_error.or(e);
                let _ = connect.add(&*h);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    SetUp {
        connect,
        connected,
        connect_failures,
        first_error,
        handshakes,
    }
}

/// When the progress line's measuring phase ends.
fn progress_goal(config: &RunConfig) -> Goal {
    match (config.duration, config.requests) {
        (Some(d), _) => Goal::Time(d.as_nanos() as u64),
        (None, Some(n)) => Goal::Requests(n),
        (None, None) => Goal::Open,
    }
}

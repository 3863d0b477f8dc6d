//! Cost of recording one answered request in the load generator's histograms (the generator's
//! per-response hot path), and of merging per-thread histograms by adding them.
//!
//! The recorder is the generator's own, from its library.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use reactor_loadgen::stats::{Histograms, Recorder};

/// Latencies spread like a loopback echo run: mostly tens of µs, a tail into milliseconds.
fn sample_latencies() -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let base = 15_000 + x % 50_000;
            if x.is_multiple_of(100) {
                base * 100
            } else {
                base
            }
        })
        .collect()
}

fn record(c: &mut Criterion) {
    let samples = sample_latencies();
    let mut recorder = Recorder::default();
    let mut i = 0usize;
    let mut now = 1_000_000_000u64;
    c.bench_function("loadgen/record_response", |b| {
        b.iter(|| {
            let latency = samples[i & 4095];
            i += 1;
            now += 1_000;
            recorder.response(
                black_box(now - latency),
                black_box(now - latency + latency / 4),
                black_box(now - latency / 2),
                now,
            );
        })
    });
}

fn merge(c: &mut Criterion) {
    let samples = sample_latencies();
    let mut one = Recorder::default();
    for (n, &l) in samples.iter().enumerate() {
        let now = 1_000_000_000 + n as u64 * 1_000;
        one.response(now - l, now - l + l / 4, now - l / 2, now);
    }
    c.bench_function("loadgen/merge_thread_histograms", |b| {
        b.iter(|| {
            let mut total = Histograms::default();
            total.add(black_box(&one.hist));
            total
        })
    });
}

criterion_group!(benches, record, merge);
criterion_main!(benches);

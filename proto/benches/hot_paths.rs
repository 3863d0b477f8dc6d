//! Micro-benchmarks of the per-request and per-write hot paths shared by every server design.
//!
//! - `http/get_root/1`: one keep-alive `GET /` parsed and answered (the wrk case).
//! - `http/get_root/16`: 16 pipelined `GET /` in one read (the TechEmpower plaintext case).
//! - `http/get_root_split`: one `GET /` arriving in two reads (the buffering path).
//! - `http/head_byte_at_a_time`: a 2 KiB head fed one byte per call (incremental parsing cost).
//! - `http/date_refresh`: the per-loop-turn `Date` refresh when the second has not changed.
//! - `outbuf/*`: the bounded output queue under partial writes.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use reactor_proto::http::{
    DateCache, HttpEnv, HttpLimits, HttpSession, NoStats, Step, UNLIMITED_BUDGET,
};
use reactor_proto::outbuf::OutBuf;

/// What wrk sends.
const WRK_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

fn http(c: &mut Criterion) {
    let date = DateCache::default();
    let limits = HttpLimits::default();
    let env = HttpEnv {
        date: &date,
        stats: &NoStats,
        limits: &limits,
        budget: &UNLIMITED_BUDGET,
        now: 0,
    };
    let mut group = c.benchmark_group("http");
    for depth in [1usize, 16] {
        let input = WRK_GET.repeat(depth);
        let mut session = HttpSession::new();
        let mut out = Vec::with_capacity(64 * 1024);
        group.throughput(Throughput::Elements(depth as u64));
        group.bench_function(format!("get_root/{depth}"), |b| {
            b.iter(|| {
                out.clear();
                let step = session.on_input(black_box(&input), &mut out, &env, 64 * 1024);
                assert_eq!(step, Step::Continue);
                black_box(out.len())
            })
        });
    }
    group.throughput(Throughput::Elements(1));
    let (first, second) = WRK_GET.split_at(20);
    let mut session = HttpSession::new();
    let mut out = Vec::with_capacity(4096);
    group.bench_function("get_root_split", |b| {
        b.iter(|| {
            out.clear();
            let _ = session.on_input(black_box(first), &mut out, &env, 64 * 1024);
            let _ = session.on_input(black_box(second), &mut out, &env, 64 * 1024);
            black_box(out.len())
        })
    });
    // Worst case for incremental parsing: a 2 KiB head arriving one byte per read.
    let mut slow = b"GET / HTTP/1.1\r\nHost: bench\r\n".to_vec();
    for i in 0..48 {
        slow.extend_from_slice(format!("X-Header-{i:02}: {}\r\n", "v".repeat(24)).as_bytes());
    }
    slow.extend_from_slice(b"\r\n");
    let mut session = HttpSession::new();
    group.throughput(Throughput::Bytes(slow.len() as u64));
    group.bench_function("head_byte_at_a_time", |b| {
        b.iter(|| {
            out.clear();
            for byte in &slow {
                let _ = session.on_input(std::slice::from_ref(byte), &mut out, &env, 64 * 1024);
            }
            assert!(!out.is_empty());
            black_box(out.len())
        })
    });
    group.throughput(Throughput::Elements(1));
    let mut cache = DateCache::default();
    group.bench_function("date_refresh", |b| {
        b.iter(|| {
            cache.refresh(black_box(SystemTime::now()));
            black_box(cache.value().len())
        })
    });
    group.finish();
}

fn outbuf(c: &mut Criterion) {
    let response = vec![b'x'; 130];
    let mut group = c.benchmark_group("outbuf");
    group.throughput(Throughput::Bytes(16 * 130));
    // 16 responses queued behind a socket that takes 1000 bytes per writable event.
    group.bench_function("push16_partial_drain", |b| {
        let mut queue = OutBuf::new();
        b.iter(|| {
            for _ in 0..16 {
                queue.push(black_box(&response));
            }
            while !queue.is_empty() {
                let n = queue.len().min(1000);
                black_box(&queue.pending()[..n]);
                queue.consume(n);
            }
        })
    });
    // Interleaved producing and partial writing, the steady state under backpressure.
    group.bench_function("push_consume_interleaved", |b| {
        let mut queue = OutBuf::new();
        b.iter(|| {
            for _ in 0..16 {
                queue.push(black_box(&response));
                let n = queue.len().min(100);
                queue.consume(n);
            }
            let rest = queue.len();
            queue.consume(rest);
        })
    });
    // Idle connection hands storage back to a pool and adopts it again on the next burst.
    group.throughput(Throughput::Elements(1));
    group.bench_function("storage_recycle", |b| {
        b.iter_batched_ref(
            || (OutBuf::new(), Some(Vec::with_capacity(4096))),
            |(queue, pool)| {
                queue.push_with_storage(black_box(&response), || pool.take().unwrap_or_default());
                let n = queue.len();
                queue.consume(n);
                *pool = queue.take_storage();
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, http, outbuf);
criterion_main!(benches);

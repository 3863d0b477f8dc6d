//! End-to-end tests: the real `reactor-loadgen` binary against small servers written here, on
//! 127.0.0.1 ephemeral ports. Assertions are bounds that hold on a busy shared machine
//! ("p50 is at least the injected delay and not far above it"), never tight timings.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{loadgen, output_within, Listening};

/// Size of every echo message in these tests; the servers read whole messages of this size.
const MSG: usize = 64;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("json written");
    serde_json::from_str(&text).expect("valid json")
}

/// Run the generator with `args` plus `--json`, require a measurement (exit 0, or 5: measured
/// but invalid, which a loaded machine may make an open-loop run; the tests that are about
/// validity check `valid` themselves), and return the document.
fn loadgen_json(name: &str, args: &[&str], limit: Duration) -> Value {
    let json = temp_path(name);
    let mut all = args.to_vec();
    all.extend(["--json", json.to_str().expect("utf-8 temp path")]);
    let out = loadgen(&all, limit);
    assert!(
        matches!(out.status.code(), Some(0 | 5)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(&json)
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing in {v}"))
}

/// A thread-per-connection TCP echo server reading whole `MSG`-byte messages; `on_message`
/// gets the server-wide message number and the message, and may delay or alter it.
fn echo_server<F>(on_message: F) -> SocketAddr
where
    F: Fn(u64, &mut [u8]) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hook = Arc::new(on_message);
    let counter = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (hook, counter) = (hook.clone(), counter.clone());
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                let mut buf = [0u8; MSG];
                while conn.read_exact(&mut buf).is_ok() {
                    hook(counter.fetch_add(1, Ordering::SeqCst), &mut buf);
                    if conn.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn run_delay(delay: Duration) -> Value {
    let addr = echo_server(move |_, _| std::thread::sleep(delay));
    loadgen_json(
        &format!("delay-{}.json", delay.as_micros()),
        &[
            "tcp",
            &addr.to_string(),
            "-c",
            "2",
            "-d",
            "1s",
            "--size",
            "64",
        ],
        Duration::from_secs(30),
    )
}

#[test]
fn injected_delay_100us_sets_the_median() {
    let doc = run_delay(Duration::from_micros(100));
    let p50 = num(&doc, &["latency_us", "p50"]);
    assert!(p50 >= 100.0, "p50 {p50} µs below the 100 µs delay");
    assert!(
        p50 < 100.0 + 5_000.0,
        "p50 {p50} µs far above the 100 µs delay"
    );
    assert_eq!(num(&doc, &["verify_failures"]), 0.0);
    assert!(num(&doc, &["requests"]) > 100.0);
}

#[test]
fn injected_delay_1ms_sets_the_median() {
    let doc = run_delay(Duration::from_millis(1));
    let p50 = num(&doc, &["latency_us", "p50"]);
    assert!(p50 >= 1_000.0, "p50 {p50} µs below the 1 ms delay");
    assert!(
        p50 < 1_000.0 + 5_000.0,
        "p50 {p50} µs far above the 1 ms delay"
    );
    // Closed loop: latency and service time are the same measurement.
    assert_eq!(doc["mode"], "closed");
}

#[test]
fn a_one_second_stall_shows_in_corrected_latency_not_in_service_time() {
    // The server stalls once, for a second, at its 500th message (half a second into the run).
    let addr = echo_server(|n, _| {
        if n == 500 {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let doc = loadgen_json(
        "stall.json",
        &[
            "tcp",
            &addr.to_string(),
            "-c",
            "1",
            "--rate",
            "1000",
            "-d",
            "3s",
        ],
        Duration::from_secs(30),
    );
    let latency_p99 = num(&doc, &["latency_us", "p99"]);
    let service_p99 = num(&doc, &["service_time_us", "p99"]);
    let service_max = num(&doc, &["service_time_us", "max"]);
    // About a third of the requests were due during the stall: the corrected p99 is near 1 s.
    assert!(
        latency_p99 >= 500_000.0,
        "corrected p99 {latency_p99} µs hides the stall"
    );
    // Only the one request caught in the server saw the stall as service time.
    assert!(
        service_p99 < 100_000.0,
        "service p99 {service_p99} µs shows the stall"
    );
    assert!(
        service_max >= 900_000.0,
        "service max {service_max} µs misses the stalled request"
    );
    assert_eq!(doc["mode"], "open");
}

#[test]
fn a_corrupted_byte_fails_verification() {
    let addr = echo_server(|n, msg| {
        if n == 20 {
            msg[MSG / 2] ^= 0x01;
        }
    });
    let out = loadgen(
        &["tcp", &addr.to_string(), "-c", "1", "-d", "1s"],
        Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "verification failure must exit 3"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("verification failed"), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line reason, got: {err}");
}

#[test]
fn every_tenth_udp_datagram_dropped_is_about_ten_percent_loss() {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let addr = socket.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            n += 1;
            if !n.is_multiple_of(10) {
                let _ = socket.send_to(&buf[..len], from);
            }
        }
    });
    let doc = loadgen_json(
        "udp.json",
        &[
            "udp",
            &addr.to_string(),
            "-c",
            "4",
            "--pipeline",
            "4",
            "--timeout",
            "50ms",
            "-d",
            "2s",
        ],
        Duration::from_secs(30),
    );
    let (sent, received, lost) = (
        num(&doc, &["udp", "sent"]),
        num(&doc, &["udp", "received"]),
        num(&doc, &["udp", "lost"]),
    );
    assert!(sent > 100.0, "only {sent} datagrams sent");
    let loss = lost / (received + lost);
    assert!(
        (0.07..=0.13).contains(&loss),
        "loss {loss} not near 10% ({doc})"
    );
    // Lost datagrams are timeouts whose latency is still recorded.
    assert_eq!(num(&doc, &["errors", "timeout"]), lost);
    assert!(num(&doc, &["latency_us", "max"]) >= 50_000.0);
}

#[test]
fn a_closed_port_is_a_clear_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let target = format!("127.0.0.1:{port}");
    let out = loadgen(&["tcp", &target, "-d", "1s"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unreachable") && err.contains(&target),
        "stderr: {err}"
    );
    assert!(err.to_lowercase().contains("refused"), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line reason, got: {err}");
}

#[test]
fn merged_logs_equal_one_histogram_fed_both_runs() {
    let addr = echo_server(|_, _| {});
    let mut counts = 0.0;
    let mut logs = Vec::new();
    for name in ["a", "b"] {
        let log = temp_path(&format!("{name}.hlog"));
        let doc = loadgen_json(
            &format!("{name}.json"),
            &[
                "tcp",
                &addr.to_string(),
                "-c",
                "2",
                "-d",
                "2s",
                "--tag",
                name,
                "--hdr-log",
                log.to_str().unwrap(),
            ],
            Duration::from_secs(30),
        );
        counts += num(&doc, &["latency_us", "count"]);
        logs.push(log);
    }
    let merged_log = temp_path("merged.hlog");
    let merged_json = temp_path("merged.json");
    let out = Command::new(env!("CARGO_BIN_EXE_reactor-loadgen"))
        .arg("merge")
        .args(&logs)
        .args(["-o", merged_log.to_str().unwrap()])
        .args(["--json", merged_json.to_str().unwrap()])
        .output()
        .expect("run merge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One histogram fed every interval of both runs, built here independently...
    let mut both = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for log in &logs {
        for h in read_log(log) {
            both.add(&h).unwrap();
        }
    }
    // ...equals the merged log, and holds every sample the two runs recorded.
    let merged = read_log(&merged_log);
    assert_eq!(merged.len(), 1);
    assert!(
        same_counts(&merged[0], &both),
        "merged log differs from the sum of both runs' histograms"
    );
    assert_eq!(both.len() as f64, counts);
    let doc = read_json(&merged_json);
    assert_eq!(num(&doc, &["count"]), counts);
    assert_eq!(num(&doc, &["latency_us", "max"]), both.max() as f64 / 1e3);
}

/// Equal recorded values and counts (whatever the two histograms' configured ranges).
fn same_counts(a: &hdrhistogram::Histogram<u64>, b: &hdrhistogram::Histogram<u64>) -> bool {
    let values = |h: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    a.len() == b.len() && values(a) == values(b)
}

/// Every interval histogram in an interval log.
fn read_log(path: &Path) -> Vec<hdrhistogram::Histogram<u64>> {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let bytes = std::fs::read(path).expect("read log");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("#[StartTime: "), "no StartTime header");
    let mut out = Vec::new();
    let mut de = hdrhistogram::serialization::Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(ilh) = entry.expect("well-formed log") {
            let raw = base64(ilh.encoded_histogram());
            out.push(de.deserialize(&mut &raw[..]).expect("histogram"));
        }
    }
    out
}

fn base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> = s
        .bytes()
        .filter(|&b| b != b'=')
        .map(|b| ALPHABET.iter().position(|&a| a == b).expect("base64") as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let acc = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | v << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn http_chunked_and_closing_server_is_parsed() {
    // Alternates a chunked response and a Content-Length one, and closes the connection
    // (with Connection: close) every 50 responses, as a real server may.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || serve_http(conn));
        }
    });
    let url = format!("http://{addr}/hello");
    let doc = loadgen_json(
        "http.json",
        &["http", &url, "-c", "2", "-d", "1s"],
        Duration::from_secs(30),
    );
    assert!(num(&doc, &["status_codes", "200"]) > 50.0, "{doc}");
    assert_eq!(num(&doc, &["errors", "total"]), 0.0, "{doc}");
}

fn serve_http(mut conn: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut served = 0u64;
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            served += 1;
            let closing = served % 50 == 25;
            let response: Vec<u8> = if served.is_multiple_of(2) {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, client\r\n0\r\n\r\n".to_vec()
            } else if closing {
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nHello".to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHello".to_vec()
            };
            if conn.write_all(&response).is_err() {
                return;
            }
            if closing {
                return;
            }
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn against_the_project_reactor_server() {
    // The server is a sibling binary of the workspace (scripts/test.sh builds all binaries).
    let loadgen_bin = Path::new(env!("CARGO_BIN_EXE_reactor-loadgen"));
    let server_bin = loadgen_bin.with_file_name("reactor-server");
    if !server_bin.exists() {
        eprintln!("skipped: {} not built", server_bin.display());
        return;
    }
    let server = Listening::start(
        Command::new(&server_bin).args([
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ]),
        3,
    );
    let addr = |proto: &str| server.addr(proto).expect("listener").to_string();
    let addrs: std::collections::HashMap<&str, String> =
        ["tcp", "udp", "http"].map(|p| (p, addr(p))).into();
    let http_url = format!("http://{}/", addrs["http"]);
    let runs: [(&str, &str); 3] = [
        ("tcp", &addrs["tcp"]),
        ("udp", &addrs["udp"]),
        ("http", &http_url),
    ];
    for (workload, target) in runs {
        let doc = loadgen_json(
            &format!("reactor-{workload}.json"),
            &[workload, target, "-c", "4", "--pipeline", "2", "-d", "1s"],
            Duration::from_secs(30),
        );
        assert!(num(&doc, &["requests"]) > 100.0, "{workload}: {doc}");
        assert_eq!(num(&doc, &["verify_failures"]), 0.0, "{workload}: {doc}");
        if workload == "udp" {
            assert!(num(&doc, &["udp", "loss_ratio"]) < 0.01, "{doc}");
        }
        if workload == "http" {
            assert_eq!(num(&doc, &["errors", "http_status"]), 0.0, "{doc}");
        }
    }
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it for this process.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: valid pointer and size.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return vec![0];
    }
    // SAFETY: CPU_ISSET reads the set filled above.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// Pin the calling thread (`pid` 0) or process `pid` to `cpu`.
fn pin(pid: libc::pid_t, cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: valid pointer and size.
    let rc = unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn a_saturated_generator_is_invalid_and_names_itself() {
    use std::os::unix::process::CommandExt;
    use std::sync::atomic::AtomicBool;
    // The generator shares its one CPU with a busy loop and is offered far more than it can
    // send: whatever the timings, the verdict must blame the generator.
    let cpu = *allowed_cpus().last().expect("at least one CPU");
    let stop = Arc::new(AtomicBool::new(false));
    let hog = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin(0, cpu).expect("pin the busy loop");
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                std::hint::spin_loop();
            }
        })
    };
    let addr = echo_server(|_, _| {});
    let json = temp_path("saturated.json");
    let target = addr.to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reactor-loadgen"));
    cmd.args(["tcp", &target, "-c", "8", "-d", "1s", "--rate", "2000000"])
        .args(["--json", json.to_str().expect("utf-8 temp path")]);
    // SAFETY: only an async-signal-safe system call between fork and exec.
    unsafe {
        cmd.pre_exec(move || pin(0, cpu));
    }
    let out = output_within(&mut cmd, Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    let _ = hog.join();
    // Measured, and invalid: exit status 5.
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = read_json(&json);
    assert_eq!(doc["valid"], Value::Bool(false), "{doc}");
    assert_eq!(doc["limited_by"], "generator", "{doc}");
    let reasons = doc["invalid_reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.starts_with("generator"))),
        "{doc}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("self-check INVALID: generator"),
        "{summary}"
    );
}

#[test]
fn a_generous_lateness_budget_coalesces_sends_and_still_times_responses_exactly() {
    // With 20 ms of lateness allowed the open loop sleeps about 10 ms at a time through the
    // arrival of responses, sending what fell due and reading what came back in one pass:
    // far fewer wake-ups than requests. The responses carry the kernel's arrival stamps, so
    // their service time stays the server's (this one answers at once), not the ~5 ms an
    // average response waited to be read.
    let addr = echo_server(|_, _| {});
    let doc = loadgen_json(
        "coalesced.json",
        &[
            "tcp",
            &addr.to_string(),
            "-c",
            "64",
            "--rate",
            "2000",
            "-d",
            "2s",
            "--max-lateness",
            "20ms",
        ],
        Duration::from_secs(30),
    );
    let requests = num(&doc, &["requests"]);
    assert!(requests > 2_000.0, "{doc}");
    assert_eq!(num(&doc, &["verify_failures"]), 0.0, "{doc}");
    let wakes = num(&doc, &["generator", "wake_overshoot_us", "count"]);
    assert!(
        wakes > 0.0 && wakes < requests / 5.0,
        "{wakes} timed wake-ups for {requests} requests: sends were not coalesced; {doc}"
    );
    let service_p50 = num(&doc, &["service_time_us", "p50"]);
    assert!(
        service_p50 < 3_000.0,
        "service p50 {service_p50} µs: responses were timed when read, not on arrival; {doc}"
    );
    // The lateness the generator chose is not hidden: it is in the intended-time latency
    // (and out of the headline, which is what the server earned).
    let late_p50 = num(&doc, &["schedule_lateness_us", "p50"]);
    assert!(late_p50 > 1_000.0, "lateness p50 {late_p50} µs; {doc}");
    assert!(
        num(&doc, &["intended_latency_us", "p50"]) >= late_p50,
        "{doc}"
    );
    assert!(num(&doc, &["latency_us", "p50"]) < late_p50, "{doc}");
}

#[test]
fn sparse_sends_cost_one_wake_up_each_not_one_more_per_response() {
    // 1,000 req/s on 8 connections: a send every millisecond, further apart than the default
    // budget's slack, so nothing coalesces. The loop sleeps deaf to responses until each send
    // time (they carry arrival stamps and are read on waking), and housekeeping comes every
    // 10 ms: about 1.1 wake-ups per request. Woken by every response too, it would be 2.
    // (That responses read late are still timed on arrival is the coalescing test's part.)
    let addr = echo_server(|_, _| {});
    let doc = loadgen_json(
        "sparse.json",
        &[
            "tcp",
            &addr.to_string(),
            "-c",
            "8",
            "--rate",
            "1000",
            "-d",
            "1s",
        ],
        Duration::from_secs(30),
    );
    let requests = num(&doc, &["requests"]);
    assert!(requests >= 900.0, "{doc}");
    let per_request = num(&doc, &["generator", "wakeups_per_request"]);
    assert!(
        per_request > 0.0 && per_request < 1.5,
        "{per_request} wake-ups per request; {doc}"
    );
    // About one each while the loop sleeps between sends. On a machine loaded enough that
    // its wake-ups overshoot the budget, the loop waits on the clock instead (a glance is no
    // wake-up), and fewer is right.
    if num(&doc, &["generator", "spin_share"]) < 0.05 {
        assert!(
            per_request > 0.5,
            "{per_request} wake-ups per request; {doc}"
        );
    }
}

#[test]
fn idle_poll_holds_idle_cpus_polling_for_the_run_or_says_why_not() {
    let addr = echo_server(|_, _| {});
    let json = temp_path("idle-poll.json");
    let target = addr.to_string();
    let out = loadgen(
        &[
            "tcp",
            &target,
            "-c",
            "4",
            "--rate",
            "500",
            "-d",
            "500ms",
            "--idle-poll",
            "--json",
            json.to_str().expect("utf-8 temp path"),
        ],
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if matches!(out.status.code(), Some(0 | 5)) {
        let doc = read_json(&json);
        assert_eq!(doc["generator"]["idle_poll"], Value::Bool(true), "{doc}");
        assert!(stdout.contains("idle CPUs polling"), "{stdout}");
    } else {
        // Not root, or no PM QoS: a clear error, and no run pretending otherwise.
        assert!(
            stderr.contains("--idle-poll") && stderr.contains("/dev/cpu_dma_latency"),
            "{stderr}"
        );
        assert!(!json.exists(), "a report was written: {stdout}");
    }
}

#[test]
fn find_max_finds_the_capacity_of_a_server_with_a_known_one() {
    // Four connections to a server that takes 2 ms per message on each: it can answer 2,000
    // messages a second, and beyond that the queue (connection wait) grows without bound.
    // The search must end with a server-side answer near that capacity: above the 1,000/s it
    // carries easily, and not far above 2,000/s.
    let addr = echo_server(|_, _| std::thread::sleep(Duration::from_millis(2)));
    let doc = loadgen_json(
        "find-max.json",
        &[
            "tcp",
            &addr.to_string(),
            "-c",
            "4",
            "-d",
            "500ms",
            "--rate",
            "500",
            "--find-max",
            "--slo",
            "p99=20ms",
            // Room for a scheduler hiccup on a loaded machine: the generator's own lateness
            // is not what the search judges, and must not end it.
            "--max-lateness",
            "20ms",
        ],
        Duration::from_secs(120),
    );
    let fm = &doc["find_max"];
    assert_eq!(fm["limited_by"], "server", "{fm}");
    let max = num(fm, &["max_rps"]);
    assert!(
        (1_000.0..=2_300.0).contains(&max),
        "max {max} req/s for a 2,000 req/s server; {fm}"
    );
    let steps = fm["steps"].as_array().expect("steps");
    assert!(
        steps.iter().any(|s| s["pass"] == Value::Bool(false)),
        "{fm}"
    );
}

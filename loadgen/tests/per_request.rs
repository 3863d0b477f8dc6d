//! End-to-end tests of `--connect-per-request`: the real binary against small servers written
//! here on 127.0.0.1 ephemeral ports. They assert counts (requests, connections, errors by
//! kind) and verification, never speed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// Size of every echo message.
const MSG: usize = 64;
/// Requests of every run: enough connections to churn, few enough for a loaded machine.
const N: u64 = 300;
/// Upper bound on any one run, far above what it needs.
const LIMIT: Duration = Duration::from_secs(90);

fn loadgen(args: &[&str]) -> Output {
    common::loadgen(args, LIMIT)
}

/// Run with `args` plus `--json`; `ok` says whether the run must end as a measurement, valid
/// or not (a run in which every request failed exits otherwise by design). Returns the
/// document.
fn run_json(name: &str, args: &[&str], ok: bool) -> Value {
    let dir = std::env::temp_dir().join(format!("loadgen-cpr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json: PathBuf = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["--json", json.to_str().expect("utf-8 temp path")]);
    let out = loadgen(&all);
    let text = || {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // Exit 5 is a measurement the self-check marked invalid (a loaded machine can make an
    // open-loop run so); these tests are about the figures, and check validity where it matters.
    let measured = matches!(out.status.code(), Some(0 | 5));
    assert_eq!(measured, ok, "{}", text());
    let doc = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no json: {}", text()));
    serde_json::from_str(&doc).expect("valid json")
}

fn num(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path:?} missing in {v}"))
}

/// A thread-per-connection server on 127.0.0.1:0; `serve` handles one accepted connection.
fn server<F>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let serve = serve.clone();
            std::thread::spawn(move || serve(conn));
        }
    });
    addr
}

/// Read one whole echo message, bounded in time.
fn read_message(conn: &mut TcpStream) -> Option<[u8; MSG]> {
    conn.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut buf = [0u8; MSG];
    conn.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Counters a test server keeps.
#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    client_closed_first: AtomicU64,
    close_requested: AtomicU64,
    from_other_than_127_0_0_1: AtomicU64,
}

fn per_request_tcp(addr: SocketAddr, extra: &[&str], name: &str, ok: bool) -> Value {
    let target = addr.to_string();
    let requests = N.to_string();
    let mut args = vec![
        "tcp",
        &target,
        "--connect-per-request",
        "-c",
        "4",
        "--requests",
        &requests,
    ];
    args.extend(extra);
    run_json(name, &args, ok)
}

/// An echo server that answers one message and waits for the client's close (counting who
/// closed first); with `server_closes`, it closes right after answering instead.
fn echo_once(seen: Arc<Seen>, server_closes: bool) -> SocketAddr {
    server(move |mut conn| {
        seen.connections.fetch_add(1, Ordering::SeqCst);
        if let Ok(peer) = conn.peer_addr() {
            if peer.ip() != std::net::Ipv4Addr::LOCALHOST {
                seen.from_other_than_127_0_0_1
                    .fetch_add(1, Ordering::SeqCst);
            }
        }
        let Some(msg) = read_message(&mut conn) else {
            return;
        };
        if conn.write_all(&msg).is_err() || server_closes {
            return;
        }
        let mut rest = [0u8; 16];
        if matches!(conn.read(&mut rest), Ok(0)) {
            seen.client_closed_first.fetch_add(1, Ordering::SeqCst);
        }
    })
}

fn assert_all_answered(doc: &Value) {
    assert_eq!(num(doc, &["requests"]), N, "{doc}");
    assert_eq!(
        num(doc, &["connects"]),
        N,
        "one connection per request: {doc}"
    );
    assert_eq!(num(doc, &["errors", "total"]), 0, "{doc}");
    assert_eq!(num(doc, &["verify_failures"]), 0, "{doc}");
    assert!(doc["connect_us"]["p50"].as_f64().is_some(), "{doc}");
    assert_eq!(doc["connect_per_request"], Value::Bool(true), "{doc}");
    assert_eq!(num(doc, &["connected"]), 0, "no set-up phase: {doc}");
}

#[test]
fn tcp_echo_one_connection_per_request_and_the_client_closes_first() {
    let seen = Arc::new(Seen::default());
    let addr = echo_once(seen.clone(), false);
    let doc = per_request_tcp(addr, &[], "tcp-closed.json", true);
    assert_all_answered(&doc);
    // The server threads may still be reading the last FINs; they come within the bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.client_closed_first.load(Ordering::SeqCst) < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), N);
    assert_eq!(seen.client_closed_first.load(Ordering::SeqCst), N);
    assert!(
        seen.from_other_than_127_0_0_1.load(Ordering::SeqCst) > N / 2,
        "source addresses are spread over 127.0.0.0/8"
    );
}

#[test]
fn tcp_echo_server_that_closes_after_answering_open_loop() {
    let seen = Arc::new(Seen::default());
    let addr = echo_once(seen.clone(), true);
    let doc = per_request_tcp(addr, &["--rate", "2000"], "tcp-open.json", true);
    assert_all_answered(&doc);
    assert_eq!(doc["mode"], "open", "{doc}");
    assert_eq!(seen.connections.load(Ordering::SeqCst), N);
}

#[test]
fn a_wrong_echo_is_a_verification_failure_per_connection() {
    let addr = server(|mut conn| {
        if let Some(mut msg) = read_message(&mut conn) {
            msg[MSG - 1] ^= 0x55;
            let _ = conn.write_all(&msg);
        }
    });
    let doc = per_request_tcp(addr, &[], "tcp-verify.json", false);
    assert_eq!(num(&doc, &["requests"]), 0, "{doc}");
    assert_eq!(num(&doc, &["errors", "verify"]), N, "{doc}");
    assert_eq!(num(&doc, &["connects"]), N, "{doc}");
}

#[test]
fn a_server_that_resets_every_connection_counts_resets() {
    let addr = server(|mut conn| {
        if read_message(&mut conn).is_some() {
            // SO_LINGER 0: close() sends RST instead of FIN.
            let _ = socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO));
        }
    });
    let doc = per_request_tcp(addr, &[], "tcp-reset.json", false);
    assert_eq!(num(&doc, &["requests"]), 0, "{doc}");
    assert_eq!(num(&doc, &["errors", "reset"]), N, "{doc}");
    assert_eq!(num(&doc, &["errors", "total"]), N, "{doc}");
    assert_eq!(num(&doc, &["connects"]), N, "{doc}");
}

#[test]
fn a_closed_port_counts_refused_connects_not_latency() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let doc = per_request_tcp(addr, &[], "tcp-refused.json", false);
    assert_eq!(num(&doc, &["requests"]), 0, "{doc}");
    assert_eq!(num(&doc, &["connects"]), 0, "{doc}");
    assert_eq!(num(&doc, &["errors", "connect"]), N, "{doc}");
    assert_eq!(
        num(&doc, &["errors", "connect_by_kind", "refused"]),
        N,
        "{doc}"
    );
    assert_eq!(num(&doc, &["errors", "total"]), N, "{doc}");
    assert!(doc["latency_us"]["p50"].is_null(), "no latency: {doc}");
}

/// The seed's `http.server`: HTTP/1.0, no Content-Length, closes after each answer.
fn http10_server(seen: Arc<Seen>) -> SocketAddr {
    server(move |mut conn| {
        seen.connections.fetch_add(1, Ordering::SeqCst);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if text.contains("\r\nconnection: close\r\n") {
            seen.close_requested.fetch_add(1, Ordering::SeqCst);
        }
        // Headers and body in two writes, then close, as http.server does.
        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-type: text/html\r\n\r\n");
        let _ = conn.write_all(b"Hello, client!");
    })
}

#[test]
fn http10_server_that_closes_after_each_answer() {
    let seen = Arc::new(Seen::default());
    let addr = http10_server(seen.clone());
    let url = format!("http://{addr}/");
    let requests = N.to_string();
    let doc = run_json(
        "http10-cpr.json",
        &[
            "http",
            &url,
            "--connect-per-request",
            "-c",
            "4",
            "--requests",
            &requests,
        ],
        true,
    );
    assert_all_answered(&doc);
    assert_eq!(num(&doc, &["status_codes", "200"]), N, "{doc}");
    assert_eq!(seen.connections.load(Ordering::SeqCst), N);
    assert_eq!(seen.close_requested.load(Ordering::SeqCst), N);
}

#[test]
fn http10_server_on_long_lived_connections_reconnects_without_timeouts() {
    // Without --connect-per-request the generator learns from each answer that the server
    // closes, and reconnects. A FIN that arrives with the body must be seen at once, not at
    // the request timeout.
    let seen = Arc::new(Seen::default());
    let addr = http10_server(seen.clone());
    let url = format!("http://{addr}/");
    let requests = N.to_string();
    let doc = run_json(
        "http10-keepalive.json",
        &[
            "http",
            &url,
            "-c",
            "2",
            "--requests",
            &requests,
            "--timeout",
            "5s",
        ],
        true,
    );
    assert_eq!(num(&doc, &["requests"]), N, "{doc}");
    assert_eq!(num(&doc, &["errors", "timeout"]), 0, "{doc}");
    assert_eq!(num(&doc, &["errors", "total"]), 0, "{doc}");
    assert_eq!(num(&doc, &["status_codes", "200"]), N, "{doc}");
}

#[test]
fn hdr_log_tags_connect_times_apart_from_latency() {
    let seen = Arc::new(Seen::default());
    let addr = echo_once(seen, true);
    let dir = std::env::temp_dir().join(format!("loadgen-cpr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let log = dir.join("cpr.hlog");
    let log_arg = log.to_str().expect("utf-8 temp path");
    let doc = per_request_tcp(
        addr,
        &["--hdr-log", log_arg, "--tag", "gen"],
        "tcp-hdrlog.json",
        true,
    );
    assert_all_answered(&doc);
    let text = std::fs::read_to_string(&log).expect("log written");
    let tagged = |tag: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("Tag={tag},")))
            .count()
    };
    assert!(tagged("gen") >= 1, "{text}");
    assert!(tagged("gen-connect") >= 1, "{text}");
    let merged = loadgen(&[
        "merge",
        log_arg,
        "--json",
        dir.join("m.json").to_str().unwrap(),
    ]);
    assert!(merged.status.success());
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.json")).expect("merge json"))
            .expect("valid json");
    assert_eq!(num(&m, &["count"]), N, "merge adds latency only: {m}");
}

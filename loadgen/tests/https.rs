//! End-to-end tests of `https://` targets: the real binary against Python's `http.server`
//! behind Python's `ssl` (OpenSSL), a peer that is not ours, with a certificate made at run
//! time. The server's own count of answered requests is the ground truth. They assert counts
//! and messages, never speed.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use reactor_testkit::python::{HttpVersion, PythonHttps};
use reactor_testkit::tls::TestCert;
use serde_json::Value;

mod common;

/// Requests of every run: enough to resume sessions many times, few for a loaded machine
/// (Python's server spends a few milliseconds per handshake).
const N: u64 = 120;
/// Upper bound on any one run, far above what it needs.
const LIMIT: Duration = Duration::from_secs(90);

fn loadgen(args: &[&str]) -> Output {
    common::loadgen(args, LIMIT)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run with `args` plus `--json`; the run must end as a measurement. Returns the document.
fn run_json(name: &str, args: &[&str]) -> (Value, String) {
    let dir = std::env::temp_dir().join(format!("loadgen-https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json: PathBuf = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["--json", json.to_str().expect("utf-8 temp path")]);
    let out = loadgen(&all);
    // Exit 5 is a measurement the self-check marked invalid (a loaded machine can make a run
    // so); these tests are about counts.
    assert!(matches!(out.status.code(), Some(0 | 5)), "{}", text(&out));
    let doc = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no json: {}", text(&out)));
    (serde_json::from_str(&doc).expect("valid json"), text(&out))
}

fn num(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

fn cert_path(cert: &TestCert) -> &str {
    cert.cert_path.to_str().expect("utf-8 temp path")
}

#[test]
fn keep_alive_over_tls_with_cacert_answers_every_request_the_server_counted() {
    let cert = TestCert::generate("https-keepalive");
    let server = PythonHttps::start(&cert, HttpVersion::Http11);
    let url = server.url();
    let n = N.to_string();
    let (doc, summary) = run_json(
        "keepalive.json",
        &[
            "http",
            &url,
            "-c",
            "4",
            "--requests",
            &n,
            "--cacert",
            cert_path(&cert),
        ],
    );
    let counted = server.stop();
    assert_eq!(num(&doc, "/requests"), N, "{summary}");
    assert_eq!(counted.requests, N, "the server answered what we counted");
    assert_eq!(num(&doc, "/errors/total"), 0, "{summary}");
    assert_eq!(num(&doc, "/status_codes/200"), N);
    let tls = &doc["tls"];
    assert_eq!(tls["verification"], "cacert");
    assert_eq!(tls["insecure"], false);
    assert_eq!(tls["version"], "TLSv1.3", "Python's OpenSSL offers TLS 1.3");
    assert_eq!(
        tls["key_exchange"], "X25519",
        "the share offered first is taken"
    );
    assert!(tls["cipher_suite"]
        .as_str()
        .is_some_and(|s| s.starts_with("TLS13_")));
    assert_eq!(
        num(&doc, "/tls/handshakes"),
        4,
        "one handshake per connection"
    );
    assert_eq!(num(&doc, "/tls/handshake_us/count"), 4);
    assert_eq!(num(&doc, "/tls/handshake_failures/total"), 0);
    assert!(summary.contains("  handshake  p50"), "{summary}");
    assert_eq!(counted.handshake_failures, 0);
}

#[test]
fn pipelined_requests_over_tls_are_all_answered() {
    let cert = TestCert::generate("https-pipeline");
    let server = PythonHttps::start(&cert, HttpVersion::Http11);
    let url = server.url();
    let n = N.to_string();
    let (doc, summary) = run_json(
        "pipeline.json",
        &[
            "http",
            &url,
            "-c",
            "2",
            "--pipeline",
            "4",
            "--requests",
            &n,
            "--cacert",
            cert_path(&cert),
        ],
    );
    let counted = server.stop();
    assert_eq!(num(&doc, "/requests"), N, "{summary}");
    assert_eq!(counted.requests, N);
    assert_eq!(num(&doc, "/errors/total"), 0, "{summary}");
}

#[test]
fn an_unknown_certificate_fails_naming_the_fix_and_insecure_skips_the_check() {
    let cert = TestCert::generate("https-verify");
    let server = PythonHttps::start(&cert, HttpVersion::Http11);
    let url = server.url();
    // The system roots do not know a certificate made a moment ago.
    let out = loadgen(&["http", &url, "-c", "2", "--requests", "10"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("certificate verification failed"), "{said}");
    assert!(
        said.contains("--cacert") && said.contains("--insecure"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");

    let (doc, summary) = run_json(
        "insecure.json",
        &["http", &url, "-c", "2", "--requests", "10", "--insecure"],
    );
    let counted = server.stop();
    assert_eq!(num(&doc, "/requests"), 10, "{summary}");
    assert_eq!(doc["tls"]["insecure"], true);
    assert_eq!(doc["tls"]["verification"], "none");
    assert!(summary.contains("NOT VERIFIED (--insecure)"), "{summary}");
    let warned = doc["warnings"].as_array().expect("warnings");
    assert!(warned
        .iter()
        .any(|w| w.as_str().is_some_and(|w| w.contains("--insecure"))));
    assert_eq!(counted.requests, 10);
    assert_eq!(counted.handshake_failures, 2, "the refused connections");
}

#[test]
fn a_connection_per_request_resumes_sessions_unless_told_not_to() {
    let cert = TestCert::generate("https-resume");
    let server = PythonHttps::start(&cert, HttpVersion::Http10);
    let url = server.url();
    let n = N.to_string();
    let base = [
        "http",
        &url,
        "-c",
        "2",
        "--connect-per-request",
        "--requests",
        &n,
        "--cacert",
        cert_path(&cert),
    ];
    let (resumed, summary) = run_json("resume-on.json", &base);
    assert_eq!(num(&resumed, "/requests"), N, "{summary}");
    assert_eq!(
        num(&resumed, "/tls/handshakes"),
        N,
        "one handshake per request"
    );
    assert!(
        num(&resumed, "/tls/resumed_handshakes") > 0,
        "TLS 1.3 tickets from Python's server are used: {summary}"
    );
    assert_eq!(
        num(&resumed, "/tls/full_handshakes") + num(&resumed, "/tls/resumed_handshakes"),
        N
    );
    assert_eq!(resumed["tls"]["resumption"], true);
    assert!(
        summary.contains("handshakes (connections) per second"),
        "{summary}"
    );

    let mut off = base.to_vec();
    off.extend(["--tls-resume", "off"]);
    let (full, summary) = run_json("resume-off.json", &off);
    let counted = server.stop();
    assert_eq!(num(&full, "/requests"), N, "{summary}");
    assert_eq!(num(&full, "/tls/resumed_handshakes"), 0, "{summary}");
    assert_eq!(num(&full, "/tls/full_handshakes"), N);
    assert_eq!(full["tls"]["resumption"], false);
    assert_eq!(counted.requests, 2 * N, "the server answered both runs");
}

#[test]
fn a_plaintext_server_on_an_https_url_is_a_counted_protocol_failure_not_a_hang() {
    // Python's plain http.server: it answers the ClientHello with an HTTP 400 in plaintext.
    let server = reactor_testkit::Listening::start(
        std::process::Command::new("python3").args([
            "-c",
            "import http.server as h\n\
             s = h.HTTPServer(('127.0.0.1', 0), h.BaseHTTPRequestHandler)\n\
             print(f'listening http 127.0.0.1:{s.server_address[1]}', flush=True)\n\
             s.serve_forever()",
        ]),
        1,
    );
    let addr = server.addr("http").expect("http");
    let url = format!("https://{addr}/");
    let out = loadgen(&["http", &url, "-c", "1", "--requests", "5", "--insecure"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("TLS handshake failed"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}

#[test]
fn tls_flags_on_a_plain_http_url_are_a_usage_error() {
    let out = loadgen(&[
        "http",
        "http://127.0.0.1:9/",
        "--insecure",
        "--requests",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("https://"));
}

/// A TCP server on 127.0.0.1:0 that does `with` to every connection it accepts.
fn raw_server(with: fn(std::net::TcpStream)) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || with(conn));
        }
    });
    addr
}

#[test]
fn a_server_closing_mid_handshake_is_a_counted_failure() {
    let addr = raw_server(|mut conn| {
        // Read the ClientHello, then close without a word.
        let mut hello = [0u8; 512];
        let _ = std::io::Read::read(&mut conn, &mut hello);
    });
    let out = loadgen(&[
        "http",
        &format!("https://{addr}/"),
        "-c",
        "2",
        "--requests",
        "5",
        "--insecure",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("closed the connection mid-handshake"),
        "{said}"
    );
}

#[test]
fn a_server_that_never_answers_the_hello_is_bounded_by_the_connect_timeout() {
    let addr = raw_server(|conn| {
        std::thread::sleep(Duration::from_secs(30));
        drop(conn);
    });
    let started = std::time::Instant::now();
    let out = loadgen(&[
        "http",
        &format!("https://{addr}/"),
        "-c",
        "1",
        "--requests",
        "1",
        "--insecure",
        "--connect-timeout",
        "300ms",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("TLS handshake timed out"), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "ended by its own timeout, not by the server's close"
    );
}

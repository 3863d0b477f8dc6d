//! Refusals that must end the connection whichever read found them, the monitoring listener's
//! routes, the limits a flag may take, and what the shutdown log claims.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, run_bounded, server_bin, Server};

const CHUNKED_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Long enough that the server has read the head alone before the rest arrives (when it has
/// not, both arrive in one read, and the test checks the easier case: never a false failure).
const BETWEEN_READS: Duration = Duration::from_millis(200);

/// An error answered with `Connection: close` is followed by our FIN this soon.
const FIN_WITHIN: Duration = Duration::from_secs(1);

/// Sends `head`, then (in a later read) `rest`; returns the status of the one answer once the
/// stream has ended, and fails if the FIN does not follow the answer within [`FIN_WITHIN`].
fn refused_in_a_later_read(addr: SocketAddr, head: &[u8], rest: &[u8]) -> u16 {
    let mut stream = connect(addr);
    stream.write_all(head).expect("write head");
    std::thread::sleep(BETWEEN_READS);
    stream.write_all(rest).expect("write rest");
    let answer = read_until_fin(&mut stream);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "one answer: {text}");
    text[9..12].parse().expect("status code")
}

/// Reads the answer, then requires EOF within [`FIN_WITHIN`] of its first byte.
fn read_until_fin(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut first_byte_at = None;
    loop {
        if let Some(at) = first_byte_at {
            let left = FIN_WITHIN.saturating_sub(Instant::elapsed(&at));
            assert!(
                !left.is_zero(),
                "no FIN within {FIN_WITHIN:?} of the answer"
            );
            stream.set_read_timeout(Some(left)).expect("timeout");
        }
        match stream.read(&mut chunk) {
            Ok(0) => return got,
            Ok(n) => {
                got.extend_from_slice(&chunk[..n]);
                first_byte_at.get_or_insert_with(Instant::now);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "no FIN within {FIN_WITHIN:?} of the answer: {:?}",
                    String::from_utf8_lossy(&got)
                )
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn http_server(extra: &[&str]) -> (Server, SocketAddr) {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    let addr = server.http.expect("http listener");
    (server, addr)
}

#[test]
fn a_malformed_chunk_size_in_a_later_read_closes_at_once() {
    let (_server, addr) = http_server(&[]);
    let status = refused_in_a_later_read(addr, CHUNKED_HEAD, b"5 hello\r\nhello\r\n");
    assert_eq!(status, 400);
}

#[test]
fn a_chunked_body_over_max_body_in_a_later_read_closes_at_once() {
    let (_server, addr) = http_server(&["--max-body", "64"]);
    let chunk = format!("41\r\n{}\r\n", "x".repeat(65));
    let status = refused_in_a_later_read(addr, CHUNKED_HEAD, chunk.as_bytes());
    assert_eq!(status, 413);
}

#[test]
fn a_chunked_body_outgrowing_max_buffered_in_a_later_read_closes_at_once() {
    let (_server, addr) = http_server(&["--max-buffered", "4096"]);
    let status = refused_in_a_later_read(addr, CHUNKED_HEAD, b"10\r\n0123456789abcdef\r\n");
    assert_eq!(status, 503);
}

#[test]
fn a_bad_trailer_line_in_a_later_read_closes_at_once() {
    let (_server, addr) = http_server(&[]);
    let rest = b"2\r\nok\r\n0\r\nno colon here\r\n\r\n";
    let status = refused_in_a_later_read(addr, CHUNKED_HEAD, rest);
    assert_eq!(status, 400);
}

/// Bytes of an unfinished head count against `--max-buffered` like body bytes.
#[test]
fn head_bytes_beyond_max_buffered_get_503_and_close() {
    let (_server, addr) = http_server(&["--max-buffered", "512", "--max-header-bytes", "65536"]);
    let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Filler: ";
    let filler = vec![b'a'; 2048];
    let status = refused_in_a_later_read(addr, head, &filler);
    assert_eq!(status, 503);
}

/// One request on a fresh connection; the status of its answer.
fn status_of(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = connect(addr);
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[test]
fn the_metrics_listener_serves_metrics_and_healthz_only() {
    let server = Server::start(&["--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]);
    let metrics = server.metrics.expect("metrics listener");
    let http = server.http.expect("http listener");
    let close = "Host: t\r\nConnection: close\r\n";
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\n{close}\r\n").into_bytes();
    let echo = format!("POST /echo HTTP/1.1\r\n{close}Content-Length: 2\r\n\r\nhi").into_bytes();
    assert_eq!(status_of(metrics, &get("/metrics")), 200);
    assert_eq!(status_of(metrics, &get("/healthz")), 200);
    for refused in [get("/"), get("/stats"), echo.clone()] {
        assert_eq!(status_of(metrics, &refused), 404);
    }
    // The HTTP listener is unchanged.
    assert_eq!(status_of(http, &echo), 200);
    assert_eq!(status_of(http, &get("/stats")), 200);
}

#[test]
fn max_header_bytes_refuses_zero_and_values_over_its_ceiling() {
    for bad in ["0", "1048577", "4294967296"] {
        let out = run_bounded(
            Command::new(server_bin()).args(["--http", "127.0.0.1:0", "--max-header-bytes", bad]),
            Duration::from_secs(20),
        );
        assert_eq!(out.code, Some(2), "{bad}: {out:?}");
        assert!(
            out.stderr.contains("--max-header-bytes") && out.stderr.contains("1..=1048576"),
            "{bad}: {}",
            out.stderr
        );
    }
    let (_server, addr) = http_server(&["--max-header-bytes", "1048576"]);
    assert_eq!(
        status_of(
            addr,
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        ),
        200
    );
}

/// At the drain deadline the log says how many connections still owed output: a connection
/// that owes nothing (it waits for our FIN to be answered) is not "output still owed".
#[test]
fn the_drain_timeout_log_tells_idle_connections_from_owing_ones() {
    let mut cmd = Command::new(server_bin());
    cmd.args(["--http", "127.0.0.1:0", "--drain-timeout", "300ms"])
        .env("RUST_LOG", "warn");
    let mut server = Server::start_capturing_stderr(&mut cmd);
    let addr = server.http.expect("http listener");
    // A keep-alive client that got its answer and then neither sends nor closes: at shutdown
    // the server shuts its side and lingers for this client's FIN, owing nothing.
    let mut idle = connect(addr);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let mut answer = [0u8; 256];
    let n = idle.read(&mut answer).expect("answer");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let lines: Vec<String> = server
        .stderr_lines
        .take()
        .expect("captured")
        .iter()
        .collect();
    let drain = lines
        .iter()
        .find(|line| line.contains("drain timeout"))
        .unwrap_or_else(|| panic!("no drain-timeout line in {lines:?}"));
    assert!(!drain.contains("still owed"), "{drain}");
    assert!(
        drain.contains("closing 1 connections that owed no output"),
        "{drain}"
    );
    drop(idle);
}

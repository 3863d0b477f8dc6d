//! HTTP/1.1 integration tests: the real `reactor-server` binary driven by real clients (curl,
//! Python's `http.client` as in the seed texts) and by raw sockets for pipelining, split input,
//! the error statuses, slowloris and garbage.
//!
//! Every socket has a read timeout and every child process a time limit, so a server that
//! misbehaves fails a test instead of hanging it.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, eventually, http_get, run_bounded, server_bin, Server};
use rand::{Rng, SeedableRng};
use reactor_testkit::http::{Response, ResponseReader as Reader};

/// Read timeout of the raw sockets: generous, only there so nothing hangs.
const READ_LIMIT: Duration = Duration::from_secs(10);
/// Time limit of each client process (curl, python3, `--health-check`).
const CHILD_LIMIT: Duration = Duration::from_secs(20);

fn start_http(extra: &[&str]) -> (Server, SocketAddr) {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    let addr = server.http.expect("http listener");
    (server, addr)
}

/// A raw client socket with bounded reads and writes.
fn raw(addr: SocketAddr) -> TcpStream {
    let stream = connect(addr);
    stream.set_read_timeout(Some(READ_LIMIT)).expect("timeout");
    stream
}

/// Idle time after which a connection that sent nothing is taken as still open.
const QUIET: Duration = Duration::from_millis(200);

fn reader(addr: SocketAddr) -> Reader {
    Reader::new(raw(addr))
}

/// Sends `request` on a fresh connection and returns its one response.
fn exchange(addr: SocketAddr, request: &[u8]) -> (Reader, Response) {
    let mut r = reader(addr);
    r.send(request);
    let response = r.response(false);
    (r, response)
}

fn assert_hello(response: &Response) {
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"Hello, client!");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("content-length"), Some("14"));
    assert_eq!(response.header("server"), Some("reactor"));
    let date = response.header("date").expect("Date header");
    assert!(
        date.len() == 29 && date.ends_with(" GMT"),
        "IMF-fixdate: {date:?}"
    );
}

fn closed_for(server: &Server, reason: &str) -> u64 {
    server.stats()["connections"]["closed"][reason]
        .as_u64()
        .expect("close counter")
}

const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// ----- curl -------------------------------------------------------------------------------

fn curl(args: &[&str]) -> common::RunOutput {
    let out = run_bounded(
        Command::new("curl")
            .args(["-sS", "--http1.1", "--max-time", "10"])
            .args(args),
        CHILD_LIMIT,
    );
    assert!(!out.timed_out, "curl hung: {out:?}");
    assert_eq!(out.code, Some(0), "curl failed: {out:?}");
    out
}

#[test]
fn curl_gets_hello_with_headers() {
    let (_server, addr) = start_http(&[]);
    let out = curl(&["-i", &format!("http://{addr}/")]);
    let (head, body) = out.stdout.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(body, "Hello, client!");
    let head = head.to_ascii_lowercase();
    for header in [
        "content-type: text/plain",
        "content-length: 14",
        "server: reactor",
        "date: ",
    ] {
        assert!(head.contains(header), "missing {header:?} in {head}");
    }
}

#[test]
fn curl_reuses_one_connection_for_two_urls() {
    let (server, addr) = start_http(&[]);
    let out = curl(&[
        "-v",
        &format!("http://{addr}/"),
        &format!("http://{addr}/healthz"),
    ]);
    assert_eq!(out.stdout, "Hello, client!ok\n");
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "curl opened a second connection:\n{}",
        out.stderr
    );
    // curl's one connection plus the one asking for /stats.
    assert_eq!(server.stats()["connections"]["accepted"], 2);
}

#[test]
fn curl_head_post_and_errors() {
    let (_server, addr) = start_http(&[]);
    let head = curl(&["-I", &format!("http://{addr}/")]);
    assert!(
        head.stdout.starts_with("HTTP/1.1 200 OK"),
        "{}",
        head.stdout
    );
    assert!(head
        .stdout
        .to_ascii_lowercase()
        .contains("content-length: 14"));
    assert!(head.stdout.ends_with("\r\n\r\n"), "HEAD has no body");

    let echo = curl(&["--data-binary", "ping pong", &format!("http://{addr}/echo")]);
    assert_eq!(echo.stdout, "ping pong");

    // `Expect: 100-continue` gets its interim response, so curl sends the body at once.
    let expect = curl(&[
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        "continued",
        &format!("http://{addr}/echo"),
    ]);
    assert_eq!(expect.stdout, "continued");

    let missing = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{addr}/nope"),
    ]);
    assert_eq!(missing.stdout, "404");
    let wrong = curl(&[
        "-X",
        "DELETE",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{addr}/"),
    ]);
    assert_eq!(wrong.stdout, "501");
    let wrong = curl(&[
        "-X",
        "POST",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://{addr}/"),
    ]);
    assert_eq!(wrong.stdout, "405");
    // curl streams a body of unknown length with the chunked coding.
    let mut streamed = Command::new("curl");
    streamed
        .args([
            "-sS",
            "--max-time",
            "10",
            "-T",
            "-",
            &format!("http://{addr}/echo"),
        ])
        .args(["-X", "POST"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = streamed.spawn().expect("spawn curl");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"streamed through curl")
        .expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("curl output");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "streamed through curl"
    );
}

// ----- Python http.client, as in the seed texts ---------------------------------------------

/// The seed texts' client, against our server, with a second request on the same connection.
const PYTHON_CLIENT: &str = r#"
import http.client, sys

# HTTP 연결 생성
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)

# GET 요청 전송
conn.request("GET", "/")

# 응답 받기
response = conn.getresponse()

# 응답 상태 코드 출력
print(response.status)

# 응답 데이터 출력
data = response.read()
print(data.decode())

# same connection: POST /echo, then a 404
conn.request("POST", "/echo", body=b"from python")
response = conn.getresponse()
print(response.status, response.read().decode())
conn.request("GET", "/missing")
response = conn.getresponse()
print(response.status, response.getheader("Content-Type"))
response.read()

# 연결 종료
conn.close()
"#;

#[test]
fn python_http_client_as_in_the_seed() {
    let (server, addr) = start_http(&[]);
    let out = run_bounded(
        Command::new("python3")
            .args(["-c", PYTHON_CLIENT])
            .arg(addr.port().to_string()),
        CHILD_LIMIT,
    );
    assert!(
        !out.timed_out && out.code == Some(0),
        "python failed: {out:?}"
    );
    assert_eq!(
        out.stdout,
        "200\nHello, client!\n200 from python\n404 text/plain\n"
    );
    // All three requests on one connection (plus the /stats one).
    assert_eq!(server.stats()["connections"]["accepted"], 2);
}

// ----- raw sockets: framing -----------------------------------------------------------------

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    let (_server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.send(
        concat!(
            "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
            "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
            "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde",
            "GET /?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .as_bytes(),
    );
    assert_hello(&r.response(false));
    let health = r.response(false);
    assert_eq!((health.status, health.body_text().as_str()), (200, "ok\n"));
    assert_eq!(r.response(false).status, 404);
    let head = r.response(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("14"));
    let echo = r.response(false);
    assert_eq!((echo.status, echo.body.as_slice()), (200, &b"abcde"[..]));
    assert_hello(&r.response(false));
    r.expect_open(QUIET);
}

#[test]
fn deep_pipeline_survives_the_output_cap() {
    // A small output cap makes the server pause and resume many times within the batch.
    let (_server, addr) = start_http(&["--max-output", "4096"]);
    const N: usize = 2000;
    let mut r = reader(addr);
    let mut writer = r.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let batch = GET_ROOT.repeat(N);
        writer.write_all(&batch).expect("write pipeline");
    });
    for i in 0..N {
        let response = r.response(false);
        assert_eq!(response.status, 200, "response {i}");
        assert_eq!(response.body, b"Hello, client!", "response {i}");
    }
    sender.join().expect("sender");
    r.expect_open(QUIET);
}

#[test]
fn request_sent_one_byte_at_a_time() {
    let (_server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.stream.set_nodelay(true).expect("nodelay");
    let requests =
        b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: slow\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz";
    for byte in requests {
        r.send(std::slice::from_ref(byte));
        std::thread::sleep(Duration::from_micros(300));
    }
    assert_hello(&r.response(false));
    let echo = r.response(false);
    assert_eq!((echo.status, echo.body.as_slice()), (200, &b"xyz"[..]));
    r.expect_open(QUIET);
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    let (_server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = r.response(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("14"));
    assert_eq!(head.header("content-type"), Some("text/plain"));
    // The next response starts right away: no body bytes were sent for the HEAD.
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

#[test]
fn healthz_and_stats_json() {
    let (server, addr) = start_http(&[]);
    assert_eq!(http_get(addr, "/healthz"), b"ok\n");
    let (_r, stats) = exchange(addr, b"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(stats.status, 200);
    assert_eq!(stats.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&stats.body).expect("stats JSON");
    assert!(json["connections"]["accepted"].as_u64().expect("accepted") >= 2);
    assert!(json["tcp"]["bytes_in"].as_u64().expect("bytes_in") > 0);
    let later = server.stats();
    assert!(later["connections"]["closed"].is_object());
    assert!(later["connections"]["accepted"].as_u64() >= Some(3));
}

#[test]
fn post_echo_returns_the_body() {
    let (_server, addr) = start_http(&["--max-body", "70000"]);
    let body: Vec<u8> = (0..65_000u32).map(|i| (i % 251) as u8).collect();
    let mut r = reader(addr);
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    r.send(&request);
    let echo = r.response(false);
    assert_eq!(echo.status, 200);
    assert_eq!(
        echo.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(echo.body == body, "echoed body differs");
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

// ----- raw sockets: statuses ----------------------------------------------------------------

#[test]
fn unknown_path_is_404_and_keeps_the_connection() {
    let (_server, addr) = start_http(&[]);
    let (mut r, missing) = exchange(addr, b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("connection"), None);
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

#[test]
fn wrong_method_is_405_with_allow() {
    let (_server, addr) = start_http(&[]);
    let (mut r, wrong) = exchange(addr, b"POST / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    r.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    let wrong = r.response(false);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("POST"));
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

/// Sends `request` and expects `status`, `Connection: close` and EOF.
fn expect_reject_and_close(addr: SocketAddr, request: &[u8], status: u16) {
    let (mut r, response) = exchange(addr, request);
    assert_eq!(response.status, status, "body {:?}", response.body_text());
    assert_eq!(response.header("connection"), Some("close"));
    r.expect_eof();
}

#[test]
fn malformed_request_is_400_and_close() {
    let (server, addr) = start_http(&[]);
    expect_reject_and_close(
        addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n",
        400,
    );
    expect_reject_and_close(addr, b"\x00\x01\x02 garbage\r\n\r\n", 400);
    expect_reject_and_close(addr, b"GET / HTTP/9.9\r\n\r\n", 505);
    expect_reject_and_close(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    );
    expect_reject_and_close(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        400,
    );
    assert!(closed_for(&server, "protocol") >= 5);
}

#[test]
fn request_line_too_long_is_414() {
    let (_server, addr) = start_http(&[]);
    let request = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    expect_reject_and_close(addr, request.as_bytes(), 414);
}

#[test]
fn headers_too_large_is_431_and_close() {
    let (_server, addr) = start_http(&[]);
    let mut big = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..100 {
        big.push_str(&format!("X-Pad-{i}: {}\r\n", "v".repeat(100)));
    }
    big.push_str("\r\n");
    expect_reject_and_close(addr, big.as_bytes(), 431);

    let mut many = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    expect_reject_and_close(addr, many.as_bytes(), 431);

    // --max-header-bytes lowers the limit.
    let (_server, addr) = start_http(&["--max-header-bytes", "256"]);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Long: {}\r\n\r\n",
        "v".repeat(300)
    );
    expect_reject_and_close(addr, request.as_bytes(), 431);
}

#[test]
fn body_over_the_cap_is_413() {
    let (_server, addr) = start_http(&["--max-body", "1024"]);
    let at_cap = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n{}",
        "b".repeat(1024)
    );
    let (_r, ok) = exchange(addr, at_cap.as_bytes());
    assert_eq!((ok.status, ok.body.len()), (200, 1024));
    // Refused on the head alone: the body is never sent.
    expect_reject_and_close(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n",
        413,
    );
}

#[test]
fn chunked_body_is_echoed_and_the_connection_stays() {
    let (_server, addr) = start_http(&["--max-body", "16"]);
    let (mut r, echo) = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nTrailer-Field: z\r\n\r\n",
    );
    assert_eq!((echo.status, echo.body_text().as_str()), (200, "hello!"));
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
    // Over --max-body once decoded: 413 and close.
    expect_reject_and_close(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n",
        413,
    );
    // A transfer coding the server does not implement: 501.
    expect_reject_and_close(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
}

/// The cases a new user tried by hand, each as RFC 9112 / RFC 9110 require.
#[test]
fn hand_written_requests_get_the_rfc_answers() {
    let (_server, addr) = start_http(&[]);
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a/b@c\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: x\r\nContent-Length: 1\r\n\r\n",
            417,
        ),
    ] {
        expect_reject_and_close(addr, request, status);
    }
    let long_method = [&[b'A'; 9000][..], b" / HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
    expect_reject_and_close(addr, &long_method, 501);
    let (mut r, absolute) = exchange(addr, b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_hello(&absolute);
    r.send(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n");
    assert_hello(&r.response(false));
    r.send(b"get / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.response(false).status, 501);
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

/// Content-Length next to Transfer-Encoding is refused and nothing after it is answered, so no
/// request can be smuggled in the body (RFC 9112 §6.1, §11.2).
#[test]
fn content_length_with_transfer_encoding_cannot_smuggle() {
    let (_server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let response = r.response(false);
    assert_eq!(response.status, 400);
    assert_eq!(response.header("connection"), Some("close"));
    r.expect_eof();
}

// ----- raw sockets: connection rules --------------------------------------------------------

#[test]
fn http10_closes_unless_keep_alive() {
    let (_server, addr) = start_http(&[]);
    let (mut r, response) = exchange(addr, b"GET / HTTP/1.0\r\n\r\n");
    assert_hello(&response);
    r.expect_eof();

    let (mut r, response) = exchange(addr, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_hello(&response);
    assert_eq!(response.header("connection"), Some("keep-alive"));
    r.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.response(false).status, 200);
    r.send(b"GET / HTTP/1.0\r\n\r\n");
    assert_hello(&r.response(false));
    r.expect_eof();
}

#[test]
fn connection_close_is_honoured() {
    let (_server, addr) = start_http(&[]);
    let (mut r, response) = exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_hello(&response);
    assert_eq!(response.header("connection"), Some("close"));
    r.expect_eof();

    // Requests pipelined behind the closing one are not answered.
    let mut r = reader(addr);
    r.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_hello(&r.response(false));
    r.expect_eof();
}

#[test]
fn slowloris_gets_408_then_eof() {
    let (server, addr) = start_http(&["--header-timeout", "300ms"]);
    let mut r = reader(addr);
    let started = Instant::now();
    r.send(b"GET / HTTP/1.1\r\nHost: t\r\n");
    let response = r.response(false);
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "408 before the header timeout"
    );
    r.expect_eof();
    assert!(eventually(Duration::from_secs(5), || closed_for(
        &server,
        "header_timeout"
    ) == 1));
}

#[test]
fn slowloris_trickling_bytes_still_gets_408() {
    // The timeout runs from the start of the head: sending a byte now and then does not
    // extend it.
    let (_server, addr) = start_http(&["--header-timeout", "300ms"]);
    let mut r = reader(addr);
    r.stream.set_nodelay(true).expect("nodelay");
    let mut trickler = r.stream.try_clone().expect("clone");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let head =
            b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if stop_flag.load(std::sync::atomic::Ordering::Relaxed)
                || trickler.write_all(std::slice::from_ref(byte)).is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let response = r.response(false);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(response.status, 408);
    thread.join().expect("trickler");
}

#[test]
fn idle_keep_alive_connection_without_a_request_is_not_408() {
    // Between requests no head has started, so the header timeout does not apply.
    let (_server, addr) = start_http(&["--header-timeout", "200ms"]);
    let (mut r, response) = exchange(addr, GET_ROOT);
    assert_hello(&response);
    std::thread::sleep(Duration::from_millis(500));
    r.expect_open(QUIET);
    r.send(GET_ROOT);
    assert_hello(&r.response(false));
}

#[test]
fn garbage_peer_does_not_disturb_a_good_client() {
    let (server, addr) = start_http(&[]);
    let mut good = reader(addr);
    good.send(GET_ROOT);
    assert_hello(&good.response(false));

    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut garbage_conns = Vec::new();
    for round in 0..20 {
        // Random bytes (starting with a byte no method can have), HTTP-looking noise, and a
        // half-sent head that is then abandoned.
        let mut noise: Vec<u8> = (0..rng.random_range(1..4096))
            .map(|_| rng.random())
            .collect();
        noise[0] = 0;
        let mut bad = raw(addr);
        match round % 3 {
            0 => {
                let _ = bad.write_all(&noise);
            }
            1 => {
                let _ = bad.write_all(b"GET /\x7f HTTP/1.1\r\nHost: t\r\n\xff\xfe: \x01\r\n\r\n");
            }
            _ => {
                let _ = bad.write_all(
                    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npart",
                );
            }
        }
        garbage_conns.push(bad);
        good.send(GET_ROOT);
        assert_hello(&good.response(false));
        good.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\ngood");
        assert_eq!(good.response(false).body, b"good");
    }
    // The garbage connections that were rejected got a 400 and a close.
    for (i, mut bad) in garbage_conns.into_iter().enumerate() {
        if i % 3 == 2 {
            continue; // a valid but unfinished request: still waiting for its body
        }
        let mut r = Reader::new(bad.try_clone().expect("clone"));
        let response = r.response(false);
        assert_eq!(response.status, 400, "garbage connection {i}");
        r.expect_eof();
        let _ = bad.flush();
    }
    good.expect_open(QUIET);
    assert!(closed_for(&server, "protocol") >= 13);
}

#[test]
fn abrupt_disconnects_mid_request_leave_the_server_serving() {
    let (server, addr) = start_http(&[]);
    for i in 0..50 {
        let mut s = raw(addr);
        let partial =
            &b"GET / HTTP/1.1\r\nHost: t\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nab"
                [..(i * 7) % 60 + 1];
        let _ = s.write_all(partial);
        if i % 2 == 0 {
            // RST instead of FIN: linger 0 then close.
            let sock = socket_linger_zero(&s);
            drop(s);
            drop(sock);
        }
    }
    assert_hello(&exchange(addr, GET_ROOT).1);
    assert!(eventually(Duration::from_secs(5), || server.stats()
        ["connections"]["active"]
        == 1));
}

/// Sets SO_LINGER to 0 so that dropping the socket sends RST.
fn socket_linger_zero(stream: &TcpStream) -> TcpStream {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a valid, open descriptor with a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
    stream.try_clone().expect("clone")
}

// ----- --health-check -----------------------------------------------------------------------

#[test]
fn health_check_flag_against_a_running_server_and_a_closed_port() {
    let (_server, addr) = start_http(&[]);
    let ok = run_bounded(
        Command::new(server_bin()).args(["--health-check", &addr.to_string()]),
        CHILD_LIMIT,
    );
    assert!(!ok.timed_out);
    assert_eq!(ok.code, Some(0), "health check failed: {ok:?}");

    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let fail = run_bounded(
        Command::new(server_bin()).args(["--health-check", &closed.to_string()]),
        CHILD_LIMIT,
    );
    assert!(!fail.timed_out, "health check hung: {fail:?}");
    assert_ne!(fail.code, Some(0), "health check passed on a closed port");
    assert!(fail.stderr.contains("connect"), "{}", fail.stderr);
}

#[test]
fn post_body_arriving_in_many_reads_is_echoed() {
    // A body larger than the header limit, sent in pieces: only the head counts against
    // --max-header-bytes, so waiting for the rest of the body must not turn into a 431.
    let (_server, addr) = start_http(&[]);
    let body: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut r = reader(addr);
    r.stream.set_nodelay(true).expect("nodelay");
    r.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    for chunk in body.chunks(1000) {
        r.send(chunk);
        std::thread::sleep(Duration::from_millis(2));
    }
    let echo = r.response(false);
    assert_eq!(echo.status, 200, "body {:?}", echo.body_text());
    assert!(echo.body == body, "echoed body differs");
}

#[test]
fn half_close_after_a_pipelined_batch_still_gets_every_answer() {
    // The client sends its requests and FIN at once; with a small output cap the server has to
    // pause and resume after seeing the FIN, answer everything, then close.
    let (_server, addr) = start_http(&["--max-output", "2048"]);
    const N: usize = 500;
    let mut r = reader(addr);
    r.send(&GET_ROOT.repeat(N));
    r.stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    for i in 0..N {
        let response = r.response(false);
        assert_eq!(response.body, b"Hello, client!", "response {i}");
    }
    r.expect_eof();
}

#[test]
fn head_on_other_routes_has_no_body() {
    let (_server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.send(
        b"HEAD /stats HTTP/1.1\r\nHost: t\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: t\r\n\r\nHEAD /echo HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let stats = r.response(true);
    assert_eq!(stats.status, 200);
    assert_eq!(stats.header("content-type"), Some("application/json"));
    assert_eq!(r.response(true).status, 404);
    let wrong = r.response(true);
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    assert_eq!(r.response(false).body, b"ok\n");
}

#[test]
fn idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (server, addr) = start_http(&["--idle-timeout", "300ms"]);
    let (mut r, response) = exchange(addr, GET_ROOT);
    assert_hello(&response);
    r.expect_eof();
    assert!(eventually(Duration::from_secs(5), || closed_for(
        &server,
        "idle_timeout"
    ) >= 1));
}

#[test]
fn sigterm_closes_keep_alive_connections_and_exits_zero() {
    let (mut server, addr) = start_http(&[]);
    let (mut r, response) = exchange(addr, GET_ROOT);
    assert_hello(&response);
    let mut partial = reader(addr);
    partial.send(b"GET / HTTP/1.1\r\nHost: t\r\n");
    // Make sure the server has seen the partial head before the signal.
    assert!(eventually(Duration::from_secs(5), || server.stats()
        ["connections"]["active"]
        == 3));
    server.signal(libc::SIGTERM);
    r.expect_eof();
    partial.expect_eof();
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

/// SIGTERM while a deep pipeline is being answered: the requests the server already read are
/// still answered, the last response says `Connection: close`, and the stream ends there.
#[test]
fn sigterm_answers_pipelined_requests_already_read() {
    let (mut server, addr) = start_http(&["--max-output", "4096", "--drain-timeout", "30s"]);
    const N: usize = 200_000;
    let mut r = reader(addr);
    let mut writer = r.stream.try_clone().expect("clone");
    // The client does not read, so the server stalls on its output with requests buffered.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&GET_ROOT.repeat(N));
    });
    // Stalled: between two `/stats` calls the only response served is the second call's own.
    let responses = || server.stats()["http"]["responses"].as_u64().unwrap_or(0);
    let stalled = eventually(Duration::from_secs(20), || {
        let before = responses();
        std::thread::sleep(Duration::from_millis(300));
        before > 1000 && responses() == before + 1
    });
    assert!(stalled, "the server never stalled on the unread pipeline");
    server.signal(libc::SIGTERM);
    let mut answered = 0;
    loop {
        let response = r.response(false);
        assert_eq!(response.status, 200, "response {answered}");
        answered += 1;
        if response.header("connection") == Some("close") {
            break;
        }
        assert!(answered < N, "every response kept the connection open");
    }
    r.expect_eof();
    let _ = r.stream.shutdown(std::net::Shutdown::Both);
    sender.join().expect("sender");
    assert!(answered > 1000, "only {answered} answered");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
}

/// `--body-timeout`: a body dripping one byte at a time is cut off with 408 once the deadline
/// for the whole body passes, although every byte resets the idle timer.
#[test]
fn slow_body_gets_408_after_the_body_timeout() {
    let (server, addr) = start_http(&["--body-timeout", "1s", "--idle-timeout", "60s"]);
    let mut r = reader(addr);
    r.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    let mut drip = r.stream.try_clone().expect("clone");
    let dripper = std::thread::spawn(move || {
        for _ in 0..50 {
            if drip.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    let response = r.response(false);
    assert_eq!(response.status, 408);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    dripper.join().expect("dripper");
    assert!(eventually(Duration::from_secs(5), || closed_for(
        &server,
        "body_timeout"
    ) >= 1));
}

/// The body timeout is per request: a body that starts in the same read that completes the
/// previous one gets its own deadline, not what was left of the previous one's.
#[test]
fn each_pipelined_body_gets_its_own_body_timeout() {
    let (_server, addr) = start_http(&["--body-timeout", "3s"]);
    let mut r = reader(addr);
    r.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab");
    std::thread::sleep(Duration::from_secs(2));
    // Completes the first body and starts the second: its deadline is now + 3 s.
    r.send(b"cdPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nwx");
    std::thread::sleep(Duration::from_millis(1500));
    // Past the first body's deadline (3 s), well within the second's (5 s).
    r.send(b"yz");
    assert_eq!(r.response(false).body_text(), "abcd");
    let second = r.response(false);
    assert_eq!((second.status, second.body_text().as_str()), (200, "wxyz"));
}

/// The slow-POST attack: 50 connections announce 1 MiB bodies, send almost all of them, then
/// one byte a second. With `--max-buffered 8MiB` only the bodies that fit are buffered (the
/// rest get 503 with `Retry-After` at once), `--body-timeout` ends those, and the resident
/// memory grows by no more than the budget plus 8 MiB of slack (the bound in the README).
#[test]
fn slow_post_attack_stays_within_the_buffer_budget() {
    const BUDGET_MIB: u64 = 8;
    let budget = format!("{}", BUDGET_MIB << 20);
    let (server, addr) = start_http(&[
        "--max-buffered",
        &budget,
        "--body-timeout",
        "3s",
        "--max-body",
        "1048576",
    ]);
    let base_kib = server.rss_kib();
    let attackers: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = raw(addr);
                let mut request =
                    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n".to_vec();
                request.resize(request.len() + (1 << 20) - 16, b'b');
                if stream.write_all(&request).is_err() {
                    return None;
                }
                stream
                    .set_read_timeout(Some(Duration::from_secs(1)))
                    .expect("timeout");
                let mut reply = [0u8; 512];
                for _ in 0..15 {
                    let _ = stream.write_all(b"b");
                    match stream.read(&mut reply) {
                        Ok(n) if n >= 12 => {
                            return std::str::from_utf8(&reply[9..12]).ok()?.parse::<u16>().ok()
                        }
                        Ok(_) => return None,
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(_) => return None,
                    }
                }
                None
            })
        })
        .collect();
    let mut peak_kib = base_kib;
    while attackers.iter().any(|a| !a.is_finished()) {
        peak_kib = peak_kib.max(server.rss_kib());
        std::thread::sleep(Duration::from_millis(50));
    }
    let statuses: Vec<Option<u16>> = attackers
        .into_iter()
        .map(|a| a.join().expect("attacker"))
        .collect();
    let refused = statuses.iter().filter(|s| **s == Some(503)).count();
    let timed_out = statuses.iter().filter(|s| **s == Some(408)).count();
    assert!(refused > 0 && timed_out > 0, "statuses {statuses:?}");
    let growth_kib = peak_kib.saturating_sub(base_kib);
    assert!(
        growth_kib <= (BUDGET_MIB + 8) * 1024,
        "RSS grew by {growth_kib} KiB (base {base_kib} KiB) for a {BUDGET_MIB} MiB budget"
    );
    // The budget was given back: a new 1 MiB body (read in many pieces, so buffered) fits.
    let mut request = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    request.resize(request.len() + (1 << 20), b'c');
    let mut r = reader(addr);
    let mut writer = r.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || writer.write_all(&request).is_ok());
    let echo = r.response(false);
    assert_eq!((echo.status, echo.body.len()), (200, 1 << 20));
    assert!(sender.join().expect("sender"));
    eprintln!(
        "slow POST: base {base_kib} KiB, peak {peak_kib} KiB, {refused} × 503, {timed_out} × 408"
    );
}

#[test]
fn stats_count_every_response() {
    let (server, addr) = start_http(&[]);
    let mut r = reader(addr);
    r.send(&GET_ROOT.repeat(4));
    r.send(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    for _ in 0..4 {
        assert_eq!(r.response(false).status, 200);
    }
    assert_eq!(r.response(false).status, 404);
    // The /stats body is produced before its own response is counted.
    assert_eq!(server.stats()["http"]["responses"], 5);
}

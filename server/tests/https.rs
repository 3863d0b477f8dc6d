//! The HTTPS listener against clients that are not ours: curl, and Python's `ssl` and
//! `http.client` (the seed texts' `HTTPSConnection`), with certificates made at run time.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Server;
use reactor_testkit::python_client::{run_python, seed_https_get};
use reactor_testkit::tls::TestCert;
use reactor_testkit::{run_bounded, spawn_piped};

/// Starts HTTPS (and HTTP, for `/stats`) with a fresh certificate and any `extra` flags.
fn start(label: &str, extra: &[&str]) -> (Server, TestCert) {
    let cert = TestCert::generate(label);
    let mut cmd = Command::new(common::server_bin());
    cmd.args([
        "--https",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--tls-cert",
    ])
    .arg(&cert.cert_path)
    .arg("--tls-key")
    .arg(&cert.key_path)
    .args(extra);
    (Server::start_with(&mut cmd), cert)
}

fn https(server: &Server) -> SocketAddr {
    server.https.expect("https listener")
}

fn tls_stats(server: &Server) -> serde_json::Value {
    server.stats()["tls"].clone()
}

fn curl(cert: &TestCert, url: &str, extra: &[&str]) -> String {
    let out = run_bounded(
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&cert.cert_path)
            .args(extra)
            .arg(url),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(0), "curl {url}: {}", out.stderr);
    out.stdout
}

#[test]
fn curl_gets_hello_by_address_and_by_name() {
    let (server, cert) = start("curl", &[]);
    let port = https(&server).port();
    for host in ["127.0.0.1", "localhost"] {
        let body = curl(&cert, &format!("https://{host}:{port}/"), &[]);
        assert_eq!(body, "Hello, client!", "{host}");
    }
    assert_eq!(tls_stats(&server)["handshakes"]["full"], 2);
}

#[test]
fn the_seeds_https_connection_gets_hello() {
    let (server, cert) = start("seed", &[]);
    let out = seed_https_get("localhost", https(&server).port(), &cert.cert_path, "/");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "200\nHello, client!\n");
}

#[test]
fn keep_alive_and_pipelining_hold_over_tls() {
    let (server, cert) = start("pipeline", &[]);
    // Three requests in one write on one TLS connection, then two more one at a time.
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["h2", "http/1.1"])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s = ctx.wrap_socket(raw, server_hostname="localhost")
print(s.selected_alpn_protocol(), s.version())
def read_until(n):
    buf = b""
    while buf.count(b"Hello, client!") < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.count(b"Hello, client!")
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 3)
print(read_until(3))
for _ in range(2):
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    print(read_until(1))
"#;
    let port = https(&server).port().to_string();
    let cafile = cert.cert_path.to_string_lossy();
    let out = run_python(script, &[&port, &cafile]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "http/1.1 TLSv1.3\n3\n1\n1\n");
    let stats = server.stats();
    assert_eq!(stats["tls"]["handshakes"]["full"], 1, "one connection");
    assert_eq!(stats["http"]["by_status"]["200"].as_u64(), Some(5));
}

#[test]
fn post_echo_over_tls_echoes_exactly() {
    let (server, cert) = start("echo", &[]);
    let script = r#"
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = bytes(range(256)) * 600  # 150 KiB: many TLS records each way
conn = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx, timeout=10)
conn.request("POST", "/echo", body=body)
r = conn.getresponse()
print(r.status, r.read() == body)
"#;
    let port = https(&server).port().to_string();
    let out = run_python(script, &[&port, &cert.cert_path.to_string_lossy()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "200 True\n");
}

#[test]
fn a_resumed_session_is_counted() {
    let (server, cert) = start("resume", &[]);
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
session = None
for _ in range(2):
    raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    print(s.session_reused)
    session = s.session
    s.close()
"#;
    let port = https(&server).port().to_string();
    let out = run_python(script, &[&port, &cert.cert_path.to_string_lossy()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "False\nTrue\n");
    let tls = tls_stats(&server);
    assert_eq!(
        (
            tls["handshakes"]["full"].as_u64(),
            tls["handshakes"]["resumed"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn tls_1_1_is_refused() {
    let (server, cert) = start("tls11", &[]);
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
ctx.minimum_version = ssl.TLSVersion.TLSv1_1
ctx.maximum_version = ssl.TLSVersion.TLSv1_1
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    ctx.wrap_socket(raw, server_hostname="localhost")
    print("accepted")
except ssl.SSLError as e:
    print("refused")
"#;
    let port = https(&server).port().to_string();
    let out = run_python(script, &[&port, &cert.cert_path.to_string_lossy()]);
    assert_eq!(out.stdout, "refused\n", "{}", out.stderr);
    // The ClientHello reached the server and was refused there, not by the client's own policy.
    let tls = tls_stats(&server);
    assert_eq!(tls["handshake_failures"]["incompatible"], 1, "{tls}");
}

#[test]
fn a_client_stalling_mid_handshake_is_closed() {
    let (server, _cert) = start("stall", &["--tls-handshake-timeout", "300ms"]);
    let mut stream = TcpStream::connect(https(&server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The start of a ClientHello record, then silence.
    stream
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .expect("write");
    let mut buf = [0; 64];
    let closed = match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the server closes a stalled handshake");
    let stats = server.stats();
    assert_eq!(stats["tls"]["handshake_failures"]["timeout"], 1);
    assert_eq!(stats["connections"]["closed"]["tls_handshake_timeout"], 1);
}

#[test]
fn plaintext_http_on_the_tls_port_is_refused_and_counted() {
    let (server, _cert) = start("garbage", &[]);
    let mut stream = TcpStream::connect(https(&server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !answer.windows(5).any(|w| w == b"Hello"),
        "no HTTP answer in the clear"
    );
    assert_eq!(tls_stats(&server)["handshake_failures"]["bad_record"], 1);
}

#[test]
fn shutdown_sends_close_notify() {
    let (mut server, cert) = start("close-notify", &[]);
    // Connects, reads one response, says so, then waits for the server to end the session.
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
got = b""
while b"Hello, client!" not in got:
    got += s.recv(65536)
print("ready", flush=True)
try:
    while s.recv(65536):
        pass
    print("close_notify")
except ssl.SSLEOFError:
    print("truncated")
"#;
    let port = https(&server).port().to_string();
    let mut child = spawn_piped(
        Command::new("python3")
            .args(["-c", script, &port])
            .arg(&cert.cert_path)
            .stdin(Stdio::null()),
    );
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = lines.next().expect("a line").expect("utf-8");
    assert_eq!(ready, "ready");
    assert!(server.signal_and_wait(libc::SIGTERM, Duration::from_secs(15)));
    let verdict = lines.next().expect("a verdict").expect("utf-8");
    assert_eq!(verdict, "close_notify");
    let _ = child.wait();
}

#[test]
fn start_up_refuses_https_without_a_usable_certificate() {
    let cert = TestCert::generate("startup");
    let other = TestCert::generate("startup-other");
    let run = |args: &[&std::ffi::OsStr]| {
        run_bounded(
            Command::new(common::server_bin()).args(args),
            Duration::from_secs(20),
        )
    };
    let missing_flags = run(&["--https".as_ref(), "127.0.0.1:0".as_ref()]);
    assert_ne!(missing_flags.code, Some(0));
    assert!(
        missing_flags.stderr.contains("--tls-cert"),
        "{}",
        missing_flags.stderr
    );
    let missing_file = cert.cert_path.with_file_name("absent.pem");
    let unreadable = run(&[
        "--https".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--tls-cert".as_ref(),
        missing_file.as_os_str(),
        "--tls-key".as_ref(),
        cert.key_path.as_os_str(),
    ]);
    assert!(
        unreadable.stderr.contains("absent.pem"),
        "{}",
        unreadable.stderr
    );
    let mismatched = run(&[
        "--https".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--tls-cert".as_ref(),
        cert.cert_path.as_os_str(),
        "--tls-key".as_ref(),
        other.key_path.as_os_str(),
    ]);
    assert_ne!(mismatched.code, Some(0));
    assert!(
        mismatched.stderr.contains("does not belong"),
        "{}",
        mismatched.stderr
    );
}

#[test]
fn sighup_reloads_the_certificate_for_new_connections() {
    let (server, cert) = start("reload", &[]);
    let url = format!("https://localhost:{}/", https(&server).port());
    assert_eq!(curl(&cert, &url, &[]), "Hello, client!");
    let next = TestCert::generate_in(&cert.cert_path.with_file_name("next"));
    std::fs::copy(&next.cert_path, &cert.cert_path).expect("replace cert");
    std::fs::copy(&next.key_path, &cert.key_path).expect("replace key");
    server.signal(libc::SIGHUP);
    // The new certificate is trusted through its own copy (`next`), the old one no more.
    let reloaded = reactor_testkit::eventually(Duration::from_secs(10), || {
        let out = run_bounded(
            Command::new("curl")
                .args(["-sS", "--max-time", "5", "--cacert"])
                .arg(&next.cert_path)
                .arg(&url),
            Duration::from_secs(10),
        );
        out.code == Some(0) && out.stdout == "Hello, client!"
    });
    assert!(reloaded, "new connections use the reloaded certificate");
    let old = cert.cert_path.with_file_name("old.pem");
    std::fs::write(&old, &cert.cert_pem).expect("old certificate");
    let refused = run_bounded(
        Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(&old)
            .arg(&url),
        Duration::from_secs(10),
    );
    assert_ne!(
        refused.code,
        Some(0),
        "the old certificate is no longer served"
    );
}

#[test]
fn a_renegotiation_attempt_gets_an_alert_and_is_counted() {
    let (server, cert) = start("renegotiation", &[]);
    // openssl s_client renegotiates a TLS 1.2 session when it reads "R" on stdin; the server
    // answers no_renegotiation, and OpenSSL gives up on the connection with a fatal alert.
    let command = format!(
        "(printf 'R\\n'; sleep 3) | openssl s_client -connect {} -tls1_2 -CAfile '{}'",
        https(&server),
        cert.cert_path.display()
    );
    let out = run_bounded(
        Command::new("bash").args(["-c", &command]),
        Duration::from_secs(20),
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("RENEGOTIATING"), "{said}");
    assert!(said.contains("no renegotiation"), "{said}");
    let stats = server.stats();
    assert_eq!(stats["tls"]["versions"]["1.2"], 1);
    assert_eq!(
        stats["tls"]["record_errors"]["alert_received"], 1,
        "{stats}"
    );
    assert_eq!(stats["connections"]["closed"]["tls_error"], 1);
}

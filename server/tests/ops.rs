//! What an operator touches: Prometheus metrics, JSON log lines, the generated man page and
//! completions, `--version`, and duration flags, against the real binary.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::{connect, echo_roundtrip, eventually, run_bounded, server_bin, Server};

/// `GET path` with `Connection: close`; the whole response (head and body) as text.
fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = connect(addr);
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).expect("write request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response
}

fn body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .expect("response head")
}

/// The value of the sample `name` (exact series text, labels included) in exposition `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_what_the_server_did() {
    let server = Server::start(&[
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ]);
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"0123456789"), b"0123456789");
    // UDP counters move only with this test's datagrams (scrapes are TCP).
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    udp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    for _ in 0..3 {
        udp.send_to(b"dgram", server.udp.expect("udp"))
            .expect("send");
        let mut buf = [0u8; 16];
        assert_eq!(udp.recv(&mut buf).expect("echo"), 5);
    }
    let http = server.http.expect("http");
    let mut last = String::new();
    // Numbers are published at most every 100 ms.
    assert!(
        eventually(Duration::from_secs(10), || {
            last = get(http, "/metrics");
            sample(body(&last), "reactor_udp_received_datagrams_total") == Some(3.0)
        }),
        "{last}"
    );
    assert!(last.starts_with("HTTP/1.1 200 OK\r\n"), "{last}");
    assert!(
        last.contains("Content-Type: text/plain; version=0.0.4"),
        "{last}"
    );
    let text = body(&last);
    assert!(sample(text, "reactor_connections_accepted_total") >= Some(2.0));
    assert!(sample(text, "reactor_tcp_received_bytes_total") >= Some(10.0));
    assert_eq!(sample(text, "reactor_udp_received_bytes_total"), Some(15.0));
    assert!(sample(text, "reactor_loop_turns_total") >= Some(1.0));
    assert!(text.contains("# TYPE reactor_loop_turn_duration_seconds histogram"));
    assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"+Inf\"}"));
    assert!(
        !text.contains("reactor=\""),
        "one reactor: no reactor label"
    );
}

#[test]
fn http_responses_are_counted_by_status_code() {
    let server = Server::start(&["--http", "127.0.0.1:0"]);
    let http = server.http.expect("http");
    for path in ["/", "/", "/nope"] {
        get(http, path);
    }
    let mut last = String::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            last = get(http, "/metrics");
            sample(body(&last), "reactor_http_responses_total{code=\"404\"}") == Some(1.0)
        }),
        "{last}"
    );
    assert!(sample(body(&last), "reactor_http_responses_total{code=\"200\"}") >= Some(2.0));
    assert_eq!(server.stats()["http"]["by_status"]["404"], 1);
}

#[test]
fn an_echo_only_server_is_scraped_on_its_metrics_listener_per_reactor() {
    let server = Server::start(&[
        "--tcp",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--threads",
        "2",
    ]);
    assert!(server.http.is_none());
    let metrics = server.metrics.expect("metrics listener");
    let text = get(metrics, "/metrics");
    let text = body(&text);
    for reactor in ["0", "1"] {
        let series = format!("reactor_loop_turns_total{{reactor=\"{reactor}\"}}");
        assert!(sample(text, &series).is_some(), "{series} missing:\n{text}");
    }
}

#[test]
fn process_series_and_build_info_are_scraped() {
    let server = Server::start(&["--tcp", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]);
    // Ten connections held open are ten more descriptors the server must report.
    let mut held: Vec<_> = (0..10).map(|_| connect(server.tcp())).collect();
    for s in &mut held {
        assert_eq!(echo_roundtrip(s, b"x"), b"x");
    }
    let response = get(server.metrics.expect("metrics listener"), "/metrics");
    let text = body(&response);
    let value = |name: &str| sample(text, name).unwrap_or_else(|| panic!("{name}:\n{text}"));
    assert!(value("process_cpu_seconds_total") >= 0.0);
    assert!(value("process_resident_memory_bytes") > 0.0);
    assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
    // Two listeners, the poll instance and the ten connections, at least.
    assert!(value("process_open_fds") >= 13.0, "{text}");
    assert!(value("process_max_fds") >= value("process_open_fds"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    // btime is whole seconds: the start may read up to a second off either way.
    assert!(
        started <= now + 5.0 && started > now - 3600.0,
        "{started} vs {now}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );

    let version = Command::new(server_bin())
        .arg("--version")
        .output()
        .expect("--version");
    // `reactor-server 0.1.0 (commit abc123)`
    let version = String::from_utf8_lossy(&version.stdout);
    let (number, commit) = version
        .trim()
        .strip_prefix("reactor-server ")
        .and_then(|v| v.strip_suffix(')'))
        .and_then(|v| v.split_once(" (commit "))
        .unwrap_or_else(|| panic!("unexpected --version: {version}"));
    let series = format!("reactor_build_info{{version=\"{number}\",commit=\"{commit}\"}}");
    assert_eq!(sample(text, &series), Some(1.0), "{series} in:\n{text}");
    drop(held);
}

#[test]
fn the_exposition_passes_promtool() {
    let Ok(status) = Command::new("promtool").arg("--version").output() else {
        eprintln!("SKIP: promtool not installed (apt-get install prometheus)");
        return;
    };
    assert!(status.status.success());
    let server = Server::start(&["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"x"), b"x");
    let response = get(server.http.expect("http"), "/metrics");
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(body(&response).as_bytes())
        .expect("feed promtool");
    let out = check.wait_with_output().expect("promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_log_lines_carry_their_fields_as_keys() {
    let mut cmd = Command::new(server_bin());
    cmd.args([
        "--tcp",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--stats-interval",
        "0",
    ])
    .env("RUST_LOG", "info");
    let mut server = Server::start_capturing_stderr(&mut cmd);
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"abc"), b"abc");
    drop(s);
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let lines: Vec<String> = server
        .stderr_lines
        .take()
        .expect("captured")
        .iter()
        .collect();
    let mut stopped = None;
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for key in ["ts", "level", "target", "msg"] {
            assert!(value.get(key).is_some(), "{key} missing: {line}");
        }
        if value["msg"].as_str().is_some_and(|m| m.contains("stopped")) {
            stopped = Some(value);
        }
    }
    let stopped = stopped.unwrap_or_else(|| panic!("no 'stopped' line in {lines:?}"));
    assert_eq!(stopped["conns_accepted"], 1, "{stopped}");
    assert_eq!(stopped["tcp_bytes_in"], 3, "{stopped}");
    assert_eq!(stopped["reactor"], "reactor-0", "{stopped}");
}

#[test]
fn man_page_and_completions_are_generated_from_the_flags() {
    for (what, needle) in [
        ("man", ".TH reactor-server"),
        ("complete-bash", "--idle-timeout"),
        ("complete-zsh", "--idle-timeout"),
        ("complete-fish", "idle-timeout"),
    ] {
        // As in a container, where HOST and PORT are always set.
        let out = run_bounded(
            Command::new(server_bin())
                .args(["--generate", what])
                .env("HOST", "0.0.0.0")
                .env("PORT", "8080"),
            Duration::from_secs(20),
        );
        assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
        assert!(out.stdout.contains(needle), "{what} lacks {needle:?}");
    }
}

#[test]
fn version_names_the_commit() {
    let out = run_bounded(
        Command::new(server_bin()).arg("--version"),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("(commit "), "{}", out.stdout);
}

#[test]
fn durations_accept_bare_seconds_and_explain_bad_ones() {
    let server = Server::start(&["--tcp", "127.0.0.1:0", "--idle-timeout", "30"]);
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"ok"), b"ok");
    let out = run_bounded(
        Command::new(server_bin()).args(["--tcp", "127.0.0.1:0", "--idle-timeout", "30 parsecs"]),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--idle-timeout"), "{}", out.stderr);
    assert!(out.stderr.contains("30s"), "{}", out.stderr);
}

//! TCP and UDP echo against the real server binary, over real loopback sockets.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{connect, echo_roundtrip, eventually, Server};
use rand::{Rng, RngCore, SeedableRng};

fn echo_server(extra: &[&str]) -> Server {
    let mut args = vec!["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Writes `data` in random-sized chunks from one thread while reading it back on another,
/// then half-closes and checks the echo byte for byte up to EOF.
fn echo_in_random_chunks(addr: SocketAddr, data: Vec<u8>, seed: u64) {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().expect("clone");
    let expected_len = data.len();
    let sender = std::thread::spawn(move || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut off = 0;
        while off < data.len() {
            let n = rng.random_range(1..=16 * 1024).min(data.len() - off);
            writer.write_all(&data[off..off + n]).expect("write chunk");
            off += n;
        }
        writer.shutdown(Shutdown::Write).expect("half-close");
        data
    });
    let mut back = Vec::with_capacity(expected_len);
    stream.read_to_end(&mut back).expect("read echo to EOF");
    let data = sender.join().expect("sender");
    assert_eq!(back.len(), data.len(), "echoed length");
    assert!(back == data, "echoed bytes differ");
}

#[test]
fn hundred_clients_echo_a_mebibyte_each_in_random_chunks() {
    let server = echo_server(&[]);
    let addr = server.tcp();
    let clients: Vec<_> = (0..100u64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut data = vec![0u8; 1 << 20];
                rand::rngs::StdRng::seed_from_u64(i).fill_bytes(&mut data);
                echo_in_random_chunks(addr, data, i + 1000);
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    let stats = server.stats();
    assert!(
        stats["tcp"]["bytes_in"].as_u64() >= Some(100 << 20),
        "{stats}"
    );
    assert!(eventually(Duration::from_secs(5), || server.stats()
        ["connections"]["closed"]["peer_closed"]
        == 100));
}

#[test]
fn half_close_gets_everything_owed_then_eof() {
    let server = echo_server(&[]);
    let mut stream = connect(server.tcp());
    let msg = vec![42u8; 300_000];
    stream.write_all(&msg).expect("write");
    stream.shutdown(Shutdown::Write).expect("shutdown");
    let mut back = Vec::new();
    stream.read_to_end(&mut back).expect("read to EOF");
    assert_eq!(back, msg);
}

#[test]
fn python_socket_client_from_the_seed_texts() {
    let server = Server::start(&["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"]);
    let tcp = server.tcp();
    let udp = server.udp.expect("udp");
    // The client code of the seed blog posts, nearly verbatim.
    let script = format!(
        r#"
import socket
server_ip, server_port = "{tip}", {tport}
client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect((server_ip, server_port))
data = "Hello, server!"
client_socket.send(data.encode())
received_data = client_socket.recv(1024)
assert received_data.decode() == data, received_data
client_socket.close()

client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client_socket.settimeout(5)
client_socket.sendto(data.encode(), ("{uip}", {uport}))
received_data, server_address = client_socket.recvfrom(1024)
assert received_data.decode() == data, received_data
client_socket.close()
print("ok")
"#,
        tip = tcp.ip(),
        tport = tcp.port(),
        uip = udp.ip(),
        uport = udp.port()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn udp_datagrams_of_every_size_come_back_intact() {
    let server = Server::start(&["--udp", "127.0.0.1:0"]);
    let target = server.udp.expect("udp");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for size in [1usize, 1472, 9000, 65_507] {
        let mut payload = vec![0u8; size];
        rng.fill_bytes(&mut payload);
        socket.send_to(&payload, target).expect("send");
        let mut buf = vec![0u8; 70_000];
        let (n, from) = socket.recv_from(&mut buf).expect("echo");
        assert_eq!(from, target);
        assert_eq!(n, size, "size {size}");
        assert!(buf[..n] == payload[..], "payload of {size} bytes differs");
    }
}

#[test]
fn oversized_datagram_is_counted_not_echoed_truncated() {
    let server = Server::start(&[
        "--udp",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--max-datagram",
        "1000",
    ]);
    let target = server.udp.expect("udp");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    socket.send_to(&[1u8; 2000], target).expect("send big");
    socket.send_to(&[2u8; 1000], target).expect("send fitting");
    let mut buf = [0u8; 4096];
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("the fitting one comes back");
    assert_eq!(n, 1000);
    assert!(
        buf[..n].iter().all(|&b| b == 2),
        "only the fitting datagram is echoed"
    );
    let stats = server.stats();
    assert_eq!(stats["udp"]["oversized"], 1);
    assert_eq!(stats["udp"]["datagrams_out"], 1);
}

#[test]
fn a_reset_closes_only_that_connection() {
    let server = echo_server(&[]);
    let mut good = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut good, b"before"), b"before");
    {
        let bad = connect(server.tcp());
        (&bad).write_all(&[9u8; 200_000]).expect("write");
        // SO_LINGER 0 makes close send RST mid-stream.
        socket2::SockRef::from(&bad)
            .set_linger(Some(Duration::ZERO))
            .expect("linger");
    }
    assert!(eventually(Duration::from_secs(5), || {
        server.stats()["connections"]["closed"]["reset"] == 1
    }));
    assert_eq!(echo_roundtrip(&mut good, b"after"), b"after");
}

#[test]
fn a_client_that_never_reads_is_bounded_and_others_are_served() {
    let server = echo_server(&["--max-output", "65536", "--write-timeout", "2s"]);
    let rss_before = server.rss_kib();
    let hog = connect(server.tcp());
    hog.set_write_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // Write until the kernel buffers on both sides and the server's 64 KiB cap are full.
    let chunk = vec![7u8; 64 * 1024];
    let mut pushed = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) && pushed < (64 << 20) {
        match (&hog).write(&chunk) {
            Ok(n) => pushed += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("hog write failed early: {e}"),
        }
    }
    assert!(
        pushed < (64 << 20),
        "server kept reading from a client that never reads"
    );
    // Another client is still served promptly while the hog is stuck.
    let mut other = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut other, b"still here"), b"still here");
    let rss_stuck = server.rss_kib();
    assert!(
        rss_stuck < rss_before + 4 * 1024,
        "server grew from {rss_before} KiB to {rss_stuck} KiB"
    );
    // The hog is cut off by --write-timeout.
    assert!(eventually(Duration::from_secs(10), || {
        server.stats()["connections"]["closed"]["write_timeout"] == 1
    }));
    assert_eq!(echo_roundtrip(&mut other, b"and after"), b"and after");
}

#[test]
fn max_conns_rejects_the_excess_and_serves_the_rest() {
    let server = echo_server(&["--max-conns", "3"]);
    // The HTTP /stats request needs a slot too, so hold two echo connections.
    let mut a = connect(server.tcp());
    let mut b = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut a, b"a"), b"a");
    assert_eq!(echo_roundtrip(&mut b, b"b"), b"b");
    let mut c = connect(server.tcp());
    let mut d = connect(server.tcp());
    c.write_all(b"x").ok();
    d.write_all(b"x").ok();
    let mut buf = [0u8; 1];
    let c_closed = matches!(c.read(&mut buf), Ok(0) | Err(_));
    let d_closed = matches!(d.read(&mut buf), Ok(0) | Err(_));
    // Exactly one of c, d got the third slot... unless both were rejected; a third slot is
    // free, so c (first) is served and d is rejected.
    assert!(!c_closed, "third connection should fit");
    assert!(d_closed, "fourth connection must be rejected");
    drop((c, d));
    assert_eq!(echo_roundtrip(&mut a, b"ok"), b"ok");
    assert!(eventually(Duration::from_secs(5), || {
        server.stats()["connections"]["rejected_max_conns"].as_u64() >= Some(1)
    }));
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    // The margin between the busy client's pings (100 ms) and the timeout (1.5 s) survives a
    // scheduler hiccup of more than a second on a loaded machine.
    let server = echo_server(&["--idle-timeout", "1500ms"]);
    let started = Instant::now();
    let mut idle = connect(server.tcp());
    let mut busy = connect(server.tcp());
    idle.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 8];
    let idle_closed = loop {
        assert_eq!(echo_roundtrip(&mut busy, b"ping"), b"ping");
        match idle.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => panic!("{n} unexpected bytes on the idle connection"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("idle connection: {e}"),
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(idle_closed, "idle connection still open after 20 s");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // `busy` was active all along; it lives until it idles too.
    assert_eq!(echo_roundtrip(&mut busy, b"pong"), b"pong");
    assert!(eventually(Duration::from_secs(5), || {
        server.stats()["connections"]["closed"]["idle_timeout"].as_u64() == Some(1)
    }));
}

/// Pushes into `stream` without ever reading until the kernel and the server's output cap are
/// full, or the server gives up on the stalled peer (a write timeout or idle timeout shorter
/// than the fill takes on a loaded machine resets it); returns the bytes written.
fn fill_until_blocked(stream: &TcpStream) -> usize {
    stream
        .set_write_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let chunk = vec![7u8; 64 * 1024];
    let mut pushed = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) && pushed < (64 << 20) {
        match (&*stream).write(&chunk) {
            Ok(n) => pushed += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                break
            }
            Err(e) => panic!("write failed early: {e}"),
        }
    }
    pushed
}

#[test]
fn an_idle_timeout_at_or_below_the_write_timeout_never_spins_on_a_stalled_peer() {
    // The idle timer of a connection stalled on a peer that never reads must move forward in
    // time; once it re-armed at a deadline already past, the loop fired it forever.
    for (write_timeout, hog_closed_by_idle) in [("30s", false), ("1s", false), ("0", true)] {
        let mut server = echo_server(&[
            "--idle-timeout",
            "1s",
            "--write-timeout",
            write_timeout,
            "--drain-timeout",
            "1s",
        ]);
        let hog = connect(server.tcp());
        let pushed = fill_until_blocked(&hog);
        assert!(
            pushed < (64 << 20),
            "server kept reading a peer that never reads"
        );
        // Past the idle timeout, the server uses next to no CPU and serves everyone else.
        std::thread::sleep(Duration::from_millis(1500));
        let before = server.cpu_ticks();
        std::thread::sleep(Duration::from_millis(1000));
        let spent = server.cpu_ticks() - before;
        assert!(
            spent < 40,
            "--write-timeout {write_timeout}: server burned {spent} ticks in 1 s while stalled"
        );
        let mut other = connect(server.tcp());
        other
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        assert_eq!(echo_roundtrip(&mut other, b"still here"), b"still here");
        assert_eq!(
            common::http_get(server.http.expect("http"), "/healthz"),
            b"ok\n"
        );
        let closed = server.stats()["connections"]["closed"].clone();
        if hog_closed_by_idle {
            assert_eq!(closed["idle_timeout"], 1, "{closed}");
        }
        server.signal(libc::SIGTERM);
        assert_eq!(
            server.wait_exit(Duration::from_secs(15)),
            Some(0),
            "--write-timeout {write_timeout}: no clean exit on SIGTERM"
        );
    }
}

#[test]
fn sigterm_flushes_data_in_flight_then_exits_zero() {
    let mut server = echo_server(&["--drain-timeout", "5s"]);
    let mut stream = connect(server.tcp());
    let mut sent = vec![0u8; 1 << 20];
    rand::rngs::StdRng::seed_from_u64(99).fill_bytes(&mut sent);
    // Fill the pipe without reading: the server ends up owing output.
    stream
        .set_write_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut written = 0;
    while written < sent.len() {
        match stream.write(&sent[written..]) {
            Ok(n) => written += n,
            Err(_) => break,
        }
    }
    assert!(written > 0);
    server.signal(libc::SIGTERM);
    let mut back = Vec::new();
    stream.read_to_end(&mut back).expect("clean EOF, no reset");
    assert!(!back.is_empty(), "owed bytes were flushed");
    assert!(back.len() <= written);
    assert!(
        back[..] == sent[..back.len()],
        "flushed bytes are an exact prefix"
    );
    drop(stream);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let summary = server
        .stdout_rest
        .recv_timeout(Duration::from_secs(2))
        .expect("summary line");
    assert!(summary.starts_with("summary "), "{summary}");
}

#[test]
fn connect_close_storm_leaves_the_slab_empty() {
    let server = echo_server(&[]);
    for i in 0..2000u32 {
        let mut s = connect(server.tcp());
        if i % 2 == 0 {
            assert_eq!(echo_roundtrip(&mut s, b"x"), b"x");
        }
    }
    assert!(eventually(Duration::from_secs(10), || {
        // Only the /stats request itself is open.
        server.stats()["connections"]["active"] == 1
    }));
}

#[test]
fn fd_exhaustion_pauses_without_spinning_and_recovers() {
    let mut cmd = Command::new(common::server_bin());
    cmd.args([
        "--tcp",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--accept-budget",
        "16",
    ]);
    set_nofile_limit(&mut cmd, 48);
    let server = Server::start_with(&mut cmd);
    let addr = server.tcp();
    let mut first = connect(addr);
    assert_eq!(echo_roundtrip(&mut first, b"first"), b"first");
    // Far more clients than descriptors: most wait in the backlog.
    let mut flood: Vec<TcpStream> = (0..120).map(|_| connect(addr)).collect();
    let ticks_before = server.cpu_ticks();
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    // Existing connections are still served during the flood.
    assert_eq!(echo_roundtrip(&mut first, b"during"), b"during");
    let ticks = server.cpu_ticks() - ticks_before;
    let hz = 100.0; // USER_HZ on Linux
    let busy = ticks as f64 / hz / window.elapsed().as_secs_f64();
    assert!(
        busy < 0.5,
        "server burned {:.0}% CPU while out of descriptors",
        busy * 100.0
    );
    // Free descriptors (the first clients hold all the server's slots; the rest wait in the
    // backlog): every waiting client is then accepted and served.
    flood.drain(..100);
    for s in &mut flood {
        assert_eq!(echo_roundtrip(s, b"later"), b"later");
    }
    assert_eq!(echo_roundtrip(&mut first, b"after"), b"after");
    drop(flood);
    let stats = server.stats();
    assert!(
        stats["errors"]["accept_fd_exhausted"].as_u64() >= Some(1),
        "the descriptor-exhaustion path was not exercised: {stats}"
    );
}

#[test]
fn ipv6_loopback_works() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipping: no IPv6 loopback here");
        return;
    }
    let server = Server::start(&["--tcp", "[::1]:0", "--udp", "[::1]:0"]);
    assert!(server.tcp().is_ipv6());
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"v6"), b"v6");
    let u = UdpSocket::bind("[::1]:0").expect("bind v6");
    u.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    u.send_to(b"dgram", server.udp.expect("udp")).expect("send");
    let mut buf = [0u8; 16];
    assert_eq!(u.recv(&mut buf).expect("echo"), 5);
}

#[test]
fn host_and_port_from_the_environment() {
    let mut cmd = Command::new(common::server_bin());
    // No listener flags: all three start; HOST picks the interface, PORT the HTTP port.
    let port = free_port();
    cmd.env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("REACTOR_TCP", "127.0.0.1:0")
        .env("REACTOR_UDP", "127.0.0.1:0")
        .env("REACTOR_HTTP", format!("{port}"));
    let server = Server::start_with(&mut cmd);
    // REACTOR_* env vars name every listener, like flags would.
    let http = server.http.expect("http");
    assert_eq!(http, SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(common::http_get(http, "/"), b"Hello, client!");
}

#[test]
fn multiple_reactor_threads_share_the_ports() {
    let server = echo_server(&["--threads", "2"]);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let addr = server.tcp();
            std::thread::spawn(move || {
                let mut s = connect(addr);
                let msg = format!("client {i}");
                assert_eq!(echo_roundtrip(&mut s, msg.as_bytes()), msg.as_bytes());
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
}

#[test]
fn bad_input_on_the_command_line_is_a_one_line_error() {
    let out = Command::new(common::server_bin())
        .args(["--tcp", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid --tcp address"), "{err}");
    assert!(err.contains("expected HOST:PORT"), "names the form: {err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(common::server_bin())
        .args(["--health-check", "http://127.0.0.1:8080/"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid --health-check address") && err.contains("e.g. 127.0.0.1:8080"),
        "names the form: {err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = Command::new(common::server_bin())
        .args(["--tcp", &addr])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot bind tcp"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        err.matches("os error").count(),
        1,
        "the OS error once: {err}"
    );

    let out = Command::new(common::server_bin())
        .args(["--http", &addr])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot bind http"), "{err}");
    assert_eq!(
        err.matches("os error").count(),
        1,
        "the OS error once: {err}"
    );
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Makes the child start with RLIMIT_NOFILE = `limit` (soft and hard).
fn set_nofile_limit(cmd: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn absurd_timeouts_neither_overflow_nor_spin() {
    let server = echo_server(&[
        "--idle-timeout",
        "100000000years",
        "--write-timeout",
        "100000000years",
        "--stats-interval",
        "100000000years",
    ]);
    let mut s = connect(server.tcp());
    assert_eq!(echo_roundtrip(&mut s, b"x"), b"x");
    let before = server.cpu_ticks();
    std::thread::sleep(Duration::from_millis(500));
    let spent = server.cpu_ticks() - before;
    assert!(spent < 20, "server spun for {spent} ticks while idle");
    assert_eq!(echo_roundtrip(&mut s, b"y"), b"y");
}

#[test]
fn sigterm_right_after_the_listening_lines_still_drains_gracefully() {
    // The `listening` lines promise readiness, signal handlers included.
    for threads in ["1", "2"] {
        let mut server = echo_server(&["--threads", threads]);
        server.signal(libc::SIGTERM);
        assert_eq!(
            server.wait_exit(Duration::from_secs(10)),
            Some(0),
            "--threads {threads}: killed by the default SIGTERM action"
        );
    }
}

//! Starting a design binary on ephemeral ports and talking to it over real loopback sockets.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a design may take to print its `listening` lines.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Socket timeout for every read in the tests, so a broken design fails instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The designs under test: binary path and extra arguments.
pub fn designs() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (env!("CARGO_BIN_EXE_design-threads"), vec![]),
        (
            env!("CARGO_BIN_EXE_design-tokio"),
            vec!["--flavor", "current"],
        ),
        (
            env!("CARGO_BIN_EXE_design-tokio"),
            vec!["--flavor", "multi", "--workers", "2"],
        ),
        (env!("CARGO_BIN_EXE_design-uring"), vec![]),
    ]
}

/// A running design process, killed (by PID) when dropped.
pub struct Server {
    child: Child,
    addrs: HashMap<String, SocketAddr>,
}

impl Server {
    /// Starts `bin` with `args` plus `--tcp/--udp/--http 127.0.0.1:0` for each of `services`
    /// and waits for one `listening` line per service.
    pub fn start(bin: &str, args: &[&str], services: &[&str]) -> Server {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        for service in services {
            cmd.arg(format!("--{service}")).arg("127.0.0.1:0");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut server = Server {
            child,
            addrs: HashMap::new(),
        };
        while server.addrs.len() < services.len() {
            let line = rx
                .recv_timeout(START_TIMEOUT)
                .unwrap_or_else(|_| panic!("{bin} printed no listening line in time"));
            let mut words = line.split_whitespace();
            if words.next() != Some("listening") {
                continue;
            }
            let (Some(service), Some(addr)) = (words.next(), words.next()) else {
                panic!("malformed line {line:?}");
            };
            let addr: SocketAddr = addr.parse().expect("listening address");
            assert_ne!(addr.port(), 0, "announced the real port, not 0");
            server.addrs.insert(service.to_string(), addr);
        }
        server
    }

    /// Resident memory of the design, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in status")
    }

    /// The announced address of `service`.
    pub fn addr(&self, service: &str) -> SocketAddr {
        self.addrs[service]
    }

    /// Sends SIGTERM and returns whether the process exited with status 0.
    pub fn terminate(self) -> bool {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// Sends `signal` and returns whether the process exited with status 0.
    pub fn signal_and_wait(mut self, signal: libc::c_int) -> bool {
        // SAFETY: kill(2) on the PID of a child we have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        let status = self.child.wait().expect("wait for design");
        status.success()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deterministic, non-repeating-looking payload so shifted or mixed-up bytes are caught.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}

/// Sends each payload over one TCP connection and checks every byte comes back in order.
pub fn check_tcp_echo(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    for (i, len) in [1usize, 64, 1500, 16 * 1024, 200 * 1024]
        .into_iter()
        .enumerate()
    {
        let sent = payload(len, i as u8);
        // Write from another thread: a large payload would fill both socket buffers if we
        // wrote it all before reading.
        let mut writer = stream.try_clone().unwrap();
        let to_send = sent.clone();
        let w = std::thread::spawn(move || writer.write_all(&to_send));
        let mut got = vec![0u8; len];
        stream.read_exact(&mut got).expect("echo read");
        w.join().unwrap().expect("echo write");
        assert!(got == sent, "echo of {len} bytes differs");
    }
}

/// Many concurrent connections, each echoing its own payload.
pub fn check_tcp_concurrent(addr: SocketAddr, conns: usize) {
    let mut streams: Vec<TcpStream> = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s
        })
        .collect();
    for (i, s) in streams.iter_mut().enumerate() {
        s.write_all(&payload(64, i as u8)).unwrap();
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let mut got = [0u8; 64];
        s.read_exact(&mut got).expect("concurrent echo");
        assert_eq!(got.to_vec(), payload(64, i as u8));
    }
}

/// Sends datagrams of a few sizes and checks each comes back unchanged.
pub fn check_udp_echo(addr: SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    for (i, len) in [1usize, 64, 1400, 8000, 65_507].into_iter().enumerate() {
        let sent = payload(len, i as u8);
        let mut buf = vec![0u8; 65_536];
        // Loopback rarely drops, but UDP may: retry a few times before calling it a failure.
        let mut echoed = None;
        for _ in 0..5 {
            socket.send_to(&sent, addr).unwrap();
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                assert_eq!(from, addr);
                echoed = Some(buf[..n].to_vec());
                break;
            }
        }
        assert_eq!(
            echoed.expect("no udp echo"),
            sent,
            "udp echo of {len} bytes"
        );
    }
}

/// Reads one HTTP/1.1 response (headers plus a Content-Length body) from `stream`.
pub fn read_http_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ascii head");
    let len = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .expect("content-length");
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).expect("response body");
    (head, body)
}

/// Sends three keep-alive `GET /` requests (two pipelined) and checks the hello answers.
pub fn check_http_hello(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(get).unwrap();
    let (head, body) = read_http_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "status line: {head}");
    assert!(!body.is_empty(), "hello body");
    stream.write_all(&[&get[..], &get[..]].concat()).unwrap();
    for _ in 0..2 {
        let (head2, body2) = read_http_response(&mut stream);
        assert!(head2.starts_with("HTTP/1.1 200"));
        assert_eq!(body2, body);
    }
}

/// A request with `Connection: close` gets its answer and then the end of the stream.
pub fn check_http_close(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
        .write_all(b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (head, _) = read_http_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 404"), "status line: {head}");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("server closes");
    assert!(rest.is_empty());
}

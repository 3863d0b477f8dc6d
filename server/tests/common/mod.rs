//! Shared harness for the server's integration tests: start the real binary on ephemeral
//! loopback ports, learn its addresses from its `listening` lines, and always kill it.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `reactor-server` process, killed on drop.
pub struct Server {
    child: Child,
    /// TCP echo address, if started.
    pub tcp: Option<SocketAddr>,
    /// UDP echo address, if started.
    pub udp: Option<SocketAddr>,
    /// HTTP address, if started.
    pub http: Option<SocketAddr>,
    /// Metrics address, if started.
    pub metrics: Option<SocketAddr>,
    /// Stderr lines, when started with [`Server::start_capturing_stderr`].
    pub stderr_lines: Option<mpsc::Receiver<String>>,
    /// The rest of stdout (after the `listening` lines), read by a thread.
    pub stdout_rest: mpsc::Receiver<String>,
}

/// Path of the binary under test.
pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_reactor-server")
}

impl Server {
    /// Starts the server with `args` (listener flags included) and waits for its
    /// `listening` lines.
    pub fn start(args: &[&str]) -> Server {
        Self::start_with(Command::new(server_bin()).args(args))
    }

    /// Starts a prepared command (extra env, rlimits, ...) and waits for its `listening` lines.
    pub fn start_with(cmd: &mut Command) -> Server {
        Self::spawn(cmd, false)
    }

    /// Like [`start_with`](Self::start_with), with stderr collected line by line into
    /// [`stderr_lines`](Self::stderr_lines).
    pub fn start_capturing_stderr(cmd: &mut Command) -> Server {
        Self::spawn(cmd, true)
    }

    fn spawn(cmd: &mut Command, capture_stderr: bool) -> Server {
        let stderr = if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        };
        if !cmd.get_envs().any(|(k, _)| k == "RUST_LOG") {
            cmd.env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            );
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn reactor-server");
        let stderr_lines = child.stderr.take().map(|pipe| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            rx
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let expected = count_listeners(cmd);
        let (tx, rx) = mpsc::channel();
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || read_stdout(stdout, expected, addr_tx, tx));
        let mut server = Server {
            child,
            tcp: None,
            udp: None,
            http: None,
            metrics: None,
            stderr_lines,
            stdout_rest: rx,
        };
        for _ in 0..expected {
            let (proto, addr) = addr_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("server printed its listening lines");
            match proto.as_str() {
                "tcp" => server.tcp = Some(addr),
                "udp" => server.udp = Some(addr),
                "http" => server.http = Some(addr),
                "metrics" => server.metrics = Some(addr),
                other => panic!("unexpected listener {other}"),
            }
        }
        server
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// TCP echo address (panics if not started).
    pub fn tcp(&self) -> SocketAddr {
        self.tcp.expect("tcp listener")
    }

    /// Sends a signal.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with our own child's pid has no memory-safety concerns.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for exit (bounded); returns the exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// CPU time (user + system) consumed so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    }

    /// The server's counters from `GET /stats` (needs the HTTP listener).
    pub fn stats(&self) -> serde_json::Value {
        let addr = self.http.expect("http listener for /stats");
        let body = http_get(addr, "/stats");
        serde_json::from_slice(&body).expect("stats JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count_listeners(cmd: &Command) -> usize {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let named = ["--tcp", "--udp", "--http"]
        .iter()
        .filter(|flag| args.iter().any(|a| a == *flag))
        .count();
    let metrics = usize::from(args.iter().any(|a| a == "--metrics"));
    if named == 0 {
        3 + metrics
    } else {
        named + metrics
    }
}

fn read_stdout(
    stdout: ChildStdout,
    expected: usize,
    addrs: mpsc::Sender<(String, SocketAddr)>,
    rest: mpsc::Sender<String>,
) {
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..expected {
        let Some(Ok(line)) = lines.next() else { return };
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("listening"), "unexpected line {line:?}");
        let proto = words.next().expect("proto").to_owned();
        let addr = words.next().expect("addr").parse().expect("socket addr");
        let _ = addrs.send((proto, addr));
    }
    for line in lines.map_while(Result::ok) {
        let _ = rest.send(line);
    }
}

/// A kernel-reported memory figure from /proc/PID/status, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("field in status")
}

/// Connects with timeouts set, so a hung server fails the test instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
}

/// Sends `msg` and reads back exactly as many bytes.
pub fn echo_roundtrip(stream: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    stream.write_all(msg).expect("write");
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).expect("read echo");
    back
}

/// A one-shot `GET path` with `Connection: close`; returns the body of a 200 response.
pub fn http_get(addr: SocketAddr, path: &str) -> Vec<u8> {
    let mut stream = connect(addr);
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).expect("write request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "status: {:?}",
        String::from_utf8_lossy(&response[..split])
    );
    response[split + 4..].to_vec()
}

/// What a bounded child process run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Exit code; `None` if killed by a signal (including the time limit).
    pub code: Option<i32>,
    /// Whether the time limit was hit (the child was then killed).
    pub timed_out: bool,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Runs `cmd` to completion, killing it if it takes longer than `limit`; stdout and stderr
/// are collected by threads so a chatty child cannot block on a full pipe.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> RunOutput {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = collect(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    RunOutput {
        code: status.code(),
        timed_out,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

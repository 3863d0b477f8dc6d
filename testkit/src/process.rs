//! A process under test, started on ephemeral ports and found through its `listening` lines.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a process may take to print its `listening` lines (a debug build on a loaded
/// two-core machine can be slow to start).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running process that announced its sockets; killed and reaped when dropped.
pub struct Listening {
    child: Child,
    name: String,
    addrs: HashMap<String, SocketAddr>,
    /// Stderr lines, when started with [`Listening::start_capturing_stderr`].
    pub stderr_lines: Option<mpsc::Receiver<String>>,
    /// The rest of stdout (after the `listening` lines), read by a thread.
    pub stdout_rest: mpsc::Receiver<String>,
}

impl Listening {
    /// Starts `cmd` (stderr inherited) and waits for `expected` `listening` lines.
    pub fn start(cmd: &mut Command, expected: usize) -> Listening {
        Self::spawn(cmd, expected, false)
    }

    /// Like [`start`](Self::start), with stderr collected line by line into
    /// [`stderr_lines`](Self::stderr_lines).
    pub fn start_capturing_stderr(cmd: &mut Command, expected: usize) -> Listening {
        Self::spawn(cmd, expected, true)
    }

    fn spawn(cmd: &mut Command, expected: usize, capture_stderr: bool) -> Listening {
        let name = cmd.get_program().to_string_lossy().into_owned();
        let stderr = if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stderr_lines = child
            .stderr
            .take()
            .map(|pipe| lines_of(BufReader::new(pipe)));
        let stdout = child.stdout.take().expect("piped stdout");
        let (rest_tx, rest_rx) = mpsc::channel();
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || read_stdout(stdout, expected, addr_tx, rest_tx));
        let mut process = Listening {
            child,
            name,
            addrs: HashMap::new(),
            stderr_lines,
            stdout_rest: rest_rx,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while process.addrs.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            let (proto, addr) = addr_rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "{} printed no (or too few) listening lines in time",
                    process.name
                )
            });
            assert_ne!(addr.port(), 0, "announced the real port, not 0");
            process.addrs.insert(proto, addr);
        }
        process
    }

    /// The announced address of `proto` (`tcp`, `udp`, `http`, `metrics`, ...), if any.
    pub fn addr(&self, proto: &str) -> Option<SocketAddr> {
        self.addrs.get(proto).copied()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the PID of our own child, not yet reaped; no memory is touched.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({signal}) failed");
    }

    /// Waits for the exit (bounded); returns the exit code, `None` if still running or killed
    /// by a signal.
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

    /// Sends `signal`, waits (bounded by `limit`) and tells whether the exit status was 0.
    pub fn signal_and_wait(&mut self, signal: i32, limit: Duration) -> bool {
        self.signal(signal);
        self.wait_exit(limit) == Some(0)
    }

    /// Resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// CPU time (user + system) used so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Forwards each line of `pipe` to the returned channel, from a thread.
fn lines_of(pipe: impl BufRead + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in pipe.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Sends the first `expected` `listening` lines' addresses to `addrs`, everything else to
/// `rest`.
fn read_stdout(
    stdout: ChildStdout,
    expected: usize,
    addrs: mpsc::Sender<(String, SocketAddr)>,
    rest: mpsc::Sender<String>,
) {
    let mut found = 0;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if found < expected {
            if let Some((proto, addr)) = parse_listening(&line) {
                found += 1;
                let _ = addrs.send((proto, addr));
                continue;
            }
        }
        let _ = rest.send(line);
    }
}

/// `listening <proto> <addr>` → `(proto, addr)`.
fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let mut words = line.split_whitespace();
    if words.next() != Some("listening") {
        return None;
    }
    let proto = words.next()?.to_owned();
    let addr = words.next()?.parse().ok()?;
    Some((proto, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_name_a_protocol_and_an_address() {
        assert_eq!(
            parse_listening("listening http [::1]:8080"),
            Some(("http".into(), "[::1]:8080".parse().unwrap()))
        );
        assert_eq!(parse_listening("summary conns=3"), None);
        assert_eq!(parse_listening("listening tcp nowhere"), None);
    }

    #[test]
    fn a_process_is_found_by_its_lines_and_killed_on_drop() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo listening tcp 127.0.0.1:4321; echo after; exec sleep 30",
        ]);
        let process = Listening::start(&mut cmd, 1);
        assert_eq!(process.addr("tcp"), Some("127.0.0.1:4321".parse().unwrap()));
        assert_eq!(
            process
                .stdout_rest
                .recv_timeout(Duration::from_secs(10))
                .as_deref(),
            Ok("after")
        );
        let pid = process.pid();
        drop(process);
        // SAFETY: signal 0 only checks whether the PID exists.
        let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
        assert!(!alive, "the process was reaped on drop");
    }
}

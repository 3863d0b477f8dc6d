//! A started design: its argv expanded (free ports picked, files written), its process pinned,
//! ready once every service it serves has announced itself or answers; killed by PID on drop.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::procfs::{self, CpuTimes};
use super::readiness::{parse_listening, probe};
use crate::plan::placeholders::{self, Vars};
use crate::plan::{Design, Proto, Readiness};

/// How often the readiness loop looks at the child, its lines and its ports.
const POLL: Duration = Duration::from_millis(20);
/// How often ports are probed while waiting.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Why a design did not start.
#[derive(Debug)]
pub enum StartError {
    /// Its program is not installed (an optional peer is skipped for this).
    Missing(String),
    /// Stopped by SIGINT/SIGTERM.
    Interrupted,
    /// Anything else: bad command, exit before ready, no answer in time.
    Failed(anyhow::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Missing(m) => write!(f, "{m}"),
            StartError::Interrupted => write!(f, "interrupted"),
            StartError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Failed(e)
    }
}

/// The directories placeholders point to.
pub struct Places<'a> {
    /// `{bin_dir}`.
    pub bin_dir: &'a Path,
    /// `{peers}`.
    pub peers: &'a Path,
    /// Parent of each design's `{tmp}`.
    pub tmp_root: &'a Path,
    /// Where the design's stderr goes (`NAME.stderr`).
    pub logs: &'a Path,
    /// `{tls_cert}` and `{tls_key}`, for the designs serving https.
    pub tls: Option<&'a super::RunCert>,
}

/// A running server design, killed (by PID) when dropped.
pub struct Server {
    child: Child,
    /// The address of each service.
    pub addrs: HashMap<Proto, SocketAddr>,
    /// The argv it was started with (placeholders expanded).
    pub argv: Vec<String>,
}

impl Server {
    /// Starts `design` on `cores` and waits (at most `timeout`) until it is ready.
    pub fn start(
        design: &Design,
        places: &Places,
        cores: &[usize],
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Server, StartError> {
        let picked = pick_ports(&design.serves)?;
        let tmp = std::path::absolute(places.tmp_root.join(&design.name))
            .context("resolving the temp dir")?;
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let vars = vars(design, places, &tmp, &picked)?;
        for (name, contents) in &design.files {
            let text =
                placeholders::expand(contents, &vars).with_context(|| format!("file {name}"))?;
            std::fs::write(tmp.join(name), text).with_context(|| format!("writing {name}"))?;
        }
        let argv = design
            .command
            .iter()
            .map(|a| placeholders::expand(a, &vars))
            .collect::<Result<Vec<_>, _>>()
            .context("expanding the command")?;
        let program = find_program(&argv[0]).ok_or_else(|| {
            StartError::Missing(format!("`{}` not found (not installed?)", argv[0]))
        })?;
        let log = places.logs.join(format!("{}.stderr", design.name));
        let stderr = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = super::pinned_command(&program, &argv[1..], cores)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut server = Server {
            child,
            addrs: HashMap::new(),
            argv,
        };
        server.wait_ready(design, &picked, &log, timeout, stop)?;
        Ok(server)
    }

    fn wait_ready(
        &mut self,
        design: &Design,
        picked: &HashMap<Proto, SocketAddr>,
        log: &Path,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<(), StartError> {
        let lines = self.forward_stdout();
        let started = Instant::now();
        let mut last_probe: Option<Instant> = None;
        while design.serves.iter().any(|p| !self.addrs.contains_key(p)) {
            if stop.load(Ordering::Relaxed) {
                return Err(StartError::Interrupted);
            }
            if let Some(status) = self.child.try_wait().context("waiting")? {
                return Err(anyhow::anyhow!(
                    "exited with {status} before it was ready (see {})",
                    log.display()
                )
                .into());
            }
            if started.elapsed() > timeout {
                let waiting: Vec<&str> = design
                    .serves
                    .iter()
                    .filter(|p| !self.addrs.contains_key(p))
                    .map(|p| p.name())
                    .collect();
                let how = match design.ready {
                    Readiness::Listening => "no `listening` line",
                    Readiness::Probe => "no answer on its port",
                    Readiness::Auto => "no `listening` line and no answer on its port",
                };
                return Err(anyhow::anyhow!(
                    "{how} for {} within {timeout:?} (see {})",
                    waiting.join(", "),
                    log.display()
                )
                .into());
            }
            while let Ok(line) = lines.try_recv() {
                if design.ready == Readiness::Probe {
                    continue;
                }
                if let Some((proto, addr)) = parse_listening(&line) {
                    if design.serves.contains(&proto) {
                        self.addrs.insert(proto, addr);
                    }
                }
            }
            let probe_due = last_probe.is_none_or(|t| t.elapsed() >= PROBE_EVERY);
            if design.ready != Readiness::Listening && probe_due {
                last_probe = Some(Instant::now());
                for (&proto, &addr) in picked {
                    if !self.addrs.contains_key(&proto) && probe(proto, addr) {
                        self.addrs.insert(proto, addr);
                    }
                }
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Reads the child's stdout on a thread (so it never blocks on a full pipe) and passes the
    /// lines on.
    fn forward_stdout(&mut self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = self.child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        rx
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// CPU time of the server and its descendants so far.
    pub fn cpu(&self) -> anyhow::Result<CpuTimes> {
        procfs::tree_cpu(self.pid())
    }

    /// Peak RSS of the server and its descendants, KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        procfs::tree_peak_rss_kib(self.pid())
    }

    /// Resets the peak RSS (false where the kernel does not allow it).
    pub fn reset_peak_rss(&self) -> bool {
        procfs::reset_tree_peak_rss(self.pid())
    }

    /// Sends `signal` and waits up to `grace` for the process to end; kills it after that.
    pub fn terminate(mut self, signal: i32, grace: Duration) -> Ended {
        use std::os::unix::process::ExitStatusExt;
        // SAFETY: kill(2) on our own child, which has not been reaped (we hold `child`).
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return match (status.code(), status.signal()) {
                    (Some(code), _) => Ended::Exited(code),
                    (None, Some(signal)) => Ended::Signalled(signal),
                    (None, None) => Ended::Killed,
                };
            }
            std::thread::sleep(POLL);
        }
        Ended::Killed // Drop kills it.
    }
}

/// How a server ended once asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// With this exit status.
    Exited(i32),
    /// From this signal (the one it was sent, typically: no handler).
    Signalled(i32),
    /// Not within the grace period: it was killed.
    Killed,
}

impl Ended {
    /// The exit status, when it exited.
    pub fn code(self) -> Option<i32> {
        match self {
            Ended::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// In words, for the report.
    pub fn describe(self) -> String {
        match self {
            Ended::Exited(code) => format!("exit status {code}"),
            Ended::Signalled(signal) => format!("ended by signal {signal}"),
            Ended::Killed => "did not end within the grace period; killed".into(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port for each protocol: bound to port 0 and released, so the server can
/// bind it (TCP for tcp and http, UDP for udp).
fn pick_ports(serves: &[Proto]) -> anyhow::Result<HashMap<Proto, SocketAddr>> {
    let mut picked = HashMap::new();
    // Holding every socket until all are picked keeps two services from getting one port.
    let mut held_tcp = Vec::new();
    let mut held_udp = Vec::new();
    for &p in serves {
        let addr = match p {
            Proto::Tcp | Proto::Http | Proto::Https => {
                let l = std::net::TcpListener::bind("127.0.0.1:0").context("picking a port")?;
                let a = l.local_addr()?;
                held_tcp.push(l);
                a
            }
            Proto::Udp => {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").context("picking a port")?;
                let a = s.local_addr()?;
                held_udp.push(s);
                a
            }
        };
        picked.insert(p, addr);
    }
    Ok(picked)
}

fn vars(
    design: &Design,
    places: &Places,
    tmp: &Path,
    picked: &HashMap<Proto, SocketAddr>,
) -> anyhow::Result<Vars> {
    let abs = |p: &Path| -> anyhow::Result<String> {
        Ok(std::path::absolute(p)
            .with_context(|| format!("resolving {}", p.display()))?
            .display()
            .to_string())
    };
    let mut v = Vars::new();
    for (&proto, addr) in picked {
        let (a, p) = proto.placeholders();
        v.insert(a, addr.to_string());
        v.insert(p, addr.port().to_string());
    }
    if let Some(tls) = places.tls.filter(|_| design.serves.contains(&Proto::Https)) {
        v.insert("tls_cert", tls.cert.display().to_string());
        v.insert("tls_key", tls.key.display().to_string());
    }
    v.insert("bin_dir", abs(places.bin_dir)?);
    v.insert("peers", abs(places.peers)?);
    v.insert("tmp", tmp.display().to_string());
    let dir = design.designs_dir.as_deref().unwrap_or(places.peers);
    v.insert(
        "designs_dir",
        abs(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?,
    );
    Ok(v)
}

/// The executable `name` names: a path as given, else the first match on `PATH` or in the
/// sbin directories (where Debian puts nginx).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_the_path_or_not_at_all() {
        assert!(find_program("sh").is_some());
        assert!(find_program("/bin/sh").is_some());
        assert!(find_program("no-such-program-here").is_none());
        assert!(find_program("/no/such/path").is_none());
    }

    #[test]
    fn picked_ports_differ() {
        let p = pick_ports(&[Proto::Tcp, Proto::Http, Proto::Udp]).unwrap();
        assert_ne!(p[&Proto::Tcp].port(), p[&Proto::Http].port());
        assert!(p.values().all(|a| a.ip().is_loopback()));
    }
}

//! Child processes for the comparison: pinned to cores, killed by PID when dropped (and by the
//! kernel if the comparison itself dies), measured through `/proc` and `wait4`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How often waiting loops look at the stop flag and the child.
const POLL: Duration = Duration::from_millis(10);

/// The CPUs this process may run on (its affinity mask), in ascending order.
pub fn available_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..num_cpus_fallback()).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

fn num_cpus_fallback() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Which cores the server and the load generator run on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pinning {
    /// Cores of every server process.
    pub server: Vec<usize>,
    /// Cores of every load generator process.
    pub generator: Vec<usize>,
    /// Whether the two sets are disjoint (false on a one-core machine or with `--no-pin`).
    pub separated: bool,
}

impl Pinning {
    /// Splits `cores` in two: the first half (at least one) for the server, the rest for the
    /// generator. With a single core both share it.
    pub fn split(cores: &[usize]) -> Pinning {
        if cores.len() < 2 {
            return Pinning::shared(cores);
        }
        let half = cores.len() / 2;
        Pinning {
            server: cores[..half].to_vec(),
            generator: cores[half..].to_vec(),
            separated: true,
        }
    }

    /// Both sides may run on all of `cores` (no pinning).
    pub fn shared(cores: &[usize]) -> Pinning {
        Pinning {
            server: cores.to_vec(),
            generator: cores.to_vec(),
            separated: false,
        }
    }

    /// The cores of both sides, each once.
    pub fn all_cores(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.server.iter().chain(&self.generator).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// "server on CPU 0, generator on CPU 1 (sched_setaffinity, as `taskset -c`)".
    pub fn describe(&self) -> String {
        if self.separated {
            format!(
                "server on CPU {}, load generator on CPU {} (sched_setaffinity, as `taskset -c`)",
                cpu_list(&self.server),
                cpu_list(&self.generator)
            )
        } else {
            format!(
                "not pinned apart: server and load generator share CPU {}",
                cpu_list(&self.server)
            )
        }
    }
}

/// `[0, 1, 2]` → `"0,1,2"`.
pub fn cpu_list(cores: &[usize]) -> String {
    cores
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A command whose process runs on `cores` and is killed if the comparison dies first.
pub fn pinned_command(bin: &Path, args: &[String], cores: &[usize]) -> Command {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET only sets bits inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cores {
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    let mut cmd = Command::new(bin);
    cmd.args(args);
    // SAFETY: the closure runs between fork and exec and only makes two syscalls, which are
    // async-signal-safe; `set` was built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if !cores_empty(&set)
                && libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn cores_empty(set: &libc::cpu_set_t) -> bool {
    // SAFETY: CPU_COUNT only reads the set.
    unsafe { libc::CPU_COUNT(set) == 0 }
}

/// A running server design, killed (by PID) when dropped.
pub struct Server {
    child: Child,
    /// The address announced for each service (`tcp`, `udp`, `http`).
    pub addrs: HashMap<String, SocketAddr>,
}

impl Server {
    /// Starts `bin args` on `cores`, stderr to `log`, and waits (at most `timeout`) for one
    /// `listening <service> <addr>` line for each of `services`.
    pub fn start(
        bin: &Path,
        args: &[String],
        services: &[&str],
        cores: &[usize],
        log: &Path,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> anyhow::Result<Server> {
        let stderr = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = pinned_command(bin, args, cores)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Server {
            child,
            addrs: HashMap::new(),
        };
        let lines = server.forward_stdout();
        let deadline = Instant::now() + timeout;
        while services.iter().any(|s| !server.addrs.contains_key(*s)) {
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted");
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "exited with {status} before listening (see {})",
                    log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "no listening lines within {timeout:?} (see {})",
                    log.display()
                );
            }
            if let Ok(line) = lines.recv_timeout(POLL) {
                if let Some((service, addr)) = parse_listening(&line) {
                    server.addrs.insert(service, addr);
                }
            }
        }
        Ok(server)
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

    /// Total CPU time (user + system, all threads, live and exited) used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        parse_stat_cpu(&stat, clock_ticks_per_second()).context("parsing /proc/PID/stat")
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        parse_status_kib(&status, "VmHWM:").context("no VmHWM in /proc/PID/status")
    }

    /// Resets the peak RSS to the current RSS (`clear_refs` 5), so each scenario reports its
    /// own peak. Returns false where the kernel does not allow it.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit status; kills it after that.
    /// Returns the exit code (None if it had to be killed or died from a signal).
    pub fn terminate(mut self, grace: Duration) -> Option<i32> {
        // SAFETY: kill(2) on our own child, which has not been reaped (we hold `child`).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(POLL);
        }
        None // Drop kills it.
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `listening tcp 127.0.0.1:4000` → `("tcp", 127.0.0.1:4000)`.
pub fn parse_listening(line: &str) -> Option<(String, SocketAddr)> {
    let mut words = line.split_whitespace();
    if words.next()? != "listening" {
        return None;
    }
    let service = words.next()?.to_string();
    let addr = words.next()?.parse().ok()?;
    Some((service, addr))
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_cpu(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // field 3 is the first after ')'
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / ticks_per_second.max(1),
    ))
}

/// The value in kB of a `/proc/PID/status` line such as `VmHWM:   1234 kB`.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time the given cores spent busy (user, nice, system, irq, softirq, steal) since boot,
/// from `/proc/stat`: compared with the CPU time of the processes we started, it shows how much
/// other load (another build, another tenant) shared the cores during a run.
pub fn cores_busy(cores: &[usize]) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks = parse_cores_busy(&stat, cores).context("parsing /proc/stat")?;
    Ok(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / clock_ticks_per_second(),
    ))
}

/// Busy ticks of `cores` in a `/proc/stat` text.
pub fn parse_cores_busy(stat: &str, cores: &[usize]) -> Option<u64> {
    let mut total = 0;
    for &cpu in cores {
        let prefix = format!("cpu{cpu} ");
        let line = stat.lines().find(|l| l.starts_with(&prefix))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal ...
        total += [0, 1, 2, 5, 6, 7]
            .iter()
            .map(|&i| fields.get(i).copied().unwrap_or(0))
            .sum::<u64>();
    }
    Some(total)
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// How a bounded child run ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit code, or None when it died from a signal.
    pub code: Option<i32>,
    /// User + system CPU time of the child (from `wait4`'s rusage), all threads.
    pub cpu: Duration,
    /// Wall time from spawn to exit.
    pub wall: Duration,
}

/// Runs `cmd` to completion, killing it (by PID) if it outlives `timeout` or `stop` is set,
/// and returns its exit code and CPU time.
pub fn run_bounded(
    mut cmd: Command,
    timeout: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let child = cmd.spawn().context("spawning")?;
    let pid = child.id() as libc::pid_t;
    // From here on the child is reaped with wait4 (for its rusage), not through `child`.
    drop(child);
    let mut killed = None;
    loop {
        if let Some((status, usage)) = wait4(pid, libc::WNOHANG)? {
            if let Some(reason) = killed {
                bail!("{reason}");
            }
            return Ok(Finished {
                code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
                cpu: rusage_cpu(&usage),
                wall: started.elapsed(),
            });
        }
        if killed.is_none() {
            let reason = if stop.load(Ordering::Relaxed) {
                Some("interrupted")
            } else if started.elapsed() > timeout {
                Some("timed out")
            } else {
                None
            };
            if let Some(reason) = reason {
                // SAFETY: kill(2) on our own unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                killed = Some(reason);
            }
        }
        std::thread::sleep(POLL);
    }
}

fn wait4(pid: libc::pid_t, flags: libc::c_int) -> anyhow::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    // SAFETY: wait4 writes into the two out-parameters only.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
    match got {
        0 => Ok(None),
        p if p == pid => Ok(Some((status, usage))),
        _ => Err(std::io::Error::last_os_error()).context("wait4"),
    }
}

fn rusage_cpu(usage: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_counts_from_the_last_paren() {
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_stat_cpu(stat, 100), Some(Duration::from_secs(3)));
    }

    #[test]
    fn status_kib_reads_the_named_line() {
        let status = "Name:\tx\nVmPeak:\t  900 kB\nVmHWM:\t    1234 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(1234));
        assert_eq!(parse_status_kib(status, "VmRSS:"), None);
    }

    #[test]
    fn cores_busy_sums_the_busy_columns_of_the_named_cpus() {
        let stat =
            "cpu  9 9 9 9 9 9 9 9 0 0\ncpu0 1 2 3 100 7 4 5 6 0 0\ncpu1 10 0 0 50 0 0 0 0 0 0\n";
        assert_eq!(parse_cores_busy(stat, &[0]), Some(21));
        assert_eq!(parse_cores_busy(stat, &[0, 1]), Some(31));
        assert_eq!(parse_cores_busy(stat, &[2]), None);
    }

    #[test]
    fn listening_lines_parse_and_others_do_not() {
        let (s, a) = parse_listening("listening udp 127.0.0.1:9000").unwrap();
        assert_eq!((s.as_str(), a.port()), ("udp", 9000));
        assert!(parse_listening("hello").is_none());
        assert!(parse_listening("listening tcp nonsense").is_none());
    }

    #[test]
    fn split_gives_each_side_its_own_cores() {
        let p = Pinning::split(&[0, 1]);
        assert_eq!(
            (p.server, p.generator, p.separated),
            (vec![0], vec![1], true)
        );
        let p = Pinning::split(&[0, 1, 2, 3]);
        assert_eq!((p.server, p.generator), (vec![0, 1], vec![2, 3]));
        assert!(!Pinning::split(&[3]).separated);
    }

    #[test]
    fn bounded_run_reports_exit_code_and_kills_on_timeout() {
        let stop = AtomicBool::new(false);
        let mut ok = Command::new("sh");
        ok.args(["-c", "exit 3"]);
        let done = run_bounded(ok, Duration::from_secs(10), &stop).unwrap();
        assert_eq!(done.code, Some(3));
        let mut slow = Command::new("sleep");
        slow.arg("30");
        assert!(run_bounded(slow, Duration::from_millis(100), &stop).is_err());
    }
}

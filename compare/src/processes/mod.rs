//! Child processes: pinned to cores, killed by PID when dropped (and by the kernel if the
//! comparison itself dies), measured through `/proc` and `wait4`.
//!
//! - [`server`]: starting a design and knowing when it is ready;
//! - [`certificate`]: the run's TLS certificate for the designs serving https;
//! - [`readiness`]: `listening` lines and port probes;
//! - [`procfs`]: CPU (user/system), peak RSS, other load on the cores;
//! - [`conntrack`]: whether netfilter tracks the loopback connections everything here makes.

pub mod certificate;
pub mod conntrack;
pub mod procfs;
pub mod readiness;
pub mod server;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub use certificate::RunCert;
pub use server::{Ended, Places, Server, StartError};

/// How often waiting loops look at the stop flag and the child.
const POLL: Duration = Duration::from_millis(10);

/// The CPUs this process may run on (its affinity mask), in ascending order.
pub fn available_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
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
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // system calls; `set` was built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::CPU_COUNT(&set) != 0
                && libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
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
    let begun = Instant::now();
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
                wall: begun.elapsed(),
            });
        }
        if killed.is_none() {
            let reason = if stop.load(Ordering::Relaxed) {
                Some("interrupted")
            } else if begun.elapsed() > timeout {
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

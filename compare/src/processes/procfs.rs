//! Readings from `/proc`: a process tree's CPU time split into user and system, peak RSS, and
//! how busy given cores were (to spot other load on a shared machine).
//!
//! `/proc/PID/stat` counts CPU time in clock ticks (10 ms here): over a 300 ms run that is a
//! few percent of quantisation noise, enough to hide a 10% regression. The total therefore
//! comes from each process's CPU-time clock (`clock_getcpuclockid`: the scheduler's
//! nanosecond runtime of all its threads, exited ones included), plus the ticks of children
//! it reaped; the ticks only split it into user and system.

use std::time::Duration;

use anyhow::Context;

/// CPU time, in total and split the way the kernel accounts it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// Time in user space: what the design's own code costs (in clock ticks).
    pub user: Duration,
    /// Time in the kernel on the process's behalf: system calls, the network stack (in
    /// clock ticks).
    pub system: Duration,
    /// User + system to the nanosecond (the scheduler's runtime; see the module doc).
    pub exact: Duration,
}

impl CpuTimes {
    /// User + system, to the nanosecond.
    pub fn total(&self) -> Duration {
        self.exact
    }

    /// `self - earlier`, field by field, never negative.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
            exact: self.exact.saturating_sub(earlier.exact),
        }
    }
}

impl std::ops::Add for CpuTimes {
    type Output = CpuTimes;
    fn add(self, o: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user + o.user,
            system: self.system + o.system,
            exact: self.exact + o.exact,
        }
    }
}

/// utime+cutime and stime+cstime (fields 14–17) of a `/proc/PID/stat` line, in ticks: the
/// process's own threads plus its children that it has reaped. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let [utime, stime, cutime, cstime] = parse_stat_times(stat)?;
    Some((utime + cutime, stime + cstime))
}

/// utime, stime, cutime and cstime (fields 14–17) of a `/proc/PID/stat` line, in ticks.
fn parse_stat_times(stat: &str) -> Option<[u64; 4]> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11) // field 3 is the first after ')'
        .take(4)
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    f.try_into().ok()
}

/// The CPU time of all threads of process `pid`, exited ones included, to the nanosecond.
fn process_runtime(pid: u32) -> Option<Duration> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: a valid out-pointer; the call only fills it in.
    if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) } != 0 {
        return None;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec; a clock of a process that exited meanwhile fails.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

fn ticks(t: u64) -> Duration {
    Duration::from_nanos(t.saturating_mul(1_000_000_000) / clock_ticks_per_second())
}

/// The CPU time of `pid` and all its live descendants (nginx's workers, a wrapper script's
/// child), user and system apart.
pub fn tree_cpu(pid: u32) -> anyhow::Result<CpuTimes> {
    let mut total = CpuTimes::default();
    let mut seen = 0;
    for p in tree(pid) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue; // exited meanwhile
        };
        let [u, s, cu, cs] = parse_stat_times(&stat).context("parsing /proc/PID/stat")?;
        // Without the precise clock (the process just exited), its ticks stand in.
        let own = process_runtime(p).unwrap_or_else(|| ticks(u + s));
        total = total
            + CpuTimes {
                user: ticks(u + cu),
                system: ticks(s + cs),
                exact: own + ticks(cu + cs),
            };
        seen += 1;
    }
    anyhow::ensure!(seen > 0, "process {pid} is gone");
    Ok(total)
}

/// `pid` and its descendants, from `/proc/PID/task/TID/children` (just `pid` where the kernel
/// does not offer that file).
pub fn tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < 4096 {
        let p = out[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for task in tasks.flatten() {
                let kids =
                    std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                out.extend(
                    kids.split_whitespace()
                        .filter_map(|k| k.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    out
}

/// Peak resident set size (VmHWM) of the tree, KiB.
pub fn tree_peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for p in tree(pid) {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            total += parse_status_kib(&status, "VmHWM:").context("no VmHWM in /proc/PID/status")?;
        }
    }
    Ok(total)
}

/// Resets the tree's peak RSS to the current RSS (`clear_refs` 5), so each scenario reports its
/// own peak. Returns false where the kernel does not allow it.
pub fn reset_tree_peak_rss(pid: u32) -> bool {
    tree(pid)
        .iter()
        .all(|p| std::fs::write(format!("/proc/{p}/clear_refs"), "5").is_ok())
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
    Ok(ticks(
        parse_cores_busy(&stat, cores).context("parsing /proc/stat")?,
    ))
}

/// CPU time the hypervisor took from the given cores (steal) since boot, from `/proc/stat`.
pub fn cores_steal(cores: &[usize]) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    Ok(ticks(
        parse_cores_columns(&stat, cores, &[7]).context("parsing /proc/stat")?,
    ))
}

/// Busy ticks of `cores` in a `/proc/stat` text.
pub fn parse_cores_busy(stat: &str, cores: &[usize]) -> Option<u64> {
    // user nice system idle iowait irq softirq steal ...
    parse_cores_columns(stat, cores, &[0, 1, 2, 5, 6, 7])
}

/// The sum of `columns` (0: user) over the lines of `cores` in a `/proc/stat` text.
fn parse_cores_columns(stat: &str, cores: &[usize], columns: &[usize]) -> Option<u64> {
    let mut total = 0;
    for &cpu in cores {
        let prefix = format!("cpu{cpu} ");
        let line = stat.lines().find(|l| l.starts_with(&prefix))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        total += columns
            .iter()
            .map(|&i| fields.get(i).copied().unwrap_or(0))
            .sum::<u64>();
    }
    Some(total)
}

/// Kernel clock ticks per second (`/proc` CPU times are in these).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_counts_from_the_last_paren_and_adds_reaped_children() {
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 3 0 1 2 3";
        assert_eq!(parse_stat_ticks(stat), Some((257, 53)));
        assert_eq!(parse_stat_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn our_own_tree_has_cpu_time() {
        let me = std::process::id();
        assert_eq!(tree(me)[0], me);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let cpu = tree_cpu(me).unwrap();
        assert!(cpu.total() > Duration::ZERO);
        // The exact total agrees with the ticks to within a few ticks per thread.
        let ticked = cpu.user + cpu.system;
        let threads = std::fs::read_dir("/proc/self/task").unwrap().count() as u32;
        let slack = ticks(2) * (threads + 1);
        assert!(
            cpu.total() + slack >= ticked && ticked + slack >= cpu.total(),
            "exact {:?}, ticks {ticked:?}",
            cpu.total()
        );
    }

    #[test]
    fn the_exact_total_sees_below_a_tick() {
        let me = std::process::id();
        let thread_cpu = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid, writable timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
        };
        let before = tree_cpu(me).unwrap();
        let start = thread_cpu();
        while thread_cpu() - start < Duration::from_millis(3) {
            std::hint::black_box(0);
        }
        let spent = tree_cpu(me).unwrap().since(&before).total();
        // 3 ms of this thread's CPU, less than one 10 ms tick: only the exact clock sees it
        // for certain (other test threads can only add to it).
        assert!(spent >= Duration::from_millis(3), "{spent:?}");
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
        assert_eq!(parse_cores_columns(stat, &[0, 1], &[7]), Some(6));
    }
}

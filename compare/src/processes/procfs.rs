//! Readings from `/proc`: a process tree's CPU time split into user and system, peak RSS, and
//! how busy given cores were (to spot other load on a shared machine).

use std::time::Duration;

use anyhow::Context;

/// CPU time split the way the kernel accounts it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// Time in user space: what the design's own code costs.
    pub user: Duration,
    /// Time in the kernel on the process's behalf (system calls, the network stack).
    pub system: Duration,
}

impl CpuTimes {
    /// User + system.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// `self - earlier`, field by field, never negative.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

impl std::ops::Add for CpuTimes {
    type Output = CpuTimes;
    fn add(self, o: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user + o.user,
            system: self.system + o.system,
        }
    }
}

/// utime+cutime and stime+cstime (fields 14–17) of a `/proc/PID/stat` line, in ticks: the
/// process's own threads plus its children that it has reaped. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11) // field 3 is the first after ')'
        .take(4)
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    (f.len() == 4).then(|| (f[0] + f[2], f[1] + f[3]))
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
        let (u, s) = parse_stat_ticks(&stat).context("parsing /proc/PID/stat")?;
        total = total
            + CpuTimes {
                user: ticks(u),
                system: ticks(s),
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

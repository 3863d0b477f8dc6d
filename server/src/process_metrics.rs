//! The standard `process_*` series every Prometheus exporter serves (CPU time, resident and
//! virtual memory, open and maximum descriptors, start time) and `reactor_build_info`, the
//! version and commit as labels of a constant 1, so dashboards can join on them.
//!
//! The process series are read from `/proc/self` on each scrape, as the official client
//! libraries do on Linux (same names, types and units): `stat` for CPU time, memory and start
//! ticks, `limits` for the descriptor limit, `fd/` for open descriptors, and `/proc/stat`'s
//! `btime` for the boot time the start ticks count from. Parsing is split from reading so it is
//! unit-tested on fixed text; a file that cannot be read or parsed leaves its series out rather
//! than reporting a made-up value.

use std::fmt::Write as _;

/// What `/proc/self/stat` says about the process (fields 14, 15, 22, 23 and 24 of proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// User-mode CPU time, in clock ticks.
    pub utime_ticks: u64,
    /// Kernel-mode CPU time, in clock ticks.
    pub stime_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    /// Virtual memory size, in bytes.
    pub vsize_bytes: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses the one line of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and
/// may itself hold spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let after_comm = &text[text.rfind(')')? + 1..];
    // Field 3 (state) is at index 0 here, so field N is at index N - 3.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(ProcStat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        start_ticks: field(22)?,
        vsize_bytes: field(23)?,
        // rss is a signed field; a negative value is not a size.
        rss_pages: fields.get(24 - 3)?.parse::<i64>().ok()?.max(0) as u64,
    })
}

/// The soft "Max open files" limit from `/proc/<pid>/limits`; `None` when unlimited or absent.
pub fn parse_max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (`btime`, Unix seconds) from `/proc/stat`.
pub fn parse_boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Everything one scrape reports about the process; `None` where it could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// User and system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident memory, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory, bytes.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft open-file limit.
    pub max_fds: Option<u64>,
    /// Start time, Unix seconds.
    pub start_time_seconds: Option<f64>,
}

impl ProcessSample {
    /// Builds a sample from the texts of the files and the system's constants.
    pub fn from_texts(
        stat: Option<&str>,
        limits: Option<&str>,
        proc_stat: Option<&str>,
        open_fds: Option<u64>,
        ticks_per_second: u64,
        page_bytes: u64,
    ) -> Self {
        let stat = stat.and_then(parse_stat);
        let ticks = ticks_per_second.max(1) as f64;
        let boot = proc_stat.and_then(parse_boot_time);
        ProcessSample {
            cpu_seconds: stat.map(|s| (s.utime_ticks + s.stime_ticks) as f64 / ticks),
            resident_bytes: stat.map(|s| s.rss_pages.saturating_mul(page_bytes)),
            virtual_bytes: stat.map(|s| s.vsize_bytes),
            open_fds,
            max_fds: limits.and_then(parse_max_open_files),
            start_time_seconds: stat
                .zip(boot)
                .map(|(s, boot)| boot as f64 + s.start_ticks as f64 / ticks),
        }
    }

    /// Reads this process's numbers from `/proc` now.
    pub fn read() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            // The directory handle being read is itself one of the entries; leave it out.
            .map(|dir| (dir.count() as u64).saturating_sub(1));
        // SAFETY: sysconf only reads system constants.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        ProcessSample::from_texts(
            read("/proc/self/stat").as_deref(),
            read("/proc/self/limits").as_deref(),
            read("/proc/stat").as_deref(),
            open_fds,
            u64::try_from(ticks).unwrap_or(100),
            u64::try_from(page).unwrap_or(4096),
        )
    }
}

/// Appends the `process_*` families of `sample` (those it has) and `reactor_build_info`.
pub fn render(sample: &ProcessSample, version: &str, commit: &str, out: &mut String) {
    let float = |v: Option<f64>| v.map(|v| format!("{v}"));
    let int = |v: Option<u64>| v.map(|v| v.to_string());
    let families = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            float(sample.cpu_seconds),
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            int(sample.resident_bytes),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            int(sample.virtual_bytes),
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            int(sample.open_fds),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            int(sample.max_fds),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            float(sample.start_time_seconds),
        ),
    ];
    for (name, kind, help, value) in families {
        if let Some(value) = value {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
    }
    let _ = writeln!(
        out,
        "# HELP reactor_build_info The version and commit the server was built from, as labels; always 1."
    );
    let _ = writeln!(out, "# TYPE reactor_build_info gauge");
    let _ = writeln!(
        out,
        "reactor_build_info{{version=\"{}\",commit=\"{}\"}} 1",
        escape_label(version),
        escape_label(commit)
    );
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format requires.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line from `/proc/self/stat`, with a command name that has spaces and parentheses.
    const STAT: &str = "5459 (a (b) c) R 5361 5361 20122 0 -1 4194304 99 0 0 0 250 50 0 0 20 0 1 \
                        0 136765 3133440 413 18446744073709551615 94394954973184 0 0 0 0 0 0 \
                        0 0 0 17 1 0 0 0 0 0\n";

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            20000                524288               files     
Max address space         unlimited            unlimited            bytes     
";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let stat = parse_stat(STAT).expect("parses");
        assert_eq!(
            stat,
            ProcStat {
                utime_ticks: 250,
                stime_ticks: 50,
                start_ticks: 136_765,
                vsize_bytes: 3_133_440,
                rss_pages: 413,
            }
        );
        assert_eq!(parse_stat("12 (x) R 1 2"), None, "too few fields");
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn limits_give_the_soft_open_file_limit() {
        assert_eq!(parse_max_open_files(LIMITS), Some(20_000));
        let unlimited = LIMITS.replace("20000  ", "unlimited");
        assert_eq!(parse_max_open_files(&unlimited), None);
    }

    #[test]
    fn boot_time_comes_from_btime() {
        let text = "cpu  1 2 3\nintr 5\nbtime 1796610301\nprocesses 9\n";
        assert_eq!(parse_boot_time(text), Some(1_796_610_301));
        assert_eq!(parse_boot_time("cpu 1\n"), None);
    }

    #[test]
    fn a_sample_converts_ticks_and_pages() {
        let s = ProcessSample::from_texts(
            Some(STAT),
            Some(LIMITS),
            Some("btime 1000\n"),
            Some(7),
            100,
            4096,
        );
        assert_eq!(s.cpu_seconds, Some(3.0));
        assert_eq!(s.resident_bytes, Some(413 * 4096));
        assert_eq!(s.virtual_bytes, Some(3_133_440));
        assert_eq!(s.start_time_seconds, Some(1000.0 + 1367.65));
        assert_eq!((s.open_fds, s.max_fds), (Some(7), Some(20_000)));
    }

    #[test]
    fn series_that_could_not_be_read_are_left_out_and_build_info_is_always_there() {
        let mut out = String::new();
        render(&ProcessSample::default(), "1.2.3", "ab\"c", &mut out);
        assert!(!out.contains("process_"), "{out}");
        assert!(
            out.contains("reactor_build_info{version=\"1.2.3\",commit=\"ab\\\"c\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn this_process_is_read_from_proc() {
        let sample = ProcessSample::read();
        let mut out = String::new();
        render(&sample, "0.1.0", "abc", &mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                out.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{out}"
            );
        }
        assert!(sample.resident_bytes.is_some_and(|b| b > 0));
        assert!(sample.open_fds.is_some() && sample.max_fds.is_some());
    }
}

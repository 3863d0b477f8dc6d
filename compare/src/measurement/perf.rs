//! System calls and context switches of a server over one run, counted by
//! `perf stat -e raw_syscalls:sys_enter,context-switches -p PID...`. perf starts with its
//! counters disabled and is switched on through its control FIFO, so counting begins exactly
//! when the run does (its `ack` is the readiness signal); it inherits to threads the server
//! creates meanwhile (a thread per connection is counted too).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::results::KernelCounts;

/// The events, in the order perf reports them.
const EVENTS: &str = "raw_syscalls:sys_enter,context-switches";
/// How long perf may take to acknowledge a control command or to exit.
const PERF_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `perf stat` can count both events here; Err says why not (for the report's note).
pub fn check() -> Result<(), String> {
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", EVENTS, "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("`perf` could not be started ({e}); install linux-perf"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let first = text.lines().next().unwrap_or("").trim();
        return Err(format!("`perf stat` failed: {first}"));
    }
    match parse(&text) {
        Some(_) => Ok(()),
        None => Err(format!(
            "`perf stat` cannot count {EVENTS} here (no tracefs access or not supported: {})",
            text.lines().next().unwrap_or("").trim()
        )),
    }
}

/// Reads the two counts from `perf stat -x,` output (`value,unit,event,...` lines).
pub fn parse(text: &str) -> Option<KernelCounts> {
    let value = |event: &str| -> Option<u64> {
        text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 3 || f[2].trim() != event {
                return None;
            }
            match f[0].trim() {
                // Enabled but never scheduled: the process did not run, so nothing happened.
                "<not counted>" => Some(0),
                v => v.parse::<u64>().ok(),
            }
        })
    };
    Some(KernelCounts {
        syscalls: value("raw_syscalls:sys_enter")?,
        context_switches: value("context-switches")?,
    })
}

/// A `perf stat` attached to a server's processes, counting once enabled.
pub struct Counting {
    child: Child,
    ctl: File,
    ack: File,
    out: PathBuf,
    dir: PathBuf,
}

impl Counting {
    /// Attaches to `pids` with counters off; `dir` holds the FIFOs and the output.
    pub fn attach(pids: &[u32], dir: &Path) -> anyhow::Result<Counting> {
        std::fs::create_dir_all(dir)?;
        let ctl_path = dir.join("ctl");
        let ack_path = dir.join("ack");
        for p in [&ctl_path, &ack_path] {
            let _ = std::fs::remove_file(p);
            mkfifo(p)?;
        }
        // Opened read-write, so neither open waits for perf to open the other end.
        let rw = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))
        };
        let ctl = rw(&ctl_path)?;
        let ack = rw(&ack_path)?;
        let out = dir.join("perf.csv");
        let pid_list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let child = Command::new("perf")
            .args(["stat", "-x,", "-e", EVENTS, "--delay=-1"])
            .arg(format!(
                "--control=fifo:{},{}",
                ctl_path.display(),
                ack_path.display()
            ))
            .arg("-o")
            .arg(&out)
            .args(["-p", &pid_list.join(",")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting perf stat")?;
        Ok(Counting {
            child,
            ctl,
            ack,
            out,
            dir: dir.to_path_buf(),
        })
    }

    /// Switches the counters on and waits for perf's acknowledgement.
    pub fn enable(&mut self) -> anyhow::Result<()> {
        self.command("enable")
    }

    fn command(&mut self, cmd: &str) -> anyhow::Result<()> {
        self.ctl
            .write_all(format!("{cmd}\n").as_bytes())
            .context("writing perf's control FIFO")?;
        let deadline = Instant::now() + PERF_TIMEOUT;
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        // perf writes "ack\n" and a NUL.
        while !got.windows(4).any(|w| w == b"ack\n") {
            if Instant::now() > deadline {
                bail!("perf did not acknowledge `{cmd}` within {PERF_TIMEOUT:?}");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("perf exited with {status}");
            }
            match self.ack.read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Err(e) => return Err(e).context("reading perf's ack FIFO"),
            }
        }
        Ok(())
    }

    /// Switches the counters off, ends perf and returns the counts.
    pub fn finish(mut self) -> anyhow::Result<KernelCounts> {
        self.command("disable")?;
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + PERF_TIMEOUT;
        loop {
            if self.child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() > deadline {
                bail!("perf did not exit within {PERF_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = std::fs::read_to_string(&self.out).context("reading perf's output")?;
        parse(&text).with_context(|| format!("no counts in perf's output: {}", text.trim()))
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.join("ctl"));
        let _ = std::fs::remove_file(self.dir.join("ack"));
    }
}

fn mkfifo(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).context("FIFO path")?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("mkfifo {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_csv_lines_parse() {
        let text = "# started on Tue\n\n12345,,raw_syscalls:sys_enter,1000,100.00,,\n67,,context-switches,1000,100.00,,\n";
        let k = parse(text).unwrap();
        assert_eq!((k.syscalls, k.context_switches), (12345, 67));
        assert!(parse("<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n").is_none());
        let idle = "<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n<not counted>,,context-switches,0,100.00,,\n";
        assert_eq!(parse(idle).unwrap().syscalls, 0);
    }
}

#[cfg(test)]
mod live {
    use super::*;

    /// Where perf works, counting our own process sees the system calls we make.
    #[test]
    fn counting_sees_our_own_system_calls_where_perf_works() {
        if let Err(why) = check() {
            eprintln!("perf unavailable here, nothing to count: {why}");
            return;
        }
        let dir = std::env::temp_dir().join(format!("perf-test-{}", std::process::id()));
        let mut c = Counting::attach(&[std::process::id()], &dir).unwrap();
        c.enable().unwrap();
        for _ in 0..1000 {
            let _ = std::fs::metadata("/");
        }
        let k = c.finish().unwrap();
        assert!(k.syscalls >= 1000, "{k:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

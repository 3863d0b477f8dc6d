//! Child processes run to completion under a time limit, and polling with a deadline.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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
    let run = run(cmd, limit);
    RunOutput {
        code: run.status.code(),
        timed_out: run.timed_out,
        stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
    }
}

/// Runs `cmd` to completion and returns what it printed; a run longer than `limit` is killed
/// and fails the test, with its output in the message.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let run = run(cmd, limit);
    assert!(
        !run.timed_out,
        "{:?} ran longer than {limit:?}; stdout: {}; stderr: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    Output {
        status: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

/// A finished (or killed) child.
struct Run {
    status: ExitStatus,
    timed_out: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Starts `cmd` with its output piped, in a process group of its own, so that a time-out
/// kills whatever it started too (a grandchild holding the output pipes open would otherwise
/// hang the readers). For a test that must act on the running child (signal it, say) before
/// [`finish_within`] collects it.
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()))
}

/// Waits for a child started by [`spawn_piped`] and returns what it printed; one that lives
/// longer than `limit` is killed and fails the test, with its output in the message.
pub fn finish_within(child: Child, limit: Duration) -> Output {
    let run = finish(child, limit);
    assert!(
        !run.timed_out,
        "child ran longer than {limit:?}; stdout: {}; stderr: {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    Output {
        status: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

fn run(cmd: &mut Command, limit: Duration) -> Run {
    finish(spawn_piped(cmd), limit)
}

/// Collects the child's output (by threads, so a chatty child cannot block on a full pipe)
/// and waits for it, killing its process group at `limit`.
fn finish(mut child: Child, limit: Duration) -> Run {
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
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
            // SAFETY: killpg(2) on the group this child leads (spawn_piped set it up); no
            // memory is touched.
            unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGKILL) };
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_past_its_limit_is_killed_and_says_so() {
        let out = run_bounded(
            Command::new("sh").args(["-c", "echo started; sleep 30"]),
            Duration::from_millis(300),
        );
        assert!(out.timed_out);
        assert_eq!(out.code, None);
        assert_eq!(out.stdout, "started\n");
    }

    #[test]
    fn a_run_within_its_limit_keeps_its_exit_code_and_output() {
        let out = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(20),
        );
        assert!(!out.timed_out);
        assert_eq!((out.code, out.stdout.as_str()), (Some(3), "out\n"));
        assert_eq!(out.stderr, "err\n");
    }
}

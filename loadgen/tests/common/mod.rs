//! Shared by the load generator's integration tests: run the real binary, bounded in time.
#![allow(dead_code)] // each test binary uses a different subset

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The generator binary: this build's, or `REACTOR_LOADGEN_BIN` when set (to run the suite
/// against a release build, or an older one to see a test fail on the old behaviour).
pub fn loadgen_bin() -> String {
    std::env::var("REACTOR_LOADGEN_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_reactor-loadgen").to_string())
}

/// Runs the generator with `args`, killing it if it outlives `limit`.
pub fn loadgen(args: &[&str], limit: Duration) -> Output {
    let child = Command::new(loadgen_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reactor-loadgen");
    wait_bounded(child, limit)
}

/// Waits for `child` with its output piped; kills it and fails the test past `limit`.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("poll child").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "reactor-loadgen ran longer than {limit:?}; stdout: {}; stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

//! A binary of another workspace package, for a test that drives several (cargo builds only the
//! tested package's binaries for its tests).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `bin` of workspace package `package` with the profile of `beside` (a binary of the
/// package under test, e.g. `env!("CARGO_BIN_EXE_compare")`) and returns its path, next to
/// `beside`. Call it once per test binary (behind a `OnceLock`): cargo takes its build lock.
pub fn sibling_bin(beside: &Path, package: &str, bin: &str) -> PathBuf {
    let dir = beside.parent().expect("binary directory");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", package, "--bin", bin]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building {package}'s {bin} failed");
    dir.join(bin)
}

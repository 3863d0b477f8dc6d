//! Shared by the load generator's integration tests: run the real binary, bounded in time
//! (on top of the project's test kit).
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::process::{Command, Output};
use std::time::Duration;

pub use reactor_testkit::{output_within, Listening};

/// The generator binary: this build's, or `REACTOR_LOADGEN_BIN` when set (to run the suite
/// against a release build, or an older one to see a test fail on the old behaviour).
pub fn loadgen_bin() -> String {
    std::env::var("REACTOR_LOADGEN_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_reactor-loadgen").to_string())
}

/// Runs the generator with `args`; a run longer than `limit` is killed and fails the test.
pub fn loadgen(args: &[&str], limit: Duration) -> Output {
    output_within(Command::new(loadgen_bin()).args(args), limit)
}

//! Shared by the load generator's integration tests: run the real binary, bounded in time
//! (on top of the project's test kit).
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::process::{Command, Output};
use std::time::Duration;

pub use reactor_testkit::{output_within, Listening};

/// Path of the binary under test.
pub fn loadgen_bin() -> &'static str {
    env!("CARGO_BIN_EXE_reactor-loadgen")
}

/// Runs the generator with `args`; a run longer than `limit` is killed and fails the test.
pub fn loadgen(args: &[&str], limit: Duration) -> Output {
    output_within(Command::new(loadgen_bin()).args(args), limit)
}

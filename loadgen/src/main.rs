//! `reactor-loadgen`: parse the command line and run it (see the library's documentation).

use std::process::ExitCode;

use clap::Parser;
use reactor_loadgen::cli::Cli;

fn main() -> ExitCode {
    reactor_loadgen::commands::main_with(Cli::parse())
}

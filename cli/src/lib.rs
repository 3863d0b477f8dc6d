//! What every `reactor-*` command line has in common, so the binaries read alike:
//!
//! - [`parse_duration`]: duration flags take `250ms`, `1m30s`, or a bare number of seconds
//!   (`--idle-timeout 30`), the way nginx and curl read them;
//! - [`parse_bytes`], [`byte_size`]: byte-size flags take `65536`, `64KiB`, `8MiB`;
//! - [`parse_count`], [`count`]: count flags take `100`, `10k`, `1.5M`;
//! - [`Generate`]: `--generate man|complete-bash|complete-zsh|complete-fish` writes a man page
//!   or a shell completion script built from the binary's own clap definition (as ripgrep's
//!   `--generate` does), so they can never drift from `--help`;
//! - [`VERSION`]: the crate version and the commit the binary was built from;
//! - [`raise_fd_limit`]: at start-up, the soft open-file limit raised to the hard one;
//! - [`idle_poll`]: `--idle-poll`, idle CPUs kept polling for a measurement (PM QoS).

use std::io::{self, Write};
use std::time::Duration;

use clap::ValueEnum;

pub mod bytes;
pub mod count;
pub mod idle_poll;

pub use bytes::{byte_size, parse_bytes, BYTE_SIZE_FORM};
pub use count::{count, parse_count, COUNT_FORM};

/// The package version every binary carries (the workspace version).
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binaries were built from (short hash), or `unknown` (see `build.rs`).
pub const COMMIT: &str = env!("REACTOR_BUILD_COMMIT");

/// `--version` text: the package version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("REACTOR_BUILD_COMMIT"),
    ")"
);

/// Raises the soft open-file limit to the hard limit: a thousand connections need more
/// descriptors than the usual soft default of 1,024 (children inherit the raised limit).
/// Failure is not fatal: a run that then runs out of descriptors says so.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Parses a duration flag: a bare number is seconds (`30`, `0.5`), anything else goes to
/// humantime (`250ms`, `1m30s`, `2h`). `0` is a valid duration (most flags read it as "off").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !text.is_empty() {
        let secs: f64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a number of seconds (try e.g. 30 or 30s)"))?;
        return Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("{text:?} seconds is out of range"));
    }
    humantime::parse_duration(text).map_err(|e| {
        format!("{e} in {text:?}: give a number of seconds (30) or a value with a unit (30s, 250ms, 1m30s)")
    })
}

/// What `--generate` writes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// A roff man page (`man -l -` reads it).
    Man,
    /// A bash completion script.
    CompleteBash,
    /// A zsh completion script (a `_name` file for a directory on `$fpath`).
    CompleteZsh,
    /// A fish completion script.
    CompleteFish,
}

/// Writes what `what` names for `cmd` (the binary's `clap::CommandFactory::command()`).
pub fn generate(what: Generate, mut cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    match what {
        Generate::Man => clap_mangen::Man::new(cmd).render(out),
        Generate::CompleteBash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name, out);
            Ok(())
        }
        Generate::CompleteZsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, out);
            Ok(())
        }
        Generate::CompleteFish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, out);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn units_go_to_humantime() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn bad_durations_say_how_to_write_them() {
        for bad in ["", "1..2", "abc", "10 parsecs"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("30s"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn every_generated_file_names_the_binary() {
        let cmd = || {
            clap::Command::new("demo-bin")
                .about("demo")
                .arg(clap::Arg::new("flag").long("some-flag"))
        };
        for what in Generate::value_variants() {
            let mut out = Vec::new();
            generate(*what, cmd(), &mut out).expect("generate");
            // roff escapes hyphens.
            let text = String::from_utf8(out).expect("utf-8").replace("\\-", "-");
            assert!(text.contains("demo"), "{what:?}");
            assert!(text.contains("some-flag"), "{what:?}: {text}");
        }
    }

    #[test]
    fn the_version_names_a_commit() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(VERSION.contains("commit "));
    }
}

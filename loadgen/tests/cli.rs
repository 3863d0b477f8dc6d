//! The command line itself: generated man page and completions, `--version`, duration flags.

mod common;

use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

fn loadgen(args: &[&str]) -> Output {
    common::loadgen(args, Duration::from_secs(30))
}

#[test]
fn man_page_and_completions_are_generated_from_the_flags() {
    for (what, needle) in [
        ("man", ".TH reactor-loadgen"),
        ("complete-bash", "--connections"),
        ("complete-zsh", "--connections"),
        ("complete-fish", "connections"),
    ] {
        let out = loadgen(&["--generate", what]);
        assert!(out.status.success(), "{what}: {:?}", out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(needle), "{what} lacks {needle:?}");
    }
}

#[test]
fn version_names_the_commit() {
    let out = loadgen(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(commit "));
}

#[test]
fn a_bare_duration_is_seconds_and_a_bad_one_says_how_to_write_it() {
    // Nothing listens on a port just released: the run fails fast either way; what matters is
    // whether the flag was accepted (exit 1: unreachable) or refused (exit 2: usage).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let target = format!("127.0.0.1:{port}");
    let accepted = loadgen(&["tcp", &target, "-d", "1", "--connect-timeout", "1"]);
    assert_eq!(accepted.status.code(), Some(1), "{accepted:?}");
    let refused = loadgen(&["tcp", &target, "-d", "1 fortnight"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--duration") && stderr.contains("30s"),
        "{stderr}"
    );
}

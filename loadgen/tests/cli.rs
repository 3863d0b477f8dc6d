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

#[test]
fn help_documents_every_exit_status() {
    for args in [
        &["--help"][..],
        &["tcp", "--help"][..],
        &["http", "--help"][..],
    ] {
        let out = loadgen(args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130 "] {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(code)),
                "{args:?}: exit status {code}missing in {text}"
            );
        }
    }
}

#[test]
fn every_subcommand_has_a_man_page() {
    let dir = std::env::temp_dir().join(format!("loadgen-man-{}", std::process::id()));
    let out = loadgen(&["--man-dir", dir.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "reactor-loadgen",
        "reactor-loadgen-tcp",
        "reactor-loadgen-udp",
        "reactor-loadgen-http",
        "reactor-loadgen-merge",
        "reactor-loadgen-probe",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(text.contains(".TH"), "{page}.1 is not a man page");
    }
    let tcp = std::fs::read_to_string(dir.join("reactor-loadgen-tcp.1")).expect("tcp page");
    assert!(
        tcp.contains("connections") && tcp.contains("130"),
        "tcp page lacks its flags or exit codes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

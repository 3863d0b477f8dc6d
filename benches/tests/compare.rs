//! The `compare` driver end to end, with a stand-in load generator (a shell script writing a
//! fixed JSON result) so the test checks the orchestration, not performance: designs start and
//! are stopped, reports are written, and request errors or a design that cannot start make
//! the exit status non-zero.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD: &str = r#"{"requests": 1000, "errors": {"total": 0, "verify": 0}, "rps": 20000.0,
  "valid": true, "verify_failures": 0,
  "latency_us": {"p50": 40, "p90": 50, "p99": 80, "p999": 120, "max": 400}}"#;

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compare-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An executable script that writes `json` to the path after `--json`.
fn fake_loadgen(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join("fake-loadgen");
    let script = format!(
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --json ] && out=\"$2\"; shift; done\n\
         sleep 0.05\ncat > \"$out\" <<'JSON'\n{json}\nJSON\n"
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `compare` on two quick scenarios; returns (exit success, report.md text).
fn compare(dir: &Path, bin_dir: &Path, loadgen: &Path, designs: &str) -> (bool, String) {
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args([
            "--quick",
            "--repeats",
            "2",
            "--duration-ms",
            "50",
            "--warmup-ms",
            "50",
        ])
        .args(["--scenarios", "tcp-64b-1c,http-64c,tcp-64b-64c-open"])
        .args(["--designs", designs])
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--loadgen")
        .arg(loadgen)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run compare");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap_or_default();
    (status.success(), md)
}

fn our_bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_design-threads"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn clean_runs_pass_and_write_every_output() {
    let dir = scratch("pass");
    let loadgen = fake_loadgen(&dir, GOOD);
    let (ok, md) = compare(&dir, &our_bin_dir(), &loadgen, "threads,tokio-current");
    assert!(ok, "compare failed:\n{md}");
    assert!(md.contains("| tokio-current |"), "{md}");
    assert!(md.contains("All designs started"), "{md}");
    assert!(md.contains("open loop at"), "{md}");
    for file in [
        "report.json",
        "throughput.svg",
        "cpu_per_request.svg",
        "latency.svg",
    ] {
        assert!(dir.join("out").join(file).exists(), "{file} written");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["outcome"]["exits"][0][1], 0,
        "design exited 0 on SIGTERM"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn request_errors_fail_the_comparison() {
    let dir = scratch("errors");
    let loadgen = fake_loadgen(&dir, &GOOD.replace(r#""total": 0"#, r#""total": 3"#));
    let (ok, md) = compare(&dir, &our_bin_dir(), &loadgen, "threads");
    assert!(!ok, "errors must fail the run");
    assert!(
        md.contains("9 request errors"),
        "3 per run, warm-up included: {md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_design_that_does_not_start_fails_the_comparison() {
    let dir = scratch("nostart");
    let loadgen = fake_loadgen(&dir, GOOD);
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink("/bin/false", bin_dir.join("design-threads")).unwrap();
    let (ok, md) = compare(&dir, &bin_dir, &loadgen, "threads");
    assert!(!ok, "a design that exits at once must fail the run");
    assert!(md.contains("threads failed to start"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

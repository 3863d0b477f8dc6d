//! The https scenarios end to end: `compare` makes the run's certificate, starts design-tokio
//! and nginx (when installed) with it, drives them with the real generator over TLS, and the
//! report carries the handshake counts; a design presenting another certificate fails its row
//! with the generator's reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compare-https-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The real `reactor-loadgen` and `design-tokio`, built beside `compare` (once).
fn bins() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        let compare = Path::new(env!("CARGO_BIN_EXE_compare"));
        (
            reactor_testkit::sibling_bin(compare, "reactor-loadgen", "reactor-loadgen"),
            reactor_testkit::sibling_bin(compare, "reactor-designs", "design-tokio"),
        )
    })
}

/// design-tokio serving https only, with the certificate `cert` and key `key` (placeholders
/// or paths), as a user's designs file entry named `name`.
fn tokio_https(name: &str, cert: &str, key: &str) -> String {
    format!(
        "[[design]]\nname = \"{name}\"\nabout = \"design-tokio over tokio-rustls\"\n\
         command = [\"{bin}\", \"--flavor\", \"current\", \"--https\", \"{{https}}\", \
         \"--tls-cert\", \"{cert}\", \"--tls-key\", \"{key}\"]\n\
         serves = [\"https\"]\nready = \"listening\"\n",
        bin = bins().1.display()
    )
}

/// The resumed scenario in every profile (the built-in one runs in the full profile only).
const RESUMED_IN_QUICK: &str = r#"
[[scenario]]
id = "https-close-resumed"
title = "HTTPS GET /, a new connection per request with session resumption, 64 in flight"
why = "the cost of a resumed handshake"
proto = "https"
conns = 64
connect_per_request = true
"#;

/// Runs `compare --quick` briefly with `args`, output in `dir/out`; returns its output, the
/// markdown report and the JSON one.
fn compare(dir: &Path, args: &[&str]) -> (Output, String, Value) {
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--quick", "--warmup-ms", "50", "--duration-ms", "200"])
        .args(["--repeats", "2", "--max-outside-load", "100", "--no-perf"])
        .arg("--bin-dir")
        .arg(dir)
        .arg("--loadgen")
        .arg(&bins().0)
        .arg("--out")
        .arg(&out)
        .args(args)
        .output()
        .expect("run compare");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap_or_default();
    let json = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
    (
        output,
        md,
        serde_json::from_str(&json).unwrap_or(Value::Null),
    )
}

/// The summary of `design` in scenario `id` of a report.json.
fn summary<'a>(report: &'a Value, id: &str, design: &str) -> &'a Value {
    let scenario = report["outcome"]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"]["id"] == id)
        .unwrap_or_else(|| panic!("no scenario {id}"));
    let row = scenario["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["design"] == design)
        .unwrap_or_else(|| panic!("no row {design} in {id}"));
    &row["summary"]
}

/// Whether nginx is on the PATH or in an sbin directory (where `compare` looks for it).
fn nginx_installed() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join("nginx").is_file())
}

#[test]
fn https_scenarios_run_against_tokio_and_nginx_with_their_handshakes_counted() {
    let dir = scratch("scenarios");
    let designs = dir.join("tokio.toml");
    std::fs::write(&designs, tokio_https("tok", "{tls_cert}", "{tls_key}")).unwrap();
    let scenarios = dir.join("resumed.toml");
    std::fs::write(&scenarios, RESUMED_IN_QUICK).unwrap();
    let nginx = nginx_installed();
    let mut names = vec!["tok"];
    if nginx {
        names.push("nginx");
    } else {
        eprintln!("nginx is not installed: its rows are not checked (design-tokio's are)");
    }
    let (out, md, report) = compare(
        &dir,
        &[
            "--designs-file",
            &designs.display().to_string(),
            "--scenarios-file",
            &scenarios.display().to_string(),
            "--designs",
            &names.join(","),
            "--scenarios",
            "https-64c,https-close,https-close-resumed",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{md}");
    assert!(md.contains("TLS handshakes full / resumed"), "{md}");
    assert!(md.contains("server CPU µs/req = µs/handshake"), "{md}");
    for design in names {
        for id in ["https-64c", "https-close", "https-close-resumed"] {
            let s = summary(&report, id, design);
            let what = format!("{design} in {id}: {s}");
            assert!(s["requests"].as_u64().unwrap() > 0, "{what}");
            assert_eq!(s["errors"], 0, "{what}");
            let full = s["handshakes"]["full"].as_u64().unwrap();
            let resumed = s["handshakes"]["resumed"].as_u64().unwrap();
            match id {
                "https-close" => assert!(full > 0 && resumed == 0, "{what}"),
                "https-close-resumed" => assert!(resumed > 0, "{what}"),
                _ => assert!(full + resumed > 0, "{what}"),
            }
        }
    }
    assert!(
        !dir.join("out/tls").exists(),
        "the run's key is removed at the end"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_design_presenting_another_certificate_fails_its_row_with_the_reason() {
    let dir = scratch("badcert");
    let other = reactor_testkit::tls::TestCert::generate_in(&dir.join("other"));
    let designs = dir.join("wrong.toml");
    let entry = tokio_https(
        "wrongcert",
        &other.cert_path.display().to_string(),
        &other.key_path.display().to_string(),
    );
    std::fs::write(&designs, entry).unwrap();
    let (out, md, _) = compare(
        &dir,
        &[
            "--designs-file",
            &designs.display().to_string(),
            "--designs",
            "wrongcert",
            "--scenarios",
            "https-64c",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a wrong certificate fails: {md}"
    );
    assert!(
        md.contains("`wrongcert`: warm-up: load generator exited")
            && md.contains("TLS certificate verification failed"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

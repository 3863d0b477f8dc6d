//! design-tokio's `--https` listener, checked by clients that are not ours: curl with the test
//! certificate as its CA gets `Hello, client!` over TLS 1.3 and 1.2, with ALPN `http/1.1`.

use std::process::Command;
use std::time::Duration;

use reactor_testkit::tls::TestCert;
use reactor_testkit::{output_within, Listening};

/// How long one curl may take (a handshake and one request; generous for a loaded machine).
const CURL_LIMIT: Duration = Duration::from_secs(30);
/// How long the design may take to exit after SIGTERM.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn curl_installed() -> bool {
    Command::new("curl").arg("--version").output().is_ok()
}

#[test]
fn curl_gets_hello_over_tls_from_design_tokio() {
    if !curl_installed() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let cert = TestCert::generate("design-tokio-https");
    for flavor in ["current", "multi"] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_design-tokio"));
        cmd.args(["--flavor", flavor, "--https", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(&cert.cert_path)
            .arg("--tls-key")
            .arg(&cert.key_path);
        let mut server = Listening::start(&mut cmd, 1);
        let addr = server.addr("https").expect("a listening https line");
        for version in ["--tlsv1.3", "--tls-max"] {
            let mut curl = Command::new("curl");
            curl.args(["-sS", "--max-time", "20", "-w", "\n%{http_version}"])
                .arg("--cacert")
                .arg(&cert.cert_path);
            match version {
                "--tls-max" => curl.args(["--tls-max", "1.2"]),
                v => curl.arg(v),
            };
            let out = output_within(curl.arg(format!("https://{addr}/")), CURL_LIMIT);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "curl {version} against {flavor}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                text, "Hello, client!\n1.1",
                "curl {version} against {flavor}"
            );
        }
        assert!(
            server.signal_and_wait(libc::SIGTERM, EXIT_TIMEOUT),
            "design-tokio --flavor {flavor} exits 0 on SIGTERM"
        );
    }
}

#[test]
fn a_key_that_is_not_a_key_stops_the_start_with_its_reason() {
    let cert = TestCert::generate("design-tokio-bad-key");
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_design-tokio"))
            .args(["--flavor", "current", "--https", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(&cert.cert_path)
            .arg("--tls-key")
            .arg(&cert.cert_path),
        CURL_LIMIT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "started with a certificate as its key"
    );
    assert!(stderr.contains("holds no private key"), "{stderr}");
}

//! The `compare` binary end to end, driving the real load generator (so a change to the report
//! it writes breaks these tests, not a production run) against small Python servers: designs
//! described only in a user's TOML file start (ready by probing their ports, without
//! `listening` lines), designs that cannot take a scenario get a row saying why, missing peers
//! are one line, bad files name their line, a report missing a required field is refused by
//! name, and baseline verdicts tell a swapped-in costlier server from the same one run twice.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("compare-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The real `reactor-loadgen`, built beside `compare` (once).
fn loadgen() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let compare = Path::new(env!("CARGO_BIN_EXE_compare"));
        reactor_testkit::sibling_bin(compare, "reactor-loadgen", "reactor-loadgen")
    })
}

/// A wrapper around the real generator that edits its report with a Python `edit` of `d`
/// (the parsed JSON) before `compare` reads it.
fn edited_loadgen(dir: &Path, edit: &str) -> PathBuf {
    let path = dir.join("edited-loadgen");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$prev\" = --json ] && out=\"$a\"; prev=\"$a\"; done\n\
         \"{bin}\" \"$@\" || exit $?\n\
         python3 - \"$out\" <<'PY'\nimport json, sys\np = sys.argv[1]\nd = json.load(open(p))\n\
         {edit}\njson.dump(d, open(p, 'w'))\nPY\n",
        bin = loadgen().display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `compare` quickly with `args` and output in `dir/NAME`, without perf counting;
/// returns the output and report.
fn compare(dir: &Path, name: &str, loadgen: &Path, args: &[&str]) -> (Output, String) {
    let mut args = args.to_vec();
    args.push("--no-perf");
    compare_with_perf(dir, name, loadgen, &args)
}

/// [`compare`] with perf counting where perf works; `--repeats` and `--duration-ms` in `args`
/// replace the short defaults.
fn compare_with_perf(dir: &Path, name: &str, loadgen: &Path, args: &[&str]) -> (Output, String) {
    let out = dir.join(name);
    // Outside load only makes repeats not count; these tests check the orchestration and the
    // verdicts' logic on a machine that may be busy, so every repeat counts here.
    let mut all = vec!["--quick", "--warmup-ms", "50", "--max-outside-load", "100"];
    for (flag, default) in [("--repeats", "2"), ("--duration-ms", "50")] {
        if !args.contains(&flag) {
            all.extend([flag, default]);
        }
    }
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(all)
        .arg("--bin-dir")
        .arg(dir)
        .arg("--loadgen")
        .arg(loadgen)
        .arg("--out")
        .arg(&out)
        .args(args)
        .output()
        .expect("run compare");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap_or_default();
    (output, md)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A user's server in ten lines of TOML: the seeds' Python echo server, which prints nothing.
const USER_DESIGN: &str = r#"
[[design]]
name = "mine"
about = "my own echo server, one client at a time"
command = ["python3", "{peers}/seed_echo.py", "{tcp_port}"]
serves = ["tcp"]
max_conns = 1
optional = true
"#;

#[test]
fn a_users_design_runs_without_listening_lines_and_other_rows_say_why_they_were_skipped() {
    let dir = scratch("user");
    let designs = write(
        &dir,
        "mine.toml",
        &format!(
            "{USER_DESIGN}
[[design]]
name = \"ghost\"
about = \"a peer that is not installed\"
command = [\"no-such-server-anywhere\", \"{{http}}\"]
serves = [\"http\"]
optional = true
"
        ),
    );
    let (out, md) = compare_with_perf(
        &dir,
        "out",
        loadgen(),
        &[
            "--designs-file",
            &designs,
            "--designs",
            "mine,ghost",
            "--scenarios",
            "tcp-64b-1c,tcp-64b-64c",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compare failed:\n{stderr}\n{md}");
    assert!(md.contains("(from `"), "the design's source is named: {md}");
    assert!(
        md.contains("| 1 | mine | "),
        "mine measured in tcp-64b-1c: {md}"
    );
    assert!(
        md.contains("| – | mine | skipped: takes at most 1 connection(s) at a time; this scenario keeps 64 open |"),
        "{md}"
    );
    assert!(
        md.contains("- Skipped `ghost`: `no-such-server-anywhere` not found"),
        "{md}"
    );
    assert!(
        md.contains("| syscalls/req | ctx sw/req |")
            || md.contains("System calls and context switches: columns left out:"),
        "perf counts or a note saying why not: {md}"
    );
    assert!(md.contains("| user µs | sys µs |"), "{md}");
    for file in [
        "report.html",
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
    assert_eq!(json["outcome"]["exits"][0][1], 0, "exited 0 on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An echo server that flips the first byte of every echo: the generator's verification fails.
/// It says when it listens (a probe's echo would fail too).
const CORRUPTER: &str = r#"
import socket, sys, signal
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening tcp 127.0.0.1:%s" % sys.argv[1], flush=True)
while True:
    c, _ = s.accept()
    with c:
        try:
            while True:
                d = c.recv(1024)
                if not d:
                    break
                c.sendall(bytes([d[0] ^ 0xff]) + d[1:])
        except ConnectionError:
            pass
"#;

/// Runs the comparison's `tcp-64b-1c` scenario against one design, `mine`: the Python TCP
/// server `script`, written to `dir/NAME.py`; the output and report.
fn python_tcp_design(dir: &Path, name: &str, script: &str) -> (Output, String) {
    write(dir, &format!("{name}.py"), script);
    let designs = write(
        dir,
        "mine.toml",
        &format!(
            "[[design]]\nname = \"mine\"\nabout = \"{name}\"\n\
             command = [\"python3\", \"{{designs_dir}}/{name}.py\", \"{{tcp_port}}\"]\n\
             serves = [\"tcp\"]\n"
        ),
    );
    let args = [
        "--designs-file",
        &designs,
        "--designs",
        "mine",
        "--scenarios",
        "tcp-64b-1c",
    ];
    compare(dir, name, loadgen(), &args)
}

/// A server that accepts connections and reads, but never answers.
const SILENT: &str = r#"
import socket, sys, signal, threading
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening tcp 127.0.0.1:%s" % sys.argv[1], flush=True)
def drain(c):
    with c:
        while c.recv(4096):
            pass
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
"#;

/// A run in which nothing was answered and nothing failed is an invalid run (a short run on a
/// busy machine can end before the first answer), retried and kept out of the figures; but a
/// design none of whose runs is ever answered still fails the comparison.
#[test]
fn a_design_that_never_answers_fails_though_each_silent_run_is_only_invalid() {
    let dir = scratch("silent");
    let (out, md) = python_tcp_design(&dir, "silent", SILENT);
    assert_eq!(out.status.code(), Some(1), "never answering fails: {md}");
    assert!(md.contains("no run completed a request"), "{md}");
    assert!(md.contains("nothing was answered within the run"), "{md}");
    assert!(
        !md.contains("load generator exited with"),
        "a silent run is an invalid run, not a generator failure: {md}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unverified_echoes_and_designs_that_cannot_start_fail_the_run() {
    let dir = scratch("fail");
    let (out, md) = python_tcp_design(&dir, "corrupter", CORRUPTER);
    assert_eq!(out.status.code(), Some(1), "bad echoes fail the run: {md}");
    assert!(md.contains("verification failed"), "{md}");
    let broken = write(
        &dir,
        "broken.toml",
        "[[design]]\nname = \"broken\"\nabout = \"exits at once\"\ncommand = [\"false\", \"{tcp}\"]\nserves = [\"tcp\"]\n",
    );
    let (out, md) = compare(
        &dir,
        "nostart",
        loadgen(),
        &[
            "--designs-file",
            &broken,
            "--designs",
            "broken",
            "--scenarios",
            "tcp-64b-1c",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a design that exits at once fails the run"
    );
    assert!(md.contains("broken failed to start: exited with"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_missing_a_required_field_is_refused_by_name_not_read_as_valid() {
    let dir = scratch("schema");
    let designs = write(&dir, "mine.toml", USER_DESIGN);
    let args = [
        "--designs-file",
        &designs,
        "--designs",
        "mine",
        "--scenarios",
        "tcp-64b-1c",
    ];
    let cases = [
        ("del d['valid']", "field `valid`"),
        ("del d['latency_us']['p99']", "field `latency_us.p99`"),
        ("d['schema_version'] = 99", "unknown schema_version 99"),
    ];
    for (i, (edit, expected)) in cases.into_iter().enumerate() {
        let edited = edited_loadgen(&dir, edit);
        let (out, md) = compare(&dir, &format!("out{i}"), &edited, &args);
        assert_eq!(out.status.code(), Some(1), "{edit}: {md}");
        assert!(md.contains(expected), "{edit}: {md}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_files_are_refused_with_their_line() {
    let dir = scratch("badfile");
    let loadgen = loadgen();
    let bad = write(
        &dir,
        "bad.toml",
        "[[design]]\nname = \"x\"\nabout = \"y\"\ncommand = [\"srv\", \"--port\", \"{tcp_prot}\"]\nserves = [\"tcp\"]\n",
    );
    let (out, _) = compare(&dir, "out", loadgen, &["--designs-file", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:4:"), "names the line: {stderr}");
    assert!(
        stderr.contains("unknown placeholder {tcp_prot}"),
        "{stderr}"
    );
    let bad = write(
        &dir,
        "bad-scenarios.toml",
        "[[scenario]]\nid = \"s\"\ntitle = \"t\"\nproto = \"tcp\"\nconns = 0\n",
    );
    let (out, _) = compare(&dir, "out", loadgen, &["--scenarios-file", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad-scenarios.toml:5:"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A threaded echo server (a lingering connection blocks nobody); with a second argument, a
/// thread that burns CPU all along: a costlier build of "reactor".
const ECHO: &str = r#"
import socketserver, sys, signal, threading
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while True:
                d = self.request.recv(1024)
                if not d:
                    return
                self.request.sendall(d)
        except ConnectionError:
            pass
def burn():
    x = 0
    while True:
        x += 1
if len(sys.argv) > 2:
    threading.Thread(target=burn, daemon=True).start()
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
with socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Echo) as s:
    s.serve_forever()
"#;

#[test]
fn a_costlier_server_under_the_same_name_is_a_regression_and_the_same_one_is_same() {
    let dir = scratch("baseline");
    write(&dir, "echo.py", ECHO);
    let design = |cmd: &str| {
        format!("[[design]]\nname = \"reactor\"\nabout = \"swapped\"\ncommand = [{cmd}]\nserves = [\"tcp\"]\n")
    };
    let idle = write(
        &dir,
        "idle.toml",
        &design(r#""python3", "{designs_dir}/echo.py", "{tcp_port}""#),
    );
    let busy = write(
        &dir,
        "busy.toml",
        &design(r#""python3", "{designs_dir}/echo.py", "{tcp_port}", "burn""#),
    );
    // Five repeats, so that the rank test can reach its 1% (three never can: 1/20 at best);
    // runs long enough for the server's CPU time (counted in clock ticks) to be more than a
    // few ticks; verdicts from CPU per request alone (p99 moves with the machine's phases
    // between two runs, which a test on a shared machine cannot control); and a threshold
    // wide enough that those phases are not a change in CPU either, while the burner (a whole
    // core, and the GIL taken from the echo loop) costs many times more per request.
    let common = [
        "--gate",
        "cpu",
        "--designs",
        "reactor",
        "--scenarios",
        "tcp-64b-1c",
        "--repeats",
        "5",
        "--duration-ms",
        "200",
        "--threshold",
        "100",
    ];
    let run = |name: &str, file: &str, extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend(["--designs-file", file]);
        args.extend(extra);
        compare(&dir, name, loadgen(), &args)
    };
    let (out, md) = run("old", &idle, &[]);
    assert!(out.status.success(), "baseline run: {md}");
    let old = dir.join("old/report.json").display().to_string();

    let (out, md) = run("same", &idle, &["--baseline", &old, "--fail-on-regression"]);
    assert!(out.status.success(), "the same server twice passes: {md}");
    assert!(md.contains("| tcp-64b-1c | reactor |"), "{md}");
    assert!(!md.contains("| **regression** |"), "{md}");

    let (out, md) = run(
        "slower",
        &busy,
        &["--baseline", &old, "--fail-on-regression"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a regression fails with --fail-on-regression: {md}"
    );
    assert!(md.contains("| **regression** |"), "{md}");
    let (out, _) = run("slower-ok", &busy, &["--baseline", &old]);
    assert!(
        out.status.success(),
        "without --fail-on-regression a regression is reported only"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_baseline_build_runs_beside_the_design_and_each_repeat_is_paired() {
    let dir = scratch("paired");
    write(&dir, "echo.py", ECHO);
    std::fs::create_dir_all(dir.join("base")).unwrap();
    // The baseline build's server burns a core whatever it serves.
    write(
        &dir.join("base"),
        "echo.py",
        &ECHO.replace("if len(sys.argv) > 2:", "if True:"),
    );
    let file = write(
        &dir,
        "mine.toml",
        "[[design]]\nname = \"mine\"\nabout = \"threaded echo\"\n\
         command = [\"python3\", \"{bin_dir}/echo.py\", \"{tcp_port}\"]\nserves = [\"tcp\"]\n",
    );
    // `bin` is the build under test (compare's --bin-dir), `base` the baseline build.
    let run = |name: &str, bin: &Path, base: &Path| {
        let base = base.display().to_string();
        compare(
            bin,
            name,
            loadgen(),
            &[
                "--designs-file",
                &file,
                "--designs",
                "mine",
                "--scenarios",
                "tcp-64b-1c",
                "--gate",
                "cpu",
                "--duration-ms",
                "200",
                "--repeats",
                "9",
                "--baseline-build",
                &base,
                "--fail-on-regression",
            ],
        )
    };
    // The baseline burns: this build is an improvement, in every one of nine pairs.
    let (out, md) = run("better", &dir, &dir.join("base"));
    assert!(out.status.success(), "{md}");
    assert!(md.contains("| tcp-64b-1c | mine@baseline |"), "{md}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("better/report.json")).unwrap()).unwrap();
    let row = &json["baseline"]["rows"][0];
    assert_eq!(json["baseline"]["paired"], true, "{json}");
    assert_eq!(row["design"], "mine", "{json}");
    assert_eq!(row["cpu"]["verdict"], "improvement", "{md}");
    assert_eq!(row["cpu"]["new"]["n"], 9, "{md}");

    // The other way round (the burning one is the build under test) fails the run.
    let (out, md) = run("worse", &dir.join("base"), &dir);
    assert_eq!(out.status.code(), Some(3), "{md}");
    assert!(md.contains("| **regression** |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A user's asyncio echo server as one would write it: no signal handler, so SIGTERM ends it
/// by the signal, with no exit status.
const ASYNCIO_ECHO: &str = r#"
import asyncio, sys

async def echo(reader, writer):
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()

async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

#[test]
fn a_users_python_server_runs_end_to_end_and_stopping_it_is_fine_unless_it_asks_for_exit_0() {
    let dir = scratch("asyncio");
    write(&dir, "echo_asyncio.py", ASYNCIO_ECHO);
    let design = |extra: &str| {
        format!(
            "[[design]]\nname = \"py-asyncio\"\nabout = \"asyncio echo\"\n\
             command = [\"python3\", \"{{designs_dir}}/echo_asyncio.py\", \"{{tcp_port}}\"]\n\
             serves = [\"tcp\"]\n{extra}"
        )
    };
    let args = |file: &str| {
        [
            "--designs-file".to_string(),
            file.to_string(),
            "--designs".into(),
            "py-asyncio".into(),
            "--scenarios".into(),
            "tcp-64b-1c,tcp-64b-64c".into(),
        ]
    };
    let file = write(&dir, "mine.toml", &design(""));
    let a = args(&file);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, md) = compare(&dir, "default", loadgen(), &a);
    assert!(out.status.success(), "{md}");
    for scenario in ["tcp-64b-1c", "tcp-64b-64c"] {
        assert!(md.contains(&format!("`{scenario}`")), "{md}");
    }
    assert_eq!(md.matches("| 1 | py-asyncio | ").count(), 2, "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("default/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["outcome"]["exits"][0],
        serde_json::json!(["py-asyncio", null]),
        "ended by SIGTERM itself"
    );
    // The same server held to this project's contract fails it, saying why.
    let strict = write(&dir, "strict.toml", &design("clean_exit = \"zero\"\n"));
    let a = args(&strict);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, md) = compare(&dir, "strict", loadgen(), &a);
    assert_eq!(out.status.code(), Some(1), "{md}");
    assert!(
        md.contains("py-asyncio did not stop cleanly on SIGTERM (ended by signal 15"),
        "{md}"
    );
    // And asked to stop with SIGINT, asyncio.run ends... with a traceback and status 1:
    // stopped is still fine.
    let int = write(&dir, "int.toml", &design("stop_signal = \"SIGINT\"\n"));
    let a = args(&int);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, md) = compare(&dir, "int", loadgen(), &a);
    assert!(out.status.success(), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `dir/NAME.json`'s `started_unix_s`, the generator's own record of when a run began.
fn started(dir: &Path, name: &str) -> f64 {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["started_unix_s"].as_f64().unwrap()
}

#[test]
fn designs_take_turns_within_each_repeat() {
    let dir = scratch("interleave");
    write(&dir, "echo.py", ECHO);
    let entry = |name: &str| {
        format!(
            "[[design]]\nname = \"{name}\"\nabout = \"threaded echo\"\n\
             command = [\"python3\", \"{{designs_dir}}/echo.py\", \"{{tcp_port}}\"]\n\
             serves = [\"tcp\"]\n"
        )
    };
    let file = write(&dir, "two.toml", &(entry("one") + &entry("two")));
    let (out, md) = compare(
        &dir,
        "out",
        loadgen(),
        &[
            "--designs-file",
            &file,
            "--designs",
            "one,two",
            "--scenarios",
            "tcp-64b-1c",
            "--repeats",
            "2",
        ],
    );
    assert!(out.status.success(), "{md}");
    let runs = dir.join("out/runs/tcp-64b-1c");
    let order = [
        "one-warmup",
        "two-warmup",
        "one-0",
        "two-0",
        "two-1",
        "one-1",
    ];
    let times: Vec<f64> = order.iter().map(|n| started(&runs, n)).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "runs in the order {order:?}: {times:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_runs_are_retried_a_bounded_number_of_times_and_never_enter_a_figure() {
    let dir = scratch("invalid");
    write(&dir, "echo.py", ECHO);
    let designs = write(
        &dir,
        "mine.toml",
        "[[design]]\nname = \"mine\"\nabout = \"threaded echo\"\n\
         command = [\"python3\", \"{designs_dir}/echo.py\", \"{tcp_port}\"]\nserves = [\"tcp\"]\n",
    );
    let args = [
        "--designs-file",
        &designs,
        "--designs",
        "mine",
        "--scenarios",
        "tcp-64b-1c",
        "--repeats",
        "3",
    ];
    let row = |name: &str| {
        let text = std::fs::read_to_string(dir.join(name).join("report.json")).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc["outcome"]["scenarios"][0]["rows"][0].clone()
    };
    // The first try of repeat 1 is marked invalid (with a latency no valid run has): retried once.
    let once = edited_loadgen(
        &dir,
        "if p.endswith('mine-1.json'):\n    d['valid'] = False\n    \
         d['invalid_reasons'] = ['marked by the test']\n    d['latency_us']['p99'] = 1e9",
    );
    let (out, md) = compare(&dir, "once", &once, &args);
    assert!(out.status.success(), "{md}");
    let r = row("once");
    assert_eq!(r["samples"].as_array().map(Vec::len), Some(4), "{r}");
    assert_eq!(r["summary"]["invalid_runs"], 1, "{r}");
    assert_eq!(r["summary"]["valid_runs"], 3, "{r}");
    assert!(
        r["summary"]["latency_us"]["p99"].as_f64().unwrap() < 1e9,
        "{r}"
    );
    assert!(md.contains("| 3/4 |"), "valid runs counted: {md}");
    assert!(md.contains("marked by the test"), "{md}");
    // Every run invalid: two retries in all, then no figure at all, and the charts say so.
    let always = edited_loadgen(&dir, "d['valid'] = False");
    let (out, md) = compare(&dir, "always", &always, &args);
    assert!(out.status.success(), "invalid runs are not errors: {md}");
    let r = row("always");
    assert_eq!(r["samples"].as_array().map(Vec::len), Some(5), "{r}");
    assert_eq!(r["summary"]["valid_runs"], 0, "{r}");
    assert!(r["summary"]["rps"]["median"].is_null(), "{r}");
    assert!(md.contains("no valid run"), "{md}");
    let chart = std::fs::read_to_string(dir.join("always/throughput.svg")).unwrap();
    assert!(chart.contains("left out: 5 invalid"), "{chart}");
    let _ = std::fs::remove_dir_all(&dir);
}

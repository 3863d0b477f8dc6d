//! The commands of the `reactor-loadgen` binary: run a load (and its `--find-max` search),
//! `merge` interval logs, `probe` the machine; each ends in an exit status.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::CommandFactory;
use reactor_cli::idle_poll;
use serde_json::{json, Value};

use crate::cli::{Cli, Command, MergeArgs, ProbeArgs, RunArgs, Switch};
use crate::run::{HttpOptions, RunConfig, RunResult, Workload};
use crate::tls::TlsOptions;
use crate::{cli, findmax, hdrlog, interrupt, probe, progress, report, run, units, validate};

/// Exit status: the target could not be reached or the run could not be made.
const EXIT_FAILED: u8 = 1;
/// Exit status: the command line is wrong (clap uses it for what it refuses itself).
const EXIT_USAGE: u8 = 2;
/// Exit status: a response differed from what was sent.
const EXIT_VERIFY: u8 = 3;
/// Exit status: the error rate passed --max-error-rate.
const EXIT_ERROR_RATE: u8 = 4;
/// Exit status: the self-check marked the run invalid and --strict was given.
const EXIT_INVALID: u8 = 5;

/// Run the command `cli` names; the process exit status.
pub fn main_with(cli: Cli) -> ExitCode {
    reactor_cli::raise_fd_limit();
    if let Some(dir) = &cli.man_dir {
        return man_pages(dir);
    }
    let command = match (cli.generate, cli.command) {
        (Some(what), _) => return generate(what),
        (None, Some(command)) => command,
        (None, None) => {
            // arg_required_else_help answers a bare invocation; anything else names a command.
            eprintln!("reactor-loadgen: a command is needed (see --help)");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Tcp(args) => load(Workload::Tcp, args, HttpOptions::default()),
        Command::Udp(args) => load(Workload::Udp, args, HttpOptions::default()),
        Command::Http(h) => {
            let opts = HttpOptions {
                method: h.method,
                headers: h.headers,
                body: h.body,
                tls: TlsOptions {
                    cacert: h.cacert,
                    insecure: h.insecure,
                    resume: h.tls_resume == Switch::On,
                },
            };
            load(Workload::Http, h.run, opts)
        }
        Command::Merge(m) => merge(&m),
        Command::Probe(p) => probe(&p).map(|()| Ok(())),
    };
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err((code, reason))) => {
            eprintln!("reactor-loadgen: {reason}");
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("reactor-loadgen: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `--generate`: the man page or a completion script, from the flags' own definitions.
fn generate(what: reactor_cli::Generate) -> ExitCode {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let written = reactor_cli::generate(what, Cli::command(), &mut out).and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reactor-loadgen: cannot write the generated file: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `--man-dir`: a man page for the command and one for each subcommand, from the flags' own
/// definitions.
fn man_pages(dir: &Path) -> ExitCode {
    let written =
        std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "reactor-loadgen: cannot write man pages to {}: {e}",
                dir.display()
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// A failed check: exit status and one-line reason.
type Failure = (u8, String);

/// The run as configured; the flags were checked by [`validate::run_args`] before.
fn config_from(workload: Workload, a: &RunArgs, http: HttpOptions) -> Result<RunConfig> {
    if a.connect_per_request && a.pipeline != 1 {
        anyhow::bail!("--connect-per-request carries one request per connection: use --pipeline 1");
    }
    if a.connect_per_request && workload == Workload::Udp {
        anyhow::bail!("--connect-per-request is for the stream workloads (tcp, http)");
    }
    let mut http = http;
    let https = a.target.starts_with("https://");
    if !https && (http.tls.cacert.is_some() || http.tls.insecure) {
        anyhow::bail!("--cacert and --insecure are for https:// targets");
    }
    if a.connect_per_request && workload == Workload::Http {
        http.headers.push("Connection: close".to_string());
    }
    if a.threads > a.connections {
        eprintln!(
            "reactor-loadgen: note: {} for {}: using {} (a thread without a \
             connection has nothing to do)",
            units::count(a.threads, "thread"),
            units::count(a.connections, "connection"),
            units::count(a.connections, "thread")
        );
    }
    let duration = match (a.duration, a.requests) {
        (Some(d), _) => Some(d.into()),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(if a.find_max { 5 } else { 10 })),
    };
    Ok(RunConfig {
        workload,
        target: a.target.clone(),
        connections: a.connections,
        threads: a.threads.min(a.connections),
        pipeline: a.pipeline,
        connect_per_request: a.connect_per_request,
        duration,
        warmup: a.warmup.into(),
        requests: a.requests,
        timeout: a.timeout.into(),
        connect_timeout: a.connect_timeout.into(),
        size: a.size,
        rate: a.rate,
        arrival: a.arrival,
        start_at: a.start_at,
        http,
        progress: progress::stderr_wants_progress(data_on_stdout(a)),
        max_lateness: a.max_lateness.into(),
        idle_poll: a.idle_poll,
    })
}

fn load(workload: Workload, args: RunArgs, http: HttpOptions) -> Result<Result<(), Failure>> {
    if let Err(e) = validate::run_args(workload, &args, &http) {
        return Ok(Err((EXIT_USAGE, e.to_string())));
    }
    interrupt::install();
    let mut config = match config_from(workload, &args, http) {
        Ok(c) => c,
        Err(e) => return Ok(Err((EXIT_USAGE, format!("{e:#}")))),
    };
    let _idle_poll = idle_poll::hold_if(args.idle_poll).context("--idle-poll")?;
    config.idle_poll = idle_poll::in_force();
    let max_error_rate = args.max_error_rate.unwrap_or(1.0);
    let (result, extra) = if args.find_max {
        let Some(slo) = args.slo else {
            anyhow::bail!("--find-max needs --slo, e.g. --slo p99=1ms");
        };
        let search = findmax::search(&config, slo, max_error_rate)?;
        let curve = findmax::to_json(&search, slo);
        if let Some(g) = search.generator_limit {
            let advice = if g.cpu_share >= 0.9 {
                "it is out of CPU; add threads (-t) or generators"
            } else {
                "it had CPU to spare but could not keep its schedule (woken late or preempted: \
                 a neighbour on its core, or the machine's wake-up latency)"
            };
            println!(
                "find-max: limited by the generator at {:.0} req/s offered (CPU {:.0}% of its {}): \
                 {advice}; the server's limit was not reached",
                g.rate,
                g.cpu_share * 100.0,
                units::count(config.threads, "thread")
            );
            if let Some((rate, _)) = &search.best {
                println!(
                    "find-max: {rate:.0} req/s met {} (a lower bound for the server, not its limit)",
                    describe_slo(slo)
                );
            }
        }
        match search.best {
            Some((rate, r)) => {
                if search.generator_limit.is_none() {
                    println!(
                        "find-max: highest rate meeting {args_slo}: {rate:.0} req/s (server-side)",
                        args_slo = describe_slo(slo)
                    );
                }
                match search.server_limit {
                    Some(failed) if search.generator_limit.is_none() => println!(
                        "find-max: the server is the limit: it did not meet {} at {failed:.0} \
                         req/s",
                        describe_slo(slo)
                    ),
                    None if search.generator_limit.is_none() => println!(
                        "find-max: no offered rate failed: the server's limit was not reached"
                    ),
                    _ => {}
                }
                (r, Some(curve))
            }
            None => {
                if let Some(path) = &args.json {
                    write_json(
                        path,
                        &json!({"schema": "reactor-loadgen", "schema_version": report::SCHEMA_VERSION, "find_max": curve}),
                    )?;
                }
                let why = if search.generator_limit.is_some() {
                    "limited by the generator before any rate".to_string()
                } else {
                    "no offered rate".to_string()
                };
                return Ok(Err((
                    EXIT_FAILED,
                    format!("{why} met {}", describe_slo(slo)),
                )));
            }
        }
    } else {
        (run::run_once(&config)?, None)
    };
    let checked = report::self_check(&result);
    let summary = report::summary(&result, &checked);
    if data_on_stdout(&args) {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    if let Some(path) = &args.json {
        let mut doc = report::to_json(&result, &checked);
        if let Some(curve) = extra {
            doc["find_max"] = curve;
        }
        write_json(path, &doc)?;
    }
    if let Some(path) = &args.hdr_log {
        let tag = args.tag.clone().unwrap_or_else(hdrlog::host_name);
        hdrlog::write_run(path, &result, &tag)?;
    }
    Ok(check(&result, &checked, max_error_rate))
}

fn describe_slo(slo: cli::Slo) -> String {
    format!(
        "p{}<={}",
        slo.quantile * 100.0,
        units::format_ns(slo.limit_ns)
    )
}

/// Decide the exit status of a finished run.
fn check(r: &RunResult, v: &report::SelfCheck, max_error_rate: f64) -> Result<(), Failure> {
    if r.interrupted {
        return Err((
            interrupt::EXIT_INTERRUPTED,
            "interrupted: the summary and reports are of what was measured until Ctrl-C".into(),
        ));
    }
    let c = &r.total.counters;
    let first = r
        .first_error
        .as_deref()
        .unwrap_or("no error was seen: nothing was answered in the measured time");
    if c.errors.verify > 0 {
        return Err((
            EXIT_VERIFY,
            format!(
                "verification failed: {} response(s) differed from what was sent (first: {first})",
                c.errors.verify
            ),
        ));
    }
    if r.config.workload == Workload::Udp && c.udp.received == 0 {
        return Err((
            EXIT_FAILED,
            format!("no UDP echo came back from {} ({first})", r.config.target),
        ));
    }
    if c.requests == 0 {
        let cause = match r.conntrack.filter(|t| t.nearly_full()) {
            Some(table) => table.explain(),
            None => first.to_owned(),
        };
        return Err((
            EXIT_FAILED,
            format!("no request completed against {} ({cause})", r.config.target),
        ));
    }
    let rate = report::error_rate(r);
    if rate > max_error_rate {
        return Err((
            EXIT_ERROR_RATE,
            format!(
                "error rate {:.2}% exceeds --max-error-rate {:.2}% (first error: {first})",
                rate * 100.0,
                max_error_rate * 100.0
            ),
        ));
    }
    if !v.valid {
        return Err((
            EXIT_INVALID,
            format!("run invalid: {}", v.reasons.join("; ")),
        ));
    }
    Ok(())
}

/// `-` as an output path: the document goes to stdout (and the summary to stderr).
fn is_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p == Path::new("-"))
}

/// `--json -` or `--hdr-log -`: stdout carries a document, so people's text goes elsewhere.
fn data_on_stdout(a: &RunArgs) -> bool {
    is_stdout(a.json.as_deref()) || is_stdout(a.hdr_log.as_deref())
}

fn write_json(path: &Path, doc: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(doc)?;
    if is_stdout(Some(path)) {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .context("cannot write the JSON document to stdout");
    }
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

fn merge(m: &MergeArgs) -> Result<Result<(), Failure>> {
    let (json, log) = (m.json.as_deref(), m.output.as_deref());
    if is_stdout(json) && is_stdout(log) {
        let usage = "only one of --json and -o can be `-` (stdout)".to_owned();
        return Ok(Err((EXIT_USAGE, usage)));
    }
    let (total, intervals) = hdrlog::merge_logs(&m.logs)?;
    let mut text = format!(
        "merged {} from {}: {}\n",
        units::count(intervals, "interval histogram"),
        units::count(m.logs.len(), "log"),
        units::count(usize::try_from(total.len()).unwrap_or(usize::MAX), "sample")
    );
    if !total.is_empty() {
        text += &units::percentile_row("latency", &total);
    }
    if is_stdout(json) || is_stdout(log) {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(path) = &m.output {
        hdrlog::write_single(path, &total, intervals)?;
    }
    if let Some(path) = &m.json {
        let doc = json!({
            "schema": "reactor-loadgen-merge",
            "schema_version": report::SCHEMA_VERSION,
            "logs": m.logs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "intervals": intervals,
            "count": total.len(),
            "latency_us": report::percentiles_us(&total),
        });
        write_json(path, &doc)?;
    }
    Ok(Ok(()))
}

fn probe(p: &ProbeArgs) -> Result<()> {
    let _idle_poll = idle_poll::hold_if(p.idle_poll).context("--idle-poll")?;
    let result = probe::run(p.duration.into(), idle_poll::in_force());
    if is_stdout(p.json.as_deref()) {
        eprint!("{}", probe::summary(&result));
    } else {
        print!("{}", probe::summary(&result));
    }
    if let Some(path) = &p.json {
        write_json(path, &probe::to_json(&result))?;
    }
    Ok(())
}

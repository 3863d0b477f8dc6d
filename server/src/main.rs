//! `reactor-server` command line: parse flags, bind, print the bound addresses, run the
//! reactor thread(s), print a summary.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use reactor_server::config::{parse_listen_addr, Config};
use reactor_server::listeners::{bind_all, BoundAddrs};
use reactor_server::metrics::Metrics;
use reactor_server::reactor::{Reactor, ReactorConfig};
use reactor_server::signals::HeldShutdownSignals;
use reactor_server::stats::Stats;
use reactor_server::{health, logging};

fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(what) = config.generate {
        return generate(what);
    }
    logging::init(config.log_format);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reactor-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<()> {
    if let Some(target) = &config.health_check {
        let addr = parse_listen_addr(target, config.host).with_context(|| {
            format!(
                "invalid --health-check address {target:?}: expected HOST:PORT, \
                     [IPv6]:PORT or PORT, e.g. 127.0.0.1:8080"
            )
        })?;
        return health::check(addr);
    }
    let plan = config.listen_plan()?;
    let held = HeldShutdownSignals::hold(plan.https.is_some())
        .context("cannot block signals during start-up")?;
    let threads = usize::from(config.threads);
    let (socket_sets, bound) = bind_all(&plan, threads, config.backlog)?;
    raise_descriptor_limit(config.max_conns);
    let tls = load_tls(&config, plan.https.is_some())?;
    let reactor_config = ReactorConfig::from_flags(&config, tls);
    let metrics = Arc::new(Metrics::new(threads));
    let mut reactors = Vec::with_capacity(threads);
    for (i, sockets) in socket_sets.into_iter().enumerate() {
        let name = format!("reactor-{i}");
        let reactor = Reactor::new(sockets, reactor_config.clone(), name, metrics.clone(), i)
            .context("cannot set up the event loop")?;
        reactors.push(reactor);
    }
    // Every reactor's handler is installed: a signal held meanwhile reaches them all now.
    drop(held);
    // Only now is the server ready: a SIGTERM sent as soon as these lines appear must drain
    // gracefully, not hit the default action.
    announce(&bound)?;
    let total = run_reactors(reactors)?;
    println!("summary {total}");
    Ok(())
}

/// With `--https`: the certificate and key, read before anything is served, so a missing,
/// unreadable or mismatched file stops the start-up with a message naming it.
fn load_tls(config: &Config, https: bool) -> Result<Option<Arc<rustls::ServerConfig>>> {
    if !https {
        if config.tls_cert.is_some() || config.tls_key.is_some() {
            log::warn!("--tls-cert and --tls-key are unused without --https");
        }
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        anyhow::bail!(
            "--https needs --tls-cert PEM and --tls-key PEM (or REACTOR_TLS_CERT and \
             REACTOR_TLS_KEY): a certificate chain and its private key in PEM files"
        );
    };
    Ok(Some(reactor_server::tls::config::load(cert, key)?))
}

/// `--generate`: the man page or a completion script, from the flags' own definitions.
fn generate(what: reactor_cli::Generate) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match reactor_cli::generate(what, Config::command(), &mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reactor-server: error: cannot write the generated file: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every reactor (the last on this thread) and sums their counters.
fn run_reactors(mut reactors: Vec<Reactor>) -> Result<Stats> {
    let last = reactors.pop().context("no reactor to run")?;
    let handles: Vec<_> = reactors
        .into_iter()
        .enumerate()
        .map(|(i, reactor)| {
            std::thread::Builder::new()
                .name(format!("reactor-{i}"))
                .spawn(move || reactor.run())
        })
        .collect::<std::io::Result<_>>()
        .context("cannot start reactor thread")?;
    let mut total = last.run().context("event loop failed")?;
    for handle in handles {
        let stats = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a reactor thread panicked"))?
            .context("event loop failed")?;
        total.add(&stats);
    }
    Ok(total)
}

/// Prints one `listening <proto> <addr>` line per bound socket, so scripts and tests learn the
/// ports without guessing or sleeping.
fn announce(bound: &BoundAddrs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let sockets = [
        ("tcp", bound.tcp),
        ("udp", bound.udp),
        ("http", bound.http),
        ("https", bound.https),
        ("metrics", bound.metrics),
    ];
    for (proto, addr) in sockets {
        if let Some(addr) = addr {
            writeln!(out, "listening {proto} {addr}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Lifts the soft descriptor limit to the hard one, so `--max-conns` is not silently capped
/// by a low default; warns when the limit is still below what `--max-conns` allows.
fn raise_descriptor_limit(max_conns: u32) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < u64::from(max_conns) => log::warn!(
            "descriptor limit {limit} is below --max-conns {max_conns}: past it, accepting \
             pauses and retries instead of shedding connections"
        ),
        Ok(_) => {}
        Err(e) => log::warn!("cannot read the descriptor limit: {e}"),
    }
}

//! Every input checked at start-up, after parsing and before anything is allocated or
//! connected (ripgrep's split: flags parsed, then validated as a whole). A failure is a
//! usage error: exit status 2 and one line saying what is wrong and what is allowed.
//!
//! Checks are against what the machine allows (open-file limit, CPUs) and what the protocol
//! grammar allows (HTTP method and header tokens, no CR/LF that would inject a second request),
//! so an absurd input is refused instead of aborting on an allocation, eating the machine or
//! being sent as given.

use std::time::Duration;

use thiserror::Error;

use crate::cli::{RunArgs, SizeSpec};
use crate::run::{HttpOptions, Workload};

/// Largest message of the stream workloads: far above any echo test, far below a failed
/// allocation.
pub const MAX_STREAM_SIZE: usize = 64 << 20;
/// Largest datagram payload (IPv4 UDP).
pub const MAX_DATAGRAM_SIZE: usize = 65_507;
/// Most memory the send buffers of all connections may need together.
const MAX_BUFFERED: u128 = 2 << 30;
/// Threads per CPU beyond which more threads only contend.
const THREADS_PER_CPU: usize = 4;
/// File descriptors the process needs besides its connections (epoll, timers, stdio, ...).
const SPARE_FDS: u64 = 64;

/// An input that cannot make a run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InputError(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, InputError> {
    Err(InputError(why.into()))
}

/// Check a run's flags as a whole.
pub fn run_args(workload: Workload, a: &RunArgs, http: &HttpOptions) -> Result<(), InputError> {
    counts(a)?;
    durations(a)?;
    size(workload, a.size, a)?;
    if let Some(rate) = a.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return refuse(format!("--rate must be a positive number, got {rate}"));
        }
    }
    if let Some(at) = a.start_at {
        if !(at.is_finite() && at >= 0.0) {
            return refuse(format!(
                "--start-at must be a Unix time in seconds (finite, not negative), got {at}"
            ));
        }
    }
    if workload == Workload::Http {
        http_request(&a.target, http)?;
    }
    let stdout = Some(std::path::Path::new("-"));
    let (json, hdr_log) = (a.json.as_deref() == stdout, a.hdr_log.as_deref() == stdout);
    if a.find_max && (json || hdr_log) {
        return refuse(
            "--json - and --hdr-log - cannot go with --find-max, which prints its steps on stdout",
        );
    }
    if json && hdr_log {
        return refuse("only one of --json and --hdr-log can be `-` (stdout)");
    }
    Ok(())
}

fn counts(a: &RunArgs) -> Result<(), InputError> {
    for (flag, n) in [
        ("--connections", a.connections),
        ("--threads", a.threads),
        ("--pipeline", a.pipeline),
    ] {
        if n == 0 {
            return refuse(format!("{flag} must be at least 1"));
        }
    }
    if a.requests == Some(0) {
        return refuse("--requests must be at least 1");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.threads > THREADS_PER_CPU * cpus {
        return refuse(format!(
            "--threads {} is more than {THREADS_PER_CPU} per CPU ({cpus} CPUs): more threads \
             only contend; use at most {}",
            a.threads,
            THREADS_PER_CPU * cpus
        ));
    }
    let limit = open_file_limit();
    let needed = a.connections as u64 + SPARE_FDS;
    if needed > limit {
        return refuse(format!(
            "--connections {} needs about {needed} file descriptors and the open-file limit is \
             {limit} (raise it with `ulimit -n`, or use fewer connections)",
            a.connections
        ));
    }
    Ok(())
}

fn durations(a: &RunArgs) -> Result<(), InputError> {
    let d: Option<Duration> = a.duration.map(Into::into);
    for (flag, value) in [
        ("--duration", d),
        ("--timeout", Some(a.timeout.into())),
        ("--connect-timeout", Some(a.connect_timeout.into())),
        ("--max-lateness", Some(a.max_lateness.into())),
    ] {
        if value == Some(Duration::ZERO) {
            return refuse(format!("{flag} must be longer than 0"));
        }
    }
    Ok(())
}

fn size(workload: Workload, s: SizeSpec, a: &RunArgs) -> Result<(), InputError> {
    match workload {
        Workload::Udp if s.min < 8 => {
            refuse("udp --size must be at least 8 bytes (the sequence number)")
        }
        Workload::Udp if s.max > MAX_DATAGRAM_SIZE => refuse(format!(
            "udp --size must fit in one datagram (at most {MAX_DATAGRAM_SIZE} bytes)"
        )),
        Workload::Tcp if s.max > MAX_STREAM_SIZE => refuse(format!(
            "--size {} is more than the {} MiB a message may have",
            s.max,
            MAX_STREAM_SIZE >> 20
        )),
        _ => {
            let buffered = s.max as u128 * a.connections as u128 * a.pipeline as u128;
            if buffered > MAX_BUFFERED {
                return refuse(format!(
                    "--size {} x --connections {} x --pipeline {} needs {} MiB of buffers, more \
                     than the {} MiB allowed",
                    s.max,
                    a.connections,
                    a.pipeline,
                    buffered >> 20,
                    MAX_BUFFERED >> 20
                ));
            }
            Ok(())
        }
    }
}

/// RFC 9110 `tchar`: what a method or a header name may consist of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// RFC 9110 field value: visible characters, spaces and tabs, obs-text; never CR, LF or NUL.
fn is_field_value(s: &str) -> bool {
    s.bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7E).contains(&b) || b >= 0x80)
}

fn http_request(target: &str, http: &HttpOptions) -> Result<(), InputError> {
    crate::run::parse_http_url(target).map_err(|e| InputError(format!("{e:#}")))?;
    if target.bytes().any(|b| b <= b' ' || b == 0x7F) {
        return refuse(format!(
            "the URL {target:?} contains a space or control character (CR/LF would inject a \
             request); percent-encode it"
        ));
    }
    if !is_token(&http.method) {
        return refuse(format!(
            "-X {:?} is not an HTTP method (letters, digits and !#$%&'*+-.^_`|~ only)",
            http.method
        ));
    }
    for h in &http.headers {
        let Some((name, value)) = h.split_once(':') else {
            return refuse(format!(
                "-H {h:?} is not a header: write it as \"Name: value\""
            ));
        };
        if !is_token(name) {
            return refuse(format!(
                "-H {h:?}: {name:?} is not a header name (a token: letters, digits and \
                 !#$%&'*+-.^_`|~, no spaces)"
            ));
        }
        if !is_field_value(value) {
            return refuse(format!(
                "-H {h:?}: the value contains CR, LF or another control character (it would \
                 inject headers)"
            ));
        }
    }
    Ok(())
}

/// The soft open-file limit (unlimited: `u64::MAX`).
fn open_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return u64::MAX;
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_field_values_follow_the_grammar() {
        assert!(is_token("GET") && is_token("X-Trace_1"));
        assert!(!is_token("G T") && !is_token("") && !is_token("A:B"));
        assert!(is_field_value(" a\tb ~ é"));
        assert!(!is_field_value("a\r\nX: b") && !is_field_value("a\0"));
    }

    #[test]
    fn header_lines_are_checked() {
        let opts = |h: &str| HttpOptions {
            method: "GET".into(),
            headers: vec![h.into()],
            body: None,
            tls: Default::default(),
        };
        assert!(http_request("http://h/", &opts("X-A: b")).is_ok());
        assert!(http_request("http://h/", &opts("NoColon")).is_err());
        assert!(http_request("http://h/", &opts("X A: b")).is_err());
        assert!(http_request("http://h/", &opts("X: a\r\nEvil: 1")).is_err());
        assert!(http_request("http://h/a\r\nb", &opts("X: a")).is_err());
    }
}

//! The TLS part of a run's summary, verdict and JSON (https targets): version and cipher
//! suite, how the certificate was checked, handshakes full and resumed, their times and rate,
//! and failed handshakes by why.

use std::fmt::Write as _;

use reactor_report::{HandshakeFailures, Tls};

use crate::clock::NS_PER_SEC;
use crate::report::percentiles_us;
use crate::run::RunResult;
use crate::stats::{Negotiated, TlsCounts};
use crate::units::percentile_row;

/// The protocol version the handshakes negotiated.
fn version(c: &TlsCounts) -> Option<String> {
    match (c.tls13 > 0, c.tls12 > 0) {
        (true, true) => Some("mixed".into()),
        (true, false) => Some("TLSv1.3".into()),
        (false, true) => Some("TLSv1.2".into()),
        (false, false) => None,
    }
}

/// The cipher suite the handshakes negotiated, by its IANA name.
fn cipher_suite(c: &TlsCounts) -> Option<String> {
    name(c.suite, |code| {
        format!("{:?}", rustls::CipherSuite::from(code))
    })
}

/// The key exchange group the handshakes negotiated (`X25519`, `secp256r1`, ...).
fn key_exchange(c: &TlsCounts) -> Option<String> {
    name(c.group, |code| {
        format!("{:?}", rustls::NamedGroup::from(code))
    })
}

fn name(n: Negotiated, by_code: impl Fn(u16) -> String) -> Option<String> {
    if n.mixed {
        return Some("mixed".into());
    }
    (n.code != 0).then(|| by_code(n.code))
}

/// How the server's certificate was checked: `system-roots`, `cacert` or `none`.
fn verification(r: &RunResult) -> &'static str {
    let t = &r.config.http.tls;
    if t.insecure {
        "none"
    } else if t.cacert.is_some() {
        "cacert"
    } else {
        "system-roots"
    }
}

/// Measured handshakes per second.
fn rate(r: &RunResult) -> f64 {
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    r.total.counters.tls.handshakes() as f64 / secs
}

/// The summary's TLS lines (none for a plaintext run).
pub fn summary(r: &RunResult) -> String {
    let Some(tls) = &r.tls else {
        return String::new();
    };
    let c = &tls.counts;
    let mut s = String::new();
    let checked = match verification(r) {
        "none" => "certificate NOT VERIFIED (--insecure)".to_string(),
        "cacert" => match &r.config.http.tls.cacert {
            Some(path) => format!("certificate verified against --cacert {}", path.display()),
            None => "certificate verified against --cacert".to_string(),
        },
        _ => "certificate verified against the system roots".to_string(),
    };
    let _ = writeln!(
        s,
        "  tls        {}, {}, {}, {checked}",
        version(c).unwrap_or_else(|| "no handshake completed".into()),
        cipher_suite(c).unwrap_or_else(|| "-".into()),
        key_exchange(c).unwrap_or_else(|| "-".into())
    );
    s.push_str(&percentile_row("handshake", &tls.hist));
    let resume = if r.config.http.tls.resume {
        "on"
    } else {
        "off"
    };
    let _ = writeln!(
        s,
        "  handshakes {} (full {}, resumed {}; resumption {resume}), {:.0}/s while measuring, \
         failed {}",
        c.handshakes(),
        c.full,
        c.resumed,
        rate(r),
        c.failures.total()
    );
    let f = &c.failures;
    if f.total() > 0 {
        let _ = writeln!(
            s,
            "  handshake failures: certificate {}, alert {}, protocol {}, peer closed {}, \
             timed out {}, other {}",
            f.certificate, f.alert, f.protocol, f.peer_closed, f.timed_out, f.other
        );
    }
    if r.config.connect_per_request {
        s.push_str(&percentile_row("service", &r.total.hist.service));
        let _ = writeln!(
            s,
            "  per request every request made its own connection and TLS handshake: the figure \
             is {:.0} handshakes (connections) per second; `latency` spans connect, handshake \
             and answer, `service` starts at the request's send, after the handshake",
            rate(r)
        );
    }
    s
}

/// The verdict's TLS warnings: an unverified server is said loudly.
pub fn warnings(r: &RunResult) -> Vec<String> {
    if r.tls.is_some() && r.config.http.tls.insecure {
        vec![
            "--insecure: the server's certificate was not verified (the handshake was real \
             TLS, its peer unauthenticated)"
                .into(),
        ]
    } else {
        Vec::new()
    }
}

/// The JSON's `tls` object (none for a plaintext run).
pub fn to_json(r: &RunResult) -> Option<Tls> {
    let tls = r.tls.as_ref()?;
    let c = &tls.counts;
    let f = &c.failures;
    Some(Tls {
        version: version(c),
        cipher_suite: cipher_suite(c),
        key_exchange: key_exchange(c),
        verification: verification(r).to_string(),
        insecure: r.config.http.tls.insecure,
        resumption: r.config.http.tls.resume,
        handshakes: c.handshakes(),
        full_handshakes: c.full,
        resumed_handshakes: c.resumed,
        handshakes_per_s: rate(r),
        handshake_us: percentiles_us(&tls.hist),
        handshake_failures: HandshakeFailures {
            total: f.total(),
            certificate: f.certificate,
            alert: f.alert,
            protocol: f.protocol,
            peer_closed: f.peer_closed,
            timed_out: f.timed_out,
            other: f.other,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Handshake;

    #[test]
    fn version_and_suite_are_named_or_mixed() {
        let mut c = TlsCounts::default();
        assert_eq!((version(&c), cipher_suite(&c)), (None, None));
        let h = Handshake {
            took: 1,
            resumed: false,
            version: 0x0304,
            suite: 0x1302,
            group: 0x001d,
        };
        c.completed(&h);
        assert_eq!(version(&c).as_deref(), Some("TLSv1.3"));
        assert_eq!(
            cipher_suite(&c).as_deref(),
            Some("TLS13_AES_256_GCM_SHA384")
        );
        assert_eq!(key_exchange(&c).as_deref(), Some("X25519"));
        c.completed(&Handshake {
            version: 0x0303,
            suite: 0xc02b,
            ..h
        });
        assert_eq!(version(&c).as_deref(), Some("mixed"));
        assert_eq!(cipher_suite(&c).as_deref(), Some("mixed"));
    }
}

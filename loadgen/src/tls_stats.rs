//! What the workers count of TLS handshakes (https targets): completed ones by kind, version,
//! cipher suite and key exchange group, failed ones by why, and the handshake times of a
//! set-up phase. Added up like every other counter ([`crate::stats`]).

use std::ops::AddAssign;

use hdrhistogram::Histogram;

use crate::stats::new_histogram;

/// Why a TLS handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// The server's certificate did not verify (unknown issuer, wrong name, expired, ...).
    Certificate,
    /// The server refused the handshake with an alert (no common version or cipher suite, ...).
    Alert,
    /// The server sent something that is not the TLS we speak (a plaintext server, an old
    /// protocol version, a malformed message).
    Protocol,
    /// The server closed or reset the connection before the handshake completed.
    PeerClosed,
    /// Not completed within --connect-timeout.
    TimedOut,
    /// Anything else.
    Other,
}

/// TLS handshake failures by why.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeFailures {
    /// Certificate verification failed.
    pub certificate: u64,
    /// The server sent a fatal alert.
    pub alert: u64,
    /// Not TLS, or not a version or message we accept.
    pub protocol: u64,
    /// Closed or reset mid-handshake.
    pub peer_closed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Anything else.
    pub other: u64,
}

impl HandshakeFailures {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.certificate
            + self.alert
            + self.protocol
            + self.peer_closed
            + self.timed_out
            + self.other
    }

    fn count(&mut self, why: HandshakeFailure) {
        match why {
            HandshakeFailure::Certificate => self.certificate += 1,
            HandshakeFailure::Alert => self.alert += 1,
            HandshakeFailure::Protocol => self.protocol += 1,
            HandshakeFailure::PeerClosed => self.peer_closed += 1,
            HandshakeFailure::TimedOut => self.timed_out += 1,
            HandshakeFailure::Other => self.other += 1,
        }
    }
}

impl AddAssign for HandshakeFailures {
    fn add_assign(&mut self, o: Self) {
        self.certificate += o.certificate;
        self.alert += o.alert;
        self.protocol += o.protocol;
        self.peer_closed += o.peer_closed;
        self.timed_out += o.timed_out;
        self.other += o.other;
    }
}

/// A completed TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// From the first byte of the ClientHello to the handshake's completion, ns.
    pub took: u64,
    /// Resumed a session (an abbreviated handshake) rather than a full one.
    pub resumed: bool,
    /// Negotiated protocol version (0x0304 is TLS 1.3, 0x0303 TLS 1.2).
    pub version: u16,
    /// Negotiated cipher suite (IANA code).
    pub suite: u16,
    /// Negotiated key exchange group (IANA code; 0 when a resumption used none).
    pub group: u16,
}

/// One parameter the handshakes negotiated (an IANA code), or that they differed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The value first seen (0: none yet).
    pub code: u16,
    /// Some handshake negotiated another value.
    pub mixed: bool,
}

impl Negotiated {
    /// Take note of one handshake's value (0: it had none).
    pub fn note(&mut self, code: u16) {
        if self.code == 0 {
            self.code = code;
        } else if code != 0 && code != self.code {
            self.mixed = true;
        }
    }

    fn merge(&mut self, o: Negotiated) {
        self.mixed |= o.mixed;
        self.note(o.code);
    }
}

/// TLS handshakes of one thread over one interval (or all of a run, added).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TlsCounts {
    /// Full handshakes.
    pub full: u64,
    /// Resumed handshakes.
    pub resumed: u64,
    /// Handshakes that negotiated TLS 1.3.
    pub tls13: u64,
    /// Handshakes that negotiated TLS 1.2.
    pub tls12: u64,
    /// The cipher suite negotiated.
    pub suite: Negotiated,
    /// The key exchange group negotiated.
    pub group: Negotiated,
    /// Failed handshakes by why.
    pub failures: HandshakeFailures,
}

impl TlsCounts {
    /// Count one completed handshake.
    pub fn completed(&mut self, h: &Handshake) {
        if h.resumed {
            self.resumed += 1;
        } else {
            self.full += 1;
        }
        match h.version {
            0x0304 => self.tls13 += 1,
            0x0303 => self.tls12 += 1,
            _ => {}
        }
        self.suite.note(h.suite);
        self.group.note(h.group);
    }

    /// Count one failed handshake.
    pub fn failed(&mut self, why: HandshakeFailure) {
        self.failures.count(why);
    }

    /// Completed handshakes.
    pub fn handshakes(&self) -> u64 {
        self.full + self.resumed
    }
}

impl AddAssign for TlsCounts {
    fn add_assign(&mut self, o: Self) {
        self.full += o.full;
        self.resumed += o.resumed;
        self.tls13 += o.tls13;
        self.tls12 += o.tls12;
        self.suite.merge(o.suite);
        self.group.merge(o.group);
        self.failures += o.failures;
    }
}

/// The TLS handshakes of a set-up phase: their times and counts.
#[derive(Debug, Clone)]
pub struct Handshakes {
    /// Handshake times, ns.
    pub hist: Histogram<u64>,
    /// Completed and failed handshakes.
    pub counts: TlsCounts,
}

impl Default for Handshakes {
    fn default() -> Self {
        Handshakes {
            hist: new_histogram(),
            counts: TlsCounts::default(),
        }
    }
}

impl Handshakes {
    /// Add another set into this one.
    pub fn add(&mut self, o: &Handshakes) {
        let _ = self.hist.add(&o.hist);
        self.counts += o.counts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshakes_are_counted_by_kind_version_and_suite() {
        let mut a = TlsCounts::default();
        let h = Handshake {
            took: 1,
            resumed: false,
            version: 0x0304,
            suite: 0x1301,
            group: 0x001d,
        };
        a.completed(&h);
        a.completed(&Handshake { resumed: true, ..h });
        a.failed(HandshakeFailure::Certificate);
        let mut b = TlsCounts::default();
        b.completed(&Handshake {
            version: 0x0303,
            suite: 0xc02b,
            ..h
        });
        let mut total = TlsCounts::default();
        total += a;
        assert!(!total.suite.mixed);
        total += b;
        assert_eq!((total.full, total.resumed, total.handshakes()), (2, 1, 3));
        assert_eq!((total.tls13, total.tls12), (2, 1));
        assert_eq!(total.suite.code, 0x1301);
        assert!(total.suite.mixed);
        assert_eq!(total.group.code, 0x001d);
        assert!(!total.group.mixed);
        assert_eq!(total.failures.total(), 1);
    }
}

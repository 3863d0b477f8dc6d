//! TLS counters: handshakes by kind, failures by reason, negotiated versions.

use rustls::ProtocolVersion;

/// Why a TLS connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The handshake did not finish within `--tls-handshake-timeout`.
    Timeout,
    /// The peer closed (or reset) before the handshake finished.
    Eof,
    /// Bytes that are not TLS, or a record or message that does not decode or decrypt.
    BadRecord,
    /// A handshake message or record larger than the server accepts (64 KiB).
    TooLarge,
    /// Nothing in common: protocol version, cipher suite, key exchange group or ALPN.
    Incompatible,
    /// The peer broke the protocol (e.g. repeated renegotiation requests).
    Misbehaved,
    /// The peer sent a fatal alert (e.g. it does not trust the certificate).
    AlertReceived,
    /// Anything else rustls refused.
    Other,
}

impl TlsFailure {
    /// Every reason, in the order they are reported.
    pub const ALL: [TlsFailure; 8] = [
        Self::Timeout,
        Self::Eof,
        Self::BadRecord,
        Self::TooLarge,
        Self::Incompatible,
        Self::Misbehaved,
        Self::AlertReceived,
        Self::Other,
    ];

    /// Stable snake_case name used in metrics and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Eof => "eof",
            Self::BadRecord => "bad_record",
            Self::TooLarge => "too_large",
            Self::Incompatible => "incompatible",
            Self::Misbehaved => "misbehaved",
            Self::AlertReceived => "alert_received",
            Self::Other => "other",
        }
    }

    /// The reason a rustls error stands for.
    pub fn of(e: &rustls::Error) -> Self {
        use rustls::Error as E;
        match e {
            E::InvalidMessage(_)
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::DecryptError => Self::BadRecord,
            E::PeerIncompatible(_) | E::NoApplicationProtocol => Self::Incompatible,
            E::PeerMisbehaved(_) => Self::Misbehaved,
            E::AlertReceived(_) => Self::AlertReceived,
            _ => Self::Other,
        }
    }
}

/// Negotiated versions, in the order they are reported.
pub const VERSIONS: [(&str, ProtocolVersion); 2] = [
    ("1.2", ProtocolVersion::TLSv1_2),
    ("1.3", ProtocolVersion::TLSv1_3),
];

/// TLS counters of one reactor.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TlsStats {
    /// Completed full handshakes.
    pub handshakes_full: u64,
    /// Completed resumed handshakes (session ticket or session ID).
    pub handshakes_resumed: u64,
    /// Handshakes that did not complete, indexed like [`TlsFailure::ALL`].
    pub handshake_failures: [u64; TlsFailure::ALL.len()],
    /// Established connections closed for bad TLS input, indexed like [`TlsFailure::ALL`].
    pub record_errors: [u64; TlsFailure::ALL.len()],
    /// Completed handshakes by negotiated version, indexed like [`VERSIONS`].
    pub versions: [u64; VERSIONS.len()],
}

impl TlsStats {
    /// Records a completed handshake.
    pub fn record_handshake(&mut self, resumed: bool, version: Option<ProtocolVersion>) {
        if resumed {
            self.handshakes_resumed += 1;
        } else {
            self.handshakes_full += 1;
        }
        if let Some(slot) = VERSIONS.iter().position(|(_, v)| Some(*v) == version) {
            self.versions[slot] += 1;
        }
    }

    /// Records a failure, during the handshake or after it.
    pub fn record_failure(&mut self, reason: TlsFailure, handshaking: bool) {
        let counts = match handshaking {
            true => &mut self.handshake_failures,
            false => &mut self.record_errors,
        };
        counts[reason as usize] += 1;
    }

    /// Handshakes that failed for `reason`.
    pub fn handshake_failures_for(&self, reason: TlsFailure) -> u64 {
        self.handshake_failures[reason as usize]
    }

    /// Adds another reactor's counters.
    pub fn add(&mut self, other: &TlsStats) {
        self.handshakes_full += other.handshakes_full;
        self.handshakes_resumed += other.handshakes_resumed;
        for (mine, theirs) in self
            .handshake_failures
            .iter_mut()
            .zip(other.handshake_failures)
        {
            *mine += theirs;
        }
        for (mine, theirs) in self.record_errors.iter_mut().zip(other.record_errors) {
            *mine += theirs;
        }
        for (mine, theirs) in self.versions.iter_mut().zip(other.versions) {
            *mine += theirs;
        }
    }

    /// The counters as a JSON object (part of `GET /stats`).
    pub fn to_json(&self) -> serde_json::Value {
        let by_reason = |counts: &[u64]| -> serde_json::Map<String, serde_json::Value> {
            TlsFailure::ALL
                .iter()
                .zip(counts)
                .map(|(r, n)| (r.name().to_owned(), (*n).into()))
                .collect()
        };
        let versions: serde_json::Map<String, serde_json::Value> = VERSIONS
            .iter()
            .zip(self.versions)
            .map(|((name, _), n)| ((*name).to_owned(), n.into()))
            .collect();
        serde_json::json!({
            "handshakes": { "full": self.handshakes_full, "resumed": self.handshakes_resumed },
            "handshake_failures": by_reason(&self.handshake_failures),
            "record_errors": by_reason(&self.record_errors),
            "versions": versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshakes_are_counted_by_kind_and_version() {
        let mut s = TlsStats::default();
        s.record_handshake(false, Some(ProtocolVersion::TLSv1_3));
        s.record_handshake(true, Some(ProtocolVersion::TLSv1_2));
        s.record_failure(TlsFailure::Timeout, true);
        s.record_failure(TlsFailure::BadRecord, false);
        assert_eq!((s.handshakes_full, s.handshakes_resumed), (1, 1));
        assert_eq!(s.versions, [1, 1]);
        assert_eq!(s.handshake_failures_for(TlsFailure::Timeout), 1);
        assert_eq!(s.record_errors[TlsFailure::BadRecord as usize], 1);
        let mut total = TlsStats::default();
        total.add(&s);
        total.add(&s);
        assert_eq!(total.handshakes_full, 2);
        assert_eq!(total.to_json()["handshake_failures"]["timeout"], 2);
    }
}

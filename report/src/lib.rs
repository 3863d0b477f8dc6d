//! The contract between the load generator and the comparison: the JSON report that
//! `reactor-loadgen --json` writes and `compare` reads, as serde types in one place.
//!
//! The generator builds a [`RunReport`] and serialises it; a reader calls [`parse`], which
//! refuses a document of another schema, of an unknown [`SCHEMA_VERSION`], or with a required
//! field missing or mistyped, naming the field by its path (`latency_us.p99`). Nothing is read
//! as a default: a run whose `valid` is missing is an error, not a valid run. Fields added
//! later within the same version are ignored by older readers; removing or renaming a field,
//! or changing its meaning, bumps the version.
//!
//! Optional by design: `udp` (UDP runs), `tls` (https runs: version, cipher suite, how the
//! certificate was checked, full and resumed handshakes, their times and failures by why) and
//! `find_max`; `errors.connect_by_kind.tls_handshake` reads as 0 where a document lacks it.

mod run;

pub use run::{
    ConnectErrorKinds, Errors, Generator, HandshakeFailures, Interval, LoadMode,
    PercentileIntervals, Percentiles, RunReport, SizeRange, Tls, Udp,
};

/// The `schema` name of a run report.
pub const SCHEMA: &str = "reactor-loadgen";

/// Version of the JSON documents the generator writes; bumped on incompatible changes.
pub const SCHEMA_VERSION: u64 = 2;

/// Why a document is not a run report this reader understands.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A JSON document of another kind (or none named).
    #[error("not a {SCHEMA} report: `schema` is {0}")]
    OtherSchema(String),
    /// No `schema_version`, or not a whole number.
    #[error("`schema_version` is missing or not a whole number")]
    NoVersion,
    /// A version this reader was not written for.
    #[error("unknown schema_version {found} (this reader knows {SCHEMA_VERSION})")]
    UnknownVersion {
        /// The document's version.
        found: u64,
    },
    /// A required field is missing, null where a value is needed, or of the wrong type.
    #[error("field `{path}`: {message}")]
    Field {
        /// Dotted path of the field (or of the object missing it).
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Reads a run report from JSON text, checking its schema and version first.
pub fn parse(text: &str) -> Result<RunReport, ReportError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    from_value(value)
}

/// [`parse`] on an already parsed document.
pub fn from_value(value: serde_json::Value) -> Result<RunReport, ReportError> {
    match value.get("schema") {
        Some(serde_json::Value::String(s)) if s == SCHEMA => {}
        Some(other) => return Err(ReportError::OtherSchema(other.to_string())),
        None => return Err(ReportError::OtherSchema("missing".into())),
    }
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or(ReportError::NoVersion)?;
    if found != SCHEMA_VERSION {
        return Err(ReportError::UnknownVersion { found });
    }
    let report: RunReport = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // For a missing field serde names the field; the path is the object holding it.
        let path = match (missing_field(&message), path.as_str()) {
            (Some(field), ".") => field.to_string(),
            (Some(field), parent) => format!("{parent}.{field}"),
            (None, _) => path,
        };
        ReportError::Field { path, message }
    })?;
    if report.workload == "udp" && report.udp.is_none() {
        return Err(ReportError::Field {
            path: "udp".into(),
            message: "missing field `udp` (required for a UDP run)".into(),
        });
    }
    Ok(report)
}

/// The field name in serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Serde helper: an `Option` field that must be present (it may be `null`). Serde reads a
/// missing `Option` as `None` unless told otherwise; a report that dropped a field is wrong.
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    /// Deserialises `T` or `null`, and refuses a missing field.
    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d)
    }
}

#[cfg(test)]
mod tests;

//! `{name}` placeholders in design commands and files: `{tcp}`, `{udp_port}`, `{bin_dir}`, ...
//! `{{` and `}}` stand for literal braces (nginx configs need them).

use std::collections::BTreeMap;

/// Every placeholder a design may use, with what it expands to (for errors and `--list`).
pub const KNOWN: [(&str, &str); 14] = [
    ("tcp", "127.0.0.1:PORT of the TCP echo service"),
    ("udp", "127.0.0.1:PORT of the UDP echo service"),
    ("http", "127.0.0.1:PORT of the HTTP service"),
    ("https", "127.0.0.1:PORT of the HTTPS service"),
    ("tcp_port", "the TCP echo port alone"),
    ("udp_port", "the UDP echo port alone"),
    ("http_port", "the HTTP port alone"),
    ("https_port", "the HTTPS port alone"),
    (
        "tls_cert",
        "the run's self-signed certificate, PEM (designs that serve https)",
    ),
    (
        "tls_key",
        "the private key of {tls_cert}, PEM (designs that serve https)",
    ),
    (
        "bin_dir",
        "the directory of the release binaries (--bin-dir)",
    ),
    (
        "tmp",
        "a fresh directory for this design (its `files` are written there)",
    ),
    (
        "peers",
        "the directory holding the bundled peer scripts (seed_echo.py, ...)",
    ),
    (
        "designs_dir",
        "the directory of the designs file the entry came from",
    ),
];

/// The values placeholders expand to, by name.
pub type Vars = BTreeMap<&'static str, String>;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderError {
    /// `{name}` where `name` is not a placeholder at all.
    Unknown(String),
    /// A known placeholder without a value here (e.g. `{udp}` in a design that serves no UDP).
    Unavailable(String),
    /// A `{` without its `}`.
    Unclosed,
}

impl std::fmt::Display for PlaceholderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaceholderError::Unknown(name) => {
                let names: Vec<String> = KNOWN.iter().map(|(n, _)| format!("{{{n}}}")).collect();
                write!(
                    f,
                    "unknown placeholder {{{name}}} (known: {}; write {{{{ for a literal brace)",
                    names.join(" ")
                )
            }
            PlaceholderError::Unavailable(name) => write!(
                f,
                "placeholder {{{name}}} has no value here (does `serves` list its protocol?)"
            ),
            PlaceholderError::Unclosed => write!(f, "a `{{` without its `}}`"),
        }
    }
}

impl std::error::Error for PlaceholderError {}

/// Replaces every `{name}` in `template` by its value in `vars`.
pub fn expand(template: &str, vars: &Vars) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('{') {
            let end = after.find('}').ok_or(PlaceholderError::Unclosed)?;
            let name = &after[..end];
            match vars.get(name) {
                Some(value) => out.push_str(value),
                None if KNOWN.iter().any(|(n, _)| *n == name) => {
                    return Err(PlaceholderError::Unavailable(name.to_string()))
                }
                None => return Err(PlaceholderError::Unknown(name.to_string())),
            }
            rest = &after[end + 1..];
        } else {
            // A lone `}` is kept as it is.
            out.push('}');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("tcp", "127.0.0.1:4000".into());
        v.insert("tcp_port", "4000".into());
        v
    }

    #[test]
    fn placeholders_expand_and_braces_escape() {
        assert_eq!(
            expand("--tcp={tcp} port {tcp_port}", &vars()).unwrap(),
            "--tcp=127.0.0.1:4000 port 4000"
        );
        assert_eq!(
            expand("events {{ worker_connections 64; }}", &vars()).unwrap(),
            "events { worker_connections 64; }"
        );
    }

    #[test]
    fn unknown_unavailable_and_unclosed_are_errors() {
        assert_eq!(
            expand("{tpc}", &vars()),
            Err(PlaceholderError::Unknown("tpc".into()))
        );
        assert_eq!(
            expand("{udp}", &vars()),
            Err(PlaceholderError::Unavailable("udp".into()))
        );
        assert_eq!(expand("{tcp", &vars()), Err(PlaceholderError::Unclosed));
    }
}

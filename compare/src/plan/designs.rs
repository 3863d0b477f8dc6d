//! The designs under test, read from TOML: the built-in file (`compare/designs.toml`, compiled
//! in) plus any `--designs-file`, where an entry with the same name replaces the earlier one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::PlanError;
use super::placeholders::{self, Vars};
use super::Proto;

/// The built-in designs file.
pub const BUILT_IN: &str = include_str!("../../designs.toml");

/// How `compare` decides that a started design is ready for load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Each service is ready at its `listening <proto> <addr>` line or when its port answers,
    /// whichever comes first.
    #[default]
    Auto,
    /// Only `listening` lines count (the project's command-line contract).
    Listening,
    /// Only answers count: TCP echoes a probe, HTTP answers `GET /`, UDP echoes a datagram.
    Probe,
}

/// The signal that asks a design to stop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum StopSignal {
    /// SIGTERM (the default).
    #[default]
    #[serde(rename = "SIGTERM")]
    Term,
    /// SIGINT, as Ctrl-C sends.
    #[serde(rename = "SIGINT")]
    Int,
    /// SIGQUIT.
    #[serde(rename = "SIGQUIT")]
    Quit,
    /// SIGHUP.
    #[serde(rename = "SIGHUP")]
    Hup,
    /// SIGKILL: no chance to clean up.
    #[serde(rename = "SIGKILL")]
    Kill,
}

impl StopSignal {
    /// Its name, as written in a designs file.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Int => "SIGINT",
            StopSignal::Quit => "SIGQUIT",
            StopSignal::Hup => "SIGHUP",
            StopSignal::Kill => "SIGKILL",
        }
    }

    /// The signal number.
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Term => libc::SIGTERM,
            StopSignal::Int => libc::SIGINT,
            StopSignal::Quit => libc::SIGQUIT,
            StopSignal::Hup => libc::SIGHUP,
            StopSignal::Kill => libc::SIGKILL,
        }
    }
}

/// Which ends of a design, once asked to stop, count as clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanExit {
    /// Exit status 0 only: this project's command-line contract (the built-in designs).
    Zero,
    /// Any end within the grace period, by an exit status or by the signal: other people's
    /// servers (the default in a user's designs file), which owe us no contract.
    Stopped,
}

/// One server under test.
#[derive(Debug, Clone, Serialize)]
pub struct Design {
    /// Short unique name used in tables, charts and `--designs`.
    pub name: String,
    /// One line on the model, for the report.
    pub about: String,
    /// The argv, with placeholders still in it (see [`placeholders::KNOWN`]).
    pub command: Vec<String>,
    /// The services it provides.
    pub serves: Vec<Proto>,
    /// A peer that may be missing: skipped with a line in the report instead of failing.
    pub optional: bool,
    /// How readiness is detected.
    pub ready: Readiness,
    /// Most connections it can take at once (e.g. 1 for a server that serves one client at a
    /// time); scenarios with more are skipped for it, with the reason.
    pub max_conns: Option<usize>,
    /// False for a server that closes the connection after every answer (an HTTP/1.0
    /// server): it runs only connect-per-request scenarios.
    pub keep_alive: bool,
    /// Files written into `{tmp}` before start (name → contents, placeholders expanded).
    pub files: BTreeMap<String, String>,
    /// How it is asked to stop.
    pub stop_signal: StopSignal,
    /// Which ends count as clean once it was asked.
    pub clean_exit: CleanExit,
    /// Where the entry came from: `built-in` or the file's path.
    pub source: String,
    /// The directory of that file, for `{designs_dir}`.
    #[serde(skip)]
    pub designs_dir: Option<PathBuf>,
}

impl Design {
    /// Why this design cannot run `scenario`, or None when it can.
    pub fn cannot_run(&self, scenario: &super::Scenario) -> Option<String> {
        if !self.serves.contains(&scenario.proto) {
            let served: Vec<&str> = self.serves.iter().map(|p| p.name()).collect();
            return Some(format!(
                "serves {} only, not {}",
                served.join(", "),
                scenario.proto.name()
            ));
        }
        if !self.keep_alive && !scenario.connect_per_request {
            return Some(
                "closes the connection after every answer; runs only connect-per-request scenarios"
                    .into(),
            );
        }
        match self.max_conns {
            Some(max) if scenario.conns > max => Some(format!(
                "takes at most {max} connection(s) at a time; this scenario keeps {} open",
                scenario.conns
            )),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DesignsFile {
    #[serde(default)]
    design: Vec<Spanned<RawDesign>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    name: Spanned<String>,
    about: String,
    command: Spanned<Vec<String>>,
    serves: Spanned<Vec<Proto>>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    ready: Readiness,
    max_conns: Option<Spanned<usize>>,
    #[serde(default = "yes")]
    keep_alive: bool,
    #[serde(default)]
    files: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    stop_signal: StopSignal,
    clean_exit: Option<CleanExit>,
}

/// Parses one of a user's designs files (an entry without `clean_exit` is `stopped`). `file`
/// names it in errors; `dir` is its directory.
pub fn parse(file: &str, text: &str, dir: Option<&Path>) -> Result<Vec<Design>, PlanError> {
    parse_with(file, text, dir, CleanExit::Stopped)
}

/// Parses the built-in designs file: this project's designs keep the strict exit-0 contract.
pub fn parse_built_in() -> Result<Vec<Design>, PlanError> {
    parse_with(
        "compare/designs.toml (built in)",
        BUILT_IN,
        None,
        CleanExit::Zero,
    )
}

/// [`parse`] with the `clean_exit` of entries that do not say.
fn parse_with(
    file: &str,
    text: &str,
    dir: Option<&Path>,
    default_exit: CleanExit,
) -> Result<Vec<Design>, PlanError> {
    let parsed: DesignsFile =
        toml::from_str(text).map_err(|e| PlanError::from_toml(file, text, &e))?;
    let err = |offset: usize, msg: String| PlanError::at(file, text, Some(offset), msg);
    let mut out: Vec<Design> = Vec::new();
    for entry in parsed.design {
        let raw = entry.into_inner();
        let name = raw.name.get_ref().clone();
        let name_at = raw.name.span().start;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(err(
                name_at,
                format!("design name `{name}`: use letters, digits, `.`, `_`, `-` only"),
            ));
        }
        if out.iter().any(|d| d.name == name) {
            return Err(err(
                name_at,
                format!("design `{name}` appears twice in this file"),
            ));
        }
        if raw.command.get_ref().is_empty() {
            return Err(err(
                raw.command.span().start,
                format!("design `{name}`: `command` is empty"),
            ));
        }
        let mut serves = raw.serves.get_ref().clone();
        serves.sort_by_key(|p| p.name());
        serves.dedup();
        if serves.is_empty() {
            return Err(err(
                raw.serves.span().start,
                format!("design `{name}`: `serves` lists no protocol"),
            ));
        }
        if let Some(max) = &raw.max_conns {
            if *max.get_ref() == 0 {
                return Err(err(
                    max.span().start,
                    format!("design `{name}`: `max_conns` must be at least 1"),
                ));
            }
        }
        let vars = check_vars(&serves);
        for arg in raw.command.get_ref() {
            placeholders::expand(arg, &vars).map_err(|e| {
                err(
                    raw.command.span().start,
                    format!("design `{name}`: command argument `{arg}`: {e}"),
                )
            })?;
        }
        for (file_name, contents) in &raw.files {
            if file_name.contains('/') || file_name.is_empty() || file_name == ".." {
                return Err(err(
                    contents.span().start,
                    format!("design `{name}`: file name `{file_name}` must be a plain name"),
                ));
            }
            placeholders::expand(contents.get_ref(), &vars).map_err(|e| {
                err(
                    contents.span().start,
                    format!("design `{name}`: file `{file_name}`: {e}"),
                )
            })?;
        }
        out.push(Design {
            name,
            about: raw.about,
            command: raw.command.into_inner(),
            serves,
            optional: raw.optional,
            ready: raw.ready,
            max_conns: raw.max_conns.map(Spanned::into_inner),
            keep_alive: raw.keep_alive,
            files: raw
                .files
                .into_iter()
                .map(|(k, v)| (k, v.into_inner()))
                .collect(),
            stop_signal: raw.stop_signal,
            clean_exit: raw.clean_exit.unwrap_or(default_exit),
            source: file.to_string(),
            designs_dir: dir.map(Path::to_path_buf),
        });
    }
    Ok(out)
}

fn yes() -> bool {
    true
}

/// Placeholder values for validation: the served protocols' addresses and the directories.
fn check_vars(serves: &[Proto]) -> Vars {
    let mut v = Vars::new();
    for p in serves {
        let (addr, port) = p.placeholders();
        v.insert(addr, "127.0.0.1:1".into());
        v.insert(port, "1".into());
    }
    if serves.contains(&Proto::Https) {
        v.insert("tls_cert", "/cert.pem".into());
        v.insert("tls_key", "/key.pem".into());
    }
    for dir in ["bin_dir", "tmp", "peers", "designs_dir"] {
        v.insert(dir, "/".into());
    }
    v
}

/// Reads a user's designs file from disk.
pub fn load(path: &Path) -> anyhow::Result<Vec<Design>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(parse(&path.display().to_string(), &text, path.parent())?)
}

/// `base` with `extra` merged in: an entry of `extra` replaces the one of the same name (in its
/// place), other entries are appended.
pub fn merge(mut base: Vec<Design>, extra: Vec<Design>) -> Vec<Design> {
    for d in extra {
        match base.iter_mut().find(|b| b.name == d.name) {
            Some(slot) => *slot = d,
            None => base.push(d),
        }
    }
    base
}

#[cfg(test)]
mod tests;

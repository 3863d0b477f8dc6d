//! The scenarios, read from TOML (`compare/scenarios.toml`, compiled in, plus any
//! `--scenarios-file`): closed-loop loads, fixed or derived open-loop rates, and curves that
//! expand into open-loop runs at shares of the slowest design's capacity.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::PlanError;
use super::Proto;

/// The built-in scenarios file.
pub const BUILT_IN: &str = include_str!("../../scenarios.toml");

/// How much load a scenario offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Load {
    /// Closed loop: each connection sends its next request as soon as the answer arrives.
    Closed,
    /// Open loop at this many requests per second, the same for every design.
    Fixed {
        /// Offered req/s.
        rate: f64,
    },
    /// Open loop at the same rate for every design: `share` of the slowest design's median
    /// req/s in the closed-loop scenario `from` (so every design can sustain it).
    OpenDerived {
        /// The scenario whose throughput sets the rate.
        from: String,
        /// Share of the slowest design's median req/s.
        share: f64,
    },
}

/// Where a scenario sits on a curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The curve's id.
    pub curve: String,
    /// The curve's title.
    pub title: String,
    /// Share of the slowest design's capacity.
    pub share: f64,
}

/// One load shape, run against every design that can take it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Stable identifier (file names, JSON, `--scenarios`, baselines).
    pub id: String,
    /// Human title.
    pub title: String,
    /// What it measures, in a sentence.
    pub why: String,
    /// Service driven.
    pub proto: Proto,
    /// Connections (UDP: connected sockets).
    pub conns: usize,
    /// Payload bytes per request (TCP/UDP; HTTP uses the hello route).
    pub size: usize,
    /// Closed or open loop.
    pub load: Load,
    /// A new connection for every request (`reactor-loadgen --connect-per-request`).
    pub connect_per_request: bool,
    /// https: resume TLS sessions across connections (`reactor-loadgen --tls-resume on`);
    /// false makes every handshake a full one.
    pub tls_resume: bool,
    /// Set for the points of a curve.
    pub curve: Option<CurvePoint>,
}

/// A scenario listed in the file but switched off, with the file's reason.
#[derive(Debug, Clone, Serialize)]
pub struct Disabled {
    /// Its id.
    pub id: String,
    /// The `note` given in the file.
    pub note: String,
}

/// The scenarios of one profile.
#[derive(Debug, Clone, Default)]
pub struct Scenarios {
    /// In the order they run.
    pub run: Vec<Scenario>,
    /// Entries with `enabled = false`.
    pub disabled: Vec<Disabled>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenariosFile {
    #[serde(default)]
    scenario: Vec<Spanned<RawScenario>>,
    #[serde(default)]
    curve: Vec<Spanned<RawCurve>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenFrom {
    from: String,
    share: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    why: String,
    proto: Proto,
    conns: Spanned<usize>,
    #[serde(default = "default_size")]
    size: usize,
    rate: Option<Spanned<f64>>,
    open: Option<Spanned<OpenFrom>>,
    #[serde(default)]
    connect_per_request: bool,
    tls_resume: Option<Spanned<bool>>,
    profiles: Option<Spanned<Vec<String>>>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCurve {
    id: Spanned<String>,
    title: String,
    from: Spanned<String>,
    shares: Spanned<Vec<f64>>,
    quick_shares: Option<Spanned<Vec<f64>>>,
    profiles: Option<Spanned<Vec<String>>>,
}

fn default_size() -> usize {
    64
}

fn yes() -> bool {
    true
}

/// One parsed file: scenarios and curves with their spans, before profile selection.
pub struct File {
    name: String,
    text: String,
    scenarios: Vec<Spanned<RawScenario>>,
    curves: Vec<Spanned<RawCurve>>,
}

/// Parses one scenarios file (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<File, PlanError> {
    let parsed: ScenariosFile =
        toml::from_str(text).map_err(|e| PlanError::from_toml(file, text, &e))?;
    Ok(File {
        name: file.to_string(),
        text: text.to_string(),
        scenarios: parsed.scenario,
        curves: parsed.curve,
    })
}

/// Reads a user's scenarios file from disk.
pub fn load(path: &Path) -> anyhow::Result<File> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(parse(&path.display().to_string(), &text)?)
}

/// The scenarios of `profile` from `files` (later files replace same ids), in file order,
/// curves expanded after the scenarios they derive from.
pub fn select(files: &[File], profile: &str) -> Result<Scenarios, PlanError> {
    let mut out = Scenarios::default();
    for f in files {
        let err = |offset: usize, msg: String| PlanError::at(&f.name, &f.text, Some(offset), msg);
        let in_profile = |p: &Option<Spanned<Vec<String>>>| -> Result<bool, PlanError> {
            let Some(list) = p else { return Ok(true) };
            for name in list.get_ref() {
                if name != "quick" && name != "full" {
                    return Err(err(
                        list.span().start,
                        format!("unknown profile `{name}` (quick, full)"),
                    ));
                }
            }
            Ok(list.get_ref().iter().any(|n| n == profile))
        };
        let mut ids = HashSet::new();
        for entry in &f.scenarios {
            let s = entry.get_ref();
            let id = s.id.get_ref();
            check_id(id).map_err(|m| err(s.id.span().start, m))?;
            if !ids.insert(id.clone()) {
                return Err(err(
                    s.id.span().start,
                    format!("scenario `{id}` appears twice"),
                ));
            }
            if let Some(resume) = &s.tls_resume {
                if s.proto != Proto::Https {
                    return Err(err(
                        resume.span().start,
                        format!("scenario `{id}`: `tls_resume` is for https scenarios"),
                    ));
                }
            }
            if *s.conns.get_ref() == 0 {
                return Err(err(
                    s.conns.span().start,
                    format!("scenario `{id}`: `conns` must be at least 1"),
                ));
            }
            let load = match (&s.rate, &s.open) {
                (Some(_), Some(o)) => {
                    return Err(err(
                        o.span().start,
                        format!("scenario `{id}`: give `rate` or `open`, not both"),
                    ))
                }
                (Some(r), None) if r.get_ref().is_nan() || *r.get_ref() <= 0.0 => {
                    return Err(err(
                        r.span().start,
                        format!("scenario `{id}`: `rate` must be positive"),
                    ))
                }
                (Some(r), None) => Load::Fixed { rate: *r.get_ref() },
                (None, Some(o)) => {
                    let o2 = o.get_ref();
                    check_share(o2.share)
                        .map_err(|m| err(o.span().start, format!("scenario `{id}`: {m}")))?;
                    if !out
                        .run
                        .iter()
                        .any(|p: &Scenario| p.id == o2.from && p.load == Load::Closed)
                        && !earlier_closed(&f.scenarios, entry, &o2.from)
                    {
                        return Err(err(
                            o.span().start,
                            format!("scenario `{id}`: `open.from` must name an earlier closed-loop scenario, not `{}`", o2.from),
                        ));
                    }
                    Load::OpenDerived {
                        from: o2.from.clone(),
                        share: o2.share,
                    }
                }
                (None, None) => Load::Closed,
            };
            let wanted = in_profile(&s.profiles)?;
            if !s.enabled {
                out.disabled.push(Disabled {
                    id: id.clone(),
                    note: s.note.clone(),
                });
                out.run.retain(|p| &p.id != id);
                continue;
            }
            if !wanted {
                continue;
            }
            put(
                &mut out.run,
                Scenario {
                    id: id.clone(),
                    title: s.title.clone(),
                    why: s.why.clone(),
                    proto: s.proto,
                    conns: *s.conns.get_ref(),
                    size: s.size,
                    load,
                    connect_per_request: s.connect_per_request,
                    tls_resume: s.tls_resume.as_ref().is_none_or(|r| *r.get_ref()),
                    curve: None,
                },
            );
        }
        for entry in &f.curves {
            let c = entry.get_ref();
            let id = c.id.get_ref();
            check_id(id).map_err(|m| err(c.id.span().start, m))?;
            let shares = match (&c.quick_shares, profile) {
                (Some(q), "quick") => q,
                _ => &c.shares,
            };
            if shares.get_ref().is_empty() {
                return Err(err(shares.span().start, format!("curve `{id}`: no shares")));
            }
            for &share in shares.get_ref() {
                check_share(share)
                    .map_err(|m| err(shares.span().start, format!("curve `{id}`: {m}")))?;
            }
            let from = c.from.get_ref();
            let Some(base) = out
                .run
                .iter()
                .find(|s| &s.id == from && s.load == Load::Closed)
                .cloned()
            else {
                if in_profile(&c.profiles)? && !out.disabled.iter().any(|d| &d.id == from) {
                    return Err(err(
                        c.from.span().start,
                        format!("curve `{id}`: `from` must name a closed-loop scenario of this profile, not `{from}`"),
                    ));
                }
                continue;
            };
            if !in_profile(&c.profiles)? {
                continue;
            }
            for &share in shares.get_ref() {
                let pct = (share * 100.0).round();
                put(
                    &mut out.run,
                    Scenario {
                        id: format!("{id}-{pct}"),
                        title: format!("{} at {pct}% of the slowest design's capacity", base.title),
                        why: format!("a point of the curve `{id}`"),
                        load: Load::OpenDerived {
                            from: from.clone(),
                            share,
                        },
                        curve: Some(CurvePoint {
                            curve: id.clone(),
                            title: c.title.clone(),
                            share,
                        }),
                        ..base.clone()
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Whether `from` names a closed-loop scenario listed before `entry` in the same file.
fn earlier_closed(all: &[Spanned<RawScenario>], entry: &Spanned<RawScenario>, from: &str) -> bool {
    all.iter()
        .take_while(|e| e.span() != entry.span())
        .any(|e| {
            let s = e.get_ref();
            s.id.get_ref() == from && s.rate.is_none() && s.open.is_none()
        })
}

/// Adds `s`, replacing a scenario with the same id in its place.
fn put(run: &mut Vec<Scenario>, s: Scenario) {
    match run.iter_mut().find(|r| r.id == s.id) {
        Some(slot) => *slot = s,
        None => run.push(s),
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!(
            "id `{id}`: use letters, digits, `.`, `_`, `-` only"
        ));
    }
    Ok(())
}

fn check_share(share: f64) -> Result<(), String> {
    if share > 0.0 && share <= 1.5 {
        Ok(())
    } else {
        Err(format!("share {share} must be above 0 and at most 1.5"))
    }
}

#[cfg(test)]
mod tests;

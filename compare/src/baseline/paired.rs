//! A baseline build measured in the same run (`--baseline-build DIR`): every design that runs
//! from `{bin_dir}` gets a twin that runs from DIR instead, the two take part in every repeat
//! side by side, and each repeat of a design is compared with its twin's from the same repeat.

use std::path::Path;

use super::{compared, BaselineComparison, Figures, Gate, ALPHA};
use crate::measurement::{Outcome, Row};
use crate::plan::Design;

/// What a twin's name adds to its design's.
pub const TWIN_SUFFIX: &str = "@baseline";

const BIN_DIR: &str = "{bin_dir}";

/// Repeats a paired comparison runs unless told otherwise: twice the pairs the signed-rank
/// test needs to reach `alpha` at all, and one more (15 for 1%). With just the minimum, one
/// pair leaning the other way (a neighbour's burst) keeps a real 10% change from a verdict:
/// measured here, 9 pairs called a known 10% slow-down in 17 of 20 runs.
pub fn pairs_for_a_verdict(alpha: f64) -> usize {
    2 * crate::stats::pairs_for(alpha) + 1
}

/// The twin of `design` running the build in `dir`: the same command and files with
/// `{bin_dir}` set to `dir`. None for a design that does not run from `{bin_dir}` (a peer
/// such as nginx is the same in both builds).
pub fn twin(design: &Design, dir: &Path) -> Option<Design> {
    let uses_build = design.command.iter().any(|a| a.contains(BIN_DIR))
        || design.files.values().any(|f| f.contains(BIN_DIR));
    if !uses_build {
        return None;
    }
    let dir = dir.display().to_string();
    let mut t = design.clone();
    t.name = format!("{}{TWIN_SUFFIX}", design.name);
    t.about = format!("{} (the baseline build in {dir})", design.about);
    for a in &mut t.command {
        *a = a.replace(BIN_DIR, &dir);
    }
    for f in t.files.values_mut() {
        *f = f.replace(BIN_DIR, &dir);
    }
    Some(t)
}

/// `designs` with each one's twin right after it.
pub fn with_twins(designs: Vec<Design>, dir: &Path) -> anyhow::Result<Vec<Design>> {
    let shown = dir.display().to_string();
    anyhow::ensure!(
        !shown.contains('{') && !shown.contains('}'),
        "--baseline-build {shown}: a directory name with braces would read as a placeholder"
    );
    let mut out = Vec::with_capacity(designs.len() * 2);
    let mut twins = 0;
    for d in designs {
        let t = twin(&d, dir);
        out.push(d);
        if let Some(t) = t {
            out.push(t);
            twins += 1;
        }
    }
    anyhow::ensure!(
        twins > 0,
        "--baseline-build: none of the selected designs runs from {{bin_dir}}, so none has a \
         baseline build to compare with"
    );
    Ok(out)
}

/// Compares every design that has a twin with it, repeat by repeat.
pub fn compare_twins(
    dir: &str,
    outcome: &Outcome,
    threshold: f64,
    gates: &[Gate],
) -> BaselineComparison {
    let mut rows = Vec::new();
    let mut only_in_baseline = Vec::new();
    for s in &outcome.scenarios {
        for twin in s.rows.iter().filter(|r| r.design.ends_with(TWIN_SUFFIX)) {
            let name = &twin.design[..twin.design.len() - TWIN_SUFFIX.len()];
            let Some(row) = s.rows.iter().find(|r| r.design == name) else {
                continue;
            };
            match pairs(twin, row) {
                Some((old, new)) => rows.push(compared(
                    (&s.scenario.id, name),
                    &old,
                    &new,
                    (threshold, gates),
                    true,
                )),
                None if twin.skipped.is_none() => {
                    only_in_baseline.push(format!("{} / {name}", s.scenario.id))
                }
                None => {}
            }
        }
    }
    BaselineComparison {
        path: dir.to_string(),
        paired: true,
        threshold,
        alpha: ALPHA,
        gates: gates.to_vec(),
        rows,
        only_in_baseline,
    }
}

/// The figures of the repeats where both rows have a sample that counts, aligned (the
/// baseline's first); None when a row has no summary.
fn pairs(old: &Row, new: &Row) -> Option<(Figures, Figures)> {
    let (os, ns) = (old.summary.as_ref()?, new.summary.as_ref()?);
    let mut o = Figures {
        cpu_us_per_request: Vec::new(),
        p99_us: Vec::new(),
        syscalls_per_request: os.syscalls_per_request,
        ctx_switches_per_request: os.ctx_switches_per_request,
    };
    let mut n = Figures {
        syscalls_per_request: ns.syscalls_per_request,
        ctx_switches_per_request: ns.ctx_switches_per_request,
        ..o.clone()
    };
    for a in new.samples.iter().filter(|x| x.counts()) {
        let Some(b) = old
            .samples
            .iter()
            .find(|x| x.counts() && x.repeat == a.repeat)
        else {
            continue;
        };
        o.cpu_us_per_request.push(b.cpu_us_per_request());
        o.p99_us.push(b.gen.latency_us.p99);
        n.cpu_us_per_request.push(a.cpu_us_per_request());
        n.p99_us.push(a.gen.latency_us.p99);
    }
    Some((o, n))
}

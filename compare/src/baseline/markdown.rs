//! The report's section on the baseline: the table of changes and how verdicts are reached.

use std::fmt::Write;

use super::{BaselineComparison, Change, CountChange, Gate, Movement};
use crate::charts::format_value;
use crate::stats::Estimate;

/// A median with its interval: `12.3 [11.9–12.8]`.
fn with_ci(e: &Estimate, unit: &str) -> String {
    if e.n < 2 {
        return format!("{} (n={})", format_value(e.value, unit), e.n);
    }
    format!(
        "{} [{}–{}]",
        format_value(e.value, unit),
        format_value(e.low, unit),
        format_value(e.high, unit)
    )
}

/// A ratio with its interval: `1.08× [1.01–1.15]`.
fn ratio(e: &Estimate) -> String {
    format!("{:.2}× [{:.2}–{:.2}]", e.value, e.low, e.high)
}

/// The markdown section.
pub fn markdown(b: &BaselineComparison) -> String {
    let mut md = String::new();
    let count = |v: Movement| b.rows.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(md, "## Against the baseline\n");
    let method = if b.paired {
        format!(
            "Baseline build `{}`, run as NAME{} beside each design in every repeat (the two \
             interleaved, their order alternating). How a verdict is reached: for each repeat \
             where both were valid, the ratio design/baseline of a figure measured moments \
             apart, so the machine's drift between runs cancels out; the median of those \
             ratios, with a 95% bootstrap interval in brackets (above 1: slower or costlier). A \
             figure is a **regression** when its ratio exceeds {:.0}% above 1 **and** a \
             one-sided Wilcoxon signed-rank test over the log ratios gives p ≤ {} that they lean \
             this far upwards by chance: a figure of an unchanged build is called a regression \
             at most {:.0}% of the time (a row of two figures at most {:.0}%), whatever its \
             distribution. `unclear`: the interval reaches past the threshold but the test \
             cannot decide; the note says how many valid pairs would likely resolve it \
             (`--repeats`; the test needs {} to reach p ≤ {} at all).",
            b.path,
            super::paired::TWIN_SUFFIX,
            b.threshold * 100.0,
            b.alpha,
            b.alpha * 100.0,
            b.alpha * 200.0,
            crate::stats::pairs_for(b.alpha),
            b.alpha,
        )
    } else {
        format!(
            "Baseline `{}`. How a verdict is reached: over the valid repeats of each run (runs \
             the generator marked invalid, or taken under heavy outside load, are left out), the \
             ratio new/old of the medians, with a 95% bootstrap interval in brackets (above 1: \
             slower or costlier). A figure is a **regression** when its ratio exceeds {:.0}% \
             above 1 **and** a one-sided Mann–Whitney rank test gives p ≤ {} that the new \
             repeats rank this high by chance: a figure of an unchanged build is called a \
             regression at most {:.0}% of the time (a row of two figures at most {:.0}%), \
             whatever its distribution, as long as the machine's noise is alike in both runs \
             (a drift of the machine between the runs reads as a change: `--baseline-build` \
             measures both builds in one run instead). `unclear`: the interval reaches past the \
             threshold but the test cannot decide; the note says how many repeats per side \
             would likely resolve it (`--repeats`).",
            b.path,
            b.threshold * 100.0,
            b.alpha,
            b.alpha * 100.0,
            b.alpha * 200.0,
        )
    };
    let _ = writeln!(
        md,
        "{} regression(s), {} improvement(s), {} unclear, {} same.\n\n{method} System calls \
         and context switches per request come from one perf run per row on each side: judged \
         by a {:.0}% threshold alone (they move with the kernel's batching, not with a \
         neighbour). Verdicts are decided by: {} (`--gate`); the other figures are shown only.\n",
        count(Movement::Regression),
        count(Movement::Improvement),
        count(Movement::Unclear),
        count(Movement::Same),
        super::COUNT_THRESHOLD * 100.0,
        b.gates
            .iter()
            .map(|g| g.name())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = writeln!(md, "| scenario | design | CPU µs/req old → new | CPU ratio | p | p99 µs old → new | p99 ratio | p | syscalls/req ratio | ctx sw/req ratio | verdict |");
    let _ = writeln!(md, "|---|---|---|---:|---:|---|---:|---:|---:|---:|---|");
    let counted = |c: &Option<CountChange>| {
        c.map_or("–".to_string(), |c| {
            format!(
                "{} → {} ({:.2}×)",
                format_value(c.old, ""),
                format_value(c.new, ""),
                c.ratio
            )
        })
    };
    let show = |c: &Change| format!("{} → {}", with_ci(&c.old, ""), with_ci(&c.new, ""));
    let mut notes = Vec::new();
    for r in &b.rows {
        let verdict = match r.verdict {
            Movement::Same => "same".to_string(),
            v => format!("**{}**", v.label()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.3} | {} | {} | {:.3} | {} | {} | {verdict} |",
            r.scenario,
            r.design,
            show(&r.cpu),
            ratio(&r.cpu.ratio),
            r.cpu.p_worse.min(r.cpu.p_better),
            show(&r.p99),
            ratio(&r.p99.ratio),
            r.p99.p_worse.min(r.p99.p_better),
            counted(&r.syscalls),
            counted(&r.ctx_switches),
        );
        for (gate, what, c) in [
            (Gate::Cpu, "CPU per request", &r.cpu),
            (Gate::P99, "p99", &r.p99),
        ] {
            if c.verdict != Movement::Unclear || !b.gates.contains(&gate) {
                continue;
            }
            let per = if b.paired {
                "pairs"
            } else {
                "repeats per side"
            };
            let need = c.repeats_needed.map_or_else(
                || "no number of repeats will: the change sits on the threshold".to_string(),
                |n| format!("about {n} valid {per} would likely resolve it"),
            );
            notes.push(format!(
                "- `{}` / `{}`: {what} too noisy to conclude ({} valid repeats old, {} new); {need}.",
                r.scenario, r.design, c.old.n, c.new.n
            ));
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n{}", notes.join("\n"));
    }
    if !b.only_in_baseline.is_empty() {
        let _ = writeln!(
            md,
            "\nOnly in the baseline (not compared): {}.",
            b.only_in_baseline.join(", ")
        );
    }
    let _ = writeln!(md);
    md
}

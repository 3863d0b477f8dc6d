//! The conclusions section: each design's server CPU per request as a ratio to a reference
//! design, scenario by scenario, with a 95% interval, and what the interval allows one to say.

use std::fmt::Write;

use crate::measurement::{Outcome, Row, ScenarioResult};
use crate::stats::{self, Estimate};

/// The design the others are compared with: `reactor` when it ran, else the first.
fn reference(outcome: &Outcome) -> Option<&str> {
    let names = || outcome.designs.iter().map(|d| d.name.as_str());
    names().find(|n| *n == "reactor").or_else(|| names().next())
}

/// Server CPU µs per request of the row's valid repeats.
fn cpu_values(row: &Row) -> Vec<f64> {
    row.samples
        .iter()
        .filter(|s| s.counts())
        .map(|s| s.cpu_us_per_request())
        .collect()
}

/// What a ratio's interval allows: cheaper, costlier, or no conclusion (and what would give one).
pub fn conclusion(ratio: &Estimate, reference: &str) -> String {
    if ratio.n < 2 {
        return "too few valid runs to conclude".into();
    }
    if ratio.high < 1.0 {
        format!("cheaper than `{reference}`")
    } else if ratio.low > 1.0 {
        format!("costlier than `{reference}`")
    } else {
        let more = stats::repeats_to_resolve(ratio, 1.0, 0.05, false).map_or_else(
            || "they cost the same within the noise".to_string(),
            |n| format!("about {n} valid repeats each would likely tell"),
        );
        format!("no conclusion: the interval spans 1; {more}")
    }
}

/// The section, when there are at least two designs.
pub fn section(md: &mut String, outcome: &Outcome, scenarios: &[&ScenarioResult]) {
    let Some(reference) = reference(outcome) else {
        return;
    };
    if outcome.designs.len() < 2 {
        return;
    }
    let _ = writeln!(
        md,
        "## Conclusions: server CPU per request against `{reference}`\n\n\
         The ratio of the medians over the valid runs (above 1: costlier than `{reference}`), with \
         a 95% bootstrap interval in brackets. A conclusion is drawn only when the interval lies \
         wholly on one side of 1; with few repeats the interval is itself rough.\n"
    );
    let _ = writeln!(
        md,
        "| scenario | design | CPU/request ratio [95% CI] | conclusion |"
    );
    let _ = writeln!(md, "|---|---|---:|---|");
    for s in scenarios {
        let Some(base) = s.rows.iter().find(|r| r.design == reference) else {
            continue;
        };
        let base = cpu_values(base);
        for row in s.rows.iter().filter(|r| r.design != reference) {
            if row.summary.is_none() {
                continue;
            }
            let ratio = stats::ratio_ci(&base, &cpu_values(row));
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} [{:.2}–{:.2}] | {} |",
                s.scenario.id,
                row.design,
                ratio.value,
                ratio.low,
                ratio.high,
                conclusion(&ratio, reference)
            );
        }
    }
    let _ = writeln!(md);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(value: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            value,
            low,
            high,
            n: 3,
        }
    }

    #[test]
    fn a_conclusion_needs_the_interval_on_one_side_of_one() {
        assert!(conclusion(&est(0.8, 0.7, 0.9), "reactor").starts_with("cheaper"));
        assert!(conclusion(&est(1.3, 1.1, 1.5), "reactor").starts_with("costlier"));
        let open = conclusion(&est(1.05, 0.95, 1.15), "reactor");
        assert!(
            open.starts_with("no conclusion") && open.contains("repeats"),
            "{open}"
        );
        let one = Estimate {
            n: 1,
            ..est(2.0, 2.0, 2.0)
        };
        assert!(conclusion(&one, "reactor").starts_with("too few"));
    }
}

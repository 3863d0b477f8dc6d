//! What a row's summary means for the comparison: failures (errors, unverified answers,
//! nothing answered) and notes (noise, invalid repeats, steal).

use super::results::Summary;
use crate::plan::{Proto, Scenario};

/// Other processes' share of the measured cores above which a row gets a noise note.
const OTHER_LOAD_NOTE: f64 = 0.1;

/// Turns a summary into failures (errors, unverified echoes, nothing done) and notes.
pub(crate) fn check_summary(
    summary: &Summary,
    scenario: &Scenario,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if summary.errors > 0 {
        failures.push(format!("{} request errors", summary.errors));
    }
    if summary.verify_failures > 0 {
        failures.push(format!(
            "{} responses failed verification",
            summary.verify_failures
        ));
    }
    if summary.requests == 0 {
        failures.push(match &summary.first_invalid_reason {
            Some(why) => format!("no run completed a request (first run: {why})"),
            None => "no run completed a request".into(),
        });
    }
    if scenario.proto == Proto::Udp && summary.udp_lost > 0 {
        notes.push(format!("{} datagrams lost", summary.udp_lost));
    }
    if summary.other_util > OTHER_LOAD_NOTE {
        notes.push(format!(
            "other processes kept {:.0}% of the measured cores busy: numbers are noisy",
            summary.other_util * 100.0
        ));
    }
    if summary.invalid_runs > 0 {
        let first = summary
            .first_invalid_reason
            .as_deref()
            .unwrap_or("no reason given");
        notes.push(format!(
            "generator self-check marked {} run(s) invalid (left out of every figure), e.g. \
             {first}",
            summary.invalid_runs
        ));
    }
    if summary.noisy_runs > 0 {
        notes.push(format!(
            "{} run(s) taken under heavy outside load (see --max-outside-load) left out of \
             every figure",
            summary.noisy_runs,
        ));
    }
    if summary.valid_runs == 0 {
        notes.push("no valid run: no figures for this row".into());
    }
    if summary.steal_util > 0.02 {
        notes.push(format!(
            "the hypervisor took {:.0}% of the measured cores (steal)",
            summary.steal_util * 100.0
        ));
    }
}

use super::*;

#[test]
fn a_change_counts_only_above_the_threshold_and_past_the_rank_test() {
    let old = [5.0, 5.1, 4.9, 5.05, 4.95];
    let worse = [8.0, 8.2, 7.9, 8.1, 8.05];
    assert_eq!(
        assess(&old, &worse, 0.03, ALPHA).verdict,
        Movement::Regression
    );
    assert_eq!(
        assess(&worse, &old, 0.03, ALPHA).verdict,
        Movement::Improvement
    );
    // Separated, but below the threshold, interval and all.
    let tight = [5.0, 5.01, 4.99, 5.005, 4.995];
    let slightly = [5.06, 5.065, 5.07, 5.075, 5.08];
    let c = assess(&tight, &slightly, 0.03, ALPHA);
    assert_eq!(c.verdict, Movement::Same, "{c:?}");
    // The same change with a wider spread: the interval reaches past 3%, no conclusion.
    let c = assess(&old, &slightly, 0.03, ALPHA);
    assert_eq!(c.verdict, Movement::Unclear, "{c:?}");
    // A large change from three repeats: the rank test cannot reach 1% (1/20 at best).
    let c = assess(&old[..3], &worse[..3], 0.03, ALPHA);
    assert_eq!(c.verdict, Movement::Unclear);
    assert!(c.repeats_needed.is_some_and(|n| n >= 5), "{c:?}");
    // Overlapping and wide: unclear, not a regression.
    let noisy = [4.0, 9.0, 5.0, 7.0, 6.0];
    assert_eq!(assess(&old, &noisy, 0.03, ALPHA).verdict, Movement::Unclear);
    // Nothing to compare against.
    assert_eq!(assess(&[], &old, 0.03, ALPHA).verdict, Movement::Same);
}

fn row(design: &str, cpu: &[f64], p99: &[f64]) -> KeyedRow {
    KeyedRow {
        scenario: "tcp".into(),
        design: design.into(),
        figures: Figures {
            cpu_us_per_request: cpu.to_vec(),
            p99_us: p99.to_vec(),
            syscalls_per_request: None,
            ctx_switches_per_request: None,
        },
    }
}

#[test]
fn rows_take_the_worst_figure_and_unmatched_rows_are_listed() {
    let five = |x: f64| [x, x * 1.01, x * 0.99, x * 1.02, x * 0.98];
    let old = vec![
        row("reactor", &five(5.0), &five(100.0)),
        row("gone", &five(5.0), &five(100.0)),
    ];
    let new = vec![
        row("reactor", &five(3.0), &five(300.0)),
        row("new", &five(1.0), &five(1.0)),
    ];
    let b = compare("old.json", &old, &new, 0.03, &[Gate::Cpu, Gate::P99]);
    assert_eq!(b.rows.len(), 1);
    assert_eq!(b.rows[0].cpu.verdict, Movement::Improvement);
    assert_eq!(b.rows[0].verdict, Movement::Regression, "p99 tripled");
    assert!(b.has_regression());
    assert_eq!(b.only_in_baseline, ["tcp / gone"]);
    assert!(markdown(&b).contains("**regression**"));
    // Gated on CPU alone, the tripled p99 is shown but decides nothing.
    let b = compare("old.json", &old, &new, 0.03, &[Gate::Cpu]);
    assert_eq!(b.rows[0].verdict, Movement::Improvement);
}

#[test]
fn counted_figures_are_assessed_by_the_threshold_and_gate_when_asked() {
    let mut old = row("reactor", &[5.0; 5], &[100.0; 5]);
    old.figures.syscalls_per_request = Some(3.0);
    let mut new = old.clone();
    new.figures.syscalls_per_request = Some(4.0);
    let gates = [Gate::Cpu, Gate::Syscalls];
    let b = compare("old.json", &[old.clone()], &[new.clone()], 0.03, &gates);
    assert_eq!(b.rows[0].verdict, Movement::Regression, "one more syscall");
    let b = compare("old.json", &[old.clone()], &[new], 0.03, &[Gate::Cpu]);
    assert_eq!(b.rows[0].verdict, Movement::Same);
    let b = compare("old.json", &[old.clone()], &[old], 0.03, &gates);
    assert_eq!(b.rows[0].verdict, Movement::Same);
    assert!(assess_count(None, Some(1.0), 0.03).is_none());
}

#[test]
fn the_same_figures_are_same() {
    let rows = vec![row("reactor", &[5.0, 5.02, 4.98], &[100.0, 101.0, 99.0])];
    let b = compare("old.json", &rows, &rows, 0.03, &[Gate::Cpu, Gate::P99]);
    assert_eq!(b.rows[0].verdict, Movement::Same);
    assert!(!b.has_regression());
}

#[test]
fn reports_give_their_valid_repeats_only() {
    let sample = |valid: bool, cpu: f64, p99: f64| {
        serde_json::json!({"gen": {"valid": valid, "requests": 1000,
            "latency_us": {"p99": p99}}, "server_cpu_s": cpu})
    };
    let v = serde_json::json!({"outcome": {"scenarios": [{"scenario": {"id": "a"}, "rows": [
        {"design": "x", "summary": {}, "samples": [
            sample(true, 0.005, 80.0), sample(false, 0.5, 9000.0), sample(true, 0.006, 90.0)]},
        {"design": "y", "summary": null}
    ]}]}});
    let rows = rows_of_json(&v).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].figures.p99_us, [80.0, 90.0]);
    assert_eq!(rows[0].figures.cpu_us_per_request, [5.0, 6.0]);
    assert!(rows_of_json(&serde_json::json!({})).is_err());
}

#[test]
fn pairs_cancel_a_drift_that_two_runs_would_read_as_a_change() {
    // The machine slows down repeat by repeat; both builds drift alike.
    let old = [5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0];
    let same: Vec<f64> = old
        .iter()
        .zip([1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01])
        .map(|(o, f)| o * f)
        .collect();
    assert_eq!(
        assess_pairs(&old, &same, 0.03, ALPHA).verdict,
        Movement::Same
    );
    // 10% slower in every repeat: a regression, though the groups overlap as wholes.
    let slower: Vec<f64> = old
        .iter()
        .zip([1.11, 1.09, 1.1, 1.12, 1.08, 1.1, 1.1])
        .map(|(o, f)| o * f)
        .collect();
    let c = assess_pairs(&old, &slower, 0.03, ALPHA);
    assert_eq!(c.verdict, Movement::Regression, "{c:?}");
    assert!((c.ratio.value - 1.1).abs() < 0.011, "{c:?}");
    assert_ne!(
        assess(&old, &slower, 0.03, ALPHA).verdict,
        Movement::Regression
    );
    assert_eq!(
        assess_pairs(&slower, &old, 0.03, ALPHA).verdict,
        Movement::Improvement
    );
}

#[test]
fn five_pairs_cannot_reach_one_percent() {
    let old = [5.0; 5];
    let worse = [6.0, 6.1, 6.2, 6.3, 6.4];
    let c = assess_pairs(&old, &worse, 0.03, ALPHA);
    // Every ratio above 1.2, but 2^-5 > 1%: the verdict waits for more pairs.
    assert_eq!(c.verdict, Movement::Unclear, "{c:?}");
    assert_eq!(c.repeats_needed, Some(7));
}

#[test]
fn a_twin_runs_the_baseline_build_and_peers_have_none() {
    use crate::plan::designs;
    let all = designs::parse_built_in().unwrap();
    let reactor = all.iter().find(|d| d.name == "reactor").unwrap();
    let dir = std::path::Path::new("/opt/base");
    let t = paired::twin(reactor, dir).unwrap();
    assert_eq!(t.name, "reactor@baseline");
    assert!(
        t.command.iter().any(|a| a.starts_with("/opt/base/")),
        "{:?}",
        t.command
    );
    assert!(!t.command.iter().any(|a| a.contains("{bin_dir}")));
    let nginx = all.iter().find(|d| d.name == "nginx").unwrap();
    assert!(paired::twin(nginx, dir).is_none());
    let with = paired::with_twins(vec![reactor.clone(), nginx.clone()], dir).unwrap();
    let names: Vec<&str> = with.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["reactor", "reactor@baseline", "nginx"]);
    assert!(paired::with_twins(vec![nginx.clone()], dir).is_err());
    assert!(paired::with_twins(vec![reactor.clone()], std::path::Path::new("/a{b}")).is_err());
}

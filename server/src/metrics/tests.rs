//! Tests of the metrics: the exposition format and what the reactors publish.

use std::time::Duration;

use super::exposition::seconds;
use super::*;
use crate::stats::CloseReason;
use crate::tls::TlsFailure;

fn snapshot() -> Snapshot {
    let mut s = Snapshot::default();
    s.stats.accepted = 3;
    s.stats.record_close(CloseReason::IdleTimeout);
    s.loop_stats.record_turn(0, Duration::from_micros(3));
    s.loop_stats.record_turn(5, Duration::from_millis(2));
    s.loop_stats.record_turn(5000, Duration::from_secs(3));
    s.timers_pending = 7;
    s.stats
        .tls
        .record_handshake(true, Some(rustls::ProtocolVersion::TLSv1_3));
    s.stats
        .tls
        .record_handshake(true, Some(rustls::ProtocolVersion::TLSv1_3));
    s.stats.tls.record_failure(TlsFailure::Timeout, true);
    s
}

fn rendered(snapshots: &[Snapshot]) -> String {
    let mut text = String::new();
    render(snapshots, &mut text);
    text
}

#[test]
fn every_family_has_help_and_type_and_conventional_names() {
    let text = rendered(&[snapshot()]);
    for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
        let parts: Vec<&str> = line.split(' ').collect();
        let (name, kind) = (parts[2], parts[3]);
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} lacks HELP"
        );
        assert!(name.starts_with("reactor_"), "{name}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name}");
        }
    }
    assert!(text.contains("reactor_connections_accepted_total 3\n"));
    assert!(text.contains("reactor_connections_closed_total{reason=\"idle_timeout\"} 1\n"));
    assert!(text.contains("reactor_timers_pending 7\n"));
    assert!(text.contains("reactor_tls_handshakes_total{kind=\"resumed\"} 2\n"));
    assert!(text.contains("reactor_tls_handshake_failures_total{reason=\"timeout\"} 1\n"));
    assert!(text.contains("reactor_tls_versions_total{version=\"1.3\"} 2\n"));
}

#[test]
fn histograms_are_cumulative_with_inf_sum_and_count() {
    let text = rendered(&[snapshot()]);
    assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"0\"} 1\n"));
    assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"8\"} 2\n"));
    assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"1024\"} 2\n"));
    assert!(text.contains("reactor_loop_events_per_turn_bucket{le=\"+Inf\"} 3\n"));
    assert!(text.contains("reactor_loop_events_per_turn_count 3\n"));
    assert!(text.contains("reactor_loop_events_per_turn_sum 5005\n"));
    assert!(text.contains("reactor_loop_turn_duration_seconds_bucket{le=\"0.000005\"} 1\n"));
    assert!(text.contains("reactor_loop_turn_duration_seconds_bucket{le=\"0.0025\"} 2\n"));
    assert!(text.contains("reactor_loop_turn_duration_seconds_sum 3.002003\n"));
}

#[test]
fn several_reactors_are_labelled_apart() {
    let text = rendered(&[snapshot(), Snapshot::default()]);
    assert!(text.contains("reactor_connections_accepted_total{reactor=\"0\"} 3\n"));
    assert!(text.contains("reactor_connections_accepted_total{reactor=\"1\"} 0\n"));
    assert!(
        text.contains("reactor_connections_closed_total{reactor=\"1\",reason=\"shutdown\"} 0\n")
    );
    assert!(text.contains("reactor_loop_turns_total{reactor=\"0\"} 3\n"));
    assert!(text.contains("reactor_loop_events_per_turn_count{reactor=\"1\"} 0\n"));
    // Each family's HELP/TYPE appears once, not once per reactor.
    assert_eq!(text.matches("# TYPE reactor_loop_turns_total").count(), 1);
}

#[test]
fn published_snapshots_are_what_render_shows() {
    let metrics = Metrics::new(2);
    metrics.publish(1, &snapshot());
    metrics.publish(9, &snapshot()); // no such reactor: ignored
    let mut out = Vec::new();
    metrics.render(&mut out);
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("reactor_timers_pending{reactor=\"1\"} 7\n"));
    assert!(text.contains("reactor_timers_pending{reactor=\"0\"} 0\n"));
}

#[test]
fn seconds_are_exact_decimals() {
    assert_eq!(seconds(2_500_000), "0.0025");
    assert_eq!(seconds(1_000_000_000), "1");
    assert_eq!(seconds(5_000), "0.000005");
}

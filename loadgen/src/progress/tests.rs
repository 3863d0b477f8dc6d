//! Tests of the progress line: what it shows in each phase.

use super::*;

const S: u64 = NS_PER_SEC;

#[test]
fn a_timed_run_goes_through_every_phase() {
    let mut line = LineState::new(10, Goal::Time(10 * S), 0);
    line.connected(4);
    assert_eq!(
        line.render(S / 2),
        "connecting 4/10 connections · 0s elapsed"
    );
    line.connected(6);
    line.warming_up(S, 4 * S);
    assert_eq!(
        line.render(2 * S),
        "warm-up    1s elapsed, 2s left · nothing recorded yet"
    );
    line.measuring(4 * S);
    assert_eq!(
        line.render(4 * S + S / 2),
        "measuring  0s elapsed, 10s left · - req/s · p99 - · 0 errors"
    );
    line.interval(S, 41_230, 0, 312_400);
    line.interval(S, 40_000, 2, 420_000);
    assert_eq!(
        line.render(11 * S),
        "measuring  7s elapsed, 3s left · 40,000 req/s · p99 420.0 µs · 2 errors"
    );
    // Past the goal the line drains, whether or not a worker said so yet.
    assert!(line.render(15 * S).starts_with("draining   10s measured"));
    line.draining(16 * S);
    assert_eq!(
        line.render(16 * S),
        "draining   10s measured · awaiting the last responses · 40,000 req/s · \
         p99 420.0 µs · 2 errors"
    );
}

#[test]
fn a_request_count_run_shows_requests_done_and_an_estimate() {
    let mut line = LineState::new(1, Goal::Requests(100_000), 0);
    line.measuring(0);
    line.interval(S, 25_000, 1, 2_000_000);
    assert_eq!(
        line.render(S),
        "measuring  1s elapsed · 25,000/100,000 requests, about 3s left · 25,000 req/s · \
         p99 2.00 ms · 1 error"
    );
    line.interval(S, 75_000, 1, 2_000_000);
    assert!(line.render(2 * S).starts_with("draining "));
}

#[test]
fn long_times_and_large_numbers_read_well() {
    assert_eq!(secs(65 * S), "1m05s");
    assert_eq!(secs(3720 * S), "1h02m");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn nothing_is_drawn_off_a_terminal_or_with_the_json_on_stdout() {
    assert!(should_draw(true, false));
    assert!(!should_draw(false, false), "a pipe or a file");
    assert!(!should_draw(true, true), "--json - on a terminal");
    assert!(!should_draw(false, true));
    let progress = Progress::new(false, 4, Goal::Time(S));
    progress.connected(4);
    assert!(!progress.is_drawn());
    assert!(progress.line().starts_with("connecting 4/4 connections"));
}

//! Tests of open-loop pacing: which requests are due, which wait, and how the loop waits.

use super::*;
use crate::cli::Arrival;

#[derive(Default)]
struct Late(Vec<u64>);
impl PaceLog for Late {
    fn noticed(&mut self, _: u64, lateness: u64) {
        self.0.push(lateness);
    }
}

fn pacer(rate: f64) -> Pacer {
    Pacer::new(
        Schedule::new(1_000_000, rate, Arrival::Uniform, 0.0, None, 1),
        4,
        1,
    )
}

#[test]
fn every_due_request_is_taken_in_one_pass_with_its_lateness() {
    // 100k/s: one every 10 µs from t = 1 ms.
    let mut p = pacer(100_000.0);
    let mut late = Late::default();
    assert_eq!(p.take_due(999_999, |_| true, &mut late), 0);
    assert_eq!(p.take_due(1_025_000, |_| true, &mut late), 3);
    assert_eq!(late.0, vec![25_000, 15_000, 5_000]);
    assert_eq!(p.next_send(), Some(1_030_000));
    assert_eq!(
        p.front(),
        Some(Due {
            intended: 1_000_000,
            noticed: 1_025_000
        })
    );
}

#[test]
fn a_spent_quota_stops_the_schedule() {
    let mut p = pacer(100_000.0);
    let mut late = Late::default();
    let mut left = 2;
    let n = p.take_due(
        2_000_000,
        |_| {
            left -= 1;
            left >= 0
        },
        &mut late,
    );
    assert_eq!(n, 2);
    assert_eq!(p.next_send(), None);
}

#[test]
fn resent_requests_go_first() {
    let mut p = pacer(1_000.0);
    let mut late = Late::default();
    p.take_due(1_000_000, |_| true, &mut late);
    p.resend(5, 7);
    assert_eq!(p.front().map(|d| d.intended), Some(5));
    p.pop();
    assert_eq!(p.front().map(|d| d.intended), Some(1_000_000));
}

#[test]
fn a_sleep_through_responses_ends_before_the_free_slots_run_out() {
    // 100k/s (a send every 10 µs) from t = 1 ms, 4 slots of pipeline 1.
    let mut p = pacer(100_000.0);
    let now = 990_000;
    // No free slot: the sleep may last until the next send, not past it.
    assert_eq!(p.sleep_through_until(now, 2_000_000), Some(1_000_000));
    for idx in 0..4 {
        p.release(idx);
    }
    // Four free slots last two sends past the next one (half in reserve): 20 µs.
    assert_eq!(p.sleep_through_until(now, 2_000_000), Some(1_020_000));
    // A nearer wake-up stands.
    assert_eq!(p.sleep_through_until(now, 1_005_000), Some(1_005_000));
    // Requests waiting for a slot: responses must be read at once.
    let mut late = Late::default();
    p.take_due(1_000_000, |_| true, &mut late);
    assert_eq!(p.sleep_through_until(1_000_000, 2_000_000), None);
}

#[test]
fn a_sleep_before_the_next_send_needs_no_free_slot_and_a_stopped_pacer_forbids_it() {
    // 1k/s: the next send is at 1 ms; housekeeping at 0.8 ms comes first.
    let mut p = pacer(1_000.0);
    assert_eq!(p.sleep_through_until(0, 800_000), Some(800_000));
    // One free slot is all reserve: to the send, not past it.
    p.release(0);
    assert_eq!(p.sleep_through_until(0, 1_500_000), Some(1_000_000));
    // Two last one gap past it: the sleep may run to its wake-up.
    p.release(1);
    assert_eq!(p.sleep_through_until(0, 1_500_000), Some(1_500_000));
    assert_eq!(p.sleep_through_until(0, 2_500_000), Some(2_000_000));
    // Draining: the last responses end the run, so they are read as they come.
    p.stop();
    assert_eq!(p.sleep_through_until(0, 800_000), None);
}

const HK: u64 = 1_000_000_000;

/// Sends every 10 µs.
fn policy(lateness_allowance_ns: u64, overshoot_ns: u64) -> WaitPolicy {
    WaitPolicy {
        lateness_allowance_ns,
        overshoot_ns,
        gap_ns: 10_000,
    }
}

#[test]
fn with_no_send_before_housekeeping_the_loop_sleeps_until_then() {
    let idle = Wait::Sleep { wake: HK };
    assert_eq!(plan_wait(0, None, HK, policy(600_000, 50_000)), idle);
    // A send after housekeeping needs no timer: housekeeping wakes the loop first.
    assert_eq!(
        plan_wait(0, Some(HK + 5), HK, policy(600_000, 50_000)),
        idle
    );
    // A coalesced sleep for a send before housekeeping may end after it.
    assert_eq!(
        plan_wait(0, Some(HK - 5), HK, policy(600_000, 50_000)),
        Wait::Sleep {
            wake: HK - 5 + 550_000
        }
    );
}

#[test]
fn a_due_send_is_handled_without_blocking() {
    for p in [policy(600_000, 50_000), policy(60_000, 200_000)] {
        assert_eq!(
            plan_wait(1_000, Some(500), HK, p),
            Wait::Glance { until: 500 }
        );
        assert_eq!(
            plan_wait(1_000, Some(1_000), HK, p),
            Wait::Glance { until: 1_000 }
        );
    }
}

#[test]
fn when_a_sleep_fits_the_budget_sends_coalesce_behind_the_slack() {
    // Budget 600 µs, wake-ups 200 µs late: sleep 400 µs past the send time, so a request
    // due then is noticed about 600 µs late at worst and every one due meanwhile with it.
    assert_eq!(
        plan_wait(0, Some(10_000), HK, policy(600_000, 200_000)),
        Wait::Sleep { wake: 410_000 }
    );
    // However close the send: the sleep still fits.
    assert_eq!(
        plan_wait(9_999, Some(10_000), HK, policy(600_000, 200_000)),
        Wait::Sleep { wake: 410_000 }
    );
}

#[test]
fn sends_further_apart_than_the_slack_are_not_held_back() {
    // Budget 600 µs, wake-ups 200 µs late, a send every 1 ms: no batch to wait for.
    let sparse = WaitPolicy {
        gap_ns: 1_000_000,
        ..policy(600_000, 200_000)
    };
    assert_eq!(
        plan_wait(0, Some(10_000), HK, sparse),
        Wait::Sleep { wake: 10_000 }
    );
}

#[test]
fn when_a_sleep_breaks_the_budget_the_loop_wakes_early_and_waits_on_the_clock() {
    // Budget 60 µs, wake-ups 200 µs late: a sleep must end 205 µs before the send.
    let p = policy(60_000, 200_000);
    assert_eq!(
        plan_wait(0, Some(1_000_000), HK, p),
        Wait::Sleep {
            wake: 1_000_000 - 200_000 - EARLY_MARGIN_NS
        }
    );
    // Too close for any sleep: glance at I/O and wait on the clock.
    assert_eq!(
        plan_wait(800_000, Some(1_000_000), HK, p),
        Wait::Glance { until: 1_000_000 }
    );
    // An overshoot equal to the budget leaves no slack: no coalescing either.
    assert_eq!(
        plan_wait(990_000, Some(1_000_000), HK, policy(200_000, 200_000)),
        Wait::Glance { until: 1_000_000 }
    );
}

#[test]
fn the_peak_backlog_is_reported_and_reset() {
    let mut p = pacer(100_000.0);
    let mut late = Late::default();
    p.take_due(1_100_000, |_| true, &mut late);
    assert_eq!(p.take_peak(), (11, false));
    for _ in 0..11 {
        p.pop();
    }
    assert_eq!(p.take_peak(), (11, false), "peak since the last call");
    assert_eq!(p.take_peak(), (0, false));
}

//! Tests of what the workers measure: counters and histograms, recorded and added up.

use super::*;

#[test]
fn connect_errors_are_classified_by_errno() {
    let kind = |code| ConnectFailure::of(&std::io::Error::from_raw_os_error(code));
    assert_eq!(kind(libc::ECONNREFUSED), ConnectFailure::Refused);
    assert_eq!(kind(libc::ETIMEDOUT), ConnectFailure::TimedOut);
    assert_eq!(kind(libc::ECONNRESET), ConnectFailure::Reset);
    assert_eq!(kind(libc::EADDRNOTAVAIL), ConnectFailure::NoLocalAddress);
    assert_eq!(kind(libc::EADDRINUSE), ConnectFailure::NoLocalAddress);
    assert_eq!(kind(libc::EACCES), ConnectFailure::Other);
    let mut f = ConnectFailures::default();
    f.count(ConnectFailure::Refused);
    f.count(ConnectFailure::NoLocalAddress);
    let mut total = ConnectFailures::default();
    total += f;
    total += f;
    assert_eq!(
        (total.refused, total.no_local_address, total.reset),
        (2, 2, 0)
    );
}

#[test]
fn merging_adds_counts() {
    let mut a = Recorder::default();
    let mut b = Recorder::default();
    a.response(0, 0, 0, 1_000);
    b.response(0, 200, 500, 3_000);
    b.timeout(0, 0, 0, 2_000_000_000);
    b.status(503);
    a.add(&b);
    assert_eq!(a.counters.requests, 2);
    assert_eq!(a.counters.errors.timeout, 1);
    assert_eq!(a.counters.errors.http_status, 1);
    assert_eq!(a.counters.status[503], 1);
    assert_eq!(a.hist.latency.len(), 3);
    assert!(a.hist.latency.max() >= 1_999_000_000);
    // The headline starts when the request was noticed due, not when it was intended.
    assert!(a.hist.latency.equivalent(a.hist.latency.min(), 1_000));
    assert_eq!(a.hist.latency.count_between(2_790, 2_810), 1);
    assert_eq!(a.hist.intended_latency.count_between(2_990, 3_010), 1);
}

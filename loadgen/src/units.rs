//! How durations and histogram rows are written for people; shared by the run, its report
//! and `merge`, so none of them has to import another for formatting.

use hdrhistogram::Histogram;

use crate::clock::NS_PER_SEC;

/// One summary line of a histogram: `  name       p50 …  p75 …  …  max …` (or `-` when empty),
/// shared by the run summary and `merge`.
pub fn percentile_row(name: &str, h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return format!("  {name:<10} -\n");
    }
    let q = |x| format_ns(h.value_at_quantile(x));
    format!(
        "  {name:<10} p50 {}  p75 {}  p90 {}  p99 {}  p99.9 {}  p99.99 {}  max {}\n",
        q(0.5),
        q(0.75),
        q(0.9),
        q(0.99),
        q(0.999),
        q(0.9999),
        format_ns(h.max())
    )
}

/// A duration in nanoseconds in a unit that suits it: `850 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`.
pub fn format_ns(ns: u64) -> String {
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", v / 1e3)
    } else if ns < NS_PER_SEC {
        format!("{:.2} ms", v / 1e6)
    } else {
        format!("{:.2} s", v / 1e9)
    }
}

/// `n` things, spelled right: "1 thread", "2 threads".
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

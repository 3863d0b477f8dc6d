use super::chart_set::short;
use super::*;

#[test]
fn thousands_are_grouped() {
    assert_eq!(group(1_234_567.8), "1,234,568");
    assert_eq!(group(999.0), "999");
    assert_eq!(group(f64::NAN), "n/a");
}

#[test]
fn curve_titles_shorten_at_the_colon() {
    assert_eq!(short("TCP 64c: latency"), "TCP 64c");
    assert_eq!(short("plain"), "plain");
}

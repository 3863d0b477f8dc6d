use super::*;

#[test]
fn log_range_covers_the_values_in_decades() {
    assert_eq!(log_range([15.0, 230.0].into_iter()), (10.0, 1000.0));
    assert_eq!(log_range([f64::NAN].into_iter()), (1.0, 10.0));
}

#[test]
fn values_are_short() {
    assert_eq!(format_value(1_234_567.0, ""), "1.23M");
    assert_eq!(format_value(45_678.0, "req/s"), "46k req/s");
    assert_eq!(format_value(f64::NAN, "µs"), "n/a");
}

#[test]
fn charts_are_well_formed_svg() {
    let bars = bar_panels(
        "t",
        "req/s",
        &[BarPanel {
            title: "a<b".into(),
            bars: vec![
                Bar {
                    index: 0,
                    name: "x".into(),
                    value: 5.0,
                    interval: Some((4.0, 6.0)),
                },
                Bar {
                    index: 1,
                    name: "y".into(),
                    value: f64::NAN,
                    interval: None,
                },
            ],
        }],
    );
    assert!(bars.starts_with("<svg") && bars.trim_end().ends_with("</svg>"));
    assert!(
        bars.contains("95% interval 4.00 req/s to 6.00 req/s"),
        "{bars}"
    );
    assert!(bars.contains("no valid run"), "{bars}");
    assert!(bars.contains("a&lt;b"));
    let curves = curve_panels(
        "t",
        &[CurvePanel {
            title: "s".into(),
            curves: vec![(0, "x".into(), vec![("p50", 10.0), ("max", 100.0)])],
        }],
    );
    assert!(curves.contains("<polyline"));
    let lines = line_panels(
        "t",
        &[LinePanel {
            title: "p99".into(),
            x_unit: "req/s".into(),
            y_unit: "µs".into(),
            log_y: true,
            series: vec![(0, "x".into(), vec![(1000.0, 50.0), (2000.0, 80.0)])],
        }],
    );
    assert!(lines.contains("<polyline") && lines.contains("<circle"));
}

#[test]
fn ceilings_are_round() {
    assert_eq!(nice_ceiling(3.2), 5.0);
    assert_eq!(nice_ceiling(12.0), 20.0);
    assert_eq!(nice_ceiling(0.07), 0.1);
}

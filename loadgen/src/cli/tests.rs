//! Tests of the load generator's command line: parsing and its checks.

use super::*;

#[test]
fn rates_take_si_suffixes() {
    assert_eq!(parse_rate("5000"), Ok(5000.0));
    assert_eq!(parse_rate("10k"), Ok(10_000.0));
    assert_eq!(parse_rate("1.5M"), Ok(1_500_000.0));
    assert_eq!(parse_rate("2k/s"), Ok(2_000.0));
    assert!(parse_rate("0").is_err() && parse_rate("NaN").is_err());
    assert!(parse_rate("10m").is_err(), "m is not mega");
}

#[test]
fn an_slo_threshold_needs_a_unit() {
    assert!("p99=5".parse::<Slo>().is_err());
    assert_eq!("p99=5ms".parse::<Slo>().map(|s| s.limit_ns), Ok(5_000_000));
}

#[test]
fn sizes_parse() {
    assert_eq!("64".parse(), Ok(SizeSpec { min: 64, max: 64 }));
    assert_eq!("16..1024".parse(), Ok(SizeSpec { min: 16, max: 1024 }));
    assert!("0".parse::<SizeSpec>().is_err());
    assert!("9..3".parse::<SizeSpec>().is_err());
    assert_eq!(
        "1KiB".parse(),
        Ok(SizeSpec {
            min: 1024,
            max: 1024
        })
    );
    assert_eq!("16..=4KiB".parse(), Ok(SizeSpec { min: 16, max: 4096 }));
    let err = "64 parsecs".parse::<SizeSpec>().unwrap_err();
    assert!(err.contains("8MiB"), "names the expected form: {err}");
}

#[test]
fn slo_parses() {
    let slo: Slo = "p99.9=5ms".parse().unwrap();
    assert!((slo.quantile - 0.999).abs() < 1e-9);
    assert_eq!(slo.limit_ns, 5_000_000);
    assert!("99=1ms".parse::<Slo>().is_err());
}

#[test]
fn counts_take_si_suffixes_and_bad_values_name_the_form() {
    let cli = Cli::try_parse_from([
        "reactor-loadgen",
        "tcp",
        "127.0.0.1:7000",
        "--requests",
        "10k",
        "-c",
        "1k",
    ])
    .unwrap();
    match cli.command {
        Some(Command::Tcp(a)) => assert_eq!((a.requests, a.connections), (Some(10_000), 1000)),
        other => panic!("unexpected {other:?}"),
    }
    for (flag, bad) in [
        ("-c", "ten"),
        ("--start-at", "soon"),
        ("--max-error-rate", "x"),
    ] {
        let err = Cli::try_parse_from(["reactor-loadgen", "tcp", "127.0.0.1:7000", flag, bad])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("e.g.") || err.contains("such as"),
            "{flag} {bad}: {err}"
        );
    }
}

#[test]
fn ratios_parse() {
    assert_eq!(parse_ratio("1%"), Ok(0.01));
    assert_eq!(parse_ratio("0.5"), Ok(0.5));
    assert!(parse_ratio("150%").is_err());
}

#[test]
fn command_line_parses() {
    let cli = Cli::try_parse_from([
        "reactor-loadgen",
        "tcp",
        "127.0.0.1:7000",
        "-c",
        "64",
        "-d",
        "10s",
        "--rate",
        "1000",
    ])
    .unwrap();
    match cli.command {
        Some(Command::Tcp(a)) => {
            assert_eq!(a.connections, 64);
            assert_eq!(a.rate, Some(1000.0));
            assert_eq!(*a.duration.expect("-d"), std::time::Duration::from_secs(10));
        }
        other => panic!("unexpected {other:?}"),
    }
}

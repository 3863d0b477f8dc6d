use super::*;

#[test]
fn spread_takes_the_middle_and_skips_nan() {
    let s = Spread::of([3.0, 1.0, f64::NAN, 2.0]);
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    assert_eq!(Spread::of([1.0, 2.0, 3.0, 4.0]).median, 2.5);
    assert!(Spread::of([]).median.is_nan());
}

#[test]
fn limit_follows_the_busier_saturated_side() {
    assert_eq!(classify_limit(0.5, 0.99, false), Limit::Generator);
    assert_eq!(classify_limit(0.99, 0.5, false), Limit::Server);
    assert_eq!(classify_limit(0.95, 0.9, false), Limit::Server);
    assert_eq!(classify_limit(0.3, 0.4, false), Limit::RoundTrip);
    assert_eq!(classify_limit(0.3, 0.4, true), Limit::OfferedRate);
}

fn sample(requests: u64, user: f64, sys: f64) -> Sample {
    Sample {
        gen: GenReport {
            requests,
            valid: true,
            ..GenReport::default()
        },
        server_cpu_s: user + sys,
        server_user_s: user,
        server_sys_s: sys,
        gen_cpu_s: 0.0,
        wall_s: 1.0,
        other_cpu_s: 0.5,
        steal_s: 0.0,
        noisy: false,
        repeat: 0,
    }
}

#[test]
fn per_request_figures_divide_by_requests() {
    let s = sample(1000, 0.002, 0.008);
    assert!((s.cpu_us_per_request() - 10.0).abs() < 1e-9);
    assert!((s.server_util(2) - 0.005).abs() < 1e-12);
    assert!((s.other_util(2) - 0.25).abs() < 1e-12);
    let cores = Cores {
        server: 1,
        generator: 1,
        all: 2,
    };
    let perf = KernelCounts {
        syscalls: 2000,
        context_switches: 100,
    };
    let sum = Summary::of(&[s.clone(), s], &[], Some((perf, 1000)), cores, false);
    assert!((sum.user_us_per_request - 2.0).abs() < 1e-9);
    assert!((sum.sys_us_per_request - 8.0).abs() < 1e-9);
    assert_eq!(sum.syscalls_per_request, Some(2.0));
    assert_eq!(sum.ctx_switches_per_request, Some(0.1));
    assert!(sum.cpu_us_per_connection.is_none());
}

#[test]
fn invalid_and_noisy_runs_stay_out_of_the_figures_but_their_errors_count() {
    let cores = Cores {
        server: 1,
        generator: 1,
        all: 2,
    };
    let good = sample(1000, 0.002, 0.008);
    let mut invalid = sample(1000, 0.2, 0.8);
    invalid.gen.valid = false;
    invalid.gen.errors = 2;
    invalid.gen.invalid_reasons = vec!["fell behind".into()];
    let mut noisy = sample(1000, 0.1, 0.4);
    noisy.noisy = true;
    let all = [good.clone(), invalid, noisy, good];
    let sum = Summary::of(&all, &[], None, cores, false);
    assert_eq!(sum.cpu_us_per_request.median, 10.0, "{sum:?}");
    assert_eq!(sum.cpu_us_per_request.max, 10.0, "{sum:?}");
    assert_eq!(
        (sum.valid_runs, sum.invalid_runs, sum.noisy_runs),
        (2, 1, 1)
    );
    assert_eq!(sum.errors, 2);
    assert_eq!(sum.requests, 4000);
    assert_eq!(sum.first_invalid_reason.as_deref(), Some("fell behind"));
}

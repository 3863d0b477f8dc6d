use super::*;

#[test]
fn median_takes_the_middle_and_skips_nan() {
    assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    assert!(median(&[]).is_nan());
}

#[test]
fn the_u_distribution_is_the_gaussian_binomial() {
    assert_eq!(u_distribution(2, 2), [1.0, 1.0, 2.0, 1.0, 1.0]);
    assert_eq!(
        u_distribution(3, 3),
        [1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0]
    );
    // C(10, 5) arrangements in all; C(7, 3) for unequal groups.
    assert_eq!(u_distribution(5, 5).iter().sum::<f64>(), 252.0);
    assert_eq!(u_distribution(3, 4).iter().sum::<f64>(), 35.0);
}

#[test]
fn the_rank_test_gives_the_tabled_p_values() {
    // Complete separation: one arrangement in C(6,3) = 20, in C(8,4) = 70.
    assert_eq!(
        mann_whitney_greater(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]),
        0.05
    );
    let p = mann_whitney_greater(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]);
    assert!((p - 1.0 / 70.0).abs() < 1e-12, "{p}");
    // One swap: U = 15 of 16, two arrangements at least that extreme.
    let p = mann_whitney_greater(&[1.0, 2.0, 3.0, 5.5], &[5.0, 6.0, 7.0, 8.0]);
    assert!((p - 2.0 / 70.0).abs() < 1e-12, "{p}");
    // The other direction is not significant at all.
    assert_eq!(
        mann_whitney_greater(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]),
        1.0
    );
    // All tied: U = 4.5 counts as 4, P(U >= 4) = 13/20.
    assert_eq!(mann_whitney_greater(&[1.0; 3], &[1.0; 3]), 0.65);
    assert_eq!(mann_whitney_greater(&[], &[1.0]), 1.0);
    assert_eq!(smallest_p(3), 0.05);
    assert_eq!(smallest_p(5), 1.0 / 252.0);
}

/// Uniform draws on [lo, hi) from a seeded generator.
fn draws(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

#[test]
fn the_rank_tests_false_alarm_rate_is_at_most_alpha_and_it_sees_a_shift() {
    let mut rng = StdRng::seed_from_u64(7);
    let trials = 4000;
    let alpha = 0.01;
    let alarms = (0..trials)
        .filter(|_| {
            let old = draws(&mut rng, 5, 10.0, 12.0);
            let new = draws(&mut rng, 5, 10.0, 12.0);
            mann_whitney_greater(&old, &new) <= alpha
        })
        .count();
    // Exactly 1/252 + 1/252 (U = 25 or 24) = 0.79% expected; binomial sd about 0.14%.
    let rate = alarms as f64 / trials as f64;
    assert!(rate <= alpha, "false-alarm rate {rate}");
    let caught = (0..200)
        .filter(|_| {
            let old = draws(&mut rng, 5, 10.0, 11.0);
            let new = draws(&mut rng, 5, 11.0, 12.0);
            mann_whitney_greater(&old, &new) <= alpha
        })
        .count();
    assert_eq!(caught, 200, "disjoint groups are always caught");
}

#[test]
fn constant_samples_give_a_point_interval() {
    let e = median_ci(&[5.0; 4]);
    assert_eq!((e.value, e.low, e.high, e.n), (5.0, 5.0, 5.0, 4));
    let r = ratio_ci(&[10.0; 3], &[11.0; 3]);
    assert!((r.value - 1.1).abs() < 1e-12);
    assert!((r.low - 1.1).abs() < 1e-12 && (r.high - 1.1).abs() < 1e-12);
    assert!(median_ci(&[]).value.is_nan());
    assert!(ratio_ci(&[], &[1.0]).value.is_nan());
}

#[test]
fn the_intervals_cover_the_true_median_and_ratio_most_of_the_time() {
    let mut rng = StdRng::seed_from_u64(11);
    let trials = 200;
    let mut covered = 0;
    let mut ratio_covered = 0;
    for _ in 0..trials {
        let v = draws(&mut rng, 9, 0.0, 1.0);
        let e = median_ci(&v);
        assert!(e.low <= e.value && e.value <= e.high);
        covered += usize::from(e.low <= 0.5 && 0.5 <= e.high);
        // True medians 11 and 12.1: ratio 1.1.
        let old = draws(&mut rng, 9, 10.0, 12.0);
        let new: Vec<f64> = draws(&mut rng, 9, 10.0, 12.0)
            .iter()
            .map(|x| x * 1.1)
            .collect();
        let r = ratio_ci(&old, &new);
        ratio_covered += usize::from(r.low <= 1.1 && 1.1 <= r.high);
    }
    // A 95% interval; the percentile bootstrap of a median runs a little short in small samples.
    for (what, hits) in [("median", covered), ("ratio", ratio_covered)] {
        let share = hits as f64 / trials as f64;
        assert!((0.85..=1.0).contains(&share), "{what} coverage {share}");
    }
}

#[test]
fn repeats_to_resolve_scale_with_the_squared_width() {
    let r = Estimate {
        value: 1.08,
        low: 1.0,
        high: 1.16,
        n: 3,
    };
    // Half-width 0.08 against a gap of 0.05 to the bound: 3 × 1.6² = 7.68, so 8.
    assert_eq!(repeats_to_resolve(&r, 1.03, 0.01, false), Some(8));
    // A narrow interval still needs the rank test's 5 per side to reach 1%.
    let narrow = Estimate {
        low: 1.079,
        high: 1.081,
        ..r
    };
    assert_eq!(repeats_to_resolve(&narrow, 1.03, 0.01, false), Some(5));
    assert_eq!(
        repeats_to_resolve(&Estimate { value: 1.03, ..r }, 1.03, 0.01, false),
        None
    );
}

#[test]
fn signed_rank_is_exact_for_small_samples() {
    // All five differences positive: 1 of 32 sign assignments is as extreme.
    assert!((signed_rank_greater(&[0.1, 0.2, 0.3, 0.4, 0.5]) - 1.0 / 32.0).abs() < 1e-12);
    // All negative: every assignment is at least as extreme.
    assert!((signed_rank_greater(&[-0.1, -0.2, -0.3]) - 1.0).abs() < 1e-12);
    // The smallest one negative (rank 1): W+ = 14 of 15; W+ ≥ 14 in 2 of 32.
    assert!((signed_rank_greater(&[-0.1, 0.2, 0.3, 0.4, 0.5]) - 2.0 / 32.0).abs() < 1e-12);
    // Zeros and NaNs are dropped; nothing left gives 1.
    assert_eq!(signed_rank_greater(&[0.0, f64::NAN]), 1.0);
    assert!((signed_rank_greater(&[0.0, 0.3]) - 0.5).abs() < 1e-12);
}

#[test]
fn signed_rank_ties_share_their_rank() {
    // Magnitudes tie: ranks 1.5, 1.5; W+ = 1.5 (the positive one) of 3.
    // Assignments: {}, {a}, {b}, {a,b} give W+ 0, 1.5, 1.5, 3: P(W+ ≥ 1.5) = 3/4.
    assert!((signed_rank_greater(&[0.2, -0.2]) - 0.75).abs() < 1e-12);
}

#[test]
fn seven_pairs_reach_one_percent() {
    assert_eq!(pairs_for(0.01), 7);
    assert_eq!(pairs_for(0.05), 5);
    let r = Estimate {
        value: 1.08,
        low: 1.079,
        high: 1.081,
        n: 3,
    };
    assert_eq!(repeats_to_resolve(&r, 1.03, 0.01, true), Some(7));
}

//! Count flags (connections, requests, queue lengths): a whole number, optionally with an SI
//! suffix, `k` for a thousand, `M` for a million, `G` for a billion (`10k`, `1.5M`), as oha
//! and k6 read them. Every error names the expected form.

use std::ops::RangeInclusive;

/// The accepted form, as every error states it.
pub const COUNT_FORM: &str = "a whole number, e.g. 100, 10k or 1.5M";

/// Parses a count: `100`, `10k`, `1.5M`, `2G` (`k` is also `K`; `m` is not mega).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a count: expected {COUNT_FORM}");
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        Some((i, 'G')) => (&t[..i], 1e9),
        _ => return Err(bad()),
    };
    let number = number.trim();
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') || number.is_empty() {
        return Err(bad());
    }
    let value = number.parse::<f64>().map_err(|_| bad())? * scale;
    if value.fract() != 0.0 || value >= u64::MAX as f64 {
        return Err(format!(
            "{text:?} is not a whole count: expected {COUNT_FORM}"
        ));
    }
    Ok(value as u64)
}

/// A clap value parser for a count within `range`, converted to `T`:
/// `#[arg(value_parser = reactor_cli::count::<usize>(1..=1 << 20))]`.
pub fn count<T>(
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let n = parse_count(text)?;
        if !range.contains(&n) {
            return Err(format!(
                "{text:?} is outside {}..={} ({COUNT_FORM})",
                range.start(),
                range.end()
            ));
        }
        T::try_from(n).map_err(|_| format!("{text:?} is too large a count here"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_suffixed_counts() {
        assert_eq!(parse_count("100"), Ok(100));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("10K"), Ok(10_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert_eq!(parse_count("2G"), Ok(2_000_000_000));
        assert_eq!(parse_count(" 0 "), Ok(0));
    }

    #[test]
    fn bad_counts_name_the_expected_form() {
        for bad in [
            "", "k", "-1", "1.5", "1.0005k", "10m", "ten", "1e3", "1_000",
        ] {
            let err = parse_count(bad).expect_err(bad);
            assert!(err.contains("10k"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_value_parser_checks_the_range_and_the_type() {
        let parse = count::<u16>(1..=1024);
        assert_eq!(parse("1k"), Ok(1000));
        assert!(parse("0").expect_err("zero").contains("1..=1024"));
        assert!(parse("2k").is_err());
        assert!(
            count::<u8>(0..=1000)("1k").is_err(),
            "does not fit the type"
        );
    }
}

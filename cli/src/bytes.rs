//! Byte-size flags: a plain number of bytes (`65536`) or a number with a unit (`64KiB`,
//! `8MiB`, `1.5GiB`, `8 MB`), read by the `bytesize` crate.
//!
//! `KiB`, `MiB`, `GiB` (and `Ki`, `Mi`, `Gi`) are powers of 1024; `KB`, `MB`, `GB` (and `k`,
//! `M`, `G`) powers of 1000, as `bytesize`, systemd and the SI read them; units are
//! case-insensitive. Every error names the expected form, so a mistyped value says how to
//! write it.

use std::ops::RangeInclusive;

/// The accepted form, as `--help` and every error state it.
pub const BYTE_SIZE_FORM: &str =
    "a number of bytes (65536) or one with a unit (64KiB, 8MiB, 1GiB; KB, MB, GB are powers of 1000)";

/// Parses a byte size: a plain number of bytes or a number with a unit.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let starts_with_digit = trimmed.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if !starts_with_digit {
        return Err(format!(
            "{text:?} is not a byte size: expected {BYTE_SIZE_FORM}"
        ));
    }
    let size: bytesize::ByteSize = trimmed
        .parse()
        .map_err(|_| format!("{text:?} is not a byte size: expected {BYTE_SIZE_FORM}"))?;
    // `bytesize` saturates on overflow; a value at the ceiling of u64 was not meant.
    if size.as_u64() == u64::MAX {
        return Err(format!("{text:?} is too large a byte size"));
    }
    Ok(size.as_u64())
}

/// A clap value parser for a byte size within `range` (bytes), converted to `T`:
/// `#[arg(value_parser = reactor_cli::byte_size::<usize>(1..=1 << 20))]`.
pub fn byte_size<T>(
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let bytes = parse_bytes(text)?;
        if !range.contains(&bytes) {
            return Err(format!(
                "{text:?} is {bytes} bytes, outside {}..={} (bytes; {})",
                range.start(),
                range.end(),
                "e.g. 65536, 64KiB or 8MiB"
            ));
        }
        T::try_from(bytes).map_err(|_| format!("{text:?} is too large a byte size here"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_bytes() {
        assert_eq!(parse_bytes("65536"), Ok(65_536));
        assert_eq!(parse_bytes(" 0 "), Ok(0));
    }

    #[test]
    fn binary_and_decimal_units() {
        assert_eq!(parse_bytes("8MiB"), Ok(8 << 20));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("64kib"), Ok(64 << 10));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert_eq!(parse_bytes("8 MiB"), Ok(8 << 20));
        assert_eq!(parse_bytes("8MB"), Ok(8_000_000));
        assert_eq!(parse_bytes("2k"), Ok(2_000));
        assert_eq!(parse_bytes("100B"), Ok(100));
    }

    #[test]
    fn bad_sizes_name_the_expected_form() {
        for bad in ["", "MiB", "-1", "8 parsecs", "eight", "1e6", "99999999EiB"] {
            let err = parse_bytes(bad).expect_err(bad);
            assert!(
                err.contains("8MiB") || err.contains("too large"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn the_value_parser_checks_the_range_and_the_type() {
        let parse = byte_size::<u32>(1..=1 << 20);
        assert_eq!(parse("1MiB"), Ok(1 << 20));
        assert_eq!(parse("8KiB"), Ok(8192));
        let too_big = parse("1025KiB").expect_err("over the range");
        assert!(too_big.contains("1..=1048576"), "{too_big}");
        assert!(parse("0").is_err());
        let narrow = byte_size::<u8>(0..=1 << 20);
        assert!(narrow("1KiB").is_err(), "does not fit the type");
    }

    #[test]
    fn works_as_a_clap_value_parser() {
        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[arg(long, default_value = "64KiB", value_parser = byte_size::<usize>(1..=u64::MAX - 1))]
            size: usize,
        }
        let flags = Flags::try_parse_from(["t", "--size", "8MiB"]).expect("parses");
        assert_eq!(flags.size, 8 << 20);
        assert_eq!(Flags::try_parse_from(["t"]).expect("default").size, 65_536);
        let err = Flags::try_parse_from(["t", "--size", "8 parsecs"])
            .err()
            .expect("rejected")
            .to_string();
        assert!(err.contains("--size") && err.contains("64KiB"), "{err}");
    }
}

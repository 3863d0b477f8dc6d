//! HdrHistogram interval logs: writing one per run (`--hdr-log`) and adding several (`merge`).
//!
//! The format is the standard one of `HistogramLogWriter` (Java) / `hdrhistogram::interval_log`
//! (Rust): `#[StartTime: ...]` and `#[BaseTime: ...]` headers, then one line per second with the
//! tag, start offset, length, max and a compressed V2 histogram. Values are nanoseconds of
//! corrected latency; the max column is divided by 10^6 (milliseconds), as jHiccup does.
//! Connect times and (https) TLS handshake times go in the same log under tags of their own
//! (`TAG-connect`, `TAG-handshake`), which `merge` leaves out of the latency.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::run::RunResult;
use crate::stats::new_histogram;

/// The host name, used as the default tag.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A tag the log format accepts (no commas or whitespace).
pub fn sanitize_tag(tag: &str) -> String {
    let t: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() {
        "host".into()
    } else {
        t
    }
}

/// Suffix of the tag of connect-time histograms, which `merge` leaves out.
pub const CONNECT_TAG_SUFFIX: &str = "-connect";

/// Suffix of the tag of TLS handshake-time histograms, which `merge` leaves out.
pub const HANDSHAKE_TAG_SUFFIX: &str = "-handshake";

/// Write the per-second latency histograms of `result` to `path`, tagged `tag`; seconds in
/// which connections were made also get their connect times, tagged `tag-connect`, and
/// (https) their TLS handshake times, tagged `tag-handshake`.
pub fn write_run(path: &Path, result: &RunResult, tag: &str) -> Result<()> {
    let tag = sanitize_tag(tag);
    let connect_tag = format!("{tag}{CONNECT_TAG_SUFFIX}");
    let handshake_tag = format!("{tag}{HANDSHAKE_TAG_SUFFIX}");
    let mut intervals: Vec<(Duration, Duration, &Histogram<u64>, &str)> = Vec::new();
    for iv in &result.intervals {
        let (offset, length) = (
            Duration::from_secs(iv.index),
            Duration::from_nanos(iv.length_ns),
        );
        intervals.push((offset, length, &iv.latency, &tag));
        if !iv.connect.is_empty() {
            intervals.push((offset, length, &iv.connect, &connect_tag));
        }
        if !iv.handshake.is_empty() {
            intervals.push((offset, length, &iv.handshake, &handshake_tag));
        }
    }
    let comment = format!(
        "reactor-loadgen {} {} {}: corrected latency in nanoseconds, one histogram per second \
         (connect times tagged {connect_tag}, TLS handshake times {handshake_tag})",
        env!("CARGO_PKG_VERSION"),
        result.config.workload.name(),
        result.config.target
    );
    write_log(path, result.started, &comment, &intervals)
}

fn write_log(
    path: &Path,
    start: std::time::SystemTime,
    comment: &str,
    intervals: &[(Duration, Duration, &Histogram<u64>, &str)],
) -> Result<()> {
    // `-` is stdout, as for --json.
    let sink: Box<dyn Write> = if path == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
    };
    let mut out = BufWriter::new(sink);
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1e6)
            .begin_log_with(&mut out, &mut serializer)
            .with_context(|| format!("cannot write {}", path.display()))?;
        for (offset, length, h, tag) in intervals {
            let tag = Tag::new(tag).ok_or_else(|| anyhow!("invalid tag {tag:?}"))?;
            writer
                .write_histogram(*h, *offset, *length, Some(tag))
                .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
        }
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The sum of every latency histogram in the logs (connect and handshake times left out), and how many
/// intervals there were.
pub fn merge_logs(paths: &[impl AsRef<Path>]) -> Result<(Histogram<u64>, usize)> {
    let mut total = new_histogram();
    let mut count = 0;
    let mut deserializer = Deserializer::new();
    for path in paths {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        for entry in IntervalLogIterator::new(&bytes) {
            let entry =
                entry.map_err(|e| anyhow!("{}: malformed interval log: {e:?}", path.display()))?;
            if let LogEntry::Interval(ilh) = entry {
                if ilh.tag().is_some_and(|t| {
                    let t = t.as_str();
                    t.ends_with(CONNECT_TAG_SUFFIX) || t.ends_with(HANDSHAKE_TAG_SUFFIX)
                }) {
                    continue;
                }
                let compressed = base64_decode(ilh.encoded_histogram())
                    .ok_or_else(|| anyhow!("{}: bad base64 histogram", path.display()))?;
                let h: Histogram<u64> = deserializer
                    .deserialize(&mut &compressed[..])
                    .map_err(|e| anyhow!("{}: bad histogram: {e}", path.display()))?;
                total
                    .add(&h)
                    .map_err(|e| anyhow!("{}: cannot add histogram: {e:?}", path.display()))?;
                count += 1;
            }
        }
    }
    Ok((total, count))
}

/// Write `h` as a one-interval log (the output of `merge -o`).
pub fn write_single(path: &Path, h: &Histogram<u64>, sources: usize) -> Result<()> {
    let comment = format!("reactor-loadgen merge of {sources} interval histograms (nanoseconds)");
    write_log(
        path,
        std::time::SystemTime::now(),
        &comment,
        &[(Duration::ZERO, Duration::from_secs(1), h, "merged")],
    )
}

/// Standard base64 (RFC 4648 with padding), as used in interval logs.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|&b| b != b'=' && !b.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(base64_decode("*"), None);
    }

    #[test]
    fn written_logs_merge_by_adding() {
        let dir = std::env::temp_dir().join(format!("loadgen-hdrlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = new_histogram();
        let mut b = new_histogram();
        let mut both = new_histogram();
        for v in 1..5000u64 {
            a.record(v * 1000).unwrap();
            b.record(v * 77 + 5).unwrap();
            both.record(v * 1000).unwrap();
            both.record(v * 77 + 5).unwrap();
        }
        let now = std::time::SystemTime::now();
        let pa = dir.join("a.hlog");
        let pb = dir.join("b.hlog");
        let one = Duration::from_secs(1);
        let mut connect = new_histogram();
        connect.record(123_456).unwrap();
        let a_log = [
            (Duration::ZERO, one, &a, "host-a"),
            (Duration::ZERO, one, &connect, "host-a-connect"),
            (Duration::ZERO, one, &connect, "host-a-handshake"),
        ];
        write_log(&pa, now, "a", &a_log).unwrap();
        write_log(&pb, now, "b", &[(Duration::ZERO, one, &b, "host-b")]).unwrap();
        let (merged, n) = merge_logs(&[&pa, &pb]).unwrap();
        assert_eq!(
            n, 2,
            "connect and handshake times are tagged apart and not merged into latency"
        );
        assert_eq!(merged, both);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tags_are_sanitized() {
        assert_eq!(sanitize_tag("my host,1"), "my_host_1");
    }
}

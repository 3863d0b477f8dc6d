//! The `Date:` header, formatted at most once a second instead of once per response.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;
const PREFIX: &[u8] = b"Date: ";
/// The whole header line: `Date: ` + date + CRLF.
const LINE_LEN: usize = PREFIX.len() + DATE_LEN + 2;
/// Last second httpdate can format (9999-12-31T23:59:59Z); later clocks are clamped to it.
const LAST_FORMATTABLE_SECOND: u64 = 253_402_300_799;

/// The current `Date:` header value, reformatted only when the second changes.
///
/// The server owns one, calls [`refresh`](Self::refresh) once per event-loop turn (cheap when the
/// second has not changed) and lends it to the sessions through [`HttpEnv`](super::HttpEnv).
#[derive(Debug, Clone)]
pub struct DateCache {
    line: [u8; LINE_LEN],
    second: u64,
}

impl DateCache {
    /// A cache holding the date of `now`.
    pub fn new(now: SystemTime) -> Self {
        let mut cache = Self {
            line: [b' '; LINE_LEN],
            second: u64::MAX,
        };
        cache.line[..PREFIX.len()].copy_from_slice(PREFIX);
        cache.line[LINE_LEN - 2..].copy_from_slice(b"\r\n");
        cache.refresh(now);
        cache
    }

    /// Update the value for `now`; does nothing unless the second changed.
    /// A clock before 1970 keeps the previous value (the header stays well-formed).
    pub fn refresh(&mut self, now: SystemTime) {
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            if self.second == u64::MAX {
                self.format(0);
            }
            return;
        };
        let second = since_epoch.as_secs().min(LAST_FORMATTABLE_SECOND);
        if second != self.second {
            self.format(second);
        }
    }

    /// The header value, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (always 29 bytes).
    pub fn value(&self) -> &[u8] {
        &self.line[PREFIX.len()..PREFIX.len() + DATE_LEN]
    }

    /// The whole header line, `Date: <value>\r\n`, ready to copy into a response.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    fn format(&mut self, second: u64) {
        let time = UNIX_EPOCH + std::time::Duration::from_secs(second);
        let date = httpdate::HttpDate::from(time);
        let mut slot = &mut self.line[PREFIX.len()..PREFIX.len() + DATE_LEN];
        // An IMF-fixdate is always exactly DATE_LEN bytes, so this write fills the slot exactly.
        if write!(slot, "{date}").is_ok() && slot.is_empty() {
            self.second = second;
        }
    }
}

impl Default for DateCache {
    /// A cache holding the current date.
    fn default() -> Self {
        Self::new(SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_imf_fixdate() {
        let cache = DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777));
        assert_eq!(cache.value(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(cache.line(), b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    }

    #[test]
    fn refreshes_only_when_the_second_changes() {
        let start = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut cache = DateCache::new(start);
        cache.refresh(start + Duration::from_millis(999));
        assert_eq!(cache.value(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        cache.refresh(start + Duration::from_secs(1));
        assert_eq!(cache.value(), b"Sun, 06 Nov 1994 08:49:38 GMT");
    }

    #[test]
    fn extreme_clocks_do_not_panic() {
        let mut cache = DateCache::new(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(cache.value(), b"Thu, 01 Jan 1970 00:00:00 GMT");
        cache.refresh(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4));
        assert_eq!(cache.value(), b"Fri, 31 Dec 9999 23:59:59 GMT");
        cache.refresh(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(cache.value(), b"Fri, 31 Dec 9999 23:59:59 GMT");
    }
}

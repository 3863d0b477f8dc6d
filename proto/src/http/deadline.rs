//! The session's two deadlines, as plain numbers on the caller's clock.
//!
//! A session never reads a clock: the caller gives it the time with every call
//! ([`HttpEnv::now`](super::HttpEnv::now)), asks [`HttpSession::poll_timeout`] when it next needs
//! the clock, and calls [`HttpSession::handle_timeout`] once that time has come, as
//! quinn-proto's and smoltcp's state machines are driven. The clock is the caller's: any
//! monotonic count of milliseconds from any start (the reactor counts from its own start).
//!
//! [`HttpSession::poll_timeout`]: super::HttpSession::poll_timeout
//! [`HttpSession::handle_timeout`]: super::HttpSession::handle_timeout

use std::time::Duration;

use super::HttpLimits;

/// Milliseconds on the caller's monotonic clock.
pub type Millis = u64;

/// A session's deadline field when no deadline runs. Never a real deadline: one is always at
/// least a millisecond after the time it started.
pub(crate) const NO_DEADLINE: Millis = 0;

/// Which deadline a session is running (and, from
/// [`HttpSession::handle_timeout`](super::HttpSession::handle_timeout), which one passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// A request has started and its head is incomplete
    /// ([`HttpLimits::header_timeout`]; the slowloris defence).
    Headers,
    /// A request head is complete and its body is still arriving
    /// ([`HttpLimits::body_timeout`]; the slow-POST defence). It covers the whole body, however
    /// the peer paces it.
    Body,
}

impl Deadline {
    /// When this deadline falls if it starts at `now`, or [`NO_DEADLINE`] when its timeout is
    /// off (zero).
    pub(crate) fn due(self, now: Millis, limits: &HttpLimits) -> Millis {
        let timeout = match self {
            Deadline::Headers => limits.header_timeout,
            Deadline::Body => limits.body_timeout,
        };
        if timeout.is_zero() {
            return NO_DEADLINE;
        }
        now.saturating_add(duration_to_millis(timeout)).max(1)
    }
}

/// Whole milliseconds in `d`, rounded up so a non-zero timeout never becomes zero.
pub fn duration_to_millis(d: Duration) -> Millis {
    let ms = d.as_millis();
    let rounded = if d.subsec_nanos().is_multiple_of(1_000_000) {
        ms
    } else {
        ms + 1
    };
    Millis::try_from(rounded).unwrap_or(Millis::MAX)
}

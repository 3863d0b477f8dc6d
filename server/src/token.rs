//! How poll tokens name things.
//!
//! A connection's token is its slab key in the low 32 bits and a generation number in the high
//! 32 bits. A slab slot is reused as soon as a connection closes, but events already fetched in
//! the current batch (mio#219) and timer entries may still carry the old token; their
//! generation no longer matches the slot's occupant, so they are dropped instead of being
//! delivered to a stranger.
//!
//! Reserved tokens (signals, UDP, listeners) count down from `usize::MAX`. Their low 32 bits
//! are at least `u32::MAX - 15`, while slab keys stay below [`MAX_KEY`], so the two ranges can
//! never meet.

use mio::Token;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("token layout assumes 64-bit usize");

/// Signal source (SIGINT, SIGTERM).
pub const SIGNALS: Token = Token(usize::MAX);
/// The UDP echo socket.
pub const UDP: Token = Token(usize::MAX - 1);
/// The TCP echo listener.
pub const TCP_LISTENER: Token = Token(usize::MAX - 2);
/// The HTTP listener.
pub const HTTP_LISTENER: Token = Token(usize::MAX - 3);
/// The metrics-only HTTP listener (`--metrics`).
pub const METRICS_LISTENER: Token = Token(usize::MAX - 4);

/// The HTTPS listener.
pub const HTTPS_LISTENER: Token = Token(usize::MAX - 5);

/// Slab keys must stay below this (`--max-conns` is capped far lower).
pub const MAX_KEY: usize = 1 << 31;

/// The token of the connection in slot `key` with generation `generation`.
pub fn connection(key: usize, generation: u32) -> Token {
    debug_assert!(key < MAX_KEY);
    Token(((generation as usize) << 32) | key)
}

/// Splits a connection token into slab key and generation; `None` for reserved tokens.
pub fn split(token: Token) -> Option<(usize, u32)> {
    let key = token.0 & 0xFFFF_FFFF;
    (key < MAX_KEY).then_some((key, (token.0 >> 32) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_tokens_round_trip() {
        for (key, generation) in [(0, 0), (1, 7), (MAX_KEY - 1, u32::MAX)] {
            assert_eq!(split(connection(key, generation)), Some((key, generation)));
        }
    }

    #[test]
    fn reserved_tokens_are_not_connections() {
        for t in [SIGNALS, UDP, TCP_LISTENER, HTTP_LISTENER, HTTPS_LISTENER] {
            assert_eq!(split(t), None);
        }
    }

    #[test]
    fn same_slot_different_generation_differs() {
        assert_ne!(connection(3, 1), connection(3, 2));
    }
}

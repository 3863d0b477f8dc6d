//! The verifiable payload: a sequence number followed by a pattern derived from it.
//!
//! Byte `i` of message `seq` is a pure function of both, so a receiver can check any byte
//! without keeping a copy of what was sent, and a byte from another message (reordering, loss,
//! cross-talk between connections) or a flipped bit is caught.

/// Byte `i` of the payload of message `seq`.
#[inline]
pub fn byte_at(seq: u64, i: usize) -> u8 {
    if i < 8 {
        (seq >> (i * 8)) as u8
    } else {
        let mixed = seq
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left((i % 61) as u32);
        (mixed as u8) ^ (i as u8).wrapping_mul(31)
    }
}

/// Append the `len`-byte payload of message `seq` to `out`.
pub fn append(seq: u64, len: usize, out: &mut Vec<u8>) {
    out.extend((0..len).map(|i| byte_at(seq, i)));
}

/// Index of the first byte of `data` that differs from message `seq` starting at `offset`.
#[inline]
pub fn first_mismatch(seq: u64, offset: usize, data: &[u8]) -> Option<usize> {
    data.iter()
        .enumerate()
        .position(|(k, &b)| b != byte_at(seq, offset + k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_sequence() {
        let mut v = Vec::new();
        append(0x0102_0304_0506_0708, 16, &mut v);
        assert_eq!(&v[..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(first_mismatch(0x0102_0304_0506_0708, 0, &v), None);
    }

    #[test]
    fn detects_other_message_and_flips() {
        let mut v = Vec::new();
        append(5, 64, &mut v);
        assert_eq!(first_mismatch(6, 0, &v), Some(0));
        v[40] ^= 1;
        assert_eq!(first_mismatch(5, 0, &v), Some(40));
        assert_eq!(first_mismatch(5, 30, &v[30..]), Some(10));
    }
}

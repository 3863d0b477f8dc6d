//! TCP echo: a request is a payload of N bytes, the response is complete when all N came back.
//!
//! Bytes are checked as they arrive against the expected stream (the concatenation of the
//! outstanding messages), however the kernel splits them.

use std::collections::VecDeque;

use super::payload;
use super::{Completion, StreamError};

/// Echo state of one connection: the messages sent and not yet fully echoed.
#[derive(Debug, Default)]
pub struct EchoStream {
    outstanding: VecDeque<(u64, usize)>,
    received_of_front: usize,
}

impl EchoStream {
    /// A connection with nothing outstanding.
    pub fn new() -> EchoStream {
        EchoStream::default()
    }

    /// Append message `seq` of `size` bytes to `out` and expect it back.
    pub fn encode_request(&mut self, seq: u64, size: usize, out: &mut Vec<u8>) {
        payload::append(seq, size, out);
        self.outstanding.push_back((seq, size));
    }

    /// Check received bytes; every fully echoed message is one completion.
    pub fn on_bytes(
        &mut self,
        mut data: &[u8],
        done: &mut Vec<Completion>,
    ) -> Result<(), StreamError> {
        while !data.is_empty() {
            let Some(&(seq, size)) = self.outstanding.front() else {
                return Err(StreamError::Unsolicited(data.len()));
            };
            let take = (size - self.received_of_front).min(data.len());
            let chunk = &data[..take];
            if let Some(k) = payload::first_mismatch(seq, self.received_of_front, chunk) {
                let offset = self.received_of_front + k;
                return Err(StreamError::Mismatch {
                    seq,
                    offset,
                    expected: payload::byte_at(seq, offset),
                    got: chunk[k],
                });
            }
            self.received_of_front += take;
            data = &data[take..];
            if self.received_of_front == size {
                self.outstanding.pop_front();
                self.received_of_front = 0;
                done.push(Completion {
                    status: None,
                    closes: false,
                });
            }
        }
        Ok(())
    }

    /// End of stream: fine only between messages.
    pub fn on_eof(&mut self) -> Result<(), StreamError> {
        if self.received_of_front > 0 {
            Err(StreamError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Forget outstanding messages.
    pub fn reset(&mut self) {
        self.outstanding.clear();
        self.received_of_front = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_only_when_all_bytes_arrive_in_any_split() {
        let mut s = EchoStream::new();
        let mut out = Vec::new();
        s.encode_request(1, 100, &mut out);
        s.encode_request(2, 50, &mut out);
        let mut done = Vec::new();
        for chunk in out.chunks(7) {
            s.on_bytes(chunk, &mut done).unwrap();
        }
        assert_eq!(done.len(), 2);
    }

    #[test]
    fn partial_message_is_not_complete() {
        let mut s = EchoStream::new();
        let mut out = Vec::new();
        s.encode_request(1, 100, &mut out);
        let mut done = Vec::new();
        s.on_bytes(&out[..99], &mut done).unwrap();
        assert!(done.is_empty());
        assert_eq!(s.on_eof(), Err(StreamError::Truncated));
        s.on_bytes(&out[99..], &mut done).unwrap();
        assert_eq!(done.len(), 1);
    }

    #[test]
    fn corrupted_byte_is_caught() {
        let mut s = EchoStream::new();
        let mut out = Vec::new();
        s.encode_request(9, 64, &mut out);
        out[33] ^= 0x20;
        let err = s.on_bytes(&out, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            StreamError::Mismatch {
                seq: 9,
                offset: 33,
                ..
            }
        ));
        assert!(err.is_verification());
    }

    #[test]
    fn swapped_messages_are_caught() {
        let mut s = EchoStream::new();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        s.encode_request(1, 16, &mut a);
        s.encode_request(2, 16, &mut b);
        assert!(s.on_bytes(&b, &mut Vec::new()).is_err());
    }

    #[test]
    fn extra_bytes_are_caught() {
        let mut s = EchoStream::new();
        assert_eq!(
            s.on_bytes(b"x", &mut Vec::new()),
            Err(StreamError::Unsolicited(1))
        );
    }
}

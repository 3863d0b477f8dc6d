//! Sans-IO request/response logic of each workload, with verification.
//!
//! These types never touch a socket: the worker hands them the bytes it read and asks them for
//! the bytes to write, so all parsing and checking is unit-tested without the network.

pub mod http;
pub mod payload;
pub mod tcp;
pub mod udp;

use thiserror::Error;

/// One response completed on a byte stream, in request order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// HTTP status code (`None` for echo).
    pub status: Option<u16>,
    /// The server announced it closes the connection after this response.
    pub closes: bool,
}

/// Why a stream's responses cannot be trusted any more; the connection is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    /// An echoed byte differs from the byte sent.
    #[error("echoed byte {offset} of message {seq:#x} is {got:#04x}, sent {expected:#04x}")]
    Mismatch {
        /// Sequence number of the message.
        seq: u64,
        /// Offset of the first wrong byte.
        offset: usize,
        /// Byte sent.
        expected: u8,
        /// Byte received.
        got: u8,
    },
    /// Bytes arrived although nothing was outstanding.
    #[error("{0} unexpected bytes with no request outstanding")]
    Unsolicited(usize),
    /// A response arrived although every request sent was already answered.
    #[error("a response arrived with no request outstanding (surplus or unsolicited)")]
    SurplusResponse,
    /// The HTTP response could not be parsed.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    /// The peer closed the connection in the middle of a response.
    #[error("connection closed mid-response")]
    Truncated,
}

impl StreamError {
    /// True when the peer sent wrong data (as opposed to too little).
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            StreamError::Mismatch { .. }
                | StreamError::Unsolicited(_)
                | StreamError::SurplusResponse
                | StreamError::Malformed(_)
        )
    }
}

/// The protocol state of one stream connection (TCP echo or HTTP).
#[derive(Debug)]
pub enum StreamSession {
    /// TCP echo.
    Echo(tcp::EchoStream),
    /// HTTP/1.1.
    Http(http::HttpClient),
}

impl StreamSession {
    /// Append request `seq` of `size` payload bytes to `out` (HTTP ignores the size).
    pub fn encode_request(&mut self, seq: u64, size: usize, out: &mut Vec<u8>) {
        match self {
            StreamSession::Echo(s) => s.encode_request(seq, size, out),
            StreamSession::Http(s) => s.encode_request(out),
        }
    }

    /// Feed received bytes; completed responses are pushed to `done` in order.
    pub fn on_bytes(&mut self, data: &[u8], done: &mut Vec<Completion>) -> Result<(), StreamError> {
        match self {
            StreamSession::Echo(s) => s.on_bytes(data, done),
            StreamSession::Http(s) => s.on_bytes(data, done),
        }
    }

    /// The peer closed; a read-until-close HTTP body completes here.
    pub fn on_eof(&mut self, done: &mut Vec<Completion>) -> Result<(), StreamError> {
        match self {
            StreamSession::Echo(s) => s.on_eof(),
            StreamSession::Http(s) => s.on_eof(done),
        }
    }

    /// Forget everything outstanding (the connection is replaced).
    pub fn reset(&mut self) {
        match self {
            StreamSession::Echo(s) => s.reset(),
            StreamSession::Http(s) => s.reset(),
        }
    }
}

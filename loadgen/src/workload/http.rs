//! HTTP/1.1 keep-alive client: a prebuilt request, and the responses framed by the client
//! role of `reactor-proto` (where the framing is unit-tested and fuzzed next to the server's).

use std::sync::Arc;

use reactor_proto::client::http::{FramingError, Response, ResponseReader};

pub use reactor_proto::client::http::build_request;

use super::{Completion, StreamError};

/// The request bytes and response framing of one keep-alive connection.
#[derive(Debug)]
pub struct HttpClient {
    request: Arc<[u8]>,
    reader: ResponseReader,
    framed: Vec<Response>,
}

impl HttpClient {
    /// A client sending `request` (from [`build_request`]); `head_request` for method HEAD,
    /// whose responses carry no body whatever their headers say.
    pub fn new(request: Arc<[u8]>, head_request: bool) -> HttpClient {
        HttpClient {
            request,
            reader: ResponseReader::new(head_request),
            framed: Vec::with_capacity(8),
        }
    }

    /// Append one request to `out`.
    pub fn encode_request(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request);
    }

    /// Frame as many responses as `data` completes.
    pub fn on_bytes(&mut self, data: &[u8], done: &mut Vec<Completion>) -> Result<(), StreamError> {
        let result = self.reader.on_bytes(data, &mut self.framed);
        self.hand_over(done);
        result.map_err(StreamError::from)
    }

    /// End of stream: completes a read-until-close body.
    pub fn on_eof(&mut self, done: &mut Vec<Completion>) -> Result<(), StreamError> {
        let result = self.reader.on_eof(&mut self.framed);
        self.hand_over(done);
        result.map_err(StreamError::from)
    }

    /// Forget any partial response.
    pub fn reset(&mut self) {
        self.reader.reset();
        self.framed.clear();
    }

    fn hand_over(&mut self, done: &mut Vec<Completion>) {
        done.extend(self.framed.drain(..).map(|r| Completion {
            status: Some(r.status),
            closes: r.closes,
        }));
    }
}

impl From<FramingError> for StreamError {
    fn from(e: FramingError) -> StreamError {
        match e {
            FramingError::Malformed(why) => StreamError::Malformed(why),
            FramingError::Truncated => StreamError::Truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_carry_the_status_and_the_close() {
        let req = build_request("GET", "h:1", "/", &[], None);
        let mut c = HttpClient::new(req.into(), false);
        let mut done = Vec::new();
        c.on_bytes(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            &mut done,
        )
        .unwrap();
        assert_eq!(
            done,
            [Completion {
                status: Some(404),
                closes: true
            }]
        );
        assert_eq!(
            c.on_bytes(b"junk\r\n\r\n", &mut done)
                .map_err(|e| e.is_verification()),
            Err(true)
        );
    }
}

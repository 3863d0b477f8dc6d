//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally: bytes in, body bytes out.
//!
//! The decoder is a small state machine fed whatever the socket delivered, in any split; it
//! copies chunk data into the caller's body buffer and never looks at a byte twice, so a body
//! sent a byte at a time costs the same as one sent at once. Every part a peer controls is
//! bounded: a size line (size and extensions) by [`MAX_CHUNK_LINE`], the decoded body by
//! [`HttpLimits::max_body_bytes`](super::HttpLimits::max_body_bytes), the trailer section by
//! [`HttpLimits::max_header_bytes`](super::HttpLimits::max_header_bytes). Line endings must be
//! CRLF: a bare LF or CR in the framing is an error, so no two parsers can disagree on where a
//! chunk ends (the smuggling that lenient chunk parsers allow).

/// Longest chunk size line accepted, extensions included, without its CRLF.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Hex digits a chunk size may have (leading zeros included): enough for any size a body limit
/// allows, few enough that the value cannot overflow.
const MAX_SIZE_DIGITS: u32 = 15;

/// Why a chunked body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The framing is not the chunked grammar (or a line is over its limit): `400`.
    Malformed,
    /// The decoded body would exceed the body limit: `413`.
    TooLarge,
}

/// Where the decoder is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size.
    Size,
    /// After the size, in `;ext=value` pairs (ignored, as the RFC allows).
    Extension { quoted: bool, escaped: bool },
    /// Saw the CR ending a size line.
    SizeLf,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Saw the CR ending a trailer field line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    FinalLf,
    /// The body is complete.
    Done,
}

/// Incremental decoder of one chunked body.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk size being read.
    size: u64,
    /// Bytes of the current size line or trailer line.
    line: usize,
    /// Hex digits of the current size.
    digits: u32,
    /// Whether the current trailer line has its `:` yet.
    colon: bool,
    /// Bytes of the trailer section so far.
    trailers: usize,
    /// Decoded body bytes so far.
    decoded: u64,
    max_body: u64,
    max_trailers: usize,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` decoded bytes and a trailer section of at most
    /// `max_trailers` bytes.
    pub fn new(max_body: usize, max_trailers: usize) -> Self {
        Self {
            state: State::Size,
            size: 0,
            line: 0,
            digits: 0,
            colon: false,
            trailers: 0,
            decoded: 0,
            max_body: max_body as u64,
            max_trailers,
        }
    }

    /// Whether the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded body bytes so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Decode from `input`, appending chunk data to `body`. Returns how many input bytes belong
    /// to the chunked body: all of them while it is unfinished, fewer once it is done (what
    /// follows is the next request). After an error the decoder must not be used again.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            if let State::Data(left) = self.state {
                let take = left.min((input.len() - i) as u64) as usize;
                body.extend_from_slice(&input[i..i + take]);
                i += take;
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                continue;
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(i)
    }

    /// One framing byte (anything but chunk data).
    fn step(&mut self, byte: u8) -> Result<(), ChunkError> {
        use ChunkError::Malformed;
        self.state = match self.state {
            State::Size | State::Extension { quoted: false, .. } if byte == b'\r' => {
                if self.digits == 0 {
                    return Err(Malformed);
                }
                State::SizeLf
            }
            State::Size => {
                self.count_line_byte()?;
                match hex_value(byte) {
                    Some(digit) => {
                        self.digits += 1;
                        if self.digits > MAX_SIZE_DIGITS {
                            return Err(Malformed);
                        }
                        self.size = self.size * 16 + u64::from(digit);
                        State::Size
                    }
                    None if self.digits > 0 && matches!(byte, b';' | b' ' | b'\t') => {
                        self.extension_byte(false, false, byte)?
                    }
                    None => return Err(Malformed),
                }
            }
            State::Extension { quoted, escaped } => {
                self.count_line_byte()?;
                self.extension_byte(quoted, escaped, byte)?
            }
            State::SizeLf if byte == b'\n' => self.start_chunk()?,
            State::DataCr if byte == b'\r' => State::DataLf,
            State::DataLf if byte == b'\n' => self.next_size(),
            State::TrailerStart if byte == b'\r' => State::FinalLf,
            State::TrailerStart | State::Trailer => self.trailer_byte(byte)?,
            State::TrailerLf if byte == b'\n' => State::TrailerStart,
            State::FinalLf if byte == b'\n' => State::Done,
            State::SizeLf
            | State::DataCr
            | State::DataLf
            | State::TrailerLf
            | State::FinalLf
            | State::Data(_)
            | State::Done => return Err(Malformed),
        };
        Ok(())
    }

    fn count_line_byte(&mut self) -> Result<(), ChunkError> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            return Err(ChunkError::Malformed);
        }
        Ok(())
    }

    /// A byte of `chunk-ext` (RFC 9112 §7.1.1): tokens, `;`, `=`, whitespace, quoted strings.
    fn extension_byte(&self, quoted: bool, escaped: bool, byte: u8) -> Result<State, ChunkError> {
        let next = |quoted, escaped| Ok(State::Extension { quoted, escaped });
        if quoted {
            return match byte {
                _ if escaped && (byte == b'\t' || byte >= b' ') && byte != 0x7f => {
                    next(true, false)
                }
                b'\\' => next(true, true),
                b'"' => next(false, false),
                b'\t' | b' '..=b'~' | 0x80..=0xff => next(true, false),
                _ => Err(ChunkError::Malformed),
            };
        }
        match byte {
            b'"' => next(true, false),
            b';' | b'=' | b' ' | b'\t' => next(false, false),
            _ if is_tchar(byte) => next(false, false),
            _ => Err(ChunkError::Malformed),
        }
    }

    /// A size line ended: a data chunk follows, or (size 0) the trailer section.
    fn start_chunk(&mut self) -> Result<State, ChunkError> {
        if self.size == 0 {
            return Ok(State::TrailerStart);
        }
        self.decoded += self.size;
        if self.decoded > self.max_body {
            return Err(ChunkError::TooLarge);
        }
        Ok(State::Data(self.size))
    }

    fn next_size(&mut self) -> State {
        self.size = 0;
        self.digits = 0;
        self.line = 0;
        State::Size
    }

    /// A byte of a trailer field line: field syntax is checked only as far as framing needs
    /// (a name before a `:`, no control bytes); trailer fields are then discarded.
    fn trailer_byte(&mut self, byte: u8) -> Result<State, ChunkError> {
        self.trailers += 1;
        if self.trailers > self.max_trailers {
            return Err(ChunkError::Malformed);
        }
        if self.state == State::TrailerStart {
            self.colon = false;
        }
        match byte {
            b'\r' if self.colon => return Ok(State::TrailerLf),
            b':' if !self.colon && self.state == State::Trailer => self.colon = true,
            _ if !self.colon && is_tchar(byte) => {}
            b'\t' | b' '..=b'~' | 0x80..=0xff if self.colon => {}
            _ => return Err(ChunkError::Malformed),
        }
        Ok(State::Trailer)
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `tchar` of RFC 9110 §5.6.2: the characters of a token.
pub(crate) fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<(usize, Vec<u8>), ChunkError> {
        let mut decoder = ChunkedDecoder::new(1000, 100);
        let mut body = Vec::new();
        let used = decoder.decode(input, &mut body)?;
        assert!(decoder.is_done(), "unfinished: {input:?}");
        Ok((used, body))
    }

    #[test]
    fn decodes_chunks_and_stops_at_the_end() {
        let input = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET";
        assert_eq!(
            decode_all(input),
            Ok((input.len() - 3, b"hello world".to_vec()))
        );
    }

    #[test]
    fn any_split_gives_the_same_body() {
        let input = b"3;name=\"v;\\\"x\"\r\nabc\r\nA\r\n0123456789\r\n0;last\r\nX-T: 1\r\n\r\n";
        for split in 0..input.len() {
            let mut decoder = ChunkedDecoder::new(1000, 100);
            let mut body = Vec::new();
            let first = decoder.decode(&input[..split], &mut body).unwrap();
            assert_eq!(first, split);
            let second = decoder.decode(&input[split..], &mut body).unwrap();
            assert_eq!(second, input.len() - split);
            assert!(decoder.is_done());
            assert_eq!(body, b"abc0123456789");
        }
    }

    #[test]
    fn extensions_and_trailers_are_accepted() {
        assert!(decode_all(b"1 ; a=b ; c\r\nx\r\n0\r\n\r\n").is_ok());
        assert!(decode_all(b"0\r\nExpires: never\r\nX: \"q\"\r\n\r\n").is_ok());
        assert_eq!(decode_all(b"00000\r\n\r\n"), Ok((9, Vec::new())));
    }

    #[test]
    fn malformed_framing_is_refused() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"-1\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\r\n0\r\n\n",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\n: empty name\r\n\r\n",
            b"1;\x01\r\n",
            b"1;\"open\r\n",
            b"1000000000000000\r\n",
            b"0\r\nX: a\rb\r\n\r\n",
        ] {
            let mut decoder = ChunkedDecoder::new(1000, 100);
            let result = decoder.decode(bad, &mut Vec::new());
            assert_eq!(result, Err(ChunkError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut decoder = ChunkedDecoder::new(10, 100);
        let result = decoder.decode(b"6\r\nabcdef\r\n5\r\n", &mut Vec::new());
        assert_eq!(result, Err(ChunkError::TooLarge));
        let long_ext = [&b"1;"[..], &[b'a'; MAX_CHUNK_LINE]].concat();
        let result = ChunkedDecoder::new(10, 100).decode(&long_ext, &mut Vec::new());
        assert_eq!(result, Err(ChunkError::Malformed));
        let trailers = [&b"0\r\nX: "[..], &[b'a'; 100]].concat();
        let result = ChunkedDecoder::new(10, 100).decode(&trailers, &mut Vec::new());
        assert_eq!(result, Err(ChunkError::Malformed));
    }
}

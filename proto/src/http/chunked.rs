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
    /// After the size, in `;name=value` extensions (checked, then ignored as the RFC allows).
    Extension(Ext),
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

/// Where the decoder is inside `chunk-ext` (RFC 9112 §7.1.1):
/// `*( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`, the value a token or a
/// quoted string. Whitespace is allowed only around `;` and `=`, so a line may end (CR) only
/// right after the size, a name, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// Whitespace after the size or a value: only more whitespace or `;` may follow.
    BeforeSemicolon,
    /// After `;` (and any whitespace): a name must start.
    NameStart,
    /// Inside a name; the line may end here.
    Name,
    /// Whitespace after a name: `=`, `;` or more whitespace may follow.
    AfterName,
    /// After `=` (and any whitespace): a value must start.
    ValueStart,
    /// Inside a token value; the line may end here.
    Token,
    /// Inside a quoted value (`escaped`: right after a backslash).
    Quoted { escaped: bool },
    /// Right after a closing quote; the line may end here.
    Closed,
}

impl Ext {
    /// Whether a CR may end the size line in this state.
    fn may_end_line(self) -> bool {
        matches!(self, Ext::Name | Ext::Token | Ext::Closed)
    }
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
        let in_trailers = matches!(
            self.state,
            State::TrailerStart | State::Trailer | State::TrailerLf | State::FinalLf
        );
        if in_trailers {
            self.count_trailer_byte()?;
        }
        self.state = match self.state {
            State::Size if byte == b'\r' => {
                if self.digits == 0 {
                    return Err(Malformed);
                }
                State::SizeLf
            }
            State::Extension(ext) if byte == b'\r' && ext.may_end_line() => State::SizeLf,
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
                    None if self.digits > 0 && byte == b';' => State::Extension(Ext::NameStart),
                    None if self.digits > 0 && is_bws(byte) => {
                        State::Extension(Ext::BeforeSemicolon)
                    }
                    None => return Err(Malformed),
                }
            }
            State::Extension(ext) => {
                self.count_line_byte()?;
                State::Extension(extension_byte(ext, byte)?)
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

    /// Counts a byte of the trailer section (field lines and their CRLFs, and the final CRLF)
    /// against its limit.
    fn count_trailer_byte(&mut self) -> Result<(), ChunkError> {
        self.trailers += 1;
        if self.trailers > self.max_trailers {
            return Err(ChunkError::Malformed);
        }
        Ok(())
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

/// One byte of `chunk-ext` (not the CR ending the line) in state `ext`: the next state.
fn extension_byte(ext: Ext, byte: u8) -> Result<Ext, ChunkError> {
    let next = match ext {
        Ext::Quoted { escaped: true } if byte == b'\t' || (byte >= b' ' && byte != 0x7f) => {
            Ext::Quoted { escaped: false }
        }
        Ext::Quoted { escaped: true } => return Err(ChunkError::Malformed),
        Ext::Quoted { escaped: false } => match byte {
            b'\\' => Ext::Quoted { escaped: true },
            b'"' => Ext::Closed,
            b'\t' | b' '..=b'~' | 0x80..=0xff => Ext::Quoted { escaped: false },
            _ => return Err(ChunkError::Malformed),
        },
        Ext::BeforeSemicolon | Ext::Closed | Ext::Token if byte == b';' => Ext::NameStart,
        Ext::BeforeSemicolon | Ext::Closed | Ext::Token if is_bws(byte) => Ext::BeforeSemicolon,
        Ext::NameStart if is_bws(byte) => Ext::NameStart,
        Ext::NameStart | Ext::Name if is_tchar(byte) => Ext::Name,
        Ext::Name | Ext::AfterName if byte == b';' => Ext::NameStart,
        Ext::Name | Ext::AfterName if byte == b'=' => Ext::ValueStart,
        Ext::Name | Ext::AfterName if is_bws(byte) => Ext::AfterName,
        Ext::ValueStart if is_bws(byte) => Ext::ValueStart,
        Ext::ValueStart if byte == b'"' => Ext::Quoted { escaped: false },
        Ext::ValueStart | Ext::Token if is_tchar(byte) => Ext::Token,
        _ => return Err(ChunkError::Malformed),
    };
    Ok(next)
}

/// `BWS` (RFC 9110 §5.6.3): spaces and tabs.
fn is_bws(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
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
mod tests;

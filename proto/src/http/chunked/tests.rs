//! Tests of the chunked decoder: bodies in any split, and what it refuses.

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

/// RFC 9112 §7.1.1: whitespace only around `;` and `=`, names are tokens, values tokens or
/// quoted strings. Anything looser is how two parsers come to frame a body differently.
#[test]
fn chunk_size_lines_follow_the_grammar() {
    for good in [
        &b"5"[..],
        b"5;a",
        b"5 ;a",
        b"5\t; a",
        b"5;a=b",
        b"5;a = b",
        b"5 ; a\t=\t\"q v\" ; c",
        b"5;a=\"\\\"\";b",
    ] {
        let input = [good, b"\r\nhello\r\n0\r\n\r\n"].concat();
        assert!(
            decode_all(&input).is_ok(),
            "{:?}",
            String::from_utf8_lossy(good)
        );
    }
    for bad in [
        &b"1 2"[..],
        b"5 hello",
        b"5 ",
        b"5\t",
        b"5 = ",
        b"5;",
        b"5;=",
        b"5; ",
        b"5;a ",
        b"5;a=",
        b"5;a=b ",
        b"5;a=\"b\" ",
        b"5;a=\"b\"c",
        b"5;a b",
        b"5;a=b c",
        b"5;=b",
        b"5;a=@",
        b"5;@",
    ] {
        let input = [bad, b"\r\nhello\r\n0\r\n\r\n"].concat();
        let mut decoder = ChunkedDecoder::new(1000, 100);
        let result = decoder.decode(&input, &mut Vec::new());
        let shown = String::from_utf8_lossy(bad);
        assert_eq!(result, Err(ChunkError::Malformed), "{shown:?}");
    }
}

/// The trailer limit counts the whole trailer section, line endings included.
#[test]
fn the_trailer_limit_counts_line_endings() {
    // `X: 1` + CRLF is 6 bytes, the final CRLF 2 more: 8 in all.
    let body = b"0\r\nX: 1\r\n\r\n";
    assert!(ChunkedDecoder::new(10, 8)
        .decode(body, &mut Vec::new())
        .is_ok());
    let result = ChunkedDecoder::new(10, 7).decode(body, &mut Vec::new());
    assert_eq!(result, Err(ChunkError::Malformed));
    // Empty lines alone are bytes too: a bare final CRLF needs room for 2.
    let result = ChunkedDecoder::new(10, 1).decode(b"0\r\n\r\n", &mut Vec::new());
    assert_eq!(result, Err(ChunkError::Malformed));
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

//! The chunked decoder fed arbitrary bytes in arbitrary splits: never panics, never decodes more
//! than its limit, and reaches the same verdict, body and length however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor_proto::http::{ChunkError, ChunkedDecoder};

const MAX_BODY: usize = 200;
const MAX_TRAILERS: usize = 64;

fn decode(input: &[u8], cuts: &[usize]) -> (Result<usize, ChunkError>, Vec<u8>, bool) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.extend([0, input.len()]);
    points.sort_unstable();
    points.dedup();
    let mut decoder = ChunkedDecoder::new(MAX_BODY, MAX_TRAILERS);
    let mut body = Vec::new();
    let mut used = 0;
    for pair in points.windows(2) {
        let piece = &input[pair[0]..pair[1]];
        match decoder.decode(piece, &mut body) {
            Ok(n) => {
                assert!(n <= piece.len());
                used += n;
                assert!(body.len() <= MAX_BODY);
                assert!(body.len() as u64 <= decoder.decoded());
                if decoder.is_done() {
                    assert_eq!(body.len() as u64, decoder.decoded());
                    return (Ok(used), body, true);
                }
                assert_eq!(n, piece.len(), "an unfinished body takes all its input");
            }
            Err(e) => return (Err(e), body, false),
        }
    }
    (Ok(used), body, false)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let cuts: Vec<usize> = data[..4].iter().map(|&b| usize::from(b)).collect();
    let input = &data[4..];
    let (whole, whole_body, whole_done) = decode(input, &[]);
    let (split, split_body, split_done) = decode(input, &cuts);
    let bytewise: Vec<usize> = (0..input.len()).collect();
    let (bytes, bytes_body, bytes_done) = decode(input, &bytewise);
    assert_eq!(whole, split);
    assert_eq!(whole, bytes);
    assert_eq!(whole_done, split_done);
    assert_eq!(whole_done, bytes_done);
    if whole_done {
        assert_eq!(whole_body, split_body);
        assert_eq!(whole_body, bytes_body);
    }
});

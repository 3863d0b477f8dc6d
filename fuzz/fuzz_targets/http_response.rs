//! The client-side HTTP response framing (what the load generator reads) fed arbitrary bytes in
//! arbitrary splits: never panics, and wherever whole and split feeding both succeed they frame
//! the same responses (a line or head limit may trip only when a piece ends inside it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor_proto::client::http::{Response, ResponseReader};

/// Feed `input` cut at `cuts`, then end the stream; the responses framed, or None on an error.
fn frame(input: &[u8], cuts: &[usize], head_request: bool) -> Option<Vec<Response>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.extend([0, input.len()]);
    points.sort_unstable();
    points.dedup();
    let mut reader = ResponseReader::new(head_request);
    let mut done = Vec::new();
    for pair in points.windows(2) {
        reader.on_bytes(&input[pair[0]..pair[1]], &mut done).ok()?;
    }
    reader.on_eof(&mut done).ok()?;
    assert!(done.iter().all(|r| !(100..200).contains(&r.status)), "interim responses are skipped");
    Some(done)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let head_request = control & 1 == 1;
    let cuts: Vec<usize> = (0..(control >> 1) as usize % 8)
        .map(|i| input.len() * (i + 1) / 9 + usize::from(control) * i)
        .collect();
    let whole = frame(input, &[], head_request);
    let split = frame(input, &cuts, head_request);
    let bytewise = frame(input, &(0..input.len()).collect::<Vec<_>>(), head_request);
    if let (Some(w), Some(s)) = (&whole, &split) {
        assert_eq!(w, s, "whole and split feeding framed differently");
    }
    if let (Some(w), Some(b)) = (&whole, &bytewise) {
        assert_eq!(w, b, "whole and bytewise feeding framed differently");
    }
});

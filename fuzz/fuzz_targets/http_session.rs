//! The HTTP session fed arbitrary bytes in arbitrary splits with arbitrary output budgets: it
//! never panics, never answers more requests than the input could hold, never exceeds its
//! buffering bounds, says nothing after closing, and answers the same however the input is split
//! (up to one final refusal of an unfinished request).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let (cuts, budget, input) = common::params(data);
    let limits = common::small_limits();
    let split = common::drive(input, &cuts, budget, &limits);
    let whole = common::drive(input, &[], usize::MAX, &limits);
    let bound = common::complete_heads_at_most(input) + 1;
    assert!(
        split.responses <= bound,
        "{} responses, at most {bound} requests",
        split.responses
    );
    if !split.out.is_empty() {
        assert!(split.out.starts_with(b"HTTP/1.1 "));
    }
    // However the bytes arrive, the same requests are answered; only whether an unfinished
    // garbage request is refused (400) or abandoned at EOF may depend on where a read ended
    // (the session re-parses an unfinished head only when a line ends).
    let (fewer, more) = if split.responses <= whole.responses {
        (&split, &whole)
    } else {
        (&whole, &split)
    };
    assert!(
        more.responses - fewer.responses <= 1,
        "{} vs {} answers",
        split.responses,
        whole.responses
    );
    if more.responses > fewer.responses {
        assert!(more.closed, "the extra answer must be a final refusal");
    }
});

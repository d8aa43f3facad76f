//! Fuzz target: arbitrary bytes, split at arbitrary points, into the request
//! parser. The invariants live in `protocol_invariants.rs`, shared with the
//! stable-Rust randomized test `tests/protocol_fuzz.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../protocol_invariants.rs");

fuzz_target!(|data: &[u8]| {
    check_request_parser(data);
});

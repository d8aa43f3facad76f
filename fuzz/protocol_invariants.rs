// Invariants of `ferrodis::protocol::RequestParser`, shared (by `include!`)
// between the cargo-fuzz target `fuzz/fuzz_targets/protocol.rs` and the
// stable-Rust randomized test `tests/protocol_fuzz.rs`.
//
// For any input:
// * parsing never panics;
// * feeding it all at once, in pseudo-random pieces, or a byte at a time
//   gives the same requests and the same protocol error (the parser's
//   resumable state is exact);
// * no argument exceeds the bulk length limit;
// * every request, re-encoded as a RESP multibulk, parses back to itself.

use bytes::BytesMut;
use ferrodis::protocol::{Parsed, RequestParser};

/// What parsing an input produced.
#[derive(Debug, PartialEq, Eq, Default)]
struct Outcome {
    /// Each request's arguments, in order.
    requests: Vec<Vec<Vec<u8>>>,
    /// The protocol error that ended parsing, if any.
    error: Option<String>,
}

/// A small `proto-max-bulk-len`, so length headers land on both sides of it.
const FUZZ_MAX_BULK: usize = 1 << 12;
/// Inputs are cut to this (below the 64 KiB line limit, whose errors depend
/// on how much is buffered at once, as in Redis).
const FUZZ_MAX_INPUT: usize = 8 * 1024;
/// Byte-at-a-time feeding is quadratic on long lines; only for short inputs.
const FUZZ_MAX_BYTEWISE: usize = 2 * 1024;

/// Parses whatever is complete in `buf`; true once a protocol error ends it.
fn fuzz_drain(parser: &mut RequestParser, buf: &mut BytesMut, out: &mut Outcome) -> bool {
    loop {
        match parser.parse(buf, FUZZ_MAX_BULK) {
            Ok(Parsed::Request(args)) => {
                assert!(!args.is_empty(), "a request has at least its name");
                assert!(args.iter().all(|a| a.len() <= FUZZ_MAX_BULK));
                out.requests.push(args.iter().map(|a| a.to_vec()).collect());
                parser.recycle(args);
            }
            Ok(Parsed::Incomplete { .. }) => return false,
            Err(e) => {
                out.error = Some(e.0);
                return true;
            }
        }
    }
}

/// Feeds `input` in pieces of the sizes `sizes` yields (the rest at the end).
fn fuzz_parse_in_pieces(input: &[u8], mut sizes: impl FnMut() -> usize) -> Outcome {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Outcome::default();
    let mut at = 0;
    while at < input.len() {
        let n = sizes().clamp(1, input.len() - at);
        buf.extend_from_slice(&input[at..at + n]);
        at += n;
        if fuzz_drain(&mut parser, &mut buf, &mut out) {
            return out;
        }
    }
    out
}

/// Checks every invariant on `data`: its first byte seeds the split points,
/// the rest is the input.
pub fn check_request_parser(data: &[u8]) {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let input = &input[..input.len().min(FUZZ_MAX_INPUT)];

    let whole = fuzz_parse_in_pieces(input, || usize::MAX);

    let max_piece = 1 + (seed as usize % 32);
    let mut state = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let pieces = fuzz_parse_in_pieces(input, || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        1 + (state as usize % max_piece)
    });
    assert_eq!(whole, pieces, "whole vs pieces of at most {max_piece}");

    if input.len() <= FUZZ_MAX_BYTEWISE {
        let bytewise = fuzz_parse_in_pieces(input, || 1);
        assert_eq!(whole, bytewise, "whole vs byte at a time");
    }

    let mut encoded = Vec::new();
    for request in &whole.requests {
        encoded.extend_from_slice(format!("*{}\r\n", request.len()).as_bytes());
        for arg in request {
            encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            encoded.extend_from_slice(arg);
            encoded.extend_from_slice(b"\r\n");
        }
    }
    let again = fuzz_parse_in_pieces(&encoded, || usize::MAX);
    assert_eq!(again.error, None, "re-encoded requests parse cleanly");
    assert_eq!(again.requests, whole.requests, "re-encoded requests round-trip");
}

//! The protocol fuzz target's invariants (fuzz/protocol_invariants.rs) on
//! seeded pseudo-random inputs, so they run on stable Rust in every
//! `cargo test`. `scripts/fuzz.sh` runs the coverage-guided version.

include!("../fuzz/protocol_invariants.rs");

mod common;

use common::rng::XorShiftStar as Rng;

/// Inputs mixing protocol fragments, numbers near the limits and raw bytes.
fn random_input(rng: &mut Rng) -> Vec<u8> {
    const FRAGMENTS: &[&[u8]] = &[
        b"*",
        b"$",
        b"\r\n",
        b"\r",
        b"\n",
        b"\0",
        b"-",
        b"+",
        b"0",
        b"1",
        b"2",
        b"3",
        b"4096",
        b"4097",
        b"2147483648",
        b"99999999999999999999",
        b"\"",
        b"'",
        b"\\x4",
        b"\\",
        b" ",
        b"\t",
        b"\x0b",
        b"SET",
        b"GET",
        b"*2\r\n",
        b"*1\r\n",
        b"$3\r\n",
        b"$0\r\n",
        b"$-1\r\n",
        b"*0\r\n",
        b"*-1\r\n",
    ];
    let mut out = vec![rng.next() as u8];
    let parts = rng.below(48);
    for _ in 0..parts {
        match rng.below(4) {
            0 => {
                let n = rng.below(6);
                out.extend((0..n).map(|_| rng.next() as u8));
            }
            1 => {
                // A well-formed request, so parsing gets past the first one.
                let args = 1 + rng.below(3);
                out.extend_from_slice(format!("*{args}\r\n").as_bytes());
                for _ in 0..args {
                    let len = rng.below(12);
                    out.extend_from_slice(format!("${len}\r\n").as_bytes());
                    out.extend((0..len).map(|_| rng.next() as u8));
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => out.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]),
        }
    }
    out
}

#[test]
fn parser_invariants_hold_on_random_inputs() {
    let mut rng = Rng(0x5eed_f00d_cafe_d00d);
    for _ in 0..20_000 {
        check_request_parser(&random_input(&mut rng));
    }
}

#[test]
fn parser_invariants_hold_on_known_edge_cases() {
    let cases: &[&[u8]] = &[
        b"\x00*2\r\n\r\n",
        b"\x07*1\r\n$4\r\nPING\r\n",
        b"\x01PING\r\nECHO \"a b\" 'c'\r\n",
        b"\x03*2\r\n$3\r\nGETxx$1\r\nk\r\n",
        b"\x05*1\r\n$4097\r\n",
        b"\x09SET \"a\r\n",
        b"\x0bPI\0NG\r\n",
        b"\x0d*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4096\r\n",
    ];
    for case in cases {
        check_request_parser(case);
    }
}

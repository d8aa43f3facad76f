//! LZF, the compression RDB files use for long strings.
//!
//! A stream is a sequence of items, each led by a control byte:
//!
//! * `000LLLLL`, then `L + 1` (1..=32) bytes copied to the output as they are;
//! * `LLLooooo oooooooo` with `LLL` in 1..=6: copy `LLL + 2` (3..=8) bytes
//!   from `ooooo oooooooo + 1` (1..=8192) bytes back in the output;
//! * `111ooooo LLLLLLLL oooooooo`: the same with `LLLLLLLL + 9` (9..=264)
//!   bytes.
//!
//! A back reference may overlap the bytes it produces (distance 1 repeats
//! one byte). The stream carries no length of its own: RDB stores the
//! uncompressed length next to it, and decoding must produce exactly that.

/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// Farthest back a reference can reach.
const MAX_DISTANCE: usize = 8192;
/// Shortest match worth a reference (a 2-byte reference for 3 bytes).
const MIN_MATCH: usize = 3;
/// Longest match one reference can copy.
const MAX_MATCH: usize = 264;
/// Upper bound of output bytes per input byte: a 3-byte reference yields at
/// most 264 bytes. Any larger claimed length is rejected before allocating.
const MAX_EXPANSION: usize = MAX_MATCH / 3;

/// Largest hash table, in bits; liblzf uses the same size by default.
const MAX_HASH_BITS: u32 = 16;
/// Smallest hash table; fewer slots lose too many matches to collisions in
/// short strings.
const MIN_HASH_BITS: u32 = 8;

/// Compresses `input`; `None` when the result would not be shorter than
/// `input` (callers then store it raw).
///
/// The output is a valid LZF stream for `decompress(output, input.len())`
/// and for liblzf's decoder, though not byte-identical to what liblzf
/// writes. Redis itself only keeps a compressed string when it saves at
/// least 4 bytes and the string is longer than 20 bytes; that policy is
/// left to the caller. At most `input.len()` bytes are allocated for the
/// output, plus a hash table of at most 256 KiB.
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    // Under 3 bytes there is no match to find, and a literal run is one
    // byte longer than its contents.
    if n < MIN_MATCH {
        return None;
    }
    // Size the table to the input (about one slot per byte) so that short
    // strings do not pay for clearing a large table.
    let bits = (usize::BITS - (n - 1).leading_zeros()).clamp(MIN_HASH_BITS, MAX_HASH_BITS);
    match bits {
        0..=8 => compress_on_stack::<256>(input),
        9 => compress_on_stack::<512>(input),
        10 => compress_on_stack::<1024>(input),
        _ => compress_with(input, &mut vec![0u32; 1usize << bits]),
    }
}

/// Runs the compressor with an `N`-slot table on the stack: for the short
/// strings that make up most keyspaces, a heap allocation would cost about
/// as much as the compression itself.
fn compress_on_stack<const N: usize>(input: &[u8]) -> Option<Vec<u8>> {
    let mut table = [0u32; N];
    compress_with(input, &mut table)
}

/// The compressor proper; `table` is zeroed, its length is a power of two
/// from 2^8 to 2^16, and `input` has at least `MIN_MATCH` bytes.
fn compress_with(input: &[u8], table: &mut [u32]) -> Option<Vec<u8>> {
    let n = input.len();
    let shift = 32 - table.len().trailing_zeros();
    // The output must stay strictly shorter than the input; it only ever
    // grows, so the attempt stops as soon as it would reach `n` bytes, and
    // the buffer never grows past its initial capacity.
    let mut out = Vec::with_capacity(n - 1);

    // Positions are kept as u32 and compared by wrapping difference, so
    // inputs over 4 GiB only lose matches, never correctness: every
    // candidate is verified byte by byte before use.
    let mut pos = 0usize;
    let mut literal_start = 0usize;
    // A 4-byte read at `pos` must stay in bounds; the last few bytes become
    // literals.
    while pos + 4 <= n {
        let here = read3(input, pos);
        let slot = hash(here, shift);
        let candidate = table.get(slot).copied().unwrap_or(0);
        if let Some(t) = table.get_mut(slot) {
            *t = pos as u32;
        }
        let distance = (pos as u32).wrapping_sub(candidate) as usize;
        if distance == 0 || distance > MAX_DISTANCE || distance > pos {
            pos += 1;
            continue;
        }
        let from = pos - distance;
        if read3(input, from) != here {
            pos += 1;
            continue;
        }
        let len = match_length(input, from, pos);

        let literals = &input[literal_start..pos];
        let reference_cost = if len - 2 < 7 { 2 } else { 3 };
        if out.len() + literal_cost(literals.len()) + reference_cost >= n {
            return None;
        }
        flush_literals(&mut out, literals);
        push_reference(&mut out, distance, len);

        pos += len;
        literal_start = pos;
        // Index the last two positions of the match so that a following
        // repeat of its tail is found; indexing every position would cost
        // more time than it gains.
        for p in pos.saturating_sub(2)..pos {
            if p + 4 <= n {
                if let Some(t) = table.get_mut(hash(read3(input, p), shift)) {
                    *t = p as u32;
                }
            }
        }
    }
    let literals = &input[literal_start..];
    if out.len() + literal_cost(literals.len()) >= n {
        return None;
    }
    flush_literals(&mut out, literals);
    Some(out)
}

/// The three bytes at `pos` as a 24-bit number; the caller guarantees that
/// four bytes are readable, which lets this be one load.
#[inline]
fn read3(input: &[u8], pos: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(bytes) = input.get(pos..pos + 4) {
        word.copy_from_slice(bytes);
    }
    u32::from_le_bytes(word) & 0x00ff_ffff
}

/// Multiplicative hash of a 24-bit key into the table's index range.
#[inline]
fn hash(key: u32, shift: u32) -> usize {
    (key.wrapping_mul(0x9e37_79b1) >> shift) as usize
}

/// Length of the common run at `from` and `pos` (`from < pos`), known to be
/// at least `MIN_MATCH`, capped at `MAX_MATCH` and at the input's end.
#[inline]
fn match_length(input: &[u8], from: usize, pos: usize) -> usize {
    let limit = (input.len() - pos).min(MAX_MATCH);
    let mut len = MIN_MATCH;
    // Eight bytes per step; the first differing byte is found from the
    // lowest set bit of the xor.
    while len + 8 <= limit {
        let (Some(a), Some(b)) = (
            input.get(from + len..from + len + 8),
            input.get(pos + len..pos + len + 8),
        ) else {
            break;
        };
        let mut wa = [0u8; 8];
        let mut wb = [0u8; 8];
        wa.copy_from_slice(a);
        wb.copy_from_slice(b);
        let diff = u64::from_le_bytes(wa) ^ u64::from_le_bytes(wb);
        if diff != 0 {
            return len + (diff.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < limit && input.get(from + len) == input.get(pos + len) {
        len += 1;
    }
    len
}

/// Encoded size of `len` literal bytes: the bytes plus one control byte
/// per run.
#[inline]
fn literal_cost(len: usize) -> usize {
    len + len.div_ceil(MAX_LITERAL)
}

/// Appends `bytes` as literal runs of at most `MAX_LITERAL` bytes each.
#[inline]
fn flush_literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Appends a back reference; `distance` is in 1..=8192 and `len` in 3..=264.
#[inline]
fn push_reference(out: &mut Vec<u8>, distance: usize, len: usize) {
    let offset = distance - 1;
    let high = (offset >> 8) as u8;
    let low = offset as u8;
    let stored = len - 2;
    if stored < 7 {
        out.extend_from_slice(&[((stored as u8) << 5) | high, low]);
    } else {
        out.extend_from_slice(&[(7 << 5) | high, (stored - 7) as u8, low]);
    }
}

/// Decompresses an LZF stream that must expand to exactly `out_len` bytes;
/// `None` on any malformed input (bad back-reference, overrun, short
/// output). Never allocates more than `out_len` bytes.
///
/// A claimed `out_len` that `input` could not possibly produce (more than
/// 88 bytes per input byte) is rejected before anything is allocated, so a
/// corrupt length in a file cannot cause a large allocation on its own.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if out_len > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut rest = input;
    while let Some((&ctrl, tail)) = rest.split_first() {
        rest = tail;
        if ctrl < 32 {
            let run = usize::from(ctrl) + 1;
            if run > out_len - out.len() {
                return None;
            }
            let (bytes, tail) = split(rest, run)?;
            out.extend_from_slice(bytes);
            rest = tail;
        } else {
            let mut len = usize::from(ctrl >> 5);
            if len == 7 {
                let (&extra, tail) = rest.split_first()?;
                len += usize::from(extra);
                rest = tail;
            }
            let (&low, tail) = rest.split_first()?;
            rest = tail;
            let len = len + 2;
            let distance = ((usize::from(ctrl & 0x1f) << 8) | usize::from(low)) + 1;
            if distance > out.len() || len > out_len - out.len() {
                return None;
            }
            let from = out.len() - distance;
            if distance >= len {
                out.extend_from_within(from..from + len);
            } else {
                // The source overlaps what is being written: copy in steps
                // of `distance`, each of which is already present.
                let mut remaining = len;
                let mut src = from;
                while remaining > 0 {
                    let step = remaining.min(distance);
                    out.extend_from_within(src..src + step);
                    src += step;
                    remaining -= step;
                }
            }
        }
    }
    if out.len() != out_len {
        return None;
    }
    Some(out)
}

/// `bytes.split_at(n)` that fails instead of panicking when too short.
#[inline]
fn split(bytes: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    if n > bytes.len() {
        None
    } else {
        Some(bytes.split_at(n))
    }
}

#[cfg(test)]
mod tests {
    use super::{compress, decompress};

    fn xorshift(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Compresses when possible and checks that the stream decodes back.
    fn round_trip(input: &[u8]) -> Option<usize> {
        let packed = compress(input)?;
        assert!(packed.len() < input.len());
        assert_eq!(decompress(&packed, input.len()).as_deref(), Some(input));
        Some(packed.len())
    }

    #[test]
    fn empty_and_tiny_inputs_are_not_compressed() {
        assert_eq!(compress(b""), None);
        assert_eq!(compress(b"a"), None);
        assert_eq!(compress(b"ab"), None);
        assert_eq!(compress(b"abc"), None);
        assert_eq!(decompress(b"", 0), Some(Vec::new()));
    }

    #[test]
    fn short_incompressible_input_returns_none() {
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz"), None);
        assert_eq!(compress(&xorshift(40, 7)), None);
    }

    #[test]
    fn short_repetitive_round_trips() {
        for input in [
            &b"aaaaaaaaaaaaaaaaaaaaaaaa"[..],
            b"abcabcabcabcabcabcabcabc",
            b"hello hello hello hello hello",
            b"xyzxyzxyzxyzq",
        ] {
            assert!(round_trip(input).is_some(), "{input:?}");
        }
    }

    #[test]
    fn every_short_length_round_trips() {
        let base = b"0123456789abcdef0123456789abcdefthe quick brown fox the quick";
        for len in 0..base.len() {
            let input = &base[..len];
            if let Some(packed) = compress(input) {
                assert_eq!(decompress(&packed, len).as_deref(), Some(input));
            }
        }
        for len in 0..600 {
            let input = vec![b'z'; len];
            if let Some(packed) = compress(&input) {
                assert_eq!(decompress(&packed, len), Some(input));
            } else {
                assert!(len <= 4, "a run of {len} bytes must compress");
            }
        }
    }

    #[test]
    fn long_runs_use_long_references() {
        let input = vec![0u8; 100_000];
        let len = round_trip(&input).expect("a run compresses");
        // One literal plus about one 3-byte reference per 264 bytes.
        assert!(len < 100_000 / 264 * 3 + 16, "{len}");
    }

    #[test]
    fn random_input_round_trips_or_is_refused() {
        for (len, seed) in [(21, 1), (100, 2), (1000, 3), (70_000, 4)] {
            let input = xorshift(len, seed);
            assert_eq!(round_trip(&input), None, "random data should not shrink");
        }
        // Random bytes from a small alphabet repeat often enough to shrink.
        let mut mixed = xorshift(50_000, 5);
        for b in &mut mixed {
            *b %= 4;
        }
        assert!(round_trip(&mixed).is_some());
    }

    #[test]
    fn large_input_round_trips() {
        let mut input = Vec::with_capacity(1 << 20);
        let noise = xorshift(1 << 20, 9);
        let words: [&[u8]; 6] = [
            b"redis ",
            b"listpack ",
            b"ferrodis ",
            b"rdb ",
            b"key:",
            b"12345 ",
        ];
        let mut i = 0;
        while input.len() < 1 << 20 {
            let r = noise[i % noise.len()];
            if r < 40 {
                input.push(r);
            } else {
                input.extend_from_slice(words[usize::from(r) % words.len()]);
            }
            i += 1;
        }
        input.truncate(1 << 20);
        let len = round_trip(&input).expect("text compresses");
        assert!(len < input.len() / 2, "{len}");
        // A whole megabyte of random bytes with a repeated block far back
        // (beyond reach) and one near (within reach).
        let mut far = xorshift(1 << 20, 11);
        let block = far[1000..1300].to_vec();
        far[600_000..600_300].copy_from_slice(&block);
        far[601_000..601_300].copy_from_slice(&block);
        let packed = compress(&far);
        assert_eq!(packed, None, "mostly random data should not shrink");
    }

    #[test]
    fn hand_written_stream_decodes() {
        // Literal "abc" (ctrl 2), then copy 5 bytes from 3 back (ctrl
        // 0b011_00000 with offset 2: "abcab"), then copy 10 bytes from 1 back
        // via the long form (ctrl 0b111_00000, extra 10 - 9 = 1, offset 0),
        // then literal "Z" (ctrl 0).
        let stream = [2, b'a', b'b', b'c', 0x60, 2, 0xe0, 1, 0, 0, b'Z'];
        let expected = b"abcabcabbbbbbbbbbbZ";
        assert_eq!(
            decompress(&stream, expected.len()).as_deref(),
            Some(&expected[..])
        );
        // Longest reference and farthest offset: 8192 literal bytes, then
        // 264 bytes copied from the very start.
        let mut stream = Vec::new();
        let data = xorshift(8192, 3);
        for run in data.chunks(32) {
            stream.push((run.len() - 1) as u8);
            stream.extend_from_slice(run);
        }
        stream.extend_from_slice(&[0xff, 255, 0xff]);
        let out = decompress(&stream, 8192 + 264).expect("valid");
        assert_eq!(&out[..8192], &data[..]);
        assert_eq!(&out[8192..], &data[..264]);
    }

    #[test]
    fn malformed_streams_are_rejected() {
        let good = compress(&b"abcdefabcdefabcdefabcdefabcdef"[..]).expect("compresses");
        assert!(decompress(&good, 30).is_some());
        // Truncated at every point.
        for cut in 0..good.len() {
            assert_eq!(decompress(&good[..cut], 30), None, "cut at {cut}");
        }
        // Wrong claimed lengths.
        assert_eq!(decompress(&good, 29), None);
        assert_eq!(decompress(&good, 31), None);
        assert_eq!(decompress(&good, 0), None);
        assert_eq!(decompress(&good, usize::MAX), None);
        // Reference before the start of the output.
        assert_eq!(decompress(&[0x20, 0], 3), None);
        assert_eq!(decompress(&[0, b'a', 0x20, 1], 4), None);
        assert_eq!(decompress(&[0, b'a', 0x20, 0], 4), Some(b"aaaa".to_vec()));
        // Literal run longer than the remaining input.
        assert_eq!(decompress(&[5, b'a', b'b'], 6), None);
        // Long reference missing its length or offset byte.
        assert_eq!(decompress(&[0, b'a', 0xe0], 12), None);
        assert_eq!(decompress(&[0, b'a', 0xe0, 0], 12), None);
        // Output overrun by a literal or a reference.
        assert_eq!(decompress(&[1, b'a', b'b'], 1), None);
        assert_eq!(decompress(&[0, b'a', 0x20, 0], 3), None);
    }
}

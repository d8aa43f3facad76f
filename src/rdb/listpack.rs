//! Redis's listpack byte format, as found inside RDB files (small hashes,
//! sets, sorted sets, list nodes and stream nodes are stored as one listpack
//! blob each). This is the on-disk format only; ferrodis keeps its own
//! in-memory packed sequence elsewhere.
//!
//! Layout: a 6-byte header (total size as `u32` little-endian, then the
//! element count as `u16` little-endian, where 65535 means "too many, count
//! them"), the entries, and a final `0xFF`.
//!
//! Each entry is an encoding byte with its payload, followed by a "backlen":
//! the size of encoding plus payload in 1 to 5 bytes, 7 bits per byte, most
//! significant group first, with the high bit set on every byte except the
//! first. Read from its last byte leftwards it is self-delimiting, which is
//! how a listpack is walked backwards.
//!
//! | first byte     | meaning                                              |
//! |----------------|------------------------------------------------------|
//! | `0xxxxxxx`     | integer 0..=127                                      |
//! | `10LLLLLL`     | string of `L` (0..=63) bytes                         |
//! | `110xxxxx`     | 13-bit two's-complement integer: 5 bits here, 8 next |
//! | `1110LLLL`     | string, 12-bit length: 4 bits here, 8 next           |
//! | `0xF0`         | string, 32-bit little-endian length follows          |
//! | `0xF1`..`0xF4` | 16/24/32/64-bit little-endian integer follows        |
//! | `0xFF`         | end of the listpack                                  |

use std::fmt;

/// Size of the header: total bytes (4) and element count (2).
const HEADER: usize = 6;
/// The byte that ends every listpack.
const TERMINATOR: u8 = 0xFF;
/// Count field value meaning the count did not fit and must be computed.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Builds a listpack in Redis's format.
///
/// Elements are appended in order with [`push`](Self::push) (or
/// [`push_int`](Self::push_int)) and [`finish`](Self::finish) returns the
/// blob. The caller must keep the whole listpack under 4 GiB
/// ([`encoded_len`](Self::encoded_len) tells the size so far); Redis itself
/// never builds one over 1 GiB.
#[derive(Debug, Clone)]
pub struct ListpackWriter {
    /// Header placeholder followed by the entries; the header and the
    /// terminator are written by `finish`.
    buf: Vec<u8>,
    /// Elements pushed so far.
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    /// An empty listpack.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty listpack with room for `bytes` bytes of entries, to avoid
    /// regrowing when the caller knows the approximate size.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(HEADER + bytes + 1);
        buf.resize(HEADER, 0);
        ListpackWriter { buf, count: 0 }
    }

    /// Appends one element. Like Redis, a string that is the canonical
    /// decimal form of an i64 (what Redis's string2ll accepts: no leading
    /// '+', no leading zeros, no spaces, "-0" not canonical, at most 20
    /// chars; see [`parse_canonical_i64`]) is stored with the smallest
    /// integer encoding; anything else as a string.
    pub fn push(&mut self, element: &[u8]) {
        match parse_canonical_i64(element) {
            Some(v) => self.push_int(v),
            None => self.push_string(element),
        }
    }

    /// Appends an integer with the smallest encoding that holds it; the
    /// same entry [`push`](Self::push) writes for the integer's decimal text.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            // Two's complement in 13 bits: the top 5 go into the tag byte.
            let u = (v as u16) & 0x1fff;
            self.buf
                .extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (-2_147_483_648..=2_147_483_647).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.end_entry(start);
    }

    /// Appends `s` as a string entry, never as an integer.
    fn push_string(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf
                .extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            // Lengths past u32 are truncated here, but such a listpack is
            // over the 4 GiB `finish` refuses, so it is never returned.
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.end_entry(start);
    }

    /// Writes the backlen of the entry that began at `start`.
    fn end_entry(&mut self, start: usize) {
        let (bytes, n) = encode_backlen((self.buf.len() - start) as u64);
        self.buf.extend_from_slice(&bytes[..n]);
        self.count += 1;
    }

    /// Number of elements pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing has been pushed yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size in bytes of the blob [`finish`](Self::finish) would return now.
    pub fn encoded_len(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished bytes (header filled in; count field 65535 when the
    /// count exceeds 65534).
    ///
    /// # Panics
    ///
    /// If [`encoded_len`](Self::encoded_len) exceeds `u32::MAX`, which the
    /// format cannot describe; callers bound their listpacks far below it.
    pub fn finish(self) -> Vec<u8> {
        let mut buf = self.buf;
        buf.push(TERMINATOR);
        let total = u32::try_from(buf.len()).unwrap_or_else(|_| {
            panic!("listpack of {} bytes exceeds the format's 4 GiB", buf.len())
        });
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != COUNT_UNKNOWN)
            .unwrap_or(COUNT_UNKNOWN);
        buf[..4].copy_from_slice(&total.to_le_bytes());
        buf[4..HEADER].copy_from_slice(&count.to_le_bytes());
        buf
    }
}

/// The backlen bytes for an entry of `size` bytes, in the order they are
/// stored, and how many of the 5 are used. The size thresholds are Redis's
/// exactly (note the strict `<` bounds), since a reader derives the backlen's
/// width from the entry size and must agree with the writer.
fn encode_backlen(size: u64) -> ([u8; 5], usize) {
    let n = if size <= 127 {
        1
    } else if size < 16_383 {
        2
    } else if size < 2_097_151 {
        3
    } else if size < 268_435_455 {
        4
    } else {
        5
    };
    let mut out = [0u8; 5];
    for (i, byte) in out.iter_mut().take(n).enumerate() {
        let group = ((size >> (7 * (n - 1 - i))) & 0x7f) as u8;
        // Every byte but the leftmost carries the "more to the left" bit.
        *byte = if i == 0 { group } else { group | 0x80 };
    }
    (out, n)
}

/// Parses `s` if it is the canonical decimal form of an `i64`, the rule
/// Redis's `string2ll` applies: an optional `-`, then `0` alone or a digit
/// 1-9 followed by digits, at most 20 bytes, no overflow. `"-0"`, `"+1"`,
/// `"007"`, `" 1"` and `"1.0"` are not canonical. Exactly these strings are
/// stored as integers by Redis, so the same test decides RDB's integer
/// encodings of strings too.
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        if magnitude <= i64::MAX as u64 {
            Some(-(magnitude as i64))
        } else if magnitude == i64::MAX as u64 + 1 {
            Some(i64::MIN)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Why a listpack blob was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListpackError(pub &'static str);

impl fmt::Display for ListpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ListpackError {}

/// Why [`walk`] stopped early: internal, so that `?` works for both kinds
/// of error; [`for_each`] separates them again.
enum Stop<E> {
    /// The blob is malformed.
    Corrupt(ListpackError),
    /// The callback failed.
    Caller(E),
}

impl<E> From<ListpackError> for Stop<E> {
    fn from(e: ListpackError) -> Self {
        Stop::Corrupt(e)
    }
}

/// Checks a whole blob (header total matches the blob length, every entry
/// well formed and inside the blob, each backlen consistent with its entry,
/// terminator present and last, header count matches unless 65535) and
/// calls `f` with each element in order; integer entries are passed as their
/// decimal text. Returns the number of elements. `f` may fail with the
/// caller's error. Never panics and never allocates.
///
/// The two error levels: `Err(ListpackError)` means the blob is malformed;
/// `Ok(Err(e))` means `f` returned `e` and the walk stopped there;
/// `Ok(Ok(n))` means the blob is valid and held `n` elements.
///
/// The header, the size and the final terminator are checked before any
/// call; each entry is checked before `f` sees it; a wrong count or an early
/// terminator is found only when the walk reaches it. So `f` may have been
/// called for some elements before an `Err(ListpackError)`, and
/// callers discard what they built on any error. Strings are slices of
/// `blob`, integers are formatted on the stack.
pub fn for_each<E>(
    blob: &[u8],
    f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Result<usize, E>, ListpackError> {
    match walk(blob, f) {
        Ok(n) => Ok(Ok(n)),
        Err(Stop::Caller(e)) => Ok(Err(e)),
        Err(Stop::Corrupt(e)) => Err(e),
    }
}

/// [`for_each`] with both errors in one type.
fn walk<E>(blob: &[u8], mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<usize, Stop<E>> {
    let (total, header_count) = match blob {
        [t0, t1, t2, t3, c0, c1, ..] => (
            u32::from_le_bytes([*t0, *t1, *t2, *t3]),
            u16::from_le_bytes([*c0, *c1]),
        ),
        _ => return Err(ListpackError("shorter than the header").into()),
    };
    if u64::from(total) != blob.len() as u64 {
        return Err(ListpackError("header size does not match the blob size").into());
    }
    // The blob is at least HEADER bytes, so `end` is at least 5; it is the
    // index the terminator must occupy.
    let end = blob.len() - 1;
    if end < HEADER || blob.get(end) != Some(&TERMINATOR) {
        return Err(ListpackError("missing terminator").into());
    }

    let mut pos = HEADER;
    let mut count = 0usize;
    let mut digits = [0u8; 20];
    loop {
        let Some(&tag) = blob.get(pos) else {
            return Err(ListpackError("entry runs past the end").into());
        };
        if tag == TERMINATOR {
            if pos != end {
                return Err(ListpackError("terminator before the end").into());
            }
            break;
        }
        let entry = decode_entry(blob, pos, end)?;
        count += 1;
        if header_count != COUNT_UNKNOWN && count > usize::from(header_count) {
            return Err(ListpackError("more entries than the header count").into());
        }
        let element = match entry.value {
            Value::Str(s) => s,
            Value::Int(v) => format_i64(v, &mut digits),
        };
        f(element).map_err(Stop::Caller)?;
        pos = entry.next;
    }
    if header_count != COUNT_UNKNOWN && count != usize::from(header_count) {
        return Err(ListpackError("fewer entries than the header count").into());
    }
    Ok(count)
}

/// Checks a whole blob as [`for_each`] does, without visiting the elements,
/// and returns how many there are.
pub fn validate(blob: &[u8]) -> Result<usize, ListpackError> {
    match for_each(blob, |_| Ok::<(), std::convert::Infallible>(()))? {
        Ok(n) => Ok(n),
        Err(never) => match never {},
    }
}

/// One decoded entry's value.
enum Value<'a> {
    /// A string entry's bytes, inside the blob.
    Str(&'a [u8]),
    /// An integer entry.
    Int(i64),
}

/// A decoded entry and where the next one starts.
struct Entry<'a> {
    /// The element.
    value: Value<'a>,
    /// Offset of the next entry (or of the terminator).
    next: usize,
}

/// Decodes the entry at `pos`, which must end (backlen included) at or
/// before `end`, the terminator's index.
fn decode_entry(blob: &[u8], pos: usize, end: usize) -> Result<Entry<'_>, ListpackError> {
    const PAST_END: ListpackError = ListpackError("entry runs past the end");
    // `end` bounds every read, so no slice below can reach the terminator.
    let body = blob.get(pos..end).ok_or(PAST_END)?;
    let byte = |i: usize| body.get(i).copied().ok_or(PAST_END);
    let tag = byte(0)?;

    // (size of the tag and its length or integer bytes, payload size, value)
    let (head, payload, int): (usize, u64, Option<i64>) = if tag & 0x80 == 0 {
        (1, 0, Some(i64::from(tag)))
    } else if tag & 0xC0 == 0x80 {
        (1, u64::from(tag & 0x3f), None)
    } else if tag & 0xE0 == 0xC0 {
        let u = (u16::from(tag & 0x1f) << 8) | u16::from(byte(1)?);
        // Sign-extend from 13 bits by moving the sign bit to bit 15.
        (2, 0, Some(i64::from(((u << 3) as i16) >> 3)))
    } else if tag & 0xF0 == 0xE0 {
        let len = (u64::from(tag & 0x0f) << 8) | u64::from(byte(1)?);
        (2, len, None)
    } else {
        match tag {
            0xF0 => {
                let b = le_bytes::<4>(body)?;
                (5, u64::from(u32::from_le_bytes(b)), None)
            }
            0xF1 => {
                let b = le_bytes::<2>(body)?;
                (3, 0, Some(i64::from(i16::from_le_bytes(b))))
            }
            0xF2 => {
                let [a, b, c] = le_bytes::<3>(body)?;
                // Place the 3 bytes at the top of an i32 so that the shift
                // back sign-extends.
                let v = i32::from_le_bytes([0, a, b, c]) >> 8;
                (4, 0, Some(i64::from(v)))
            }
            0xF3 => {
                let b = le_bytes::<4>(body)?;
                (5, 0, Some(i64::from(i32::from_le_bytes(b))))
            }
            0xF4 => {
                let b = le_bytes::<8>(body)?;
                (9, 0, Some(i64::from_le_bytes(b)))
            }
            _ => return Err(ListpackError("invalid entry encoding")),
        }
    };

    // At most 5 + u32::MAX, so u64 arithmetic cannot overflow.
    let size = head as u64 + payload;
    let (backlen, backlen_len) = encode_backlen(size);
    let whole = size + backlen_len as u64;
    if whole > body.len() as u64 {
        return Err(PAST_END);
    }
    // `whole` fits in `body.len()`, so these conversions and slices hold.
    let size = size as usize;
    let stored = body.get(size..size + backlen_len).ok_or(PAST_END)?;
    if stored != &backlen[..backlen_len] {
        return Err(ListpackError("backlen does not match the entry size"));
    }
    let value = match int {
        Some(v) => Value::Int(v),
        None => Value::Str(body.get(head..size).ok_or(PAST_END)?),
    };
    Ok(Entry {
        value,
        next: pos + size + backlen_len,
    })
}

/// The `N` bytes after the tag byte of `body`.
fn le_bytes<const N: usize>(body: &[u8]) -> Result<[u8; N], ListpackError> {
    let mut out = [0u8; N];
    let src = body
        .get(1..1 + N)
        .ok_or(ListpackError("entry runs past the end"))?;
    out.copy_from_slice(src);
    Ok(out)
}

/// Writes `v` in decimal into `buf` and returns the used part; 20 bytes
/// hold `i64::MIN`.
fn format_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = v.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'0' + (magnitude % 10) as u8;
        }
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if v < 0 {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'-';
        }
    }
    buf.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{for_each, parse_canonical_i64, validate, ListpackError, ListpackWriter};

    fn build(elements: &[&[u8]]) -> Vec<u8> {
        let mut w = ListpackWriter::new();
        for e in elements {
            w.push(e);
        }
        assert_eq!(w.len(), elements.len());
        let expected_len = w.encoded_len();
        let blob = w.finish();
        assert_eq!(blob.len(), expected_len);
        blob
    }

    fn read(blob: &[u8]) -> Result<Vec<Vec<u8>>, ListpackError> {
        let mut out = Vec::new();
        let n = for_each(blob, |e| {
            out.push(e.to_vec());
            Ok::<(), ()>(())
        })?;
        let Ok(n) = n else {
            unreachable!("the callback never fails")
        };
        assert_eq!(n, out.len());
        Ok(out)
    }

    fn round_trip(elements: &[&[u8]]) -> Vec<u8> {
        let blob = build(elements);
        let back = read(&blob).expect("valid listpack");
        let back: Vec<&[u8]> = back.iter().map(Vec::as_slice).collect();
        assert_eq!(back, elements);
        blob
    }

    /// The first entry of a one-element listpack, without its backlen.
    fn single_entry(element: &[u8]) -> Vec<u8> {
        let blob = build(&[element]);
        let body = &blob[6..blob.len() - 1];
        let backlen_len = if body.len() - 1 <= 127 { 1 } else { 2 };
        body[..body.len() - backlen_len].to_vec()
    }

    #[test]
    fn empty_listpack() {
        let w = ListpackWriter::default();
        assert!(w.is_empty());
        let blob = w.finish();
        assert_eq!(blob, [7, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(validate(&blob), Ok(0));
    }

    #[test]
    fn hand_built_bytes() {
        // "a": 6-bit string 0x81 'a', entry size 2 -> backlen 02.
        // "1": 7-bit integer 01, size 1 -> backlen 01.
        // "-5000": below the 13-bit range, so 16-bit: F1 then -5000 as u16
        //   0xEC78 little-endian, size 3 -> backlen 03.
        // Total 6 + 3 + 2 + 4 + 1 = 16 bytes, 3 elements.
        let blob = round_trip(&[b"a", b"1", b"-5000"]);
        assert_eq!(
            blob,
            [0x10, 0, 0, 0, 3, 0, 0x81, b'a', 2, 1, 1, 0xF1, 0x78, 0xEC, 3, 0xFF]
        );
        // And decoding a hand-written blob with the other encodings:
        // 13-bit -1 (DF FF), 24-bit 8388607 (F2 FF FF 7F), 12-bit string of
        // 2 bytes "hi" (E0 02 'h' 'i'), an empty string (80), and the
        // count field "unknown"; 6 + 3 + 5 + 5 + 2 + 1 = 22 bytes.
        let blob = [
            22, 0, 0, 0, 0xFF, 0xFF, 0xDF, 0xFF, 2, 0xF2, 0xFF, 0xFF, 0x7F, 4, 0xE0, 2, b'h', b'i',
            4, 0x80, 1, 0xFF,
        ];
        assert_eq!(read(&blob).unwrap(), [&b"-1"[..], b"8388607", b"hi", b""]);
    }

    #[test]
    fn integer_encodings_at_every_boundary() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0xC0, 0x80]),
            (-1, &[0xDF, 0xFF]),
            (-4096, &[0xD0, 0x00]),
            (4095, &[0xCF, 0xFF]),
            (4096, &[0xF1, 0x00, 0x10]),
            (-4097, &[0xF1, 0xFF, 0xEF]),
            (-32768, &[0xF1, 0x00, 0x80]),
            (32767, &[0xF1, 0xFF, 0x7F]),
            (32768, &[0xF2, 0x00, 0x80, 0x00]),
            (-32769, &[0xF2, 0xFF, 0x7F, 0xFF]),
            (8_388_607, &[0xF2, 0xFF, 0xFF, 0x7F]),
            (-8_388_608, &[0xF2, 0x00, 0x00, 0x80]),
            (8_388_608, &[0xF3, 0x00, 0x00, 0x80, 0x00]),
            (i64::from(i32::MAX), &[0xF3, 0xFF, 0xFF, 0xFF, 0x7F]),
            (i64::from(i32::MIN), &[0xF3, 0x00, 0x00, 0x00, 0x80]),
            (
                i64::from(i32::MAX) + 1,
                &[0xF4, 0x00, 0x00, 0x00, 0x80, 0, 0, 0, 0],
            ),
            (
                i64::from(i32::MIN) - 1,
                &[0xF4, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
            (
                i64::MAX,
                &[0xF4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            ),
            (i64::MIN, &[0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80]),
        ];
        for &(v, encoding) in cases {
            let text = v.to_string();
            assert_eq!(single_entry(text.as_bytes()), encoding, "{v}");
            round_trip(&[text.as_bytes()]);
            let mut w = ListpackWriter::new();
            w.push_int(v);
            assert_eq!(w.finish(), build(&[text.as_bytes()]), "{v}");
        }
    }

    #[test]
    fn non_canonical_numbers_stay_strings() {
        for s in [
            &b"007"[..],
            b"+1",
            b"-0",
            b" 1",
            b"1 ",
            b"1.5",
            b"-",
            b"",
            b"00",
            b"99999999999999999999",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"0x10",
            b"1e3",
        ] {
            assert_eq!(parse_canonical_i64(s), None, "{s:?}");
            let entry = single_entry(s);
            assert_eq!(entry[0], 0x80 | s.len() as u8, "{s:?}");
            round_trip(&[s]);
        }
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-10"), Some(-10));
    }

    #[test]
    fn mixed_round_trip() {
        let strings: Vec<Vec<u8>> = [1usize, 63, 64, 125, 126, 4095, 4096, 16_377, 16_378, 70_000]
            .iter()
            .map(|&n| (0..n).map(|i| b'a' + (i % 26) as u8).collect())
            .collect();
        let numbers: Vec<String> = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            32768,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::MIN,
            i64::MAX,
        ]
        .iter()
        .map(i64::to_string)
        .collect();
        let mut elements: Vec<&[u8]> = vec![b""];
        elements.extend(strings.iter().map(Vec::as_slice));
        elements.extend(numbers.iter().map(String::as_bytes));
        elements.extend([
            &b"007"[..],
            b"+1",
            b"-0",
            b" 1",
            b"1.5",
            b"99999999999999999999",
        ]);
        let blob = round_trip(&elements);
        assert_eq!(validate(&blob), Ok(elements.len()));
        assert_eq!(
            u16::from_le_bytes([blob[4], blob[5]]) as usize,
            elements.len()
        );
    }

    #[test]
    fn string_length_encodings() {
        let s = |n: usize| vec![b'x'; n];
        assert_eq!(single_entry(&s(63))[0], 0x80 | 63);
        assert_eq!(&single_entry(&s(64))[..2], [0xE0, 64]);
        assert_eq!(&single_entry(&s(4095))[..2], [0xEF, 0xFF]);
        assert_eq!(&single_entry(&s(4096))[..5], [0xF0, 0, 0x10, 0, 0]);
    }

    #[test]
    fn backlen_boundaries() {
        // Entry sizes (header + payload) 127/128, 16382/16383 and
        // 2097150/2097151 switch the backlen width.
        let cases = [
            (125usize, 1usize), // 2 + 125 = 127
            (126, 2),           // 128
            (16_377, 2),        // 5 + 16377 = 16382
            (16_378, 3),        // 16383
            (2_097_145, 3),     // 2097150
            (2_097_146, 4),     // 2097151
        ];
        for (len, width) in cases {
            let element = vec![b'q'; len];
            let blob = round_trip(&[&element]);
            let head = if len < 64 {
                1
            } else if len < 4096 {
                2
            } else {
                5
            };
            assert_eq!(blob.len(), 6 + head + len + width + 1, "{len}");
        }
        assert_eq!(super::encode_backlen(128), ([0x01, 0x80, 0, 0, 0], 2));
        assert_eq!(super::encode_backlen(16_382), ([0x7F, 0xFE, 0, 0, 0], 2));
        assert_eq!(super::encode_backlen(16_383), ([0x00, 0xFF, 0xFF, 0, 0], 3));
        assert_eq!(
            super::encode_backlen(u64::from(u32::MAX) + 5),
            ([0x10, 0x80, 0x80, 0x80, 0x84], 5)
        );
    }

    #[test]
    fn many_elements_use_unknown_count() {
        for n in [65_534usize, 65_535, 70_000] {
            let mut w = ListpackWriter::new();
            for i in 0..n {
                if i % 2 == 0 {
                    w.push(i.to_string().as_bytes());
                } else {
                    w.push(b"v");
                }
            }
            let blob = w.finish();
            let field = u16::from_le_bytes([blob[4], blob[5]]);
            assert_eq!(field, if n < 65_535 { n as u16 } else { 65_535 });
            let mut seen = 0usize;
            let count = for_each(&blob, |e| {
                let ok = if seen % 2 == 0 {
                    e == seen.to_string().as_bytes()
                } else {
                    e == b"v"
                };
                seen += 1;
                if ok {
                    Ok(())
                } else {
                    Err(seen)
                }
            });
            assert_eq!(count, Ok(Ok(n)));
        }
    }

    #[test]
    fn caller_error_stops_the_walk() {
        let blob = build(&[b"a", b"b", b"c"]);
        let mut seen = 0;
        let result = for_each(&blob, |e| {
            seen += 1;
            if e == b"b" {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Ok(Err("stop")));
        assert_eq!(seen, 2);
    }

    #[test]
    fn corrupt_blobs_are_rejected() {
        let good = build(&[b"hello", b"42", &[b'z'; 100]]);
        assert_eq!(validate(&good), Ok(3));
        let err = |blob: &[u8]| validate(blob).unwrap_err().0;

        // Too short for a header, and every truncation.
        assert_eq!(err(&[]), "shorter than the header");
        for cut in 0..good.len() {
            assert!(validate(&good[..cut]).is_err(), "cut at {cut}");
        }

        // Wrong total length in the header.
        let mut bad = good.clone();
        bad[0] += 1;
        assert_eq!(err(&bad), "header size does not match the blob size");

        // Missing terminator (header adjusted to match).
        let mut bad = good.clone();
        *bad.last_mut().unwrap() = 0;
        assert_eq!(err(&bad), "missing terminator");
        assert_eq!(err(&[6, 0, 0, 0, 0, 0]), "missing terminator");

        // A terminator byte where an entry should start.
        let mut bad = good.clone();
        bad[6 + 7] = 0xFF; // first byte of "42"
        assert_eq!(err(&bad), "terminator before the end");

        // An entry that claims more bytes than remain.
        // "hello" becomes a 32-bit-length string whose length bytes are
        // "hell", about 1.8 GB.
        let mut bad = good.clone();
        bad[6] = 0xF0;
        assert_eq!(err(&bad), "entry runs past the end");
        // A shorter over-claim lands on bytes that are not its backlen.
        let mut bad = good.clone();
        bad[6] = 0x80 | 63;
        assert_eq!(err(&bad), "backlen does not match the entry size");
        let mut big = build(&[&[b'z'; 5000]]);
        big[7..11].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(err(&big), "entry runs past the end");

        // A truncated entry: a 64-bit integer tag with its bytes cut off.
        let blob = [10, 0, 0, 0, 1, 0, 0xF4, 1, 2, 0xFF];
        assert_eq!(err(&blob), "entry runs past the end");

        // Bad backlen.
        let mut bad = good.clone();
        bad[6 + 6] = 5; // "hello" entry is 6 bytes
        assert_eq!(err(&bad), "backlen does not match the entry size");

        // Wrong count, both ways.
        let mut bad = good.clone();
        bad[4] = 4;
        assert_eq!(err(&bad), "fewer entries than the header count");
        let mut bad = good.clone();
        bad[4] = 2;
        assert_eq!(err(&bad), "more entries than the header count");
        // 65535 means "count them" and is accepted for any count.
        let mut unknown = good.clone();
        unknown[4] = 0xFF;
        unknown[5] = 0xFF;
        assert_eq!(validate(&unknown), Ok(3));

        // Unused encodings.
        for tag in 0xF5..=0xFE {
            let blob = [9, 0, 0, 0, 1, 0, tag, 1, 0xFF];
            assert_eq!(err(&blob), "invalid entry encoding", "{tag:#x}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seed = build(&[b"a", b"1234", b"-70000", &[b'k'; 70], b"x"]);
        for _ in 0..20_000 {
            let mut blob = seed.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % blob.len();
                blob[i] = next() as u8;
            }
            let total = blob.len() as u32;
            if next() % 2 == 0 {
                blob[..4].copy_from_slice(&total.to_le_bytes());
            }
            let _ = validate(&blob);
        }
    }
}

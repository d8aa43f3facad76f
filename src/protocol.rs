//! Request parsing: RESP multibulk requests and inline (telnet-style) commands.
//!
//! The parser is incremental: it keeps its progress between reads, so a large
//! request arriving in many small pieces is never re-scanned. Each argument is
//! split off the read buffer as a [`Bytes`] that shares the buffer's memory —
//! arguments are not copied on their way to the command.
//!
//! Limits and error texts are Redis's (`networking.c`): a protocol error is
//! answered with `-ERR Protocol error: ...` and the connection is closed after
//! the replies to the requests that came before it.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request, and longest `*<count>` / `$<len>` header line.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Arguments at or above this size get a buffer of their own, so the stored
/// value can keep that buffer instead of copying out of a shared one.
pub const BIG_ARG: usize = 32 * 1024;

/// Most argument slots reserved from a `*<count>` header before the
/// arguments arrive (and largest argument vector kept for reuse).
const MAX_PREALLOC_ARGS: usize = 1024;

/// A request the client sent that cannot be parsed; the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: impl Into<String>) -> Self {
        ProtocolError(msg.into())
    }

    /// The error reply text, as Redis words it.
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {}", self.0)
    }

    /// The error reply as raw bytes. Redis quotes an unexpected byte as is
    /// (`expected '$', got '\xdc'`); the message holds such a byte as the
    /// char of the same value, so every char maps back to one byte.
    pub fn reply_bytes(&self) -> Vec<u8> {
        let mut out = b"ERR Protocol error: ".to_vec();
        out.extend(self.0.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
        out
    }
}

/// Incremental parser state for one connection.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected for the multibulk request in progress.
    pending_args: usize,
    /// Length of the bulk argument whose header has been read, if any.
    pending_bulk: Option<usize>,
    /// Arguments parsed so far for the request in progress.
    args: Vec<Bytes>,
    /// An emptied argument vector handed back by [`RequestParser::recycle`],
    /// reused for the next request instead of allocating.
    spare: Vec<Bytes>,
    in_multibulk: bool,
}

/// What the connection should do with its read buffer before the next read.
pub enum Parsed {
    /// A complete request.
    Request(Vec<Bytes>),
    /// More bytes are needed; `hint` is how many more, when known.
    Incomplete { hint: usize },
}

impl RequestParser {
    /// Creates a parser with no request in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives back a request's argument vector once it has been run, so the
    /// next request reuses its allocation.
    pub fn recycle(&mut self, mut args: Vec<Bytes>) {
        if args.capacity() <= MAX_PREALLOC_ARGS {
            args.clear();
            self.spare = args;
        }
    }

    /// True while a request has been partly read.
    pub fn in_progress(&self) -> bool {
        self.in_multibulk
    }

    /// Parses the next request out of `buf`, consuming what it uses.
    ///
    /// `max_bulk` is `proto-max-bulk-len`. Empty requests (`*0`, blank inline
    /// lines) are skipped, as Redis does.
    pub fn parse(&mut self, buf: &mut BytesMut, max_bulk: usize) -> Result<Parsed, ProtocolError> {
        loop {
            if !self.in_multibulk {
                if buf.is_empty() {
                    return Ok(Parsed::Incomplete { hint: 0 });
                }
                if buf[0] != b'*' {
                    match parse_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Parsed::Request(args)),
                        None => return Ok(Parsed::Incomplete { hint: 0 }),
                    }
                }
                let Some(count) = take_header(buf, "too big mbulk count string")? else {
                    return Ok(Parsed::Incomplete { hint: 0 });
                };
                let count = count.filter(|&n| n <= i32::MAX as i64);
                let Some(count) = count else {
                    return Err(ProtocolError::new("invalid multibulk length"));
                };
                if count <= 0 {
                    continue;
                }
                self.pending_args = count as usize;
                // Never trust the header for the allocation size.
                let mut args = std::mem::take(&mut self.spare);
                args.reserve(self.pending_args.min(MAX_PREALLOC_ARGS));
                self.args = args;
                self.in_multibulk = true;
            }
            while self.pending_args > 0 {
                let len = match self.pending_bulk {
                    Some(len) => len,
                    None => {
                        if buf.is_empty() {
                            return Ok(Parsed::Incomplete { hint: 0 });
                        }
                        // Redis looks at the type byte only once the whole
                        // header line has arrived.
                        let first = buf[0];
                        let Some(len) = take_header(buf, "too big bulk count string")? else {
                            return Ok(Parsed::Incomplete { hint: 0 });
                        };
                        if first != b'$' {
                            return Err(ProtocolError::new(format!(
                                "expected '$', got '{}'",
                                first as char
                            )));
                        }
                        match len {
                            Some(n) if n >= 0 && (n as u64) <= max_bulk as u64 => {
                                self.pending_bulk = Some(n as usize);
                                n as usize
                            }
                            _ => return Err(ProtocolError::new("invalid bulk length")),
                        }
                    }
                };
                if buf.len() < len + 2 {
                    return Ok(Parsed::Incomplete {
                        hint: len + 2 - buf.len(),
                    });
                }
                let arg = buf.split_to(len).freeze();
                // Redis skips the two bytes after the payload without checking them.
                buf.advance(2);
                self.args.push(arg);
                self.pending_bulk = None;
                self.pending_args -= 1;
            }
            self.in_multibulk = false;
            return Ok(Parsed::Request(std::mem::take(&mut self.args)));
        }
    }
}

/// Consumes the header line at the start of `buf` (`*<count>` or
/// `$<len>`, up to `\r\n`) and parses the number after its type byte.
/// `Ok(None)` when the line is not complete yet; `Ok(Some(None))` when the
/// number is not a valid integer. The line is parsed in place, not split off
/// as a buffer of its own.
fn take_header(buf: &mut BytesMut, too_big: &str) -> Result<Option<Option<i64>>, ProtocolError> {
    if let Some((number, used)) = short_header(buf) {
        buf.advance(used);
        return Ok(Some(Some(number)));
    }
    match find_terminator(b'\r', buf) {
        Some(pos) => {
            // The header must be followed by "\r\n"; wait for the '\n'.
            if pos + 1 >= buf.len() {
                return Ok(None);
            }
            // `pos == 0` when the line is a bare "\r\n" in place of a
            // header (the type byte is checked by the caller).
            let number = parse_i64(&buf[1.min(pos)..pos]);
            buf.advance(pos + 2);
            Ok(Some(number))
        }
        None if buf.len() > INLINE_MAX_SIZE => Err(ProtocolError::new(too_big)),
        None => Ok(None),
    }
}

/// The common header in one pass: `$` or `*`, 1 to 18 digits with no
/// leading zero (or a lone `0`), `\r` and at least one byte after it.
/// Returns the number and the bytes the line takes. Anything else (a sign,
/// a long number, a stray byte, an incomplete line) is left to the general
/// path, which gives the same answer for these lines: this only skips its
/// separate terminator search and number parse, the bulk of a small
/// request's parsing cost.
#[inline]
fn short_header(buf: &[u8]) -> Option<(i64, usize)> {
    if buf.len() < 4 || !matches!(buf[0], b'$' | b'*') {
        return None;
    }
    let first = buf[1].wrapping_sub(b'0');
    if first > 9 {
        return None;
    }
    let mut value = i64::from(first);
    // The '\r' after at most 18 digits, with a byte after it.
    let scanned = &buf[..(buf.len() - 1).min(20)];
    for (end, &c) in scanned.iter().enumerate().skip(2) {
        if c == b'\r' {
            return (first != 0 || end == 2).then_some((value, end + 2));
        }
        let digit = c.wrapping_sub(b'0');
        if digit > 9 || end == 19 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    None
}

/// Position of the line terminator `needle`, as Redis finds it: its search
/// stops at a NUL byte, so a header or inline line with a NUL before its
/// terminator stays incomplete (until it exceeds the size limit).
fn find_terminator(needle: u8, haystack: &[u8]) -> Option<usize> {
    let pos = haystack.iter().position(|&b| b == needle || b == 0)?;
    (haystack[pos] == needle).then_some(pos)
}

/// Parses a signed decimal the way Redis's `string2ll` does: no leading `+`,
/// no leading zeros (except "0"), no spaces, within i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses one inline request line; `Ok(None)` if no full line is buffered.
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = find_terminator(b'\n', buf) else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = buf.split_to(nl + 1);
    line.truncate(nl);
    if line.last() == Some(&b'\r') {
        line.truncate(nl - 1);
    }
    match split_args(&line) {
        Some(args) => Ok(Some(args.into_iter().map(Bytes::from).collect())),
        None => Err(ProtocolError::new("unbalanced quotes in request")),
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments with redis-cli's quoting rules: `"..."` with
/// escapes (`\n \r \t \b \a \xHH`), `'...'` with only `\'`, and a closing
/// quote must be followed by a space or the end. `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                let c = *line.get(i)?;
                if c == b'\\'
                    && i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    cur.push(hex_val(line[i + 2])? * 16 + hex_val(line[i + 3])?);
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or the end.
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_single {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                match line.get(i) {
                    None => break,
                    // Only these end an unquoted word (leading blanks are
                    // skipped with the wider `is_space`), as in redis-cli's
                    // splitting: a vertical tab or form feed stays in it.
                    Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.parse(&mut buf, 512 * 1024 * 1024) {
                Ok(Parsed::Request(args)) => out.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(Parsed::Incomplete { .. }) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// Whatever the one-pass header parser accepts, the general path
    /// accepts with the same number and length (checked over every line of
    /// up to 7 bytes from a small alphabet, and long digit runs).
    #[test]
    fn short_headers_agree_with_the_general_path() {
        fn general(line: &[u8]) -> Option<(Option<i64>, usize)> {
            let mut buf = BytesMut::from(line);
            let before = buf.len();
            let pos = find_terminator(b'\r', &buf)?;
            if pos + 1 >= buf.len() {
                return None;
            }
            let number = parse_i64(&buf[1.min(pos)..pos]);
            buf.advance(pos + 2);
            Some((number, before - buf.len()))
        }
        let alphabet = b"$0159-\r\nx";
        let mut checked = 0;
        let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..7 {
            let mut next = Vec::new();
            for line in &lines {
                for &c in alphabet.iter() {
                    let mut l = line.clone();
                    l.push(c);
                    next.push(l);
                }
            }
            for line in &next {
                if let Some((n, used)) = short_header(line) {
                    assert_eq!(general(line), Some((Some(n), used)), "{line:?}");
                    checked += 1;
                }
            }
            lines = next;
        }
        assert!(checked > 1000);
        for digits in 1..=25 {
            let mut line = b"$".to_vec();
            line.extend(std::iter::repeat_n(b'9', digits));
            line.extend_from_slice(b"\r\n");
            if let Some((n, used)) = short_header(&line) {
                assert_eq!(general(&line), Some((Some(n), used)));
            }
            assert_eq!(short_header(&line).is_some(), digits <= 18);
        }
    }

    #[test]
    fn multibulk_and_pipelining() {
        let (reqs, err) = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n");
        assert!(err.is_none());
        assert_eq!(
            reqs,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_result() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\nPING\r\n";
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Ok(Parsed::Request(args)) = p.parse(&mut buf, 1 << 29) {
                got.push(args);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0][2][..], b"va\r\nl");
        assert_eq!(&got[1][0][..], b"PING");
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n").1.unwrap().0,
            "invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n").1.unwrap().0,
            "invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n$-1\r\n").1.unwrap().0,
            "invalid bulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n+OK\r\n").1.unwrap().0,
            "expected '$', got '+'"
        );
        assert_eq!(
            parse_all(b"SET \"a b\r\n").1.unwrap().0,
            "unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(parse_all(&big).1.unwrap().0, "too big inline request");
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$1000\r\n"[..]);
        assert!(
            matches!(p.parse(&mut buf, 100), Err(ProtocolError(m)) if m == "invalid bulk length")
        );
    }

    #[test]
    fn nul_before_terminator_keeps_the_line_incomplete() {
        let (reqs, err) = parse_all(b"PI\0NG\r\n");
        assert!(reqs.is_empty() && err.is_none());
        let (reqs, err) = parse_all(b"*1\0\r\n$4\r\nPING\r\n");
        assert!(reqs.is_empty() && err.is_none());
        let (reqs, _) = parse_all(b"ECHO a\r\nPI\0NG\r\n");
        assert_eq!(reqs.len(), 1);
        let mut big = b"PING\0".to_vec();
        big.extend(vec![b'a'; INLINE_MAX_SIZE]);
        big.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&big).1.unwrap().0, "too big inline request");
    }

    #[test]
    fn type_byte_is_checked_once_the_header_line_is_complete() {
        assert_eq!(parse_all(b"*2\r\n^\"").1, None);
        assert_eq!(
            parse_all(b"*2\r\n\r\n").1.unwrap().0,
            "expected '$', got '\r'"
        );
    }

    #[test]
    fn huge_count_header_does_not_allocate() {
        let (reqs, err) = parse_all(b"*2147483647\r\n$1\r\na\r\n");
        assert!(reqs.is_empty() && err.is_none());
    }

    #[test]
    fn empty_requests_are_skipped() {
        let (reqs, _) = parse_all(b"*0\r\n*-1\r\n\r\n   \r\nPING\r\n");
        assert_eq!(reqs, vec![vec![b"PING".to_vec()]]);
    }

    #[test]
    fn inline_quoting() {
        assert_eq!(
            split_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap(),
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(split_args(b"\"\"").unwrap(), vec![Vec::<u8>::new()]);
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'abc").is_none());
        assert_eq!(
            split_args(b"\x0ba\x0bb c").unwrap(),
            vec![b"a\x0bb".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b" 1"), None);
    }
}

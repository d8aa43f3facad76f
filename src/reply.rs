//! Reply encoding, RESP2 and RESP3.
//!
//! Commands write their replies straight into the connection's output buffer
//! through [`Reply`]; there is no intermediate reply tree. The protocol
//! version of the connection decides how RESP3-only types (maps, sets, nulls,
//! doubles, booleans, verbatim strings, pushes) are written: RESP2 clients get
//! the same downgrades Redis sends.

use std::io::Write;

/// Largest reply a single command may build (the counterpart of Redis's
/// client output buffer hard limit): commands whose reply size the client
/// chooses (HRANDFIELD with a negative count) stop and close the connection
/// past it.
pub const OUTPUT_HARD_LIMIT: usize = 512 * 1024 * 1024;

/// The output buffer of one connection plus its protocol version.
#[derive(Debug)]
pub struct Reply {
    /// Encoded bytes waiting to be written to the socket.
    pub buf: Vec<u8>,
    /// 2 or 3, as chosen with HELLO.
    pub resp: u8,
    /// Number of error replies written (for INFO's error counters).
    pub errors: u64,
    /// Prefix (e.g. "ERR", "WRONGTYPE") of the last error written.
    pub last_error_code: String,
    /// The running command's output up to here is pub/sub pushes, which
    /// CLIENT REPLY OFF / SKIP do not silence (0: none; the dispatcher
    /// takes it after each command).
    pub pushed_to: usize,
}

impl Reply {
    /// An empty buffer for a connection speaking `resp` (2 or 3).
    pub fn new(resp: u8) -> Self {
        Reply {
            buf: Vec::with_capacity(16 * 1024),
            resp,
            errors: 0,
            last_error_code: String::new(),
            pushed_to: 0,
        }
    }

    /// An empty buffer of `capacity` bytes (a script's per-command replies).
    pub fn with_capacity(resp: u8, capacity: usize) -> Self {
        Reply {
            buf: Vec::with_capacity(capacity),
            ..Reply::new_empty(resp)
        }
    }

    fn new_empty(resp: u8) -> Self {
        Reply {
            buf: Vec::new(),
            resp,
            errors: 0,
            last_error_code: String::new(),
            pushed_to: 0,
        }
    }

    /// True for RESP3 connections.
    #[inline]
    pub fn is_resp3(&self) -> bool {
        self.resp >= 3
    }

    fn header(&mut self, kind: u8, n: i64) {
        self.buf.push(kind);
        push_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple status string (`+text`).
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `text` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines in the text are replaced with spaces, as Redis does, so the
    /// reply cannot break the protocol.
    pub fn error(&mut self, text: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
        self.errors += 1;
        self.last_error_code.clear();
        self.last_error_code
            .push_str(text.split(' ').next().unwrap_or("ERR"));
    }

    /// An error reply from raw bytes (which need not be UTF-8), with the
    /// same newline sanitising and counting as [`Reply::error`].
    pub fn error_bytes(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        self.buf.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
        self.errors += 1;
        self.last_error_code.clear();
        let code = text.split(|&b| b == b' ').next().unwrap_or(b"ERR");
        self.last_error_code
            .push_str(&String::from_utf8_lossy(code));
    }

    /// An integer (`:n`).
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut buf = [0u8; 20];
        self.bulk(i64_digits(n, &mut buf));
    }

    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// An array header of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map header of `n` key/value pairs (a flat array of 2n in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.is_resp3() {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// A set header of `n` elements (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        if self.is_resp3() {
            self.header(b'~', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// A push header of `n` elements (an array in RESP2).
    pub fn push(&mut self, n: usize) {
        if self.is_resp3() {
            self.header(b'>', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// Marks everything written so far as pushes that survive CLIENT
    /// REPLY OFF / SKIP (see [`Reply::pushed_to`]).
    pub fn keep_pushed(&mut self) {
        self.pushed_to = self.buf.len();
    }

    /// A boolean (RESP3 `#t`/`#f`, RESP2 `:1`/`:0`).
    pub fn bool(&mut self, b: bool) {
        if self.is_resp3() {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A double: RESP3 `,` type, RESP2 bulk string, formatted like Redis 7.0
    /// (`%.17g`, `inf`, `-inf`).
    pub fn double(&mut self, d: f64) {
        // Whole scores, the usual ones, skip the general `%.17g` (which
        // prints them as their digits anyway) and its allocation.
        let mut buf = [0u8; 20];
        let general;
        let text = match crate::util::numfmt::small_integer(d) {
            Some(n) => i64_digits(n, &mut buf),
            None => {
                general = crate::util::numfmt::format_double(d);
                general.as_bytes()
            }
        };
        if self.is_resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A verbatim string with a three-letter format (RESP3 `=`), a bulk
    /// string in RESP2.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if self.is_resp3() {
            self.header(b'=', (text.len() + 4) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Appends bytes that are already RESP-encoded.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// Current length, for replies whose element count is known only at the
    /// end: remember the position, write the elements, then call
    /// [`Reply::insert_array_header`].
    pub fn mark(&self) -> usize {
        self.buf.len()
    }

    /// Inserts an array header of `n` at a position taken with [`Reply::mark`].
    pub fn insert_array_header(&mut self, at: usize, n: usize) {
        let header = format!("*{n}\r\n");
        self.buf.splice(at..at, header.bytes());
    }

    /// Writes `format_args!` output as a bulk string.
    pub fn bulk_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let mut tmp = Vec::new();
        let _ = tmp.write_fmt(args);
        self.bulk(&tmp);
    }
}

/// "00" … "99": two decimal digits per table lookup halve the divisions.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal form of `n` to `out` without going through `fmt`.
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(i64_digits(n, &mut buf));
}

/// The decimal form of `n`, written at the end of `buf`.
fn i64_digits(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    if n < 0 {
        // 19 digits at most after the sign: i64::MIN has 19.
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_i64_matches_display() {
        let mut cases = vec![
            0,
            1,
            -1,
            9,
            10,
            99,
            100,
            -100,
            101,
            999,
            1000,
            i64::MAX,
            i64::MIN,
        ];
        let mut x: i64 = 1;
        while let Some(next) = x.checked_mul(7) {
            cases.extend([next, next - 1, -next, -next + 1]);
            x = next;
        }
        for n in cases {
            let mut out = Vec::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes(), "{n}");
        }
    }

    #[test]
    fn resp2_and_resp3_downgrades() {
        let mut r2 = Reply::new(2);
        let mut r3 = Reply::new(3);
        for r in [&mut r2, &mut r3] {
            r.map(1);
            r.bulk(b"a");
            r.null();
            r.set(0);
            r.bool(true);
            r.null_array();
        }
        assert_eq!(r2.buf, b"*2\r\n$1\r\na\r\n$-1\r\n*0\r\n:1\r\n*-1\r\n");
        assert_eq!(r3.buf, b"%1\r\n$1\r\na\r\n_\r\n~0\r\n#t\r\n_\r\n");
    }

    #[test]
    fn integers_and_errors() {
        let mut r = Reply::new(2);
        r.int(i64::MIN);
        r.int(0);
        r.error("ERR bad\r\nthing");
        assert_eq!(r.buf, b":-9223372036854775808\r\n:0\r\n-ERR bad  thing\r\n");
        assert_eq!(r.errors, 1);
        assert_eq!(r.last_error_code, "ERR");
    }

    #[test]
    fn deferred_header() {
        let mut r = Reply::new(2);
        let at = r.mark();
        r.bulk(b"x");
        r.insert_array_header(at, 1);
        assert_eq!(r.buf, b"*1\r\n$1\r\nx\r\n");
    }
}

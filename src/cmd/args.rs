//! Shared argument parsing: numbers with Redis's rules and error texts, and
//! keyword options.

use crate::error::{CmdError, NOT_FLOAT, NOT_INTEGER, SYNTAX};
use bytes::Bytes;

/// Parses a signed 64-bit integer (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    crate::protocol::parse_i64(arg).ok_or(NOT_INTEGER)
}

/// Parses an integer, with a custom error text for failures.
pub fn int_or(arg: &[u8], err: CmdError) -> Result<i64, CmdError> {
    crate::protocol::parse_i64(arg).ok_or(err)
}

/// Parses a non-negative count that must fit in `usize`.
pub fn count(arg: &[u8], err: CmdError) -> Result<usize, CmdError> {
    match crate::protocol::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(err),
    }
}

/// Parses a float the way Redis's `string2d` does: the whole argument must
/// be a number, no leading or trailing space, and NaN is refused.
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(NOT_FLOAT)
}

/// Float parsing shared by commands and stored values; `None` if invalid.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg.len() > 5120 {
        return None;
    }
    let first = arg[0];
    let last = arg[arg.len() - 1];
    if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(arg).ok()?;
    let v = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // strtod accepts hex floats and more; Rust's parser accepts the
            // decimal forms clients send. Reject what Rust accepts but C
            // does not ("nan" is refused anyway below).
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// Case-insensitive comparison with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// A cursor over option arguments (`NX`, `EX 10`, `COUNT 5`, ...).
pub struct Opts<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> Opts<'a> {
    /// Options start at index `from`.
    pub fn new(args: &'a [Bytes], from: usize) -> Self {
        Opts { args, pos: from }
    }

    /// The next option word, or `None` at the end.
    pub fn next_word(&mut self) -> Option<&'a [u8]> {
        let a = self.args.get(self.pos)?;
        self.pos += 1;
        Some(a)
    }

    /// The value following an option; `ERR syntax error` if missing.
    pub fn value(&mut self) -> Result<&'a [u8], CmdError> {
        self.next_word().ok_or(SYNTAX)
    }

    /// True if another argument follows.
    pub fn has_more(&self) -> bool {
        self.pos < self.args.len()
    }

    /// Index of the next argument.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// Parses a SCAN-family cursor like Redis's `strtoul` check: decimal, an
/// optional sign (a negative cursor wraps), no leading space, no trailing
/// garbage, and an empty argument reads as 0.
pub fn scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    const INVALID: CmdError = CmdError::fixed("ERR invalid cursor");
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.len() != digits.len() && digits.is_empty() {
        // A lone sign: strtoul parses nothing and stops at the sign.
        return Err(INVALID);
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(INVALID);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(INVALID)?;
    }
    Ok(if negative { n.wrapping_neg() } else { n })
}

/// The argument as text for error messages.
pub fn lossy(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"abc"), None);
    }
}

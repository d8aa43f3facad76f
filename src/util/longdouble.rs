//! INCRBYFLOAT arithmetic with C `long double`, as Redis does it: parse
//! with `strtold`, add, print with `%.17Lf` and trim trailing zeros. The work
//! is done by `src/longdouble.c` so results match Redis byte for byte.

use std::os::raw::{c_char, c_int, c_long};

extern "C" {
    fn ferrodis_ld_incr(
        current: *const c_char,
        current_len: usize,
        has_current: c_int,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
    ) -> c_long;
    fn ferrodis_ld_classify(text: *const c_char, len: usize) -> c_int;
    fn ferrodis_ld_timeout_ms(
        text: *const c_char,
        len: usize,
        out: *mut std::ffi::c_longlong,
    ) -> c_int;
}

/// Longest number text accepted, and size of the result buffer.
const MAX_CHARS: usize = 5 * 1024;

/// Why an increment could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The stored value is not a valid float.
    BadCurrent,
    /// The increment is not a valid float.
    BadIncrement,
    /// The result would be NaN or infinite.
    NotFinite,
}

/// Adds `incr` to `current` (absent = 0) and returns the result's text.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrError> {
    let mut out = vec![0u8; MAX_CHARS];
    let (cur_ptr, cur_len) = match current {
        Some(c) => (c.as_ptr() as *const c_char, c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: the pointers and lengths describe live slices; the C side
    // copies at most LD_MAX_CHARS-1 bytes of each input (it checks the
    // lengths first) and writes at most MAX_CHARS bytes into `out`.
    let n = unsafe {
        ferrodis_ld_incr(
            cur_ptr,
            cur_len,
            c_int::from(current.is_some()),
            incr.as_ptr() as *const c_char,
            incr.len(),
            out.as_mut_ptr() as *mut c_char,
        )
    };
    match n {
        -1 => Err(IncrError::BadCurrent),
        -2 => Err(IncrError::BadIncrement),
        -3 => Err(IncrError::NotFinite),
        n => {
            out.truncate(n.max(0) as usize);
            Ok(out)
        }
    }
}

/// Parses `text` as a long double under Redis's rules: `None` if invalid,
/// `Some(true)` if finite, `Some(false)` if infinite.
pub fn classify(text: &[u8]) -> Option<bool> {
    // SAFETY: a live slice; the C side only reads `len` bytes (after
    // checking the length against its buffer).
    match unsafe { ferrodis_ld_classify(text.as_ptr() as *const c_char, text.len()) } {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

/// A blocking command's timeout in seconds, as Redis converts it to
/// milliseconds (`ceill(value * 1000)` cast to `long long`, so an infinite
/// or huge value comes out as the platform's cast gives it); `None` if the
/// text is not a valid float.
pub fn timeout_ms(text: &[u8]) -> Option<i64> {
    let mut out: std::ffi::c_longlong = 0;
    // SAFETY: a live slice and a live output; the C side reads `len` bytes
    // after checking the length against its buffer.
    match unsafe { ferrodis_ld_timeout_ms(text.as_ptr() as *const c_char, text.len(), &mut out) } {
        1 => Some(out),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(cur: &str, inc: &str) -> String {
        String::from_utf8(incr_by_float(Some(cur.as_bytes()), inc.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn formats_like_redis() {
        assert_eq!(add("10.5", "0.1"), "10.6");
        assert_eq!(add("1", "1"), "2");
        assert_eq!(add("0", "-0"), "0");
        assert_eq!(add("5.0e3", "2.0e2"), "5200");
        assert_eq!(add("3.0", "-3.0"), "0");
        assert_eq!(
            String::from_utf8(incr_by_float(None, b"1.23").unwrap()).unwrap(),
            "1.23"
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            incr_by_float(Some(b"abc"), b"1"),
            Err(IncrError::BadCurrent)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b" 1"),
            Err(IncrError::BadIncrement)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"nan"),
            Err(IncrError::BadIncrement)
        );
        assert_eq!(incr_by_float(Some(b"1"), b""), Err(IncrError::BadIncrement));
        assert_eq!(
            incr_by_float(Some(b"1e4932"), b"1e4932"),
            Err(IncrError::NotFinite)
        );
        assert_eq!(classify(b"1.5"), Some(true));
        assert_eq!(classify(b"1e5000"), None);
        assert_eq!(classify(b"-inf"), Some(false));
        assert_eq!(classify(b"1.5x"), None);
    }
}

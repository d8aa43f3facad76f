//! SORT's numeric weights read by libc's `strtod`, as Redis reads them
//! (see `src/cstrtod.c`): C stops at the first NUL byte, takes leading
//! white space, hex floats and `inf`/`infinity`, and refuses trailing
//! bytes, range errors and NaN.

use std::os::raw::{c_char, c_int};

extern "C" {
    fn ferrodis_sort_weight(text: *const c_char, out: *mut f64) -> c_int;
}

/// Reads `text` as a SORT weight; `None` if Redis would report "One or more
/// scores can't be converted into double". `scratch` is a reusable buffer
/// for the NUL-terminated copy C needs.
pub fn sort_weight(text: &[u8], scratch: &mut Vec<u8>) -> Option<f64> {
    // C sees the bytes before the first NUL.
    let text = match text.iter().position(|&b| b == 0) {
        Some(nul) => &text[..nul],
        None => text,
    };
    // Canonical integers (what integer-encoded values print as) convert
    // exactly as strtod rounds them; no copy, no call.
    if let Some(n) = crate::protocol::parse_i64(text) {
        return Some(n as f64);
    }
    scratch.clear();
    scratch.extend_from_slice(text);
    scratch.push(0);
    let mut value = 0f64;
    // SAFETY: `scratch` is NUL-terminated and outlives the call, which
    // reads up to that NUL and writes one double into `value`.
    let ok = unsafe { ferrodis_sort_weight(scratch.as_ptr() as *const c_char, &mut value) };
    (ok != 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_strtod_reads() {
        let mut s = Vec::new();
        let mut w = |t: &[u8]| sort_weight(t, &mut s);
        assert_eq!(w(b"12"), Some(12.0));
        assert_eq!(w(b" 1.5"), Some(1.5));
        assert_eq!(w(b"0x10"), Some(16.0));
        assert_eq!(w(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(w(b""), Some(0.0));
        assert_eq!(w(b"3\0junk"), Some(3.0));
        assert_eq!(w(b"1 "), None);
        assert_eq!(w(b"nan"), None);
        assert_eq!(w(b"1e400"), None);
        assert_eq!(w(b"1e-400"), None);
        assert_eq!(w(b"abc"), None);
        assert_eq!(w(b"-9223372036854775808"), Some(-9223372036854775808.0));
    }
}

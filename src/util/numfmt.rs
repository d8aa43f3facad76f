//! Number formatting and parsing with Redis's exact rules.

/// Formats a double as C's `%.17g` does, with Redis's spellings of the
/// infinities (`inf`, `-inf`); this is what Redis 7.0 sends for doubles.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    if let Some(n) = small_integer(d) {
        return n.to_string();
    }
    format_g(d, 17)
}

/// `d` as an integer when `%.17g` prints it as one with the same digits:
/// a whole, non-zero double of magnitude below 2^53 (so at most 16
/// digits, all exact). Zero is left out because `%.17g` keeps its sign.
#[inline]
pub fn small_integer(d: f64) -> Option<i64> {
    (d != 0.0 && d.fract() == 0.0 && d.abs() < 9_007_199_254_740_992.0).then_some(d as i64)
}

/// C's `%.<precision>g`.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // Scientific form with p significant digits gives the decimal exponent
    // after rounding, which decides between the two styles.
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_17g() {
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(123456789.0), "123456789");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(1e16), "10000000000000000");
        assert_eq!(format_double(1e17), "1e+17");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(-42.0), "-42");
        assert_eq!(format_double(9007199254740991.0), "9007199254740991");
        assert_eq!(format_double(9007199254740992.0), "9007199254740992");
        assert_eq!(format_double(-9007199254740994.0), "-9007199254740994");
        for d in [
            1.0,
            -3.0,
            1e15,
            123456.0,
            9007199254740991.0,
            -9007199254740991.0,
        ] {
            assert_eq!(format_double(d), format_g(d, 17), "{d}");
        }
    }
}

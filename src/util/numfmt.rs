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

/// C's `%.17Lf` of the double, trailing zeros (and a bare point) removed,
/// `-0` written `0`: Redis's "human" long double form (LD_STR_HUMAN), in
/// which GEOPOS and WITHCOORD print coordinates.
pub fn format_human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    let text = format!("{d:.17}");
    match trim_fraction(&text) {
        "-0" => "0".into(),
        t => t.to_string(),
    }
}

/// Redis's `fixedpoint_d2string`: `d` rounded to `digits` decimals as
/// `llrint(d * 10^digits)` does (ties to even; a NaN or an overflow gives
/// C's `LLONG_MIN`), written with exactly that many decimals. Distances are
/// printed this way, with 4.
pub fn format_fixed(d: f64, digits: u32) -> String {
    if d == 0.0 {
        return format!("0.{}", "0".repeat(digits as usize));
    }
    let scaled = (d * 10f64.powi(digits as i32)).round_ties_even();
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    let n = if (-TWO63..TWO63).contains(&scaled) {
        scaled as i64
    } else {
        i64::MIN
    };
    let magnitude = n.unsigned_abs().to_string();
    let digits = digits as usize;
    let padded = if magnitude.len() <= digits {
        format!("{}{magnitude}", "0".repeat(digits + 1 - magnitude.len()))
    } else {
        magnitude
    };
    let (int, frac) = padded.split_at(padded.len() - digits);
    format!("{}{int}.{frac}", if n < 0 { "-" } else { "" })
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

    #[test]
    fn human_and_fixed_point() {
        assert_eq!(format_human(13.361389338970184), "13.36138933897018433");
        assert_eq!(format_human(2.0), "2");
        assert_eq!(format_human(-0.0), "0");
        assert_eq!(format_human(-1e-20), "0");
        assert_eq!(format_human(0.5), "0.5");
        assert_eq!(format_fixed(0.0, 4), "0.0000");
        assert_eq!(format_fixed(0.0001, 4), "0.0001");
        assert_eq!(format_fixed(166274.15156960033, 4), "166274.1516");
        assert_eq!(format_fixed(0.775, 4), "0.7750");
        assert_eq!(format_fixed(-0.00005, 4), "0.0000");
        assert_eq!(format_fixed(-1.5, 4), "-1.5000");
        assert_eq!(format_fixed(f64::NAN, 4), "-922337203685477.5808");
    }
}

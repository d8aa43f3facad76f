//! Shared argument parsing: numbers with Redis's rules and error texts,
//! keyword options, and the two option families several commands share:
//! the expiry conditions (NX, XX, GT, LT) and the expiry options (EX, PX,
//! EXAT, PXAT, PERSIST, KEEPTTL).

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

/// The count of HRANDFIELD / ZRANDMEMBER (`args[2]`) and whether the
/// optional word after it (`WITHVALUES`, `WITHSCORES`) is there, with
/// Redis's errors: the count must not be i64::MIN, any other fourth
/// argument is a syntax error, and with the word the count must lie within
/// ±i64::MAX/2.
pub fn random_count(args: &[Bytes], word: &str) -> Result<(i64, bool), CmdError> {
    let n = int(&args[2])?;
    if n == i64::MIN {
        return Err(crate::error::out_of_range_between(-i64::MAX, i64::MAX));
    }
    let with = match args.len() {
        3 => false,
        4 if is(&args[3], word) => true,
        _ => return Err(SYNTAX),
    };
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::fixed("ERR value is out of range"));
    }
    Ok((n, with))
}

/// Redis's start/end pair (negative counts from the end) over `len`
/// elements, as LRANGE, LTRIM, ZRANGE and ZREMRANGEBYRANK read it: a
/// 0-based inclusive range, or `None` when it selects nothing.
pub fn clamp_ranks(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
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

// ----- expiry options -----

/// How an expiry time argument is read: what EX, PX, EXAT and PXAT name,
/// and how EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (and their hash-field
/// forms), SETEX and PSETEX read their time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpireKind {
    /// EX: seconds from now.
    Seconds,
    /// PX: milliseconds from now.
    Millis,
    /// EXAT: Unix time in seconds.
    AtSeconds,
    /// PXAT: Unix time in milliseconds.
    AtMillis,
}

impl ExpireKind {
    /// The kind an option word names (EX, PX, EXAT, PXAT), if any.
    pub fn from_word(word: &[u8]) -> Option<Self> {
        if is(word, "EX") {
            Some(ExpireKind::Seconds)
        } else if is(word, "PX") {
            Some(ExpireKind::Millis)
        } else if is(word, "EXAT") {
            Some(ExpireKind::AtSeconds)
        } else if is(word, "PXAT") {
            Some(ExpireKind::AtMillis)
        } else {
            None
        }
    }

    /// Milliseconds per unit of the time argument: 1000 or 1.
    pub fn unit_ms(self) -> i64 {
        match self {
            ExpireKind::Seconds | ExpireKind::AtSeconds => 1000,
            ExpireKind::Millis | ExpireKind::AtMillis => 1,
        }
    }

    /// True for a Unix time (EXAT, PXAT), false for one relative to now.
    pub fn is_absolute(self) -> bool {
        matches!(self, ExpireKind::AtSeconds | ExpireKind::AtMillis)
    }

    /// What the time counts from: `now_ms` for the relative kinds, the
    /// epoch for the absolute ones.
    pub fn base_ms(self, now_ms: i64) -> i64 {
        if self.is_absolute() {
            0
        } else {
            now_ms
        }
    }
}

/// An expiry option as the client gave it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpiryOption<'a> {
    /// EX, PX, EXAT or PXAT and its (unparsed) time.
    Time(ExpireKind, &'a [u8]),
    /// PERSIST: remove the time to live.
    Persist,
    /// KEEPTTL: keep the time to live.
    KeepTtl,
}

impl ExpiryOption<'_> {
    /// True if `other` is the same option (a time of the same kind).
    fn same_as(&self, other: &ExpiryOption<'_>) -> bool {
        match (self, other) {
            (ExpiryOption::Time(a, _), ExpiryOption::Time(b, _)) => a == b,
            (ExpiryOption::Persist, ExpiryOption::Persist)
            | (ExpiryOption::KeepTtl, ExpiryOption::KeepTtl) => true,
            _ => false,
        }
    }
}

/// Which expiry options a command accepts, and its errors for them (the
/// commands differ, as in Redis).
pub struct ExpiryRules {
    /// PERSIST is one of them (GETEX, HGETEX).
    pub persist: bool,
    /// KEEPTTL is one of them (SET, HSETEX).
    pub keep_ttl: bool,
    /// The same option may come again, the last one counting (SET, GETEX).
    pub repeat: bool,
    /// The error for a second, different option (or any second one
    /// without `repeat`).
    pub conflict: CmdError,
    /// The error for EX, PX, EXAT or PXAT without a time after it.
    pub missing_time: CmdError,
}

/// Reads the expiry option at `args[*i]` into `current` (the command's
/// option so far) if it is one `rules` accept, and moves `*i` past it;
/// `Ok(false)`, moving nothing, for any other word. A conflict is reported
/// before a missing time.
pub fn expiry_option<'a>(
    args: &'a [Bytes],
    i: &mut usize,
    current: &mut Option<ExpiryOption<'a>>,
    rules: &ExpiryRules,
) -> Result<bool, CmdError> {
    let word = &args[*i][..];
    let kind = ExpireKind::from_word(word);
    let option = match kind {
        // The time is filled in below, once the conflict check is done.
        Some(kind) => ExpiryOption::Time(kind, &[]),
        None if rules.persist && is(word, "PERSIST") => ExpiryOption::Persist,
        None if rules.keep_ttl && is(word, "KEEPTTL") => ExpiryOption::KeepTtl,
        None => return Ok(false),
    };
    if let Some(previous) = current {
        if !(rules.repeat && previous.same_as(&option)) {
            return Err(rules.conflict.clone());
        }
    }
    *current = Some(match option {
        ExpiryOption::Time(kind, _) => {
            let time = args.get(*i + 1).ok_or_else(|| rules.missing_time.clone())?;
            *i += 1;
            ExpiryOption::Time(kind, time)
        }
        other => other,
    });
    *i += 1;
    Ok(true)
}

// ----- expiry conditions -----

/// The NX / XX / GT / LT conditions of the expire commands: a set, since
/// EXPIRE accepts compatible ones together (`XX GT`); the hash-field forms
/// take one word at most.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCondition {
    /// The condition one word names, if it is NX, XX, GT or LT.
    pub fn from_word(word: &[u8]) -> Option<Self> {
        let mut c = ExpireCondition::default();
        if is(word, "NX") {
            c.nx = true;
        } else if is(word, "XX") {
            c.xx = true;
        } else if is(word, "GT") {
            c.gt = true;
        } else if is(word, "LT") {
            c.lt = true;
        } else {
            return None;
        }
        Some(c)
    }

    /// EXPIRE's options: every word a condition, combined, with Redis's
    /// errors for another word and for incompatible conditions.
    pub fn parse_all(words: &[Bytes]) -> Result<Self, CmdError> {
        let mut c = ExpireCondition::default();
        for word in words {
            let Some(one) = ExpireCondition::from_word(word) else {
                return Err(CmdError::new(format!(
                    "ERR Unsupported option {}",
                    lossy(word)
                )));
            };
            c.nx |= one.nx;
            c.xx |= one.xx;
            c.gt |= one.gt;
            c.lt |= one.lt;
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::fixed(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CmdError::fixed(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// True if a new expiry `when` may replace `current` (None: no TTL,
    /// which counts as an infinite one).
    pub fn allows(&self, current: Option<i64>, when: i64) -> bool {
        if self.nx && current.is_some() {
            return false;
        }
        if self.xx && current.is_none() {
            return false;
        }
        if self.gt && current.is_none_or(|c| when <= c) {
            return false;
        }
        if self.lt && current.is_some_and(|c| when >= c) {
            return false;
        }
        true
    }
}

/// A blocking command's timeout in seconds (sub-second precision) as the
/// absolute Unix ms deadline it sets from `now_ms`, 0 for "forever", with
/// Redis's texts for a bad or negative value.
pub fn timeout_deadline(arg: &[u8], now_ms: i64) -> Result<i64, CmdError> {
    let Some(ms) = crate::util::longdouble::timeout_ms(arg) else {
        return Err(CmdError::fixed(
            "ERR timeout is not a float or out of range",
        ));
    };
    if ms < 0 {
        return Err(CmdError::fixed("ERR timeout is negative"));
    }
    Ok(if ms > 0 { ms.saturating_add(now_ms) } else { 0 })
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

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::from(w.to_string()))
            .collect()
    }

    /// Reads every option of `line` by `rules`; the error, or the last
    /// option and where reading stopped.
    fn read_all<'a>(
        args: &'a [Bytes],
        rules: &ExpiryRules,
    ) -> Result<(Option<ExpiryOption<'a>>, usize), CmdError> {
        let (mut option, mut i) = (None, 0);
        while i < args.len() && expiry_option(args, &mut i, &mut option, rules)? {}
        Ok((option, i))
    }

    const CONFLICT: CmdError = CmdError::fixed("conflict");
    const MISSING: CmdError = CmdError::fixed("missing");

    #[test]
    fn expiry_options_follow_each_commands_rules() {
        let rules = |persist, keep_ttl, repeat| ExpiryRules {
            persist,
            keep_ttl,
            repeat,
            conflict: CONFLICT,
            missing_time: MISSING,
        };
        let set = rules(false, true, true);
        let once = rules(false, true, false);
        let a = words("ex 10 EX 20");
        assert_eq!(
            read_all(&a, &set),
            Ok((Some(ExpiryOption::Time(ExpireKind::Seconds, b"20")), 4))
        );
        assert_eq!(read_all(&a, &once), Err(CONFLICT));
        let a = words("PX 5 keepttl");
        assert_eq!(read_all(&a, &set), Err(CONFLICT));
        let a = words("KEEPTTL KEEPTTL");
        assert_eq!(read_all(&a, &set), Ok((Some(ExpiryOption::KeepTtl), 2)));
        assert_eq!(read_all(&a, &once), Err(CONFLICT));
        // A conflict is reported before the missing time.
        assert_eq!(read_all(&words("EX 1 PXAT"), &set), Err(CONFLICT));
        assert_eq!(read_all(&words("pxat"), &set), Err(MISSING));
        // A word the command does not take stops the reading.
        let a = words("PERSIST");
        assert_eq!(read_all(&a, &set), Ok((None, 0)));
        let getex = rules(true, false, false);
        assert_eq!(read_all(&a, &getex), Ok((Some(ExpiryOption::Persist), 1)));
        let a = words("EXAT 7 FIELDS");
        assert_eq!(
            read_all(&a, &getex),
            Ok((Some(ExpiryOption::Time(ExpireKind::AtSeconds, b"7")), 2))
        );
    }

    #[test]
    fn expire_kinds_count_from_now_or_the_epoch() {
        assert_eq!(ExpireKind::from_word(b"pX"), Some(ExpireKind::Millis));
        assert_eq!(ExpireKind::from_word(b"EXATX"), None);
        assert_eq!(ExpireKind::Seconds.unit_ms(), 1000);
        assert_eq!(ExpireKind::AtMillis.unit_ms(), 1);
        assert_eq!(ExpireKind::Millis.base_ms(42), 42);
        assert_eq!(ExpireKind::AtSeconds.base_ms(42), 0);
    }

    #[test]
    fn expire_conditions_combine_and_decide_as_redis() {
        let parse = |line: &str| ExpireCondition::parse_all(&words(line));
        assert_eq!(
            parse("nx xx"),
            Err(CmdError::fixed(
                "ERR NX and XX, GT or LT options at the same time are not compatible"
            ))
        );
        assert_eq!(
            parse("GT LT"),
            Err(CmdError::fixed(
                "ERR GT and LT options at the same time are not compatible"
            ))
        );
        assert_eq!(
            parse("XX foo"),
            Err(CmdError::fixed("ERR Unsupported option foo"))
        );
        let xx_gt = parse("XX GT").expect("compatible");
        assert!(!xx_gt.allows(None, 10));
        assert!(!xx_gt.allows(Some(10), 10));
        assert!(xx_gt.allows(Some(9), 10));
        let one = |w: &str| ExpireCondition::from_word(w.as_bytes()).expect("a condition");
        assert!(one("nx").allows(None, 1) && !one("nx").allows(Some(5), 1));
        assert!(one("xx").allows(Some(5), 1) && !one("xx").allows(None, 1));
        // No TTL counts as an infinite one.
        assert!(!one("gt").allows(None, 1) && one("gt").allows(Some(0), 1));
        assert!(one("lt").allows(None, 1) && !one("lt").allows(Some(1), 1));
        assert!(ExpireCondition::from_word(b"FIELDS").is_none());
        assert!(ExpireCondition::default().allows(Some(3), 1));
    }
}

//! Sorted set commands (Redis 7.0's family; the blocking BZPOPMIN,
//! BZPOPMAX and BZMPOP register a waiter when there is nothing to pop).
//!
//! Scores are parsed with Redis's two rules: a score given to ZADD,
//! ZINCRBY or WEIGHTS must be a whole, finite-or-infinite number (Redis's
//! `string2d`), while a range bound is read by `strtod` as far as it goes
//! and only trailing garbage or NaN is refused (so `""` reads as 0, and a
//! leading space is allowed), which is what Redis does.

use super::args::{self, is};
use super::keyspec::KeyRef;
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{BlockedOp, DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, NOT_FLOAT, SYNTAX};
use crate::reply::Reply;
use crate::types::zset::{ZSetLimits, ZSetValue};
use crate::types::Value;
use bytes::Bytes;
use std::collections::HashMap;

/// The sorted set family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("zadd", zadd),
    bind("zincrby", zincrby),
    bind("zscore", zscore),
    bind("zmscore", zmscore),
    bind("zcard", zcard),
    bind("zcount", zcount),
    bind("zlexcount", zlexcount),
    bind("zrank", zrank),
    bind("zrevrank", zrevrank),
    bind("zrange", zrange),
    bind("zrangestore", zrangestore),
    bind("zrevrange", zrevrange),
    bind("zrangebyscore", zrangebyscore),
    bind("zrevrangebyscore", zrevrangebyscore),
    bind("zrangebylex", zrangebylex),
    bind("zrevrangebylex", zrevrangebylex),
    bind("zrem", zrem),
    bind("zremrangebyscore", zremrangebyscore),
    bind("zremrangebyrank", zremrangebyrank),
    bind("zremrangebylex", zremrangebylex),
    bind("zpopmin", zpopmin),
    bind("zpopmax", zpopmax),
    bind("zmpop", zmpop).with_getkeys(count_then_keys_at_1),
    bind("bzpopmin", bzpopmin),
    bind("bzpopmax", bzpopmax),
    bind("bzmpop", bzmpop).with_getkeys(count_then_keys_at_2),
    bind("zunion", zunion).with_getkeys(count_then_keys_at_1),
    bind("zinter", zinter).with_getkeys(count_then_keys_at_1),
    bind("zdiff", zdiff).with_getkeys(count_then_keys_at_1),
    bind("zunionstore", zunionstore).with_getkeys(store_count_then_keys),
    bind("zinterstore", zinterstore).with_getkeys(store_count_then_keys),
    bind("zdiffstore", zdiffstore).with_getkeys(store_count_then_keys),
    bind("zintercard", zintercard).with_getkeys(count_then_keys_at_1),
    bind("zrandmember", zrandmember),
    bind("zscan", zscan),
];

/// The key finder of ZUNION, ZINTER, ZDIFF, ZINTERCARD and ZMPOP (for a
/// count their key specs cannot parse): numkeys at 1, keys from 2.
fn count_then_keys_at_1(args: &[Bytes], keys: &mut Vec<KeyRef>) {
    super::keyspec::count_then_keys(args, None, 1, 2, 1, keys);
}

/// BZMPOP's key finder: numkeys at 2 (after the timeout), keys from 3.
pub fn count_then_keys_at_2(args: &[Bytes], keys: &mut Vec<KeyRef>) {
    super::keyspec::count_then_keys(args, None, 2, 3, 1, keys);
}

/// The key finder of the store forms: numkeys at 2, keys from 3, then the
/// destination.
fn store_count_then_keys(args: &[Bytes], keys: &mut Vec<KeyRef>) {
    super::keyspec::count_then_keys(args, Some(1), 2, 3, 1, keys);
}

const NAN_RESULT: CmdError = CmdError::fixed("ERR resulting score is not a number (NaN)");
const BAD_RANGE: CmdError = CmdError::fixed("ERR min or max is not a float");
const BAD_LEX_RANGE: CmdError = CmdError::fixed("ERR min or max not valid string range item");

fn limits(ctx: &Ctx<'_>) -> ZSetLimits {
    ctx.server.hot.zset_limits()
}

// ----- number parsing -----

/// C's `isspace`.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses what C's `strtod` would read from `s` if it consumed all of it;
/// `None` if it would stop early. `Some` of an empty parse is reported as
/// `(0.0, false)` (nothing converted), whitespace included.
fn strtod_whole(s: &[u8]) -> Option<(f64, bool)> {
    let t = {
        let lead = s.iter().take_while(|&&b| c_space(b)).count();
        &s[lead..]
    };
    if t.is_empty() {
        // strtod converts nothing and leaves the end pointer at the start.
        return if s.is_empty() {
            Some((0.0, false))
        } else {
            None
        };
    }
    let (neg, body) = match t[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        hex_float(&body[2..])?
    } else {
        let text = std::str::from_utf8(body).ok()?;
        // Rust accepts "inf", "infinity" and "nan" in any case, as strtod
        // does; it has no sign of its own here and no other words.
        if text.starts_with(['+', '-']) || text.contains('_') {
            return None;
        }
        text.parse::<f64>().ok()?
    };
    Some((if neg { -v } else { v }, true))
}

/// A hexadecimal float body after `0x` (`1.8p3`, `ff`), as strtod reads it.
fn hex_float(s: &[u8]) -> Option<f64> {
    let (mant, exp) = match s.iter().position(|&b| b | 0x20 == b'p') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mant.iter().position(|&b| b == b'.') {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, &mant[..0]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for &b in int {
        v = v * 16.0 + f64::from((b as char).to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for &b in frac {
        v += f64::from((b as char).to_digit(16)?) * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let e: i32 = std::str::from_utf8(e).ok()?.parse().ok()?;
        v *= 2f64.powi(e.clamp(-2000, 2000));
    }
    Some(v)
}

/// A score argument as Redis's `string2d` reads it: all of it a number, no
/// leading space, no overflow to infinity from a finite spelling, no
/// underflow to zero, not NaN.
pub(super) fn score_arg(arg: &[u8], err: CmdError) -> Result<f64, CmdError> {
    if arg.is_empty() || c_space(arg[0]) {
        return Err(err);
    }
    let (v, _) = strtod_whole(arg).ok_or_else(|| err.clone())?;
    if v.is_nan() {
        return Err(err);
    }
    let lower = arg.to_ascii_lowercase();
    let spelled_inf = lower.windows(3).any(|w| w == b"inf");
    if v.is_infinite() && !spelled_inf {
        return Err(err);
    }
    if v == 0.0 && mantissa_nonzero(&lower) {
        return Err(err);
    }
    Ok(v)
}

/// True if the digits of a number's mantissa are not all zero (a zero
/// result then means strtod underflowed).
fn mantissa_nonzero(lower: &[u8]) -> bool {
    let s = lower
        .strip_prefix(b"-")
        .or_else(|| lower.strip_prefix(b"+"))
        .unwrap_or(lower);
    let (digits, stop) = match s.strip_prefix(b"0x") {
        Some(rest) => (rest, b'p'),
        None => (s, b'e'),
    };
    digits
        .iter()
        .take_while(|&&b| b != stop)
        .any(|&b| b != b'0' && b != b'.')
}

/// A score range bound as Redis's `zslParseRange` reads it: `(` makes it
/// exclusive, the rest goes to strtod, which must consume it all (up to a
/// NUL byte, where C stops reading).
fn range_bound(arg: &[u8]) -> Result<(f64, bool), CmdError> {
    let (text, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let text = match text.iter().position(|&b| b == 0) {
        Some(p) => &text[..p],
        None => text,
    };
    match strtod_whole(text) {
        Some((v, _)) if !v.is_nan() => Ok((v, ex)),
        _ => Err(BAD_RANGE),
    }
}

/// A score range.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let (min, minex) = range_bound(min)?;
        let (max, maxex) = range_bound(max)?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }

    /// Ranks `start..end` of the members in range.
    fn ranks(&self, z: &ZSetValue) -> (usize, usize) {
        let start = z.count_before(|s, _| {
            if self.minex {
                s <= self.min
            } else {
                s < self.min
            }
        });
        let end = z.count_before(|s, _| {
            if self.maxex {
                s < self.max
            } else {
                s <= self.max
            }
        });
        (start, end.max(start))
    }
}

/// One end of a lexicographic range.
#[derive(Clone)]
enum LexBound {
    /// `-`: below every member.
    Bottom,
    /// `+`: above every member.
    Top,
    /// `[x` (false) or `(x` (true).
    Value(Bytes, bool),
}

fn lex_bound(arg: &Bytes) -> Result<LexBound, CmdError> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 => Ok(LexBound::Top),
        Some(b'-') if arg.len() == 1 => Ok(LexBound::Bottom),
        Some(b'(') => Ok(LexBound::Value(arg.slice(1..), true)),
        Some(b'[') => Ok(LexBound::Value(arg.slice(1..), false)),
        _ => Err(BAD_LEX_RANGE),
    }
}

/// A lexicographic range.
#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &Bytes, max: &Bytes) -> Result<LexRange, CmdError> {
        Ok(LexRange {
            min: lex_bound(min)?,
            max: lex_bound(max)?,
        })
    }

    fn below_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Bottom => false,
            LexBound::Top => true,
            LexBound::Value(v, ex) => {
                if *ex {
                    m <= &v[..]
                } else {
                    m < &v[..]
                }
            }
        }
    }

    fn within_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Bottom => false,
            LexBound::Top => true,
            LexBound::Value(v, ex) => {
                if *ex {
                    m < &v[..]
                } else {
                    m <= &v[..]
                }
            }
        }
    }

    /// True when no member can be in range (Redis's check before it
    /// looks at the set: `-` sorts below and `+` above everything).
    fn is_empty(&self) -> bool {
        use std::cmp::Ordering::*;
        let (cmp, ex) = match (&self.min, &self.max) {
            (LexBound::Bottom, LexBound::Bottom) | (LexBound::Top, LexBound::Top) => (Equal, true),
            (LexBound::Bottom, _) | (_, LexBound::Top) => (Less, true),
            (LexBound::Top, _) | (_, LexBound::Bottom) => (Greater, true),
            (LexBound::Value(a, aex), LexBound::Value(b, bex)) => (a.cmp(b), *aex || *bex),
        };
        cmp == Greater || (cmp == Equal && ex)
    }

    /// Ranks `start..end` of the members in range, walking forward (or
    /// backward with `rev`) as Redis does. Lexicographic ranges assume
    /// every score is equal; when they are not, a packed set still gives
    /// Redis's answer: the run of members from the first one (the last,
    /// with `rev`) past the near bound, up to the first beyond the far one.
    fn ranks(&self, z: &ZSetValue, rev: bool) -> (usize, usize) {
        if !z.is_packed() {
            let start = z.count_before(|_, m| self.below_min(m));
            let end = z.count_before(|_, m| self.within_max(m));
            return (start, end.max(start));
        }
        let pairs = z.pairs();
        let (Some(first), Some(last)) = (pairs.first(), pairs.last()) else {
            return (0, 0);
        };
        if self.is_empty() || self.below_min(&last.0) || !self.within_max(&first.0) {
            return (0, 0);
        }
        if rev {
            let Some(top) = pairs.iter().rposition(|(m, _)| self.within_max(m)) else {
                return (0, 0);
            };
            let run = pairs[..=top]
                .iter()
                .rev()
                .take_while(|(m, _)| !self.below_min(m))
                .count();
            (top + 1 - run, top + 1)
        } else {
            let Some(bottom) = pairs.iter().position(|(m, _)| !self.below_min(m)) else {
                return (0, 0);
            };
            let run = pairs[bottom..]
                .iter()
                .take_while(|(m, _)| self.within_max(m))
                .count();
            (bottom, bottom + run)
        }
    }
}

// ----- replies -----

/// Replies with members (and their scores): RESP2 flat, RESP3 pairs.
fn reply_members(out: &mut Reply, items: &[(Vec<u8>, f64)], withscores: bool) {
    let resp3 = out.is_resp3();
    out.array(if withscores && !resp3 {
        items.len() * 2
    } else {
        items.len()
    });
    for (m, s) in items {
        if withscores && resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(*s);
        }
    }
}

// ----- ZADD, ZINCRBY -----

pub(super) fn zadd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    zadd_generic(ctx, db, false)
}

fn zincrby(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    zadd_generic(ctx, db, true)
}

fn zadd_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut i = 2;
    while i < ctx.args.len() {
        let a = &ctx.args[i];
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if is(a, "ch") {
            ch = true;
        } else if is(a, "incr") {
            incr = true;
        } else if is(a, "gt") {
            gt = true;
        } else if is(a, "lt") {
            lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &ctx.args[i..];
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(SYNTAX);
    }
    if nx && xx {
        return Err(CmdError::fixed(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::fixed(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() > 2 {
        return Err(CmdError::fixed(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks(2)
        .map(|p| score_arg(&p[0], NOT_FLOAT))
        .collect::<Result<Vec<f64>, _>>()?;
    let key = &ctx.args[1];
    let limits = limits(ctx);
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut nan = false;
    // XX never creates the key.
    let target = if xx {
        db.get_zset_mut(key)?
    } else {
        Some(db.zset_or_create(key)?)
    };
    if let Some(z) = target {
        if z.is_empty() && (limits.max_entries == 0 || pairs[1].len() > limits.max_value) {
            z.convert_to_tree();
        }
        for (pair, &score) in pairs.chunks(2).zip(&scores) {
            let member = &pair[1][..];
            match z.score(member) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    let mut new = score;
                    if incr {
                        new += cur;
                        if new.is_nan() {
                            nan = true;
                            break;
                        }
                    }
                    if (lt && new >= cur) || (gt && new <= cur) {
                        continue;
                    }
                    last = new;
                    processed += 1;
                    if new != cur {
                        z.set(member, new, limits);
                        updated += 1;
                    }
                }
                None => {
                    if xx {
                        continue;
                    }
                    z.set(member, score, limits);
                    last = score;
                    added += 1;
                    processed += 1;
                }
            }
        }
        // Only a key this command created can be empty (nothing added).
        let emptied = z.is_empty();
        if added + updated > 0 {
            // Redis replies before reporting the change.
            db.reply_written();
            db.modified(
                key,
                if incr {
                    KeyEvent::ZINCR
                } else {
                    KeyEvent::ZADD
                },
            );
        }
        if emptied {
            // Never seen by anyone: no event.
            db.remove(key);
        }
    }
    if nan {
        return Err(NAN_RESULT);
    }
    if incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

// ----- reads of single members -----

fn zscore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db
        .get_zset(&ctx.args[1])?
        .and_then(|z| z.score(&ctx.args[2]))
    {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let z = db.get_zset(&ctx.args[1])?;
    let members = &ctx.args[2..];
    ctx.out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = db.get_zset(&ctx.args[1])?.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let range = ScoreRange::parse(&ctx.args[2], &ctx.args[3])?;
    let n = db.get_zset(&ctx.args[1])?.map_or(0, |z| {
        let (a, b) = range.ranks(z);
        b - a
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let range = LexRange::parse(&ctx.args[2], &ctx.args[3])?;
    let n = db.get_zset(&ctx.args[1])?.map_or(0, |z| {
        let (a, b) = range.ranks(z, false);
        b - a
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    rank_generic(ctx, db, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    rank_generic(ctx, db, true)
}

fn rank_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, rev: bool) -> CmdResult {
    let rank = db.get_zset(&ctx.args[1])?.and_then(|z| {
        let r = z.rank(&ctx.args[2])?;
        Some(if rev { z.len() - 1 - r } else { r })
    });
    match rank {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

// ----- ranges -----

#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The members a parsed range selects, in reply order.
fn select(
    z: &ZSetValue,
    rev: bool,
    bounds: &Bounds,
    offset: i64,
    limit: i64,
) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::new();
    let len = z.len() as i64;
    let (start, end) = match bounds {
        Bounds::Rank(start, end) => {
            let Some((start, end)) = args::clamp_ranks(*start, *end, z.len()) else {
                return out;
            };
            let (start, end) = (start as i64, end as i64);
            let n = (end - start + 1) as usize;
            out.reserve(n);
            let from = if rev {
                (len - 1 - start) as usize
            } else {
                start as usize
            };
            z.walk(from, rev, |m, s| {
                out.push((m.to_vec(), s));
                out.len() < n
            });
            return out;
        }
        Bounds::Score(r) => r.ranks(z),
        Bounds::Lex(r) => r.ranks(z, rev),
    };
    if offset < 0 || start >= end || (offset > 0 && offset >= len) {
        return out;
    }
    let avail = (end - start) as i64 - offset;
    if avail <= 0 {
        return out;
    }
    let n = if limit < 0 { avail } else { avail.min(limit) } as usize;
    if n == 0 {
        return out;
    }
    out.reserve(n.min(z.len()));
    let from = if rev {
        end - 1 - offset as usize
    } else {
        start + offset as usize
    };
    z.walk(from, rev, |m, s| {
        out.push((m.to_vec(), s));
        out.len() < n
    });
    out
}

enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// ZRANGE and its older forms: `first` is the source key's index, `store`
/// says ZRANGESTORE (whose destination is `args[1]`).
fn range_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    first: usize,
    store: bool,
    mut kind: RangeKind,
    mut rev: Option<bool>,
) -> CmdResult {
    let args = ctx.args;
    let key = &args[first];
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = args::int(&args[j + 1])?;
            limit = args::int(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && is(a, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && is(a, "byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::fixed(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::fixed(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let bounds = match kind {
        RangeKind::Score => Bounds::Score(ScoreRange::parse(&args[minidx], &args[maxidx])?),
        RangeKind::Lex => Bounds::Lex(LexRange::parse(&args[minidx], &args[maxidx])?),
        _ => Bounds::Rank(args::int(&args[minidx])?, args::int(&args[maxidx])?),
    };
    let items = match db.get_zset(key)? {
        Some(z) => select(z, rev, &bounds, offset, limit),
        None => Vec::new(),
    };
    if store {
        let dst = &args[1];
        store_result(ctx, db, dst, &items, KeyEvent::ZRANGESTORE, true);
    } else {
        reply_members(ctx.out, &items, withscores);
    }
    Ok(())
}

/// Stores `items` at `dst` (or deletes `dst` when there are none) and
/// replies with the count, as the store commands do. `reply_first`: the
/// reply comes before the change's event (the sorted-set commands; the
/// geo ones report first), where Redis writes it.
pub(super) fn store_result(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    dst: &[u8],
    items: &[(Vec<u8>, f64)],
    event: KeyEvent,
    reply_first: bool,
) {
    if items.is_empty() {
        ctx.out.int(0);
        if reply_first {
            db.reply_written();
        }
        if db.remove(dst).is_some() {
            db.modified(dst, KeyEvent::DEL);
        }
        return;
    }
    let limits = limits(ctx);
    let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSetValue::with_hint(items.len(), longest, limits);
    for (m, s) in items {
        z.set(m, *s, limits);
    }
    let n = z.len();
    db.set(dst, Value::ZSet(z));
    if reply_first {
        db.reply_written();
    }
    db.modified(dst, event);
    ctx.out.int(n as i64);
}

fn zrange(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Auto, None)
}

fn zrangestore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 2, true, RangeKind::Auto, None)
}

fn zrevrange(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    range_generic(ctx, db, 1, false, RangeKind::Lex, Some(true))
}

// ----- removal -----

fn zrem(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let Some(z) = db.get_zset_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in &ctx.args[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        db.modified(key, KeyEvent::ZREM);
        db.remove_if_empty(key);
    }
    ctx.out.int(deleted);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let start = args::int(&ctx.args[2])?;
    let end = args::int(&ctx.args[3])?;
    let key = &ctx.args[1];
    let Some(z) = db.get_zset_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some((start, end)) = args::clamp_ranks(start, end, z.len()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = z.remove_ranks(start, end).len();
    finish_range_removal(ctx, db, removed, KeyEvent::ZREMRANGEBYRANK);
    Ok(())
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let range = ScoreRange::parse(&ctx.args[2], &ctx.args[3])?;
    let Some(z) = db.get_zset_mut(&ctx.args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (a, b) = range.ranks(z);
    let removed = if a < b {
        z.remove_ranks(a, b - 1).len()
    } else {
        0
    };
    finish_range_removal(ctx, db, removed, KeyEvent::ZREMRANGEBYSCORE);
    Ok(())
}

fn zremrangebylex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let range = LexRange::parse(&ctx.args[2], &ctx.args[3])?;
    let Some(z) = db.get_zset_mut(&ctx.args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (a, b) = range.ranks(z, false);
    let removed = if a < b {
        z.remove_ranks(a, b - 1).len()
    } else {
        0
    };
    finish_range_removal(ctx, db, removed, KeyEvent::ZREMRANGEBYLEX);
    Ok(())
}

fn finish_range_removal(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, removed: usize, event: KeyEvent) {
    let key = &ctx.args[1];
    if removed > 0 {
        db.modified(key, event);
        db.remove_if_empty(key);
    }
    ctx.out.int(removed as i64);
}

// ----- pops -----

/// Pops up to `count` members from the first existing key of `keys`.
/// `count` is `None` for the single-member form. `with_key` says ZMPOP.
fn pop_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    keys: &[Bytes],
    max: bool,
    count: Option<usize>,
    with_key: bool,
) -> CmdResult {
    // The first existing key; the last one is looked up only once.
    let Some((mut key, rest)) = keys.split_last() else {
        return Ok(());
    };
    for k in rest {
        if db.get_zset(k)?.is_some() {
            key = k;
            break;
        }
    }
    let Some(z) = db.get_zset_mut(key)? else {
        if with_key {
            ctx.out.null_array();
        } else {
            ctx.out.array(0);
        }
        return Ok(());
    };
    if count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let want = count.unwrap_or(1);
    let resp3 = ctx.out.is_resp3();
    let nested = with_key || (resp3 && count.is_some());
    // Every pop below succeeds, so the reply's length is known up front
    // and each member is written as it leaves (no copies).
    let n = want.min(z.len());
    if with_key {
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(n);
    } else if nested {
        ctx.out.array(n);
    } else {
        ctx.out.array(n * 2);
    }
    for _ in 0..n {
        let out = &mut *ctx.out;
        z.pop_with(max, |m, s| {
            if nested {
                out.array(2);
            }
            out.bulk(m);
            out.double(s);
        });
    }
    let emptied = z.is_empty();
    if n > 0 {
        db.reply_written();
        db.modified(
            key,
            if max {
                KeyEvent::ZPOPMAX
            } else {
                KeyEvent::ZPOPMIN
            },
        );
        if emptied {
            db.remove_emptied(key);
        }
        if with_key && db.logging {
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            let n = n.to_string();
            db.log_effect(crate::aof::command(&[name, key, n.as_bytes()]));
        }
    }
    Ok(())
}

fn zpop_minmax(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, max: bool) -> CmdResult {
    if ctx.args.len() > 3 {
        return Err(SYNTAX);
    }
    let count = match ctx.args.get(2) {
        Some(a) => {
            let n = args::int_or(a, crate::error::NOT_POSITIVE)?;
            if n < 0 {
                return Err(crate::error::NOT_POSITIVE);
            }
            Some(n as usize)
        }
        None => None,
    };
    let keys = &ctx.args[1..2];
    pop_generic(ctx, db, keys, max, count, false)
}

fn zpopmin(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    zpop_minmax(ctx, db, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    zpop_minmax(ctx, db, true)
}

fn zmpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let (keys, max, count) = mpop_args(ctx.args, 1)?;
    pop_generic(ctx, db, keys, max, Some(count), true)
}

/// ZMPOP's arguments from numkeys at `at` (BZMPOP's are after its
/// timeout): the keys, MAX, and the count.
fn mpop_args(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CmdError> {
    const NUMKEYS: CmdError = CmdError::fixed("ERR numkeys should be greater than 0");
    const COUNT: CmdError = CmdError::fixed("ERR count should be greater than 0");
    let numkeys = args::int_or(&args[at], NUMKEYS)?;
    if numkeys < 1 {
        return Err(NUMKEYS);
    }
    let where_idx = match usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
    {
        Some(i) if i < args.len() => i,
        _ => return Err(SYNTAX),
    };
    let max = if is(&args[where_idx], "min") {
        false
    } else if is(&args[where_idx], "max") {
        true
    } else {
        return Err(SYNTAX);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && is(&args[j], "count") && more > 0 {
            j += 1;
            let n = args::int_or(&args[j], COUNT)?;
            if n < 1 {
                return Err(COUNT);
            }
            count = Some(n as usize);
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    Ok((&args[at + 1..where_idx], max, count.unwrap_or(1)))
}

// ----- blocking pops -----

/// Pops from the sorted set at `key` for a blocking pop: BZPOPMIN/BZPOPMAX
/// (`count` None: replies key, member, score) or BZMPOP (replies key and
/// up to `count` member-score pairs); reports the change and returns the
/// pop as it is logged (`ZPOPMIN key [n]`).
fn pop_blocking(
    db: &mut DbView<'_>,
    key: &[u8],
    max: bool,
    count: Option<usize>,
    out: &mut Reply,
) -> Vec<Bytes> {
    let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut effect = vec![Bytes::from_static(name), Bytes::copy_from_slice(key)];
    let Ok(Some(z)) = db.get_zset_mut(key) else {
        return effect;
    };
    let n = count.unwrap_or(1).min(z.len());
    let mut popped = Vec::with_capacity(n);
    while popped.len() < n {
        let rank = if max { z.len() - 1 } else { 0 };
        let Some((m, s)) = z.at(rank).map(|(m, s)| (m.to_vec(), s)) else {
            break;
        };
        z.remove(&m);
        popped.push((m, s));
    }
    match count {
        None => {
            out.array(3);
            out.bulk(key);
        }
        Some(_) => {
            out.array(2);
            out.bulk(key);
            out.array(popped.len());
            effect.push(Bytes::from(popped.len().to_string()));
        }
    }
    for (m, s) in &popped {
        if count.is_some() {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
    let event = if max {
        KeyEvent::ZPOPMAX
    } else {
        KeyEvent::ZPOPMIN
    };
    db.reply_written();
    db.modified(key, event);
    db.remove_if_empty(key);
    effect
}

/// A blocked BZPOPMIN, BZPOPMAX or BZMPOP.
struct ZPop {
    max: bool,
    /// BZMPOP's count; None for BZPOPMIN/BZPOPMAX's reply.
    count: Option<usize>,
}

impl BlockedOp for ZPop {
    fn ready(&self, view: &mut DbView<'_>, key: &[u8]) -> bool {
        // A sorted set is never empty.
        matches!(view.get_zset(key), Ok(Some(_)))
    }

    fn serve(&self, view: &mut DbView<'_>, key: &[u8], out: &mut Reply) {
        let effect = pop_blocking(view, key, self.max, self.count, out);
        view.log_side_effect(effect);
    }
}

fn bzpopmin(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bzpop(ctx, db, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bzpop(ctx, db, true)
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout
fn bzpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, max: bool) -> CmdResult {
    let last = ctx.args.len() - 1;
    let deadline = args::timeout_deadline(&ctx.args[last], db.now_ms)?;
    let keys = &ctx.args[1..last];
    for key in keys {
        if db.get_zset(key)?.is_some() {
            let effect = pop_blocking(db, key, max, None, ctx.out);
            db.log_effect(effect);
            return Ok(());
        }
    }
    block_or_nil(ctx, db, keys, ZPop { max, count: None }, deadline);
    Ok(())
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let deadline = args::timeout_deadline(&ctx.args[1], db.now_ms)?;
    let (keys, max, count) = mpop_args(ctx.args, 2)?;
    for key in keys {
        if db.get_zset(key)?.is_some() {
            return pop_generic(ctx, db, keys, max, Some(count), true);
        }
    }
    let op = ZPop {
        max,
        count: Some(count),
    };
    block_or_nil(ctx, db, keys, op, deadline);
    Ok(())
}

/// Blocks on `keys` with `op`, or (inside MULTI) replies the null array.
fn block_or_nil(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, keys: &[Bytes], op: ZPop, deadline: i64) {
    if ctx.may_block() {
        ctx.block(db, keys, Box::new(op), None, deadline);
    } else {
        ctx.out.null_array();
    }
}

// ----- union, intersection, difference -----

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            // +inf + -inf: Redis's convention is 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of the set operations, copied out of the keyspace (the
/// view lends one value at a time).
struct Input {
    pairs: Vec<(Vec<u8>, f64)>,
    index: Option<HashMap<Vec<u8>, f64>>,
    weight: f64,
}

impl Input {
    fn find(&mut self, member: &[u8]) -> Option<f64> {
        if self.index.is_none() {
            self.index = Some(self.pairs.iter().cloned().collect());
        }
        self.index.as_ref().and_then(|ix| ix.get(member).copied())
    }
}

/// The members of the value at `key` as set-operation input: a sorted set
/// with its scores, or a set with score 1 for each member.
fn input_of(db: &mut DbView<'_>, key: &[u8]) -> Result<Vec<(Vec<u8>, f64)>, CmdError> {
    match db.get_counted(key) {
        None => Ok(Vec::new()),
        Some(Value::ZSet(z)) => Ok(z.pairs()),
        // A plain set: each member with score 1.0.
        Some(other) => set_members(other)
            .map(|ms| ms.into_iter().map(|m| (m, 1.0)).collect())
            .ok_or(crate::error::WRONGTYPE),
    }
}

/// The members of a plain set value (`None` for any other type).
fn set_members(value: &Value) -> Option<Vec<Vec<u8>>> {
    match value {
        Value::Set(s) => Some(s.iter().map(|m| m.to_vec()).collect()),
        _ => None,
    }
}

/// ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD. `numkeys_at` is the index
/// of numkeys; `dst` the destination of the store forms.
fn setop_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    numkeys_at: usize,
    dst: Option<&Bytes>,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let args = ctx.args;
    let setnum = args::int(&args[numkeys_at])?;
    if setnum < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(CmdError::new(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_at + 1;
    if setnum as u64 > (args.len() - first) as u64 {
        return Err(SYNTAX);
    }
    let setnum = setnum as usize;
    let mut inputs = Vec::with_capacity(setnum);
    for key in &args[first..first + setnum] {
        inputs.push(Input {
            pairs: input_of(db, key)?,
            index: None,
            weight: 1.0,
        });
    }
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for input in inputs.iter_mut() {
                input.weight =
                    score_arg(&args[j], CmdError::fixed("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let w = &args[j + 1];
            how = if is(w, "sum") {
                Aggregate::Sum
            } else if is(w, "min") {
                Aggregate::Min
            } else if is(w, "max") {
                Aggregate::Max
            } else {
                return Err(SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            const NEG: CmdError = CmdError::fixed("ERR LIMIT can't be negative");
            let n = args::int_or(&args[j + 1], NEG)?;
            if n < 0 {
                return Err(NEG);
            }
            limit = n as usize;
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    if op != SetOp::Diff {
        inputs.sort_by_key(|i| i.pairs.len());
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            if !inputs[0].pairs.is_empty() {
                let (head, rest) = inputs.split_at_mut(1);
                'members: for (m, s) in &head[0].pairs {
                    let mut score = head[0].weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for other in rest.iter_mut() {
                        let w = other.weight;
                        match other.find(m) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => continue 'members,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            break;
                        }
                    } else {
                        result.push((m.clone(), score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for input in &inputs {
                for (m, s) in &input.pairs {
                    let mut score = input.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m.clone(), score);
                            order.push(m.clone());
                        }
                    }
                }
            }
            result = order
                .into_iter()
                .map(|m| {
                    let s = acc.get(&m).copied().unwrap_or(0.0);
                    (m, s)
                })
                .collect();
        }
        SetOp::Diff => {
            let (head, rest) = inputs.split_at_mut(1);
            for (m, s) in &head[0].pairs {
                if !rest.iter_mut().any(|o| o.find(m).is_some()) {
                    result.push((m.clone(), *s));
                }
            }
        }
    }
    if card_only {
        ctx.out.int(cardinality as i64);
        return Ok(());
    }
    result.sort_by(|a, b| crate::types::zset::key_cmp((a.1, &a.0), (b.1, &b.0)));
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => KeyEvent::ZUNIONSTORE,
                SetOp::Inter => KeyEvent::ZINTERSTORE,
                SetOp::Diff => KeyEvent::ZDIFFSTORE,
            };
            store_result(ctx, db, dst, &result, event, true);
        }
        None => reply_members(ctx.out, &result, withscores),
    }
    Ok(())
}

fn zunion(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setop_generic(ctx, db, 1, None, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setop_generic(ctx, db, 1, None, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setop_generic(ctx, db, 1, None, SetOp::Diff, false)
}

fn zunionstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    setop_generic(ctx, db, 2, Some(&dst), SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    setop_generic(ctx, db, 2, Some(&dst), SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    setop_generic(ctx, db, 2, Some(&dst), SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setop_generic(ctx, db, 1, None, SetOp::Inter, true)
}

// ----- random members and scanning -----

fn zrandmember(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    if ctx.args.len() == 2 {
        let member = db.get_zset(key)?.and_then(|z| {
            let n = z.len();
            if n == 0 {
                return None;
            }
            let r = (crate::util::rand_u64() % n as u64) as usize;
            z.at(r).map(|(m, _)| m.to_vec())
        });
        match member {
            Some(m) => ctx.out.bulk(&m),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let (n, withscores) = args::random_count(ctx.args, "withscores")?;
    let Some(z) = db.get_zset(key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if n == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let size = z.len();
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    if n < 0 {
        // Repetitions allowed: each pick independent. The reply is as
        // long as the client asked, so it is written as it is drawn and
        // bounded the way Redis bounds a client's output buffer: past the
        // hard limit the client is disconnected.
        let count = n.unsigned_abs() as usize;
        let resp3 = ctx.out.is_resp3();
        let start = ctx.out.mark();
        ctx.out.array(if withscores && !resp3 {
            count * 2
        } else {
            count
        });
        for _ in 0..count {
            if let Some(e) = ctx.past_output_limit(start) {
                return Err(e);
            }
            let r = (crate::util::rand_u64() % size as u64) as usize;
            if let Some((m, s)) = z.at(r) {
                if withscores && resp3 {
                    ctx.out.array(2);
                }
                ctx.out.bulk(m);
                if withscores {
                    ctx.out.double(s);
                }
            }
        }
        return Ok(());
    }
    let count = n as usize;
    if count >= size {
        // The whole set, largest first: Redis walks sorted sets from the
        // end in these commands.
        items = z.pairs();
        items.reverse();
    } else {
        // Distinct picks: a partial Fisher-Yates shuffle of the ranks.
        let mut ranks: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + (crate::util::rand_u64() % (size - i) as u64) as usize;
            ranks.swap(i, j);
            if let Some((m, s)) = z.at(ranks[i]) {
                items.push((m.to_vec(), s));
            }
        }
    }
    reply_members(ctx.out, &items, withscores);
    Ok(())
}

fn zscan(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let cursor = args::scan_cursor(&ctx.args[2])?;
    let Some(z) = db.get_zset(&ctx.args[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (count, pattern) = super::hashes::scan_options(&ctx.args[3..])?;
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut next = 0u64;
    if z.is_packed() {
        items = z.pairs();
    } else {
        // As Redis: the cursor walks the member index's buckets in
        // reverse-binary order (so members present throughout are all
        // returned whatever is added or removed meanwhile); COUNT bounds
        // the reply's elements (members and scores both count), and at
        // most ten times COUNT buckets are visited.
        let count = count as usize;
        let mut budget = count.saturating_mul(10);
        next = cursor;
        loop {
            next = z
                .scan_step(next, |m, s| items.push((m.to_vec(), s)))
                .unwrap_or(0);
            if next == 0 || budget == 0 || items.len() * 2 >= count {
                break;
            }
            budget -= 1;
        }
    }
    if let Some(p) = pattern {
        items.retain(|(m, _)| crate::util::glob::glob_match(p, m));
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len() * 2);
    for (m, s) in &items {
        ctx.out.bulk(m);
        ctx.out
            .bulk(crate::util::numfmt::format_double(*s).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_as_redis_reads_them() {
        let ok = |s: &str| score_arg(s.as_bytes(), NOT_FLOAT).ok();
        assert_eq!(ok("1.5"), Some(1.5));
        assert_eq!(ok("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(ok("+inf"), Some(f64::INFINITY));
        assert_eq!(ok("0x10"), Some(16.0));
        assert_eq!(ok(" 1"), None);
        assert_eq!(ok("1 "), None);
        assert_eq!(ok("nan"), None);
        assert_eq!(ok("1e400"), None);
        assert_eq!(ok("1e-400"), None);
        assert_eq!(ok(""), None);
        assert_eq!(ok("0"), Some(0.0));
        assert_eq!(ok("0e5"), Some(0.0));
        let r = |s: &str| range_bound(s.as_bytes()).ok();
        assert_eq!(r(""), Some((0.0, false)));
        assert_eq!(r("("), Some((0.0, true)));
        assert_eq!(r(" 5"), Some((5.0, false)));
        assert_eq!(r("(1e400"), Some((f64::INFINITY, true)));
        assert_eq!(r("nan"), None);
        assert_eq!(r("5x"), None);
    }
}

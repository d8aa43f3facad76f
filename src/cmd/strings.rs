//! String and number commands.

use super::args::{self, is, ExpireKind, ExpiryOption, ExpiryRules};
use super::keyspec::KeyRef;
use super::spec::{bind, CommandSpec, Ctx};
use crate::aof;
use crate::db::{AccessPolicy, DbView, KeyEvent};
use crate::error::{wrong_arity, CmdError, CmdResult, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::types::{StrValue, Value};
use crate::util::longdouble::{self, IncrError};

/// SET's key finder: whether it reads the old value (GET) decides its key's
/// flags, which its key spec marks as variable.
fn set_keys(args: &[bytes::Bytes], keys: &mut Vec<KeyRef>) {
    use super::keyspec::flags::{ACCESS, OW, RW, UPDATE};
    let with_get = args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"GET"));
    let flags = if with_get {
        RW | ACCESS | UPDATE
    } else {
        OW | UPDATE
    };
    keys.push(KeyRef { pos: 1, flags });
}

/// The string family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("get", get),
    bind("set", set).with_getkeys(set_keys),
    bind("setnx", setnx),
    bind("setex", setex),
    bind("psetex", psetex),
    bind("getset", getset),
    bind("getdel", getdel),
    bind("getex", getex),
    bind("mget", mget),
    bind("mset", mset),
    bind("msetnx", msetnx),
    bind("append", append),
    bind("strlen", strlen),
    bind("getrange", getrange),
    bind("substr", getrange),
    bind("setrange", setrange),
    bind("incr", incr),
    bind("decr", decr),
    bind("incrby", incrby),
    bind("decrby", decrby),
    bind("incrbyfloat", incrbyfloat),
    bind("lcs", lcs),
];

/// The string at `key` for a read command (counts a keyspace hit or miss).
fn read_str<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<&'v StrValue>, CmdError> {
    match db.get_counted(key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(WRONGTYPE),
    }
}

fn get(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match read_str(db, &ctx.args[1])? {
        Some(s) => ctx.out.bulk(&s.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

// ----- SET and its options -----

/// SET's expiry options: a time or KEEPTTL, a repeat of the same one
/// accepted, anything else a syntax error.
const SET_EXPIRY: ExpiryRules = ExpiryRules {
    persist: false,
    keep_ttl: true,
    repeat: true,
    conflict: SYNTAX,
    missing_time: SYNTAX,
};

/// GETEX's: a time or PERSIST, by the same rules.
const GETEX_EXPIRY: ExpiryRules = ExpiryRules {
    persist: true,
    keep_ttl: false,
    repeat: true,
    conflict: SYNTAX,
    missing_time: SYNTAX,
};

#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    expiry: Option<ExpiryOption<'a>>,
}

/// Parses SET's options (NX, XX, GET and the expiry options) with Redis's
/// rules: conflicting options are a syntax error, and a repeated option of
/// the same kind is accepted.
fn parse_set_options(args: &[bytes::Bytes]) -> Result<SetOptions<'_>, CmdError> {
    let mut o = SetOptions::default();
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i][..];
        if is(opt, "NX") && !o.xx {
            o.nx = true;
        } else if is(opt, "XX") && !o.nx {
            o.xx = true;
        } else if is(opt, "GET") {
            o.get = true;
        } else if args::expiry_option(args, &mut i, &mut o.expiry, &SET_EXPIRY)? {
            continue;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// Turns an expiry argument into an absolute Unix time in ms, with Redis's
/// errors (`ERR invalid expire time in '<cmd>' command`).
fn expire_at(kind: ExpireKind, arg: &[u8], now_ms: i64, command: &str) -> Result<i64, CmdError> {
    let invalid = || CmdError::new(format!("ERR invalid expire time in '{command}' command"));
    let n = args::int(arg)?;
    let unit = kind.unit_ms();
    if n <= 0 || n > i64::MAX / unit {
        return Err(invalid());
    }
    let at = (n * unit)
        .checked_add(kind.base_ms(now_ms))
        .ok_or_else(invalid)?;
    if at <= 0 {
        return Err(invalid());
    }
    Ok(at)
}

/// The shared body of SET, SETNX, SETEX, PSETEX: returns false when NX/XX
/// prevented the write. With `opts.get` the old value has been replied.
fn set_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    opts: &SetOptions<'_>,
    value_index: usize,
    command: &str,
) -> Result<bool, CmdError> {
    let key = &ctx.args[1];
    let expire = match opts.expiry {
        Some(ExpiryOption::Time(kind, arg)) => Some(expire_at(kind, arg, db.now_ms, command)?),
        _ => None,
    };
    if opts.get {
        match read_str(db, key)? {
            Some(old) => ctx.out.bulk(&old.as_bytes()),
            None => ctx.out.null(),
        }
        db.reply_written();
    }
    // Redis's SET always looks the key up for writing; only NX/XX and an
    // LFU counter depend on that lookup, since `DbView::set` expires a key
    // it replaces by itself.
    if opts.nx || opts.xx || db.access != AccessPolicy::Lru {
        let found = db.exists(key);
        if (opts.nx && found) || (opts.xx && !found) {
            return Ok(false);
        }
    }
    let value = Value::Str(StrValue::from_bytes(&ctx.args[value_index]));
    if opts.expiry == Some(ExpiryOption::KeepTtl) {
        db.set_keep_ttl(key, value);
    } else {
        db.set(key, value);
    }
    db.modified(key, KeyEvent::SET);
    if let Some(at) = expire {
        // An expiry time already past is set too: the key expires at its
        // next lookup, as in Redis 7.0.
        db.set_expire(key, at);
        db.also(key, KeyEvent::EXPIRE);
        // A relative time would expire later on replay: log the instant.
        let at = aof::ms_arg(at);
        let value = &ctx.args[value_index];
        db.log_effect(aof::command(&[b"SET", key, value, b"PXAT", at.as_bytes()]));
    }
    Ok(true)
}

fn set(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let opts = parse_set_options(ctx.args)?;
    let done = set_generic(ctx, db, &opts, 2, "set")?;
    if !opts.get {
        if done {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let opts = SetOptions {
        nx: true,
        ..Default::default()
    };
    let done = set_generic(ctx, db, &opts, 2, "setnx")?;
    ctx.out.int(done as i64);
    Ok(())
}

fn setex_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    kind: ExpireKind,
    command: &str,
) -> CmdResult {
    let opts = SetOptions {
        expiry: Some(ExpiryOption::Time(kind, &ctx.args[2][..])),
        ..Default::default()
    };
    set_generic(ctx, db, &opts, 3, command)?;
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setex_generic(ctx, db, ExpireKind::Seconds, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    setex_generic(ctx, db, ExpireKind::Millis, "psetex")
}

fn getset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    match read_str(db, key)? {
        Some(old) => ctx.out.bulk(&old.as_bytes()),
        None => ctx.out.null(),
    }
    db.reply_written();
    db.set(key, Value::Str(StrValue::from_bytes(&ctx.args[2])));
    db.modified(key, KeyEvent::SET);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    match read_str(db, key)? {
        Some(old) => ctx.out.bulk(&old.as_bytes()),
        None => {
            ctx.out.null();
            return Ok(());
        }
    }
    db.reply_written();
    db.remove(key);
    db.modified(key, KeyEvent::DEL);
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut option = None;
    let mut i = 2;
    while i < ctx.args.len() {
        if !args::expiry_option(ctx.args, &mut i, &mut option, &GETEX_EXPIRY)? {
            return Err(SYNTAX);
        }
    }
    let key = &ctx.args[1];
    let Some(value) = read_str(db, key)? else {
        ctx.out.null();
        return Ok(());
    };
    let value = value.as_bytes().into_owned();
    let expire = match option {
        Some(ExpiryOption::Time(kind, arg)) => {
            Some((kind, expire_at(kind, arg, db.now_ms, "getex")?))
        }
        _ => None,
    };
    ctx.out.bulk(&value);
    db.reply_written();
    match expire {
        // An absolute time already past deletes the key.
        Some((kind, at)) if kind.is_absolute() && at <= db.now_ms => {
            db.remove(key);
            db.modified(key, KeyEvent::DEL);
            db.log_effect(aof::command(&[b"DEL", key]));
        }
        Some((_, at)) => {
            db.set_expire(key, at);
            db.modified(key, KeyEvent::EXPIRE);
            let at = aof::ms_arg(at);
            db.log_effect(aof::command(&[b"PEXPIREAT", key, at.as_bytes()]));
        }
        None if option == Some(ExpiryOption::Persist) && db.persist(key) => {
            db.modified(key, KeyEvent::PERSIST)
        }
        None => {}
    }
    Ok(())
}

// ----- multi-key -----

fn mget(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    ctx.out.array(ctx.args.len() - 1);
    for key in &ctx.args[1..] {
        // A key of another type reads as missing, without an error.
        match db.get_counted(key) {
            Some(Value::Str(s)) => ctx.out.bulk(&s.as_bytes()),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, nx: bool) -> Result<bool, CmdError> {
    if ctx.args.len() % 2 == 0 {
        return Err(wrong_arity(if nx { "msetnx" } else { "mset" }));
    }
    if nx && ctx.args[1..].chunks(2).any(|pair| db.exists(&pair[0])) {
        return Ok(false);
    }
    for pair in ctx.args[1..].chunks(2) {
        db.set(&pair[0], Value::Str(StrValue::from_bytes(&pair[1])));
        db.modified(&pair[0], KeyEvent::SET);
    }
    Ok(true)
}

fn mset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    mset_generic(ctx, db, false)?;
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let done = mset_generic(ctx, db, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

// ----- in-place modification -----

/// Rejects a string that would exceed `proto-max-bulk-len`.
fn check_length(ctx: &Ctx<'_>, size: u64, append: u64) -> CmdResult {
    let max = ctx
        .server
        .hot
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed) as u64;
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::fixed(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

fn append(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let extra = &ctx.args[2];
    let current_len = db.get_str_uncounted(key)?.map(|s| s.len() as u64);
    let total = match current_len {
        None => {
            // A new key is stored like SET stores it (possibly as an integer).
            db.set(key, Value::Str(StrValue::from_bytes(extra)));
            extra.len()
        }
        Some(len) => {
            check_length(ctx, len, extra.len() as u64)?;
            let s = db.get_str_mut(key)?.ok_or(WRONGTYPE)?;
            let buf = s.make_growable();
            buf.extend_from_slice(extra);
            buf.len()
        }
    };
    db.modified(key, KeyEvent::APPEND);
    ctx.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let len = read_str(db, &ctx.args[1])?.map_or(0, StrValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut start = args::int(&ctx.args[2])?;
    let mut end = args::int(&ctx.args[3])?;
    let Some(s) = read_str(db, &ctx.args[1])? else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let bytes = s.as_bytes();
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&bytes[start as usize..=end as usize]);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let value = &ctx.args[3];
    let offset = args::int(&ctx.args[2])?;
    if offset < 0 {
        return Err(CmdError::fixed("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let current_len = db.get_str_uncounted(key)?.map(|s| s.len());
    match current_len {
        None => {
            if value.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_length(ctx, offset, value.len() as u64)?;
            db.set(key, Value::Str(StrValue::growable(Vec::new())));
        }
        Some(len) => {
            if value.is_empty() {
                ctx.out.int(len as i64);
                return Ok(());
            }
            check_length(ctx, offset, value.len() as u64)?;
        }
    }
    let s = db.get_str_mut(key)?.ok_or(WRONGTYPE)?;
    let buf = s.make_growable();
    let offset = offset as usize;
    let needed = offset + value.len();
    if buf.len() < needed {
        buf.resize(needed, 0);
    }
    buf[offset..needed].copy_from_slice(value);
    let total = buf.len();
    db.modified(key, KeyEvent::SETRANGE);
    ctx.out.int(total as i64);
    Ok(())
}

// ----- counters -----

fn incr_by(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, delta: i64) -> CmdResult {
    let key = &ctx.args[1];
    let overflow = || CmdError::fixed("ERR increment or decrement would overflow");
    // An integer is updated where it is, as Redis does for an unshared
    // integer: one lookup, no new entry. Otherwise `Err` holds the number
    // the string reads as.
    let found = match db.get_str_mut(key)? {
        None => None,
        Some(s) => match s.int_mut() {
            Some(n) => {
                *n = n.checked_add(delta).ok_or_else(overflow)?;
                Some(Ok(*n))
            }
            None => Some(Err(
                crate::protocol::parse_i64(&s.as_bytes()).ok_or(NOT_INTEGER)?
            )),
        },
    };
    let value = match found {
        Some(Ok(n)) => n,
        other => {
            let current = match other {
                Some(Err(n)) => n,
                _ => 0,
            };
            let value = current.checked_add(delta).ok_or_else(overflow)?;
            db.set_keep_ttl(key, Value::Str(StrValue::int(value)));
            value
        }
    };
    db.modified(key, KeyEvent::INCRBY);
    ctx.out.int(value);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    incr_by(ctx, db, 1)
}

fn decr(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    incr_by(ctx, db, -1)
}

fn incrby(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let delta = args::int(&ctx.args[2])?;
    incr_by(ctx, db, delta)
}

fn decrby(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let delta = args::int(&ctx.args[2])?;
    if delta == i64::MIN {
        return Err(CmdError::fixed("ERR decrement would overflow"));
    }
    incr_by(ctx, db, -delta)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let current = db.get_str(key)?.map(|s| s.as_bytes().into_owned());
    let result =
        longdouble::incr_by_float(current.as_deref(), &ctx.args[2]).map_err(|e| match e {
            IncrError::BadCurrent | IncrError::BadIncrement => crate::error::NOT_FLOAT,
            IncrError::NotFinite => CmdError::fixed("ERR increment would produce NaN or Infinity"),
        })?;
    // Stored as text, never as an integer, as Redis does.
    db.set_keep_ttl(key, Value::Str(StrValue::plain(&result)));
    db.modified(key, KeyEvent::INCRBYFLOAT);
    // The sum is logged, not the increment: replaying the float arithmetic
    // is not guaranteed to give the same digits everywhere.
    db.log_effect(aof::command(&[b"SET", key, &result, b"KEEPTTL"]));
    ctx.out.bulk(&result);
    Ok(())
}

// ----- LCS -----

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut texts: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (slot, key) in texts.iter_mut().zip(&ctx.args[1..3]) {
        match db.get_counted(key) {
            None => {}
            Some(Value::Str(s)) => *slot = s.as_bytes().into_owned(),
            Some(_) => {
                return Err(CmdError::fixed(
                    "ERR The specified keys must contain string values",
                ))
            }
        }
    }
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < ctx.args.len() {
        let opt = &ctx.args[i];
        let more = i + 1 < ctx.args.len();
        if is(opt, "IDX") {
            want_idx = true;
        } else if is(opt, "LEN") {
            want_len = true;
        } else if is(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if is(opt, "MINMATCHLEN") && more {
            min_match_len = args::int(&ctx.args[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if want_len && want_idx {
        return Err(CmdError::fixed(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let [a, b] = &texts;
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::fixed("ERR String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let max = ctx
        .server
        .hot
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed) as u64;
    if cells.saturating_mul(4) > max {
        return Err(CmdError::fixed(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let table = LcsTable::build(a, b);
    let total = table.at(a.len(), b.len());
    if want_len {
        ctx.out.int(total as i64);
        return Ok(());
    }
    let walk = table.walk(a, b, min_match_len as u64);
    if want_idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(walk.ranges.len());
        for r in &walk.ranges {
            ctx.out.array(2 + with_match_len as usize);
            ctx.out.array(2);
            ctx.out.int(r.a.0 as i64);
            ctx.out.int(r.a.1 as i64);
            ctx.out.array(2);
            ctx.out.int(r.b.0 as i64);
            ctx.out.int(r.b.1 as i64);
            if with_match_len {
                ctx.out.int((r.a.1 - r.a.0 + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&walk.common);
    }
    Ok(())
}

/// The dynamic-programming table of LCS lengths of all prefix pairs.
struct LcsTable {
    cells: Vec<u32>,
    width: usize,
}

/// One matching range: inclusive byte ranges in the first and second string.
struct MatchRange {
    a: (u32, u32),
    b: (u32, u32),
}

/// The result of walking the table back: the common subsequence and the
/// matching ranges (last first, as Redis reports them).
struct LcsWalk {
    common: Vec<u8>,
    ranges: Vec<MatchRange>,
}

impl LcsTable {
    fn build(a: &[u8], b: &[u8]) -> Self {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        LcsTable { cells, width }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks from the end of both strings, collecting the subsequence and the
    /// contiguous matching ranges of at least `min_len` bytes.
    fn walk(&self, a: &[u8], b: &[u8], min_len: u64) -> LcsWalk {
        let mut common = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut idx = common.len();
        let mut ranges = Vec::new();
        let (mut i, mut j) = (a.len(), b.len());
        // The range being grown backwards, if any: (a_start, a_end, b_start, b_end).
        let mut current: Option<(u32, u32, u32, u32)> = None;
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                common[idx - 1] = a[i - 1];
                let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
                match current.as_mut() {
                    None => current = Some((ai, ai, bj, bj)),
                    Some(r) if r.0 == ai + 1 && r.2 == bj + 1 => {
                        r.0 -= 1;
                        r.2 -= 1;
                    }
                    Some(_) => emit = true,
                }
                if let Some(r) = current {
                    if r.0 == 0 || r.2 == 0 {
                        emit = true;
                    }
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                if current.is_some() {
                    emit = true;
                }
            }
            if emit {
                if let Some((a0, a1, b0, b1)) = current.take() {
                    let len = (a1 - a0 + 1) as u64;
                    if min_len == 0 || len >= min_len {
                        ranges.push(MatchRange {
                            a: (a0, a1),
                            b: (b0, b1),
                        });
                    }
                }
            }
        }
        LcsWalk { common, ranges }
    }
}

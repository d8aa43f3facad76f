//! Hash commands: Redis 7.0's family, Redis 7.4's field expiration
//! (HEXPIRE ... HPERSIST) and Redis 8.0's HGETDEL, HGETEX and HSETEX.
//!
//! Expired fields are invisible: every command here first reclaims the
//! expired fields of the hash it touches (deleting the key when none are
//! left), and active expiry reclaims them in the background. So unlike Redis
//! 7.4, whose HLEN still counts expired fields not yet reclaimed, HLEN here
//! always counts live fields only. The reclamation reports one `hexpired`
//! event (then `del` if no field is left), as Redis does when a command
//! finds the fields it asks for expired; Redis reports nothing for the
//! expired fields a command does not look at.

use super::args::{self, is, ExpireCondition, ExpireKind, ExpiryOption, ExpiryRules};
use super::spec::{bind, CommandSpec, Ctx};
use crate::aof;
use crate::db::{DbView, KeyEvent};
use crate::error::{wrong_arity, CmdError, CmdResult, SYNTAX};
use crate::types::hash::HashLimits;
use crate::types::HashValue;
use bytes::Bytes;

/// The hash family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("hset", hset),
    bind("hsetnx", hsetnx),
    bind("hmset", hmset),
    bind("hget", hget),
    bind("hmget", hmget),
    bind("hgetall", hgetall),
    bind("hdel", hdel),
    bind("hlen", hlen),
    bind("hexists", hexists),
    bind("hkeys", hkeys),
    bind("hvals", hvals),
    bind("hincrby", hincrby),
    bind("hincrbyfloat", hincrbyfloat),
    bind("hstrlen", hstrlen),
    bind("hrandfield", hrandfield),
    bind("hscan", hscan),
    bind("hexpire", hexpire),
    bind("hpexpire", hpexpire),
    bind("hexpireat", hexpireat),
    bind("hpexpireat", hpexpireat),
    bind("httl", httl),
    bind("hpttl", hpttl),
    bind("hexpiretime", hexpiretime),
    bind("hpexpiretime", hpexpiretime),
    bind("hpersist", hpersist),
    bind("hgetdel", hgetdel),
    bind("hgetex", hgetex),
    bind("hsetex", hsetex),
];

/// Largest absolute field expiry time the commands accept: Redis stores
/// field times in 48 bits but accepts only a quarter of that range from
/// clients, 2^46 - 1 ms (about the year 4199).
const MAX_FIELD_EXPIRE_MS: i64 = ((1 << 48) - 1) >> 2;

/// Per-field reply codes of the expiration commands.
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const CONDITION_NOT_MET: i64 = 0;
const FIELD_UPDATED: i64 = 1;
const FIELD_DELETED: i64 = 2;

const FIELDS_MISSING: CmdError =
    CmdError::fixed("ERR Mandatory argument FIELDS is missing or not at the right position");
const NUMFIELDS_MISMATCH: CmdError =
    CmdError::fixed("ERR The `numfields` parameter must match the number of arguments");
const NUMFIELDS_NOT_POSITIVE: CmdError =
    CmdError::fixed("ERR Number of fields must be a positive integer");
const NUMFIELDS_NOT_ABOVE_ZERO: CmdError =
    CmdError::fixed("ERR Parameter `numFields` should be greater than 0");

// ----- access helpers -----

/// The hash at `key` with its expired fields reclaimed; `None` if absent (or
/// if reclaiming emptied it, in which case the key is deleted);
/// `WRONGTYPE` for another type. The lookup counts as a read (INFO's
/// keyspace hits and misses, `keymiss`).
pub fn live_hash<'v>(
    db: &'v mut DbView<'_>,
    key: &[u8],
) -> Result<Option<&'v mut HashValue>, CmdError> {
    // Counted whatever the key's type, as a lookup that found it.
    let found = db.get(key).is_some();
    db.count_read(key, found);
    live_hash_uncounted(db, key)
}

/// [`live_hash`] without counting the lookup as a read: for a writer
/// (Redis's `lookupKeyWrite`), or a second look at a key already counted
/// (SORT's `->field` patterns).
pub fn live_hash_uncounted<'v>(
    db: &'v mut DbView<'_>,
    key: &[u8],
) -> Result<Option<&'v mut HashValue>, CmdError> {
    let has_ttls = match db.get_hash_uncounted(key)? {
        None => return Ok(None),
        Some(h) => h.has_field_ttls(),
    };
    if has_ttls && !purge_fields(db, key) {
        return Ok(None);
    }
    db.get_hash_mut(key)
}

/// Reclaims the expired fields of the hash at `key`, which has field TTLs
/// (reporting `hexpired`, and `del` if that empties it), and keeps it
/// tracked for background reclamation. False if the key is gone.
#[cold]
fn purge_fields(db: &mut DbView<'_>, key: &[u8]) -> bool {
    let now = db.now_ms;
    let (purged, empty) = match db.get_hash_mut(key) {
        Ok(Some(h)) => (h.purge_expired(now), h.is_empty()),
        _ => return false,
    };
    if !purged.is_empty() {
        if db.logging {
            db.log_side_effect(aof::hdel(key, &purged));
        }
        db.modified(key, KeyEvent::HEXPIRED);
        if empty {
            db.remove_emptied(key);
            return false;
        }
    }
    // A renamed or moved hash keeps its TTLs: make sure it is tracked.
    db.track_hash_field_ttls(key);
    true
}

/// Like [`live_hash`], creating an empty hash if the key is absent. Two
/// keyspace lookups in the common case (a check, then the write access):
/// the hottest hash commands go through here.
fn live_hash_or_create<'v>(
    db: &'v mut DbView<'_>,
    key: &[u8],
) -> Result<&'v mut HashValue, CmdError> {
    if matches!(db.get_hash_uncounted(key)?, Some(h) if h.has_field_ttls()) {
        purge_fields(db, key);
    }
    db.hash_or_create(key)
}

/// After a write that adds or updates fields, so can neither empty the
/// hash nor give it field TTLs: reports it. Nothing to [`tidy`]: any TTLs
/// the hash had were tracked when [`live_hash_or_create`] looked it up.
/// (Redis writes these commands' replies before their event.)
fn fields_written(db: &mut DbView<'_>, key: &[u8], event: KeyEvent) {
    db.reply_written();
    db.modified(key, event);
}

/// After a write: reports it (`event`), then [`tidy`].
fn finish_write(db: &mut DbView<'_>, key: &[u8], event: KeyEvent) {
    db.modified(key, event);
    tidy(db, key);
}

/// After a reported write: deletes the key if the hash is now empty
/// (reporting `del` as a further event of the write), or keeps the
/// background reclamation informed of field TTLs.
fn tidy(db: &mut DbView<'_>, key: &[u8]) {
    let (empty, has_ttls) = match db.get_hash(key) {
        Ok(Some(h)) => (h.is_empty(), h.has_field_ttls()),
        _ => (false, false),
    };
    if empty {
        db.remove_emptied(key);
    } else if has_ttls {
        db.track_hash_field_ttls(key);
    }
}

fn limits(ctx: &Ctx<'_>) -> HashLimits {
    ctx.server.hot.hash_limits()
}

// ----- Redis 7.0 commands -----

/// Sets field/value pairs; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> Result<i64, CmdError> {
    if ctx.args.len() % 2 != 0 {
        return Err(wrong_arity(&String::from_utf8_lossy(&ctx.args[0])));
    }
    let limits = limits(ctx);
    let key = &ctx.args[1];
    let hash = live_hash_or_create(db, key)?;
    let mut added = 0;
    for pair in ctx.args[2..].chunks(2) {
        if hash.set(&pair[0], &pair[1], limits) {
            added += 1;
        }
    }
    fields_written(db, key, KeyEvent::HSET);
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let added = set_pairs(ctx, db)?;
    ctx.out.int(added);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    set_pairs(ctx, db)?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let limits = limits(ctx);
    let (key, field, value) = (&ctx.args[1], &ctx.args[2], &ctx.args[3]);
    let hash = live_hash_or_create(db, key)?;
    if hash.contains(field) {
        ctx.out.int(0);
        return Ok(());
    }
    hash.set(field, value, limits);
    fields_written(db, key, KeyEvent::HSET);
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match live_hash(db, &ctx.args[1])?.and_then(|h| h.get(&ctx.args[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Replies with the values of `fields` (null for missing ones).
fn reply_values(ctx: &mut Ctx<'_>, hash: Option<&HashValue>, fields: &[Bytes]) {
    ctx.out.array(fields.len());
    for f in fields {
        match hash.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

fn hmget(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let hash = live_hash(db, &ctx.args[1])?;
    reply_values(ctx, hash.as_deref(), &ctx.args[2..]);
    Ok(())
}

/// What HGETALL, HKEYS and HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HashPart {
    Fields,
    Values,
    Both,
}

/// Replies with part of the hash at `key`: a map of everything (HGETALL) or
/// an array of the fields or the values.
fn reply_hash(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, part: HashPart) -> CmdResult {
    let hash = live_hash(db, &ctx.args[1])?;
    let len = hash.as_deref().map_or(0, |h| h.len());
    if part == HashPart::Both {
        ctx.out.map(len);
    } else {
        ctx.out.array(len);
    }
    for (f, v) in hash.iter().flat_map(|h| h.iter()) {
        if part != HashPart::Values {
            ctx.out.bulk(f);
        }
        if part != HashPart::Fields {
            ctx.out.bulk(v);
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    reply_hash(ctx, db, HashPart::Both)
}

fn hkeys(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    reply_hash(ctx, db, HashPart::Fields)
}

fn hvals(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    reply_hash(ctx, db, HashPart::Values)
}

fn hdel(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let Some(hash) = live_hash(db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = ctx.args[2..].iter().filter(|f| hash.remove(f)).count();
    if removed > 0 {
        finish_write(db, key, KeyEvent::HDEL);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = live_hash(db, &ctx.args[1])?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let found = live_hash(db, &ctx.args[1])?.is_some_and(|h| h.contains(&ctx.args[2]));
    ctx.out.int(found as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let len = live_hash(db, &ctx.args[1])?
        .and_then(|h| h.get(&ctx.args[2]))
        .map_or(0, |v| v.len());
    ctx.out.int(len as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let incr = args::int(&ctx.args[3])?;
    let (key, field) = (&ctx.args[1], &ctx.args[2]);
    let current = match live_hash_uncounted(db, key)?.and_then(|h| h.get(field)) {
        Some(v) => crate::protocol::parse_i64(v)
            .ok_or(CmdError::fixed("ERR hash value is not an integer"))?,
        None => 0,
    };
    let value = current
        .checked_add(incr)
        .ok_or(CmdError::fixed("ERR increment or decrement would overflow"))?;
    let limits = limits(ctx);
    let mut digits = Vec::with_capacity(20);
    crate::reply::push_i64(&mut digits, value);
    db.hash_or_create(key)?.set_keep_ttl(field, &digits, limits);
    fields_written(db, key, KeyEvent::HINCRBY);
    ctx.out.int(value);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    use crate::util::longdouble::{classify, incr_by_float, IncrError};
    // The increment is checked before the key is looked up, as Redis does.
    match classify(&ctx.args[3]) {
        None => return Err(crate::error::NOT_FLOAT),
        Some(false) => return Err(CmdError::fixed("ERR value is NaN or Infinity")),
        Some(true) => {}
    }
    let (key, field) = (&ctx.args[1], &ctx.args[2]);
    let current: Option<Vec<u8>> = live_hash_uncounted(db, key)?
        .and_then(|h| h.get(field))
        .map(<[u8]>::to_vec);
    let value = incr_by_float(current.as_deref(), &ctx.args[3]).map_err(|e| match e {
        IncrError::BadCurrent => CmdError::fixed("ERR hash value is not a float"),
        IncrError::BadIncrement => crate::error::NOT_FLOAT,
        IncrError::NotFinite => CmdError::fixed("ERR increment would produce NaN or Infinity"),
    })?;
    let limits = limits(ctx);
    let hash = db.hash_or_create(key)?;
    hash.set_keep_ttl(field, &value, limits);
    let ttl = hash.field_expire_time(field);
    fields_written(db, key, KeyEvent::HINCRBYFLOAT);
    // The sum is logged, not the increment (and HSET would drop the TTL).
    db.log_effect(aof::command(&[b"HSET", key, field, &value]));
    if let Some(when) = ttl {
        log_field_expiry(db, key, when, std::slice::from_ref(field));
    }
    ctx.out.bulk(&value);
    Ok(())
}

/// Appends `FIELDS n field...`, as the field-TTL commands take fields.
fn push_fields(args: &mut Vec<Bytes>, fields: &[Bytes]) {
    args.push(Bytes::from_static(b"FIELDS"));
    args.push(Bytes::from(fields.len().to_string()));
    args.extend_from_slice(fields);
}

/// Logs `fields` of `key` as expiring at the absolute time `when`.
fn log_field_expiry(db: &mut DbView<'_>, key: &Bytes, when: i64, fields: &[Bytes]) {
    let mut args = aof::command(&[b"HPEXPIREAT", key, aof::ms_arg(when).as_bytes()]);
    push_fields(&mut args, fields);
    db.log_effect(args);
}

/// Logs the deletion of `fields` of `key` (if any).
fn log_hdel(db: &mut DbView<'_>, key: &Bytes, fields: &[Bytes]) {
    if !fields.is_empty() {
        db.log_effect(aof::hdel(key, fields));
    }
}

fn hrandfield(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    if ctx.args.len() == 2 {
        match live_hash(db, key)?.and_then(|h| h.random_pair(crate::util::rand_u64)) {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let (n, with_values) = args::random_count(ctx.args, "WITHVALUES")?;
    let Some(hash) = live_hash(db, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let resp3 = ctx.out.is_resp3();
    let pair = |out: &mut crate::reply::Reply, f: &[u8], v: &[u8]| {
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    };
    let reply_len = |count: usize| {
        if with_values && !resp3 {
            count * 2
        } else {
            count
        }
    };
    let count = n.unsigned_abs() as usize;
    if count == 0 {
        ctx.out.array(0);
    } else if n < 0 || count == 1 {
        // Repetitions allowed: independent random picks. The client picks
        // the count, so the reply is bounded the way Redis bounds a client's
        // output buffer: past the hard limit the client is disconnected.
        let start = ctx.out.mark();
        ctx.out.array(reply_len(count));
        for _ in 0..count {
            if let Some((f, v)) = hash.random_pair(crate::util::rand_u64) {
                pair(ctx.out, f, v);
            }
            if let Some(e) = ctx.past_output_limit(start) {
                return Err(e);
            }
        }
    } else if count >= hash.len() {
        ctx.out.array(reply_len(hash.len()));
        for (f, v) in hash.iter() {
            pair(ctx.out, f, v);
        }
    } else {
        // Distinct fields: a partial Fisher-Yates shuffle of all pairs.
        let mut all: Vec<(&[u8], &[u8])> = hash.iter().collect();
        ctx.out.array(reply_len(count));
        for i in 0..count {
            let j = i + (crate::util::rand_u64() as usize) % (all.len() - i);
            all.swap(i, j);
            pair(ctx.out, all[i].0, all[i].1);
        }
    }
    Ok(())
}

/// Parses a SCAN cursor like C's `strtoul` (optional sign, negative values
/// wrap) with Redis's checks; `ERR invalid cursor` otherwise.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    const INVALID: CmdError = CmdError::fixed("ERR invalid cursor");
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        // strtoul("") consumes nothing and leaves no trailing text: 0.
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(INVALID);
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(INVALID)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Parses the options of HSCAN and SSCAN (`COUNT n`, `MATCH pattern`, in
/// any order, the last of each winning): the count (10 by default; below 1
/// is a syntax error, as in Redis) and the pattern (`None` for `*`).
pub fn scan_options(opts: &[Bytes]) -> Result<(i64, Option<&[u8]>), CmdError> {
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 0;
    while i < opts.len() {
        let has_value = i + 1 < opts.len();
        if is(&opts[i], "COUNT") && has_value {
            count = args::int(&opts[i + 1])?;
            if count < 1 {
                return Err(SYNTAX);
            }
        } else if is(&opts[i], "MATCH") && has_value {
            let p = &opts[i + 1][..];
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

fn hscan(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let cursor = parse_scan_cursor(&ctx.args[2])?;
    let Some(hash) = live_hash(db, &ctx.args[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (count, pattern) = scan_options(&ctx.args[3..])?;
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut next = 0;
    if hash.is_packed() {
        items.extend(hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())));
    } else {
        // Like Redis, COUNT bounds the replied elements (fields and values
        // both count) and the buckets visited is at most ten times COUNT.
        let count = count as usize;
        let mut budget = count.saturating_mul(10);
        next = cursor;
        loop {
            next = hash
                .scan_step(next, |f, v| items.push((f.to_vec(), v.to_vec())))
                .unwrap_or(0);
            if next == 0 || budget == 0 || items.len() * 2 >= count {
                break;
            }
            budget -= 1;
        }
    }
    if let Some(p) = pattern {
        items.retain(|(f, _)| crate::util::glob::glob_match(p, f));
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len() * 2);
    for (f, v) in &items {
        ctx.out.bulk(f);
        ctx.out.bulk(v);
    }
    Ok(())
}

// ----- Redis 7.4 field expiration -----

/// Checks `FIELDS numfields field...` starting at `fields_at` (the index of
/// the `FIELDS` keyword) and returns the fields. `not_positive` is the error
/// for a numfields below 1 (its text differs between commands).
fn parse_fields(
    argv: &[Bytes],
    fields_at: usize,
    not_positive: CmdError,
    per_field: usize,
) -> Result<&[Bytes], CmdError> {
    if !argv.get(fields_at).is_some_and(|a| is(a, "FIELDS")) {
        return Err(FIELDS_MISSING);
    }
    let n = argv
        .get(fields_at + 1)
        .and_then(|a| crate::protocol::parse_i64(a))
        .filter(|&n| n >= 1)
        .ok_or(not_positive)?;
    let rest = &argv[(fields_at + 2).min(argv.len())..];
    if (n as u64).checked_mul(per_field as u64) != Some(rest.len() as u64) {
        return Err(NUMFIELDS_MISMATCH);
    }
    Ok(rest)
}

/// Converts an expire argument of `kind` to an absolute time in ms, with
/// the checks of Redis 7.4's HEXPIRE family.
fn field_expire_at(arg: &[u8], kind: ExpireKind, now_ms: i64, cmd: &str) -> Result<i64, CmdError> {
    let (unit_ms, base_ms) = (kind.unit_ms(), kind.base_ms(now_ms));
    let t = args::int(arg)?;
    if t < 0 {
        return Err(CmdError::fixed("ERR invalid expire time, must be >= 0"));
    }
    let bad = || CmdError::new(format!("ERR invalid expire time in '{cmd}' command"));
    if unit_ms == 1000 && t > MAX_FIELD_EXPIRE_MS / 1000 {
        return Err(bad());
    }
    let t = t * unit_ms;
    if t > MAX_FIELD_EXPIRE_MS - base_ms {
        return Err(bad());
    }
    Ok(t + base_ms)
}

fn hexpire_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, kind: ExpireKind) -> CmdResult {
    let key = &ctx.args[1];
    let cmd = String::from_utf8_lossy(&ctx.args[0]).to_ascii_lowercase();
    // Type check first, then the time, then options, as Redis orders them.
    let exists = live_hash_uncounted(db, key)?.is_some();
    let when = field_expire_at(&ctx.args[2], kind, db.now_ms, &cmd)?;
    // One condition word at most; anything else is where FIELDS goes.
    let cond = ExpireCondition::from_word(&ctx.args[3]);
    let fields_at = if cond.is_some() { 4 } else { 3 };
    let cond = cond.unwrap_or_default();
    let fields = parse_fields(ctx.args, fields_at, NUMFIELDS_NOT_ABOVE_ZERO, 1)?;
    ctx.out.array(fields.len());
    if !exists {
        for _ in fields {
            ctx.out.int(NO_FIELD);
        }
        return Ok(());
    }
    let now = db.now_ms;
    let mut changed = false;
    // What is logged: the absolute time for the fields it was set on, HDEL
    // for those a past time deleted.
    let (mut updated, mut deleted) = (Vec::new(), Vec::new());
    db.log_nothing();
    if let Some(hash) = db.get_hash_mut(key)? {
        hash.prepare_field_ttls();
        for field in fields {
            let code = if !hash.contains(field) {
                NO_FIELD
            } else {
                if !cond.allows(hash.field_expire_time(field), when) {
                    CONDITION_NOT_MET
                } else if when <= now {
                    hash.remove(field);
                    changed = true;
                    deleted.push(field.clone());
                    FIELD_DELETED
                } else {
                    hash.set_field_expire_time(field, when);
                    changed = true;
                    updated.push(field.clone());
                    FIELD_UPDATED
                }
            };
            ctx.out.int(code);
        }
    }
    if changed {
        // One event: `hdel` if a past time deleted any field.
        let event = if deleted.is_empty() {
            KeyEvent::HEXPIRE
        } else {
            KeyEvent::HDEL
        };
        finish_write(db, key, event);
        if !updated.is_empty() {
            log_field_expiry(db, key, when, &updated);
        }
        log_hdel(db, key, &deleted);
    }
    Ok(())
}

fn hexpire(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    hexpire_generic(ctx, db, ExpireKind::Seconds)
}

fn hpexpire(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    hexpire_generic(ctx, db, ExpireKind::Millis)
}

fn hexpireat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    hexpire_generic(ctx, db, ExpireKind::AtSeconds)
}

fn hpexpireat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    hexpire_generic(ctx, db, ExpireKind::AtMillis)
}

/// What the TTL queries report.
#[derive(Clone, Copy)]
enum TtlQuery {
    /// Remaining time (HTTL, HPTTL).
    Remaining,
    /// Absolute Unix time (HEXPIRETIME, HPEXPIRETIME).
    Absolute,
}

fn httl_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    unit_ms: i64,
    query: TtlQuery,
) -> CmdResult {
    let key = &ctx.args[1];
    let now = db.now_ms;
    let hash = live_hash(db, key)?;
    let fields = parse_fields(ctx.args, 2, NUMFIELDS_NOT_POSITIVE, 1)?;
    ctx.out.array(fields.len());
    for field in fields {
        let code = match hash.as_deref() {
            Some(h) if h.contains(field) => match h.field_expire_time(field) {
                None => NO_TTL,
                Some(when) => {
                    let t = match query {
                        TtlQuery::Remaining => when - now,
                        TtlQuery::Absolute => when,
                    };
                    // Seconds round up, as Redis's HTTL does.
                    if unit_ms == 1000 {
                        (t + 999) / 1000
                    } else {
                        t
                    }
                }
            },
            _ => NO_FIELD,
        };
        ctx.out.int(code);
    }
    Ok(())
}

fn httl(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    httl_generic(ctx, db, 1000, TtlQuery::Remaining)
}

fn hpttl(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    httl_generic(ctx, db, 1, TtlQuery::Remaining)
}

fn hexpiretime(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    httl_generic(ctx, db, 1000, TtlQuery::Absolute)
}

fn hpexpiretime(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    httl_generic(ctx, db, 1, TtlQuery::Absolute)
}

fn hpersist(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let exists = live_hash_uncounted(db, key)?.is_some();
    let fields = parse_fields(ctx.args, 2, NUMFIELDS_NOT_POSITIVE, 1)?;
    ctx.out.array(fields.len());
    let mut changed = false;
    match db.get_hash_mut(key)?.filter(|_| exists) {
        None => {
            for _ in fields {
                ctx.out.int(NO_FIELD);
            }
        }
        Some(hash) => {
            for field in fields {
                let code = if !hash.contains(field) {
                    NO_FIELD
                } else if hash.clear_field_ttl(field) {
                    changed = true;
                    FIELD_UPDATED
                } else {
                    NO_TTL
                };
                ctx.out.int(code);
            }
        }
    }
    if changed {
        db.modified(key, KeyEvent::HPERSIST);
    }
    Ok(())
}

// ----- Redis 8.0 commands -----

fn hgetdel(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let exists = live_hash_uncounted(db, key)?.is_some();
    let fields = parse_fields(ctx.args, 2, NUMFIELDS_NOT_POSITIVE, 1)?;
    ctx.out.array(fields.len());
    let mut removed = 0;
    match db.get_hash_mut(key)?.filter(|_| exists) {
        None => {
            for _ in fields {
                ctx.out.null();
            }
        }
        Some(hash) => {
            for field in fields {
                match hash.get(field) {
                    Some(v) => {
                        ctx.out.bulk(v);
                        hash.remove(field);
                        removed += 1;
                    }
                    None => ctx.out.null(),
                }
            }
        }
    }
    if removed > 0 {
        finish_write(db, key, KeyEvent::HDEL);
    }
    Ok(())
}

/// The expiry option of HGETEX and HSETEX.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldExpiryOpt {
    /// No option: HGETEX leaves TTLs alone, HSETEX clears them.
    Unset,
    /// An absolute time in ms.
    At(i64),
    /// PERSIST (HGETEX): remove TTLs.
    Persist,
    /// KEEPTTL (HSETEX): keep TTLs.
    KeepTtl,
}

impl FieldExpiryOpt {
    /// The option as parsed, its time checked and made absolute.
    fn resolve(option: Option<ExpiryOption<'_>>, now_ms: i64, cmd: &str) -> Result<Self, CmdError> {
        Ok(match option {
            None => FieldExpiryOpt::Unset,
            Some(ExpiryOption::Time(kind, time)) => {
                FieldExpiryOpt::At(field_expire_at(time, kind, now_ms, cmd)?)
            }
            Some(ExpiryOption::Persist) => FieldExpiryOpt::Persist,
            Some(ExpiryOption::KeepTtl) => FieldExpiryOpt::KeepTtl,
        })
    }
}

/// HGETEX's expiry options: a time or PERSIST, right after the key (only
/// one is read, so the conflict error is never given).
const HGETEX_EXPIRY: ExpiryRules = ExpiryRules {
    persist: true,
    keep_ttl: false,
    repeat: false,
    conflict: SYNTAX,
    missing_time: MISSING_EXPIRE_TIME,
};

/// HSETEX's: a time or KEEPTTL, one at most.
const HSETEX_EXPIRY: ExpiryRules = ExpiryRules {
    persist: false,
    keep_ttl: true,
    repeat: false,
    conflict: CmdError::fixed(
        "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
    ),
    missing_time: MISSING_EXPIRE_TIME,
};

/// HGETEX's and HSETEX's error for a time option without its time.
const MISSING_EXPIRE_TIME: CmdError = CmdError::fixed("ERR missing expire time");

fn hgetex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let now = db.now_ms;
    let exists = live_hash_uncounted(db, key)?.is_some();
    // At most one option, right after the key: anything else where FIELDS
    // should be is reported as FIELDS missing, as Redis does.
    let (mut option, mut i) = (None, 2);
    args::expiry_option(ctx.args, &mut i, &mut option, &HGETEX_EXPIRY)?;
    let expiry = FieldExpiryOpt::resolve(option, now, "hgetex")?;
    let fields = parse_fields(ctx.args, i, NUMFIELDS_NOT_POSITIVE, 1)?;
    ctx.out.array(fields.len());
    let mut changed = false;
    let mut touched = Vec::new();
    db.log_nothing();
    match db.get_hash_mut(key)?.filter(|_| exists) {
        None => {
            for _ in fields {
                ctx.out.null();
            }
        }
        Some(hash) => {
            if expiry != FieldExpiryOpt::Unset {
                hash.prepare_field_ttls();
            }
            for field in fields {
                let Some(v) = hash.get(field) else {
                    ctx.out.null();
                    continue;
                };
                ctx.out.bulk(v);
                match expiry {
                    FieldExpiryOpt::At(when) if when <= now => {
                        hash.remove(field);
                        changed = true;
                        touched.push(field.clone());
                    }
                    FieldExpiryOpt::At(when) => {
                        hash.set_field_expire_time(field, when);
                        changed = true;
                        touched.push(field.clone());
                    }
                    FieldExpiryOpt::Persist => {
                        if hash.clear_field_ttl(field) {
                            changed = true;
                            touched.push(field.clone());
                        }
                    }
                    FieldExpiryOpt::Unset | FieldExpiryOpt::KeepTtl => {}
                }
            }
        }
    }
    if changed {
        let event = match expiry {
            FieldExpiryOpt::At(when) if when <= now => KeyEvent::HDEL,
            FieldExpiryOpt::At(_) => KeyEvent::HEXPIRE,
            _ => KeyEvent::HPERSIST,
        };
        finish_write(db, key, event);
        match expiry {
            FieldExpiryOpt::At(when) if when <= now => log_hdel(db, key, &touched),
            FieldExpiryOpt::At(when) => log_field_expiry(db, key, when, &touched),
            _ => {
                let mut args = aof::command(&[b"HPERSIST", key]);
                push_fields(&mut args, &touched);
                db.log_effect(args);
            }
        }
    }
    Ok(())
}

/// HSETEX's arguments, parsed completely before the key is looked up (so
/// argument errors come before WRONGTYPE, as in Redis).
struct HsetexArgs<'a> {
    /// `None`: no condition; `Some(true)`: FNX; `Some(false)`: FXX.
    only_new: Option<bool>,
    /// The expiry option.
    expiry: FieldExpiryOpt,
    /// Field, value, field, value...
    pairs: &'a [Bytes],
}

/// Parses `HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT time|KEEPTTL] FIELDS n
/// field value...` with Redis's checks and error texts: the options in any
/// order, each kind at most once, and a field count that does not match
/// the arguments reported as a wrong number of arguments.
fn parse_hsetex(argv: &[Bytes], now_ms: i64) -> Result<HsetexArgs<'_>, CmdError> {
    const ONLY_ONE_COND: CmdError =
        CmdError::fixed("ERR Only one of FXX or FNX arguments can be specified");
    let mut only_new: Option<bool> = None;
    let mut option = None;
    let mut expiry = FieldExpiryOpt::Unset;
    let mut i = 2;
    while i < argv.len() {
        let word = &argv[i];
        if is(word, "FIELDS") {
            if i + 3 >= argv.len() {
                return Err(wrong_arity("hsetex"));
            }
            let n = crate::protocol::parse_i64(&argv[i + 1])
                .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
                .ok_or(CmdError::fixed("ERR invalid number of fields"))?;
            let pairs = &argv[i + 2..];
            if pairs.len() % 2 != 0 || n as usize != pairs.len() / 2 {
                return Err(wrong_arity("hsetex"));
            }
            return Ok(HsetexArgs {
                only_new,
                expiry,
                pairs,
            });
        }
        if is(word, "FNX") || is(word, "FXX") {
            if only_new.is_some() {
                return Err(ONLY_ONE_COND);
            }
            only_new = Some(is(word, "FNX"));
            i += 1;
        } else if args::expiry_option(argv, &mut i, &mut option, &HSETEX_EXPIRY)? {
            // The time is checked where it stands, before later options.
            expiry = FieldExpiryOpt::resolve(option, now_ms, "hsetex")?;
        } else {
            return Err(CmdError::new(format!(
                "ERR unknown argument: {}",
                String::from_utf8_lossy(word)
            )));
        }
    }
    // Unreachable within HSETEX's arity (at least four words after the
    // command name cannot all be valid options).
    Err(wrong_arity("hsetex"))
}

fn hsetex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let now = db.now_ms;
    let HsetexArgs {
        only_new,
        expiry,
        pairs,
    } = parse_hsetex(ctx.args, now)?;
    let exists = live_hash_uncounted(db, key)?.is_some();
    let condition_met = match only_new {
        None => true,
        Some(fnx) => {
            let hash = db.get_hash(key)?.filter(|_| exists);
            pairs.chunks(2).all(|p| {
                let present = hash.is_some_and(|h| h.contains(&p[0]));
                present != fnx
            })
        }
    };
    if !condition_met {
        ctx.out.int(0);
        return Ok(());
    }
    let limits = limits(ctx);
    let hash = db.hash_or_create(key)?;
    if matches!(expiry, FieldExpiryOpt::At(_)) {
        hash.prepare_field_ttls();
    }
    for p in pairs.chunks(2) {
        let (field, value) = (&p[0], &p[1]);
        match expiry {
            FieldExpiryOpt::KeepTtl => {
                hash.set_keep_ttl(field, value, limits);
            }
            FieldExpiryOpt::At(when) if when <= now => {
                // Already in the past: the field is set and expires at once.
                hash.remove(field);
            }
            FieldExpiryOpt::At(when) => {
                hash.set(field, value, limits);
                hash.set_field_expire_time(field, when);
            }
            FieldExpiryOpt::Unset | FieldExpiryOpt::Persist => {
                hash.set(field, value, limits);
            }
        }
    }
    // `hset`, then what the expiry option did to the fields.
    match expiry {
        FieldExpiryOpt::At(when) => {
            db.modified(key, KeyEvent::HSET);
            let event = if when <= now {
                KeyEvent::HDEL
            } else {
                KeyEvent::HEXPIRE
            };
            db.also(key, event);
            tidy(db, key);
        }
        _ => finish_write(db, key, KeyEvent::HSET),
    }
    // Logged without the condition (it held) and with an absolute time.
    let fields: Vec<Bytes> = pairs.chunks(2).map(|p| p[0].clone()).collect();
    match expiry {
        FieldExpiryOpt::At(when) if when <= now => log_hdel(db, key, &fields),
        _ => {
            let mut args = vec![Bytes::from_static(b"HSETEX"), key.clone()];
            match expiry {
                FieldExpiryOpt::KeepTtl => args.push(Bytes::from_static(b"KEEPTTL")),
                FieldExpiryOpt::At(when) => {
                    args.push(Bytes::from_static(b"PXAT"));
                    args.push(Bytes::from(aof::ms_arg(when)));
                }
                _ => {}
            }
            args.push(Bytes::from_static(b"FIELDS"));
            args.push(Bytes::from((pairs.len() / 2).to_string()));
            args.extend_from_slice(pairs);
            db.log_effect(args);
        }
    }
    ctx.out.int(1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursor_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Ok(0));
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"+7"), Ok(7));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_scan_cursor(b"18446744073709551616").is_err());
        assert!(parse_scan_cursor(b" 1").is_err());
        assert!(parse_scan_cursor(b"1x").is_err());
        assert!(parse_scan_cursor(b"-").is_err());
    }

    #[test]
    fn field_expire_time_bounds() {
        assert_eq!(
            field_expire_at(b"10", ExpireKind::Seconds, 5, "hexpire"),
            Ok(10_005)
        );
        assert!(field_expire_at(b"-1", ExpireKind::Millis, 0, "hpexpire").is_err());
        assert!(field_expire_at(b"x", ExpireKind::Millis, 0, "hpexpire").is_err());
        assert_eq!(
            field_expire_at(b"70368744177663", ExpireKind::AtMillis, 9, "hpexpireat"),
            Ok(MAX_FIELD_EXPIRE_MS)
        );
        assert_eq!(
            field_expire_at(b"70368744177", ExpireKind::AtSeconds, 9, "hexpireat"),
            Ok(70_368_744_177_000)
        );
        assert!(field_expire_at(b"70368744178", ExpireKind::AtSeconds, 9, "hexpireat").is_err());
        assert_eq!(
            field_expire_at(b"70368744177664", ExpireKind::AtMillis, 9, "hpexpireat"),
            Err(CmdError::fixed(
                "ERR invalid expire time in 'hpexpireat' command"
            ))
        );
    }
}

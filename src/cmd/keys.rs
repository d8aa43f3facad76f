//! Keyspace (generic) commands: DEL, EXISTS, TYPE, the EXPIRE family, TTL,
//! RENAME, COPY, MOVE, KEYS, SCAN, RANDOMKEY, OBJECT, SWAPDB, FLUSHDB,
//! FLUSHALL, DBSIZE.

use super::args::{self, is, ExpireCondition, ExpireKind, Opts};
use super::flags::*;
use super::spec::{bind, bind_with, container, CommandSpec, Ctx};
use crate::db::{free_in_background, lru_clock, DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, DB_INDEX, NO_SUCH_KEY, SYNTAX};
use crate::types::Value;
use crate::util::glob::glob_match;

/// `ERR source and destination objects are the same`
const SAME_OBJECT: CmdError = CmdError::fixed("ERR source and destination objects are the same");

/// OBJECT's subcommands.
const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    bind("object|encoding", object_encoding),
    bind("object|freq", object_freq),
    bind("object|idletime", object_idletime),
    bind("object|refcount", object_refcount),
    bind("object|help", object_help),
];

/// The generic (keyspace) family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("del", del),
    bind("unlink", unlink),
    bind("exists", exists),
    bind("touch", touch),
    bind("type", type_cmd),
    bind("expire", expire),
    bind("pexpire", pexpire),
    bind("expireat", expireat),
    bind("pexpireat", pexpireat),
    bind("ttl", ttl),
    bind("pttl", pttl),
    bind("expiretime", expiretime),
    bind("pexpiretime", pexpiretime),
    bind("persist", persist),
    bind("rename", rename),
    bind("renamenx", renamenx),
    bind("copy", copy),
    // The key's shard holds it in every database, so one lock covers MOVE.
    bind("move", move_cmd),
    bind_with("keys", keys, ALL_SHARDS),
    bind_with("scan", scan, ALL_SHARDS),
    bind_with("randomkey", randomkey, ALL_SHARDS),
    container("object", OBJECT_SUBCOMMANDS),
    bind_with("swapdb", swapdb, ALL_SHARDS),
    bind_with("flushdb", flushdb, ALL_SHARDS),
    bind_with("flushall", flushall, ALL_SHARDS),
    bind_with("dbsize", dbsize, ALL_SHARDS),
];

// ----- deletion and existence -----

fn del(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // `lazyfree-lazy-user-del yes` makes DEL free values as UNLINK does.
    let lazy = ctx
        .server
        .hot
        .lazy_user_del
        .load(std::sync::atomic::Ordering::Relaxed);
    delete_keys(ctx, db, lazy)
}

fn unlink(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    delete_keys(ctx, db, true)
}

/// Values with more elements than this are freed off the command path by
/// UNLINK (freeing a small value costs less than handing it over).
const LAZYFREE_THRESHOLD: usize = 64;

/// How many allocations freeing `value` takes, roughly.
fn free_effort(value: &Value) -> usize {
    match value {
        Value::Str(_) => 1,
        Value::List(l) => l.len(),
        Value::Hash(h) => h.len(),
        Value::ZSet(z) => z.len(),
        Value::Set(s) => s.len(),
    }
}

fn delete_keys(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, lazy: bool) -> CmdResult {
    let mut n = 0;
    for key in &ctx.args[1..] {
        if let Some(value) = db.remove(key) {
            db.modified(key, KeyEvent::DEL);
            n += 1;
            if lazy && free_effort(&value) > LAZYFREE_THRESHOLD {
                free_in_background(value);
            }
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // Like Redis, EXISTS does not count as an access to the key.
    let n = ctx.args[1..]
        .iter()
        .filter(|k| db.exists_counted(k))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn touch(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = ctx.args[1..]
        .iter()
        .filter(|k| {
            let found = db.touch(k);
            db.count_read(k, found)
        })
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let name = if db.exists_counted(key) {
        db.peek(key).map_or("none", |e| e.value.type_name())
    } else {
        "none"
    };
    ctx.out.simple(name);
    Ok(())
}

// ----- expiry -----

fn expire(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    expire_generic(ctx, db, ExpireKind::Seconds)
}

fn pexpire(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    expire_generic(ctx, db, ExpireKind::Millis)
}

fn expireat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    expire_generic(ctx, db, ExpireKind::AtSeconds)
}

fn pexpireat(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    expire_generic(ctx, db, ExpireKind::AtMillis)
}

fn expire_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, kind: ExpireKind) -> CmdResult {
    let condition = ExpireCondition::parse_all(&ctx.args[3..])?;
    let amount = args::int(&ctx.args[2])?;
    let invalid = || {
        CmdError::new(format!(
            "ERR invalid expire time in '{}' command",
            args::lossy(&ctx.args[0]).to_ascii_lowercase()
        ))
    };
    let millis = amount.checked_mul(kind.unit_ms()).ok_or_else(invalid)?;
    let base = kind.base_ms(db.now_ms);
    if millis > i64::MAX - base {
        return Err(invalid());
    }
    let when = millis + base;
    let key = &ctx.args[1];
    if !db.exists(key) {
        ctx.out.int(0);
        return Ok(());
    }
    if !condition.allows(db.expire_time(key), when) {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= db.now_ms {
        // A time already past deletes the key: reported as `del`.
        db.remove(key);
        db.modified(key, KeyEvent::DEL);
        db.log_effect(crate::aof::command(&[b"DEL", key]));
    } else {
        db.set_expire(key, when);
        // Redis replies before reporting a new expiry (after a `del`).
        db.reply_written();
        db.modified(key, KeyEvent::EXPIRE);
        let when = crate::aof::ms_arg(when);
        db.log_effect(crate::aof::command(&[b"PEXPIREAT", key, when.as_bytes()]));
    }
    ctx.out.int(1);
    Ok(())
}

/// The remaining time to live of `key` in ms: -2 if absent, -1 if it has no
/// expiry.
fn remaining_ms(db: &mut DbView<'_>, key: &[u8]) -> i64 {
    if !db.exists_counted(key) {
        return -2;
    }
    match db.expire_time(key) {
        None => -1,
        Some(when) => (when - db.now_ms).max(0),
    }
}

fn ttl(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let ms = remaining_ms(db, &ctx.args[1]);
    ctx.out.int(if ms < 0 {
        ms
    } else {
        ((i128::from(ms) + 500) / 1000) as i64
    });
    Ok(())
}

fn pttl(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let ms = remaining_ms(db, &ctx.args[1]);
    ctx.out.int(ms);
    Ok(())
}

/// The absolute expiry of `key` in ms: -2 if absent, -1 if none.
fn absolute_expiry(db: &mut DbView<'_>, key: &[u8]) -> Option<i64> {
    if !db.exists_counted(key) {
        return Some(-2);
    }
    db.expire_time(key)
}

fn expiretime(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let reply = match absolute_expiry(db, &ctx.args[1]) {
        Some(-2) => -2,
        None => -1,
        Some(ms) => ((i128::from(ms) + 500) / 1000) as i64,
    };
    ctx.out.int(reply);
    Ok(())
}

fn pexpiretime(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let reply = absolute_expiry(db, &ctx.args[1]).unwrap_or(-1);
    ctx.out.int(reply);
    Ok(())
}

fn persist(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let removed = db.exists(key) && db.persist(key);
    if removed {
        db.modified(key, KeyEvent::PERSIST);
    }
    ctx.out.int(i64::from(removed));
    Ok(())
}

// ----- renaming, copying, moving -----

fn rename(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    rename_generic(ctx, db, false)
}

fn renamenx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    rename_generic(ctx, db, true)
}

fn rename_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, nx: bool) -> CmdResult {
    let (src, dst) = (&ctx.args[1], &ctx.args[2]);
    if !db.exists(src) {
        return Err(NO_SUCH_KEY);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && db.exists(dst) {
        ctx.out.int(0);
        return Ok(());
    }
    let expire = db.expire_time(src);
    let Some(value) = db.remove(src) else {
        return Err(NO_SUCH_KEY);
    };
    if let Some(old) = db.remove(dst) {
        // The overwritten value may be large.
        if free_effort(&old) > LAZYFREE_THRESHOLD {
            free_in_background(old);
        }
    }
    // `new` for the destination, then `rename_from`, `rename_to`.
    put_with_expire(db, dst, value, expire);
    db.modified(src, KeyEvent::RENAME_FROM);
    db.modified(dst, KeyEvent::RENAME_TO);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// Stores `value` at `key` with an optional absolute expiry: the common end
/// of RENAME, COPY and MOVE. Hashes with field TTLs stay registered for
/// background reclamation under their new name.
fn put_with_expire(db: &mut DbView<'_>, key: &[u8], value: Value, expire: Option<i64>) {
    let field_ttls = matches!(&value, Value::Hash(h) if h.has_field_ttls());
    db.set(key, value);
    if let Some(when) = expire {
        db.set_expire(key, when);
    }
    if field_ttls {
        db.track_hash_field_ttls(key);
    }
}

/// Parses a database index argument of MOVE / COPY ... DB.
fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let idx = args::int(arg)?;
    if idx < i64::from(i32::MIN) || idx > i64::from(i32::MAX) {
        return Err(CmdError::fixed(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    if idx < 0 || idx as usize >= ctx.server.keyspace.num_dbs() {
        return Err(DB_INDEX);
    }
    Ok(idx as usize)
}

/// Runs `f` with the view switched to database `target`.
fn in_db<R>(db: &mut DbView<'_>, target: usize, f: impl FnOnce(&mut DbView<'_>) -> R) -> R {
    let saved = db.db;
    db.db = target;
    let r = f(db);
    db.db = saved;
    r
}

fn copy(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let src_db = db.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut opts = Opts::new(ctx.args, 3);
    while let Some(opt) = opts.next_word() {
        if is(opt, "REPLACE") {
            replace = true;
        } else if is(opt, "DB") && opts.has_more() {
            let arg = opts.value()?;
            dst_db = db_index(ctx, arg)?;
        } else {
            return Err(SYNTAX);
        }
    }
    let (src, dst) = (&ctx.args[1], &ctx.args[2]);
    if src_db == dst_db && src == dst {
        return Err(SAME_OBJECT);
    }
    let Some(value) = db.get_counted(src).cloned() else {
        ctx.out.int(0);
        return Ok(());
    };
    let expire = db.expire_time(src);
    let copied = in_db(db, dst_db, |db| {
        if db.exists(dst) {
            if !replace {
                return false;
            }
            db.remove(dst);
        }
        put_with_expire(db, dst, value, expire);
        db.modified(dst, KeyEvent::COPY_TO);
        true
    });
    ctx.out.int(i64::from(copied));
    Ok(())
}

fn move_cmd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let target = db_index(ctx, &ctx.args[2])?;
    if target == db.db {
        return Err(SAME_OBJECT);
    }
    let key = &ctx.args[1];
    if !db.exists(key) || in_db(db, target, |db| db.exists(key)) {
        ctx.out.int(0);
        return Ok(());
    }
    let expire = db.expire_time(key);
    let Some(value) = db.remove(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    // `new` in the target database, then `move_from`, `move_to`.
    in_db(db, target, |db| put_with_expire(db, key, value, expire));
    db.modified(key, KeyEvent::MOVE_FROM);
    in_db(db, target, |db| db.modified(key, KeyEvent::MOVE_TO));
    ctx.out.int(1);
    Ok(())
}

// ----- iteration -----

fn keys(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let pattern = &ctx.args[1][..];
    let match_all = pattern == b"*";
    let mut found: Vec<Vec<u8>> = Vec::new();
    let current = db.db;
    db.for_each_key(current, |k, _| {
        if match_all || glob_match(pattern, k) {
            found.push(k.to_vec());
        }
    });
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn scan(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let cursor = args::scan_cursor(&ctx.args[1])?;
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut opts = Opts::new(ctx.args, 2);
    while let Some(opt) = opts.next_word() {
        if !opts.has_more() {
            return Err(SYNTAX);
        }
        if is(opt, "COUNT") {
            let n = args::int(opts.value()?)?;
            if n < 1 {
                return Err(SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(opt, "MATCH") {
            let p = opts.value()?;
            pattern = if p == b"*" { None } else { Some(p) };
        } else if is(opt, "TYPE") {
            type_name = Some(opts.value()?);
        } else {
            return Err(SYNTAX);
        }
    }
    let current = db.db;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = db.scan(current, cursor, count, |k, v| {
        if pattern.is_some_and(|p| !glob_match(p, k)) {
            return;
        }
        if type_name.is_some_and(|t| !t.eq_ignore_ascii_case(v.type_name().as_bytes())) {
            return;
        }
        found.push(k.to_vec());
    });
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let current = db.db;
    match db.random_key(current) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

// ----- OBJECT -----

/// The configured `maxmemory-policy` is an LFU one.
fn lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.server
        .config
        .read()
        .get("maxmemory-policy")
        .is_some_and(|p| p.ends_with("-lfu"))
}

/// The configured `maxmemory-policy` evicts by LRU or LFU.
fn lru_or_lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.server
        .config
        .read()
        .get("maxmemory-policy")
        .is_some_and(|p| p.ends_with("-lfu") || p.ends_with("-lru"))
}

/// The key an OBJECT subcommand inspects: a read lookup counted in INFO's
/// hits and misses but without a `keymiss` event, as Redis looks it up.
fn object_target<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Option<crate::db::Entry<'v>> {
    if db.peek(key).is_some() {
        db.hits += 1;
    } else {
        db.misses += 1;
    }
    db.peek(key)
}

fn object_encoding(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match object_target(db, &ctx.args[2]) {
        Some(e) => ctx.out.bulk(e.value.encoding_name().as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // Redis shares small integers unless a maxmemory limit is set with a
    // policy that needs each key's own access stamp.
    let shared_ints = ctx.server.config.read().int("maxmemory") == 0 || !lru_or_lfu_policy(ctx);
    match object_target(db, &ctx.args[2]) {
        Some(e) => {
            // Redis shares the objects of small integers unless the eviction
            // policy needs a per-key access time; shared objects report
            // INT_MAX references.
            let shared = shared_ints
                && matches!(e.value, Value::Str(s) if s.int_value().is_some_and(|n| (0..10_000).contains(&n)));
            ctx.out.int(if shared { i64::from(i32::MAX) } else { 1 });
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_idletime(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let Some(lru) = object_target(db, &ctx.args[2]).map(|e| e.lru) else {
        ctx.out.null();
        return Ok(());
    };
    if lfu_policy(ctx) {
        return Err(CmdError::fixed(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let idle = lru_clock(db.now_ms).saturating_sub(lru);
    ctx.out.int(i64::from(idle));
    Ok(())
}

fn object_freq(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let Some(stamp) = object_target(db, &ctx.args[2]).map(|e| e.lru) else {
        ctx.out.null();
        return Ok(());
    };
    if !lfu_policy(ctx) {
        return Err(CmdError::fixed(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let freq = db.access.lfu_counter(stamp, db.now_ms);
    ctx.out.int(i64::from(freq));
    Ok(())
}

fn object_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(LINES.len());
    for line in LINES {
        ctx.out.simple(line);
    }
    Ok(())
}

// ----- whole databases -----

fn swapdb(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let parse = |arg: &[u8], err: &'static str| -> Result<i64, CmdError> {
        let n = args::int_or(arg, CmdError::fixed(err))?;
        if n < i64::from(i32::MIN) || n > i64::from(i32::MAX) {
            return Err(CmdError::fixed(err));
        }
        Ok(n)
    };
    let a = parse(&ctx.args[1], "ERR invalid first DB index")?;
    let b = parse(&ctx.args[2], "ERR invalid second DB index")?;
    let n = ctx.server.keyspace.num_dbs() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(DB_INDEX);
    }
    if a != b {
        db.swap_db(a as usize, b as usize);
    }
    ctx.out.ok();
    Ok(())
}

/// FLUSHDB / FLUSHALL's optional ASYNC|SYNC; true for asynchronous freeing.
fn flush_mode(ctx: &Ctx<'_>) -> Result<bool, CmdError> {
    match ctx.args.len() {
        1 => Ok(ctx.server.config.read().flag("lazyfree-lazy-user-flush")),
        2 if is(&ctx.args[1], "SYNC") => Ok(false),
        2 if is(&ctx.args[1], "ASYNC") => Ok(true),
        _ => Err(SYNTAX),
    }
}

/// Empties database `index`, freeing the old data on the background thread
/// when `lazy`.
fn flush_one(db: &mut DbView<'_>, index: usize, lazy: bool) {
    let (_, old) = db.flush_db(index);
    if lazy {
        free_in_background(old);
    }
}

fn flushdb(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    let current = db.db;
    flush_one(db, current, lazy);
    // Tracked keys are not per database: every one is invalid.
    db.flushed();
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    for i in 0..ctx.server.keyspace.num_dbs() {
        flush_one(db, i, lazy);
    }
    db.flushed();
    ctx.out.ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let current = db.db;
    let n = db.db_size(current);
    ctx.out.int(n as i64);
    Ok(())
}

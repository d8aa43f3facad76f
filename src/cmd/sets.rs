//! Set commands: Redis 7.0's family (SADD … SSCAN), with Redis 7.0's
//! replies and errors, and Redis 7.2's encodings (see `types::set`).
//!
//! Random commands follow Redis's strategies: SPOP with a count pops one
//! random member at a time while the set keeps at least a fifth of what is
//! asked for, and otherwise picks the members to keep; SRANDMEMBER with a
//! positive count copies the set and drops random members when the count is
//! more than a third of it, and collects distinct random picks otherwise.
//! SPOP is logged as its effect: SREM of the popped members (DEL when it
//! empties the set).

use super::args::{self, is};
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, NOT_POSITIVE, SYNTAX};
use crate::reply::Reply;
use crate::types::set::{Member, SetLimits};
use crate::types::{SetValue, Value};
use bytes::Bytes;

/// SINTERCARD's key finder (Redis has one: numkeys is read as `atoi`).
fn sintercard_keys(args: &[Bytes], keys: &mut Vec<super::keyspec::KeyRef>) {
    super::keyspec::count_then_keys(args, None, 1, 2, 1, keys);
}

/// The set family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("sadd", sadd),
    bind("srem", srem),
    bind("smembers", smembers),
    bind("sismember", sismember),
    bind("smismember", smismember),
    bind("scard", scard),
    bind("smove", smove),
    bind("spop", spop),
    bind("srandmember", srandmember),
    bind("sinter", sinter),
    bind("sintercard", sintercard).with_getkeys(sintercard_keys),
    bind("sinterstore", sinterstore),
    bind("sunion", sunion),
    bind("sunionstore", sunionstore),
    bind("sdiff", sdiff),
    bind("sdiffstore", sdiffstore),
    bind("sscan", sscan),
];

/// Members SPOP logs per SREM effect.
const SREM_BATCH: usize = 1024;

fn limits(ctx: &Ctx<'_>) -> SetLimits {
    ctx.server.hot.set_limits()
}

/// Replies with one member as a bulk string.
fn bulk_member(out: &mut Reply, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_int(n),
        Member::Str(s) => out.bulk(s),
    }
}

/// Replies with a whole set as a RESP3 set (an array in RESP2).
fn reply_members(out: &mut Reply, set: &SetValue) {
    out.set(set.len());
    for m in set.iter() {
        bulk_member(out, m);
    }
}

// ----- single-key commands -----

fn sadd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let limits = limits(ctx);
    let key = &ctx.args[1];
    let members = &ctx.args[2..];
    // One lookup: an existing set is never empty, so an empty one was
    // just created and takes the encoding Redis picks for these members.
    let set = db.set_or_create(key)?;
    if set.is_empty() {
        *set = SetValue::create(&members[0], members.len(), limits);
    } else {
        set.maybe_convert(members.len(), limits);
    }
    let added = members.iter().filter(|m| set.add(m, limits)).count();
    if added > 0 {
        db.modified(key, KeyEvent::SADD);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let Some(set) = db.get_set_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    for m in &ctx.args[2..] {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        db.modified(key, KeyEvent::SREM);
        db.remove_if_empty(key);
    }
    ctx.out.int(removed);
    Ok(())
}

fn smembers(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db.get_set(&ctx.args[1])? {
        Some(set) => reply_members(ctx.out, set),
        None => ctx.out.set(0),
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let found = db
        .get_set(&ctx.args[1])?
        .is_some_and(|s| s.contains(&ctx.args[2]));
    ctx.out.int(i64::from(found));
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let set = db.get_set(&ctx.args[1])?;
    ctx.out.array(ctx.args.len() - 2);
    for m in &ctx.args[2..] {
        ctx.out.int(i64::from(set.is_some_and(|s| s.contains(m))));
    }
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = db.get_set(&ctx.args[1])?.map_or(0, SetValue::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn smove(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let limits = limits(ctx);
    let (src, dst, member) = (&ctx.args[1], &ctx.args[2], &ctx.args[3]);
    if db.get_set_uncounted(src)?.is_none() {
        // A missing source answers 0 before the destination's type is seen.
        ctx.out.int(0);
        return Ok(());
    }
    let dst_exists = db.get_set_uncounted(dst)?.is_some();
    if src == dst {
        let found = db
            .get_set_uncounted(src)?
            .is_some_and(|s| s.contains(member));
        ctx.out.int(i64::from(found));
        return Ok(());
    }
    let removed = db.get_set_mut(src)?.is_some_and(|s| s.remove(member));
    if !removed {
        ctx.out.int(0);
        return Ok(());
    }
    db.modified(src, KeyEvent::SREM);
    db.remove_if_empty(src);
    if !dst_exists {
        db.set(dst, Value::Set(SetValue::create(member, 1, limits)));
    }
    if db.get_set_mut(dst)?.is_some_and(|s| s.add(member, limits)) {
        db.modified(dst, KeyEvent::SADD);
    }
    ctx.out.int(1);
    Ok(())
}

/// Logs SREM effects for `members` popped from `key`, in batches.
fn log_srem(db: &mut DbView<'_>, key: &Bytes, members: &[Vec<u8>]) {
    if !db.logging {
        // Nothing to build: the command still logs its own effects.
        db.log_nothing();
        return;
    }
    for batch in members.chunks(SREM_BATCH) {
        let mut effect = Vec::with_capacity(batch.len() + 2);
        effect.push(Bytes::from_static(b"SREM"));
        effect.push(key.clone());
        effect.extend(batch.iter().map(|m| Bytes::copy_from_slice(m)));
        db.log_effect(effect);
    }
}

fn spop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => spop_one(ctx, db),
        3 => spop_count(ctx, db),
        _ => Err(SYNTAX),
    }
}

fn spop_one(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let Some(set) = db.get_set_mut(key)? else {
        ctx.out.null();
        return Ok(());
    };
    let Some(member) = set.random_member(crate::util::rand_u64).map(|m| m.to_vec()) else {
        ctx.out.null();
        return Ok(());
    };
    set.remove(&member);
    let emptied = set.is_empty();
    db.modified(key, KeyEvent::SPOP);
    log_srem(db, key, std::slice::from_ref(&member));
    ctx.out.bulk(&member);
    db.reply_written();
    if emptied {
        db.remove_emptied(key);
    }
    Ok(())
}

/// How much larger than what is left the popped part may be before SPOP
/// picks the members to keep instead of those to pop (Redis's factor).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_count(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // Any bad count, a non-number included, is "out of range" (Redis's
    // positive-number parser replies with its own text for both).
    let count = match args::int(&ctx.args[2]) {
        Ok(n) if n >= 0 => n as usize,
        _ => return Err(NOT_POSITIVE),
    };
    let limits = limits(ctx);
    let key = &ctx.args[1];
    let Some(set) = db.get_set_mut(key)? else {
        ctx.out.set(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let size = set.len();
    if count >= size {
        // The whole set: reply with it, delete it, log a DEL.
        reply_members(ctx.out, set);
        db.modified(key, KeyEvent::SPOP);
        db.reply_written();
        db.remove_emptied(key);
        db.log_effect(crate::aof::command(&[b"DEL", key]));
        return Ok(());
    }
    let remaining = size - count;
    let mut popped = Vec::with_capacity(count);
    ctx.out.set(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        for _ in 0..count {
            let Some(m) = set.random_member(crate::util::rand_u64).map(|m| m.to_vec()) else {
                break;
            };
            set.remove(&m);
            ctx.out.bulk(&m);
            popped.push(m);
        }
    } else {
        // Move the members to keep into a new set; pop what is left.
        let mut kept: Option<SetValue> = None;
        for _ in 0..remaining {
            let Some(m) = set.random_member(crate::util::rand_u64).map(|m| m.to_vec()) else {
                break;
            };
            set.remove(&m);
            kept.get_or_insert_with(|| SetValue::create(&m, remaining, limits))
                .add(&m, limits);
        }
        for m in set.iter() {
            bulk_member(ctx.out, m);
            popped.push(m.to_vec());
        }
        *set = kept.unwrap_or_default();
    }
    db.modified(key, KeyEvent::SPOP);
    log_srem(db, key, &popped);
    Ok(())
}

fn srandmember(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => {
            let set = db.get_set(&ctx.args[1])?;
            match set.and_then(|s| s.random_member(crate::util::rand_u64)) {
                Some(m) => bulk_member(ctx.out, m),
                None => ctx.out.null(),
            }
            Ok(())
        }
        3 => srandmember_count(ctx, db),
        _ => Err(SYNTAX),
    }
}

/// How much larger than the count a set must be for SRANDMEMBER to pick
/// random members rather than drop random ones from a copy (Redis's).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

fn srandmember_count(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = args::int(&ctx.args[2])?;
    if n == i64::MIN {
        return Err(crate::error::out_of_range_between(-i64::MAX, i64::MAX));
    }
    let Some(set) = db.get_set(&ctx.args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let count = n.unsigned_abs() as usize;
    let size = set.len();
    if count == 0 || size == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let mut rand = crate::util::rand_u64;
    if n < 0 || count == 1 {
        // Repeats allowed: independent picks. The client picks the count,
        // so the reply is bounded as a client's output buffer is: past the
        // hard limit the client is disconnected.
        let start = ctx.out.mark();
        ctx.out.array(count);
        for _ in 0..count {
            if let Some(m) = set.random_member(&mut rand) {
                bulk_member(ctx.out, m);
            }
            if ctx.out.buf.len() - start > crate::reply::OUTPUT_HARD_LIMIT {
                ctx.out.buf.truncate(start);
                ctx.client.close_after_reply = true;
                return Err(CmdError::fixed(
                    "ERR reply exceeds the client output buffer limit; closing the connection",
                ));
            }
        }
        return Ok(());
    }
    if count >= size {
        ctx.out.array(size);
        for m in set.iter() {
            bulk_member(ctx.out, m);
        }
        return Ok(());
    }
    let mut picked: Vec<Member<'_>> = if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // Copy the set, drop random members down to the count.
        let mut all: Vec<Member<'_>> = set.iter().collect();
        while all.len() > count {
            let i = (rand() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        all
    } else {
        // Collect distinct random picks.
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some(m) = set.random_member(&mut rand) else {
                break;
            };
            if seen.insert(m) {
                out.push(m);
            }
        }
        out
    };
    // The order of the reply is random too, as Redis's (a hash table's).
    for i in (1..picked.len()).rev() {
        let j = (rand() % (i as u64 + 1)) as usize;
        picked.swap(i, j);
    }
    ctx.out.array(picked.len());
    for m in picked {
        bulk_member(ctx.out, m);
    }
    Ok(())
}

// ----- multi-key commands -----

/// The sets at `keys`: `None` for a missing key; `WRONGTYPE` if any key
/// holds another type (every key is checked before anything is computed,
/// as Redis does).
fn check_sets(db: &mut DbView<'_>, keys: &[Bytes]) -> Result<Vec<Option<usize>>, CmdError> {
    keys.iter()
        .map(|k| db.get_set(k).map(|s| s.map(SetValue::len)))
        .collect()
}

/// A copy of a set's members in one buffer (one allocation rather than one
/// per member), filtered in place by the multi-key commands.
#[derive(Default)]
struct MemberList {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl MemberList {
    fn of(set: Option<&SetValue>) -> MemberList {
        let mut list = MemberList::default();
        for m in set.into_iter().flat_map(SetValue::iter) {
            let start = list.bytes.len();
            match m {
                Member::Int(n) => crate::reply::push_i64(&mut list.bytes, n),
                Member::Str(b) => list.bytes.extend_from_slice(b),
            }
            list.spans.push((start, list.bytes.len()));
        }
        list
    }

    fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let bytes = &self.bytes;
        self.spans.retain(|&(a, b)| keep(&bytes[a..b]));
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|&(a, b)| &self.bytes[a..b])
    }
}

/// The intersection of the sets at `keys` (all present), in the iteration
/// order of the smallest, stopping at `limit` members (0: no limit).
fn intersect(
    db: &mut DbView<'_>,
    keys: &[Bytes],
    sizes: &[Option<usize>],
    limit: usize,
) -> Result<MemberList, CmdError> {
    // Smallest first; equal sizes keep their order (Redis's qsort is a
    // merge sort here, which is stable).
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes[i].unwrap_or(0));
    let first = &keys[order[0]];
    let mut candidates = MemberList::of(db.get_set_uncounted(first)?);
    for &i in &order[1..] {
        if keys[i] == *first || candidates.is_empty() {
            continue;
        }
        if let Some(other) = db.get_set_uncounted(&keys[i])? {
            candidates.retain(|m| other.contains(m));
        }
    }
    if limit > 0 {
        candidates.spans.truncate(limit);
    }
    Ok(candidates)
}

/// Stores `result` at `dst` (or deletes `dst` when empty), replying with its
/// size and reporting `event`, as the STORE commands do.
fn store_result(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    dst: &[u8],
    result: SetValue,
    event: KeyEvent,
) {
    let n = result.len();
    // Redis replies before reporting the change (after `new`).
    if n > 0 {
        db.set(dst, Value::Set(result));
        db.reply_written();
        db.modified(dst, event);
    } else if db.remove(dst).is_some() {
        db.reply_written();
        db.modified(dst, KeyEvent::DEL);
    }
    ctx.out.int(n as i64);
}

/// Builds a set from `members` as Redis builds a result set: starting from
/// an empty intset, adding one member at a time.
fn build(members: &MemberList, limits: SetLimits) -> SetValue {
    let mut set = SetValue::new();
    for m in members.iter() {
        set.add(m, limits);
    }
    set
}

fn sinter_generic(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    first_key: usize,
    dst: Option<&Bytes>,
) -> CmdResult {
    let keys = &ctx.args[first_key..];
    let sizes = check_sets(db, keys)?;
    if sizes.iter().any(Option::is_none) {
        match dst {
            Some(dst) => store_result(ctx, db, dst, SetValue::new(), KeyEvent::SINTERSTORE),
            None => ctx.out.set(0),
        }
        return Ok(());
    }
    let result = intersect(db, keys, &sizes, 0)?;
    match dst {
        Some(dst) => {
            let set = build(&result, limits(ctx));
            store_result(ctx, db, dst, set, KeyEvent::SINTERSTORE);
        }
        None => {
            ctx.out.set(result.len());
            for m in result.iter() {
                ctx.out.bulk(m);
            }
        }
    }
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    sinter_generic(ctx, db, 1, None)
}

fn sinterstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    sinter_generic(ctx, db, 2, Some(&dst))
}

fn sintercard(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // A bad number gets the same text as one out of range, as in Redis.
    let numkeys = match args::int(&ctx.args[1]) {
        Ok(n) if n >= 1 => n as usize,
        _ => return Err(CmdError::fixed("ERR numkeys should be greater than 0")),
    };
    if numkeys > ctx.args.len() - 2 {
        return Err(CmdError::fixed(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < ctx.args.len() {
        if is(&ctx.args[i], "LIMIT") && i + 1 < ctx.args.len() {
            limit = match args::int(&ctx.args[i + 1]) {
                Ok(n) if n >= 0 => n as usize,
                _ => return Err(CmdError::fixed("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    let keys = &ctx.args[2..2 + numkeys];
    let sizes = check_sets(db, keys)?;
    if sizes.iter().any(Option::is_none) {
        ctx.out.int(0);
        return Ok(());
    }
    let n = intersect(db, keys, &sizes, limit)?.len();
    ctx.out.int(n as i64);
    Ok(())
}

/// SUNION / SDIFF and their STORE forms.
fn sunion_diff(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    first_key: usize,
    dst: Option<&Bytes>,
    diff: bool,
) -> CmdResult {
    let limits = limits(ctx);
    let keys = &ctx.args[first_key..];
    check_sets(db, keys)?;
    let mut result = SetValue::new();
    if diff {
        let same = keys[1..].contains(&keys[0]);
        if !same {
            let mut candidates = MemberList::of(db.get_set_uncounted(&keys[0])?);
            for k in &keys[1..] {
                if candidates.is_empty() {
                    break;
                }
                if let Some(other) = db.get_set_uncounted(k)? {
                    candidates.retain(|m| !other.contains(m));
                }
            }
            result = build(&candidates, limits);
        }
    } else {
        for k in keys {
            let Some(set) = db.get_set_uncounted(k)? else {
                continue;
            };
            for m in set.iter() {
                result.add(&m.bytes(), limits);
            }
        }
    }
    match dst {
        Some(dst) => {
            let event = if diff {
                KeyEvent::SDIFFSTORE
            } else {
                KeyEvent::SUNIONSTORE
            };
            store_result(ctx, db, dst, result, event);
        }
        None => reply_members(ctx.out, &result),
    }
    Ok(())
}

fn sunion(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    sunion_diff(ctx, db, 1, None, false)
}

fn sunionstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    sunion_diff(ctx, db, 2, Some(&dst), false)
}

fn sdiff(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    sunion_diff(ctx, db, 1, None, true)
}

fn sdiffstore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let dst = ctx.args[1].clone();
    sunion_diff(ctx, db, 2, Some(&dst), true)
}

fn sscan(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let cursor = super::hashes::parse_scan_cursor(&ctx.args[2])?;
    let Some(set) = db.get_set(&ctx.args[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (count, pattern) = super::hashes::scan_options(&ctx.args[3..])?;
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut next = 0;
    if set.is_table() {
        // As Redis: COUNT bounds the members gathered, and at most ten
        // times COUNT buckets are visited.
        let count = count as usize;
        let mut budget = count.saturating_mul(10);
        next = cursor;
        loop {
            next = set.scan_step(next, |m| items.push(m.to_vec())).unwrap_or(0);
            if next == 0 || budget == 0 || items.len() >= count {
                break;
            }
            budget -= 1;
        }
    } else {
        items.extend(set.iter().map(|m| m.to_vec()));
    }
    if let Some(p) = pattern {
        items.retain(|m| crate::util::glob::glob_match(p, m));
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len());
    for m in &items {
        ctx.out.bulk(m);
    }
    Ok(())
}

//! List commands, the blocking ones (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
//! BLMPOP) included: when there is nothing to pop they register a waiter
//! ([`Ctx::block`]) whose pop ([`BlockedOp`]) a later writer runs.

use super::args::{self, is};
use super::keyspec::KeyRef;
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{BlockedOp, DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, SYNTAX, WRONGTYPE};
use crate::reply::Reply;
use crate::types::list::ListLimits;
use crate::types::list::{End, ListValue};
use crate::types::Value;
use bytes::Bytes;

/// LMPOP's key finder (for a count its key spec cannot parse).
fn lmpop_keys(args: &[bytes::Bytes], keys: &mut Vec<KeyRef>) {
    super::keyspec::count_then_keys(args, None, 1, 2, 1, keys);
}

/// BLMPOP's key finder: the count after the timeout.
fn blmpop_keys(args: &[bytes::Bytes], keys: &mut Vec<KeyRef>) {
    super::keyspec::count_then_keys(args, None, 2, 3, 1, keys);
}

/// The list family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("lpush", lpush),
    bind("rpush", rpush),
    bind("lpushx", lpushx),
    bind("rpushx", rpushx),
    bind("lpop", lpop),
    bind("rpop", rpop),
    bind("llen", llen),
    bind("lrange", lrange),
    bind("lindex", lindex),
    bind("lset", lset),
    bind("linsert", linsert),
    bind("lrem", lrem),
    bind("ltrim", ltrim),
    bind("lpos", lpos),
    bind("lmove", lmove),
    bind("rpoplpush", rpoplpush),
    bind("lmpop", lmpop).with_getkeys(lmpop_keys),
    bind("blpop", blpop),
    bind("brpop", brpop),
    bind("brpoplpush", brpoplpush),
    bind("blmove", blmove),
    bind("blmpop", blmpop).with_getkeys(blmpop_keys),
];

/// The list at `key` for a read command (counts a keyspace hit or miss).
fn read_list<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<&'v ListValue>, CmdError> {
    match db.get_counted(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(&**l)),
        Some(_) => Err(WRONGTYPE),
    }
}

/// Parses a count that must be in `0..=i64::MAX`; `msg` is the error for
/// anything else (Redis uses one text for both non-numbers and negatives).
fn positive(arg: &[u8], msg: &'static str) -> Result<usize, CmdError> {
    match crate::protocol::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::fixed(msg)),
    }
}

/// `LEFT` or `RIGHT`.
fn end_arg(arg: &[u8]) -> Result<End, CmdError> {
    if is(arg, "LEFT") {
        Ok(End::Head)
    } else if is(arg, "RIGHT") {
        Ok(End::Tail)
    } else {
        Err(SYNTAX)
    }
}

/// Reports a change that may have emptied the list at `key` (`event`,
/// then `del` if the key went with its last element).
fn finish_write(db: &mut DbView<'_>, key: &[u8], event: KeyEvent) {
    db.modified(key, event);
    db.remove_if_empty(key);
}

/// The event of a push at `end`.
fn push_event(end: End) -> KeyEvent {
    match end {
        End::Head => KeyEvent::LPUSH,
        End::Tail => KeyEvent::RPUSH,
    }
}

/// The event of a pop at `end`.
fn pop_event(end: End) -> KeyEvent {
    match end {
        End::Head => KeyEvent::LPOP,
        End::Tail => KeyEvent::RPOP,
    }
}

// ----- push -----

fn push(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, end: End, only_existing: bool) -> CmdResult {
    let key = &ctx.args[1];
    let limits = ctx.server.hot.list_limits();
    let list = if only_existing {
        match db.get_list_mut(key)? {
            Some(list) => list,
            None => {
                ctx.out.int(0);
                return Ok(());
            }
        }
    } else {
        db.list_or_create(key)?
    };
    for item in &ctx.args[2..] {
        list.push(end, item, limits);
    }
    let len = list.len();
    ctx.out.int(len as i64);
    db.reply_written();
    db.modified(key, push_event(end));
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, End::Head, false)
}

fn rpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, End::Head, true)
}

fn rpushx(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, End::Tail, true)
}

// ----- pop -----

/// Pops up to `count` elements from `end` and replies with them as an array.
fn pop_range_reply(out: &mut Reply, list: &mut ListValue, end: End, count: usize) {
    let n = count.min(list.len());
    out.array(n);
    for _ in 0..n {
        if let Some(item) = list.pop(end) {
            out.bulk(&item);
        }
    }
}

fn pop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, end: End) -> CmdResult {
    if ctx.args.len() > 3 {
        return Err(crate::error::wrong_arity(if end == End::Head {
            "lpop"
        } else {
            "rpop"
        }));
    }
    let count = match ctx.args.get(2) {
        Some(arg) => Some(positive(
            arg,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    let key = &ctx.args[1];
    let Some(list) = db.get_list_mut(key)? else {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    match count {
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        Some(n) => pop_range_reply(ctx.out, list, end, n),
        None => {
            if !list.pop_with(end, |item| ctx.out.bulk(item)) {
                ctx.out.null();
            }
        }
    }
    let emptied = list.is_empty();
    db.reply_written();
    db.modified(key, pop_event(end));
    if emptied {
        db.remove_emptied(key);
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    pop(ctx, db, End::Head)
}

fn rpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    pop(ctx, db, End::Tail)
}

// ----- reads -----

fn llen(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let len = read_list(db, &ctx.args[1])?.map_or(0, ListValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let start = args::int(&ctx.args[2])?;
    let end = args::int(&ctx.args[3])?;
    let Some(list) = read_list(db, &ctx.args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    match args::clamp_ranks(start, end, list.len()) {
        None => ctx.out.array(0),
        Some((from, to)) => {
            ctx.out.array(to - from + 1);
            for item in list.range(from, to) {
                ctx.out.bulk(item);
            }
        }
    }
    Ok(())
}

fn lindex(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // Redis looks the key up before parsing the index.
    let Some(list) = read_list(db, &ctx.args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let index = args::int(&ctx.args[2])?;
    match list.resolve(index).and_then(|i| list.get(i)) {
        Some(item) => ctx.out.bulk(item),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lpos(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < ctx.args.len() {
        let opt = &ctx.args[i];
        let value = ctx.args.get(i + 1);
        match value {
            Some(v) if is(opt, "RANK") => {
                rank = args::int(v)?;
                if rank == 0 {
                    return Err(CmdError::fixed(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    ));
                }
            }
            Some(v) if is(opt, "COUNT") => {
                count = Some(positive(v, "ERR COUNT can't be negative")?)
            }
            Some(v) if is(opt, "MAXLEN") => maxlen = positive(v, "ERR MAXLEN can't be negative")?,
            _ => return Err(SYNTAX),
        }
        i += 2;
    }
    let element = &ctx.args[2];
    let Some(list) = read_list(db, &ctx.args[1])? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let from_tail = rank < 0;
    // Redis negates the rank in a C long: i64::MIN stays negative, so every
    // match qualifies and COUNT never stops the scan.
    let unbounded = rank == i64::MIN;
    let rank = if unbounded {
        1
    } else {
        rank.unsigned_abs() as usize
    };
    let count = if unbounded { count.map(|_| 0) } else { count };
    let scan_limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut found: Vec<usize> = Vec::new();
    let mut matches = 0usize;
    let positions: Box<dyn Iterator<Item = (usize, &[u8])>> = if from_tail {
        Box::new(list.iter().rev().enumerate().map(|(i, e)| (len - 1 - i, e)))
    } else {
        Box::new(list.iter().enumerate())
    };
    for (index, item) in positions.take(scan_limit) {
        if item == &element[..] {
            matches += 1;
            if matches >= rank {
                found.push(index);
                match count {
                    None => break,
                    Some(c) if c != 0 && found.len() >= c => break,
                    _ => {}
                }
            }
        }
    }
    match count {
        Some(_) => {
            ctx.out.array(found.len());
            for index in found {
                ctx.out.int(index as i64);
            }
        }
        None => match found.first() {
            Some(&index) => ctx.out.int(index as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

// ----- edits -----

fn lset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let limits = ctx.server.hot.list_limits();
    let Some(list) = db.get_list_mut(key)? else {
        return Err(crate::error::NO_SUCH_KEY);
    };
    let index = args::int(&ctx.args[2])?;
    let Some(index) = list.resolve(index) else {
        return Err(crate::error::OUT_OF_RANGE);
    };
    list.set(index, &ctx.args[3], limits);
    ctx.out.ok();
    db.reply_written();
    db.modified(key, KeyEvent::LSET);
    Ok(())
}

fn linsert(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let after = if is(&ctx.args[2], "AFTER") {
        true
    } else if is(&ctx.args[2], "BEFORE") {
        false
    } else {
        return Err(SYNTAX);
    };
    let key = &ctx.args[1];
    let limits = ctx.server.hot.list_limits();
    let Some(list) = db.get_list_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if !list.insert(&ctx.args[3], &ctx.args[4], after, limits) {
        ctx.out.int(-1);
        return Ok(());
    }
    let len = list.len();
    db.modified(key, KeyEvent::LINSERT);
    ctx.out.int(len as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let count = args::int(&ctx.args[2])?;
    let key = &ctx.args[1];
    let Some(list) = db.get_list_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = list.remove_matching(&ctx.args[3], count.unsigned_abs() as usize, count < 0);
    if removed > 0 {
        finish_write(db, key, KeyEvent::LREM);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let start = args::int(&ctx.args[2])?;
    let end = args::int(&ctx.args[3])?;
    let key = &ctx.args[1];
    let Some(list) = db.get_list_mut(key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = list.len();
    match args::clamp_ranks(start, end, len) {
        None => list.remove_front(len),
        Some((from, to)) => {
            list.remove_back(len - 1 - to);
            list.remove_front(from);
        }
    }
    // Reported even when nothing was removed, as Redis does.
    finish_write(db, key, KeyEvent::LTRIM);
    ctx.out.ok();
    Ok(())
}

// ----- moves -----

/// Pops from `src` at `from` and pushes onto `dst` at `to`; replies with the
/// element, or null when `src` is empty or missing.
fn move_element(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, from: End, to: End) -> CmdResult {
    let limits = ctx.server.hot.list_limits();
    move_core(db, &ctx.args[1], &ctx.args[2], (from, to), limits, ctx.out)
}

/// LMOVE's work (also BLMOVE's, served or not).
fn move_core(
    db: &mut DbView<'_>,
    src: &[u8],
    dst: &[u8],
    (from, to): (End, End),
    limits: ListLimits,
    out: &mut Reply,
) -> CmdResult {
    if db.get_list_uncounted(src)?.is_none() {
        out.null();
        return Ok(());
    }
    // The destination's type is checked before anything moves.
    db.get_list_uncounted(dst)?;
    let Some(item) = db.get_list_mut(src)?.and_then(|l| l.pop(from)) else {
        out.null();
        return Ok(());
    };
    db.list_or_create(dst)?.push(to, &item, limits);
    db.modified(dst, push_event(to));
    out.bulk(&item);
    db.reply_written();
    finish_write(db, src, pop_event(from));
    Ok(())
}

fn lmove(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let from = end_arg(&ctx.args[3])?;
    let to = end_arg(&ctx.args[4])?;
    move_element(ctx, db, from, to)
}

fn rpoplpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    move_element(ctx, db, End::Tail, End::Head)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    mpop(ctx, db, 1, None)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let deadline = args::timeout_deadline(&ctx.args[1], db.now_ms)?;
    mpop(ctx, db, 2, Some(deadline))
}

/// LMPOP and BLMPOP from the numkeys argument at `at`; `deadline` for
/// the blocking form.
fn mpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, at: usize, deadline: Option<i64>) -> CmdResult {
    let numkeys_err = "ERR numkeys should be greater than 0";
    let numkeys = match crate::protocol::parse_i64(&ctx.args[at]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(CmdError::fixed(numkeys_err)),
    };
    let where_idx = numkeys
        .checked_add(at + 1)
        .filter(|&w| w < ctx.args.len())
        .ok_or(SYNTAX)?;
    let end = end_arg(&ctx.args[where_idx])?;
    let mut count: Option<usize> = None;
    let mut i = where_idx + 1;
    while i < ctx.args.len() {
        match ctx.args.get(i + 1) {
            Some(v) if count.is_none() && is(&ctx.args[i], "COUNT") => {
                count = Some(match crate::protocol::parse_i64(v) {
                    Some(n) if n >= 1 => n as usize,
                    _ => return Err(CmdError::fixed("ERR count should be greater than 0")),
                });
            }
            _ => return Err(SYNTAX),
        }
        i += 2;
    }
    let count = count.unwrap_or(1);
    let keys = &ctx.args[at + 1..where_idx];
    for key in keys {
        if !non_empty_list(db, key)? {
            continue;
        }
        let effect = pop_served(db, key, end, Some(count), ctx.out);
        if deadline.is_some() {
            // Replayed as the pop it was, as Redis rewrites it.
            db.log_effect(effect);
        }
        return Ok(());
    }
    match deadline {
        Some(deadline) if ctx.may_block() => {
            let op = ListPop {
                end,
                count: Some(count),
            };
            ctx.block(db, keys, Box::new(op), None, deadline);
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

// ----- blocking -----

/// True if `key` holds a non-empty list; WRONGTYPE for another type.
fn non_empty_list(db: &mut DbView<'_>, key: &[u8]) -> Result<bool, CmdError> {
    Ok(db.get_list_uncounted(key)?.is_some_and(|l| !l.is_empty()))
}

/// The name of the pop at `end`, as it is logged.
fn pop_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

/// The name of a list end, as LMOVE takes it.
fn end_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LEFT",
        End::Tail => b"RIGHT",
    }
}

/// Pops from the non-empty list at `key` for BLPOP/BRPOP (`count` None:
/// replies key and element) or BLMPOP/LMPOP (replies key and up to
/// `count` elements), reports the change, and returns the pop as it is
/// logged (`LPOP key [n]`).
fn pop_served(
    db: &mut DbView<'_>,
    key: &[u8],
    end: End,
    count: Option<usize>,
    out: &mut Reply,
) -> Vec<Bytes> {
    let mut effect = vec![
        Bytes::from_static(pop_name(end)),
        Bytes::copy_from_slice(key),
    ];
    let Ok(Some(list)) = db.get_list_mut(key) else {
        return effect;
    };
    out.array(2);
    out.bulk(key);
    match count {
        None => {
            list.pop_with(end, |item| out.bulk(item));
        }
        Some(n) => {
            effect.push(Bytes::from(n.min(list.len()).to_string()));
            pop_range_reply(out, list, end, n);
        }
    }
    let emptied = list.is_empty();
    db.reply_written();
    db.modified(key, pop_event(end));
    if emptied {
        db.remove_emptied(key);
    }
    effect
}

/// A blocked BLPOP, BRPOP or BLMPOP.
struct ListPop {
    end: End,
    /// BLMPOP's count; None for BLPOP/BRPOP's reply.
    count: Option<usize>,
}

impl BlockedOp for ListPop {
    fn ready(&self, view: &mut DbView<'_>, key: &[u8]) -> bool {
        non_empty_list(view, key).unwrap_or(false)
    }

    fn serve(&self, view: &mut DbView<'_>, key: &[u8], out: &mut Reply) {
        let effect = pop_served(view, key, self.end, self.count, out);
        view.log_side_effect(effect);
    }
}

/// A blocked BLMOVE or BRPOPLPUSH.
struct ListMove {
    dest: Bytes,
    ends: (End, End),
    limits: ListLimits,
    /// Logged as RPOPLPUSH rather than LMOVE.
    rpoplpush: bool,
}

impl ListMove {
    /// The move as it is logged.
    fn effect(&self, src: &[u8]) -> Vec<Bytes> {
        let (from, to) = self.ends;
        let mut args = vec![
            Bytes::from_static(if self.rpoplpush {
                b"RPOPLPUSH"
            } else {
                b"LMOVE"
            }),
            Bytes::copy_from_slice(src),
            self.dest.clone(),
        ];
        if !self.rpoplpush {
            args.push(Bytes::from_static(end_name(from)));
            args.push(Bytes::from_static(end_name(to)));
        }
        args
    }
}

impl BlockedOp for ListMove {
    fn ready(&self, view: &mut DbView<'_>, key: &[u8]) -> bool {
        non_empty_list(view, key).unwrap_or(false)
    }

    fn serve(&self, view: &mut DbView<'_>, key: &[u8], out: &mut Reply) {
        let dirty = view.dirty;
        if let Err(e) = move_core(view, key, &self.dest, self.ends, self.limits, out) {
            // A destination of another type: the client gets WRONGTYPE and
            // nothing moves, as in Redis.
            out.error(e.text());
        }
        if view.dirty > dirty {
            view.log_side_effect(self.effect(key));
        }
    }
}

fn blpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bpop(ctx, db, End::Head)
}

fn brpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bpop(ctx, db, End::Tail)
}

/// BLPOP / BRPOP key [key ...] timeout
fn bpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, end: End) -> CmdResult {
    let last = ctx.args.len() - 1;
    let deadline = args::timeout_deadline(&ctx.args[last], db.now_ms)?;
    let keys = &ctx.args[1..last];
    for key in keys {
        if non_empty_list(db, key)? {
            let effect = pop_served(db, key, end, None, ctx.out);
            db.log_effect(effect);
            return Ok(());
        }
    }
    if !ctx.may_block() {
        ctx.out.null_array();
        return Ok(());
    }
    let op = ListPop { end, count: None };
    ctx.block(db, keys, Box::new(op), None, deadline);
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let from = end_arg(&ctx.args[3])?;
    let to = end_arg(&ctx.args[4])?;
    block_move(ctx, db, (from, to), 5, false)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    block_move(ctx, db, (End::Tail, End::Head), 3, true)
}

fn block_move(
    ctx: &mut Ctx<'_>,
    db: &mut DbView<'_>,
    ends: (End, End),
    timeout_at: usize,
    rpoplpush: bool,
) -> CmdResult {
    let deadline = args::timeout_deadline(&ctx.args[timeout_at], db.now_ms)?;
    let (src, dst) = (&ctx.args[1], &ctx.args[2]);
    let op = ListMove {
        dest: dst.clone(),
        ends,
        limits: ctx.server.hot.list_limits(),
        rpoplpush,
    };
    if db.get_list_uncounted(src)?.is_some() {
        let dirty = db.dirty;
        move_core(db, src, dst, ends, op.limits, ctx.out)?;
        if db.dirty > dirty {
            db.log_effect(op.effect(src));
        }
        return Ok(());
    }
    if !ctx.may_block() {
        ctx.out.null();
        return Ok(());
    }
    let keys = std::slice::from_ref(src);
    let dest = Some(dst.clone());
    ctx.block(db, keys, Box::new(op), dest, deadline);
    Ok(())
}

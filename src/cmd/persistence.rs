//! Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE.

use super::args::{self, is};
use super::flags::*;
use super::spec::{bind, bind_with, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, SYNTAX};
use std::sync::atomic::Ordering;

/// Every persistence command.
pub const COMMANDS: &[CommandSpec] = &[
    bind_with("save", save, ALL_SHARDS),
    bind_with("bgsave", bgsave, ALL_SHARDS),
    bind("lastsave", lastsave),
    bind("bgrewriteaof", bgrewriteaof),
    bind("dump", dump),
    bind("restore", restore),
];

const BGSAVE_IN_PROGRESS: CmdError = CmdError::fixed("ERR Background save already in progress");

fn save(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx
        .server
        .persistence
        .bgsave_in_progress
        .load(Ordering::SeqCst)
    {
        return Err(BGSAVE_IN_PROGRESS);
    }
    // The command holds every shard: the snapshot is of one instant, and
    // clients wait for it, as they do for Redis's SAVE.
    match crate::snapshot::save_locked(ctx.server, db) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::fixed("ERR")),
    }
}

/// BGSAVE [SCHEDULE]
fn bgsave(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        1 => {}
        2 if is(&ctx.args[1], "schedule") => {}
        _ => return Err(SYNTAX),
    }
    let p = &ctx.server.persistence;
    if p.bgsave_in_progress.load(Ordering::SeqCst) {
        return Err(BGSAVE_IN_PROGRESS);
    }
    let schedule = ctx.args.len() == 2;
    let rewriting = ctx.server.aof.rewrite_in_progress.load(Ordering::SeqCst);
    if ctx.client.in_exec || (rewriting && schedule) {
        // Starting inside EXEC would put half of the transaction in the
        // snapshot; a rewrite uses the snapshot machinery until it ends.
        p.bgsave_scheduled.store(true, Ordering::Relaxed);
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    match crate::snapshot::bgsave_locked(&ctx.server.arc(), db) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(crate::snapshot::BgsaveRefused::InProgress) => return Err(BGSAVE_IN_PROGRESS),
        Err(crate::snapshot::BgsaveRefused::RewriteRunning) => return Err(CmdError::fixed(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        )),
    }
    Ok(())
}

/// BGREWRITEAOF. It locks no shard itself: starting the rewrite takes the
/// whole keyspace for one instant (inside EXEC, where every shard is held
/// already, it is only scheduled).
fn bgrewriteaof(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    use crate::aof::rewrite::{request, RewriteStart};
    match request(&ctx.server.arc(), ctx.client.in_exec) {
        RewriteStart::Started => ctx.out.simple("Background append only file rewriting started"),
        RewriteStart::Scheduled => {
            ctx.out.simple("Background append only file rewriting scheduled")
        }
        RewriteStart::InProgress => {
            return Err(CmdError::fixed(
                "ERR Background append only file rewriting already in progress",
            ))
        }
        RewriteStart::Failed => {
            return Err(CmdError::fixed("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."))
        }
    }
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let when = ctx
        .server
        .persistence
        .last_save_unix
        .load(Ordering::Relaxed);
    ctx.out.int(when);
    Ok(())
}

fn dump(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db.get_counted(&ctx.args[1]) {
        None => ctx.out.null(),
        Some(value) => ctx.out.bulk(&crate::rdb::encode::dump_payload(value)),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency]
fn restore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<u64>, Option<u8>) = (None, None);
    let mut i = 4;
    while i < ctx.args.len() {
        let a = &ctx.args[i];
        let has_value = i + 1 < ctx.args.len();
        if is(a, "replace") {
            replace = true;
        } else if is(a, "absttl") {
            absttl = true;
        } else if is(a, "idletime") && has_value && freq.is_none() {
            let n = args::int(&ctx.args[i + 1])?;
            idle = Some(
                u64::try_from(n)
                    .map_err(|_| CmdError::fixed("ERR Invalid IDLETIME value, must be >= 0"))?,
            );
            i += 1;
        } else if is(a, "freq") && has_value && idle.is_none() {
            let n = args::int(&ctx.args[i + 1])?;
            freq =
                Some(u8::try_from(n).map_err(|_| {
                    CmdError::fixed("ERR Invalid FREQ value, must be >= 0 and <= 255")
                })?);
            i += 1;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    let key = &ctx.args[1];
    if !replace && db.exists(key) {
        return Err(CmdError::fixed("BUSYKEY Target key name already exists."));
    }
    let ttl = args::int(&ctx.args[2])?;
    if ttl < 0 {
        return Err(CmdError::fixed("ERR Invalid TTL value, must be >= 0"));
    }
    let limits = crate::snapshot::limits(ctx.server);
    let value = crate::rdb::decode::restore_payload(&ctx.args[3], limits, db.now_ms)
        .map_err(CmdError::fixed)?;
    let deleted = replace && db.remove(key).is_some();
    let when = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(db.now_ms)),
    };
    if when.is_some_and(|t| t <= db.now_ms) {
        // Already expired: the key ends up deleted.
        if deleted {
            db.modified(key, crate::db::KeyEvent::DEL);
        }
        db.log_effect(crate::aof::command(&[b"DEL", key]));
        ctx.out.ok();
        return Ok(());
    }
    let field_ttls = matches!(&value, crate::types::Value::Hash(h) if h.has_field_ttls());
    db.set(key, value);
    if let Some(t) = when {
        db.set_expire(key, t);
    }
    if field_ttls {
        db.track_hash_field_ttls(key);
    }
    if let Some(stamp) = db.access.restored_stamp(db.now_ms, idle, freq) {
        db.set_access_stamp(key, stamp);
    }
    db.modified(key, crate::db::KeyEvent::RESTORE);
    if let (Some(t), false) = (when, absttl) {
        // Logged with the absolute time, as Redis propagates it.
        let mut args = ctx.args.to_vec();
        args[2] = bytes::Bytes::from(crate::aof::ms_arg(t));
        args.push(bytes::Bytes::from_static(b"ABSTTL"));
        db.log_effect(args);
    }
    ctx.out.ok();
    Ok(())
}

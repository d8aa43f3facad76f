//! MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queued commands are validated (known command, arity) when queued; EXEC
//! locks every shard and runs the whole queue under those locks, so no other
//! client's command can interleave.

use super::flags::*;
use super::spec::{bind_with, ClientState, CommandSpec, Ctx, MultiState};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::state::Shared;
use std::sync::atomic::Ordering;

/// The transactions family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind_with("multi", multi, TX_CONTROL),
    bind_with("exec", exec, TX_CONTROL | ALL_SHARDS),
    bind_with("discard", discard, TX_CONTROL | ALL_SHARDS),
    bind_with("watch", watch, TX_CONTROL),
    bind_with("unwatch", unwatch, ALL_SHARDS),
];

fn multi(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::fixed("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.client.info.in_multi.store(true, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// Drops every WATCH of the client; `view` holds every shard.
fn unwatch_all(view: &mut DbView<'_>, client: &mut ClientState) {
    for (db, key) in client.watched.drain(..) {
        view.unwatch(db, &key, &client.watch_flag);
    }
    client.watch_flag.reset();
}

/// Drops every WATCH of a client that is going away (no locks held).
pub fn forget_client(server: &Shared, client: &mut ClientState) {
    for (db, key) in client.watched.drain(..) {
        server.keyspace.unwatch(db, &key, &client.watch_flag);
    }
}

/// Replies to an EXEC rejected before running (wrong arity): any open
/// transaction is discarded and the error is reported as an EXECABORT.
/// Holds no shard lock.
pub fn abort_exec(server: &Shared, client: &mut ClientState, error: &str, out: &mut Reply) {
    // Like Redis's discardTransaction, this unwatches every key even when no
    // MULTI is open.
    client.multi = None;
    client.info.in_multi.store(false, Ordering::Relaxed);
    forget_client(server, client);
    client.watch_flag.reset();
    let reason = error.strip_prefix("ERR ").unwrap_or(error);
    out.error(&format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ));
}

fn end_multi(ctx: &mut Ctx<'_>, view: &mut DbView<'_>) -> Option<MultiState> {
    ctx.client.info.in_multi.store(false, Ordering::Relaxed);
    let state = ctx.client.multi.take();
    unwatch_all(view, ctx.client);
    state
}

fn exec(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::fixed("ERR EXEC without MULTI"));
    }
    // A watched key that was live at WATCH time and has expired since fails
    // the transaction even if nothing reclaimed it yet.
    let expired = ctx
        .client
        .watched
        .iter()
        .any(|(wdb, key)| db.watched_key_expired(*wdb, key, &ctx.client.watch_flag));
    let dirty = expired || ctx.client.watch_flag.is_dirty();
    let state = end_multi(ctx, db).unwrap_or_default();
    if state.failed {
        return Err(CmdError::fixed(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(state.queue.len());
    // The queued commands' notifications to this client follow the whole
    // reply: Redis writes them between its elements, where a RESP3 reader
    // would take them for elements.
    db.reply_written();
    ctx.client.in_exec = true;
    // The dispatcher's own path, reached through the table: the queued
    // commands count, log and show in MONITOR as if sent alone.
    let execute = ctx.registry.execute;
    for queued in &state.queue {
        let mut sub = Ctx {
            server: ctx.server,
            client: &mut *ctx.client,
            args: &queued.args,
            out: &mut *ctx.out,
            registry: ctx.registry,
        };
        execute(queued.spec, &mut sub, Some(&mut *db));
    }
    ctx.client.in_exec = false;
    Ok(())
}

fn discard(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::fixed("ERR DISCARD without MULTI"));
    }
    end_multi(ctx, db);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, view: &mut DbView<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::fixed("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in &ctx.args[1..] {
        let entry = (db, Box::<[u8]>::from(&key[..]));
        if !ctx.client.watched.contains(&entry) {
            view.watch(key, &ctx.client.watch_flag);
            ctx.client.watched.push(entry);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, view: &mut DbView<'_>) -> CmdResult {
    unwatch_all(view, ctx.client);
    ctx.out.ok();
    Ok(())
}

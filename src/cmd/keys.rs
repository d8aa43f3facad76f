//! Keyspace commands.

use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec};
use crate::db::DbView;
use crate::error::CmdResult;

/// The generic (keyspace) family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, KeySpec::ALL_ARGS, Group::Generic, del),
    CommandSpec::new(
        "exists",
        -2,
        READONLY | FAST,
        KeySpec::ALL_ARGS,
        Group::Generic,
        exists,
    ),
    CommandSpec::new(
        "flushdb",
        -1,
        WRITE | ALL_SHARDS,
        KeySpec::None,
        Group::Server,
        flushdb,
    ),
    CommandSpec::new(
        "flushall",
        -1,
        WRITE | ALL_SHARDS,
        KeySpec::None,
        Group::Server,
        flushall,
    ),
    CommandSpec::new(
        "dbsize",
        1,
        READONLY | FAST | ALL_SHARDS,
        KeySpec::None,
        Group::Server,
        dbsize,
    ),
];

fn del(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut n = 0;
    for key in &ctx.args[1..] {
        if db.remove(key).is_some() {
            db.modified(key);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let n = ctx.args[1..].iter().filter(|k| db.exists(k)).count();
    ctx.out.int(n as i64);
    Ok(())
}

fn flushdb(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let current = db.db;
    db.flush_db(current);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    for i in 0..ctx.server.keyspace.num_dbs() {
        db.flush_db(i);
    }
    ctx.out.ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let current = db.db;
    let n = db.db_size(current);
    ctx.out.int(n as i64);
    Ok(())
}

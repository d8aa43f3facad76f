//! Hash commands.

use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec};
use crate::db::DbView;
use crate::error::{wrong_arity, CmdResult};

/// The hash family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        KeySpec::FIRST,
        Group::Hash,
        hset,
    ),
    CommandSpec::new(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        KeySpec::FIRST,
        Group::Hash,
        hmset,
    ),
    CommandSpec::new(
        "hget",
        3,
        READONLY | FAST,
        KeySpec::FIRST,
        Group::Hash,
        hget,
    ),
    CommandSpec::new("hgetall", 2, READONLY, KeySpec::FIRST, Group::Hash, hgetall),
    CommandSpec::new("hdel", -3, WRITE | FAST, KeySpec::FIRST, Group::Hash, hdel),
];

/// Sets field/value pairs; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> Result<i64, crate::error::CmdError> {
    if ctx.args.len() % 2 != 0 {
        return Err(wrong_arity(&String::from_utf8_lossy(&ctx.args[0])));
    }
    let limits = ctx.server.hot.hash_limits();
    let key = &ctx.args[1];
    let hash = db.hash_or_create(key)?;
    let mut added = 0;
    for pair in ctx.args[2..].chunks(2) {
        if hash.set(&pair[0], &pair[1], limits) {
            added += 1;
        }
    }
    db.modified(key);
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

fn hget(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db.get_hash(&ctx.args[1])?.and_then(|h| h.get(&ctx.args[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db.get_hash(&ctx.args[1])? {
        Some(h) => {
            ctx.out.map(h.len());
            for (f, v) in h.iter() {
                ctx.out.bulk(f);
                ctx.out.bulk(v);
            }
        }
        None => ctx.out.map(0),
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let Some(hash) = db.get_hash_mut(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = ctx.args[2..].iter().filter(|f| hash.remove(f)).count();
    if removed > 0 {
        db.remove_if_empty(key);
        db.modified(key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

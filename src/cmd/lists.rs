//! List commands (non-blocking).

use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec};
use crate::db::DbView;
use crate::error::CmdResult;

/// The list family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        KeySpec::FIRST,
        Group::List,
        rpush,
    ),
    CommandSpec::new(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        KeySpec::FIRST,
        Group::List,
        lpush,
    ),
    CommandSpec::new("lpop", -2, WRITE | FAST, KeySpec::FIRST, Group::List, lpop),
    CommandSpec::new("rpop", -2, WRITE | FAST, KeySpec::FIRST, Group::List, rpop),
];

fn push(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, front: bool) -> CmdResult {
    let limits = ctx.server.hot.list_limits();
    let key = &ctx.args[1];
    let list = db.list_or_create(key)?;
    for item in &ctx.args[2..] {
        if front {
            list.push_front(item, limits);
        } else {
            list.push_back(item, limits);
        }
    }
    let len = list.len();
    db.modified(key);
    ctx.out.int(len as i64);
    Ok(())
}

fn rpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, false)
}

fn lpush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    push(ctx, db, true)
}

fn pop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, front: bool) -> CmdResult {
    let key = &ctx.args[1];
    let Some(list) = db.get_list_mut(key)? else {
        ctx.out.null();
        return Ok(());
    };
    let item = if front {
        list.pop_front()
    } else {
        list.pop_back()
    };
    match item {
        Some(item) => ctx.out.bulk(&item),
        None => ctx.out.null(),
    }
    db.remove_if_empty(key);
    db.modified(key);
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    pop(ctx, db, true)
}

fn rpop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    pop(ctx, db, false)
}

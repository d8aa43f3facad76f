//! String and number commands.

use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec};
use crate::db::DbView;
use crate::error::CmdResult;
use crate::types::{StrValue, Value};

/// The string family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "get",
        2,
        READONLY | FAST,
        KeySpec::FIRST,
        Group::String,
        get,
    ),
    CommandSpec::new(
        "set",
        -3,
        WRITE | DENYOOM,
        KeySpec::FIRST,
        Group::String,
        set,
    ),
];

fn get(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    match db.get_str(&ctx.args[1])? {
        Some(s) => ctx.out.bulk(&s.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    db.set(key, Value::Str(StrValue::from_bytes(&ctx.args[2])));
    db.modified(key);
    ctx.out.ok();
    Ok(())
}

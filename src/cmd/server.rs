//! Server commands: COMMAND, INFO, CONFIG, ...

use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec, Registry};
use crate::db::DbView;
use crate::error::CmdResult;

/// The server family's command table.
pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container(
    "command",
    -1,
    LOADING | STALE,
    Group::Server,
    COMMAND_SUBCOMMANDS,
)];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "command|count",
    2,
    LOADING | STALE,
    KeySpec::None,
    Group::Server,
    command_count,
)];

fn command_count(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(Registry::get().commands.len() as i64);
    Ok(())
}

//! LATENCY: no latency events are sampled yet, so every history is empty.

use super::args;
use super::introspect::write_help;
use super::spec::{bind, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};

/// LATENCY's bindings.
pub const COMMANDS: &[CommandSpec] = &[container("latency", LATENCY_SUBCOMMANDS)];

const LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    bind("latency|latest", latency_empty),
    bind("latency|history", latency_empty),
    bind("latency|reset", latency_reset),
    bind("latency|graph", latency_graph),
    bind("latency|doctor", latency_doctor),
    bind("latency|help", latency_help),
];

fn latency_empty(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

fn latency_reset(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(0);
    Ok(())
}

fn latency_graph(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    Err(CmdError::new(format!(
        "ERR No samples available for event '{}'",
        args::lossy(&ctx.args[2])
    )))
}

fn latency_doctor(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.verbatim(
        "txt",
        b"No latency events were recorded: latency monitoring is not available in this server.\n",
    );
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    A report on latency events.",
            "GRAPH <event>",
            "    An ASCII graph of an event's latency samples.",
            "HISTORY <event>",
            "    The samples of an event.",
            "LATEST",
            "    The latest sample of every event.",
            "RESET [<event> ...]",
            "    Forget the samples of the events (all when none is named).",
        ],
    );
    Ok(())
}

//! Server identity and lifecycle: TIME, ROLE, SHUTDOWN; WAIT, which
//! counts replicas (none until replication exists) and blocks as the
//! blocking pops do.

use super::args;
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{BlockedOp, DbView};
use crate::error::{CmdError, CmdResult, SYNTAX};
use crate::reply::Reply;
use std::sync::atomic::Ordering;

/// The server family's bindings.
pub const COMMANDS: &[CommandSpec] = &[
    bind("time", time),
    bind("role", role),
    bind("shutdown", shutdown),
    bind("wait", wait),
];

fn time(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
    Ok(())
}

fn role(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    // A master without replicas (replication does not exist yet).
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    for a in &ctx.args[1..] {
        let known = ["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"]
            .iter()
            .any(|k| args::is(a, k));
        if !known {
            return Err(SYNTAX);
        }
    }
    let has = |k: &str| ctx.args[1..].iter().any(|a| args::is(a, k));
    if has("SAVE") && has("NOSAVE") {
        return Err(SYNTAX);
    }
    if has("ABORT") {
        if ctx.args.len() > 2 {
            return Err(SYNTAX);
        }
        return Err(CmdError::fixed("ERR No shutdown in progress."));
    }
    // While a long script runs only SHUTDOWN NOSAVE may end it (a save
    // would have to wait for the shards it holds).
    if let Some(kind) = ctx.server.keyspace.gate().busy() {
        if !has("NOSAVE") {
            return Err(CmdError::fixed(kind.error()));
        }
    }
    crate::warning!("User requested shutdown...");
    let save = has("SAVE") || (!has("NOSAVE") && ctx.server.has_save_rules());
    if save {
        crate::notice!("Saving the final RDB snapshot before exiting.");
        if crate::snapshot::save(ctx.server).is_err() && !has("FORCE") {
            crate::warning!("Error trying to save the DB, can't exit.");
            return Err(CmdError::fixed(
                "ERR Errors trying to SHUTDOWN. Check logs.",
            ));
        }
    }
    begin_shutdown(ctx.server);
    // Like Redis, the connection closes without a reply on success.
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Tells the server to exit (a running script stops at its next hook).
pub fn begin_shutdown(server: &crate::state::Shared) {
    server.shutting_down.store(true, Ordering::SeqCst);
    server.shutdown.notify_one();
}

/// A WAIT that blocked: no replica ever acknowledges (there are none), so
/// only its timeout, CLIENT UNBLOCK or a disconnect ends it.
struct ReplicaWait;

impl BlockedOp for ReplicaWait {
    fn ready(&self, _view: &mut DbView<'_>, _key: &[u8]) -> bool {
        false
    }

    fn serve(&self, _view: &mut DbView<'_>, _key: &[u8], out: &mut Reply) {
        out.int(0);
    }

    /// The number of replicas that acknowledged: none.
    fn timed_out(&self, out: &mut Reply) {
        out.int(0);
    }
}

/// WAIT numreplicas timeout: the replicas that acknowledged the client's
/// writes (0, without replication) once `numreplicas` did or the timeout
/// (milliseconds, 0 = forever) passed. Inside MULTI it answers at once.
fn wait(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let wanted = args::int(&ctx.args[1])?;
    let timeout = args::int_or(
        &ctx.args[2],
        CmdError::fixed("ERR timeout is not an integer or out of range"),
    )?;
    if timeout < 0 {
        return Err(CmdError::fixed("ERR timeout is negative"));
    }
    let acked = 0;
    if acked >= wanted || !ctx.may_block() {
        ctx.out.int(acked);
        return Ok(());
    }
    let deadline = if timeout > 0 {
        db.now_ms.saturating_add(timeout)
    } else {
        0
    };
    ctx.block(db, &[], Box::new(ReplicaWait), None, deadline);
    Ok(())
}

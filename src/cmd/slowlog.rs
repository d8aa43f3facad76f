//! SLOWLOG: the log of slow commands, and the hook that fills it after
//! every command.

use super::flags::*;
use super::introspect::{self, write_help};
use super::spec::{bind, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};
use std::sync::atomic::Ordering;

/// SLOWLOG's bindings.
pub const COMMANDS: &[CommandSpec] = &[container("slowlog", SLOWLOG_SUBCOMMANDS)];

const SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    bind("slowlog|get", slowlog_get),
    bind("slowlog|len", slowlog_len),
    bind("slowlog|reset", slowlog_reset),
    bind("slowlog|help", slowlog_help),
];

/// Arguments kept per entry, the last one standing for the rest.
const SLOWLOG_MAX_ARGS: usize = 32;
/// Bytes kept per argument.
const SLOWLOG_MAX_ARG_LEN: usize = 128;

/// Logs the command just run if it took at least `slowlog-log-slower-than`
/// (a blocked command is logged once it is answered: see
/// [`slowlog_record_args`]).
pub fn slowlog_record(ctx: &Ctx<'_>, spec: &CommandSpec, duration_us: u64) {
    slowlog_record_args(ctx.server, &ctx.client.info, spec, ctx.args, duration_us);
}

/// Logs a command of `client` with arguments `argv` if it took at least
/// `slowlog-log-slower-than`.
pub fn slowlog_record_args(
    server: &crate::state::Shared,
    client: &crate::client::ClientInfo,
    spec: &CommandSpec,
    argv: &[bytes::Bytes],
    duration_us: u64,
) {
    let hot = &server.hot;
    let threshold = hot.slowlog_slower_than.load(Ordering::Relaxed);
    if threshold < 0 || (duration_us as i64) < threshold || spec.has(SKIP_SLOWLOG) {
        return;
    }
    let argc = argv.len();
    let kept = argc.min(SLOWLOG_MAX_ARGS);
    let args = (0..kept)
        .map(|j| {
            let a = &argv[j];
            if kept != argc && j == kept - 1 {
                format!("... ({} more arguments)", argc - kept + 1).into_bytes()
            } else if a.len() > SLOWLOG_MAX_ARG_LEN {
                let mut v = a[..SLOWLOG_MAX_ARG_LEN].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARG_LEN).as_bytes(),
                );
                v
            } else {
                a.to_vec()
            }
        })
        .collect();
    let log = &server.slowlog;
    let entry = crate::state::SlowEntry {
        id: log.next_id.fetch_add(1, Ordering::Relaxed),
        time: crate::util::now_ms() / 1000,
        duration_us,
        args,
        peer: client.addr.to_string(),
        name: client
            .name
            .lock()
            .as_ref()
            .map(|n| n.to_vec())
            .unwrap_or_default(),
    };
    let max = hot.slowlog_max_len.load(Ordering::Relaxed);
    let mut entries = log.entries.lock();
    entries.push_front(entry);
    entries.truncate(max);
}

fn slowlog_get(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut count = 10usize;
    if ctx.args.len() == 3 {
        let n = crate::protocol::parse_i64(&ctx.args[2]).ok_or(CmdError::fixed(
            "ERR count should be greater than or equal to -1",
        ))?;
        if n < -1 {
            return Err(CmdError::fixed(
                "ERR count should be greater than or equal to -1",
            ));
        }
        count = if n == -1 { usize::MAX } else { n as usize };
    } else if ctx.args.len() > 3 {
        return Err(introspect::subcommand_syntax_error(ctx.args));
    }
    let entries: Vec<crate::state::SlowEntry> = ctx
        .server
        .slowlog
        .entries
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time);
        out.int(e.duration_us as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let n = ctx.server.slowlog.entries.lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.server.slowlog.entries.lock().clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    The newest <count> entries (10 by default, all with -1). Each is:",
            "    id, unix time, microseconds taken, arguments, client address, client name.",
            "LEN",
            "    Number of entries.",
            "RESET",
            "    Empty the log.",
        ],
    );
    Ok(())
}

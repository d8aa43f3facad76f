//! MONITOR: the command that turns a connection into a monitor, the hook
//! that feeds every command to the monitors' outbound queues as it runs,
//! and the quoting of its lines.

use super::flags::*;
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::CmdResult;
use std::sync::atomic::Ordering;

/// MONITOR's binding.
pub const COMMANDS: &[CommandSpec] = &[bind("monitor", monitor)];

fn monitor(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.client.monitor {
        // Already monitoring: Redis ignores the repeat silently.
        return Ok(());
    }
    ctx.client.monitor = true;
    ctx.client.info.monitor.store(true, Ordering::Relaxed);
    // The +OK is written before any line: lines arrive through the
    // outbound queue, which the connection drains after its replies.
    ctx.out.ok();
    ctx.server.monitors.add(ctx.client.info.clone());
    Ok(())
}

/// Queues the line of the command just executed for every MONITOR client
/// (administrative commands excepted, as in Redis). Called while the
/// command still holds its shard locks, so that commands on one key reach
/// the monitors in the order they ran.
#[inline]
pub fn monitor_feed(ctx: &Ctx<'_>, spec: &CommandSpec) {
    if !ctx.server.monitors.active() || spec.has(ADMIN) || spec.has(SKIP_MONITOR) {
        return;
    }
    feed(ctx);
}

/// Feeds a SKIP_MONITOR command that shows itself: EVAL and its kin,
/// before the commands their script runs, as Redis does.
pub fn monitor_feed_first(ctx: &Ctx<'_>) {
    if ctx.server.monitors.active() {
        feed(ctx);
    }
}

#[cold]
fn feed(ctx: &Ctx<'_>) {
    let us = crate::util::now_us();
    // A script's commands show `lua` where a client's show its address.
    let source = if ctx.client.in_script {
        "lua".to_string()
    } else {
        ctx.client.info.addr.to_string()
    };
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        ctx.client.db,
        source
    )
    .into_bytes();
    for a in ctx.args {
        line.push(b' ');
        quote_repr(&mut line, a);
    }
    line.extend_from_slice(b"\r\n");
    ctx.server
        .monitors
        .feed(bytes::Bytes::from(line), &ctx.server.hot.output_limits);
}

/// Appends `s` double-quoted with C-style escapes, as Redis shows
/// arguments in MONITOR output.
fn quote_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b' '..=b'~' => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

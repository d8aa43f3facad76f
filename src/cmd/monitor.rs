//! MONITOR: the command that turns a connection into a monitor, the hook
//! that feeds it every command after it runs, and the quoting of its lines.

use super::flags::*;
use super::{bind, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::CmdResult;
use std::sync::atomic::Ordering;

/// MONITOR's binding.
pub const COMMANDS: &[CommandSpec] = &[bind("monitor", monitor)];

fn monitor(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.client.monitor.is_some() {
        // Already monitoring: Redis ignores the repeat silently.
        return Ok(());
    }
    ctx.client.monitor = Some(ctx.server.monitor.subscribe());
    ctx.client.info.monitor.store(true, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// Sends the line of a command just executed to the MONITOR clients
/// (administrative commands excepted, as in Redis).
pub fn monitor_feed(ctx: &Ctx<'_>, spec: &CommandSpec) {
    let tx = &ctx.server.monitor;
    if tx.receiver_count() == 0 || spec.has(ADMIN) || spec.has(SKIP_MONITOR) {
        return;
    }
    let us = crate::util::now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        ctx.client.db,
        ctx.client.info.addr
    )
    .into_bytes();
    for a in ctx.args {
        line.push(b' ');
        quote_repr(&mut line, a);
    }
    line.extend_from_slice(b"\r\n");
    // No receiver left is not an error: the count was only a hint.
    let _ = tx.send(bytes::Bytes::from(line));
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

/// The next line for a MONITOR connection; never resolves for others.
pub async fn next_monitor_line(
    rx: &mut Option<tokio::sync::broadcast::Receiver<bytes::Bytes>>,
) -> Option<bytes::Bytes> {
    let Some(receiver) = rx.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match receiver.recv().await {
            Ok(line) => return Some(line),
            // A slow monitor misses lines rather than holding memory.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                *rx = None;
                return None;
            }
        }
    }
}

//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, CLIENT.

use super::args;
use super::flags::*;
use super::{CommandSpec, Ctx, Group, KeySpec};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, DB_INDEX};
use std::sync::atomic::Ordering;

/// The connection family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "ping",
        -1,
        FAST | STALE,
        KeySpec::None,
        Group::Connection,
        ping,
    ),
    CommandSpec::new("echo", 2, FAST, KeySpec::None, Group::Connection, echo),
    CommandSpec::new(
        "select",
        2,
        LOADING | STALE | FAST,
        KeySpec::None,
        Group::Connection,
        select,
    ),
    CommandSpec::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | TX_CONTROL,
        KeySpec::None,
        Group::Connection,
        quit,
    ),
    CommandSpec::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::None,
        Group::Connection,
        hello,
    ),
    CommandSpec::container(
        "client",
        -2,
        NOSCRIPT | LOADING | STALE,
        Group::Connection,
        CLIENT,
    ),
];

const CLIENT: &[CommandSpec] = &[
    CommandSpec::new(
        "client|id",
        2,
        NOSCRIPT | LOADING | STALE,
        KeySpec::None,
        Group::Connection,
        client_id,
    ),
    CommandSpec::new(
        "client|setname",
        3,
        NOSCRIPT | LOADING | STALE,
        KeySpec::None,
        Group::Connection,
        client_setname,
    ),
    CommandSpec::new(
        "client|getname",
        2,
        NOSCRIPT | LOADING | STALE,
        KeySpec::None,
        Group::Connection,
        client_getname,
    ),
    CommandSpec::new(
        "client|setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        KeySpec::None,
        Group::Connection,
        client_setinfo,
    ),
];

/// The Redis version ferrodis reports to clients (HELLO, INFO), which some
/// clients use to decide which commands they may send.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

fn ping(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&ctx.args[1]),
        _ => return Err(crate::error::wrong_arity("ping")),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.bulk(&ctx.args[1]);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let idx = args::int_or(
        &ctx.args[1],
        CmdError::fixed("ERR value is not an integer or out of range"),
    )?;
    if idx < 0 || idx as usize >= ctx.server.keyspace.num_dbs() {
        return Err(DB_INDEX);
    }
    ctx.client.select(idx as usize);
    ctx.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

/// Checks a client name: no spaces, newlines or other special characters.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut version = ctx.out.resp as i64;
    let mut i = 1;
    if ctx.args.len() >= 2 {
        version = args::int_or(
            &ctx.args[1],
            CmdError::fixed("ERR Protocol version is not an integer or out of range"),
        )?;
        if !(2..=3).contains(&version) {
            return Err(CmdError::fixed("NOPROTO unsupported protocol version"));
        }
        i = 2;
    }
    let mut setname = None;
    while i < ctx.args.len() {
        let more = ctx.args.len() - i - 1;
        if args::is(&ctx.args[i], "AUTH") && more >= 2 {
            // Without requirepass the default user accepts any password.
            i += 3;
        } else if args::is(&ctx.args[i], "SETNAME") && more >= 1 {
            let name = &ctx.args[i + 1];
            if !valid_client_name(name) {
                return Err(CmdError::fixed(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            setname = Some(name.clone());
            i += 2;
        } else {
            return Err(CmdError::new(format!(
                "ERR Syntax error in HELLO option '{}'",
                args::lossy(&ctx.args[i])
            )));
        }
    }
    if let Some(name) = setname {
        *ctx.client.info.name.lock() = Some(name);
    }
    ctx.out.resp = version as u8;
    ctx.client
        .info
        .resp
        .store(version as usize, Ordering::Relaxed);
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(version);
    out.bulk(b"id");
    out.int(ctx.client.info.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(ctx.client.info.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let name = &ctx.args[2];
    if !valid_client_name(name) {
        return Err(CmdError::fixed(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *ctx.client.info.name.lock() = (!name.is_empty()).then(|| name.clone());
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.client.info.name.lock().as_ref() {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let value = args::lossy(&ctx.args[3]);
    if value.bytes().any(|c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::fixed(
            "ERR lib-name cannot contain spaces, newlines or special characters.",
        ));
    }
    let mut lib = ctx.client.info.lib.lock();
    if args::is(&ctx.args[2], "LIB-NAME") {
        lib.0 = value;
    } else if args::is(&ctx.args[2], "LIB-VER") {
        lib.1 = value;
    } else {
        return Err(CmdError::new(format!(
            "ERR Unrecognized option '{}'",
            args::lossy(&ctx.args[2])
        )));
    }
    drop(lib);
    ctx.out.ok();
    Ok(())
}

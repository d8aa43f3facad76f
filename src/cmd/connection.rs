//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, CLIENT.

use super::args;
use super::flags::*;
use super::spec::{bind, bind_with, container, CommandSpec, Ctx};
use super::tracking;
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, DB_INDEX, SYNTAX};
use crate::outbox::ClientClass;
use std::sync::atomic::Ordering;

/// The connection family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("ping", ping),
    bind("echo", echo),
    bind("select", select),
    bind_with("quit", quit, TX_CONTROL),
    bind("hello", hello),
    bind("auth", auth),
    bind_with("reset", reset, TX_CONTROL | ALL_SHARDS),
    container("client", CLIENT),
];

const CLIENT: &[CommandSpec] = &[
    bind("client|id", client_id),
    bind("client|setname", client_setname),
    bind("client|getname", client_getname),
    bind("client|setinfo", client_setinfo),
    bind("client|info", client_info),
    bind("client|list", client_list),
    bind("client|kill", client_kill),
    bind("client|no-evict", client_no_evict),
    bind("client|no-touch", client_no_touch),
    bind("client|tracking", tracking::client_tracking),
    bind("client|caching", tracking::client_caching),
    bind("client|getredir", tracking::client_getredir),
    bind("client|trackinginfo", tracking::client_trackinginfo),
    bind("client|unblock", client_unblock),
    bind("client|pause", client_pause),
    bind("client|unpause", client_unpause),
    bind("client|reply", client_reply),
    bind("client|help", client_help),
];

pub use crate::util::REDIS_COMPAT_VERSION;

fn ping(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() <= 2 && !ctx.out.is_resp3() && ctx.client.info.subscribed() {
        // RESP2's subscribed mode answers in a message's shape.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(ctx.args.get(1).map_or(&b""[..], |a| &a[..]));
        return Ok(());
    }
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

/// `WRONGPASS` reply for a failed AUTH / HELLO AUTH.
const WRONGPASS: CmdError =
    CmdError::fixed("WRONGPASS invalid username-password pair or user is disabled.");

/// Checks credentials against the `default` user, the only user: it
/// accepts any password without `requirepass`, else exactly that password.
fn credentials_ok(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    let config = ctx.server.config.read();
    let required = config.get("requirepass").unwrap_or("");
    user == b"default" && (required.is_empty() || required.as_bytes() == pass)
}

fn auth(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match ctx.args.len() {
        2 => {
            let no_password = ctx
                .server
                .config
                .read()
                .get("requirepass")
                .unwrap_or("")
                .is_empty();
            if no_password {
                return Err(CmdError::fixed(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (b"default", &ctx.args[1])
        }
        3 => (&ctx.args[1], &ctx.args[2]),
        _ => return Err(SYNTAX),
    };
    if !credentials_ok(ctx, user, pass) {
        return Err(WRONGPASS);
    }
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

fn hello(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut version = None;
    let mut i = 1;
    if ctx.args.len() >= 2 {
        let v = args::int_or(
            &ctx.args[1],
            CmdError::fixed("ERR Protocol version is not an integer or out of range"),
        )?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::fixed("NOPROTO unsupported protocol version"));
        }
        version = Some(v);
        i = 2;
    }
    // Options apply in order, as Redis does: an AUTH that succeeds stays
    // in effect even if a later option fails.
    while i < ctx.args.len() {
        let more = ctx.args.len() - i - 1;
        if args::is(&ctx.args[i], "AUTH") && more >= 2 {
            if !credentials_ok(ctx, &ctx.args[i + 1], &ctx.args[i + 2]) {
                return Err(WRONGPASS);
            }
            ctx.client.authenticated = true;
            i += 3;
        } else if args::is(&ctx.args[i], "SETNAME") && more >= 1 {
            let name = &ctx.args[i + 1];
            if !valid_client_name(name) {
                return Err(CmdError::fixed(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            *ctx.client.info.name.lock() = (!name.is_empty()).then(|| name.clone());
            i += 2;
        } else {
            return Err(CmdError::new(format!(
                "ERR Syntax error in HELLO option '{}'",
                args::lossy(&ctx.args[i])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::fixed(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(v) = version {
        ctx.out.resp = v as u8;
        ctx.client.info.resp.store(v as usize, Ordering::Relaxed);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(out.resp as i64);
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

fn reset(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // Leave any transaction and drop every WATCH (this command holds all
    // shards, so the watch lists can be edited through the view).
    ctx.client.multi = None;
    ctx.client.info.in_multi.store(false, Ordering::Relaxed);
    for (index, key) in std::mem::take(&mut ctx.client.watched) {
        db.unwatch(index, &key, &ctx.client.watch_flag);
    }
    ctx.client.watch_flag.reset();
    ctx.client.select(0);
    ctx.out.resp = 2;
    ctx.client.info.resp.store(2, Ordering::Relaxed);
    *ctx.client.info.name.lock() = None;
    ctx.client.info.no_evict.store(false, Ordering::Relaxed);
    ctx.client.info.no_touch.store(false, Ordering::Relaxed);
    ctx.client.reply_off = false;
    ctx.client.reply_skip_next = false;
    // Leaving MONITOR mode, as Redis's RESET does.
    ctx.client.monitor = false;
    ctx.client.info.monitor.store(false, Ordering::Relaxed);
    ctx.server.monitors.remove(ctx.client.info.id);
    tracking::forget(ctx.server, ctx.client);
    // Leaving pub/sub mode without confirmations, as Redis's RESET does.
    ctx.server.pubsub.forget(ctx.client.info.id);
    ctx.client.authenticated = ctx
        .server
        .config
        .read()
        .get("requirepass")
        .unwrap_or("")
        .is_empty();
    ctx.out.simple("RESET");
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

fn client_info(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut line = ctx.client.info.describe(multi_len(ctx));
    line.push('\n');
    ctx.out.verbatim("txt", line.as_bytes());
    Ok(())
}

/// The `multi=` value of the calling client: queued commands, or -1.
fn multi_len(ctx: &Ctx<'_>) -> i64 {
    ctx.client
        .multi
        .as_ref()
        .map_or(-1, |m| m.queue.len() as i64)
}

/// The client class a CLIENT LIST / KILL `TYPE` names (`None`: master,
/// which no client is until replication exists).
fn client_type(name: &[u8]) -> Result<Option<ClientClass>, CmdError> {
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"normal" => Ok(Some(ClientClass::Normal)),
        b"slave" | b"replica" => Ok(Some(ClientClass::Replica)),
        b"pubsub" => Ok(Some(ClientClass::Pubsub)),
        b"master" => Ok(None),
        _ => Err(CmdError::new(format!(
            "ERR Unknown client type '{}'",
            args::lossy(name)
        ))),
    }
}

fn client_list(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let all = ctx.server.clients.snapshot();
    let own_id = ctx.client.info.id;
    let own_multi = multi_len(ctx);
    let describe = |c: &crate::client::ClientInfo| {
        let multi = if c.id == own_id {
            own_multi
        } else if c.in_multi.load(Ordering::Relaxed) {
            0
        } else {
            -1
        };
        let mut line = c.describe(multi);
        line.push('\n');
        line
    };
    let mut text = String::new();
    let argc = ctx.args.len();
    if argc == 4 && args::is(&ctx.args[2], "TYPE") {
        if let Some(class) = client_type(&ctx.args[3])? {
            all.iter()
                .filter(|c| c.class() == class)
                .for_each(|c| text.push_str(&describe(c)));
        }
    } else if argc > 3 && args::is(&ctx.args[2], "ID") {
        let mut ids = Vec::new();
        for a in &ctx.args[3..] {
            ids.push(args::int_or(a, CmdError::fixed("ERR Invalid client ID"))?);
        }
        for id in ids {
            if let Some(c) = all.iter().find(|c| c.id as i64 == id) {
                text.push_str(&describe(c));
            }
        }
    } else if argc != 2 {
        return Err(SYNTAX);
    } else {
        all.iter().for_each(|c| text.push_str(&describe(c)));
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut id: Option<u64> = None;
    // `None` inside: a type no client has.
    let mut class: Option<Option<ClientClass>> = None;
    let mut skipme = true;
    let old_form = ctx.args.len() == 3;
    if old_form {
        addr = Some(args::lossy(&ctx.args[2]));
        skipme = false;
    } else {
        let mut i = 2;
        while i < ctx.args.len() {
            let Some(value) = ctx.args.get(i + 1) else {
                return Err(SYNTAX);
            };
            let opt = &ctx.args[i];
            if args::is(opt, "ID") {
                match crate::protocol::parse_i64(value) {
                    Some(n) if n >= 1 => id = Some(n as u64),
                    _ => return Err(CmdError::fixed("ERR client-id should be greater than 0")),
                }
            } else if args::is(opt, "TYPE") {
                class = Some(client_type(value)?);
            } else if args::is(opt, "ADDR") {
                addr = Some(args::lossy(value));
            } else if args::is(opt, "LADDR") {
                laddr = Some(args::lossy(value));
            } else if args::is(opt, "USER") {
                if value.as_ref() != b"default" {
                    return Err(CmdError::new(format!(
                        "ERR No such user '{}'",
                        args::lossy(value)
                    )));
                }
            } else if args::is(opt, "SKIPME") {
                if args::is(value, "YES") {
                    skipme = true;
                } else if args::is(value, "NO") {
                    skipme = false;
                } else {
                    return Err(SYNTAX);
                }
            } else {
                return Err(SYNTAX);
            }
            i += 2;
        }
    }
    let own_id = ctx.client.info.id;
    let mut killed = 0;
    let mut close_self = false;
    if class != Some(None) {
        for c in ctx.server.clients.snapshot() {
            if class.flatten().is_some_and(|k| k != c.class())
                || addr.as_deref().is_some_and(|a| a != c.addr.to_string())
                || laddr.as_deref().is_some_and(|a| a != c.laddr.to_string())
                || id.is_some_and(|i| i != c.id)
                || (skipme && c.id == own_id)
            {
                continue;
            }
            if c.id == own_id {
                close_self = true;
            } else {
                c.kill();
            }
            killed += 1;
        }
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::fixed("ERR No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    if close_self {
        ctx.client.close_after_reply = true;
    }
    Ok(())
}

/// Parses `ON` / `OFF` (anything else is a syntax error).
fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if args::is(arg, "ON") {
        Ok(true)
    } else if args::is(arg, "OFF") {
        Ok(false)
    } else {
        Err(SYNTAX)
    }
}

fn client_no_evict(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let on = on_off(&ctx.args[2])?;
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

fn client_no_touch(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let on = on_off(&ctx.args[2])?;
    ctx.client.info.no_touch.store(on, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

fn client_unblock(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() > 4 {
        return Err(super::introspect::subcommand_syntax_error(ctx.args));
    }
    let id = args::int(&ctx.args[2])?;
    let mut how = crate::db::unblock::TIMEOUT;
    if let Some(reason) = ctx.args.get(3) {
        if args::is(reason, "ERROR") {
            how = crate::db::unblock::ERROR;
        } else if !args::is(reason, "TIMEOUT") {
            return Err(CmdError::fixed(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    // The blocked connection answers itself once woken (unless a writer
    // serves it first).
    let mut unblocked = false;
    ctx.server.clients.for_each(|c| {
        if c.id as i64 != id {
            return;
        }
        if let Some(waiter) = c.blocked.lock().as_ref() {
            if !waiter.is_claimed() {
                waiter
                    .unblock
                    .store(how, std::sync::atomic::Ordering::Release);
                c.outbox.wake();
                unblocked = true;
            }
        }
    });
    ctx.out.int(unblocked as i64);
    Ok(())
}

fn client_pause(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() > 4 {
        return Err(super::introspect::subcommand_syntax_error(ctx.args));
    }
    let mut all = true;
    if let Some(mode) = ctx.args.get(3) {
        if args::is(mode, "WRITE") {
            all = false;
        } else if !args::is(mode, "ALL") {
            return Err(CmdError::fixed(
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ));
        }
    }
    let ms = args::int_or(
        &ctx.args[2],
        CmdError::fixed("ERR timeout is not an integer or out of range"),
    )?;
    if ms < 0 {
        return Err(CmdError::fixed("ERR timeout is negative"));
    }
    let now = crate::util::now_ms();
    let server = ctx.server;
    server.pause.start(now.saturating_add(ms), all, now);
    // Nothing expires while clients are paused (the data set stays as the
    // pause found it); a MULTI issuing the pause still sees its own clock.
    server.keyspace.hold_expiry(server.pause.until_ms());
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.server.pause.end();
    ctx.server.keyspace.hold_expiry(0);
    ctx.out.ok();
    Ok(())
}

fn client_reply(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mode = &ctx.args[2];
    if args::is(mode, "ON") {
        ctx.client.reply_off = false;
        ctx.client.reply_skip = false;
        ctx.out.ok();
    } else if args::is(mode, "OFF") {
        ctx.client.reply_off = true;
    } else if args::is(mode, "SKIP") {
        if !ctx.client.reply_off {
            ctx.client.reply_skip_next = true;
        }
    } else {
        return Err(SYNTAX);
    }
    Ok(())
}

fn client_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    super::introspect::write_help(
        ctx.out,
        "CLIENT",
        &[
            "GETNAME",
            "    The name of this connection.",
            "ID",
            "    The id of this connection.",
            "INFO",
            "    Details of this connection, in CLIENT LIST's format.",
            "KILL <ip:port>",
            "    Close the connection from that address.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Close the connections matching every filter given:",
            "    * ID <client-id>",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "    * USER <username>",
            "    * ADDR <ip:port>",
            "    * LADDR <ip:port>",
            "    * SKIPME (YES|NO)  (YES is the default: the caller is spared)",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <client-id> ...]",
            "    One line of details per connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect this connection from client eviction.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Hold clients' commands (all, or only writes) for <timeout> milliseconds.",
            "UNPAUSE",
            "    End a pause.",
            "REPLY (ON|OFF|SKIP)",
            "    Turn this connection's replies on or off, or skip the next one.",
            "NO-TOUCH (ON|OFF)",
            "    Keep this connection's reads from updating keys' access time.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Record the client library's name or version.",
            "SETNAME <name>",
            "    Name this connection.",
        ],
    );
    Ok(())
}

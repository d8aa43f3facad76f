//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//!
//! The EVAL family is `EXCLUSIVE`: it enters through the exclusive gate and
//! holds every shard, so no other client's command interleaves with a
//! script on either worker, and a script may touch any key, declared or
//! not, at the same speed. Each `redis.call` runs as EXEC runs a queued
//! command: admitted with the script caller (`Registry::admit_script`),
//! then `Registry::execute` on the script's view, which counts, logs its
//! effects and feeds MONITOR as if sent alone. The view's effects, events
//! and ready keys are handed on once, after the script, by the EVAL's own
//! `execute`: the AOF gets the script's writes (wrapped in MULTI/EXEC when
//! there are several), blocked clients are served after the script.

use super::args;
use super::flags::*;
use super::introspect::write_help;
// Redis's getkeys for EVAL is ZMPOP's: `numkeys` keys after the count.
use super::spec::{bind, bind_with, container, CommandSpec, Ctx};
use super::zsets::count_then_keys_at_2;
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::script::{self, flag, Host};
use bytes::Bytes;
use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The scripting family's bindings.
pub const COMMANDS: &[CommandSpec] = &[
    bind_with("eval", eval, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    bind_with("evalsha", evalsha, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    bind_with("eval_ro", eval_ro, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    bind_with("evalsha_ro", evalsha_ro, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    container("script", SCRIPT_SUBCOMMANDS),
    bind_with("fcall", fcall, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    bind_with("fcall_ro", fcall_ro, EXCLUSIVE).with_getkeys(count_then_keys_at_2),
    container("function", FUNCTION_SUBCOMMANDS),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    bind("function|load", function_load),
    bind("function|delete", function_delete),
    bind("function|dump", function_dump),
    bind("function|restore", function_restore),
    bind("function|flush", function_flush),
    bind("function|kill", function_kill),
    bind("function|list", function_list),
    bind("function|stats", function_stats),
    bind("function|help", function_help),
];

const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    bind("script|load", script_load),
    bind("script|exists", script_exists),
    bind("script|flush", script_flush),
    bind("script|kill", script_kill),
    bind("script|help", script_help),
];

const NOSCRIPT_ERROR: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn eval(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    eval_generic(ctx, db, false, false)
}

fn evalsha(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    eval_generic(ctx, db, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    eval_generic(ctx, db, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    eval_generic(ctx, db, true, true)
}

/// What runs a script's commands: the caller's context and the view
/// holding every shard.
struct ScriptHost<'c, 'v, 'k> {
    server: &'c crate::state::Shared,
    client: &'c mut super::spec::ClientState,
    registry: &'static super::spec::Registry,
    view: &'v mut DbView<'k>,
    /// The EVAL's own arguments (its declared keys).
    eval_args: &'c [Bytes],
    read_only: bool,
    reply: Reply,
    start: Instant,
    threshold: Duration,
    busy: bool,
    /// The AOF was on when the script started (`redis.set_repl` can only
    /// turn logging off for the script's next writes).
    logging: bool,
    /// SHUTDOWN NOSAVE ended the script.
    shutdown: bool,
    /// An EVAL or a function (which BUSY text others get).
    kind: crate::gate::BusyKind,
    /// Answers this worker's other clients once the script is busy.
    responder: super::busy::Responder,
}

impl Host for ScriptHost<'_, '_, '_> {
    fn call(&mut self, args: &[Bytes], resp: u8) -> Result<&[u8], Cow<'static, str>> {
        let registry = self.registry;
        let server = self.server;
        let spec = match (registry.admit_script)(server, registry, args, self.read_only) {
            Ok(spec) => spec,
            // Errors that carry their own code keep it.
            Err(e) if e.starts_with("MISCONF ") => return Err(format!("-{e}").into()),
            Err(e) => return Err(e),
        };
        if spec.has(WRITE) {
            server.scripts.wrote.store(true, Ordering::SeqCst);
        }
        self.reply.buf.clear();
        self.reply.resp = resp;
        // Client tracking remembers the script's declared keys when it
        // reads, not the keys of the command (Redis 7.0).
        let tracking = self.client.tracking;
        self.client.tracking = 0;
        let mut sub = Ctx {
            server,
            client: &mut *self.client,
            args,
            out: &mut self.reply,
            registry,
        };
        (registry.execute)(spec, &mut sub, Some(&mut *self.view));
        self.client.tracking = tracking;
        if tracking != 0 && spec.has(READONLY) {
            if let Some(eval) = registry.lookup(&self.eval_args[0]) {
                super::tracking::remember_keys(eval, self.client, self.eval_args, self.view);
            }
        }
        Ok(&self.reply.buf)
    }

    fn interrupt(&mut self) -> bool {
        let server = self.server;
        if !self.busy && self.start.elapsed() >= self.threshold {
            self.busy = true;
            let kill = match self.kind {
                crate::gate::BusyKind::Eval => "SCRIPT KILL",
                crate::gate::BusyKind::Function => "FUNCTION KILL",
            };
            crate::warning!(
                "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {kill} command.",
                self.start.elapsed().as_millis()
            );
            server.keyspace.gate().declare_busy(self.kind);
        }
        if self.busy {
            self.responder.poll(server);
        }
        if server.shutting_down.load(Ordering::Relaxed) {
            self.shutdown = true;
            return true;
        }
        server.keyspace.gate().kill_requested()
    }

    fn set_repl(&mut self, flags: u32) {
        self.view.logging = self.logging && flags & 1 != 0;
    }

    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool> {
        // Only the default user, allowed everything: any known command.
        self.registry.resolve(args).ok().map(|_| true)
    }
}

fn eval_generic(ctx: &mut Ctx<'_>, view: &mut DbView<'_>, by_sha: bool, ro: bool) -> CmdResult {
    let server = ctx.server;
    let cache = &server.scripts;
    // EVAL shows in MONITOR first, before the commands of its script.
    super::monitor::monitor_feed_first(ctx);
    if by_sha && ctx.args[1].len() != 40 {
        return Err(CmdError::fixed(NOSCRIPT_ERROR));
    }
    let numkeys = args::int(&ctx.args[2])?;
    let argc = ctx.args.len() as i64;
    if numkeys > argc - 3 {
        return Err(CmdError::fixed(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::fixed("ERR Number of keys can't be negative"));
    }
    let numkeys = numkeys as usize;
    let body = ctx.args[1].clone();
    let found = script::with_vm(cache, |vm| {
        let script = if by_sha {
            cache.get(&body).ok_or_else(|| NOSCRIPT_ERROR.to_string())?
        } else {
            script::load(cache, vm, &body)?
        };
        script::ensure_compiled(vm, &script)?;
        Ok::<_, String>(script)
    });
    let script = match found {
        Ok(Ok(script)) => script,
        Ok(Err(e)) | Err(e) => return Err(CmdError::new(e)),
    };
    run_prepared(ctx, view, Prepared::Script(script), ro, numkeys)
}

/// What a prepared EVAL or FCALL runs.
enum Prepared {
    Script(std::sync::Arc<script::Script>),
    Function {
        name: String,
        flags: u32,
        generation: u64,
        codes: Vec<Bytes>,
    },
}

/// Runs a resolved script or function with the first `numkeys` arguments
/// after the count as its keys.
fn run_prepared(
    ctx: &mut Ctx<'_>,
    view: &mut DbView<'_>,
    target: Prepared,
    ro: bool,
    numkeys: usize,
) -> CmdResult {
    let server = ctx.server;
    let cache = &server.scripts;
    let (flags, kind) = match &target {
        Prepared::Script(script) => (script.flags, crate::gate::BusyKind::Eval),
        Prepared::Function { flags, .. } => (*flags, crate::gate::BusyKind::Function),
    };
    let compat = flags & flag::EVAL_COMPAT != 0;
    if !compat && flags & flag::NO_WRITES == 0 {
        if let Some(e) = refused_script_writes(ctx) {
            return Err(CmdError::new(e));
        }
        if ro {
            return Err(CmdError::fixed(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
    }
    let read_only = ro || (!compat && flags & flag::NO_WRITES != 0);
    let threshold = server.config.read().int("busy-reply-threshold").max(0) as u64;
    let keys = &ctx.args[3..3 + numkeys];
    let argv = &ctx.args[3 + numkeys..];
    // A script's SELECT is its own; blocking commands answer as in MULTI.
    let db = ctx.client.db;
    let in_exec = ctx.client.in_exec;
    ctx.client.in_exec = true;
    ctx.client.in_script = true;
    cache.wrote.store(false, Ordering::SeqCst);
    cache.running.store(true, Ordering::SeqCst);
    if let Prepared::Function { name, .. } = &target {
        *cache.running_call.lock() = Some(script::RunningCall {
            name: Bytes::copy_from_slice(name.as_bytes()),
            command: ctx.args.to_vec(),
            started: Instant::now(),
        });
    }
    let logging = view.logging;
    let Ctx {
        server,
        client,
        out,
        registry,
        args,
    } = &mut *ctx;
    let mark = out.mark();
    let responder = super::busy::Responder::new(client.worker.0, client.info.id);
    let mut host = ScriptHost {
        server,
        client,
        registry,
        view: &mut *view,
        eval_args: args,
        read_only,
        reply: Reply::with_capacity(2, 256),
        start: Instant::now(),
        threshold: Duration::from_millis(threshold),
        busy: false,
        logging,
        shutdown: false,
        kind,
        responder,
    };
    cache
        .running_function
        .store(kind == crate::gate::BusyKind::Function, Ordering::SeqCst);
    let ran = script::with_vm(cache, |vm| match &target {
        Prepared::Script(script) => vm.run(&script.sha, keys, argv, &mut host, threshold > 0, out),
        Prepared::Function {
            name,
            generation,
            codes,
            ..
        } => {
            vm.sync_functions(*generation, codes.iter().map(|c| &c[..]));
            vm.run_function(name, keys, argv, &mut host, threshold > 0, out)
        }
    });
    if let Err(e) = ran {
        out.error(&e);
    }
    let shutdown = host.shutdown;
    cache.running.store(false, Ordering::SeqCst);
    *cache.running_call.lock() = None;
    view.logging = logging;
    ctx.client.in_exec = in_exec;
    ctx.client.in_script = false;
    ctx.client.select(db);
    view.db = db;
    if shutdown {
        // SHUTDOWN NOSAVE ended it: the server exits, nothing replies.
        ctx.out.buf.truncate(mark);
        ctx.client.close_after_reply = true;
    }
    Ok(())
}

/// Redis's refusal of a script that may write while writes are refused
/// (the text for scripts, which names the `no-writes` flag).
fn refused_script_writes(ctx: &Ctx<'_>) -> Option<String> {
    let server = ctx.server;
    if server.persistence.writes_refused.load(Ordering::Relaxed) {
        return Some("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into());
    }
    let aof = &server.aof;
    if aof.is_logging() && !aof.last_write_ok.load(Ordering::Relaxed) {
        return Some(format!(
            "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {}",
            aof.last_write_error.lock()
        ));
    }
    None
}

fn script_load(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let cache = &ctx.server.scripts;
    let body = ctx.args[2].clone();
    match script::with_vm(cache, |vm| script::load(cache, vm, &body)) {
        Ok(Ok(script)) => {
            ctx.out.bulk(&script.sha);
            Ok(())
        }
        Ok(Err(e)) | Err(e) => Err(CmdError::new(e)),
    }
}

fn script_exists(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let cache = &ctx.server.scripts;
    ctx.out.array(ctx.args.len() - 2);
    for sha in &ctx.args[2..] {
        ctx.out.int(cache.get(sha).is_some() as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() == 3 {
        let mode = &ctx.args[2];
        if !mode.eq_ignore_ascii_case(b"sync") && !mode.eq_ignore_ascii_case(b"async") {
            return Err(CmdError::fixed(
                "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            ));
        }
    } else if ctx.args.len() > 3 {
        return Err(CmdError::fixed(
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        ));
    }
    // Every VM starts afresh at its next script (the cache's generation).
    ctx.server.scripts.flush();
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    kill(ctx, false)
}

fn function_kill(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    kill(ctx, true)
}

/// SCRIPT KILL and FUNCTION KILL (`function`): each stops only its own kind.
fn kill(ctx: &mut Ctx<'_>, function: bool) -> CmdResult {
    super::busy::kill_running(ctx.server, function)?;
    ctx.out.ok();
    Ok(())
}

fn script_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    For each digest, 1 if that script is cached, else 0.",
            "FLUSH [ASYNC|SYNC]",
            "    Empty the script cache (both modes free it at once).",
            "KILL",
            "    Stop the running script, if it has not written yet.",
            "LOAD <script>",
            "    Cache a script without running it and return its SHA1 digest.",
        ],
    );
    Ok(())
}

fn fcall(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    fcall_generic(ctx, db, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    fcall_generic(ctx, db, true)
}

fn fcall_generic(ctx: &mut Ctx<'_>, view: &mut DbView<'_>, ro: bool) -> CmdResult {
    // FCALL shows in MONITOR first, before the commands of its function.
    super::monitor::monitor_feed_first(ctx);
    let name = String::from_utf8_lossy(&ctx.args[1]).into_owned();
    let (info, generation, codes) = {
        let registry = ctx.server.scripts.functions.lock();
        let Some((_, info)) = registry.function(&name) else {
            return Err(CmdError::fixed("ERR Function not found"));
        };
        let codes = registry
            .libraries
            .values()
            .map(|lib| {
                let at = lib.code.iter().position(|&b| b == b'\n').unwrap_or(0);
                lib.code.slice(at..)
            })
            .collect();
        (info, registry.generation, codes)
    };
    let numkeys = std::str::from_utf8(&ctx.args[2])
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(CmdError::fixed("ERR Bad number of keys provided"))?;
    if numkeys > ctx.args.len() as i64 - 3 {
        return Err(CmdError::fixed(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::fixed("ERR Number of keys can't be negative"));
    }
    let target = Prepared::Function {
        name: info.name,
        flags: info.flags,
        generation,
        codes,
    };
    run_prepared(ctx, view, target, ro, numkeys as usize)
}

fn function_load(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut replace = false;
    let argc = ctx.args.len();
    for arg in &ctx.args[2..argc - 1] {
        if arg.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else {
            return Err(CmdError::new(format!(
                "ERR Unknown option given: {}",
                args::lossy(arg)
            )));
        }
    }
    if argc < 3 {
        return Err(CmdError::fixed("ERR Function code is missing"));
    }
    let code = ctx.args[argc - 1].clone();
    let cache = &ctx.server.scripts;
    let library = script::compile_library(cache, code, replace).map_err(err)?;
    let name = library.name.clone();
    cache.functions.lock().link(library, replace).map_err(err)?;
    // A change: counted for the save rules and logged to the AOF as sent.
    db.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DUMP: every library as a payload FUNCTION RESTORE takes.
fn function_dump(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let payload = {
        let registry = ctx.server.scripts.functions.lock();
        crate::rdb::encode::functions_payload(registry.libraries.values().map(|l| &l.code[..]))
    };
    ctx.out.bulk(&payload);
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
fn function_restore(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    use script::functions::RestorePolicy;
    if ctx.args.len() > 4 {
        return Err(super::introspect::subcommand_syntax_error(ctx.args));
    }
    let policy =
        match ctx.args.get(3) {
            None => RestorePolicy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
            Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
            Some(_) => return Err(CmdError::fixed(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let codes = crate::rdb::decode::functions_payload(&ctx.args[2]).map_err(CmdError::new)?;
    let cache = &ctx.server.scripts;
    let mut libraries = Vec::with_capacity(codes.len());
    for code in codes {
        // Each against the payload's own libraries, as Redis loads them
        // into a context of their own first.
        if let Ok((_, name, _)) = script::functions::metadata(&code) {
            if libraries
                .iter()
                .any(|l: &script::functions::Library| l.name == name)
            {
                return Err(CmdError::new(format!(
                    "ERR Library '{name}' already exists"
                )));
            }
        }
        let library = script::compile_library(cache, code.into(), true).map_err(err)?;
        libraries.push(library);
    }
    cache
        .functions
        .lock()
        .restore(libraries, policy)
        .map_err(err)?;
    db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// A function-library error (Redis's text without its code) as a reply.
fn err(text: String) -> CmdError {
    CmdError::new(format!("ERR {text}"))
}

fn function_delete(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(&ctx.args[2]).into_owned();
    if !ctx.server.scripts.functions.lock().delete(&name) {
        return Err(CmdError::fixed("ERR Library not found"));
    }
    db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() == 3 {
        let mode = &ctx.args[2];
        if !mode.eq_ignore_ascii_case(b"sync") && !mode.eq_ignore_ascii_case(b"async") {
            return Err(CmdError::fixed(
                "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
    } else if ctx.args.len() > 3 {
        return Err(CmdError::fixed(
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    ctx.server.scripts.functions.lock().flush();
    db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<Bytes> = None;
    let mut i = 2;
    while i < ctx.args.len() {
        let arg = &ctx.args[i];
        if arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if arg.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            i += 1;
            let Some(p) = ctx.args.get(i) else {
                return Err(CmdError::fixed("ERR library name argument was not given"));
            };
            pattern = Some(p.clone());
        } else {
            return Err(CmdError::new(format!(
                "ERR Unknown argument {}",
                args::lossy(arg)
            )));
        }
        i += 1;
    }
    let registry = ctx.server.scripts.functions.lock();
    let libs: Vec<_> = registry
        .libraries
        .values()
        .filter(|lib| {
            pattern
                .as_ref()
                .is_none_or(|p| crate::util::glob::glob_match(p, lib.name.as_bytes()))
        })
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = script::FLAG_NAMES
                .iter()
                .filter(|(_, bit)| f.flags & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    super::busy::function_stats(ctx.server, ctx.out);
    Ok(())
}

fn function_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Load a library of functions (`#!lua name=<library>`); REPLACE an existing one.",
            "DELETE <LIBRARY NAME>",
            "    Remove a library and its functions.",
            "DUMP",
            "    Every library, as one payload for FUNCTION RESTORE.",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Load the libraries of a DUMP payload: after dropping all (FLUSH), beside",
            "    them failing on a name already taken (APPEND, the default), or replacing",
            "    libraries of the same name (REPLACE).",
            "KILL",
            "    Stop the running function, if it has not written yet.",
            "FLUSH [ASYNC|SYNC]",
            "    Remove every library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    The libraries, their functions and flags (and code).",
            "STATS",
            "    Library and function counts.",
        ],
    );
    Ok(())
}

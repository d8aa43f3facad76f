//! The one pre-check path: everything Redis's `processCommand` decides
//! before a command runs, in its order.
//!
//! [`admit`] resolves a request and returns what to do with it: run it,
//! queue it (inside MULTI), refuse it with an error, or hold it until
//! something changes (CLIENT PAUSE, a long command holding every shard).
//! Every caller that runs commands goes through it, with a [`Caller`]
//! saying which checks apply: a client's connection (all of them), the AOF
//! loader (only that the command exists with a valid arity) and scripts
//! (what Redis checks for `redis.call`). EXEC runs its queue without
//! re-admission: each command was admitted when it was queued, and EXEC's
//! own admission judges the queue as a whole (a queued write makes EXEC a
//! write, as in Redis).
//!
//! The checks, in order: the command exists and its arity fits (with the
//! `host:`/`post` cross-protocol guard); protected commands
//! (`enable-debug-command`); authentication; MULTI-forbidden
//! commands; refused writes after a failed save or AOF write (MISCONF);
//! LOADING; another command's exclusive hold (BUSY once it is past
//! `busy-reply-threshold`, a wait before); CLIENT PAUSE; then MULTI
//! queueing, with RESP2's subscribed-mode restriction (only the
//! subscription commands, PING, QUIT and RESET) between MISCONF and
//! LOADING. ACL permissions, OOM under `maxmemory` and READONLY replicas
//! take their places in this order when those features arrive.

use super::flags::{
    ALLOW_BUSY, DENYOOM, LOADING, MAY_REPLICATE, NOSCRIPT, NO_AUTH, NO_MULTI, PROTECTED, STALE,
    TX_CONTROL, WRITE,
};
use super::spec::{ClientState, CommandSpec, Registry};
use crate::error::CmdError;
use crate::state::Shared;
use bytes::Bytes;
use std::borrow::Cow;
use std::sync::atomic::Ordering;

/// Who asks to run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A client's connection: every check.
    Client,
    /// The AOF loader replaying the log: only existence and arity.
    Replay,
    /// A script's `redis.call`; `read_only` for EVAL_RO and `no-writes`.
    Script {
        /// The script may not write.
        read_only: bool,
    },
}

/// What to do with a request.
pub enum Admission {
    /// Run it now.
    Run(&'static CommandSpec),
    /// Inside MULTI: queue it and reply `+QUEUED`.
    Queue(&'static CommandSpec),
    /// Refuse it.
    Reject(Rejection),
    /// Hold it and ask again once the wait is over.
    Wait(Wait),
}

/// Why a request is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// CLIENT PAUSE: wait for the pause to end (see [`crate::pause`]).
    Pause,
    /// A long command holds every shard: wait for the gate to change.
    Exclusive,
}

/// A refused request: the error, and what else it does to the client.
pub struct Rejection {
    /// The error text (without `-` and CRLF).
    pub error: Cow<'static, str>,
    /// The command the error is about, if it resolved (its rejected-calls
    /// counter counts it).
    pub spec: Option<&'static CommandSpec>,
    /// The refused command was EXEC: the transaction is discarded and the
    /// reply is an EXECABORT naming the reason.
    pub aborts_exec: bool,
    /// The connection is closed without a reply (a cross-protocol attack).
    pub close: bool,
}

impl Rejection {
    fn new(error: impl Into<Cow<'static, str>>, spec: Option<&'static CommandSpec>) -> Self {
        let aborts_exec = spec.is_some_and(|s| s.name == "exec");
        Rejection {
            error: error.into(),
            spec,
            aborts_exec,
            close: false,
        }
    }
}

/// Redis's reply after a failed background save.
pub const MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's refusal of DEBUG under `enable-debug-command no` (or `local`,
/// from a remote connection).
const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Redis's reply to commands not allowed while the dataset loads.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// Decides what to do with `args` for `caller`.
pub fn admit(
    shared: &Shared,
    registry: &'static Registry,
    client: &mut ClientState,
    args: &[Bytes],
    caller: Caller,
) -> Admission {
    let resolved = match caller {
        Caller::Client => registry.resolve_cached(args, &mut client.last_command),
        _ => registry.resolve(args),
    };
    let spec = match resolved {
        Ok(spec) => spec,
        Err(e) => return Admission::Reject(unresolved(registry, args, e, caller)),
    };
    let reject = |error: Cow<'static, str>| Admission::Reject(Rejection::new(error, Some(spec)));
    match caller {
        Caller::Replay => return Admission::Run(spec),
        Caller::Script { read_only } => {
            return match script_checks(shared, spec, read_only) {
                Ok(()) => Admission::Run(spec),
                Err(error) => reject(error),
            };
        }
        Caller::Client => {}
    }
    // Protected commands (DEBUG; MODULE has no binding) per
    // `enable-debug-command`: no, yes, or local connections only.
    if spec.has(PROTECTED) && spec.name == "debug" {
        let allowed = crate::config::protected_action_allowed(
            shared.config.read().get("enable-debug-command"),
            client.info.addr.ip().is_loopback(),
        );
        if !allowed {
            return reject(DEBUG_NOT_ALLOWED.into());
        }
    }
    if !client.authenticated && !spec.has(NO_AUTH) {
        return reject("NOAUTH Authentication required.".into());
    }
    if client.multi.is_some() && spec.has(NO_MULTI) {
        return reject("ERR Command not allowed inside a transaction".into());
    }
    // EXEC is judged by the commands it would run. (The state checks below
    // read one flag each first: this runs for every command.)
    let is_exec = spec.has(TX_CONTROL) && spec.name == "exec";
    let queued = |f: u32| {
        is_exec
            && client.multi.as_ref().is_some_and(|m| {
                m.queue
                    .iter()
                    .any(|q| effective_flags(shared, q.spec, &q.args) & f != 0)
            })
    };
    let queued_lacks = |f: u32| {
        is_exec
            && client
                .multi
                .as_ref()
                .is_some_and(|m| m.queue.iter().any(|q| !q.spec.has(f)))
    };
    if let Some(error) = refused_writes(shared) {
        let flags = effective_flags(shared, spec, args);
        if flags & WRITE != 0 || queued(WRITE) || spec.name == "ping" {
            return reject(error);
        }
    }
    if client.info.subscribed()
        && !allowed_when_subscribed(spec)
        && client.info.resp.load(Ordering::Relaxed) == 2
    {
        return reject(
            format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )
            .into(),
        );
    }
    let loading = shared.persistence.loading.load(Ordering::Relaxed);
    if loading && (!spec.has(LOADING) || queued_lacks(LOADING)) {
        return reject(LOADING_ERROR.into());
    }
    let gate = shared.keyspace.gate();
    if gate.is_held() && !spec.has(ALLOW_BUSY) {
        return match gate.busy() {
            Some(kind) => reject(kind.error().into()),
            None => Admission::Wait(Wait::Exclusive),
        };
    }
    if paused(shared) {
        let may_change = effective_flags(shared, spec, args) & (WRITE | MAY_REPLICATE) != 0
            || queued(WRITE | MAY_REPLICATE);
        if may_change || shared.pause.holds_all() {
            // CLIENT LIST shows the held command, as Redis does.
            *client.info.last_cmd.lock() = spec.name;
            return Admission::Wait(Wait::Pause);
        }
    }
    if client.multi.is_some() && !spec.has(TX_CONTROL) {
        return Admission::Queue(spec);
    }
    Admission::Run(spec)
}

/// The flags admission judges `spec` run with `args` by: its own, except
/// for a script with a shebang (EVAL, EVALSHA and their `_RO` forms),
/// whose flags say whether it writes, as Redis's `evalGetCommandFlags`
/// decides. Only asked on the paths where writes matter (a pause,
/// refused writes), so the digest is not computed for every EVAL.
fn effective_flags(shared: &Shared, spec: &CommandSpec, args: &[Bytes]) -> u32 {
    use crate::script::flag;
    let by_sha = match spec.name {
        "eval" | "eval_ro" => false,
        "evalsha" | "evalsha_ro" => true,
        "fcall" | "fcall_ro" => false,
        _ => return spec.flags,
    };
    let Some(body) = args.get(1) else {
        return spec.flags;
    };
    let script_flags = if spec.name.starts_with("fcall") {
        // A function's flags are its own (never the compatibility mode).
        let name = String::from_utf8_lossy(body);
        match shared.scripts.functions.lock().function(&name) {
            Some((_, info)) => info.flags,
            None => return spec.flags,
        }
    } else if by_sha {
        match shared.scripts.get(body) {
            Some(script) => script.flags,
            None => return spec.flags,
        }
    } else {
        match shared.scripts.get(&crate::script::sha1hex(body)) {
            Some(script) => script.flags,
            None => match crate::script::shebang_flags(body) {
                Ok((f, _)) => f,
                Err(_) => return spec.flags,
            },
        }
    };
    if script_flags & flag::EVAL_COMPAT != 0 {
        return spec.flags;
    }
    let mut flags = spec.flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if script_flags & (flag::ALLOW_OOM | flag::NO_WRITES) == 0 {
        flags |= DENYOOM;
    }
    if script_flags & flag::NO_WRITES == 0 {
        flags |= WRITE;
    }
    if script_flags & flag::ALLOW_STALE != 0 {
        flags |= STALE;
    }
    flags
}

/// Admission for a script's `redis.call` (see `spec::ScriptAdmit`): the
/// command to run, or the error text.
pub fn for_script(
    shared: &Shared,
    registry: &'static Registry,
    args: &[Bytes],
    read_only: bool,
) -> Result<&'static CommandSpec, Cow<'static, str>> {
    // The script checks read nothing of the client.
    let resolved = match registry.resolve(args) {
        Ok(spec) => spec,
        Err(e) => {
            return Err(unresolved(registry, args, e, Caller::Script { read_only }).error);
        }
    };
    script_checks(shared, resolved, read_only).map(|()| resolved)
}

/// What Redis checks before a script runs `spec`, in its order.
fn script_checks(
    shared: &Shared,
    spec: &'static CommandSpec,
    read_only: bool,
) -> Result<(), Cow<'static, str>> {
    if spec.has(NOSCRIPT) {
        return Err("This Redis command is not allowed from script".into());
    }
    // Scripts count commands that may replicate as writes.
    if read_only && spec.flags & (WRITE | MAY_REPLICATE) != 0 {
        return Err("Write commands are not allowed from read-only scripts.".into());
    }
    match refused_writes(shared).filter(|_| spec.has(WRITE)) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The commands RESP2's subscribed mode allows.
fn allowed_when_subscribed(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The rejection of a request that names no command, or has a bad arity.
fn unresolved(registry: &Registry, args: &[Bytes], error: CmdError, caller: Caller) -> Rejection {
    let spec = registry.lookup(&args[0]);
    let text: Cow<'static, str> = match caller {
        Caller::Script { .. } if spec.is_some() => {
            "Wrong number of args calling Redis command from script".into()
        }
        Caller::Script { .. } => "Unknown Redis command called from script".into(),
        _ => error.text().to_string().into(),
    };
    let mut rejection = Rejection::new(text, spec);
    // An EXEC with a bad arity aborts the transaction too.
    rejection.aborts_exec = args[0].eq_ignore_ascii_case(b"exec");
    // A browser tricked into posting to the server sends HTTP: Redis closes
    // such connections at once, answering nothing.
    if caller == Caller::Client
        && (args[0].eq_ignore_ascii_case(b"host:") || args[0].eq_ignore_ascii_case(b"post"))
    {
        crate::warning!(
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted."
        );
        rejection.close = true;
    }
    rejection
}

/// MISCONF, when writes are refused: after a failed save with
/// `stop-writes-on-bgsave-error`, or a failed AOF write.
#[inline]
fn refused_writes(shared: &Shared) -> Option<Cow<'static, str>> {
    if shared.persistence.writes_refused.load(Ordering::Relaxed) {
        return Some(MISCONF_RDB.into());
    }
    let aof = &shared.aof;
    if aof.is_logging() && !aof.last_write_ok.load(Ordering::Relaxed) {
        return Some(
            format!(
                "MISCONF Errors writing to the AOF file: {}",
                aof.last_write_error.lock()
            )
            .into(),
        );
    }
    None
}

/// True while a CLIENT PAUSE is in force (one load when there is none).
#[inline]
fn paused(shared: &Shared) -> bool {
    let until = shared.pause.until_ms();
    until != 0 && until > crate::util::now_ms()
}

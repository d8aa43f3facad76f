//! Commands: the declarative command table and dispatch.
//!
//! Every command is one [`CommandSpec`] entry in its family's `COMMANDS`
//! table (`strings.rs`, `hashes.rs`, ...). The entry drives everything about
//! the command outside its handler: lookup, arity checks, flags (what MULTI,
//! `COMMAND` and INFO see), key positions (which keyspace shards get locked)
//! and `COMMAND`'s replies.

pub mod admit;
pub mod args;
pub mod client;
pub mod connection;
pub mod hashes;
pub mod introspect;
pub mod keys;
pub mod lists;
#[rustfmt::skip]
pub mod meta;
pub mod persistence;
pub mod server;
pub mod strings;
pub mod transactions;

use crate::db::DbView;
use crate::error::{wrong_arity, CmdError, CmdResult};
use crate::reply::Reply;
use crate::state::Shared;
use crate::util::counter::StripedGroup;
use bytes::Bytes;
use client::ClientState;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

/// Command flags, as `COMMAND INFO` names them.
pub mod flags {
    /// May modify the keyspace.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads the keyspace.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use (refused when over `maxmemory`).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed from scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading the dataset.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 8;
    /// Not shown to MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not logged in the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 11;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even if read-only.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Refused while the dataset loads in the background.
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;
    /// Internal: locks every keyspace shard (whole-keyspace commands).
    pub const ALL_SHARDS: u32 = 1 << 24;
    /// Internal: handled by the dispatcher even inside MULTI (not queued).
    pub const TX_CONTROL: u32 = 1 << 25;
    /// Internal: may hold every shard for a long time (DEBUG SLEEP, scripts
    /// later): enters through the keyspace's exclusive gate, so that other
    /// workers wait for it (or answer BUSY) without blocking on a mutex.
    pub const EXCLUSIVE: u32 = 1 << 26;

    /// Names of the public flags, in `COMMAND INFO` order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's key arguments are.
#[derive(Debug, Clone, Copy)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Keys at `first`, `first+step`, ... up to `last` (negative counts from
    /// the end: -1 is the last argument).
    Range {
        /// Index of the first key.
        first: i32,
        /// Index of the last key.
        last: i32,
        /// Distance between keys.
        step: i32,
    },
    /// `numkeys` at index `at`, followed by that many keys (LMPOP, ...).
    Numkeys {
        /// Index of the `numkeys` argument.
        at: usize,
    },
}

impl KeySpec {
    /// One key, at index 1.
    pub const FIRST: KeySpec = KeySpec::Range {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument from index 1 on is a key.
    pub const ALL_ARGS: KeySpec = KeySpec::Range {
        first: 1,
        last: -1,
        step: 1,
    };
    /// Keys at 1 and 2.
    pub const TWO: KeySpec = KeySpec::Range {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Key, value pairs from index 1 on (MSET).
    pub const PAIRS: KeySpec = KeySpec::Range {
        first: 1,
        last: -1,
        step: 2,
    };

    /// Indexes of the key arguments in `args`. Out-of-range positions (a
    /// malformed `numkeys`) yield no keys; the handler reports the error.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        self.key_positions(args).collect()
    }

    /// Like [`KeySpec::key_indexes`], without allocating (the dispatcher
    /// calls it for every command).
    pub fn key_positions(&self, args: &[Bytes]) -> std::iter::StepBy<std::ops::Range<usize>> {
        let argc = args.len() as i64;
        let (start, end, step) = match *self {
            KeySpec::None => (0, 0, 1),
            KeySpec::Range { first, last, step } => {
                let last = if last < 0 {
                    argc + last as i64
                } else {
                    (last as i64).min(argc - 1)
                };
                if step <= 0 || first < 0 {
                    (0, 0, 1)
                } else {
                    let end = (last + 1).clamp(0, argc).max(first as i64);
                    (first as i64, end, step as usize)
                }
            }
            KeySpec::Numkeys { at } => {
                let n = args
                    .get(at)
                    .and_then(|a| crate::protocol::parse_i64(a))
                    .filter(|&n| n > 0)
                    .unwrap_or(0);
                let start = (at as i64 + 1).min(argc);
                (start, argc.min(start.saturating_add(n)), 1)
            }
        };
        (start as usize..end as usize).step_by(step)
    }

    /// `first`, `last`, `step` as `COMMAND INFO` reports them.
    pub fn legacy_range(&self) -> (i64, i64, i64) {
        match *self {
            KeySpec::None | KeySpec::Numkeys { .. } => (0, 0, 0),
            KeySpec::Range { first, last, step } => (first as i64, last as i64, step as i64),
        }
    }
}

/// The group a command belongs to (`COMMAND DOCS`, ACL categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Keyspace commands.
    Generic,
    /// Strings and numbers.
    String,
    /// Lists.
    List,
    /// Hashes.
    Hash,
    /// MULTI/EXEC/WATCH.
    Transactions,
    /// Connection management.
    Connection,
    /// Server management.
    Server,
}

impl Group {
    /// The name `COMMAND DOCS` reports.
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::List => "list",
            Group::Hash => "hash",
            Group::Transactions => "transactions",
            Group::Connection => "connection",
            Group::Server => "server",
        }
    }
}

/// A command handler. Replies go to `ctx.out`; on error nothing must have
/// been written and the dispatcher writes the error.
pub type Handler = fn(&mut Ctx<'_>, &mut DbView<'_>) -> CmdResult;

/// One entry of the command table.
pub struct CommandSpec {
    /// Lower-case name (`"hset"`, or `"client|list"` for a subcommand).
    pub name: &'static str,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    /// Bits from [`flags`].
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// Command group.
    pub group: Group,
    /// The implementation.
    pub handler: Handler,
    /// Subcommands (for container commands such as CLIENT or CONFIG).
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A table entry with no subcommands.
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        group: Group,
        handler: Handler,
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            group,
            handler,
            subcommands: &[],
        }
    }

    /// A container command (`CLIENT`, `CONFIG`, ...) whose first argument
    /// selects an entry of `subcommands`.
    pub const fn container(
        name: &'static str,
        arity: i32,
        flags: u32,
        group: Group,
        subcommands: &'static [CommandSpec],
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys: KeySpec::None,
            group,
            handler: container_without_subcommand,
            subcommands,
        }
    }

    /// A container command that also runs `handler` when called with no
    /// subcommand (`COMMAND`).
    pub const fn container_with_default(
        name: &'static str,
        arity: i32,
        flags: u32,
        group: Group,
        subcommands: &'static [CommandSpec],
        handler: Handler,
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys: KeySpec::None,
            group,
            handler,
            subcommands,
        }
    }

    /// True if every flag in `f` is set.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f == f
    }

    /// True if `argc` arguments satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The name shown in errors and stats (`client|list` for subcommands).
    pub fn full_name(&self) -> &'static str {
        self.name
    }

    /// The name of the subcommand part (`list` for `client|list`).
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }
}

fn container_without_subcommand(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    // Only reached when the container's arity check let a bare name through.
    Err(wrong_arity(&String::from_utf8_lossy(&ctx.args[0])))
}

/// Everything a handler may use besides the keyspace.
pub struct Ctx<'a> {
    /// Server-wide state.
    pub server: &'a Shared,
    /// The calling connection's state.
    pub client: &'a mut ClientState,
    /// The request, name included.
    pub args: &'a [Bytes],
    /// Where replies go.
    pub out: &'a mut Reply,
}

/// Per-command counters for INFO commandstats, striped per thread (see
/// [`StripedGroup`]).
#[derive(Default)]
pub struct CommandStats(StripedGroup<4>);

impl CommandStats {
    const CALLS: usize = 0;
    const USEC: usize = 1;
    const REJECTED: usize = 2;
    const FAILED: usize = 3;

    /// Counts a call that ran for `usec` microseconds.
    #[inline]
    pub fn record_call(&self, usec: u64, failed: bool) {
        self.0.add_to(Self::CALLS, 1);
        self.0.add_to(Self::USEC, usec);
        if failed {
            self.0.add_to(Self::FAILED, 1);
        }
    }

    /// Counts a call rejected before running (arity, MULTI queue errors, ...).
    pub fn record_rejected(&self) {
        self.0.add_to(Self::REJECTED, 1);
    }

    /// Calls that ran.
    pub fn calls(&self) -> u64 {
        self.0.get_of(Self::CALLS)
    }

    /// Total microseconds spent.
    pub fn usec(&self) -> u64 {
        self.0.get_of(Self::USEC)
    }

    /// Calls rejected before running.
    pub fn rejected_calls(&self) -> u64 {
        self.0.get_of(Self::REJECTED)
    }

    /// Calls that ran and replied with an error.
    pub fn failed_calls(&self) -> u64 {
        self.0.get_of(Self::FAILED)
    }

    /// Zeroes every counter (CONFIG RESETSTAT).
    pub fn reset(&self) {
        self.0.reset();
    }
}

/// The lookup tables' hasher: command names are not attacker-chosen keys
/// of a growing table, so a fast fixed hasher is enough.
type FastState = foldhash::fast::FixedState;

/// The command table, with a lookup index.
pub struct Registry {
    /// Top-level commands, in table order.
    pub commands: Vec<&'static CommandSpec>,
    by_name: HashMap<&'static str, usize, FastState>,
    stats: HashMap<&'static str, CommandStats, FastState>,
}

/// Every command family's table.
const FAMILIES: &[&[CommandSpec]] = &[
    strings::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    keys::COMMANDS,
    transactions::COMMANDS,
    connection::COMMANDS,
    server::COMMANDS,
    persistence::COMMANDS,
];

impl Registry {
    fn build() -> Self {
        let mut commands = Vec::new();
        let mut by_name = HashMap::with_hasher(FastState::default());
        let mut stats = HashMap::with_hasher(FastState::default());
        for family in FAMILIES {
            for spec in family.iter() {
                by_name.insert(spec.name, commands.len());
                commands.push(spec);
                stats.insert(spec.name, CommandStats::default());
                for sub in spec.subcommands {
                    stats.insert(sub.name, CommandStats::default());
                }
            }
        }
        Registry {
            commands,
            by_name,
            stats,
        }
    }

    /// The process-wide table.
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::build)
    }

    /// Looks up a top-level command, case-insensitively.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut lower = [0u8; 32];
        if name.len() > lower.len() {
            return None;
        }
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let lower = std::str::from_utf8(&lower[..name.len()]).ok()?;
        self.by_name.get(lower).map(|&i| self.commands[i])
    }

    /// Counters of a command (by full name).
    pub fn stats(&self, name: &str) -> Option<&CommandStats> {
        self.stats.get(name)
    }

    /// All counters, by full name.
    pub fn all_stats(&self) -> impl Iterator<Item = (&'static str, &CommandStats)> {
        self.stats.iter().map(|(k, v)| (*k, v))
    }
}

/// A resolved command name remembered by a client: the name exactly as the
/// client sent it, the command and its counters.
#[derive(Clone, Copy)]
pub struct ResolvedCommand {
    name: [u8; 16],
    name_len: u8,
    spec: &'static CommandSpec,
    stats: Option<&'static CommandStats>,
}

/// [`resolve`], answered from `last` when the client sends the same command
/// name (byte for byte) as last time, as clients mostly do. Only commands
/// without subcommands are remembered.
pub fn resolve_cached(
    args: &[Bytes],
    last: &mut Option<ResolvedCommand>,
) -> Result<&'static CommandSpec, CmdError> {
    if let Some(hit) = last {
        if hit.name[..hit.name_len as usize] == args[0][..] {
            return if hit.spec.arity_ok(args.len()) {
                Ok(hit.spec)
            } else {
                Err(wrong_arity(hit.spec.name))
            };
        }
    }
    let spec = resolve(args)?;
    // A container's subcommand ("object|encoding") depends on the second
    // argument too, so only plain commands are remembered.
    let plain = spec.subcommands.is_empty() && !spec.name.contains('|');
    if plain && args[0].len() <= 16 {
        let mut name = [0u8; 16];
        name[..args[0].len()].copy_from_slice(&args[0]);
        *last = Some(ResolvedCommand {
            name,
            name_len: args[0].len() as u8,
            spec,
            stats: Registry::get().stats(spec.name),
        });
    }
    Ok(spec)
}

/// Resolves `args` to the command (or subcommand) to run, or the error Redis
/// gives for an unknown command, unknown subcommand or wrong arity.
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
    let registry = Registry::get();
    let Some(spec) = registry.lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        let sub = args[1].to_ascii_lowercase();
        let found = spec
            .subcommands
            .iter()
            .find(|s| s.short_name().as_bytes() == sub.as_slice());
        return match found {
            Some(s) if s.arity_ok(args.len()) => Ok(s),
            Some(s) => Err(wrong_arity(s.name)),
            None => Err(CmdError::new(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncate_lossy(&args[1], 128),
                spec.name.to_ascii_uppercase()
            ))),
        };
    }
    if !spec.arity_ok(args.len()) {
        return Err(wrong_arity(spec.name));
    }
    Ok(spec)
}

fn truncate_lossy(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
}

/// Redis's text for an unknown command, quoting the first arguments.
fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut quoted = String::new();
    for a in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push('\'');
        quoted.push_str(&truncate_lossy(a, room));
        quoted.push_str("' ");
    }
    CmdError::new(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncate_lossy(&args[0], 128),
        quoted
    ))
}

/// What [`execute`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executed {
    /// The command ran; `failed` if it replied with an error.
    Ran {
        /// It replied with an error.
        failed: bool,
    },
    /// Nothing ran: a long command holds the exclusive gate (the caller
    /// waits for it and tries again).
    Blocked,
}

/// Like [`lock_for`], for a connection's command: `None` when a long command
/// holds the exclusive gate.
pub fn try_lock_for<'k>(
    spec: &CommandSpec,
    args: &'k [Bytes],
    keyspace: &'k crate::db::Keyspace,
    db: usize,
    now_ms: i64,
) -> Option<DbView<'k>> {
    if spec.has(flags::ALL_SHARDS) {
        keyspace.try_lock_all(db, now_ms)
    } else {
        let keys = spec.keys.key_positions(args).map(|i| &args[i][..]);
        keyspace.try_lock_keys(keys, db, now_ms)
    }
}

/// True if `spec`, run by `client` now, must enter through the exclusive
/// gate: an EXCLUSIVE command, or EXEC of a queue holding one.
fn runs_exclusive(spec: &CommandSpec, client: &ClientState) -> bool {
    spec.has(flags::EXCLUSIVE)
        || (spec.name == "exec"
            && client
                .multi
                .as_ref()
                .is_some_and(|m| m.queue.iter().any(|q| q.spec.has(flags::EXCLUSIVE))))
}

/// Locks what `spec` run with `args` needs: the shards of its keys (from
/// the table's key positions), or every shard for `ALL_SHARDS` commands,
/// waiting as long as it takes (the AOF loader).
pub fn lock_for<'k>(
    spec: &CommandSpec,
    args: &'k [Bytes],
    keyspace: &'k crate::db::Keyspace,
    db: usize,
    now_ms: i64,
) -> DbView<'k> {
    if spec.has(flags::ALL_SHARDS) {
        keyspace.lock_all(db, now_ms)
    } else {
        let keys = spec.keys.key_positions(args).map(|i| &args[i][..]);
        keyspace.lock_keys(keys, db, now_ms)
    }
}

/// After a command ran with logging on: unless it logged its own effects,
/// a write command that changed something is logged as it was sent.
fn note_effects(
    spec: &CommandSpec,
    args: &[Bytes],
    view: &mut DbView<'_>,
    dirty_before: u64,
    db: usize,
) {
    let logged_own = view.take_effect_logged();
    if spec.has(flags::WRITE) && view.dirty > dirty_before && !logged_own {
        view.effects.push(crate::aof::Effect {
            db,
            args: args.to_vec(),
        });
    }
}

/// Runs a resolved command: locks the shards its keys live in (or all of
/// them), calls the handler, writes an error reply if it failed, and updates
/// the command's counters. With `view` (inside EXEC) the caller holds the
/// locks already.
pub fn execute(
    spec: &'static CommandSpec,
    ctx: &mut Ctx<'_>,
    view: Option<&mut DbView<'_>>,
) -> Executed {
    // The command's frozen clock and the start of its duration (wall clock,
    // as Redis measures it) is the client's clock cursor: the time of its
    // last read or the end of its previous command, microseconds ago at
    // most. Clock reads are a visible share of a fast command's cost.
    let start_us = match ctx.client.clock_us {
        0 => crate::util::now_us(),
        t => t,
    };
    let errors_before = ctx.out.errors;
    let db = ctx.client.db;
    // Names the command in the bug report should the handler panic.
    let _scope = crate::crash::CommandScope::enter(ctx.client.info.id, spec.name, ctx.args.len());
    let result = match view {
        // Inside EXEC the caller already holds every shard (and appends the
        // whole transaction's effects to the log).
        Some(view) => {
            view.db = db;
            view.begin_command();
            let dirty_before = view.dirty;
            let result = (spec.handler)(ctx, view);
            if view.logging {
                note_effects(spec, ctx.args, view, dirty_before, db);
            }
            result
        }
        None => {
            let now = start_us.div_euclid(1000);
            let keyspace = &ctx.server.keyspace;
            let mut exclusive;
            let mut plain;
            let view = if runs_exclusive(spec, ctx.client) {
                let Some(held) = keyspace.enter_exclusive(db, now) else {
                    return Executed::Blocked;
                };
                exclusive = held;
                exclusive.view()
            } else {
                let Some(locked) = try_lock_for(spec, ctx.args, keyspace, db, now) else {
                    return Executed::Blocked;
                };
                plain = locked;
                &mut plain
            };
            view.no_touch = ctx.client.info.no_touch.load(Ordering::Relaxed);
            view.access = ctx.server.hot.access_policy();
            let aof = &ctx.server.aof;
            view.logging = aof.is_logging();
            let result = (spec.handler)(ctx, view);
            if view.logging {
                note_effects(spec, ctx.args, view, 0, db);
                // Appended before the locks drop: the log's order of
                // changes to a key is the order they happened in.
                if !view.effects.is_empty() {
                    ctx.client.aof_offset = aof.append(&view.effects);
                } else if aof.policy() == crate::aof::FsyncPolicy::Always {
                    // A reply may show other clients' changes: it waits
                    // until they are durable too, as in Redis.
                    ctx.client.aof_offset = ctx.client.aof_offset.max(aof.appended());
                }
            }
            ctx.server.stats.record_view(view);
            result
        }
    };
    if let Err(e) = &result {
        ctx.out.error(e.text());
    }
    let failed = ctx.out.errors > errors_before;
    let end_us = crate::util::now_us();
    ctx.client.clock_us = end_us;
    let elapsed_us = end_us.saturating_sub(start_us).max(0) as u64;
    server::slowlog_record(ctx, spec, elapsed_us);
    server::monitor_feed(ctx, spec);
    let stats = match ctx.client.last_command {
        Some(hit) if std::ptr::eq(hit.spec, spec) => hit.stats,
        _ => Registry::get().stats(spec.name),
    };
    if let Some(stats) = stats {
        stats.record_call(elapsed_us, failed);
    }
    Executed::Ran { failed }
}

//! What the command families are written against: one command's table
//! entry ([`CommandSpec`], joined from its generated facts and its binding
//! by [`bind`] and friends), the handler's context ([`Ctx`]), a
//! connection's own state as commands see and change it ([`ClientState`]),
//! per-command counters, and the assembled table as handlers see it
//! ([`Registry`]: the commands, their counters, and the executor EXEC runs
//! queued commands with). The table itself is assembled above the
//! families, in `cmd/mod.rs`, which hands it to every handler through
//! [`Ctx::registry`]; nothing here names a family.
//!
//! These types name each other (a handler takes the context, the context
//! holds the client, the client queues table entries, an entry holds its
//! handler), so they live in one module: split, the modules would import
//! each other.

use super::facts::{self, CommandFacts};
use super::flags;
use super::keyspec::{self, GetKeys, KeySpec, LockKeys};
use super::meta;
use crate::client::ClientInfo;
use crate::db::{blocked_op, BlockedOp, DbView, Waiter, WatchFlag};
use crate::error::{wrong_arity, CmdError, CmdResult};
use crate::reply::Reply;
use crate::state::Shared;
use crate::util::counter::StripedGroup;
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A command handler. Replies go to `ctx.out`; on error nothing must have
/// been written and the dispatcher writes the error.
pub type Handler = fn(&mut Ctx<'_>, &mut DbView<'_>) -> CmdResult;

/// One entry of the command table: a command's generated facts joined with
/// its binding (handler, internal flags, key finder, bound subcommands).
pub struct CommandSpec {
    /// Lower-case full name (`"hset"`, or `"client|list"` for a subcommand).
    pub name: &'static str,
    /// Argument count including the name; negative means "at least -arity"
    /// (from the facts).
    pub arity: i32,
    /// Redis's flags from the facts, plus the binding's internal ones.
    pub flags: u32,
    /// Key specs (from the facts): what the dispatcher locks by.
    pub key_specs: &'static [KeySpec],
    /// Everything else Redis says about the command (`COMMAND` reads it).
    pub facts: &'static CommandFacts,
    /// The implementation.
    pub handler: Handler,
    /// The command's own key finder, if it has one.
    pub getkeys: Option<GetKeys>,
    /// True if the key specs alone may miss keys, so locking asks
    /// [`CommandSpec::getkeys`] instead.
    pub lock_by_getkeys: bool,
    /// The command's own lock finder, used instead of
    /// [`CommandSpec::getkeys`] when locking by it (SORT).
    pub lock_keys: Option<LockKeys>,
    /// Bound subcommands (for container commands such as CLIENT or CONFIG).
    pub subcommands: &'static [CommandSpec],
}

/// Binds `handler` to the generated command `name` (full lower-case name).
/// The build fails if there is no such command.
pub const fn bind(name: &'static str, handler: Handler) -> CommandSpec {
    bind_with(name, handler, 0)
}

/// The generated facts of the command called `name`, if Redis has it.
pub const fn find_facts(name: &str) -> Option<&'static CommandFacts> {
    facts::find_in(meta::COMMAND_FACTS, name)
}

/// The generated facts of `name`; a binding that names no generated entry
/// stops the build.
pub const fn expect_facts(name: &'static str) -> &'static CommandFacts {
    facts::expect_in(meta::COMMAND_FACTS, name)
}

/// [`bind`] with ferrodis-internal flags ([`flags::INTERNAL`] bits only).
pub const fn bind_with(name: &'static str, handler: Handler, internal: u32) -> CommandSpec {
    assert!(
        internal & !flags::INTERNAL == 0,
        "bindings add internal flags only; Redis's flags come from the facts"
    );
    let facts = expect_facts(name);
    CommandSpec {
        name: facts.name,
        arity: facts.arity,
        flags: facts.flags | internal,
        key_specs: facts.key_specs,
        facts,
        handler,
        getkeys: None,
        lock_by_getkeys: false,
        lock_keys: None,
        subcommands: &[],
    }
}

/// Binds the container command `name` (CLIENT, CONFIG, ...), whose first
/// argument selects one of the bound `subcommands`.
pub const fn container(name: &'static str, subcommands: &'static [CommandSpec]) -> CommandSpec {
    container_with_default(name, container_without_subcommand, subcommands)
}

/// A container that also runs `handler` when called with no subcommand
/// (`COMMAND`).
pub const fn container_with_default(
    name: &'static str,
    handler: Handler,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        subcommands,
        ..bind(name, handler)
    }
}

impl CommandSpec {
    /// Gives the command its own key finder (Redis's getkeys function for
    /// it). `COMMAND GETKEYS` uses it where Redis would: when the key specs
    /// have variable flags or do not fit the arguments. If the key specs
    /// may miss keys (INCOMPLETE or unknown), the dispatcher locks by it
    /// too; otherwise the key specs stay the (allocation-free) lock path.
    pub const fn with_getkeys(self, getkeys: GetKeys) -> Self {
        CommandSpec {
            getkeys: Some(getkeys),
            lock_by_getkeys: !keyspec::all_complete(self.key_specs),
            ..self
        }
    }

    /// Gives a command that locks by its key finder (see
    /// [`CommandSpec::with_getkeys`]) a lock finder of its own, for a
    /// handler that may touch keys the key finder does not report.
    pub const fn with_lock_keys(self, lock_keys: LockKeys) -> Self {
        assert!(
            self.lock_by_getkeys,
            "a lock finder replaces a key finder the dispatcher locks by"
        );
        CommandSpec {
            lock_keys: Some(lock_keys),
            ..self
        }
    }

    /// [`CommandSpec::with_getkeys`] for a command whose complete key
    /// specs may still name another key than the one its handler uses
    /// (GEORADIUS's keyword specs find the first STORE, the handler writes
    /// the last STORE or STOREDIST): it locks by the finder too.
    pub const fn with_locking_getkeys(self, getkeys: GetKeys) -> Self {
        CommandSpec {
            getkeys: Some(getkeys),
            lock_by_getkeys: true,
            ..self
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

    /// The indexes of the keys in `args` (the whole command line), as the
    /// dispatcher locks them: from the key specs, without allocating.
    #[inline]
    pub fn key_positions<'a>(&'a self, args: &'a [Bytes]) -> keyspec::KeyPositions<'a> {
        keyspec::KeyPositions::new(self.key_specs, args)
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
    /// The command table (what COMMAND, ACL CAT and INFO list, and the
    /// executor EXEC runs its queue with).
    pub registry: &'static Registry,
}

/// What a blocked connection waits for: its waiter (in its keys' FIFOs)
/// and its deadline.
pub struct BlockedWait {
    /// The waiter a writer serves.
    pub waiter: Arc<Waiter>,
    /// Unix ms when it times out; 0 waits forever.
    pub deadline_ms: i64,
    /// The blocked command, its arguments (copied: the read buffer is not
    /// held) and how long its call ran, for the slow log once answered.
    pub spec: Option<&'static CommandSpec>,
    /// See `spec`.
    pub args: Vec<Bytes>,
    /// See `spec`.
    pub run_us: u64,
}

impl Ctx<'_> {
    /// True if the running command may block: not inside EXEC (Redis's
    /// `CLIENT_DENY_BLOCKING`; scripts, later, likewise).
    pub fn may_block(&self) -> bool {
        !self.client.in_exec
    }

    /// Blocks the client on `keys` of the current database until a writer
    /// serves it with `op` or `deadline_ms` passes (0: never). The view
    /// holds the keys' shards and `dest`'s, the key `op` writes besides.
    /// The handler writes no reply: the connection writes the served
    /// reply, or the timeout's.
    pub fn block(
        &mut self,
        view: &mut DbView<'_>,
        keys: &[Bytes],
        op: Box<dyn BlockedOp>,
        dest: Option<Bytes>,
        deadline_ms: i64,
    ) {
        let info = &self.client.info;
        let waiter = Arc::new(
            Waiter::new(
                info.id,
                self.client.db,
                keys.to_vec(),
                if self.out.is_resp3() { 3 } else { 2 },
                blocked_op(op),
                dest.map(|k| {
                    let shard = crate::db::shard_of(crate::dict::hash_key(&k));
                    (k, shard)
                }),
                info.outbox.clone(),
            )
            .with_timeout(deadline_ms > 0),
        );
        let blocking = self.server.keyspace.blocking();
        view.block(&waiter, blocking);
        blocking.blocked.fetch_add(1, Ordering::Relaxed);
        if deadline_ms > 0 {
            blocking.with_timeout.fetch_add(1, Ordering::Relaxed);
        }
        *info.blocked.lock() = Some(waiter.clone());
        self.client.blocked = Some(BlockedWait {
            waiter,
            deadline_ms,
            spec: None,
            args: Vec::new(),
            run_us: 0,
        });
    }

    /// For a reply whose length the client chose (HRANDFIELD, ZRANDMEMBER
    /// with a negative count), written since `start` (a `Reply::mark`):
    /// once it passes the output hard limit, drops it, marks the client to
    /// be closed after the error, and returns the error to send, as Redis
    /// disconnects a client whose output buffer outgrows its limit.
    pub fn past_output_limit(&mut self, start: usize) -> Option<crate::error::CmdError> {
        if self.out.buf.len() - start <= crate::reply::OUTPUT_HARD_LIMIT {
            return None;
        }
        self.out.buf.truncate(start);
        self.client.close_after_reply = true;
        Some(crate::error::CmdError::fixed(
            "ERR reply exceeds the client output buffer limit; closing the connection",
        ))
    }
}

// ---------------------------------------------------------------- the client
//
// A connection's own state as commands see and change it: the selected
// database, authentication, MULTI, WATCH, CLIENT REPLY, MONITOR, and the
// per-command caches. It is owned by the connection's task (no locks) and
// travels with the connection between workers.

/// A queued command inside MULTI.
pub struct Queued {
    /// The resolved command.
    pub spec: &'static CommandSpec,
    /// Its arguments.
    pub args: Vec<Bytes>,
}

/// State of an open MULTI.
#[derive(Default)]
pub struct MultiState {
    /// Commands queued so far.
    pub queue: Vec<Queued>,
    /// Set when a command failed to queue (EXEC then aborts with EXECABORT).
    pub failed: bool,
}

/// State owned by one connection's task.
pub struct ClientState {
    /// Shared view of this client.
    pub info: Arc<ClientInfo>,
    /// Selected database.
    pub db: usize,
    /// Authenticated (always true without `requirepass`).
    pub authenticated: bool,
    /// Open transaction, if any.
    pub multi: Option<MultiState>,
    /// True while EXEC runs the queued commands (or a script runs: both
    /// deny blocking).
    pub in_exec: bool,
    /// True while a script runs commands for this client.
    pub in_script: bool,
    /// Keys under WATCH, as (db, key).
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// Set when a watched key changes.
    pub watch_flag: Arc<WatchFlag>,
    /// Close after writing the pending replies (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// CLIENT REPLY OFF: replies are dropped.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was just run: the next command's reply is dropped.
    pub reply_skip_next: bool,
    /// The reply of the command being run is dropped (after SKIP).
    pub reply_skip: bool,
    /// In MONITOR mode: command lines arrive through the client's outbound
    /// queue (see `Shared::monitors`).
    pub monitor: bool,
    /// The clock (Unix µs) as last read for this client: after its last
    /// read from the socket or the end of its last command. A command
    /// starts at this time and reads the clock once, when it ends, so
    /// back-to-back pipelined commands cost one clock read each, not two.
    /// 0 means "read the clock".
    pub clock_us: i64,
    /// The last command resolved for this client, so a repeated command
    /// name skips the table lookup (see `cmd::resolve_cached`).
    pub last_command: Option<ResolvedCommand>,
    /// The AOF offset this client's replies wait for under `appendfsync
    /// always`: just past its last logged change (or past the changes its
    /// last reads saw).
    pub aof_offset: u64,
    /// The connection worker it runs on, and how many there are.
    pub worker: (usize, usize),
    /// DEBUG WORKER: the worker to move to once the replies are written.
    pub move_to: Option<usize>,
    /// Set by a blocking command that found nothing to pop: the
    /// connection waits for its reply or its timeout (see
    /// [`Ctx::block`]).
    pub blocked: Option<BlockedWait>,
    /// The client's tracking mode bits (`db::flag`; 0: not tracking), as
    /// CLIENT TRACKING last set them: the command path reads this copy.
    pub tracking: u32,
    /// CLIENT CACHING YES / NO was given for the next command (or
    /// transaction).
    pub caching: bool,
    /// The messages this client's own command caused for itself (its
    /// keyspace notifications and tracking invalidations), which the
    /// dispatcher places around the command's reply.
    pub own: crate::db::Own,
}

impl ClientState {
    /// State for a new connection.
    pub fn new(info: Arc<ClientInfo>) -> Self {
        ClientState {
            info,
            db: 0,
            authenticated: true,
            multi: None,
            in_exec: false,
            in_script: false,
            watched: Vec::new(),
            watch_flag: Arc::new(WatchFlag::default()),
            close_after_reply: false,
            reply_off: false,
            reply_skip_next: false,
            reply_skip: false,
            monitor: false,
            clock_us: 0,
            last_command: None,
            aof_offset: 0,
            worker: (0, 1),
            move_to: None,
            blocked: None,
            tracking: 0,
            caching: false,
            own: Default::default(),
        }
    }

    /// Selects database `db`.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
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

    /// Counts a failure of a call counted already (a blocked command
    /// answered with an error once unblocked).
    pub fn record_failed(&self) {
        self.0.add_to(Self::FAILED, 1);
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

/// Runs a resolved command (`cmd::execute`); see [`Registry::execute`].
pub type Executor = fn(&'static CommandSpec, &mut Ctx<'_>, Option<&mut DbView<'_>>) -> Executed;

/// Admits a command a script runs (`redis.call`): the command's entry, or
/// Redis's error for it; `read_only` for EVAL_RO and `no-writes` scripts.
/// It is `cmd::admit`'s script path, reached through the table as EXEC
/// reaches the executor.
pub type ScriptAdmit = fn(
    &Shared,
    &'static Registry,
    &[Bytes],
    bool,
) -> Result<&'static CommandSpec, Cow<'static, str>>;

/// The command table, with a lookup index.
pub struct Registry {
    /// Top-level commands, in table order.
    pub commands: Vec<&'static CommandSpec>,
    by_name: HashMap<&'static str, usize, FastState>,
    stats: HashMap<&'static str, CommandStats, FastState>,
    /// Runs a command through the dispatcher's path (locking unless given
    /// a view, the handler, counters, slow log, MONITOR): how EXEC runs its
    /// queue without the families naming the layer above them.
    pub execute: Executor,
    /// Admission for commands scripts run (see [`ScriptAdmit`]).
    pub admit_script: ScriptAdmit,
}

impl Registry {
    /// The table of `families` (each a family's `COMMANDS`, in order), run
    /// by `execute`.
    pub fn build(
        families: &[&'static [CommandSpec]],
        execute: Executor,
        admit_script: ScriptAdmit,
    ) -> Self {
        let mut commands = Vec::new();
        let mut by_name = HashMap::with_hasher(FastState::default());
        let mut stats = HashMap::with_hasher(FastState::default());
        for family in families {
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
            execute,
            admit_script,
        }
    }

    /// Resolves `args` to the command (or subcommand) to run, or the error
    /// Redis gives for an unknown command, unknown subcommand or wrong
    /// arity.
    pub fn resolve(&self, args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
        let Some(spec) = self.lookup(&args[0]) else {
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

    /// [`Registry::resolve`], answered from `last` when the client sends the
    /// same command name (byte for byte) as last time, as clients mostly do.
    /// Only commands without subcommands are remembered.
    pub fn resolve_cached(
        &'static self,
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
        let spec = self.resolve(args)?;
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
                stats: self.stats(spec.name),
            });
        }
        Ok(spec)
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

    /// Every command and subcommand, containers before their subcommands.
    pub fn all(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.commands
            .iter()
            .flat_map(|c| std::iter::once(*c).chain(c.subcommands.iter()))
    }

    /// Looks up a command or `container|subcommand` by name,
    /// case-insensitively.
    pub fn lookup_full(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let lower = name.to_ascii_lowercase();
        match lower.iter().position(|&c| c == b'|') {
            None => self.lookup(&lower),
            Some(bar) => {
                let container = self.lookup(&lower[..bar])?;
                container
                    .subcommands
                    .iter()
                    .find(|s| s.name.as_bytes() == lower.as_slice())
            }
        }
    }
}

/// A resolved command name remembered by a client: the name exactly as the
/// client sent it, the command and its counters.
#[derive(Clone, Copy)]
pub struct ResolvedCommand {
    pub(super) name: [u8; 16],
    pub(super) name_len: u8,
    pub(super) spec: &'static CommandSpec,
    pub(super) stats: Option<&'static CommandStats>,
}

/// What [`Registry::execute`] (the dispatcher's `cmd::execute`) did.
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

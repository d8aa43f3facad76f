//! Commands: the command table and dispatch.
//!
//! Every command's facts — arity, Redis's flags, ACL categories, key specs,
//! tips, arguments, versions — are generated from Redis's own command files
//! into [`meta`] (see [`facts`]). Each family (`strings.rs`, `hashes.rs`,
//! ...) binds handlers to those entries in its `COMMANDS` table: a binding
//! ([`spec::bind`], [`spec::bind_with`], [`spec::container`]) names a
//! command and gives its handler, ferrodis's internal flags and, where
//! needed, a key finder, and nothing else. The join happens at compile
//! time, so a binding that names no generated entry does not build. The
//! joined [`CommandSpec`] drives everything about the command outside its
//! handler: lookup, arity checks, flags (what MULTI, `COMMAND` and INFO
//! see), key positions (which keyspace shards get locked) and `COMMAND`'s
//! replies.
//!
//! Dependencies run one way inside this directory too: this file (the
//! table of every family, [`resolve`], [`lock_for`], [`execute`]) and
//! [`admit`] sit above the families; the families use only what lies below
//! them — [`spec`] (the entry, the binding helpers, the handler's context,
//! the client's state, the table as handlers see it), [`flags`], [`args`],
//! [`keyspec`], [`facts`] and [`meta`]. A handler that needs the table
//! (COMMAND, ACL CAT, INFO, CONFIG RESETSTAT) or the executor (EXEC) finds
//! them in [`Ctx::registry`], which this file fills in.

pub mod acl;
pub mod admit;
pub mod args;
pub mod bitops;
pub mod busy;
pub mod config;
pub mod connection;
pub mod debug;
pub mod facts;
pub mod flags;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod introspect;
pub mod keyevents;
pub mod keys;
pub mod keyspec;
pub mod latency;
pub mod lists;
pub mod memory;
#[rustfmt::skip]
pub mod meta;
pub mod monitor;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod spec;
pub mod strings;
pub mod tracking;
pub mod transactions;
pub mod zsets;

use crate::db::DbView;
use crate::error::CmdError;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use spec::ClientState;
pub use spec::{CommandSpec, Ctx, Executed, Registry};

/// Every command family's table.
const FAMILIES: &[&[CommandSpec]] = &[
    strings::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    zsets::COMMANDS,
    sets::COMMANDS,
    keys::COMMANDS,
    transactions::COMMANDS,
    connection::COMMANDS,
    introspect::COMMANDS,
    info::COMMANDS,
    config::COMMANDS,
    server::COMMANDS,
    memory::COMMANDS,
    slowlog::COMMANDS,
    acl::COMMANDS,
    latency::COMMANDS,
    monitor::COMMANDS,
    debug::COMMANDS,
    persistence::COMMANDS,
    bitops::COMMANDS,
    hyperloglog::COMMANDS,
    sort::COMMANDS,
    geo::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
];

/// The process-wide command table: every family's bindings, with
/// [`execute`] as the executor handlers reach through [`Ctx::registry`].
#[inline]
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::build(FAMILIES, execute, admit::for_script))
}

/// Resolves `args` to the command (or subcommand) to run, or the error Redis
/// gives for an unknown command, unknown subcommand or wrong arity (see
/// [`Registry::resolve`]).
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
    registry().resolve(args)
}

/// True if `spec`, run by `client` now, must enter through the exclusive
/// gate: an EXCLUSIVE command, or EXEC of a queue holding one.
#[inline]
fn runs_exclusive(spec: &CommandSpec, client: &ClientState) -> bool {
    spec.has(flags::EXCLUSIVE)
        || (spec.has(flags::TX_CONTROL)
            && spec.name == "exec"
            && client
                .multi
                .as_ref()
                .is_some_and(|m| m.queue.iter().any(|q| q.spec.has(flags::EXCLUSIVE))))
}

/// Locks what `spec` run with `args` needs: the shards of its keys (from
/// its key specs, or its own key finder where those may miss keys), or
/// every shard for `ALL_SHARDS` commands, waiting as long as it takes (the
/// AOF loader).
pub fn lock_for<'k>(
    spec: &CommandSpec,
    args: &'k [Bytes],
    keyspace: &'k crate::db::Keyspace,
    db: usize,
    now_ms: i64,
) -> DbView<'k> {
    keyspace.lock_mask(shards_for(spec, args), db, now_ms)
}

/// The shards `spec` run with `args` locks.
#[inline]
fn shards_for(spec: &CommandSpec, args: &[Bytes]) -> u32 {
    if spec.flags & (flags::ALL_SHARDS | flags::NO_KEYS) != 0 {
        if spec.has(flags::NO_KEYS) {
            return 0;
        }
        crate::db::ALL_SHARDS_MASK
    } else if spec.flags & flags::MOVABLE_KEYS == 0 && !spec.lock_by_getkeys {
        // Without movable keys, Redis's legacy (first, last, step) names
        // exactly the keys the key specs find: walk it directly, as most
        // commands (one key at index 1) take this path.
        legacy_shards(spec.facts.legacy_keys, args)
    } else if let (true, Some(getkeys)) = (spec.lock_by_getkeys, spec.getkeys) {
        // Only commands whose keys come from parsing get here; the key
        // specs' keys are added too, so the finder may be partial.
        let mut found = Vec::new();
        match spec.lock_keys {
            Some(lock_keys) => {
                if lock_keys(args, &mut found) == keyspec::Reach::Anywhere {
                    return crate::db::ALL_SHARDS_MASK;
                }
            }
            None => getkeys(args, &mut found),
        }
        let from_specs = keyspec::KeyPositions::new(spec.key_specs, args);
        let keys = found
            .iter()
            .map(|k| k.pos)
            .chain(from_specs)
            .filter_map(|i| args.get(i).map(|a| &a[..]));
        crate::db::shard_mask(keys)
    } else {
        let keys = keyspec::KeyPositions::new(spec.key_specs, args).map(|i| &args[i][..]);
        crate::db::shard_mask(keys)
    }
}

/// The shards of the keys at Redis's legacy key positions: `first`, every
/// `step`, through `last` (negative: counted from the end).
#[inline]
fn legacy_shards((first, last, step): (i32, i32, i32), args: &[Bytes]) -> u32 {
    if first <= 0 || step <= 0 {
        return 0;
    }
    let argc = args.len() as i64;
    let last = if last < 0 {
        argc + last as i64
    } else {
        (last as i64).min(argc - 1)
    };
    let mut mask = 0;
    let mut i = first as i64;
    while i <= last {
        mask |= 1 << crate::db::shard_of(crate::dict::hash_key(&args[i as usize]));
        i += step as i64;
    }
    mask
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

/// Serves ready keys whose next waiter needed a shard the writer did not
/// hold (a chain of BLMOVEs across shards, or a waiter that joined while
/// the writer locked), each under a lock set holding what its serve writes.
fn serve_deferred(server: &crate::state::Shared, mut deferred: Vec<crate::db::Deferred>, now: i64) {
    let keyspace = &server.keyspace;
    while let Some(d) = deferred.pop() {
        let mask = keyspace.blocking().with_serve_needs(d.mask);
        let mut view = keyspace.lock_mask(mask, d.db, now);
        view.access = server.hot.access_policy();
        view.logging = server.aof.is_logging();
        view.mark_ready_key(d.db, &d.key);
        deferred.extend(view.serve_ready(keyspace.blocking()));
        if !view.effects.is_empty() {
            server.aof.append(&view.effects);
        }
        view.deliver_events(keyspace.events());
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
    let mut deferred = Vec::new();
    let result = match view {
        // Inside EXEC the caller already holds every shard (and appends the
        // whole transaction's effects to the log).
        Some(view) => {
            view.db = db;
            view.begin_command();
            let dirty_before = view.dirty;
            let result = view.without_reply_mark(|view| (spec.handler)(ctx, view));
            if ctx.client.tracking != 0 {
                tracking::remember_reads(spec, ctx.client, ctx.args, view);
            }
            if view.logging {
                note_effects(spec, ctx.args, view, dirty_before, db);
            }
            monitor::monitor_feed(ctx, spec);
            result
        }
        None => {
            let now = start_us.div_euclid(1000);
            let keyspace = &ctx.server.keyspace;
            let mut exclusive;
            let mut plain;
            // The views are filled where they live: moving one would copy
            // it (a few hundred bytes) on every command.
            let view = if runs_exclusive(spec, ctx.client) {
                exclusive = keyspace.enter_exclusive(db, now);
                let Some(held) = exclusive.as_mut() else {
                    return Executed::Blocked;
                };
                held.view()
            } else {
                plain = keyspace.unlocked_view(db, now);
                let mask = shards_for(spec, ctx.args);
                let locked = if spec.has(flags::WRITE) {
                    // Serving blocked clients may write a shard more.
                    keyspace.try_lock_for_write(mask, &mut plain)
                } else {
                    keyspace.try_lock_into(mask, &mut plain)
                };
                if !locked {
                    return Executed::Blocked;
                }
                &mut plain
            };
            view.no_touch = ctx.client.info.no_touch.load(Ordering::Relaxed);
            view.access = ctx.server.hot.access_policy();
            let aof = &ctx.server.aof;
            view.logging = aof.is_logging();
            let result = (spec.handler)(ctx, view);
            if ctx.client.tracking != 0 {
                tracking::remember_reads(spec, ctx.client, ctx.args, view);
            }
            if view.logging {
                note_effects(spec, ctx.args, view, 0, db);
            }
            // Clients blocked on the keys this command (or transaction)
            // filled are served before anyone else can touch them.
            if view.has_ready() {
                deferred = view.serve_ready(keyspace.blocking());
            }
            if view.logging {
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
            // The same for the keyspace events (of the whole transaction,
            // for EXEC: the queued commands' views are this one); what they
            // cause for this client itself is placed around its reply.
            if view.has_events() {
                let id = ctx.client.info.id;
                view.deliver_events_from(keyspace.events(), id, &mut ctx.client.own);
            }
            ctx.server.stats.record_view(view);
            // Under the command's locks: see `monitor_feed`.
            monitor::monitor_feed(ctx, spec);
            result
        }
    };
    if !deferred.is_empty() {
        serve_deferred(ctx.server, deferred, start_us.div_euclid(1000));
    }
    if let Err(e) = &result {
        ctx.out.error(e.text());
    }
    let failed = ctx.out.errors > errors_before;
    let end_us = crate::util::now_us();
    ctx.client.clock_us = end_us;
    let elapsed_us = end_us.saturating_sub(start_us).max(0) as u64;
    match ctx.client.blocked.as_mut() {
        // Logged when answered, as Redis logs a blocked command on unblock.
        Some(blocked) => {
            blocked.spec = Some(spec);
            blocked.args = ctx.args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
            blocked.run_us = elapsed_us;
        }
        None => slowlog::slowlog_record(ctx, spec, elapsed_us),
    }
    let stats = match ctx.client.last_command {
        Some(hit) if std::ptr::eq(hit.spec, spec) => hit.stats,
        _ => ctx.registry.stats(spec.name),
    };
    if let Some(stats) = stats {
        stats.record_call(elapsed_us, failed);
    }
    Executed::Ran { failed }
}

#[cfg(test)]
mod tests {
    use super::keyspec::flags as key_flags;
    use super::spec::{expect_facts, find_facts};
    use super::*;

    #[test]
    fn the_legacy_range_fast_path_locks_what_the_key_specs_find() {
        // Every bound command the fast path serves, with argument vectors
        // from its minimum arity to six more.
        let mut checked = 0;
        for spec in bound() {
            if spec.flags & (flags::ALL_SHARDS | flags::NO_KEYS) != 0
                || spec.flags & flags::MOVABLE_KEYS != 0
                || spec.lock_by_getkeys
            {
                continue;
            }
            let min = spec.arity.unsigned_abs() as usize;
            for argc in min..min + 7 {
                let args: Vec<Bytes> = (0..argc)
                    .map(|i| Bytes::from(format!("{}-arg{i}", spec.name)))
                    .collect();
                let from_specs = crate::db::shard_mask(
                    keyspec::KeyPositions::new(spec.key_specs, &args).map(|i| &args[i][..]),
                );
                assert_eq!(
                    legacy_shards(spec.facts.legacy_keys, &args),
                    from_specs,
                    "{} with {argc} arguments",
                    spec.name
                );
                checked += 1;
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// Every bound command and subcommand.
    fn bound() -> impl Iterator<Item = &'static CommandSpec> {
        registry().all()
    }

    #[test]
    fn bindings_join_their_generated_entries() {
        for spec in bound() {
            // The join itself fails the build for unknown names; what is
            // left to check is that the entry is the one named, and that
            // arity and Redis's flags come from it unchanged.
            let generated = find_facts(spec.name).expect("a generated entry");
            assert_eq!(generated.name, spec.name);
            // Compared by content: a constant's address is not guaranteed
            // to be the same in every use, so pointer equality may fail
            // for the same entry.
            assert_eq!(
                format!("{:?}", spec.facts),
                format!("{generated:?}"),
                "{}",
                spec.name
            );
            assert_eq!(spec.arity, spec.facts.arity, "{}", spec.name);
            assert_eq!(
                spec.flags & !flags::INTERNAL,
                spec.facts.flags,
                "{}",
                spec.name
            );
            assert!(std::ptr::eq(spec.key_specs, spec.facts.key_specs));
            for sub in spec.subcommands {
                assert!(
                    spec.facts.subcommands.contains(&sub.name),
                    "{} is not a subcommand of {}",
                    sub.name,
                    spec.name
                );
                assert!(sub.subcommands.is_empty());
            }
        }
    }

    #[test]
    fn every_bound_command_can_lock_its_keys() {
        for spec in bound() {
            let complete = keyspec::all_complete(spec.key_specs);
            assert!(
                complete || spec.has(flags::ALL_SHARDS) || spec.lock_by_getkeys,
                "{}: its key specs may miss keys; bind a key finder or lock all shards",
                spec.name
            );
            // Complete specs lock by them alone, except where the handler
            // may use a key they do not find (GEORADIUS's last STORE).
            let by_finder = spec.getkeys.is_some()
                && (!complete || ["georadius", "georadiusbymember"].contains(&spec.name));
            assert_eq!(spec.lock_by_getkeys, by_finder, "{}", spec.name);
            let variable = spec
                .key_specs
                .iter()
                .any(|s| s.flags & key_flags::VARIABLE_FLAGS != 0);
            assert!(
                !variable || spec.getkeys.is_some(),
                "{}: its key flags vary; bind a key finder",
                spec.name
            );
            // COMMAND GETKEYS falls back to Redis's key finder where the
            // key specs do not fit, so a command Redis has one for binds one.
            assert_eq!(
                spec.getkeys.is_some(),
                spec.facts.has_getkeys,
                "{}: bind a key finder exactly where Redis has one",
                spec.name
            );
        }
    }

    #[test]
    fn unbound_facts_exist_for_every_redis_command() {
        // Later families only bind handlers: the facts are there already.
        for name in ["xread", "eval", "fcall", "migrate"] {
            assert!(find_facts(name).is_some_and(|f| f.has_getkeys), "{name}");
        }
        assert!(registry().lookup(b"xread").is_none());
    }

    /// Key-spec shapes only unbound commands have, over their generated
    /// facts; the expected keys are Redis 7.0.15's COMMAND GETKEYS answers
    /// where its key specs decide them.
    #[test]
    fn key_specs_of_unbound_commands_follow_redis() {
        let line =
            |s: &str| -> Vec<Bytes> { s.split(' ').map(|w| Bytes::from(w.to_string())).collect() };
        let exact = |name: &'static str, s: &str| {
            let mut out = Vec::new();
            let specs = expect_facts(name).key_specs;
            keyspec::keys_with_flags(specs, &line(s), &mut out)
                .then(|| out.iter().map(|k| k.pos).collect::<Vec<_>>())
        };
        let locked = |name: &'static str, s: &str| {
            keyspec::KeyPositions::new(expect_facts(name).key_specs, &line(s)).collect::<Vec<_>>()
        };
        // Keyword begin with a limit: the first half after STREAMS.
        assert_eq!(
            exact("xread", "xread count 2 streams a b 0 0"),
            Some(vec![4, 5])
        );
        assert_eq!(exact("xread", "xread streams a b 0"), Some(vec![2]));
        assert_eq!(
            exact("xreadgroup", "xreadgroup group g c streams a b 0 0"),
            Some(vec![5, 6])
        );
        // Keyword begins that may be absent.
        assert_eq!(exact("georadius", "georadius k 0 0 1 m"), Some(vec![1]));
        assert_eq!(
            exact("georadius", "georadius k 0 0 1 m storedist d2"),
            Some(vec![1, 7])
        );
        // Negative lastkey short of the end.
        assert_eq!(exact("blpop", "blpop a b 0"), Some(vec![1, 2]));
        // A destination, then a count and keys.
        assert_eq!(
            exact("zunionstore", "zunionstore d 2 a b"),
            Some(vec![1, 3, 4])
        );
        assert_eq!(exact("zunionstore", "zunionstore d 0 a"), None);
        assert_eq!(exact("eval", "eval s 2 a b x"), Some(vec![3, 4]));
        assert_eq!(exact("eval", "eval s 3 a b"), None);
        // INCOMPLETE and unknown specs leave it to the command's finder
        // (Redis's migrateGetKeys, sortGetKeys), but locking still covers
        // what the specs find.
        assert_eq!(exact("migrate", "migrate h p k 0 5 keys a b"), None);
        assert_eq!(locked("migrate", "migrate h p k 0 5 keys a b"), [3, 7, 8]);
        assert_eq!(exact("sort", "sort k by p"), None);
        assert_eq!(locked("sort", "sort k by p store d"), [1]);
        // The commands the issue names lock exactly their keys, from the
        // key specs alone (no key finder, no every-shard fallback).
        for (name, line, keys) in [
            (
                "zunionstore",
                "zunionstore d 2 a b weights 1 2",
                &[1, 3, 4][..],
            ),
            ("zrangestore", "zrangestore d s 0 -1", &[1, 2]),
            ("xread", "xread block 0 streams a b $ $", &[4, 5]),
            ("georadius", "georadius k 0 0 1 m store d", &[1, 7]),
            ("eval", "eval s 2 a b x y", &[3, 4]),
            ("fcall", "fcall f 1 k x", &[3]),
        ] {
            let f = expect_facts(name);
            assert!(keyspec::all_complete(f.key_specs), "{name}");
            assert_eq!(locked(name, line), keys, "{line}");
        }
        // Channels are not keys.
        assert!(!keyspec::has_keys(expect_facts("spublish").key_specs));
        assert_eq!(exact("spublish", "spublish c m"), Some(vec![]));
    }

    #[test]
    fn sort_locks_its_destination_and_every_shard_when_patterns_name_keys() {
        let line =
            |s: &str| -> Vec<Bytes> { s.split(' ').map(|w| Bytes::from(w.to_string())).collect() };
        let mask = |keys: &[&str]| crate::db::shard_mask(keys.iter().map(|k| k.as_bytes()));
        let sort = registry().lookup(b"sort").expect("sort is bound");
        let sort_ro = registry().lookup(b"sort_ro").expect("sort_ro is bound");
        for (spec, cmd, keys) in [
            (sort, "sort k", &["k"][..]),
            (
                sort,
                "sort k by nosort get # limit 0 1 store d",
                &["k", "d"],
            ),
            // The destination SORT's parser takes, not the one Redis's
            // getkeys reports ("by").
            (sort, "sort k store by store d", &["k", "d"]),
            (sort, "sort k limit 0 x store d", &["k"]),
            (sort_ro, "sort_ro k get # get x", &["k"]),
        ] {
            assert_eq!(shards_for(spec, &line(cmd)), mask(keys), "{cmd}");
        }
        for (spec, cmd) in [
            (sort, "sort k by w_*"),
            (sort, "sort k get # get o_*->f store d"),
            (sort_ro, "sort_ro k by nosort get w_*"),
        ] {
            assert_eq!(
                shards_for(spec, &line(cmd)),
                crate::db::ALL_SHARDS_MASK,
                "{cmd}"
            );
        }
    }

    #[test]
    fn lookup_positions_and_resolution() {
        let registry = registry();
        let get = registry.lookup(b"GeT").expect("get is bound");
        let args = [Bytes::from_static(b"get"), Bytes::from_static(b"k")];
        assert_eq!(get.key_positions(&args).collect::<Vec<_>>(), [1]);
        let mset = registry.lookup(b"mset").expect("mset is bound");
        let args: Vec<Bytes> = ["mset", "a", "1", "b", "2"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        assert_eq!(mset.key_positions(&args).collect::<Vec<_>>(), [1, 3]);
        let object = [
            Bytes::from_static(b"object"),
            Bytes::from_static(b"encoding"),
            Bytes::from_static(b"k"),
        ];
        let spec = resolve(&object).expect("object encoding resolves");
        assert_eq!(spec.name, "object|encoding");
        assert_eq!(spec.key_positions(&object).collect::<Vec<_>>(), [2]);
    }
}

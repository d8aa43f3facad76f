//! MEMORY: what a key costs, and the allocator's figures.

use super::args;
use super::flags::*;
use super::introspect::write_help;
use super::spec::{bind, bind_with, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdResult, SYNTAX};
use crate::util::memory::memory_figures;
use std::sync::atomic::Ordering;

/// MEMORY's bindings.
pub const COMMANDS: &[CommandSpec] = &[container("memory", MEMORY_SUBCOMMANDS)];

const MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    bind("memory|usage", memory_usage),
    bind_with("memory|stats", memory_stats, ALL_SHARDS),
    bind("memory|doctor", memory_doctor),
    bind("memory|malloc-stats", memory_malloc_stats),
    bind("memory|purge", memory_purge),
    bind("memory|help", memory_help),
];

/// Bytes a key costs beyond what its value owns: its table node (which
/// holds the key's bytes and the value itself) and its bucket slot.
fn key_overhead(key_len: usize) -> usize {
    crate::db::Keys::node_size(key_len) + std::mem::size_of::<usize>()
}

fn memory_usage(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut i = 3;
    while i < ctx.args.len() {
        if args::is(&ctx.args[i], "SAMPLES") && i + 1 < ctx.args.len() {
            // Sizes here are exact, so the sample count only needs checking.
            args::int(&ctx.args[i + 1])?;
            i += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    let key = &ctx.args[2];
    match db.get(key) {
        Some(v) => {
            let bytes = key_overhead(key.len()) + v.heap_bytes();
            ctx.out.int(bytes as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// Estimated bytes a hash-table entry costs (entry plus bucket slot).
const TABLE_ENTRY_OVERHEAD: u64 = 32;

fn memory_stats(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let m = memory_figures();
    let r = Ordering::Relaxed;
    let stats = &ctx.server.stats;
    let peak = stats
        .used_memory_peak
        .fetch_max(m.allocated, r)
        .max(m.allocated);
    let startup = stats.used_memory_startup.load(r);
    // (db, keys, volatile keys) of the non-empty databases.
    let dbs: Vec<(usize, u64, u64)> = (0..ctx.server.keyspace.num_dbs())
        .map(|i| (i, db.db_size(i) as u64, db.db_expires(i) as u64))
        .filter(|d| d.1 > 0)
        .collect();
    let keys: u64 = dbs.iter().map(|d| d.1).sum();
    let tables: u64 = dbs.iter().map(|d| (d.1 + d.2) * TABLE_ENTRY_OVERHEAD).sum();
    let overhead = startup + tables;
    let dataset = m.allocated.saturating_sub(overhead);
    let net = m.allocated.saturating_sub(startup);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let out = &mut *ctx.out;
    out.map(27 + dbs.len());
    for (name, value) in [
        ("peak.allocated", peak),
        ("total.allocated", m.allocated),
        ("startup.allocated", startup),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", 0),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
    ] {
        out.bulk(name.as_bytes());
        out.int(value as i64);
    }
    for (i, main, expires) in &dbs {
        out.bulk_fmt(format_args!("db.{i}"));
        out.map(3);
        out.bulk(b"overhead.hashtable.main");
        out.int((main * TABLE_ENTRY_OVERHEAD) as i64);
        out.bulk(b"overhead.hashtable.expires");
        out.int((expires * TABLE_ENTRY_OVERHEAD) as i64);
        out.bulk(b"overhead.hashtable.slot-to-keys");
        out.int(0);
    }
    let signed = |a: u64, b: u64| a as i64 - b as i64;
    out.bulk(b"overhead.total");
    out.int(overhead as i64);
    out.bulk(b"keys.count");
    out.int(keys as i64);
    out.bulk(b"keys.bytes-per-key");
    out.int(net.checked_div(keys).unwrap_or(0) as i64);
    out.bulk(b"dataset.bytes");
    out.int(dataset as i64);
    out.bulk(b"dataset.percentage");
    out.double(ratio(dataset, net) * 100.0);
    out.bulk(b"peak.percentage");
    out.double(ratio(m.allocated, peak) * 100.0);
    out.bulk(b"allocator.allocated");
    out.int(m.allocated as i64);
    out.bulk(b"allocator.active");
    out.int(m.active as i64);
    out.bulk(b"allocator.resident");
    out.int(m.resident as i64);
    out.bulk(b"allocator-fragmentation.ratio");
    out.double(ratio(m.active, m.allocated));
    out.bulk(b"allocator-fragmentation.bytes");
    out.int(signed(m.active, m.allocated));
    out.bulk(b"allocator-rss.ratio");
    out.double(ratio(m.resident, m.active));
    out.bulk(b"allocator-rss.bytes");
    out.int(signed(m.resident, m.active));
    out.bulk(b"rss-overhead.ratio");
    out.double(ratio(m.rss, m.resident));
    out.bulk(b"rss-overhead.bytes");
    out.int(signed(m.rss, m.resident));
    out.bulk(b"fragmentation");
    out.double(ratio(m.rss, m.allocated));
    out.bulk(b"fragmentation.bytes");
    out.int(signed(m.rss, m.allocated));
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.verbatim(
        "txt",
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
    );
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let m = memory_figures();
    let text = format!(
        "allocated: {}\nactive: {}\nresident: {}\nrss: {}\n",
        m.allocated, m.active, m.resident, m.rss
    );
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn memory_purge(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    A report on memory problems.",
            "MALLOC-STATS",
            "    The allocator's statistics.",
            "PURGE",
            "    Ask the allocator to release memory.",
            "STATS",
            "    Memory usage details.",
            "USAGE <key> [SAMPLES <count>]",
            "    Bytes used by a key and its value.",
        ],
    );
    Ok(())
}

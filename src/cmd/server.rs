//! Server commands: COMMAND, INFO, CONFIG, TIME, MEMORY, DEBUG, SHUTDOWN.

use super::flags::*;
use super::introspect::{self, write_help};
use super::{args, bind, bind_with, container, container_with_default, CommandSpec, Ctx, Registry};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, NO_SUCH_KEY, SYNTAX};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// The server family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    container_with_default("command", introspect::command_all, COMMAND_SUBCOMMANDS),
    bind_with("info", info, ALL_SHARDS),
    container("config", CONFIG_SUBCOMMANDS),
    bind("time", time),
    container("memory", MEMORY_SUBCOMMANDS),
    container("slowlog", SLOWLOG_SUBCOMMANDS),
    container("acl", ACL_SUBCOMMANDS),
    container("latency", LATENCY_SUBCOMMANDS),
    bind("monitor", monitor),
    bind("role", role),
    bind_with("debug", debug, EXCLUSIVE),
    bind("shutdown", shutdown),
];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    bind("command|count", introspect::command_count),
    bind("command|docs", introspect::command_docs),
    bind("command|getkeys", introspect::command_getkeys),
    bind(
        "command|getkeysandflags",
        introspect::command_getkeysandflags,
    ),
    bind("command|help", introspect::command_help),
    bind("command|info", introspect::command_info),
    bind("command|list", introspect::command_list),
];

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    bind("config|get", config_get),
    bind("config|set", config_set),
    bind("config|resetstat", config_resetstat),
    bind("config|rewrite", config_rewrite),
    bind("config|help", config_help),
];

const SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    bind("slowlog|get", slowlog_get),
    bind("slowlog|len", slowlog_len),
    bind("slowlog|reset", slowlog_reset),
    bind("slowlog|help", slowlog_help),
];

const ACL_SUBCOMMANDS: &[CommandSpec] = &[
    bind("acl|whoami", acl_whoami),
    bind("acl|users", acl_users),
    bind("acl|cat", acl_cat),
    bind("acl|genpass", acl_genpass),
    bind("acl|log", acl_log),
    bind("acl|help", acl_help),
];

const LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    bind("latency|latest", latency_empty),
    bind("latency|history", latency_empty),
    bind("latency|reset", latency_reset),
    bind("latency|graph", latency_graph),
    bind("latency|doctor", latency_doctor),
    bind("latency|help", latency_help),
];

const MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    bind("memory|usage", memory_usage),
    bind_with("memory|stats", memory_stats, ALL_SHARDS),
    bind("memory|doctor", memory_doctor),
    bind("memory|malloc-stats", memory_malloc_stats),
    bind("memory|purge", memory_purge),
    bind("memory|help", memory_help),
];

// ---------------------------------------------------------------- memory

use crate::util::memory::memory_figures;

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// `1.23M`-style sizes, as Redis's INFO prints them.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (unit, suffix)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(u64::MAX, |u| u.0);
        if n < next {
            return format!("{:.2}{}", n as f64 / *unit as f64, suffix);
        }
    }
    format!("{n}B")
}

// ---------------------------------------------------------------- INFO

/// INFO sections, in output order, and whether they are in "default".
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

fn info(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut wanted: Vec<&str> = Vec::new();
    let requested: Vec<String> = ctx.args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if requested.is_empty() {
        wanted.extend(SECTIONS.iter().filter(|s| s.1).map(|s| s.0));
    }
    for r in &requested {
        match r.as_str() {
            "default" => wanted.extend(SECTIONS.iter().filter(|s| s.1).map(|s| s.0)),
            "all" | "everything" => wanted.extend(SECTIONS.iter().map(|s| s.0)),
            other => {
                if let Some(s) = SECTIONS.iter().find(|s| s.0 == other) {
                    wanted.push(s.0);
                }
            }
        }
    }
    let text = info_text(ctx, db, &wanted);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// Builds the text of the given INFO sections (in Redis's section order).
pub fn info_text(ctx: &Ctx<'_>, db: &mut DbView<'_>, wanted: &[&str]) -> String {
    let mut out = String::new();
    for (name, _) in SECTIONS {
        if !wanted.contains(name) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        info_section(ctx, db, name, &mut out);
    }
    out
}

macro_rules! field {
    ($out:expr, $name:expr, $($v:tt)*) => {{
        let _ = write!($out, "{}:", $name);
        let _ = write!($out, $($v)*);
        $out.push_str("\r\n");
    }};
}

fn info_section(ctx: &Ctx<'_>, db: &mut DbView<'_>, name: &str, out: &mut String) {
    let server = ctx.server;
    let stats = &server.stats;
    let r = Ordering::Relaxed;
    match name {
        "server" => {
            out.push_str("# Server\r\n");
            field!(
                out,
                "redis_version",
                "{}",
                super::connection::REDIS_COMPAT_VERSION
            );
            field!(out, "ferrodis_version", "{}", env!("CARGO_PKG_VERSION"));
            field!(out, "redis_git_sha1", "00000000");
            field!(out, "redis_git_dirty", "0");
            field!(out, "redis_build_id", "0");
            field!(out, "redis_mode", "standalone");
            field!(
                out,
                "os",
                "{} {}",
                std::env::consts::OS,
                std::env::consts::ARCH
            );
            field!(out, "arch_bits", "{}", usize::BITS);
            field!(out, "monotonic_clock", "POSIX clock_gettime");
            field!(out, "multiplexing_api", "epoll");
            field!(out, "atomicvar_api", "c11-builtin");
            field!(out, "gcc_version", "0.0.0");
            field!(out, "process_id", "{}", std::process::id());
            field!(out, "process_supervised", "no");
            field!(out, "run_id", "{}", server.run_id);
            field!(out, "tcp_port", "{}", server.port.load(r));
            field!(out, "server_time_usec", "{}", crate::util::now_us());
            let uptime = server.started.elapsed().as_secs();
            field!(out, "uptime_in_seconds", "{uptime}");
            field!(out, "uptime_in_days", "{}", uptime / 86_400);
            let hz = server.hot.hz.load(r);
            field!(out, "hz", "{hz}");
            field!(out, "configured_hz", "{hz}");
            field!(
                out,
                "lru_clock",
                "{}",
                (crate::util::now_ms() / 1000) as u64 & ((1 << 24) - 1)
            );
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            field!(out, "executable", "{exe}");
            let file = server.config.read().file.clone().unwrap_or_default();
            field!(out, "config_file", "{file}");
            field!(out, "io_threads_active", "0");
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            field!(out, "connected_clients", "{}", server.clients.len());
            field!(out, "cluster_connections", "0");
            field!(out, "maxclients", "{}", server.hot.maxclients.load(r));
            field!(out, "client_recent_max_input_buffer", "0");
            field!(out, "client_recent_max_output_buffer", "0");
            field!(out, "blocked_clients", "0");
            field!(out, "tracking_clients", "0");
            field!(out, "clients_in_timeout_table", "0");
        }
        "memory" => {
            let m = memory_figures();
            let peak = stats
                .used_memory_peak
                .fetch_max(m.allocated, r)
                .max(m.allocated);
            let config = server.config.read();
            let maxmemory = config.int("maxmemory").max(0) as u64;
            let policy = config
                .get("maxmemory-policy")
                .unwrap_or("noeviction")
                .to_string();
            drop(config);
            let startup = stats.used_memory_startup.load(r);
            let overhead = startup;
            let dataset = m.allocated.saturating_sub(overhead);
            let total_mem = total_system_memory();
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            out.push_str("# Memory\r\n");
            field!(out, "used_memory", "{}", m.allocated);
            field!(out, "used_memory_human", "{}", bytes_to_human(m.allocated));
            field!(out, "used_memory_rss", "{}", m.rss);
            field!(out, "used_memory_rss_human", "{}", bytes_to_human(m.rss));
            field!(out, "used_memory_peak", "{peak}");
            field!(out, "used_memory_peak_human", "{}", bytes_to_human(peak));
            field!(
                out,
                "used_memory_peak_perc",
                "{:.2}%",
                ratio(m.allocated, peak) * 100.0
            );
            field!(out, "used_memory_overhead", "{overhead}");
            field!(out, "used_memory_startup", "{startup}");
            field!(out, "used_memory_dataset", "{dataset}");
            field!(
                out,
                "used_memory_dataset_perc",
                "{:.2}%",
                ratio(dataset, m.allocated.saturating_sub(startup).max(1)) * 100.0
            );
            field!(out, "allocator_allocated", "{}", m.allocated);
            field!(out, "allocator_active", "{}", m.active);
            field!(out, "allocator_resident", "{}", m.resident);
            field!(out, "total_system_memory", "{total_mem}");
            field!(
                out,
                "total_system_memory_human",
                "{}",
                bytes_to_human(total_mem)
            );
            field!(out, "used_memory_lua", "0");
            field!(out, "used_memory_vm_eval", "0");
            field!(out, "used_memory_lua_human", "0B");
            field!(out, "used_memory_scripts_eval", "0");
            field!(out, "number_of_cached_scripts", "0");
            field!(out, "number_of_functions", "0");
            field!(out, "number_of_libraries", "0");
            field!(out, "used_memory_vm_functions", "0");
            field!(out, "used_memory_vm_total", "0");
            field!(out, "used_memory_vm_total_human", "0B");
            field!(out, "used_memory_functions", "0");
            field!(out, "used_memory_scripts", "0");
            field!(out, "used_memory_scripts_human", "0B");
            field!(out, "maxmemory", "{maxmemory}");
            field!(out, "maxmemory_human", "{}", bytes_to_human(maxmemory));
            field!(out, "maxmemory_policy", "{policy}");
            field!(
                out,
                "allocator_frag_ratio",
                "{:.2}",
                ratio(m.active, m.allocated)
            );
            field!(
                out,
                "allocator_frag_bytes",
                "{}",
                m.active as i64 - m.allocated as i64
            );
            field!(
                out,
                "allocator_rss_ratio",
                "{:.2}",
                ratio(m.resident, m.active)
            );
            field!(
                out,
                "allocator_rss_bytes",
                "{}",
                m.resident as i64 - m.active as i64
            );
            field!(out, "rss_overhead_ratio", "{:.2}", ratio(m.rss, m.resident));
            field!(
                out,
                "rss_overhead_bytes",
                "{}",
                m.rss as i64 - m.resident as i64
            );
            field!(
                out,
                "mem_fragmentation_ratio",
                "{:.2}",
                ratio(m.rss, m.allocated)
            );
            field!(
                out,
                "mem_fragmentation_bytes",
                "{}",
                m.rss as i64 - m.allocated as i64
            );
            field!(out, "mem_not_counted_for_evict", "0");
            field!(out, "mem_replication_backlog", "0");
            field!(out, "mem_total_replication_buffers", "0");
            field!(out, "mem_clients_slaves", "0");
            field!(out, "mem_clients_normal", "0");
            field!(out, "mem_cluster_links", "0");
            field!(out, "mem_aof_buffer", "{}", server.aof.buffered());
            field!(out, "mem_allocator", "jemalloc-5.3.0");
            field!(out, "active_defrag_running", "0");
            field!(out, "lazyfree_pending_objects", "0");
            field!(out, "lazyfreed_objects", "0");
        }
        "persistence" => {
            let config = server.config.read();
            let aof = config.flag("appendonly");
            drop(config);
            out.push_str("# Persistence\r\n");
            let p = &server.persistence;
            let loading = p.loading.load(r);
            field!(out, "loading", "{}", u8::from(loading));
            field!(out, "async_loading", "0");
            field!(out, "current_cow_peak", "0");
            field!(out, "current_cow_size", "0");
            field!(out, "current_cow_size_age", "0");
            field!(out, "current_fork_perc", "0.00");
            field!(out, "current_save_keys_processed", "0");
            field!(out, "current_save_keys_total", "0");
            let status = |ok: bool| if ok { "ok" } else { "err" };
            field!(
                out,
                "rdb_changes_since_last_save",
                "{}",
                p.changes_since_save(server)
            );
            let bg_started = p.bgsave_started_ms.load(r);
            field!(
                out,
                "rdb_bgsave_in_progress",
                "{}",
                u8::from(bg_started != 0)
            );
            field!(out, "rdb_last_save_time", "{}", p.last_save_unix.load(r));
            field!(
                out,
                "rdb_last_bgsave_status",
                "{}",
                status(p.last_save_ok.load(r))
            );
            field!(
                out,
                "rdb_last_bgsave_time_sec",
                "{}",
                p.last_bgsave_secs.load(r)
            );
            let current = if bg_started == 0 {
                -1
            } else {
                (crate::util::now_ms() - bg_started) / 1000
            };
            field!(out, "rdb_current_bgsave_time_sec", "{current}");
            field!(out, "rdb_saves", "{}", p.saves.load(r));
            field!(out, "rdb_last_cow_size", "0");
            field!(
                out,
                "rdb_last_load_keys_expired",
                "{}",
                p.loaded_expired.load(r)
            );
            field!(
                out,
                "rdb_last_load_keys_loaded",
                "{}",
                p.loaded_keys.load(r)
            );
            let a = &server.aof;
            field!(out, "aof_enabled", "{}", u8::from(a.is_logging()));
            let rw_started = a.rewrite_started_ms.load(r);
            let rewriting = a.rewrite_in_progress.load(r);
            field!(out, "aof_rewrite_in_progress", "{}", u8::from(rewriting));
            let scheduled = u8::from(a.rewrite_scheduled.load(r));
            field!(out, "aof_rewrite_scheduled", "{scheduled}");
            field!(
                out,
                "aof_last_rewrite_time_sec",
                "{}",
                a.last_rewrite_secs.load(r)
            );
            let current = if rewriting && rw_started != 0 {
                (crate::util::now_ms() - rw_started) / 1000
            } else {
                -1
            };
            field!(out, "aof_current_rewrite_time_sec", "{current}");
            field!(
                out,
                "aof_last_bgrewrite_status",
                "{}",
                status(a.last_rewrite_ok.load(r))
            );
            field!(out, "aof_rewrites", "{}", a.rewrites.load(r));
            field!(
                out,
                "aof_rewrites_consecutive_failures",
                "{}",
                a.rewrite_failures.load(r)
            );
            field!(
                out,
                "aof_last_write_status",
                "{}",
                status(a.last_write_ok.load(r))
            );
            field!(out, "aof_last_cow_size", "0");
            field!(out, "module_fork_in_progress", "0");
            field!(out, "module_fork_last_cow_size", "0");
            if aof {
                field!(out, "aof_current_size", "{}", a.current_size.load(r));
                field!(out, "aof_base_size", "{}", a.base_size.load(r));
                field!(
                    out,
                    "aof_pending_rewrite",
                    "{}",
                    u8::from(a.rewrite_scheduled.load(r))
                );
                field!(out, "aof_buffer_length", "{}", a.buffered());
                field!(out, "aof_pending_bio_fsync", "0");
                field!(out, "aof_delayed_fsync", "0");
            }
            if loading {
                let started = p.loading_started_unix.load(r);
                let total = p.loading_total_bytes.load(r);
                let read = p.loading_loaded_bytes.load(r);
                let elapsed = (crate::util::now_ms() / 1000 - started).max(0) as u64;
                let eta = match read {
                    0 => 1,
                    _ => elapsed * total.saturating_sub(read) / read,
                };
                field!(out, "loading_start_time", "{started}");
                field!(out, "loading_total_bytes", "{total}");
                field!(out, "loading_rdb_used_mem", "0");
                field!(out, "loading_loaded_bytes", "{read}");
                let perc = read as f64 * 100.0 / total.max(1) as f64;
                field!(out, "loading_loaded_perc", "{perc:.2}");
                field!(out, "loading_eta_seconds", "{eta}");
            }
        }
        "stats" => {
            out.push_str("# Stats\r\n");
            field!(
                out,
                "total_connections_received",
                "{}",
                stats.connections_received.load(r)
            );
            field!(
                out,
                "total_commands_processed",
                "{}",
                stats.commands_processed.get()
            );
            let [ops, input, output] = stats.rates.lock().averages();
            field!(out, "instantaneous_ops_per_sec", "{}", ops.round() as u64);
            field!(
                out,
                "total_net_input_bytes",
                "{}",
                stats.net_input_bytes.get()
            );
            field!(
                out,
                "total_net_output_bytes",
                "{}",
                stats.net_output_bytes.get()
            );
            field!(out, "total_net_repl_input_bytes", "0");
            field!(out, "total_net_repl_output_bytes", "0");
            field!(out, "instantaneous_input_kbps", "{:.2}", input / 1024.0);
            field!(out, "instantaneous_output_kbps", "{:.2}", output / 1024.0);
            field!(out, "instantaneous_input_repl_kbps", "0.00");
            field!(out, "instantaneous_output_repl_kbps", "0.00");
            field!(
                out,
                "rejected_connections",
                "{}",
                stats.rejected_connections.load(r)
            );
            field!(out, "sync_full", "0");
            field!(out, "sync_partial_ok", "0");
            field!(out, "sync_partial_err", "0");
            field!(out, "expired_keys", "{}", stats.expired_keys.get());
            field!(out, "expired_stale_perc", "0.00");
            field!(out, "expired_time_cap_reached_count", "0");
            field!(out, "expire_cycle_cpu_milliseconds", "0");
            field!(out, "evicted_keys", "0");
            field!(out, "evicted_clients", "0");
            field!(out, "total_eviction_exceeded_time", "0");
            field!(out, "current_eviction_exceeded_time", "0");
            field!(out, "keyspace_hits", "{}", stats.keyspace_hits.get());
            field!(out, "keyspace_misses", "{}", stats.keyspace_misses.get());
            field!(out, "pubsub_channels", "0");
            field!(out, "pubsub_patterns", "0");
            field!(out, "pubsubshard_channels", "0");
            field!(out, "latest_fork_usec", "0");
            field!(out, "total_forks", "0");
            field!(out, "migrate_cached_sockets", "0");
            field!(out, "slave_expires_tracked_keys", "0");
            field!(out, "active_defrag_hits", "0");
            field!(out, "active_defrag_misses", "0");
            field!(out, "active_defrag_key_hits", "0");
            field!(out, "active_defrag_key_misses", "0");
            field!(out, "total_active_defrag_time", "0");
            field!(out, "current_active_defrag_time", "0");
            field!(out, "tracking_total_keys", "0");
            field!(out, "tracking_total_items", "0");
            field!(out, "tracking_total_prefixes", "0");
            field!(out, "unexpected_error_replies", "0");
            field!(out, "total_error_replies", "{}", stats.error_replies.get());
            field!(out, "dump_payload_sanitizations", "0");
            field!(
                out,
                "total_reads_processed",
                "{}",
                stats.commands_processed.get()
            );
            field!(
                out,
                "total_writes_processed",
                "{}",
                stats.commands_processed.get()
            );
            field!(out, "io_threaded_reads_processed", "0");
            field!(out, "io_threaded_writes_processed", "0");
            field!(out, "reply_buffer_shrinks", "0");
            field!(out, "reply_buffer_expands", "0");
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            field!(out, "role", "master");
            field!(out, "connected_slaves", "0");
            field!(out, "master_failover_state", "no-failover");
            field!(out, "master_replid", "{}", server.run_id);
            field!(
                out,
                "master_replid2",
                "0000000000000000000000000000000000000000"
            );
            field!(out, "master_repl_offset", "0");
            field!(out, "second_repl_offset", "-1");
            field!(out, "repl_backlog_active", "0");
            // The configured size, as Redis reports it with no backlog yet.
            let backlog = server.config.read().int("repl-backlog-size");
            field!(out, "repl_backlog_size", "{backlog}");
            field!(out, "repl_backlog_first_byte_offset", "0");
            field!(out, "repl_backlog_histlen", "0");
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            out.push_str("# CPU\r\n");
            field!(out, "used_cpu_sys", "{sys:.6}");
            field!(out, "used_cpu_user", "{user:.6}");
            field!(out, "used_cpu_sys_children", "0.000000");
            field!(out, "used_cpu_user_children", "0.000000");
            field!(out, "used_cpu_sys_main_thread", "{sys:.6}");
            field!(out, "used_cpu_user_main_thread", "{user:.6}");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            let mut all: Vec<_> = Registry::get()
                .all_stats()
                .filter(|(_, s)| s.calls() > 0 || s.rejected_calls() > 0 || s.failed_calls() > 0)
                .collect();
            all.sort_by_key(|(name, _)| *name);
            for (name, s) in all {
                let calls = s.calls();
                let usec = s.usec();
                let per = if calls == 0 {
                    0.0
                } else {
                    usec as f64 / calls as f64
                };
                field!(
                    out,
                    format!("cmdstat_{name}"),
                    "calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={},failed_calls={}",
                    s.rejected_calls(),
                    s.failed_calls()
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            for (code, count) in stats.error_codes.lock().iter() {
                field!(out, format!("errorstat_{code}"), "count={count}");
            }
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            field!(out, "cluster_enabled", "0");
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for i in 0..server.keyspace.num_dbs() {
                let keys = db.db_size(i);
                if keys > 0 {
                    let expires = db.db_expires(i);
                    field!(
                        out,
                        format!("db{i}"),
                        "keys={keys},expires={expires},avg_ttl=0"
                    );
                }
            }
        }
        _ => {}
    }
}

/// User and system CPU seconds of the process, from `/proc/self/stat`.
fn cpu_times() -> (f64, f64) {
    let Ok(text) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall.
    let rest = text.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Clock ticks are 100 per second on Linux.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

// ---------------------------------------------------------------- CONFIG

fn config_get(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let config = ctx.server.config.read();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for arg in &ctx.args[2..] {
        let pattern = arg.to_ascii_lowercase();
        let is_glob = pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        for (name, value) in config.iter() {
            let hit = if is_glob {
                crate::util::glob::glob_match(&pattern, name.as_bytes())
            } else {
                name.as_bytes() == pattern.as_slice()
            };
            // An exact name is echoed as the client spelled it, as Redis does.
            let shown = if is_glob {
                name.to_string()
            } else {
                args::lossy(arg)
            };
            if hit && !pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                let name = shown;
                let value = if name.eq_ignore_ascii_case("dir") {
                    // The working directory is the truth (set at start-up
                    // and by CONFIG SET dir).
                    std::env::current_dir()
                        .map(|d| d.display().to_string())
                        .unwrap_or_else(|_| value.to_string())
                } else {
                    value.to_string()
                };
                pairs.push((name, value));
            }
        }
    }
    drop(config);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() % 2 != 0 {
        return Err(SYNTAX);
    }
    let pairs: Vec<(String, String)> = ctx.args[2..]
        .chunks(2)
        .map(|p| (args::lossy(&p[0]), args::lossy(&p[1])))
        .collect();
    // Validate everything before changing anything: all or nothing.
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, _) in &pairs {
        let Some(d) = crate::config::directive(name) else {
            return Err(CmdError::new(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        let failed = |why: &str| {
            CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        if !d.mutable {
            return Err(failed("can't set immutable config"));
        }
        if crate::config::PROTECTED.contains(&d.name) {
            let allowed = crate::config::protected_action_allowed(
                ctx.server.config.read().get("enable-protected-configs"),
                ctx.client.info.addr.ip().is_loopback(),
            );
            if !allowed {
                return Err(failed("can't set protected config"));
            }
        }
        let canonical = crate::config::canonical(d.name);
        if seen.contains(&canonical) {
            return Err(failed("duplicate parameter"));
        }
        seen.push(canonical);
    }
    let mut config = ctx.server.config.write();
    let mut updated = config.clone();
    for (name, value) in &pairs {
        // A rejected value is reported under the directive's own lower-case
        // name (as looked up, so an old alias stays the alias), as in Redis.
        let shown = crate::config::directive(name).map_or(name.as_str(), |d| d.name);
        let failed = |why: &str| {
            CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument '{shown}') - {why}"
            ))
        };
        updated.set(name, value).map_err(|why| failed(&why))?;
        if name.eq_ignore_ascii_case("dir") {
            // The only setting applied outside the config itself; done
            // last among the checks so a failure leaves everything as it was.
            std::env::set_current_dir(value)
                .map_err(|e| failed(&crate::util::os_error_text(&e)))?;
        }
    }
    *config = updated;
    ctx.server.hot.refresh(&config);
    crate::log::set_level(config.get("loglevel").unwrap_or("notice"));
    drop(config);
    let touches_aof = pairs.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("appendonly") || name.eq_ignore_ascii_case("appendfsync")
    });
    if touches_aof {
        if let Err(why) = crate::aof::rewrite::config_changed(&ctx.server.arc(), ctx.client.in_exec)
        {
            // As in Redis, the setting goes back to what it was.
            let mut config = ctx.server.config.write();
            let _ = config.set("appendonly", "no");
            return Err(CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {why}"
            )));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.server.stats.reset();
    for (_, s) in Registry::get().all_stats() {
        s.reset();
    }
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let config = ctx.server.config.read();
    let Some(path) = config.file.clone() else {
        return Err(CmdError::fixed(
            "ERR The server is running without a config file",
        ));
    };
    let text = config.rewrite_text(&std::fs::read_to_string(&path).unwrap_or_default());
    drop(config);
    std::fs::write(&path, text)
        .map_err(|e| CmdError::new(format!("ERR Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Values of the directives matching the glob-style pattern(s).",
            "SET <directive> <value> [<directive> <value> ...]",
            "    Change directives, all or none of them.",
            "RESETSTAT",
            "    Reset the statistics INFO reports.",
            "REWRITE",
            "    Write the running configuration back to the config file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- TIME

fn time(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
    Ok(())
}

// ---------------------------------------------------------------- MEMORY

/// Bytes a key costs beyond its value: the entry, its key and dict slot.
const KEY_OVERHEAD: usize = 56;

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
            let bytes = KEY_OVERHEAD + key.len() + v.heap_bytes();
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

// ---------------------------------------------------------------- DEBUG

fn debug(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // `enable-debug-command` is checked by admission (cmd::admit).
    let sub = ctx.args[1].to_ascii_lowercase();
    let argc = ctx.args.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => {
            write_help(
                ctx.out,
                "DEBUG",
                &[
                    "SLEEP <seconds>",
                    "    Stop serving keyspace commands for the given time (fractions allowed).",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Turn the periodic expiry of keys off or on.",
                    "OBJECT <key>",
                    "    Internal details of a key's value.",
                    "CHANGE-REPL-ID",
                    "    Accepted for compatibility; does nothing.",
                    "QUICKLIST-PACKED-THRESHOLD <size>",
                    "    Accepted for compatibility.",
                    "LISTPACK <key>",
                    "    Accepted for compatibility.",
                    "RELOAD",
                    "    Needs persistence, which this server does not have yet.",
                    "DIGEST",
                    "    A digest of the whole dataset (equal data, equal digest).",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    A digest of each key's value.",
                    "PROTOCOL <type>",
                    "    A sample reply of a RESP type (string, integer, double, bignum, null,",
                    "    array, set, map, attrib, push, verbatim, true, false).",
                    "POPULATE <count> [<prefix>] [<size>]",
                    "    Create <count> string keys <prefix>:<n> (prefix 'key') holding 'value:<n>',",
                    "    cut or zero-padded to <size> bytes when given. Existing keys are kept.",
                    "PAUSE-CRON <0|1>",
                    "    Stop or restart the periodic task (expiry, timeouts).",
                    "LOG <message>",
                    "    Write the message to the server log.",
                    "HOLD-SHARDS <milliseconds>",
                    "    Hold every shard that long, busy like a long script: past",
                    "    busy-reply-threshold other clients get BUSY; SHUTDOWN NOSAVE ends it.",
                    "WORKER [<index>]",
                    "    The connection worker this connection runs on; with <index>, move",
                    "    there once the reply is written (tests place connections with it).",
                    "PANIC",
                    "    Crash the server as a bug would: bug report in the log, then abort.",
                    "ASSERT",
                    "    Crash the server through a failed assertion.",
                    "KEYEVENTS <ON|OFF|GET>",
                    "    Record every keyspace event from now on (ON), stop (OFF), or return and",
                    "    clear what was recorded (GET): [db, class, event, key] each.",
                ],
            );
        }
        (b"sleep", 3) => {
            let secs = args::float(&ctx.args[2])?;
            // Like Redis, the whole keyspace stays unavailable meanwhile: this
            // handler holds every shard (the command is ALL_SHARDS).
            let dur = std::time::Duration::from_secs_f64(secs.clamp(0.0, 1e6));
            std::thread::sleep(dur);
            ctx.out.ok();
        }
        (b"set-active-expire", 3) => {
            let on = args::int(&ctx.args[2])? != 0;
            ctx.server.active_expire.store(on, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"object", 3) => {
            let key = ctx.args[2].clone();
            let Some(v) = db.get(&key) else {
                return Err(NO_SUCH_KEY);
            };
            let text = format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:0 lru_seconds_idle:0",
                v.encoding_name(),
                v.heap_bytes()
            );
            ctx.out.simple(&text);
        }
        (b"change-repl-id", 2) | (b"quicklist-packed-threshold", 3) => ctx.out.ok(),
        (b"protocol", 3) => debug_protocol(ctx)?,
        (b"populate", 3..=5) => {
            let positive = |a: &[u8]| -> Result<u64, CmdError> {
                crate::protocol::parse_i64(a)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or(crate::error::NOT_POSITIVE)
            };
            let count = positive(&ctx.args[2])?;
            let size = match ctx.args.get(4) {
                Some(a) => positive(a)? as usize,
                None => 0,
            };
            let prefix = ctx.args.get(3).map_or(&b"key"[..], |p| &p[..]).to_vec();
            for j in 0..count {
                let mut key = prefix.clone();
                key.extend_from_slice(format!(":{j}").as_bytes());
                if db.exists(&key) {
                    continue;
                }
                let mut value = format!("value:{j}").into_bytes();
                if size > 0 {
                    // Exactly `size` bytes: the text, cut or zero-padded.
                    value.resize(size, 0);
                }
                db.set(
                    &key,
                    crate::types::Value::Str(crate::types::StrValue::from_bytes(&value)),
                );
                // Redis reports only the key's creation (`new`).
                db.modified(&key, crate::db::KeyEvent::NONE);
            }
            ctx.out.ok();
        }
        (b"pause-cron", 3) => {
            let on = args::int(&ctx.args[2])? != 0;
            ctx.server.cron_paused.store(on, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"set-skip-checksum-validation", 3)
        | (b"set-disable-deny-scripts", 3)
        | (b"replybuffer", 4) => {
            // Switches for machinery ferrodis does not have: accepted.
            args::int(&ctx.args[ctx.args.len() - 1])?;
            ctx.out.ok();
        }
        (b"hold-shards", 3) => {
            let ms = args::int(&ctx.args[2])?.max(0) as u64;
            if hold_shards(ctx.server, std::time::Duration::from_millis(ms)) {
                ctx.out.ok();
            } else {
                // Ended by SHUTDOWN NOSAVE: the server exits, nothing replies.
                ctx.client.close_after_reply = true;
            }
        }
        (b"worker", 2) => ctx.out.int(ctx.client.worker.0 as i64),
        (b"worker", 3) => {
            let to = args::int(&ctx.args[2])?;
            let (here, count) = ctx.client.worker;
            let Some(to) = usize::try_from(to).ok().filter(|&w| w < count) else {
                return Err(CmdError::new(format!(
                    "ERR there are {count} workers, numbered from 0"
                )));
            };
            if to != here {
                ctx.client.move_to = Some(to);
            }
            ctx.out.int(to as i64);
        }
        (b"panic", 2) => {
            // The panic hook writes the bug report and aborts (crash.rs).
            panic!(
                "DEBUG PANIC called at Unix time {}",
                crate::util::now_ms() / 1000
            );
        }
        (b"assert", 2) => {
            let one = ctx.args.len() - 1;
            assert_eq!(one, 2, "DEBUG ASSERT: 1 == 2 is false");
        }
        (b"keyevents", 3) => super::keyevents::debug_keyevents(ctx, db)?,
        (b"log", 3) => {
            crate::warning!("DEBUG LOG: {}", args::lossy(&ctx.args[2]));
            ctx.out.ok();
        }
        (b"digest", 2) => {
            let mut total = [0u64; 3];
            for index in 0..ctx.server.keyspace.num_dbs() {
                let mut keys = Vec::new();
                db.for_each_key(index, |k, v| keys.push((k.to_vec(), value_digest(v))));
                let saved = db.db;
                db.db = index;
                for (key, value) in keys {
                    let expire = db.expire_time(&key).unwrap_or(-1);
                    for (i, t) in total.iter_mut().enumerate() {
                        let mut h = Fnv::new(i as u64 ^ index as u64);
                        h.write(&key);
                        h.write_u64(value[i]);
                        h.write_u64(expire as u64);
                        // XOR: the key order does not matter.
                        *t ^= h.finish();
                    }
                }
                db.db = saved;
            }
            ctx.out.simple(&digest_hex(total));
        }
        (b"digest-value", _) => {
            let keys: Vec<bytes::Bytes> = ctx.args[2..].to_vec();
            ctx.out.array(keys.len());
            for key in keys {
                let d = db.get(&key).map_or([0; 3], value_digest);
                ctx.out.simple(&digest_hex(d));
            }
        }
        (b"listpack", 3) | (b"quicklist", 3) => {
            let key = ctx.args[2].clone();
            if db.get(&key).is_none() {
                return Err(NO_SUCH_KEY);
            }
            ctx.out.simple("Listpack structure printed on stdout");
        }
        (b"reload", _) | (b"loadaof", _) => {
            return Err(CmdError::fixed(
                "ERR DEBUG RELOAD needs persistence, which is not available",
            ));
        }
        _ => {
            return Err(CmdError::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                args::lossy(&ctx.args[1])
            )));
        }
    }
    Ok(())
}

/// `DEBUG HOLD-SHARDS`: the stand-in for a long script that the BUSY
/// machinery is tested with. DEBUG enters through the exclusive gate, so
/// this runs holding every shard; it keeps its core busy as a script would,
/// declares the gate busy past `busy-reply-threshold` (as a script's hook
/// will), and stops early on a kill request or a shutdown. False if a
/// shutdown ended it.
fn hold_shards(server: &crate::state::Shared, hold: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    let threshold = std::time::Duration::from_millis(
        server.config.read().int("busy-reply-threshold").max(0) as u64,
    );
    let gate = server.keyspace.gate();
    while start.elapsed() < hold {
        if start.elapsed() >= threshold {
            gate.declare_busy(crate::gate::BusyKind::Eval);
        }
        if server.shutting_down.load(Ordering::Relaxed) {
            return false;
        }
        if gate.kill_requested() {
            break;
        }
        std::hint::spin_loop();
    }
    true
}

/// `DEBUG PROTOCOL <type>`: one sample reply of each RESP type, so
/// clients (and tests) can check how every type is encoded.
fn debug_protocol(ctx: &mut Ctx<'_>) -> CmdResult {
    let name = ctx.args[2].to_ascii_lowercase();
    let out = &mut *ctx.out;
    match name.as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's sample value, deliberately not pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if out.is_resp3() {
                out.raw(b"(");
                out.raw(n);
                out.raw(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        b"null" => out.null(),
        b"array" | b"set" | b"map" => {
            match name.as_slice() {
                b"array" => out.array(3),
                b"set" => out.set(3),
                _ => out.map(3),
            }
            for j in 0..3 {
                out.int(j);
                if name.as_slice() == b"map" {
                    out.bool(j == 1);
                }
            }
        }
        b"attrib" => {
            if out.is_resp3() {
                out.raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.is_resp3() {
                return Err(CmdError::fixed("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.bool(true),
        b"false" => out.bool(false),
        b"verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::fixed(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// FNV-1a, seeded: a stable hash for DEBUG DIGEST (the same data gives the
/// same digest in every run).
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Self {
        Fnv(0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn write(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Length-terminate so ("ab","c") and ("a","bc") differ.
        self.write_len(data.len());
    }

    fn write_len(&mut self, n: usize) {
        for b in (n as u64).to_le_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.write_len(n as usize);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Three independent 64-bit digests of a value's type and content.
fn value_digest(v: &crate::types::Value) -> [u64; 3] {
    use crate::types::Value;
    let mut out = [0u64; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let mut h = Fnv::new(i as u64 + 17);
        h.write(v.type_name().as_bytes());
        match v {
            Value::Str(s) => h.write(&s.as_bytes()),
            Value::List(l) => l.iter().for_each(|item| h.write(item)),
            Value::Hash(hv) => {
                // Field order is an encoding detail: combine order-free.
                let mut acc = 0u64;
                for (f, val) in hv.iter() {
                    let mut e = Fnv::new(i as u64);
                    e.write(f);
                    e.write(val);
                    acc ^= e.finish();
                }
                h.write_u64(acc);
            }
        }
        *o = h.finish();
    }
    out
}

/// 40 hex digits, like Redis's SHA1-sized digests; all zeros for nothing.
fn digest_hex(d: [u64; 3]) -> String {
    let hex = format!("{:016x}{:016x}{:016x}", d[0], d[1], d[2]);
    hex[..40].to_string()
}

// ---------------------------------------------------------------- SLOWLOG

/// Arguments kept per entry, the last one standing for the rest.
const SLOWLOG_MAX_ARGS: usize = 32;
/// Bytes kept per argument.
const SLOWLOG_MAX_ARG_LEN: usize = 128;

/// Logs the command just run if it took at least `slowlog-log-slower-than`.
pub fn slowlog_record(ctx: &Ctx<'_>, spec: &CommandSpec, duration_us: u64) {
    let hot = &ctx.server.hot;
    let threshold = hot.slowlog_slower_than.load(Ordering::Relaxed);
    if threshold < 0 || (duration_us as i64) < threshold || spec.has(SKIP_SLOWLOG) {
        return;
    }
    let argc = ctx.args.len();
    let kept = argc.min(SLOWLOG_MAX_ARGS);
    let args = (0..kept)
        .map(|j| {
            let a = &ctx.args[j];
            if kept != argc && j == kept - 1 {
                format!("... ({} more arguments)", argc - kept + 1).into_bytes()
            } else if a.len() > SLOWLOG_MAX_ARG_LEN {
                let mut v = a[..SLOWLOG_MAX_ARG_LEN].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARG_LEN).as_bytes(),
                );
                v
            } else {
                a.to_vec()
            }
        })
        .collect();
    let log = &ctx.server.slowlog;
    let entry = crate::state::SlowEntry {
        id: log.next_id.fetch_add(1, Ordering::Relaxed),
        time: crate::util::now_ms() / 1000,
        duration_us,
        args,
        peer: ctx.client.info.addr.to_string(),
        name: ctx
            .client
            .info
            .name
            .lock()
            .as_ref()
            .map(|n| n.to_vec())
            .unwrap_or_default(),
    };
    let max = hot.slowlog_max_len.load(Ordering::Relaxed);
    let mut entries = log.entries.lock();
    entries.push_front(entry);
    entries.truncate(max);
}

fn slowlog_get(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mut count = 10usize;
    if ctx.args.len() == 3 {
        let n = crate::protocol::parse_i64(&ctx.args[2]).ok_or(CmdError::fixed(
            "ERR count should be greater than or equal to -1",
        ))?;
        if n < -1 {
            return Err(CmdError::fixed(
                "ERR count should be greater than or equal to -1",
            ));
        }
        count = if n == -1 { usize::MAX } else { n as usize };
    } else if ctx.args.len() > 3 {
        return Err(introspect::subcommand_syntax_error(ctx.args));
    }
    let entries: Vec<crate::state::SlowEntry> = ctx
        .server
        .slowlog
        .entries
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time);
        out.int(e.duration_us as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let n = ctx.server.slowlog.entries.lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.server.slowlog.entries.lock().clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    The newest <count> entries (10 by default, all with -1). Each is:",
            "    id, unix time, microseconds taken, arguments, client address, client name.",
            "LEN",
            "    Number of entries.",
            "RESET",
            "    Empty the log.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- ACL
//
// One user, `default`, whose password is `requirepass` (or none).

fn acl_whoami(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.bulk(b"default");
    Ok(())
}

fn acl_users(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.array(1);
    ctx.out.bulk(b"default");
    Ok(())
}

fn acl_cat(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => {
            let cats = introspect::ACL_CATEGORIES;
            ctx.out.array(cats.len());
            for c in cats {
                ctx.out.bulk(c.as_bytes());
            }
        }
        3 => {
            let wanted = ctx.args[2].to_ascii_lowercase();
            let Some(cat) = introspect::ACL_CATEGORIES
                .iter()
                .find(|c| c.as_bytes() == wanted.as_slice())
            else {
                return Err(CmdError::new(format!(
                    "ERR Unknown category '{}'",
                    args::lossy(&ctx.args[2])
                )));
            };
            let names: Vec<&str> = Registry::get()
                .commands
                .iter()
                .flat_map(|c| std::iter::once(*c).chain(c.subcommands.iter()))
                .filter(|spec| introspect::acl_categories(spec).contains(cat))
                .map(|spec| spec.name)
                .collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    }
    Ok(())
}

fn acl_genpass(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let bits = match ctx.args.len() {
        2 => 256,
        3 => {
            let n = args::int(&ctx.args[2])?;
            if !(1..=4096).contains(&n) {
                return Err(CmdError::fixed(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                ));
            }
            n as usize
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    };
    let digits = bits.div_ceil(4);
    let mut hex = String::with_capacity(digits + 16);
    while hex.len() < digits {
        let _ = write!(hex, "{:016x}", crate::util::rand_u64());
    }
    hex.truncate(digits);
    ctx.out.bulk(hex.as_bytes());
    Ok(())
}

fn acl_log(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    match ctx.args.len() {
        2 => {}
        3 if args::is(&ctx.args[2], "RESET") => {
            ctx.out.ok();
            return Ok(());
        }
        3 => {
            args::int(&ctx.args[2])?;
        }
        _ => return Err(introspect::subcommand_syntax_error(ctx.args)),
    }
    // Nothing is logged: there are no ACL rules to break.
    ctx.out.array(0);
    Ok(())
}

fn acl_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "ACL",
        &[
            "CAT [<category>]",
            "    The ACL categories, or the commands in one.",
            "GENPASS [<bits>]",
            "    A random password of <bits> bits (256 by default), in hex.",
            "LOG [<count> | RESET]",
            "    Denied accesses (none: the only user is 'default').",
            "USERS",
            "    The user names.",
            "WHOAMI",
            "    The user of this connection.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- LATENCY
//
// No latency events are sampled yet, so every history is empty.

fn latency_empty(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

fn latency_reset(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(0);
    Ok(())
}

fn latency_graph(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    Err(CmdError::new(format!(
        "ERR No samples available for event '{}'",
        args::lossy(&ctx.args[2])
    )))
}

fn latency_doctor(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.verbatim(
        "txt",
        b"No latency events were recorded: latency monitoring is not available in this server.\n",
    );
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    A report on latency events.",
            "GRAPH <event>",
            "    An ASCII graph of an event's latency samples.",
            "HISTORY <event>",
            "    The samples of an event.",
            "LATEST",
            "    The latest sample of every event.",
            "RESET [<event> ...]",
            "    Forget the samples of the events (all when none is named).",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- MONITOR

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

// ---------------------------------------------------------------- ROLE

fn role(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    // A master without replicas (replication does not exist yet).
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

// ---------------------------------------------------------------- SHUTDOWN

fn shutdown(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    for a in &ctx.args[1..] {
        let known = ["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"]
            .iter()
            .any(|k| args::is(a, k));
        if !known {
            return Err(SYNTAX);
        }
    }
    let has = |k: &str| ctx.args[1..].iter().any(|a| args::is(a, k));
    if has("SAVE") && has("NOSAVE") {
        return Err(SYNTAX);
    }
    if has("ABORT") {
        if ctx.args.len() > 2 {
            return Err(SYNTAX);
        }
        return Err(CmdError::fixed("ERR No shutdown in progress."));
    }
    // While a long script runs only SHUTDOWN NOSAVE may end it (a save
    // would have to wait for the shards it holds).
    if let Some(kind) = ctx.server.keyspace.gate().busy() {
        if !has("NOSAVE") {
            return Err(CmdError::fixed(kind.error()));
        }
    }
    crate::warning!("User requested shutdown...");
    let save = has("SAVE") || (!has("NOSAVE") && ctx.server.has_save_rules());
    if save {
        crate::notice!("Saving the final RDB snapshot before exiting.");
        if crate::snapshot::save(ctx.server).is_err() && !has("FORCE") {
            crate::warning!("Error trying to save the DB, can't exit.");
            return Err(CmdError::fixed(
                "ERR Errors trying to SHUTDOWN. Check logs.",
            ));
        }
    }
    ctx.server.shutting_down.store(true, Ordering::SeqCst);
    ctx.server.shutdown.notify_one();
    // Like Redis, the connection closes without a reply on success.
    ctx.client.close_after_reply = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1536 * 1024), "1.50M");
        assert_eq!(bytes_to_human(3 << 30), "3.00G");
    }
}

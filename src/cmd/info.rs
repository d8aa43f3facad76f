//! INFO: the server's report of itself, section by section, in Redis's
//! field names and order.

use super::flags::*;
use super::spec::{bind_with, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::CmdResult;
use crate::util::memory::memory_figures;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// INFO's binding.
pub const COMMANDS: &[CommandSpec] = &[bind_with("info", info, ALL_SHARDS)];

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
            field!(
                out,
                "client_recent_max_output_buffer",
                "{}",
                server.stats.recent_output_peak()
            );
            let blocking = server.keyspace.blocking();
            // Clients held by CLIENT PAUSE count as blocked, as in Redis.
            let blocked = blocking.blocked.load(r) + server.pause.held();
            field!(out, "blocked_clients", "{blocked}");
            let tracking = server.keyspace.events().tracking();
            field!(out, "tracking_clients", "{}", tracking.clients());
            field!(
                out,
                "clients_in_timeout_table",
                "{}",
                blocking.with_timeout.load(r)
            );
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
            let scripts = &server.scripts;
            let (vm, eval) = (scripts.vm_bytes(), scripts.bytes());
            field!(out, "used_memory_lua", "{vm}");
            field!(out, "used_memory_vm_eval", "{vm}");
            field!(
                out,
                "used_memory_lua_human",
                "{}",
                bytes_to_human(vm as u64)
            );
            field!(out, "used_memory_scripts_eval", "{eval}");
            field!(out, "number_of_cached_scripts", "{}", scripts.count());
            field!(out, "number_of_functions", "0");
            field!(out, "number_of_libraries", "0");
            field!(out, "used_memory_vm_functions", "0");
            field!(out, "used_memory_vm_total", "{vm}");
            field!(
                out,
                "used_memory_vm_total_human",
                "{}",
                bytes_to_human(vm as u64)
            );
            field!(out, "used_memory_functions", "0");
            field!(out, "used_memory_scripts", "{eval}");
            field!(
                out,
                "used_memory_scripts_human",
                "{}",
                bytes_to_human(eval as u64)
            );
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
            let [channels, patterns, shard] = ctx.server.pubsub.counts();
            field!(out, "pubsub_channels", "{channels}");
            field!(out, "pubsub_patterns", "{patterns}");
            field!(out, "pubsubshard_channels", "{shard}");
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
            let tracking = server.keyspace.events().tracking();
            field!(out, "tracking_total_keys", "{}", tracking.total_keys());
            field!(out, "tracking_total_items", "{}", tracking.total_items());
            field!(
                out,
                "tracking_total_prefixes",
                "{}",
                tracking.total_prefixes()
            );
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
            let mut all: Vec<_> = ctx
                .registry
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

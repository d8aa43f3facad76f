//! Server-wide state shared by every layer above the keyspace: the
//! keyspace itself, the configuration and its hot copies, counters, the
//! client registry, the slow log, persistence state and the AOF.
//!
//! It lives here, below the command layer and the server loop, so that
//! dependencies run one way: commands, persistence and connections use it;
//! it uses none of them.

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::db::{AccessPolicy, DbView, Keyspace};
use crate::types::hash::HashLimits;
use crate::types::list::ListLimits;
use crate::types::set::SetLimits;
use crate::util::counter::StripedCounter;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// Server counters reported by INFO stats.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands processed.
    pub commands_processed: StripedCounter,
    /// Keys deleted on expiry.
    pub expired_keys: StripedCounter,
    /// Read lookups that hit.
    pub keyspace_hits: StripedCounter,
    /// Read lookups that missed.
    pub keyspace_misses: StripedCounter,
    /// Bytes read from clients.
    pub net_input_bytes: StripedCounter,
    /// Bytes written to clients.
    pub net_output_bytes: StripedCounter,
    /// Error replies sent.
    pub error_replies: StripedCounter,
    /// Changes since the last save.
    pub dirty: StripedCounter,
    /// Error replies by error code (INFO errorstats).
    pub error_codes: Mutex<BTreeMap<String, u64>>,
    /// Highest `used_memory` seen (INFO memory).
    pub used_memory_peak: AtomicU64,
    /// `used_memory` once the server was ready, before any client.
    pub used_memory_startup: AtomicU64,
    /// Recent per-second rates (INFO `instantaneous_*`).
    pub rates: Mutex<RateSamples>,
    /// The largest unsent output of any client in each of the last 8
    /// seconds, by Unix second modulo 8 (INFO
    /// `client_recent_max_output_buffer`, as Redis keeps it).
    pub output_peaks: Mutex<[usize; 8]>,
}

impl Stats {
    /// Records the clients' largest unsent output at Unix second `now_secs`
    /// and forgets the slot that is 8 seconds old.
    pub fn record_output_peak(&self, now_secs: i64, peak: usize) {
        let slot = now_secs.rem_euclid(8) as usize;
        let mut peaks = self.output_peaks.lock();
        peaks[(slot + 1) % 8] = 0;
        peaks[slot] = peaks[slot].max(peak);
    }

    /// The largest unsent output of a client in the last seconds.
    pub fn recent_output_peak(&self) -> usize {
        self.output_peaks.lock().iter().copied().max().unwrap_or(0)
    }
}

/// How many samples the instantaneous rates average over.
const RATE_SAMPLES: usize = 16;

/// Rolling samples of commands and network bytes per second, taken by the
/// periodic task (Redis's `instantaneous_ops_per_sec` and friends).
#[derive(Default)]
pub struct RateSamples {
    /// When the last sample was taken.
    last_at: Option<Instant>,
    /// Counter values at the last sample: commands, input, output bytes.
    last: [u64; 3],
    /// Per-second rates, a ring of [`RATE_SAMPLES`] per counter.
    samples: [[f64; RATE_SAMPLES]; 3],
    next: usize,
}

impl RateSamples {
    /// Records the current counter values (commands, input bytes, output
    /// bytes) as a new sample.
    pub fn sample(&mut self, now: Instant, counters: [u64; 3]) {
        if let Some(at) = self.last_at {
            let secs = now.duration_since(at).as_secs_f64();
            if secs > 0.0 {
                for (i, c) in counters.iter().enumerate() {
                    self.samples[i][self.next] = c.saturating_sub(self.last[i]) as f64 / secs;
                }
                self.next = (self.next + 1) % RATE_SAMPLES;
            }
        }
        self.last_at = Some(now);
        self.last = counters;
    }

    /// Average rates: commands per second, input and output bytes per second.
    pub fn averages(&self) -> [f64; 3] {
        let mut out = [0.0; 3];
        for (o, ring) in out.iter_mut().zip(&self.samples) {
            *o = ring.iter().sum::<f64>() / RATE_SAMPLES as f64;
        }
        out
    }
}

impl Stats {
    /// Adds a finished command's keyspace counters.
    pub fn record_view(&self, view: &DbView<'_>) {
        if view.hits > 0 {
            self.keyspace_hits.add(view.hits);
        }
        if view.misses > 0 {
            self.keyspace_misses.add(view.misses);
        }
        if view.expired > 0 {
            self.expired_keys.add(view.expired);
        }
        if view.dirty > 0 {
            self.dirty.add(view.dirty);
        }
    }

    /// Counts an error reply with its code.
    pub fn record_error(&self, code: &str) {
        self.error_replies.add(1);
        *self.error_codes.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    /// Resets the counters CONFIG RESETSTAT resets.
    pub fn reset(&self) {
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        for c in [
            &self.commands_processed,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.reset();
        }
        self.error_codes.lock().clear();
    }
}

/// Configuration values read on hot paths, cached outside the config lock.
pub struct HotConfig {
    /// `hash-max-listpack-entries`
    pub hash_max_entries: AtomicUsize,
    /// `hash-max-listpack-value`
    pub hash_max_value: AtomicUsize,
    /// `set-max-intset-entries`, `set-max-listpack-entries`,
    /// `set-max-listpack-value`
    pub set_limits: [AtomicUsize; 3],
    /// `list-max-listpack-size`
    pub list_max_size: AtomicI64,
    /// `zset-max-listpack-entries`
    pub zset_max_entries: AtomicUsize,
    /// `zset-max-listpack-value`
    pub zset_max_value: AtomicUsize,
    /// `proto-max-bulk-len`
    pub proto_max_bulk_len: AtomicUsize,
    /// `hll-sparse-max-bytes`: past it a sparse HyperLogLog turns dense.
    pub hll_sparse_max_bytes: AtomicUsize,
    /// `client-query-buffer-limit`
    pub query_buffer_limit: AtomicUsize,
    /// `maxclients`
    pub maxclients: AtomicUsize,
    /// `timeout` in seconds (0 = never).
    pub timeout_secs: AtomicU64,
    /// `hz`
    pub hz: AtomicU64,
    /// `idle-poll-usec`: how long a busy worker may poll before it sleeps.
    pub idle_poll_us: AtomicU64,
    /// `slowlog-log-slower-than` in microseconds (negative: off).
    pub slowlog_slower_than: AtomicI64,
    /// `slowlog-max-len`
    pub slowlog_max_len: AtomicUsize,
    /// `maxmemory-policy` is an LFU policy, with `lfu-log-factor` and
    /// `lfu-decay-time`: what a key's access stamp counts.
    pub lfu: AtomicBool,
    /// `lfu-log-factor`
    pub lfu_log_factor: AtomicU64,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_time: AtomicU64,
    /// Protected mode in force: `protected-mode yes` and no `requirepass`.
    pub protected: AtomicBool,
    /// `lazyfree-lazy-user-del`: DEL frees large values in the background.
    pub lazy_user_del: AtomicBool,
    /// `active-expire-effort`, 1 to 10.
    pub active_expire_effort: AtomicU64,
    /// `tcp-keepalive` in seconds (0 = no keepalive probes).
    pub tcp_keepalive: AtomicU64,
    /// `jemalloc-bg-thread` as last applied to the allocator (0 = not yet).
    jemalloc_bg_thread: std::sync::atomic::AtomicU8,
    /// `client-output-buffer-limit`, per client class.
    pub output_limits: Arc<crate::outbox::OutputLimits>,
    /// `notify-keyspace-events` as class bits (see `db::class`).
    pub notify_flags: std::sync::atomic::AtomicU32,
    /// `tracking-table-max-keys` (0: no limit).
    pub tracking_max_keys: AtomicUsize,
}

impl HotConfig {
    fn from(config: &Config) -> Self {
        let hot = HotConfig {
            hash_max_entries: AtomicUsize::new(0),
            hash_max_value: AtomicUsize::new(0),
            set_limits: Default::default(),
            list_max_size: AtomicI64::new(0),
            zset_max_entries: AtomicUsize::new(128),
            zset_max_value: AtomicUsize::new(64),
            proto_max_bulk_len: AtomicUsize::new(0),
            hll_sparse_max_bytes: AtomicUsize::new(3000),
            query_buffer_limit: AtomicUsize::new(0),
            maxclients: AtomicUsize::new(0),
            timeout_secs: AtomicU64::new(0),
            hz: AtomicU64::new(10),
            idle_poll_us: AtomicU64::new(0),
            slowlog_slower_than: AtomicI64::new(10_000),
            slowlog_max_len: AtomicUsize::new(128),
            protected: AtomicBool::new(false),
            lfu: AtomicBool::new(false),
            lfu_log_factor: AtomicU64::new(0),
            lfu_decay_time: AtomicU64::new(0),
            tcp_keepalive: AtomicU64::new(0),
            lazy_user_del: AtomicBool::new(false),
            active_expire_effort: AtomicU64::new(1),
            jemalloc_bg_thread: std::sync::atomic::AtomicU8::new(0),
            output_limits: Default::default(),
            tracking_max_keys: AtomicUsize::new(0),
            notify_flags: Default::default(),
        };
        hot.refresh(config);
        hot
    }

    /// Re-reads the cached values after CONFIG SET.
    pub fn refresh(&self, c: &Config) {
        let r = Ordering::Relaxed;
        self.hash_max_entries
            .store(c.int("hash-max-listpack-entries") as usize, r);
        self.hash_max_value
            .store(c.int("hash-max-listpack-value") as usize, r);
        self.list_max_size.store(c.int("list-max-listpack-size"), r);
        self.tracking_max_keys
            .store(c.int("tracking-table-max-keys") as usize, r);
        self.zset_max_entries
            .store(c.int("zset-max-listpack-entries") as usize, r);
        self.zset_max_value
            .store(c.int("zset-max-listpack-value") as usize, r);
        for (slot, name) in self.set_limits.iter().zip([
            "set-max-intset-entries",
            "set-max-listpack-entries",
            "set-max-listpack-value",
        ]) {
            slot.store(c.int(name) as usize, r);
        }
        self.proto_max_bulk_len
            .store(c.int("proto-max-bulk-len") as usize, r);
        self.hll_sparse_max_bytes
            .store(c.int("hll-sparse-max-bytes").max(0) as usize, r);
        self.query_buffer_limit
            .store(c.int("client-query-buffer-limit") as usize, r);
        self.maxclients.store(c.int("maxclients") as usize, r);
        self.timeout_secs.store(c.int("timeout").max(0) as u64, r);
        self.hz.store(c.int("hz").clamp(1, 500) as u64, r);
        self.idle_poll_us.store(c.int("idle-poll-usec") as u64, r);
        self.slowlog_slower_than
            .store(c.int("slowlog-log-slower-than"), r);
        self.slowlog_max_len
            .store(c.int("slowlog-max-len").max(0) as usize, r);
        self.protected.store(
            c.flag("protected-mode") && c.get("requirepass").is_none_or(str::is_empty),
            r,
        );
        self.lfu.store(
            c.get("maxmemory-policy")
                .is_some_and(|p| p.ends_with("-lfu")),
            r,
        );
        self.lfu_log_factor
            .store(c.int("lfu-log-factor").max(0) as u64, r);
        self.lfu_decay_time
            .store(c.int("lfu-decay-time").max(0) as u64, r);
        self.tcp_keepalive
            .store(c.int("tcp-keepalive").max(0) as u64, r);
        self.lazy_user_del
            .store(c.flag("lazyfree-lazy-user-del"), r);
        self.active_expire_effort
            .store(c.int("active-expire-effort").clamp(1, 10) as u64, r);
        let limits =
            crate::config::output_limits_of(c.get("client-output-buffer-limit").unwrap_or(""));
        for (class, [hard, soft, soft_seconds]) in [
            crate::outbox::ClientClass::Normal,
            crate::outbox::ClientClass::Replica,
            crate::outbox::ClientClass::Pubsub,
        ]
        .into_iter()
        .zip(limits)
        {
            self.output_limits.set(
                class,
                crate::outbox::Limit {
                    hard,
                    soft,
                    soft_seconds,
                },
            );
        }
        // Validated when set: an unknown class character never gets here.
        let notify = c.get("notify-keyspace-events").unwrap_or("");
        self.notify_flags
            .store(crate::db::class::parse(notify.as_bytes()).unwrap_or(0), r);
        // The allocator is told only when the setting changes.
        let bg_thread = if c.flag("jemalloc-bg-thread") { 2 } else { 1 };
        if self.jemalloc_bg_thread.swap(bg_thread, r) != bg_thread {
            set_jemalloc_bg_thread(bg_thread == 2);
        }
    }

    /// How keys' access stamps are kept under the current policy.
    pub fn access_policy(&self) -> AccessPolicy {
        let r = Ordering::Relaxed;
        if self.lfu.load(r) {
            AccessPolicy::Lfu {
                log_factor: self.lfu_log_factor.load(r),
                decay_minutes: self.lfu_decay_time.load(r),
            }
        } else {
            AccessPolicy::Lru
        }
    }

    /// Hash encoding thresholds.
    pub fn hash_limits(&self) -> HashLimits {
        HashLimits {
            max_entries: self.hash_max_entries.load(Ordering::Relaxed),
            max_value: self.hash_max_value.load(Ordering::Relaxed),
        }
    }

    /// Sorted set encoding thresholds.
    pub fn zset_limits(&self) -> crate::types::zset::ZSetLimits {
        crate::types::zset::ZSetLimits {
            max_entries: self.zset_max_entries.load(Ordering::Relaxed),
            max_value: self.zset_max_value.load(Ordering::Relaxed),
        }
    }

    /// Set encoding thresholds.
    pub fn set_limits(&self) -> SetLimits {
        let [intset, entries, value] = &self.set_limits;
        SetLimits {
            max_intset: intset.load(Ordering::Relaxed),
            max_listpack_entries: entries.load(Ordering::Relaxed),
            max_listpack_value: value.load(Ordering::Relaxed),
        }
    }

    /// List encoding thresholds.
    pub fn list_limits(&self) -> ListLimits {
        ListLimits {
            max_listpack_size: self.list_max_size.load(Ordering::Relaxed),
        }
    }
}

/// Turns jemalloc's background purging thread on or off
/// (`jemalloc-bg-thread`), as Redis does; a no-op without jemalloc.
fn set_jemalloc_bg_thread(on: bool) {
    #[cfg(not(target_env = "msvc"))]
    {
        // jemalloc's default is off, so only turning it on can fail to
        // take; that is logged, as it changes what the setting claims.
        if tikv_jemalloc_ctl::background_thread::write(on).is_err() && on {
            crate::warning!("Can't start jemalloc's background thread (jemalloc-bg-thread)");
        }
    }
    #[cfg(target_env = "msvc")]
    let _ = on;
}

/// State shared by every connection and background task.
pub struct Shared {
    /// All databases.
    pub keyspace: Keyspace,
    /// The configuration (CONFIG GET/SET).
    pub config: RwLock<Config>,
    /// Hot configuration values.
    pub hot: HotConfig,
    /// Counters.
    pub stats: Stats,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// When the server started.
    pub started: Instant,
    /// Random 40-hex-digit id of this run.
    pub run_id: String,
    /// The TCP port actually listened on.
    pub port: AtomicU64,
    /// Set when the server is shutting down.
    pub shutting_down: AtomicBool,
    /// The script cache (EVAL, SCRIPT LOAD), shared by every worker's VM.
    pub scripts: crate::script::Cache,
    /// Wakes the main task to shut down.
    pub shutdown: Notify,
    /// Whether the periodic task expires keys (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// Unix time (seconds) the server started.
    pub started_unix: i64,
    /// The slow log (SLOWLOG), newest first.
    pub slowlog: SlowLog,
    /// CLIENT PAUSE: the pause in force and its held clients.
    pub pause: crate::pause::Pause,
    /// DEBUG PAUSE-CRON: the periodic task does nothing while set.
    pub cron_paused: AtomicBool,
    /// The pub/sub registry (also the keyspace's notifications' way out).
    pub pubsub: Arc<crate::pubsub::PubSub>,
    /// The MONITOR clients, whose queues get every executed command's line.
    pub monitors: crate::client::Monitors,
    /// RDB save and load state.
    pub persistence: Persistence,
    /// The append-only file.
    pub aof: crate::aof::Aof,
    /// This state's own `Arc`, for work that outlives a command (BGSAVE).
    me: std::sync::Weak<Shared>,
}

impl Shared {
    /// Builds the state for `config`.
    pub fn new(config: Config) -> Arc<Shared> {
        let run_id: String = (0..5)
            .map(|_| format!("{:08x}", crate::util::rand_u64() as u32))
            .collect();
        let hot = HotConfig::from(&config);
        let pubsub = Arc::new(crate::pubsub::PubSub::new(hot.output_limits.clone()));
        let keyspace = Keyspace::new(config.int("databases") as usize);
        keyspace.events().attach(pubsub.clone());
        keyspace
            .events()
            .set_notify(hot.notify_flags.load(Ordering::Relaxed));
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            keyspace,
            hot,
            pubsub,
            config: RwLock::new(config),
            stats: Stats::default(),
            clients: ClientRegistry::default(),
            started: Instant::now(),
            run_id,
            port: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            scripts: crate::script::Cache::default(),
            shutdown: Notify::new(),
            active_expire: AtomicBool::new(true),
            started_unix: crate::util::now_ms() / 1000,
            slowlog: Default::default(),
            pause: Default::default(),
            cron_paused: AtomicBool::new(false),
            monitors: Default::default(),
            persistence: Persistence::new(crate::util::now_ms() / 1000),
            aof: crate::aof::Aof::default(),
        });
        // Client tracking finds the clients it sends to by id; a weak
        // handle, as the keyspace lives inside this state.
        let me = Arc::downgrade(&shared);
        shared
            .keyspace
            .events()
            .tracking()
            .install_directory(Box::new(move |id| {
                let shared = me.upgrade()?;
                let info = shared.clients.get(id)?;
                Some(crate::db::Endpoint {
                    outbox: info.outbox.clone(),
                    resp: info.resp.load(Ordering::Relaxed) as u8,
                    subscribed: info.class() == crate::outbox::ClientClass::Pubsub,
                })
            }));
        shared
    }

    /// A new handle on this state (it always lives in the `Arc` that
    /// [`Shared::new`] made).
    pub fn arc(&self) -> Arc<Shared> {
        self.me
            .upgrade()
            .unwrap_or_else(|| unreachable!("a Shared is only reached through its Arc"))
    }

    /// Re-reads the hot configuration after a change, and hands the
    /// keyspace-event classes `notify-keyspace-events` names to the sink.
    pub fn refresh_hot(&self, config: &Config) {
        self.hot.refresh(config);
        self.keyspace
            .events()
            .set_notify(self.hot.notify_flags.load(Ordering::Relaxed));
    }

    /// True when `save` rules are configured (a save happens at shutdown).
    pub fn has_save_rules(&self) -> bool {
        self.config
            .read()
            .get("save")
            .is_some_and(|rules| !rules.trim().is_empty())
    }
}

/// Persistence state shared by the commands, INFO and the periodic task.
pub struct Persistence {
    /// Unix seconds of the last successful save (or of start-up).
    pub last_save_unix: AtomicI64,
    /// The change counter (`Stats::dirty`) at the start of the last
    /// successful save.
    pub dirty_at_save: AtomicU64,
    /// Successful saves since start-up.
    pub saves: AtomicU64,
    /// Whether the last save succeeded.
    pub last_save_ok: AtomicBool,
    /// Keys loaded, and keys skipped as expired, by the last load.
    pub loaded_keys: AtomicU64,
    /// See `loaded_keys`.
    pub loaded_expired: AtomicU64,
    /// A background save is running.
    pub bgsave_in_progress: AtomicBool,
    /// A foreground save superseded the running background save, whose
    /// older snapshot must then not replace the dump.
    pub(crate) bgsave_cancelled: AtomicBool,
    /// BGSAVE SCHEDULE (or BGSAVE inside EXEC) asked for one to start when
    /// possible.
    pub bgsave_scheduled: AtomicBool,
    /// Unix ms the running background save started (0: none).
    pub bgsave_started_ms: AtomicI64,
    /// Seconds the last background save took (-1: none yet).
    pub last_bgsave_secs: AtomicI64,
    /// Unix ms of the last save attempt (failed saves are retried after a
    /// delay).
    pub last_attempt_ms: AtomicI64,
    /// The dataset is being loaded: commands without the `loading` flag
    /// are refused with LOADING.
    pub loading: AtomicBool,
    /// Unix seconds the load started, the file's size and the bytes read.
    pub loading_started_unix: AtomicI64,
    /// See `loading_started_unix`.
    pub loading_total_bytes: AtomicU64,
    /// See `loading_started_unix`.
    pub loading_loaded_bytes: AtomicU64,
    /// Writes are refused with MISCONF: the last save failed, save rules are
    /// set and `stop-writes-on-bgsave-error` is yes (kept current by saves
    /// and the periodic task, so commands check one flag).
    pub writes_refused: AtomicBool,
    /// Held for the whole of a foreground save: one at a time.
    pub(crate) saving: Mutex<()>,
}

impl Persistence {
    /// State for a server started at `now_unix`.
    pub fn new(now_unix: i64) -> Persistence {
        Persistence {
            last_save_unix: AtomicI64::new(now_unix),
            dirty_at_save: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            last_save_ok: AtomicBool::new(true),
            loaded_keys: AtomicU64::new(0),
            loaded_expired: AtomicU64::new(0),
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_cancelled: AtomicBool::new(false),
            bgsave_scheduled: AtomicBool::new(false),
            bgsave_started_ms: AtomicI64::new(0),
            last_bgsave_secs: AtomicI64::new(-1),
            last_attempt_ms: AtomicI64::new(0),
            loading: AtomicBool::new(false),
            loading_started_unix: AtomicI64::new(0),
            loading_total_bytes: AtomicU64::new(0),
            loading_loaded_bytes: AtomicU64::new(0),
            writes_refused: AtomicBool::new(false),
            saving: Mutex::new(()),
        }
    }

    /// Enters the loading state for `total_bytes` of files: from now on
    /// clients get LOADING, and INFO reports the progress.
    pub fn begin_loading(&self, total_bytes: u64) {
        self.loading_started_unix
            .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
        self.loading_total_bytes
            .store(total_bytes, Ordering::Relaxed);
        self.loading_loaded_bytes.store(0, Ordering::Relaxed);
        self.loading.store(true, Ordering::SeqCst);
    }

    /// Re-evaluates [`Persistence::writes_refused`].
    pub fn refresh_write_refusal(&self, shared: &Shared) {
        let stop = shared.config.read().flag("stop-writes-on-bgsave-error");
        let refused = stop && shared.has_save_rules() && !self.last_save_ok.load(Ordering::Relaxed);
        self.writes_refused.store(refused, Ordering::Relaxed);
    }

    /// Changes since the last successful save.
    pub fn changes_since_save(&self, shared: &Shared) -> u64 {
        shared
            .stats
            .dirty
            .get()
            .saturating_sub(self.dirty_at_save.load(Ordering::Relaxed))
    }
}

/// One slow-log entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Increasing id.
    pub id: u64,
    /// Unix time (seconds) the command ran.
    pub time: i64,
    /// Duration in microseconds.
    pub duration_us: u64,
    /// The arguments, trimmed as Redis trims them.
    pub args: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub peer: String,
    /// The client's name.
    pub name: Vec<u8>,
}

/// The slow log: newest entries first, bounded by `slowlog-max-len`.
#[derive(Default)]
pub struct SlowLog {
    pub(crate) entries: parking_lot::Mutex<std::collections::VecDeque<SlowEntry>>,
    pub(crate) next_id: std::sync::atomic::AtomicU64,
}

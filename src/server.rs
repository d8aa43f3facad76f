//! Server-wide state, the accept loop and the periodic task (`serverCron`).

use crate::client::{ClientInfo, ClientRegistry};
use crate::config::Config;
use crate::db::{DbView, Keyspace};
use crate::types::hash::HashLimits;
use crate::types::list::ListLimits;
use crate::{notice, warning};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Server counters reported by INFO stats.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Commands processed.
    pub commands_processed: AtomicU64,
    /// Keys deleted on expiry.
    pub expired_keys: AtomicU64,
    /// Read lookups that hit.
    pub keyspace_hits: AtomicU64,
    /// Read lookups that missed.
    pub keyspace_misses: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Error replies sent.
    pub error_replies: AtomicU64,
    /// Changes since the last save.
    pub dirty: AtomicU64,
    /// Error replies by error code (INFO errorstats).
    pub error_codes: Mutex<BTreeMap<String, u64>>,
    /// Highest `used_memory` seen (INFO memory).
    pub used_memory_peak: AtomicU64,
    /// `used_memory` once the server was ready, before any client.
    pub used_memory_startup: AtomicU64,
    /// Recent per-second rates (INFO `instantaneous_*`).
    pub rates: Mutex<RateSamples>,
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
            self.keyspace_hits.fetch_add(view.hits, Ordering::Relaxed);
        }
        if view.misses > 0 {
            self.keyspace_misses
                .fetch_add(view.misses, Ordering::Relaxed);
        }
        if view.expired > 0 {
            self.expired_keys.fetch_add(view.expired, Ordering::Relaxed);
        }
        if view.dirty > 0 {
            self.dirty.fetch_add(view.dirty, Ordering::Relaxed);
        }
    }

    /// Counts an error reply with its code.
    pub fn record_error(&self, code: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        *self.error_codes.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    /// Resets the counters CONFIG RESETSTAT resets.
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands_processed,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
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
    /// `list-max-listpack-size`
    pub list_max_size: AtomicI64,
    /// `proto-max-bulk-len`
    pub proto_max_bulk_len: AtomicUsize,
    /// `client-query-buffer-limit`
    pub query_buffer_limit: AtomicUsize,
    /// `maxclients`
    pub maxclients: AtomicUsize,
    /// `timeout` in seconds (0 = never).
    pub timeout_secs: AtomicU64,
    /// `hz`
    pub hz: AtomicU64,
    /// `slowlog-log-slower-than` in microseconds (negative: off).
    pub slowlog_slower_than: AtomicI64,
    /// `slowlog-max-len`
    pub slowlog_max_len: AtomicUsize,
    /// Protected mode in force: `protected-mode yes` and no `requirepass`.
    pub protected: AtomicBool,
}

impl HotConfig {
    fn from(config: &Config) -> Self {
        let hot = HotConfig {
            hash_max_entries: AtomicUsize::new(0),
            hash_max_value: AtomicUsize::new(0),
            list_max_size: AtomicI64::new(0),
            proto_max_bulk_len: AtomicUsize::new(0),
            query_buffer_limit: AtomicUsize::new(0),
            maxclients: AtomicUsize::new(0),
            timeout_secs: AtomicU64::new(0),
            hz: AtomicU64::new(10),
            slowlog_slower_than: AtomicI64::new(10_000),
            slowlog_max_len: AtomicUsize::new(128),
            protected: AtomicBool::new(false),
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
        self.proto_max_bulk_len
            .store(c.int("proto-max-bulk-len") as usize, r);
        self.query_buffer_limit
            .store(c.int("client-query-buffer-limit") as usize, r);
        self.maxclients.store(c.int("maxclients") as usize, r);
        self.timeout_secs.store(c.int("timeout").max(0) as u64, r);
        self.hz.store(c.int("hz").clamp(1, 500) as u64, r);
        self.slowlog_slower_than
            .store(c.int("slowlog-log-slower-than"), r);
        self.slowlog_max_len
            .store(c.int("slowlog-max-len").max(0) as usize, r);
        self.protected.store(
            c.flag("protected-mode") && c.get("requirepass").is_none_or(str::is_empty),
            r,
        );
    }

    /// Hash encoding thresholds.
    pub fn hash_limits(&self) -> HashLimits {
        HashLimits {
            max_entries: self.hash_max_entries.load(Ordering::Relaxed),
            max_value: self.hash_max_value.load(Ordering::Relaxed),
        }
    }

    /// List encoding thresholds.
    pub fn list_limits(&self) -> ListLimits {
        ListLimits {
            max_listpack_size: self.list_max_size.load(Ordering::Relaxed),
        }
    }
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
    /// Wakes the main task to shut down.
    pub shutdown: Notify,
    /// Whether the periodic task expires keys (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// Unix time (seconds) the server started.
    pub started_unix: i64,
    /// The slow log (SLOWLOG), newest first.
    pub slowlog: crate::cmd::server::SlowLog,
    /// CLIENT PAUSE: Unix ms the pause ends (0: not paused).
    pub pause_until_ms: AtomicI64,
    /// CLIENT PAUSE ALL (else only writes are held).
    pub pause_all: AtomicBool,
    /// DEBUG PAUSE-CRON: the periodic task does nothing while set.
    pub cron_paused: AtomicBool,
    /// MONITOR: every executed command's line goes to the subscribers.
    pub monitor: tokio::sync::broadcast::Sender<bytes::Bytes>,
}

impl Shared {
    /// Builds the state for `config`.
    pub fn new(config: Config) -> Arc<Shared> {
        let run_id: String = (0..5)
            .map(|_| format!("{:08x}", crate::util::rand_u64() as u32))
            .collect();
        Arc::new(Shared {
            keyspace: Keyspace::new(config.int("databases") as usize),
            hot: HotConfig::from(&config),
            config: RwLock::new(config),
            stats: Stats::default(),
            clients: ClientRegistry::default(),
            started: Instant::now(),
            run_id,
            port: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown: Notify::new(),
            active_expire: AtomicBool::new(true),
            started_unix: crate::util::now_ms() / 1000,
            slowlog: Default::default(),
            pause_until_ms: AtomicI64::new(0),
            pause_all: AtomicBool::new(false),
            cron_paused: AtomicBool::new(false),
            monitor: tokio::sync::broadcast::channel(4096).0,
        })
    }
}

/// Binds the configured addresses; `bind` lists addresses, `-` marks an
/// optional one (skipped if it cannot be bound), `*` means all IPv4.
async fn bind_listeners(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let port = config.int("port") as u16;
    let mut listeners = Vec::new();
    let mut last_err = None;
    for addr in config.get("bind").unwrap_or("127.0.0.1").split_whitespace() {
        let (optional, addr) = match addr.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, addr),
        };
        let host = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match TcpListener::bind(&target).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => {
                crate::verbose!("Skipping optional bind address {target}: {e}");
            }
            Err(e) => {
                warning!("Warning: Could not create server TCP listening socket {target}: {e}");
                last_err = Some(e);
            }
        }
    }
    if let Some(e) = last_err {
        return Err(e);
    }
    if listeners.is_empty() {
        return Err(std::io::Error::other("no address could be bound"));
    }
    Ok(listeners)
}

/// File descriptors kept for uses other than clients (listeners, logs...),
/// as Redis reserves them.
const RESERVED_FDS: u64 = 32;

/// Raises the open-files limit to fit `maxclients` plus reserved
/// descriptors; if the system refuses, lowers `maxclients` to what fits,
/// with a warning, as Redis does.
// rlim_t is u64 on Linux but not everywhere: keep the casts.
#[allow(clippy::unnecessary_cast)]
fn fit_open_files_limit(shared: &Shared) {
    let wanted = shared.hot.maxclients.load(Ordering::Relaxed) as u64 + RESERVED_FDS;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    let current = lim.rlim_cur as u64;
    if current >= wanted {
        return;
    }
    // Try the wanted limit, then smaller ones, down to what we have.
    let mut target = wanted;
    while target > current {
        let attempt = libc::rlimit {
            rlim_cur: target as libc::rlim_t,
            rlim_max: lim.rlim_max.max(target as libc::rlim_t),
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &attempt) } == 0 {
            break;
        }
        target -= (target - current).clamp(1, 16);
    }
    let granted = target.max(current);
    if granted >= wanted {
        notice!("Increased maximum number of open files to {granted} (it was originally set to {current}).");
        return;
    }
    let fit = granted.saturating_sub(RESERVED_FDS).max(1);
    warning!(
        "You requested maxclients of {} requiring at least {wanted} max file descriptors. Server can't set maximum open files to {wanted}: maxclients lowered to {fit}.",
        wanted - RESERVED_FDS
    );
    let mut config = shared.config.write();
    if config.set("maxclients", &fit.to_string()).is_ok() {
        shared.hot.refresh(&config);
    }
}

/// Runs the server until SIGTERM/SIGINT or SHUTDOWN.
pub async fn run(shared: Arc<Shared>) -> std::io::Result<()> {
    let config = shared.config.read().clone();
    let listeners = bind_listeners(&config).await?;
    let port = listeners[0].local_addr()?.port();
    shared.port.store(port as u64, Ordering::Relaxed);
    notice!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    notice!(
        "ferrodis version={} (Redis {} compatible), bits={}, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        crate::cmd::connection::REDIS_COMPAT_VERSION,
        usize::BITS,
        std::process::id()
    );
    match config.file.as_deref() {
        Some(path) => notice!("Configuration loaded from {path}"),
        None => notice!("No config file specified, using the default config. In order to specify a config file use ferrodis-server /path/to/ferrodis.conf"),
    }
    notice!("Running mode=standalone, port={port}.");
    fit_open_files_limit(&shared);
    for l in &listeners {
        tokio::spawn(accept_loop(
            shared.clone(),
            l.local_addr()?,
            clone_listener(l)?,
        ));
    }
    tokio::spawn(cron(shared.clone()));
    let startup_memory = crate::cmd::server::memory_figures().allocated;
    shared
        .stats
        .used_memory_startup
        .store(startup_memory, Ordering::Relaxed);
    notice!("Server initialized");
    notice!("Ready to accept connections tcp");

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => notice!("Received SIGINT scheduling shutdown..."),
        _ = sigterm.recv() => notice!("Received SIGTERM scheduling shutdown..."),
        _ = shared.shutdown.notified() => {},
    }
    shared.shutting_down.store(true, Ordering::SeqCst);
    notice!("User requested shutdown...");
    notice!("ferrodis is now ready to exit, bye bye...");
    Ok(())
}

fn clone_listener(l: &TcpListener) -> std::io::Result<TcpListener> {
    // The accept loop owns its listener; duplicate the socket so `run` keeps
    // the addresses it reports.
    let std_listener = std::net::TcpListener::from(socket2_dup(l)?);
    std_listener.set_nonblocking(true)?;
    TcpListener::from_std(std_listener)
}

fn socket2_dup(l: &TcpListener) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    l.as_fd().try_clone_to_owned()
}

/// The reply to a non-local client refused by protected mode.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED ferrodis is running in protected mode: no password is set and the client is not local. Set a password (requirepass), or disable protected mode (protected-mode no), or bind to local addresses only, then restart or CONFIG SET it from a local connection.\r\n";

async fn accept_loop(shared: Arc<Shared>, local: std::net::SocketAddr, listener: TcpListener) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait and retry rather
                // than spin.
                warning!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared
            .stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let _ = socket.set_nodelay(true);
        let info = Arc::new(ClientInfo {
            id: shared.clients.next_id(),
            addr: peer,
            laddr: socket.local_addr().unwrap_or(local),
            created: Instant::now(),
            name: Mutex::new(None),
            lib: Mutex::new((String::new(), String::new())),
            db: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            last_interaction_ms: AtomicI64::new(crate::util::now_ms()),
            last_cmd: Mutex::new("NULL"),
            commands: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            in_multi: AtomicBool::new(false),
            fd: std::os::fd::AsRawFd::as_raw_fd(&socket) as i64,
            monitor: AtomicBool::new(false),
        });
        let refusal = if shared.hot.protected.load(Ordering::Relaxed) && !peer.ip().is_loopback() {
            // Protected mode: without a password, only local clients may
            // connect.
            Some(PROTECTED_MODE_DENIED)
        } else if shared.clients.len() >= shared.hot.maxclients.load(Ordering::Relaxed) {
            Some(&b"-ERR max number of clients reached\r\n"[..])
        } else {
            None
        };
        if let Some(refusal) = refusal {
            if refusal != PROTECTED_MODE_DENIED {
                shared
                    .stats
                    .rejected_connections
                    .fetch_add(1, Ordering::Relaxed);
            }
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut socket = socket;
                let _ = socket.write_all(refusal).await;
            });
            continue;
        }
        shared.clients.add(info.clone());
        let shared = shared.clone();
        tokio::spawn(async move {
            crate::connection::serve(&shared, socket, info.clone()).await;
            shared.clients.remove(info.id);
        });
    }
}

/// The periodic task: active expiry, idle-client timeouts.
async fn cron(shared: Arc<Shared>) {
    loop {
        let hz = shared.hot.hz.load(Ordering::Relaxed).max(1);
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        if shared.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        if shared.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        // Like Redis, spend at most a quarter of each period expiring keys.
        let deadline = Instant::now() + period / 4;
        let deleted = if shared.active_expire.load(Ordering::Relaxed) {
            shared
                .keyspace
                .active_expire_cycle(crate::util::now_ms(), deadline)
        } else {
            0
        };
        if deleted > 0 {
            shared
                .stats
                .expired_keys
                .fetch_add(deleted, Ordering::Relaxed);
        }
        let stats = &shared.stats;
        stats.rates.lock().sample(
            Instant::now(),
            [
                stats.commands_processed.load(Ordering::Relaxed),
                stats.net_input_bytes.load(Ordering::Relaxed),
                stats.net_output_bytes.load(Ordering::Relaxed),
            ],
        );
        let timeout = shared.hot.timeout_secs.load(Ordering::Relaxed);
        if timeout > 0 {
            let now = crate::util::now_ms();
            for c in shared.clients.snapshot() {
                if c.monitor.load(Ordering::Relaxed) {
                    // Like replicas, monitors are never idle.
                    continue;
                }
                let idle = now - c.last_interaction_ms.load(Ordering::Relaxed);
                if idle > (timeout as i64) * 1000 {
                    c.kill();
                }
            }
        }
    }
}

//! The server loop: binding and accepting, the connection workers
//! (placement, rebalancing, polling before sleeping) and the periodic task
//! (`serverCron`). The state they share is [`crate::state`].

use crate::client::ClientInfo;
use crate::config::Config;
use crate::state::Shared;
use crate::util::cpu::{CpuQuota, CpuSample};
use crate::{notice, warning};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Binds the configured addresses; `bind` lists addresses, `-` marks an
/// optional one (skipped if it cannot be bound), `*` means all IPv4.
async fn bind_listeners(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let port = config.int("port") as u16;
    let backlog = config.int("tcp-backlog").clamp(0, u32::MAX as i64) as u32;
    warn_if_backlog_capped(backlog);
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
        match listen(&target, backlog).await {
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

/// A listening socket on `target` (`host:port`) with a queue of `backlog`
/// pending connections (`tcp-backlog`).
async fn listen(target: &str, backlog: u32) -> std::io::Result<TcpListener> {
    let addr = tokio::net::lookup_host(target)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("no address for {target}")))?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As tokio's own bind does: a restarted server can reuse the port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The kernel caps every listen queue at `net.core.somaxconn`; like Redis,
/// say so when that makes `tcp-backlog` unenforceable.
fn warn_if_backlog_capped(backlog: u32) {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    if let Some(max) = somaxconn.filter(|max| *max < backlog) {
        warning!("WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {max}.");
    }
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
        shared.refresh_hot(&config);
    }
}

/// The threads that run client connections: one single-threaded tokio
/// runtime per core, each with its own I/O driver and timers.
///
/// A connection runs on one worker at a time: its reads, commands and
/// writes never change thread, and no worker wakes or steals from another
/// (a work-stealing runtime did that on every readiness event, which cost
/// more than it gave on a 2-core machine whose other core runs the
/// clients). New connections fill the lowest-numbered worker that is not
/// busy, so a lightly loaded server runs on one thread and leaves the
/// other cores to everything else. When a worker stays saturated while
/// another has room, the periodic task asks some of its connections to
/// move; each one moves between two requests, with its buffers and state.
pub struct Workers {
    workers: Vec<Worker>,
    /// The machine's CPU counters at the last rebalance.
    machine_last: Mutex<Option<CpuSample>>,
    /// The container's CPU quota, if it has one: spare time is bounded by
    /// what it leaves, not only by the host's idle time.
    quota: Option<CpuQuota>,
    /// The host's online CPUs.
    host_cpus: u64,
}

/// Spreading connections needs at least this much of a core idle
/// machine-wide; otherwise a second busy worker would only take time from
/// whatever else runs there (such as the clients).
const IDLE_CORE_PERMILLE: u64 = 500;
/// Workers poll before sleeping only while the machine has at least this
/// much of a core idle (counting their polling as idle).
const IDLE_POLL_PERMILLE: u64 = 200;
/// ... and only on workers at least this busy, where wake-ups are frequent.
/// (At a quarter of a core, a steady load of paced requests kept flipping
/// polling on and off, and on cost half as much CPU again as Redis's.)
const POLL_MIN_LOAD_PERMILLE: u64 = 400;
/// Polling may also cost at most this fraction (1/N) of the worker's own
/// busy time, so that its share of the CPU a load costs stays bounded
/// whatever one request costs on the machine at hand.
const POLL_SHARE_OF_BUSY: u64 = 5;
/// Polling with nothing to do may cost a worker at most this much CPU time
/// per request it reads, about what the wake-up it saves would have cost.
/// Under a heavy load, where the client's next request comes within
/// microseconds, polling stays on and serves more requests per second; under
/// a light, steady load (requests a little further apart than the window)
/// polling would otherwise spend most of each gap between requests for a
/// small latency gain, doubling the server's CPU. The budget caps each
/// worker's window: halved while polling costs more, doubled back while it
/// costs less than half.
const POLL_CREDIT_PER_READ: Duration = Duration::from_micros(5);

struct Worker {
    handle: tokio::runtime::Handle,
    /// Live connections on this worker.
    connections: AtomicUsize,
    /// The thread's CPU-time clock, read by the periodic task.
    cpu_clock: Option<libc::clockid_t>,
    /// CPU time at the last sample (ns) and the share of one core used
    /// since then (per mille).
    cpu_last_ns: AtomicU64,
    load_permille: AtomicUsize,
    /// Connections asked to move away, and where to.
    handoff: AtomicUsize,
    handoff_to: AtomicUsize,
    /// The worker's polling before it sleeps (see [`crate::idle_poll`]).
    idle_poll: Arc<crate::idle_poll::IdlePollStats>,
    /// The largest polling window this worker's budget allows now, in
    /// microseconds (see [`POLL_CREDIT_PER_READ`]).
    poll_cap_us: AtomicU64,
    /// The worker's read count at the last sample.
    reads_last: AtomicU64,
}

/// A worker busier than this (per mille of a core) takes no new
/// connections while another is below it, and sheds connections to an idle
/// worker.
const SATURATED_PERMILLE: usize = 900;
/// A worker below this can take connections shed by a saturated one.
const ROOMY_PERMILLE: usize = 600;

impl Workers {
    /// Starts `count` worker threads, each driving its own runtime.
    pub fn start(count: usize) -> std::io::Result<Workers> {
        let mut workers = Vec::with_capacity(count);
        for i in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let (clock_tx, clock_rx) = std::sync::mpsc::channel();
            let idle_poll = Arc::new(crate::idle_poll::IdlePollStats::default());
            let poller = crate::idle_poll::IdlePoller::new(idle_poll.clone());
            std::thread::Builder::new()
                .name(format!("ferrodis-io-{i}"))
                .spawn(move || {
                    let _ = clock_tx.send(thread_cpu_clock());
                    runtime.block_on(poller)
                })?;
            workers.push(Worker {
                handle,
                connections: AtomicUsize::new(0),
                cpu_clock: clock_rx.recv().ok().flatten(),
                cpu_last_ns: AtomicU64::new(0),
                load_permille: AtomicUsize::new(0),
                handoff: AtomicUsize::new(0),
                handoff_to: AtomicUsize::new(0),
                idle_poll,
                poll_cap_us: AtomicU64::new(u64::MAX),
                reads_last: AtomicU64::new(0),
            });
        }
        let quota = CpuQuota::detect();
        if let Some(limit) = quota.as_ref().and_then(CpuQuota::limit_permille) {
            crate::verbose!(
                "CPU quota of this cgroup: {}.{:03} cores",
                limit / 1000,
                limit % 1000
            );
        }
        Ok(Workers {
            workers,
            machine_last: Mutex::new(None),
            quota,
            host_cpus: crate::util::cpu::host_cpus(),
        })
    }

    /// Starts serving a new connection on the first worker with room.
    fn place(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        socket: std::net::TcpStream,
        info: Arc<ClientInfo>,
    ) {
        let load = |w: &Worker| w.load_permille.load(Ordering::Relaxed);
        let index = self
            .workers
            .iter()
            .position(|w| load(w) < SATURATED_PERMILLE)
            .or_else(|| (0..self.workers.len()).min_by_key(|&i| load(&self.workers[i])))
            .unwrap_or(0);
        let session = Box::new(crate::connection::Session::new(&shared, info));
        self.run_on(index, shared, socket, session);
    }

    /// Runs a connection on worker `index` until it closes or moves on.
    fn run_on(
        self: &Arc<Self>,
        index: usize,
        shared: Arc<Shared>,
        socket: std::net::TcpStream,
        mut session: Box<crate::connection::Session>,
    ) {
        let workers = self.clone();
        session.client.worker = (index, self.workers.len());
        self.workers[index]
            .connections
            .fetch_add(1, Ordering::Relaxed);
        self.workers[index].handle.spawn(async move {
            let me = &workers.workers[index];
            let served = match crate::socket::ClientSocket::new(socket) {
                // Registered with this worker's own poller.
                Ok(socket) => {
                    let served = crate::connection::serve(&shared, &socket, &mut session, || {
                        workers.take_handoff(index)
                    })
                    .await;
                    (served, Some(socket))
                }
                Err(_) => (crate::connection::Served::Closed, None),
            };
            me.connections.fetch_sub(1, Ordering::Relaxed);
            match served {
                (crate::connection::Served::Move(to), Some(socket)) => {
                    workers.run_on(to, shared, socket.into_std(), session);
                }
                _ => {
                    session.finish(&shared);
                    shared.clients.remove(session.client.info.id);
                }
            }
        });
    }

    /// Asks `count` connections of worker `from` to move to worker `to` at
    /// their next wait for input.
    fn request_handoff(&self, from: usize, to: usize, count: usize) {
        self.workers[from].handoff_to.store(to, Ordering::Relaxed);
        self.workers[from].handoff.store(count, Ordering::Relaxed);
    }

    /// Where a connection on worker `index` should move, if it has been
    /// asked to.
    fn take_handoff(&self, index: usize) -> Option<usize> {
        let me = &self.workers[index];
        if me.handoff.load(Ordering::Relaxed) == 0 {
            return None;
        }
        me.handoff
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .ok()
            .map(|_| me.handoff_to.load(Ordering::Relaxed))
    }

    /// CPU left unused since the last call, in per mille of a core: the
    /// host's idle time, bounded by what the container's CPU quota left
    /// (`u64::MAX` when unknown).
    fn machine_idle_permille(&self) -> u64 {
        let Some(now) = CpuSample::read(self.quota.as_ref()) else {
            return u64::MAX;
        };
        let Some(before) = self.machine_last.lock().replace(now) else {
            return 0;
        };
        let limit = self.quota.as_ref().and_then(CpuQuota::limit_permille);
        crate::util::cpu::spare_permille(&before, &now, self.host_cpus, limit)
    }

    /// Samples each worker's CPU use over the last `elapsed`, and asks a
    /// saturated worker to shed connections to the least loaded one when
    /// the machine has a core's worth of idle time to give it.
    fn rebalance(&self, elapsed: Duration, max_poll_us: u64) {
        let elapsed_ns = elapsed.as_nanos().max(1) as u64;
        // Time the workers spent polling with nothing to do is idle time
        // for placement, and the machine's to give to polling.
        let mut polled_permille = 0;
        for w in &self.workers {
            let polled_ns = w.idle_poll.polled_ns.swap(0, Ordering::Relaxed);
            let polled = polled_ns * 1000 / elapsed_ns;
            polled_permille += polled;
            let Some(now) = w.cpu_clock.and_then(cpu_time_ns) else {
                continue;
            };
            let before = w.cpu_last_ns.swap(now, Ordering::Relaxed);
            let busy_ns = now.saturating_sub(before).saturating_sub(polled_ns);
            w.load_permille.store(
                ((busy_ns * 1000 / elapsed_ns) as usize).min(1000),
                Ordering::Relaxed,
            );
            let reads_now = w.idle_poll.reads.load(Ordering::Relaxed);
            let reads = reads_now.wrapping_sub(w.reads_last.swap(reads_now, Ordering::Relaxed));
            let budget_ns = reads
                .saturating_mul(POLL_CREDIT_PER_READ.as_nanos() as u64)
                .min(busy_ns / POLL_SHARE_OF_BUSY);
            let cap = w.poll_cap_us.load(Ordering::Relaxed).min(max_poll_us);
            let cap = next_poll_cap(cap, max_poll_us, polled_ns, budget_ns);
            w.poll_cap_us.store(cap, Ordering::Relaxed);
        }
        let idle = self.machine_idle_permille().saturating_add(polled_permille);
        for w in &self.workers {
            let busy = w.load_permille.load(Ordering::Relaxed) as u64;
            let window = if idle >= IDLE_POLL_PERMILLE && busy >= POLL_MIN_LOAD_PERMILLE {
                w.poll_cap_us.load(Ordering::Relaxed).min(max_poll_us)
            } else {
                0
            };
            w.idle_poll.max_window_us.store(window, Ordering::Relaxed);
        }
        let load = |i: usize| self.workers[i].load_permille.load(Ordering::Relaxed);
        let n = self.workers.len();
        let (Some(hot), Some(cold)) = (
            (0..n).max_by_key(|&i| load(i)),
            (0..n).min_by_key(|&i| load(i)),
        ) else {
            return;
        };
        let from = &self.workers[hot];
        let conns = from.connections.load(Ordering::Relaxed);
        if hot != cold
            && load(hot) >= SATURATED_PERMILLE
            && load(cold) < ROOMY_PERMILLE
            && idle >= IDLE_CORE_PERMILLE
            && conns >= 2
        {
            // Move towards an even split of connections, a step at a time.
            let there = self.workers[cold].connections.load(Ordering::Relaxed);
            let moving = conns.saturating_sub(there) / 2;
            self.request_handoff(hot, cold, moving);
            if moving > 0 {
                crate::verbose!(
                    "Worker {hot} is saturated ({}‰ of a core): moving {moving} of its {conns} connections to worker {cold} ({}‰; machine idle {idle}‰ of a core)",
                    load(hot),
                    load(cold)
                );
            }
        } else {
            from.handoff.store(0, Ordering::Relaxed);
        }
    }
}

/// The polling cap for the next period, from the current `cap` and what
/// polling cost (`polled_ns`) in the last one against its budget.
fn next_poll_cap(cap: u64, max_us: u64, polled_ns: u64, budget_ns: u64) -> u64 {
    if polled_ns > budget_ns {
        cap / 2
    } else if polled_ns < budget_ns / 2 && max_us > 0 {
        cap.saturating_mul(2).clamp(1, max_us)
    } else if max_us == 0 {
        0
    } else {
        cap
    }
}

/// The calling thread's CPU-time clock.
fn thread_cpu_clock() -> Option<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: pthread_self() is the calling thread; `clock` is written.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
    (rc == 0).then_some(clock)
}

/// CPU time consumed on `clock`, in nanoseconds.
fn cpu_time_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Runs the server until SIGTERM/SIGINT or SHUTDOWN: accepts connections
/// and hands them to `workers`, and runs the periodic task.
pub async fn run(shared: Arc<Shared>, workers: Workers) -> std::io::Result<()> {
    let workers = Arc::new(workers);
    let config = shared.config.read().clone();
    let listeners = bind_listeners(&config).await?;
    let port = listeners[0].local_addr()?.port();
    shared.port.store(port as u64, Ordering::Relaxed);
    notice!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    notice!(
        "ferrodis version={} (Redis {} compatible), bits={}, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        crate::util::REDIS_COMPAT_VERSION,
        usize::BITS,
        std::process::id()
    );
    match config.file.as_deref() {
        Some(path) => notice!("Configuration loaded from {path}"),
        None => notice!("No config file specified, using the default config. In order to specify a config file use ferrodis-server /path/to/ferrodis.conf"),
    }
    notice!("Running mode=standalone, port={port}.");
    let pid_file = create_pid_file(&config);
    fit_open_files_limit(&shared);
    let startup_memory = crate::util::memory::memory_figures().allocated;
    shared
        .stats
        .used_memory_startup
        .store(startup_memory, Ordering::Relaxed);
    notice!("Server initialized");
    // Clients accepted while the dataset loads get LOADING. With
    // `appendonly yes` the AOF is the dataset and the dump is not read, as
    // in Redis.
    let fatal = |e: String| {
        warning!("{e}");
        std::io::Error::other(e)
    };
    type Load = Box<dyn FnOnce(&Arc<Shared>) -> Result<(), String> + Send>;
    let load: Option<Load> = if config.flag("appendonly") {
        shared.aof.set_policy(crate::aof::FsyncPolicy::parse(
            config.get("appendfsync").unwrap_or("everysec"),
        ));
        let startup = crate::aof::load::prepare(&shared).map_err(fatal)?;
        Some(Box::new(move |s| startup.load(s)))
    } else {
        let dump = crate::snapshot::open_dump(&shared).map_err(fatal)?;
        dump.map(|d| Box::new(move |s: &Arc<Shared>| d.load(s)) as Load)
    };
    for l in &listeners {
        tokio::spawn(accept_loop(
            shared.clone(),
            workers.clone(),
            l.local_addr()?,
            clone_listener(l)?,
        ));
    }
    tokio::spawn(cron(shared.clone(), workers.clone()));
    if let Some(load) = load {
        let loader = shared.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&loader))
            .await
            .unwrap_or_else(|_| Err("the loading thread panicked".into()));
        if let Err(e) = loaded {
            warning!("{e}");
            return Err(std::io::Error::other(e));
        }
    }
    notice!("Ready to accept connections tcp");

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // SHUTDOWN logs its own "User requested shutdown..." line; a signal
    // logs it here, after naming the signal, as redis-server does.
    // The directive that says how this signal shuts the server down.
    let signalled = tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            warning!("Received SIGINT scheduling shutdown...");
            Some("shutdown-on-sigint")
        }
        _ = sigterm.recv() => {
            warning!("Received SIGTERM scheduling shutdown...");
            Some("shutdown-on-sigterm")
        }
        _ = shared.shutdown.notified() => None,
    };
    shared.shutting_down.store(true, Ordering::SeqCst);
    if let Some(directive) = signalled {
        warning!("User requested shutdown...");
        // Without `save` or `nosave` a save happens when save rules are
        // set; `force` exits even when saving fails; `now` skips waiting
        // for replicas, of which there are none.
        let how = shared
            .config
            .read()
            .get(directive)
            .unwrap_or("default")
            .to_string();
        let has = |word: &str| how.split(' ').any(|w| w == word);
        let save = has("save") || (!has("nosave") && shared.has_save_rules());
        if save {
            notice!("Saving the final RDB snapshot before exiting.");
            if crate::snapshot::save(&shared).is_err() && !has("force") {
                warning!("Error trying to save the DB, can't exit.");
                return Err(std::io::Error::other("the final RDB snapshot failed"));
            }
        }
    }
    if shared.aof.is_logging() {
        notice!("Calling fsync() on the AOF file.");
        shared.aof.stop();
    }
    if let Some(path) = pid_file {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(path);
    }
    notice!("ferrodis is now ready to exit, bye bye...");
    Ok(())
}

/// Writes the process id to the `pidfile` directive's file, if one is set,
/// and returns its absolute path (the working directory may change before
/// it is removed at shutdown). A failure is logged, as in Redis, and the
/// server runs on.
fn create_pid_file(config: &Config) -> Option<std::path::PathBuf> {
    let path = config.get("pidfile").filter(|p| !p.is_empty())?;
    let path = std::env::current_dir()
        .map(|dir| dir.join(path))
        .unwrap_or_else(|_| path.into());
    match std::fs::write(&path, format!("{}\n", std::process::id())) {
        Ok(()) => Some(path),
        Err(e) => {
            warning!(
                "Failed to write PID file: {}",
                crate::util::os_error_text(&e)
            );
            None
        }
    }
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

async fn accept_loop(
    shared: Arc<Shared>,
    workers: Arc<Workers>,
    local: std::net::SocketAddr,
    listener: TcpListener,
) {
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
        let keepalive = shared.hot.tcp_keepalive.load(Ordering::Relaxed);
        if keepalive > 0 {
            if let Err(e) = crate::socket::set_keepalive(&socket, keepalive) {
                crate::verbose!("Error configuring the client socket keepalive: {e}");
            }
        }
        let info = Arc::new(ClientInfo::new(
            shared.clients.next_id(),
            peer,
            socket.local_addr().unwrap_or(local),
            std::os::fd::AsRawFd::as_raw_fd(&socket) as i64,
        ));
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
        let Ok(socket) = socket.into_std() else {
            continue;
        };
        shared.clients.add(info.clone());
        workers.place(shared.clone(), socket, info);
    }
}

/// The periodic task: active expiry, idle-client timeouts.
async fn cron(shared: Arc<Shared>, workers: Arc<Workers>) {
    let mut last_tick = Instant::now();
    loop {
        let hz = shared.hot.hz.load(Ordering::Relaxed).max(1);
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        let now = Instant::now();
        workers.rebalance(
            now.duration_since(last_tick),
            shared.hot.idle_poll_us.load(Ordering::Relaxed),
        );
        last_tick = now;
        if shared.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        if shared.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        // Like Redis, spend at most a quarter of each period expiring keys
        // and sample 20 keys per pass, both raised with `active-expire-effort`
        // (2% of the period and 5 keys per step above 1).
        let effort = shared
            .hot
            .active_expire_effort
            .load(Ordering::Relaxed)
            .max(1)
            - 1;
        let deadline = Instant::now() + period * (25 + 2 * effort as u32) / 100;
        let sample = 20 + 5 * effort as usize;
        // Nothing expires while the dataset loads: a replayed log must see
        // the keys its commands saw.
        let loading = shared.persistence.loading.load(Ordering::Relaxed);
        // Nor during CLIENT PAUSE, which holds the data set still.
        let now = crate::util::now_ms();
        let held = shared.keyspace.expiry_held(now);
        let deleted = if shared.active_expire.load(Ordering::Relaxed) && !loading && !held {
            shared
                .keyspace
                .active_expire_cycle(now, deadline, sample, &shared.aof)
        } else {
            0
        };
        if deleted > 0 {
            shared.stats.expired_keys.add(deleted);
        }
        // Blocked clients answered while a long command held their shards.
        shared.keyspace.remove_stale_waiters(crate::util::now_ms());
        // The tracking table over `tracking-table-max-keys` shrinks even
        // when no command runs (after a CONFIG SET lowering it).
        let tracking = shared.keyspace.events().tracking();
        if tracking.active() {
            let max = shared.hot.tracking_max_keys.load(Ordering::Relaxed);
            tracking.limit_keys(max, 0, &mut Vec::new());
        }
        // Saves lock every shard: none starts while a long command holds
        // them (this thread also accepts connections).
        if !loading && !shared.keyspace.gate().is_held() {
            crate::snapshot::cron(&shared);
            crate::aof::rewrite::cron(&shared);
        }
        let stats = &shared.stats;
        stats.rates.lock().sample(
            Instant::now(),
            [
                stats.commands_processed.get(),
                stats.net_input_bytes.get(),
                stats.net_output_bytes.get(),
            ],
        );
        // Output limits, as Redis's clientsCron checks them: a client whose
        // unsent output stays over its soft limit is closed even when
        // nothing more is added to it.
        let mut output_peak = 0;
        shared.clients.for_each(|c| {
            let usage = c.outbox.usage();
            output_peak = output_peak.max(usage);
            if usage > crate::outbox::FIXED_BUFFER {
                c.enforce_output_limits(&shared.hot.output_limits, crate::client::Closing::Now);
            }
        });
        shared
            .stats
            .record_output_peak(crate::util::now_ms().div_euclid(1000), output_peak);
        let timeout = shared.hot.timeout_secs.load(Ordering::Relaxed);
        if timeout > 0 {
            let now = crate::util::now_ms();
            for c in shared.clients.snapshot() {
                if c.monitor.load(Ordering::Relaxed) || c.blocked.lock().is_some() {
                    // Like replicas, monitors are never idle; a blocked
                    // client waits on its own timeout only, as in Redis.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    fn roundtrip(conn: &mut BufReader<std::net::TcpStream>, request: &str) -> String {
        conn.get_mut()
            .write_all(request.as_bytes())
            .expect("send request");
        let mut line = String::new();
        conn.read_line(&mut line).expect("read reply");
        line
    }

    #[test]
    fn the_polling_cap_keeps_polling_within_its_budget() {
        let max = 100;
        let ms = 1_000_000;
        // Polling cost more than its budget: the cap halves, down to nothing.
        assert_eq!(next_poll_cap(100, max, 40 * ms, 20 * ms), 50);
        assert_eq!(next_poll_cap(1, max, 40 * ms, 20 * ms), 0);
        // Within the budget but above half of it: the cap stays.
        assert_eq!(next_poll_cap(50, max, 15 * ms, 20 * ms), 50);
        // Far below it: the cap grows back, from nothing too, up to `max`.
        assert_eq!(next_poll_cap(50, max, ms, 20 * ms), 100);
        assert_eq!(next_poll_cap(0, max, 0, 20 * ms), 1);
        assert_eq!(next_poll_cap(100, max, 0, 20 * ms), 100);
        // No reads, no budget: polling that cost anything stops.
        assert_eq!(next_poll_cap(100, max, ms, 0), 50);
        // Polling off (`idle-poll-usec 0`) stays off.
        assert_eq!(next_poll_cap(0, 0, 0, 20 * ms), 0);
    }

    #[test]
    fn a_connection_moved_to_another_worker_keeps_its_state() {
        let workers = Arc::new(Workers::start(2).expect("start workers"));
        let config = Config::from_args(&[]).expect("default config");
        let shared = Shared::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server_side, peer) = listener.accept().expect("accept");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&server_side) as i64;
        let info = Arc::new(ClientInfo::new(shared.clients.next_id(), peer, peer, fd));
        shared.clients.add(info.clone());
        workers.place(shared.clone(), server_side, info);
        let mut conn = BufReader::new(client);
        assert_eq!(workers.workers[0].connections.load(Ordering::Relaxed), 1);

        // State that lives in the session: the selected db and an open
        // transaction with a queued command.
        assert_eq!(roundtrip(&mut conn, "SELECT 3\r\n"), "+OK\r\n");
        assert_eq!(roundtrip(&mut conn, "MULTI\r\n"), "+OK\r\n");
        assert_eq!(roundtrip(&mut conn, "SET k moved\r\n"), "+QUEUED\r\n");

        workers.request_handoff(0, 1, 1);
        // The connection moves at its next wait for input: wake it with a
        // request whose reply proves the transaction survived.
        assert_eq!(roundtrip(&mut conn, "EXEC\r\n"), "*1\r\n");
        assert_eq!(roundtrip(&mut conn, "").trim_end(), "+OK");
        assert_eq!(roundtrip(&mut conn, "PING\r\n"), "+PONG\r\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while workers.workers[1].connections.load(Ordering::Relaxed) != 1 {
            assert!(Instant::now() < deadline, "connection never moved");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(workers.workers[0].connections.load(Ordering::Relaxed), 0);
        // A pipeline split across the move is answered in order.
        conn.get_mut()
            .write_all(b"GET k\r\nSELECT 0\r\nGET k\r\n")
            .expect("send pipeline");
        let mut replies = String::new();
        for _ in 0..4 {
            conn.read_line(&mut replies).expect("read reply");
        }
        assert_eq!(replies, "$5\r\nmoved\r\n+OK\r\n$-1\r\n");
    }
}

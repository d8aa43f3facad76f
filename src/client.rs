//! What the server knows of each connected client (CLIENT LIST, CLIENT
//! KILL, INFO clients) and the registry of them. A connection's own state,
//! which commands change, is `cmd::spec::ClientState`.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// What other connections may see of a client (CLIENT LIST, CLIENT KILL).
/// Fields that change per command are atomics so updating them is cheap.
pub struct ClientInfo {
    /// Unique, increasing id.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// When the connection was accepted.
    pub created: Instant,
    /// Name set with CLIENT SETNAME / HELLO SETNAME.
    pub name: Mutex<Option<Bytes>>,
    /// `lib-name` and `lib-ver` from CLIENT SETINFO.
    pub lib: Mutex<(String, String)>,
    /// Selected database.
    pub db: AtomicUsize,
    /// Protocol version.
    pub resp: AtomicUsize,
    /// Unix ms of the last command.
    pub last_interaction_ms: AtomicI64,
    /// Full name of the last command run.
    pub last_cmd: Mutex<&'static str>,
    /// Commands run.
    pub commands: AtomicU64,
    /// Set by CLIENT KILL; the connection closes at its next wake-up.
    pub killed: AtomicBool,
    /// Wakes the connection task when it is killed.
    pub kill_notify: Notify,
    /// CLIENT NO-EVICT.
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH.
    pub no_touch: AtomicBool,
    /// True while in MULTI (the `x` flag).
    pub in_multi: AtomicBool,
    /// The socket's file descriptor (CLIENT LIST `fd=`).
    pub fd: i64,
    /// In MONITOR mode (the `O` flag).
    pub monitor: AtomicBool,
}

impl ClientInfo {
    /// A newly accepted client: id, peer and local address, socket fd.
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i64) -> ClientInfo {
        ClientInfo {
            id,
            addr,
            laddr,
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
            fd,
            monitor: AtomicBool::new(false),
        }
    }

    /// The client's line in CLIENT LIST / CLIENT INFO (without the newline).
    /// `multi` is the number of queued commands, or -1 outside MULTI.
    pub fn describe(&self, multi: i64) -> String {
        let r = Ordering::Relaxed;
        let now = crate::util::now_ms();
        let name = self
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let mut flags = String::new();
        if self.monitor.load(r) {
            flags.push('O');
        }
        if self.in_multi.load(r) {
            flags.push('x');
        }
        if self.no_evict.load(r) {
            flags.push('e');
        }
        if self.no_touch.load(r) {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let (lib_name, lib_ver) = self.lib.lock().clone();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            self.created.elapsed().as_secs(),
            (now - self.last_interaction_ms.load(r)).max(0) / 1000,
            flags,
            self.db.load(r),
            multi,
            self.last_cmd.lock(),
            self.resp.load(r),
            lib_name,
            lib_ver,
        )
    }

    /// Requests the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill_notify.notify_one();
    }
}

/// All connected clients, for CLIENT LIST / KILL and INFO clients.
#[derive(Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    /// Allocates the next client id (ids start at 1, like Redis).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a connection.
    pub fn add(&self, info: Arc<ClientInfo>) {
        self.clients.lock().insert(info.id, info);
    }

    /// Unregisters a connection.
    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// True if no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of all clients, by id.
    pub fn snapshot(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }
}

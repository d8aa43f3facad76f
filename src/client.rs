//! What the server knows of each connected client (CLIENT LIST, CLIENT
//! KILL, INFO clients, its outbound queue), the registry of them and the
//! MONITOR clients. A connection's own state, which commands change, is
//! `cmd::spec::ClientState`.

use crate::outbox::{ClientClass, Outbox, OutputLimits};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
    /// Frames any thread may queue for the client; its wake-up also
    /// tells the connection it was killed.
    pub outbox: Arc<Outbox>,
    /// The client's waiter while a blocking command waits (the `b` flag,
    /// CLIENT UNBLOCK).
    pub blocked: Mutex<Option<Arc<crate::db::Waiter>>>,
    /// Channels, patterns and shard channels subscribed to (CLIENT LIST
    /// `sub`, `psub`, `ssub`; set by pub/sub, which makes the client's
    /// class [`ClientClass::Pubsub`]).
    pub subscriptions: [AtomicUsize; 3],
    /// Memory of the connection's own structures and buffers as allocated
    /// when it was accepted (part of CLIENT LIST `tot-mem`).
    pub base_mem: AtomicUsize,
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
    /// Bytes in the query buffer (CLIENT LIST `qbuf`): while a batch of
    /// requests runs, the whole batch, as Redis counts it.
    pub qbuf: AtomicUsize,
    /// Held by CLIENT PAUSE (shown as blocked, the `b` flag, as in Redis).
    pub paused: AtomicBool,
    /// Client tracking's state of this client (CLIENT TRACKING; the `t`,
    /// `R`, `B` flags and `redir=`).
    pub tracker: Arc<crate::db::Tracker>,
    /// The worker (its index + 1) on whose thread the connection waits for
    /// a new request with nothing unsent, nothing half-read and no state a
    /// reply depends on (transaction, CLIENT REPLY, subscriptions): a long
    /// script's responder on that thread may answer it (0: not so waiting).
    pub parked_on: AtomicUsize,
    /// The responder left input or output for the connection in
    /// `handback`, which it takes before anything else.
    pub handed_back: AtomicBool,
    /// What the responder read and did not answer, and replies it could
    /// not finish writing.
    pub handback: Mutex<Handback>,
}

/// Bytes a long script's responder hands back to the connection it served
/// (see `cmd::busy`).
#[derive(Default)]
pub struct Handback {
    /// Input read from the socket and not answered, in order.
    pub input: Vec<u8>,
    /// Replies not yet written, in order.
    pub output: Vec<u8>,
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
            outbox: Arc::new(Outbox::default()),
            blocked: Mutex::new(None),
            subscriptions: Default::default(),
            base_mem: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            in_multi: AtomicBool::new(false),
            fd,
            monitor: AtomicBool::new(false),
            qbuf: AtomicUsize::new(0),
            paused: AtomicBool::new(false),
            tracker: Arc::new(crate::db::Tracker::new(id)),
            parked_on: AtomicUsize::new(0),
            handed_back: AtomicBool::new(false),
            handback: Mutex::new(Handback::default()),
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
        if self.subscribed() {
            flags.push('P');
        }
        let blocked = self
            .blocked
            .lock()
            .as_ref()
            .is_some_and(|w| w.counts_as_blocked());
        if blocked || self.paused.load(r) {
            flags.push('b');
        }
        if self.in_multi.load(r) {
            flags.push('x');
        }
        let tracking = self.tracker.flags();
        for (bit, ch) in [
            (crate::db::flag::ON, 't'),
            (crate::db::flag::BROKEN_REDIR, 'R'),
            (crate::db::flag::BCAST, 'B'),
        ] {
            if tracking & bit != 0 {
                flags.push(ch);
            }
        }
        let redir = if tracking & crate::db::flag::ON != 0 {
            self.tracker.redirect() as i64
        } else {
            -1
        };
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
        let [sub, psub, ssub] = self.subscriptions.each_ref().map(|n| n.load(r));
        // obl: reply bytes the connection holds unwritten; oll: frames in
        // the outbound queue; omem: both, in bytes (what the output limits
        // count); tot-mem adds the connection's own structures and buffers.
        let obl = self.outbox.unsent_bytes();
        let omem = obl + self.outbox.queued_bytes();
        let events = if obl > 0 { "rw" } else { "r" };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={sub} psub={psub} ssub={ssub} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={obl} oll={} omem={omem} tot-mem={} events={events} cmd={} user=default redir={redir} resp={} lib-name={} lib-ver={}",
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
            self.qbuf.load(r),
            self.outbox.queued_frames(),
            omem + self.base_mem.load(r),
            self.last_cmd.lock(),
            self.resp.load(r),
            lib_name,
            lib_ver,
        )
    }

    /// Requests the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.outbox.wake();
    }

    /// The class whose output limits apply (Redis's `getClientType`): a
    /// subscriber is `pubsub`, everyone else (MONITOR clients included)
    /// `normal`, until replicas exist.
    pub fn class(&self) -> ClientClass {
        if self.subscribed() {
            ClientClass::Pubsub
        } else {
            ClientClass::Normal
        }
    }

    /// True while the client has a subscription: it is in pub/sub mode
    /// (Redis's `CLIENT_PUBSUB`, the `P` flag).
    #[inline]
    pub fn subscribed(&self) -> bool {
        self.subscriptions
            .iter()
            .any(|n| n.load(Ordering::Relaxed) > 0)
    }

    /// Queues a frame for the client (from any thread) and enforces its
    /// output limits, which may close it.
    pub fn push(&self, frame: Bytes, limits: &OutputLimits) {
        self.outbox.push(frame);
        if self.outbox.usage() > crate::outbox::FIXED_BUFFER {
            self.enforce_output_limits(limits, Closing::Scheduled);
        }
    }

    /// Redis's `closeClientOnOutputBufferLimitReached`: when the client's
    /// unsent output is over its class's limits, logs it, frees its queue
    /// and kills it. True if the client is closing (now or before).
    pub fn enforce_output_limits(&self, limits: &OutputLimits, how: Closing) -> bool {
        if self.outbox.is_closed() {
            return true;
        }
        let now_secs = crate::util::now_ms().div_euclid(1000);
        if !self.outbox.over_limit(limits.get(self.class()), now_secs) {
            return false;
        }
        let multi = if self.in_multi.load(Ordering::Relaxed) {
            0
        } else {
            -1
        };
        let line = self.describe(multi);
        if self.outbox.close() {
            match how {
                Closing::Scheduled => crate::warning!(
                    "Client {line} scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
                Closing::Now => {
                    crate::warning!("Client {line} closed for overcoming of output buffer limits.")
                }
            }
        }
        self.kill();
        true
    }
}

/// Subscribers are clients: the registry queues their messages through
/// [`ClientInfo::push`], which enforces their output limits.
impl crate::pubsub::Receiver for ClientInfo {
    fn id(&self) -> u64 {
        self.id
    }

    fn resp3(&self) -> bool {
        self.resp.load(Ordering::Relaxed) >= 3
    }

    fn deliver(&self, frame: Bytes, limits: &OutputLimits) {
        self.push(frame, limits);
    }

    fn set_counts(&self, counts: [usize; 3]) {
        for (slot, n) in self.subscriptions.iter().zip(counts) {
            slot.store(n, Ordering::Relaxed);
        }
    }
}

/// Where an output limit is found exceeded, which decides Redis's log
/// wording.
#[derive(Debug, Clone, Copy)]
pub enum Closing {
    /// While output is added (a push, a connection's replies).
    Scheduled,
    /// By the periodic check (Redis's `clientsCron`).
    Now,
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

    /// The client with `id`, if connected.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
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

    /// Calls `f` for every client, under the registry's lock (so `f` must
    /// not add or remove clients).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<ClientInfo>)) {
        self.clients.lock().values().for_each(&mut f);
    }
}

/// The MONITOR clients. A command's line goes to each of their queues
/// under one lock, so every monitor sees the same order.
#[derive(Default)]
pub struct Monitors {
    /// How many there are: the request path reads only this.
    count: AtomicUsize,
    list: Mutex<Vec<Arc<ClientInfo>>>,
}

impl Monitors {
    /// True while at least one client monitors.
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Adds a monitor (once: a repeated MONITOR changes nothing).
    pub fn add(&self, client: Arc<ClientInfo>) {
        let mut list = self.list.lock();
        if list.iter().all(|c| c.id != client.id) {
            list.push(client);
            self.count.store(list.len(), Ordering::Relaxed);
        }
    }

    /// Removes client `id` if it monitors.
    pub fn remove(&self, id: u64) {
        let mut list = self.list.lock();
        list.retain(|c| c.id != id);
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// Queues `line` for every monitor; a monitor over its output limits
    /// is closed (and stays listed until its connection ends).
    pub fn feed(&self, line: Bytes, limits: &OutputLimits) {
        for client in self.list.lock().iter() {
            client.push(line.clone(), limits);
        }
    }
}

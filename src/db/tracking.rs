//! Client-side caching (CLIENT TRACKING): which clients may hold which
//! keys, and the invalidation messages a change sends them.
//!
//! Two modes, as in Redis 7.0. A *default-mode* tracker has the keys its
//! read-only commands read remembered in the [`Tracking`] table (key →
//! client ids; keys are not per database, as in Redis); the first change to
//! a key takes its entry out of the table and invalidates it for every id
//! listed. A *broadcasting* (BCAST) tracker registers prefixes instead and
//! hears of every changed key starting with one of them, nothing being
//! remembered per key.
//!
//! Everything arrives through the keyspace's event sink, in the order the
//! changes happened, while the shard locks of the keys are held: a change
//! (any event of a change class), a read to remember (a [`Track::Read`]
//! recorded by the command layer after a tracker's read-only command), a
//! flushed database. Remembering and invalidating a key both run under the
//! key's shard lock, so a change either precedes a read (and the read sees
//! it) or finds the read's entry. The table's own stripes only keep the two
//! workers from sharing one mutex.
//!
//! Messages go to a client's outbound queue ([`Outbox`]), or, for the
//! client whose command caused them, into `own`, which its connection
//! writes after that command's reply (Redis's pending invalidations). The
//! module knows clients only by id: [`Tracking::install_directory`] gives
//! it the way to find a client's queue and protocol. Nothing here is
//! touched while no client tracks: the sink then records no event.

use crate::dict::{hash_key, Dict};
use crate::outbox::Outbox;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A tracker's mode bits (CLIENT TRACKING's options and state).
pub mod flag {
    /// Tracking is on.
    pub const ON: u32 = 1 << 0;
    /// BCAST: invalidations by prefix, no keys remembered.
    pub const BCAST: u32 = 1 << 1;
    /// OPTIN: only reads after CLIENT CACHING YES are remembered.
    pub const OPTIN: u32 = 1 << 2;
    /// OPTOUT: reads after CLIENT CACHING NO are not remembered.
    pub const OPTOUT: u32 = 1 << 3;
    /// NOLOOP: no invalidation of the client's own changes.
    pub const NOLOOP: u32 = 1 << 4;
    /// The redirect client went away (CLIENT LIST `R`, TRACKINGINFO's
    /// `broken_redirect`).
    pub const BROKEN_REDIR: u32 = 1 << 5;
}

/// The channel RESP2 redirect clients hear invalidations on.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// What tracking needs of a client it sends to, found by id.
pub struct Endpoint {
    /// The client's outbound queue.
    pub outbox: Arc<Outbox>,
    /// Its protocol (2 or 3).
    pub resp: u8,
    /// Subscribed to some channel or pattern (Redis's `CLIENT_PUBSUB`).
    pub subscribed: bool,
}

/// Finds a connected client by id (installed by the shared state, which
/// knows the clients).
pub type Directory = Box<dyn Fn(u64) -> Option<Endpoint> + Send + Sync>;

/// One client's tracking state, shared by its connection (which changes
/// the mode), the table (which reads it when sending) and CLIENT LIST.
pub struct Tracker {
    /// The client's id.
    pub id: u64,
    flags: AtomicU32,
    redirect: AtomicU64,
    /// BCAST prefixes, in byte order.
    prefixes: Mutex<Vec<Box<[u8]>>>,
}

impl Tracker {
    /// The state of client `id`, tracking off.
    pub fn new(id: u64) -> Tracker {
        Tracker {
            id,
            flags: AtomicU32::new(0),
            redirect: AtomicU64::new(0),
            prefixes: Mutex::new(Vec::new()),
        }
    }

    /// The mode bits ([`flag`]).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// The client invalidations are redirected to (0: none).
    pub fn redirect(&self) -> u64 {
        self.redirect.load(Ordering::Relaxed)
    }

    /// The BCAST prefixes, in byte order.
    pub fn prefixes(&self) -> Vec<Box<[u8]>> {
        self.prefixes.lock().clone()
    }
}

/// What an event means to tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// A tracker's read-only command read the key: remember it for the
    /// command's client.
    Read,
    /// The key changed (a command's change, or an expiry or eviction,
    /// which Redis attributes to no client).
    Changed {
        /// Caused by the command's client (false: expiry, eviction).
        by_client: bool,
    },
    /// Every key is invalid (FLUSHDB, FLUSHALL).
    Flushed,
}

/// Stripes of the key table (contention only; see the module docs).
const STRIPES: usize = 16;

/// The client ids remembered for a key, ascending.
type Ids = Vec<u64>;

/// The BCAST trackers of one prefix.
type PrefixClients = Vec<Arc<Tracker>>;

/// The tracking state of the whole server.
pub struct Tracking {
    stripes: [Mutex<Dict<Ids>>; STRIPES],
    /// Keys in the table (INFO `tracking_total_keys`).
    keys: AtomicUsize,
    /// (key, id) pairs in the table (INFO `tracking_total_items`).
    items: AtomicUsize,
    /// The clients with tracking on, by id.
    trackers: Mutex<HashMap<u64, Arc<Tracker>>>,
    /// How many clients track (INFO `tracking_clients`).
    clients: AtomicUsize,
    /// BCAST prefixes and their clients.
    prefixes: Mutex<BTreeMap<Box<[u8]>, PrefixClients>>,
    /// How many prefixes there are (INFO `tracking_total_prefixes`).
    prefix_count: AtomicUsize,
    directory: OnceLock<Directory>,
    /// Rounds of `limit_keys` that ended still over the limit (its effort
    /// grows with them, as Redis's does).
    over_limit_rounds: AtomicU32,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            stripes: std::array::from_fn(|_| Mutex::new(Dict::new())),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            trackers: Mutex::new(HashMap::new()),
            clients: AtomicUsize::new(0),
            prefixes: Mutex::new(BTreeMap::new()),
            prefix_count: AtomicUsize::new(0),
            directory: OnceLock::new(),
            over_limit_rounds: AtomicU32::new(0),
        }
    }
}

/// Why CLIENT TRACKING ON's prefixes are refused (Redis's texts).
#[derive(Debug, PartialEq, Eq)]
pub enum PrefixClash {
    /// `new` overlaps a prefix the client has already.
    Existing {
        /// The prefix given.
        new: Box<[u8]>,
        /// The client's prefix it overlaps.
        existing: Box<[u8]>,
    },
    /// Two of the prefixes given overlap; `at` is the first one's index.
    Given {
        /// The earlier prefix.
        first: Box<[u8]>,
        /// The later one.
        second: Box<[u8]>,
        /// Index of `first` among the prefixes given.
        at: usize,
    },
}

/// Two prefixes overlap when one starts the other.
fn overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// A key as a one-element RESP array.
fn key_array(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 16);
    out.extend_from_slice(b"*1\r\n");
    bulk(&mut out, key);
    out
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// What an invalidation message carries after its header.
enum Payload<'a> {
    /// Keys as an encoded RESP array.
    Keys(&'a [u8]),
    /// Every key: a null in the tracking client's protocol (even when the
    /// message goes to a redirect client speaking the other one, as Redis
    /// writes it).
    All,
}

impl Tracking {
    /// Installs the way to find clients by id (once, at start-up).
    pub fn install_directory(&self, directory: Directory) {
        let _ = self.directory.set(directory);
    }

    fn endpoint(&self, id: u64) -> Option<Endpoint> {
        self.directory.get().and_then(|find| find(id))
    }

    /// True while some client tracks (the sink then records changes).
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    /// INFO's `tracking_clients`.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// INFO's `tracking_total_keys`.
    pub fn total_keys(&self) -> usize {
        self.keys.load(Ordering::Relaxed)
    }

    /// INFO's `tracking_total_items`.
    pub fn total_items(&self) -> usize {
        self.items.load(Ordering::Relaxed)
    }

    /// INFO's `tracking_total_prefixes`.
    pub fn total_prefixes(&self) -> usize {
        self.prefix_count.load(Ordering::Relaxed)
    }

    /// Redis's `checkPrefixCollisionsOrReply`: the first clash between the
    /// prefixes given and `tracker`'s, or among the prefixes given.
    pub fn prefix_clash(&self, tracker: &Tracker, given: &[&[u8]]) -> Option<PrefixClash> {
        let existing = tracker.prefixes.lock();
        for (i, p) in given.iter().enumerate() {
            if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
                return Some(PrefixClash::Existing {
                    new: (*p).into(),
                    existing: e.clone(),
                });
            }
            if let Some(q) = given[i + 1..].iter().find(|q| overlap(p, q)) {
                return Some(PrefixClash::Given {
                    first: (*p).into(),
                    second: (*q).into(),
                    at: i,
                });
            }
        }
        None
    }

    /// Redis's `enableTracking`: turns tracking on for `tracker` (or
    /// changes its options), with `options` ([`flag`] bits: BCAST, OPTIN,
    /// OPTOUT, NOLOOP), invalidations redirected to `redirect` (0: none),
    /// and, with BCAST, `prefixes` added to the ones it has (the empty
    /// prefix when none is given).
    pub fn enable(&self, tracker: &Arc<Tracker>, redirect: u64, options: u32, prefixes: &[&[u8]]) {
        {
            let mut trackers = self.trackers.lock();
            if tracker.flags() & flag::ON == 0 {
                trackers.insert(tracker.id, tracker.clone());
                self.clients.fetch_add(1, Ordering::Relaxed);
            }
            let keep = tracker.flags()
                & !(flag::BROKEN_REDIR | flag::BCAST | flag::OPTIN | flag::OPTOUT | flag::NOLOOP);
            let set = options & (flag::BCAST | flag::OPTIN | flag::OPTOUT | flag::NOLOOP);
            tracker.redirect.store(redirect, Ordering::Relaxed);
            tracker
                .flags
                .store(keep | flag::ON | set, Ordering::Relaxed);
        }
        if options & flag::BCAST != 0 {
            let empty: &[&[u8]] = &[b""];
            let list = if prefixes.is_empty() { empty } else { prefixes };
            let mut table = self.prefixes.lock();
            let mut own = tracker.prefixes.lock();
            for p in list {
                let clients = table.entry((*p).into()).or_default();
                if !clients.iter().any(|c| c.id == tracker.id) {
                    clients.push(tracker.clone());
                    if let Err(at) = own.binary_search_by(|e| e[..].cmp(p)) {
                        own.insert(at, (*p).into());
                    }
                }
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
    }

    /// Redis's `disableTracking`: turns tracking off for `tracker` (nothing
    /// happens if it was off). The ids it left in the table go when their
    /// keys change, as in Redis, unless no client tracks any more: the
    /// table is then emptied, so that a server nobody tracks on records no
    /// events.
    pub fn disable(&self, tracker: &Tracker) {
        if tracker.flags() & flag::BCAST != 0 {
            let mut table = self.prefixes.lock();
            for p in std::mem::take(&mut *tracker.prefixes.lock()) {
                if let Some(clients) = table.get_mut(&p) {
                    clients.retain(|c| c.id != tracker.id);
                    if clients.is_empty() {
                        table.remove(&p);
                    }
                }
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
        let mut trackers = self.trackers.lock();
        if tracker.flags() & flag::ON == 0 {
            return;
        }
        tracker.flags.store(0, Ordering::Relaxed);
        trackers.remove(&tracker.id);
        if self.clients.fetch_sub(1, Ordering::Relaxed) == 1 {
            // Under the trackers' lock: a client enabling tracking now
            // waits, so its first reads are not cleared away.
            self.clear();
        }
    }

    /// Empties the key table.
    fn clear(&self) {
        for stripe in &self.stripes {
            let old = std::mem::take(&mut *stripe.lock());
            // What the stripe held, taken off the counts (another thread
            // may be counting off a key it took from another stripe).
            let items: usize = old.iter().map(|(_, ids)| ids.len()).sum();
            self.keys.fetch_sub(old.len(), Ordering::Relaxed);
            self.items.fetch_sub(items, Ordering::Relaxed);
        }
    }

    fn stripe(&self, hash: u64) -> &Mutex<Dict<Ids>> {
        &self.stripes[(hash as usize) & (STRIPES - 1)]
    }

    /// Redis's `trackingRememberKeys` for one key: `client` may cache it.
    fn remember(&self, key: &[u8], client: u64) {
        let hash = hash_key(key);
        let mut stripe = self.stripe(hash).lock();
        let mut created = false;
        let (ids, _) = stripe.get_or_insert_with(hash, key, || {
            created = true;
            (Vec::new(), ())
        });
        if let Err(at) = ids.binary_search(&client) {
            ids.insert(at, client);
            self.items.fetch_add(1, Ordering::Relaxed);
        }
        if created {
            self.keys.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The trackers of `ids` that are on, for sending.
    fn trackers_of(&self, ids: &[u64]) -> Vec<Arc<Tracker>> {
        let trackers = self.trackers.lock();
        ids.iter()
            .filter_map(|id| trackers.get(id).cloned())
            .collect()
    }

    /// Redis's `trackingInvalidateKey` for the key table: takes `key`'s
    /// entry out and sends its default-mode trackers the invalidation
    /// (not to the client running the command, `origin`, in NOLOOP mode).
    fn invalidate(&self, key: &[u8], origin: u64, own: &mut Vec<u8>) {
        let hash = hash_key(key);
        let ids = {
            let mut stripe = self.stripe(hash).lock();
            if stripe.is_empty() {
                return;
            }
            match stripe.remove(hash, key) {
                Some(ids) => ids,
                None => return,
            }
        };
        self.keys.fetch_sub(1, Ordering::Relaxed);
        self.items.fetch_sub(ids.len(), Ordering::Relaxed);
        let payload = key_array(key);
        for tracker in self.trackers_of(&ids) {
            let flags = tracker.flags();
            // A tracker that switched to BCAST does not hear of the keys
            // it read before.
            if flags & flag::ON == 0 || flags & flag::BCAST != 0 {
                continue;
            }
            if flags & flag::NOLOOP != 0 && tracker.id == origin {
                continue;
            }
            self.send(&tracker, Payload::Keys(&payload), origin, own);
        }
    }

    /// Redis's `sendTrackingMessage`: one invalidation for `tracker`, to
    /// its redirect client if it has one (a RESP3 push, or for a RESP2
    /// subscriber a message on `__redis__:invalidate`), else to itself if
    /// it speaks RESP3 (RESP2 has no pushes: nothing is sent).
    fn send(&self, tracker: &Tracker, payload: Payload<'_>, origin: u64, own: &mut Vec<u8>) {
        let redirect = tracker.redirect();
        let target = self.endpoint(if redirect != 0 { redirect } else { tracker.id });
        let Some(target) = target else {
            if redirect != 0 {
                self.redirect_broken(tracker, redirect, origin, own);
            }
            return;
        };
        let mut body = Vec::new();
        let body: &[u8] = match payload {
            Payload::Keys(keys) => keys,
            Payload::All => {
                let resp = if redirect == 0 {
                    target.resp
                } else {
                    self.endpoint(tracker.id).map_or(2, |e| e.resp)
                };
                body.extend_from_slice(if resp >= 3 { b"_\r\n" } else { b"$-1\r\n" });
                &body
            }
        };
        let frame: Bytes = if target.resp >= 3 {
            let mut frame = b">2\r\n$10\r\ninvalidate\r\n".to_vec();
            frame.extend_from_slice(body);
            frame.into()
        } else if redirect != 0 && target.subscribed {
            crate::pubsub::message_with(false, INVALIDATE_CHANNEL, body)
        } else {
            return;
        };
        if redirect == 0 && tracker.id == origin {
            own.extend_from_slice(&frame);
        } else {
            target.outbox.push(frame);
        }
    }

    /// The redirect client of `tracker` is gone: mark it, and tell a RESP3
    /// tracker with a `tracking-redir-broken` push.
    fn redirect_broken(&self, tracker: &Tracker, redirect: u64, origin: u64, own: &mut Vec<u8>) {
        tracker
            .flags
            .fetch_or(flag::BROKEN_REDIR, Ordering::Relaxed);
        let Some(me) = self.endpoint(tracker.id) else {
            return;
        };
        if me.resp < 3 {
            return;
        }
        let mut frame = b">2\r\n$21\r\ntracking-redir-broken\r\n:".to_vec();
        frame.extend_from_slice(redirect.to_string().as_bytes());
        frame.extend_from_slice(b"\r\n");
        if tracker.id == origin {
            own.extend_from_slice(&frame);
        } else {
            me.outbox.push(Bytes::from(frame));
        }
    }

    /// Redis's `trackingInvalidateKeysOnFlush`: every tracker hears that
    /// all keys are invalid, and the table empties.
    fn flushed(&self, origin: u64, own: &mut Vec<u8>) {
        let all: Vec<Arc<Tracker>> = self.trackers.lock().values().cloned().collect();
        for tracker in all {
            if tracker.flags() & flag::ON != 0 {
                self.send(&tracker, Payload::All, origin, own);
            }
        }
        self.clear();
    }

    /// Handles one command's (or transaction's, or expiry pass's) events in
    /// order: `origin` is the client that ran it (0: none), `own` collects
    /// the messages for that client. BCAST trackers get one message per
    /// prefix at the end, listing the keys that changed in byte order, as
    /// Redis sends them once per event loop iteration.
    pub fn deliver<'e>(
        &self,
        events: impl Iterator<Item = (Track, &'e [u8])>,
        origin: u64,
        own: &mut Vec<u8>,
    ) {
        let bcast = self.prefix_count.load(Ordering::Relaxed) > 0;
        // Changed key → the client that changed it last (0: none).
        let mut changed: BTreeMap<&[u8], u64> = BTreeMap::new();
        for (what, key) in events {
            match what {
                Track::Read => self.remember(key, origin),
                Track::Changed { by_client } => {
                    if bcast {
                        changed.insert(key, if by_client { origin } else { 0 });
                    }
                    self.invalidate(key, origin, own);
                }
                Track::Flushed => self.flushed(origin, own),
            }
        }
        if !changed.is_empty() {
            self.broadcast(&changed, origin, own);
        }
    }

    /// Redis's `trackingBroadcastInvalidationMessages` over the keys of one
    /// delivery.
    fn broadcast(&self, changed: &BTreeMap<&[u8], u64>, origin: u64, own: &mut Vec<u8>) {
        let table: Vec<(Box<[u8]>, PrefixClients)> = self
            .prefixes
            .lock()
            .iter()
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect();
        for (prefix, clients) in table {
            let keys: Vec<(&[u8], u64)> = changed
                .range(&prefix[..]..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, by)| (*k, *by))
                .collect();
            if keys.is_empty() {
                continue;
            }
            let array = |skip: u64| {
                let kept: Vec<&[u8]> = keys
                    .iter()
                    .filter(|(_, by)| skip == 0 || *by != skip)
                    .map(|(k, _)| *k)
                    .collect();
                (!kept.is_empty()).then(|| {
                    let mut out = format!("*{}\r\n", kept.len()).into_bytes();
                    for k in kept {
                        bulk(&mut out, k);
                    }
                    out
                })
            };
            let common = array(0);
            for tracker in clients {
                let flags = tracker.flags();
                if flags & flag::ON == 0 {
                    continue;
                }
                if flags & flag::NOLOOP != 0 {
                    if let Some(adhoc) = array(tracker.id) {
                        self.send(&tracker, Payload::Keys(&adhoc), origin, own);
                    }
                } else if let Some(common) = &common {
                    self.send(&tracker, Payload::Keys(common), origin, own);
                }
            }
        }
    }

    /// Redis's `trackingLimitUsedSlots`: while the table holds more than
    /// `max` keys (0: no limit), invalidates random keys as if they had
    /// changed (not for BCAST trackers), at most 100 per call times the
    /// calls in a row that ended over the limit. `origin` is the client
    /// whose command is about to run (0: none); its own messages go to
    /// `own`, before that command's reply.
    pub fn limit_keys(&self, max: usize, origin: u64, own: &mut Vec<u8>) {
        if max == 0 || self.total_keys() <= max {
            self.over_limit_rounds.store(0, Ordering::Relaxed);
            return;
        }
        let rounds = self.over_limit_rounds.load(Ordering::Relaxed);
        let mut effort = 100 * (rounds as usize + 1);
        while effort > 0 {
            effort -= 1;
            let Some(key) = self.random_key() else {
                break;
            };
            self.invalidate(&key, origin, own);
            if self.total_keys() <= max {
                self.over_limit_rounds.store(0, Ordering::Relaxed);
                return;
            }
        }
        self.over_limit_rounds.store(rounds + 1, Ordering::Relaxed);
    }

    /// A random key of the table.
    fn random_key(&self) -> Option<Box<[u8]>> {
        let start = crate::util::rand_u64() as usize;
        (0..STRIPES).find_map(|i| {
            let stripe = self.stripes[(start + i) % STRIPES].lock();
            stripe
                .random_entry(crate::util::rand_u64)
                .map(|(k, _)| Box::from(k))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test's clients: their outboxes by id.
    type Boxes = Arc<Mutex<HashMap<u64, Arc<Outbox>>>>;

    fn setup() -> (Tracking, Boxes) {
        let t = Tracking::default();
        let boxes: Boxes = Default::default();
        let seen = boxes.clone();
        t.install_directory(Box::new(move |id| {
            seen.lock().get(&id).map(|o| Endpoint {
                outbox: o.clone(),
                resp: if id >= 100 { 2 } else { 3 },
                subscribed: true,
            })
        }));
        (t, boxes)
    }

    fn drained(o: &Outbox) -> String {
        let mut out = Vec::new();
        o.drain_into(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn reads_are_invalidated_once_and_counted() {
        let (t, boxes) = setup();
        let a = Arc::new(Tracker::new(1));
        let b = Arc::new(Tracker::new(2));
        for id in [1, 2] {
            boxes.lock().insert(id, Arc::new(Outbox::default()));
        }
        t.enable(&a, 0, 0, &[]);
        t.enable(&b, 0, flag::NOLOOP, &[]);
        assert_eq!(t.clients(), 2);
        let mut own = Vec::new();
        t.deliver([(Track::Read, &b"k"[..])].into_iter(), 1, &mut own);
        t.deliver([(Track::Read, &b"k"[..])].into_iter(), 2, &mut own);
        t.deliver([(Track::Read, &b"k"[..])].into_iter(), 2, &mut own);
        assert_eq!((t.total_keys(), t.total_items()), (1, 2));
        // Client 2 changes it: client 1 hears, client 2 (NOLOOP) does not.
        let changed = [(Track::Changed { by_client: true }, &b"k"[..])];
        t.deliver(changed.into_iter(), 2, &mut own);
        assert!(own.is_empty());
        let box1 = boxes.lock()[&1].clone();
        let box2 = boxes.lock()[&2].clone();
        assert_eq!(
            drained(&box1),
            ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        );
        assert_eq!(drained(&box2), "");
        assert_eq!((t.total_keys(), t.total_items()), (0, 0));
        // The key is no longer remembered: a second change sends nothing.
        t.deliver(changed.into_iter(), 2, &mut own);
        assert_eq!(drained(&box1), "");
        // A client's own change comes back in `own`, for after its reply.
        t.deliver([(Track::Read, &b"k"[..])].into_iter(), 1, &mut own);
        t.deliver(changed.into_iter(), 1, &mut own);
        assert_eq!(own, b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
        t.disable(&a);
        t.disable(&b);
        assert_eq!(t.clients(), 0);
    }

    #[test]
    fn redirects_broadcasts_and_flushes() {
        let (t, boxes) = setup();
        let a = Arc::new(Tracker::new(1));
        let sub = Arc::new(Outbox::default());
        boxes.lock().insert(1, Arc::new(Outbox::default()));
        boxes.lock().insert(100, sub.clone());
        t.enable(&a, 100, flag::BCAST, &[b"a:", b"b:"]);
        assert_eq!(t.total_prefixes(), 2);
        let mut own = Vec::new();
        let by = Track::Changed { by_client: true };
        t.deliver(
            [(by, &b"b:2"[..]), (by, b"a:1"), (by, b"c:1"), (by, b"b:1")].into_iter(),
            5,
            &mut own,
        );
        let msg =
            |keys: &str| format!("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n{keys}");
        assert_eq!(
            drained(&sub),
            msg("*1\r\n$3\r\na:1\r\n") + &msg("*2\r\n$3\r\nb:1\r\n$3\r\nb:2\r\n")
        );
        // The tracking client's null (RESP3 here) inside the RESP2 message.
        t.deliver([(Track::Flushed, &b""[..])].into_iter(), 5, &mut own);
        assert_eq!(drained(&sub), msg("_\r\n"));
        // The redirect client goes: RESP3 trackers are told.
        boxes.lock().remove(&100);
        t.deliver([(by, &b"a:x"[..])].into_iter(), 5, &mut own);
        let box1 = boxes.lock()[&1].clone();
        assert_eq!(
            drained(&box1),
            ">2\r\n$21\r\ntracking-redir-broken\r\n:100\r\n"
        );
        assert_ne!(a.flags() & flag::BROKEN_REDIR, 0);
        t.disable(&a);
        assert_eq!((t.total_prefixes(), t.clients()), (0, 0));
    }

    #[test]
    fn prefix_clashes_follow_redis() {
        let t = Tracking::default();
        let a = Arc::new(Tracker::new(1));
        assert!(matches!(
            t.prefix_clash(&a, &[b"FOOBAR", b"FOO"]),
            Some(PrefixClash::Given { at: 0, .. })
        ));
        assert!(matches!(
            t.prefix_clash(&a, &[b"x", b"b", b"bc"]),
            Some(PrefixClash::Given { at: 1, .. })
        ));
        t.enable(&a, 0, flag::BCAST, &[b"FOO", b"BAR"]);
        assert_eq!(
            t.prefix_clash(&a, &[b"FO"]),
            Some(PrefixClash::Existing {
                new: b"FO"[..].into(),
                existing: b"FOO"[..].into()
            })
        );
        assert_eq!(t.prefix_clash(&a, &[b"BAZ"]), None);
    }

    #[test]
    fn the_key_limit_evicts_with_invalidations() {
        let (t, boxes) = setup();
        let a = Arc::new(Tracker::new(1));
        let outbox = Arc::new(Outbox::default());
        boxes.lock().insert(1, outbox.clone());
        t.enable(&a, 0, 0, &[]);
        let keys: Vec<Vec<u8>> = (0..250).map(|i| format!("key{i}").into_bytes()).collect();
        let mut own = Vec::new();
        t.deliver(keys.iter().map(|k| (Track::Read, &k[..])), 1, &mut own);
        assert_eq!(t.total_keys(), 250);
        t.limit_keys(1, 0, &mut own);
        assert_eq!(t.total_keys(), 150, "100 keys the first time");
        t.limit_keys(1, 0, &mut own);
        assert_eq!(t.total_keys(), 1, "then up to 200");
        assert_eq!(drained(&outbox).matches("invalidate").count(), 249);
    }
}

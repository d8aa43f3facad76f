//! The keyspace: databases, sharding, locking, expiry and WATCH bookkeeping.
//!
//! # Concurrency design
//!
//! The keyspace is split into [`SHARD_COUNT`] shards by key hash; each shard
//! holds its part of *every* database behind one mutex. A command locks the
//! shards of the keys it names (found through the command table's key
//! positions) in ascending shard order — so two commands can never deadlock —
//! runs entirely under those locks, and releases them. This gives:
//!
//! * **Atomicity**: every command sees and leaves a consistent state for all
//!   its keys; multi-key commands lock all their shards before touching any.
//! * **Isolation of MULTI/EXEC and whole-keyspace commands**: they lock all
//!   shards, so nothing interleaves with them.
//! * **Parallelism**: connections run on every worker thread and commands on
//!   different shards proceed at the same time; a command never hops to
//!   another thread to run.
//!
//! Because a shard holds the key in all databases, MOVE, COPY ... DB and
//! SWAPDB need no extra locks beyond the key's shard.

use crate::dict::{hash_key, Dict};
use crate::error::{CmdError, WRONGTYPE};
use crate::types::{HashValue, ListValue, StrValue, Value};
use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Number of keyspace shards (a power of two, at most 32: shard sets are
/// 32-bit masks).
pub const SHARD_COUNT: usize = 16;
const SHARD_SHIFT: u32 = 64 - SHARD_COUNT.trailing_zeros();

/// The shard a key hash belongs to. Uses the top bits of the hash so the
/// dictionaries inside a shard (which use the low bits) stay uniform.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> SHARD_SHIFT) as usize
}

/// A client's WATCH state: set when a watched key is modified.
#[derive(Debug, Default)]
pub struct WatchFlag {
    dirty: AtomicBool,
}

impl WatchFlag {
    /// True if any watched key was touched since WATCH.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Marks the transaction as failed.
    pub fn set_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Clears the flag (after EXEC, DISCARD or UNWATCH).
    pub fn reset(&self) {
        self.dirty.store(false, Ordering::Release);
    }
}

/// The LRU clock: whole seconds since the Unix epoch, as stored per key.
pub fn lru_clock(now_ms: i64) -> u32 {
    (now_ms / 1000).clamp(0, u32::MAX as i64) as u32
}

/// What a key's 32-bit access stamp ([`Entry::lru`]) records, which follows
/// `maxmemory-policy` as in Redis: the last access time, or (under an LFU
/// policy) a logarithmic access counter with the minute it last decayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessPolicy {
    /// The stamp is [`lru_clock`] at the last access.
    Lru,
    /// The stamp is `minutes << 8 | counter`: a counter that grows by one
    /// with probability `1 / ((counter - 5) * log_factor + 1)` per access,
    /// and loses one per `decay_minutes` elapsed.
    Lfu {
        /// `lfu-log-factor`
        log_factor: u64,
        /// `lfu-decay-time`
        decay_minutes: u64,
    },
}

/// The counter a new key starts with under LFU (so new keys are not evicted
/// before they have had a chance to be used).
pub const LFU_INIT: u32 = 5;

/// The LFU clock: minutes since the epoch, in 16 bits.
fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u64 & 0xffff) as u32
}

impl AccessPolicy {
    /// The stamp of a key created now.
    pub fn new_stamp(self, now_ms: i64) -> u32 {
        match self {
            AccessPolicy::Lru => lru_clock(now_ms),
            AccessPolicy::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT,
        }
    }

    /// The stamp of a key accessed now whose stamp was `old`.
    pub fn touched(self, old: u32, now_ms: i64) -> u32 {
        match self {
            AccessPolicy::Lru => lru_clock(now_ms),
            AccessPolicy::Lfu { log_factor, .. } => {
                let mut counter = self.lfu_counter(old, now_ms);
                if counter < 255 {
                    let base = counter.saturating_sub(LFU_INIT) as f64;
                    let p = 1.0 / (base * log_factor as f64 + 1.0);
                    let r = (crate::util::rand_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    if r < p {
                        counter += 1;
                    }
                }
                (lfu_minutes(now_ms) << 8) | counter
            }
        }
    }

    /// The stamp RESTORE gives a key from its IDLETIME (under LRU) or FREQ
    /// (under LFU) option; `None` when the option does not apply to the
    /// policy, which keeps the new-key stamp.
    pub fn restored_stamp(
        self,
        now_ms: i64,
        idle_secs: Option<u64>,
        freq: Option<u8>,
    ) -> Option<u32> {
        match self {
            AccessPolicy::Lru => idle_secs
                .map(|idle| lru_clock(now_ms).saturating_sub(idle.min(u64::from(u32::MAX)) as u32)),
            AccessPolicy::Lfu { .. } => freq.map(|f| (lfu_minutes(now_ms) << 8) | u32::from(f)),
        }
    }

    /// The LFU counter of `stamp` after decay (OBJECT FREQ).
    pub fn lfu_counter(self, stamp: u32, now_ms: i64) -> u32 {
        let AccessPolicy::Lfu { decay_minutes, .. } = self else {
            return 0;
        };
        let counter = stamp & 0xff;
        let then = (stamp >> 8) & 0xffff;
        let now = lfu_minutes(now_ms);
        // The 16-bit minute clock wraps about every 45 days.
        let elapsed = if now >= then {
            now - then
        } else {
            0xffff - then + now
        };
        // A decay time of 0 means the counter never decays.
        let periods = u64::from(elapsed).checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u32)
    }
}

/// A keyspace entry: the value and when it was last accessed.
///
/// The access time is 4 bytes (seconds, like Redis's 24-bit LRU clock but
/// wider) so the per-key overhead of OBJECT IDLETIME stays small.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The stored value.
    pub value: Value,
    /// The access stamp: [`lru_clock`] at the last access, or the LFU
    /// counter and its minute (see [`AccessPolicy`]).
    pub lru: u32,
}

/// One client's registration on a watched key.
struct Watcher {
    flag: Arc<WatchFlag>,
    /// The key was already logically expired (but not yet reclaimed) when
    /// WATCH ran: reclaiming it later is no change.
    expired: bool,
}

/// One database's part of a shard.
#[derive(Default)]
pub struct ShardDb {
    /// Key → value and access time.
    pub keys: Dict<Entry>,
    /// Key → absolute expiry time in Unix milliseconds, for volatile keys.
    pub expires: Dict<i64>,
    /// Where active expiry resumes its sampling of `expires`.
    pub expire_cursor: u64,
    /// Keys of hashes that have fields with TTLs (may hold stale names:
    /// they are dropped when visited), for background field reclamation.
    pub hash_ttl_keys: Dict<()>,
    /// Where active expiry resumes its sampling of `hash_ttl_keys`.
    pub hash_ttl_cursor: u64,
    /// The part of a background save still to be written, while one runs.
    snapshot: Option<Box<DbSnapshot>>,
}

/// A background save's progress through one database of one shard.
///
/// The save captures the keyspace as it was at one instant without copying
/// it up front: the saver walks the key table bucket by bucket, and a write
/// to a bucket it has not reached yet first serialises that bucket as it
/// still is ("preserves" it). Every bucket is thus written exactly once, with
/// its content at the instant the save began. A table resize would move keys
/// between walked and unwalked buckets, so before one happens the rest of
/// the table is serialised at once.
struct DbSnapshot {
    /// The database number the output belongs to (it travels with the data
    /// through SWAPDB).
    label: usize,
    /// Buckets below this index have been walked; `usize::MAX` once the
    /// whole table is written.
    walked: usize,
    /// Buckets at or past `walked` already preserved by a writer.
    preserved: Vec<u64>,
    /// Serialised keys not yet handed to the saver.
    out: crate::rdb::encode::Encoder,
    /// The instant of the save: keys expired by then are left out.
    now_ms: i64,
}

/// Serialised keys of one database handed to the saver by
/// [`Keyspace::snapshot_step`].
pub struct SnapshotChunk {
    /// The database they belong to.
    pub db: usize,
    /// RDB key/value records.
    pub bytes: Vec<u8>,
}

impl DbSnapshot {
    fn is_preserved(&self, idx: usize) -> bool {
        self.preserved
            .get(idx / 64)
            .is_some_and(|w| w & (1 << (idx % 64)) != 0)
    }

    /// Serialises bucket `idx` of `keys` unless it is already written.
    fn write_bucket(&mut self, idx: usize, keys: &Dict<Entry>, expires: &Dict<i64>) {
        if self.walked == usize::MAX || idx < self.walked || self.is_preserved(idx) {
            return;
        }
        if let Some(w) = self.preserved.get_mut(idx / 64) {
            *w |= 1 << (idx % 64);
        }
        for (key, entry) in keys.bucket_entries(idx) {
            let when = if expires.is_empty() {
                None
            } else {
                expires.get(hash_key(key), key).copied()
            };
            if when.is_none_or(|t| t > self.now_ms) {
                self.out.key_value(key, &entry.value, when);
            }
        }
    }

    /// Walks up to `buckets` more buckets; true once the table is done.
    fn walk(&mut self, buckets: usize, keys: &Dict<Entry>, expires: &Dict<i64>) -> bool {
        if self.walked == usize::MAX {
            return true;
        }
        let end = self.walked.saturating_add(buckets).min(keys.bucket_count());
        for idx in self.walked..end {
            self.write_bucket(idx, keys, expires);
        }
        self.walked = end;
        if end >= keys.bucket_count() {
            self.walked = usize::MAX;
            self.preserved = Vec::new();
        }
        self.walked == usize::MAX
    }
}

impl ShardDb {
    /// Before the key with `hash` changes in place (value or TTL): if a
    /// background save has not written its bucket yet, write it now.
    #[inline]
    fn preserve(&mut self, hash: u64) {
        if let Some(snap) = self.snapshot.as_deref_mut() {
            if let Some(idx) = self.keys.bucket_of(hash) {
                snap.write_bucket(idx, &self.keys, &self.expires);
            }
        }
    }

    /// [`ShardDb::preserve`] before inserting a key, which may resize.
    #[inline]
    fn preserve_for_insert(&mut self, hash: u64) {
        if self.snapshot.is_some() {
            if self.keys.grows_on_insert() {
                self.finish_snapshot_walk();
            } else {
                self.preserve(hash);
            }
        }
    }

    /// [`ShardDb::preserve`] before removing a key, which may resize.
    #[inline]
    fn preserve_for_remove(&mut self, hash: u64) {
        if self.snapshot.is_some() {
            if self.keys.shrinks_on_remove() {
                self.finish_snapshot_walk();
            } else {
                self.preserve(hash);
            }
        }
    }

    /// Writes every bucket the background save has not reached yet.
    fn finish_snapshot_walk(&mut self) {
        if let Some(snap) = self.snapshot.as_deref_mut() {
            snap.walk(usize::MAX, &self.keys, &self.expires);
        }
    }
}

/// A hash whose expired fields active expiry reclaimed: its key, the
/// fields, and whether the key was deleted (no field left).
type ReclaimedFields = (Box<[u8]>, Vec<Box<[u8]>>, bool);

impl ShardDb {
    /// Reclaims expired hash fields of up to `sample` tracked hashes, deleting
    /// hashes left empty. Returns each hash's key, the fields reclaimed and
    /// whether the key was deleted.
    fn reclaim_hash_fields(&mut self, now_ms: i64, sample: usize) -> Vec<ReclaimedFields> {
        let mut visited: Vec<Box<[u8]>> = Vec::new();
        let mut cursor = self.hash_ttl_cursor;
        while visited.len() < sample {
            cursor = self
                .hash_ttl_keys
                .scan_step(cursor, |k, _| visited.push(k.into()));
            if cursor == 0 {
                break;
            }
        }
        self.hash_ttl_cursor = cursor;
        let mut deleted = Vec::new();
        for key in visited {
            let h = hash_key(&key);
            self.preserve(h);
            let keep_tracking = match self.keys.get_mut(h, &key) {
                Some(Entry {
                    value: Value::Hash(hash),
                    ..
                }) => {
                    let fields = hash.purge_expired(now_ms);
                    let emptied = hash.is_empty();
                    let keep = !emptied && hash.has_field_ttls();
                    if emptied {
                        self.remove(h, &key);
                    }
                    if !fields.is_empty() {
                        deleted.push((key.clone(), fields, emptied));
                    }
                    keep
                }
                _ => false,
            };
            if !keep_tracking {
                self.hash_ttl_keys.remove(h, &key);
            }
        }
        deleted
    }
}

impl ShardDb {
    /// Removes a key and its expiry.
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Value> {
        self.preserve_for_remove(hash);
        let entry = self.keys.remove(hash, key)?;
        if !self.expires.is_empty() {
            self.expires.remove(hash, key);
        }
        Some(entry.value)
    }

    /// True if `key` is present but its expiry time is `<= now`.
    fn is_stale(&self, hash: u64, key: &[u8], now: i64) -> bool {
        !self.expires.is_empty() && self.expires.get(hash, key).is_some_and(|&when| when <= now)
    }
}

/// One shard: its part of every database and the WATCH registrations of its
/// keys.
pub struct Shard {
    /// One entry per database.
    pub dbs: Box<[ShardDb]>,
    /// (db, key) → flags of the clients watching it.
    watches: HashMap<(usize, Box<[u8]>), Vec<Watcher>>,
}

impl Shard {
    fn new(num_dbs: usize) -> Self {
        Shard {
            dbs: (0..num_dbs).map(|_| ShardDb::default()).collect(),
            watches: HashMap::new(),
        }
    }

    fn unwatch(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        let entry = (db, Box::<[u8]>::from(key));
        if let Some(list) = self.watches.get_mut(&entry) {
            list.retain(|w| !Arc::ptr_eq(&w.flag, flag));
            if list.is_empty() {
                self.watches.remove(&entry);
            }
        }
    }

    fn touch_watchers(&mut self, db: usize, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        let present = self.dbs[db].keys.contains(hash_key(key), key);
        if let Some(list) = self.watches.get_mut(&(db, Box::<[u8]>::from(key))) {
            for w in list {
                if w.expired && !present {
                    // A key that was already stale at WATCH time is now
                    // reclaimed: logically nothing changed.
                    w.expired = false;
                } else {
                    w.flag.set_dirty();
                }
            }
        }
    }

    /// Fails the watchers of every key of `emptied` that existed there (or,
    /// for SWAPDB, exists in `replaced_with`), as FLUSHDB/SWAPDB require.
    /// Call before the databases change.
    fn touch_all_watchers_in_db(&mut self, emptied: usize, replaced_with: Option<usize>, now: i64) {
        let dbs = &self.dbs;
        for ((wdb, key), list) in self.watches.iter_mut() {
            if *wdb != emptied {
                continue;
            }
            let h = hash_key(key);
            let in_emptied = dbs[emptied].keys.contains(h, key);
            let in_other = replaced_with.is_some_and(|r| dbs[r].keys.contains(h, key));
            if !in_emptied && !in_other {
                continue;
            }
            let other_stale = replaced_with.is_some_and(|r| dbs[r].is_stale(h, key, now));
            for w in list.iter_mut() {
                if w.expired {
                    if !in_other {
                        w.expired = false;
                        continue;
                    } else if other_stale {
                        continue;
                    }
                } else if !in_emptied && other_stale {
                    w.expired = true;
                    continue;
                }
                w.flag.set_dirty();
            }
        }
    }
}

/// All databases of the server.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    num_dbs: usize,
}

impl Keyspace {
    /// A keyspace with `num_dbs` empty databases.
    pub fn new(num_dbs: usize) -> Self {
        Keyspace {
            shards: (0..SHARD_COUNT)
                .map(|_| Mutex::new(Shard::new(num_dbs)))
                .collect(),
            num_dbs,
        }
    }

    /// Number of databases (`databases` directive).
    pub fn num_dbs(&self) -> usize {
        self.num_dbs
    }

    /// Locks the shards that hold `keys` and returns a view on database `db`.
    pub fn lock_keys<'a, I>(&'a self, keys: I, db: usize, now_ms: i64) -> DbView<'a>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut mask = 0u32;
        for key in keys {
            mask |= 1 << shard_of(hash_key(key));
        }
        self.lock_mask(mask, db, now_ms)
    }

    /// Locks every shard: for whole-keyspace commands and transactions.
    pub fn lock_all(&self, db: usize, now_ms: i64) -> DbView<'_> {
        self.lock_mask(u32::MAX >> (32 - SHARD_COUNT), db, now_ms)
    }

    /// Locks the shards in `mask`, lowest first (the global lock order).
    pub fn lock_mask(&self, mask: u32, db: usize, now_ms: i64) -> DbView<'_> {
        let mut view = DbView {
            guards: Default::default(),
            db,
            now_ms,
            dirty: 0,
            hits: 0,
            misses: 0,
            expired: 0,
            no_touch: false,
            access: AccessPolicy::Lru,
            logging: false,
            effects: Vec::new(),
            effect_logged: false,
            lfu_touched: [0; 4],
            lfu_touched_len: 0,
        };
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            view.guards[i] = Some(self.shards[i].lock());
            bits &= bits - 1;
        }
        view
    }

    /// Removes `flag` from the watchers of `key` in `db`; for callers that
    /// hold no shard lock (a closing connection).
    pub fn unwatch(&self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        self.shards[shard_of(hash_key(key))]
            .lock()
            .unwatch(db, key, flag);
    }

    /// Advances the background save in shard `shard` by up to `buckets`
    /// buckets of one database, holding the shard's lock only for that
    /// step. Returns what is ready to write, or `None` once the shard has
    /// nothing left for this save.
    pub fn snapshot_step(&self, shard: usize, buckets: usize) -> Option<SnapshotChunk> {
        let mut guard = self.shards[shard].lock();
        // Searched afresh each step: SWAPDB may move a database's save.
        let sdb = guard.dbs.iter_mut().find(|d| d.snapshot.is_some())?;
        let snap = sdb.snapshot.as_deref_mut()?;
        let done = snap.walk(buckets, &sdb.keys, &sdb.expires);
        let chunk = SnapshotChunk {
            db: snap.label,
            bytes: std::mem::take(&mut snap.out.buf),
        };
        if done {
            sdb.snapshot = None;
        }
        Some(chunk)
    }

    /// Drops every background save state (a save that failed).
    pub fn abort_snapshot(&self) {
        for shard in self.shards.iter() {
            for sdb in shard.lock().dbs.iter_mut() {
                sdb.snapshot = None;
            }
        }
    }

    /// Deletes up to a bounded number of expired keys; returns how many were
    /// deleted. Called from the server's periodic task (Redis's active expire
    /// cycle): each shard is locked only briefly, for passes of `sample`
    /// keys per database. Deletions are logged to `aof` when it is on.
    pub fn active_expire_cycle(
        &self,
        now_ms: i64,
        deadline: std::time::Instant,
        sample: usize,
        aof: &crate::aof::Aof,
    ) -> u64 {
        let mut deleted = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let shard = &mut *shard;
            for db_index in 0..shard.dbs.len() {
                if !shard.dbs[db_index].hash_ttl_keys.is_empty() {
                    for (key, fields, emptied) in
                        shard.dbs[db_index].reclaim_hash_fields(now_ms, sample)
                    {
                        shard.touch_watchers(db_index, &key);
                        if aof.is_logging() {
                            let args = crate::aof::hdel(&key, &fields);
                            aof.append(&[crate::aof::Effect { db: db_index, args }]);
                        }
                        deleted += u64::from(emptied);
                    }
                }
                loop {
                    let db = &mut shard.dbs[db_index];
                    if db.expires.is_empty() {
                        break;
                    }
                    let mut sampled = 0;
                    let mut expired_keys: Vec<Box<[u8]>> = Vec::new();
                    let mut cursor = db.expire_cursor;
                    while sampled < sample {
                        cursor = db.expires.scan_step(cursor, |k, &when| {
                            sampled += 1;
                            if when <= now_ms {
                                expired_keys.push(k.into());
                            }
                        });
                        if cursor == 0 {
                            break;
                        }
                    }
                    db.expire_cursor = cursor;
                    let n = expired_keys.len();
                    for key in expired_keys {
                        let h = hash_key(&key);
                        shard.dbs[db_index].remove(h, &key);
                        shard.touch_watchers(db_index, &key);
                        if aof.is_logging() {
                            let args = crate::aof::command(&[b"DEL", &key]);
                            aof.append(&[crate::aof::Effect { db: db_index, args }]);
                        }
                        deleted += 1;
                    }
                    // Keep going in this db while a quarter or more of the
                    // sample was stale, as Redis does, within the time budget.
                    if n * 4 < sampled.max(1) || std::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
        }
        deleted
    }
}

/// A command's window on the keyspace: the locked shards and the selected
/// database. Dropping it releases the locks.
pub struct DbView<'a> {
    guards: [Option<MutexGuard<'a, Shard>>; SHARD_COUNT],
    /// The selected database.
    pub db: usize,
    /// The time the command runs at: a command (and a whole transaction) sees
    /// one consistent clock for expiry.
    pub now_ms: i64,
    /// Changes made (for `save` rules and INFO).
    pub dirty: u64,
    /// Read lookups that found a key.
    pub hits: u64,
    /// Read lookups that found nothing.
    pub misses: u64,
    /// Keys deleted because they had expired.
    pub expired: u64,
    /// Lookups leave access times alone (CLIENT NO-TOUCH).
    pub no_touch: bool,
    /// What access stamps record (from `maxmemory-policy`).
    pub access: AccessPolicy,
    /// Changes are being logged (the AOF is on): effects are collected in
    /// `effects` for `cmd::execute` to append while the locks are held.
    pub logging: bool,
    /// Logged effects of the command (or transaction) so far.
    pub effects: Vec<crate::aof::Effect>,
    /// The running command logged its own effects in place of itself.
    effect_logged: bool,
    /// Hashes of the keys whose LFU counter this command has bumped: Redis
    /// counts one access per key per command, however many times a command
    /// looks the key up.
    lfu_touched: [u64; 4],
    lfu_touched_len: usize,
}

macro_rules! typed_accessors {
    ($get:ident, $get_mut:ident, $get_or_create:ident, $variant:ident, $ty:ty) => {
        /// The value at `key` if it has this type; `WRONGTYPE` if it has
        /// another; `None` if absent.
        pub fn $get(&mut self, key: &[u8]) -> Result<Option<&$ty>, CmdError> {
            match self.get(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(std::borrow::Borrow::borrow(v))),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// Mutable form of the typed getter.
        pub fn $get_mut(&mut self, key: &[u8]) -> Result<Option<&mut $ty>, CmdError> {
            match self.get_mut(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(std::borrow::BorrowMut::borrow_mut(v))),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// The value at `key`, created empty if absent; `WRONGTYPE` if the key
        /// holds another type.
        pub fn $get_or_create(&mut self, key: &[u8]) -> Result<&mut $ty, CmdError> {
            let hash = hash_key(key);
            self.expire_if_needed(hash, key);
            let (db, access, now) = (self.db, self.access, self.now_ms);
            // An existing key counts as accessed (once per command under
            // LFU, where creating it counts as this command's access too).
            let touch = match access {
                AccessPolicy::Lru => true,
                AccessPolicy::Lfu { .. } => {
                    let exists = self.shard(hash).dbs[db].keys.contains(hash, key);
                    self.first_access(hash) && exists
                }
            };
            self.shard(hash).dbs[db].preserve_for_insert(hash);
            let entry = self.shard(hash).dbs[db]
                .keys
                .get_or_insert_with(hash, key, || Entry {
                    value: Value::$variant(Default::default()),
                    lru: access.new_stamp(now),
                });
            if touch {
                entry.lru = access.touched(entry.lru, now);
            }
            match &mut entry.value {
                Value::$variant(v) => Ok(std::borrow::BorrowMut::borrow_mut(v)),
                _ => Err(WRONGTYPE),
            }
        }
    };
}

impl<'a> DbView<'a> {
    #[inline]
    fn shard(&mut self, hash: u64) -> &mut Shard {
        let idx = shard_of(hash);
        match self.guards[idx].as_deref_mut() {
            Some(shard) => shard,
            // The command table's key positions decide what is locked; a key
            // outside them is a bug in the table, not a client error.
            None => panic!("keyspace shard {idx} accessed without its lock"),
        }
    }

    fn locked_shards(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().filter_map(|g| g.as_deref_mut())
    }

    /// True when every shard is locked (whole-keyspace operations need it).
    pub fn holds_all(&self) -> bool {
        self.guards.iter().all(Option::is_some)
    }

    /// Deletes `key` if its time has passed; true if it did.
    fn expire_if_needed(&mut self, hash: u64, key: &[u8]) -> bool {
        let (db, now) = (self.db, self.now_ms);
        let shard = self.shard(hash);
        let sdb = &mut shard.dbs[db];
        if sdb.expires.is_empty() {
            return false;
        }
        match sdb.expires.get(hash, key) {
            Some(&when) if when <= now => {
                sdb.remove(hash, key);
                shard.touch_watchers(db, key);
                self.expired += 1;
                if self.logging {
                    self.log_side_effect(crate::aof::command(&[b"DEL", key]));
                }
                true
            }
            _ => false,
        }
    }

    /// The live entry at `key`, its access time updated unless `no_touch`.
    fn lookup(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        self.expire_if_needed(hash, key);
        let (db, access, now) = (self.db, self.access, self.now_ms);
        let touch = !self.no_touch
            && (access == AccessPolicy::Lru
                || (self.shard(hash).dbs[db].keys.contains(hash, key) && self.first_access(hash)));
        let entry = self.shard(hash).dbs[db].keys.get_mut(hash, key)?;
        if touch {
            entry.lru = access.touched(entry.lru, now);
        }
        Some(entry)
    }

    /// The live value at `key`.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        self.lookup(hash, key).map(|e| &e.value)
    }

    /// The live entry at `key` without updating its access time (OBJECT,
    /// TYPE-like inspection).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let db = self.db;
        self.shard(hash).dbs[db].keys.get(hash, key)
    }

    /// Sets the access stamp of `key` (RESTORE's IDLETIME and FREQ).
    pub fn set_access_stamp(&mut self, key: &[u8], stamp: u32) {
        let hash = hash_key(key);
        let db = self.db;
        if let Some(entry) = self.shard(hash).dbs[db].keys.get_mut(hash, key) {
            entry.lru = stamp;
        }
    }

    /// Updates the access time of `key` even under CLIENT NO-TOUCH (the
    /// TOUCH command); true if the key exists.
    pub fn touch(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let (db, access, now) = (self.db, self.access, self.now_ms);
        let first = self.first_access(hash);
        match self.shard(hash).dbs[db].keys.get_mut(hash, key) {
            Some(e) => {
                if first {
                    e.lru = access.touched(e.lru, now);
                }
                true
            }
            None => false,
        }
    }

    /// True if `key` exists in its shard's dictionary, even if its time has
    /// passed and it was not reclaimed yet (for WATCH bookkeeping).
    pub fn is_stale(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        let (db, now) = (self.db, self.now_ms);
        self.shard(hash).dbs[db].is_stale(hash, key, now)
    }

    /// The live value at `key`, counting a keyspace hit or miss (for the read
    /// lookups INFO's `keyspace_hits`/`keyspace_misses` count).
    pub fn get_counted(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        let found = self.lookup(hash, key).is_some();
        if found {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        let db = self.db;
        self.shard(hash).dbs[db]
            .keys
            .get(hash, key)
            .map(|e| &e.value)
    }

    /// The live value at `key`, mutable.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).dbs[db].preserve(hash);
        self.lookup(hash, key).map(|e| &mut e.value)
    }

    /// True if `key` exists (and has not expired).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// True unless this command already counted an access to the key with
    /// hash `hash` (only tracked under LFU, where counting twice matters).
    fn first_access(&mut self, hash: u64) -> bool {
        if self.access == AccessPolicy::Lru {
            return true;
        }
        let seen = &self.lfu_touched[..self.lfu_touched_len];
        if seen.contains(&hash) {
            return false;
        }
        if self.lfu_touched_len < self.lfu_touched.len() {
            self.lfu_touched[self.lfu_touched_len] = hash;
            self.lfu_touched_len += 1;
        }
        true
    }

    /// Starts a new command on this view (inside EXEC, each queued command
    /// counts its own accesses).
    pub fn begin_command(&mut self) {
        self.lfu_touched_len = 0;
        self.effect_logged = false;
    }

    /// Logs `args` as what the running command did, in place of the
    /// command itself (for commands whose replay would not reproduce the
    /// effect: relative expiry times, INCRBYFLOAT, ...). May be called
    /// several times; logs nothing if the command changed nothing.
    pub fn log_effect(&mut self, args: Vec<Bytes>) {
        self.effect_logged = true;
        if self.logging {
            self.effects.push(crate::aof::Effect { db: self.db, args });
        }
    }

    /// Marks the running command as logging its own effects even though it
    /// logged none (its change needs no replay).
    pub fn log_nothing(&mut self) {
        self.effect_logged = true;
    }

    /// Logs `args` as happening before the running command's own effect
    /// (deletion of expired keys and fields it came across).
    pub fn log_side_effect(&mut self, args: Vec<Bytes>) {
        if self.logging {
            self.effects.push(crate::aof::Effect { db: self.db, args });
        }
    }

    /// True (once) if the running command logged its own effects.
    pub fn take_effect_logged(&mut self) -> bool {
        std::mem::take(&mut self.effect_logged)
    }

    /// The access stamp for a value stored at `key`: under LFU an
    /// overwritten key keeps its counter, as in Redis.
    fn overwrite_stamp(&mut self, hash: u64, key: &[u8]) -> u32 {
        let (db, access, now) = (self.db, self.access, self.now_ms);
        match access {
            AccessPolicy::Lru => lru_clock(now),
            AccessPolicy::Lfu { .. } => self.shard(hash).dbs[db]
                .keys
                .get(hash, key)
                .map_or_else(|| access.new_stamp(now), |e| e.lru),
        }
    }

    /// Stores `value` at `key`, discarding any previous value and TTL.
    pub fn set(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        let lru = self.overwrite_stamp(hash, key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve_for_insert(hash);
        sdb.keys.insert(hash, key, Entry { value, lru });
        if !sdb.expires.is_empty() {
            sdb.expires.remove(hash, key);
        }
    }

    /// Stores `value` at `key`, keeping the key's TTL if it exists.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let lru = self.overwrite_stamp(hash, key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve_for_insert(hash);
        sdb.keys.insert(hash, key, Entry { value, lru });
    }

    /// Removes `key`; returns its value if it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let hash = hash_key(key);
        if self.expire_if_needed(hash, key) {
            return None;
        }
        let db = self.db;
        self.shard(hash).dbs[db].remove(hash, key)
    }

    /// Removes `key` if it holds an empty hash or list (Redis deletes a
    /// container when its last element goes). Returns true if removed.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = match self.get(key) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            _ => false,
        };
        if empty {
            self.remove(key);
        }
        empty
    }

    /// The absolute expiry time of `key` in ms, if it is volatile.
    pub fn expire_time(&mut self, key: &[u8]) -> Option<i64> {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).dbs[db].expires.get(hash, key).copied()
    }

    /// Sets the absolute expiry time of an existing `key`.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve(hash);
        if let Some((stored_key, _)) = sdb.keys.get_key_value(hash, key) {
            let stored_key: Box<[u8]> = stored_key.into();
            match sdb.expires.get_mut(hash, key) {
                Some(slot) => *slot = when_ms,
                None => sdb.expires.insert_new(hash, stored_key, when_ms),
            }
        }
    }

    /// Removes the TTL of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve(hash);
        sdb.expires.remove(hash, key).is_some()
    }

    /// Registers `key` as a hash with field TTLs, so active expiry reclaims
    /// its expired fields in the background.
    pub fn track_hash_field_ttls(&mut self, key: &[u8]) {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        if !sdb.hash_ttl_keys.contains(hash, key) {
            sdb.hash_ttl_keys.insert_new(hash, key.into(), ());
        }
    }

    /// Records that `key` was modified: fails the transactions watching it
    /// and counts a change.
    pub fn modified(&mut self, key: &[u8]) {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).touch_watchers(db, key);
        self.dirty += 1;
    }

    /// Registers `flag` as watching `key` in the current database.
    pub fn watch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        let expired = self.is_stale(key);
        let db = self.db;
        let list = self
            .shard(hash_key(key))
            .watches
            .entry((db, key.into()))
            .or_default();
        if !list.iter().any(|w| Arc::ptr_eq(&w.flag, flag)) {
            list.push(Watcher {
                flag: flag.clone(),
                expired,
            });
        }
    }

    /// True if `key` in `db`, watched by `flag`, was live at WATCH time and
    /// has expired since (EXEC then fails even if it was not reclaimed).
    pub fn watched_key_expired(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) -> bool {
        let hash = hash_key(key);
        let now = self.now_ms;
        let shard = self.shard(hash);
        let Some(list) = shard.watches.get(&(db, Box::<[u8]>::from(key))) else {
            return false;
        };
        let was_stale = list.iter().any(|w| Arc::ptr_eq(&w.flag, flag) && w.expired);
        !was_stale && shard.dbs[db].is_stale(hash, key, now)
    }

    /// Removes `flag` from the watchers of `key` in database `db`.
    pub fn unwatch(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        self.shard(hash_key(key)).unwatch(db, key, flag);
    }

    typed_accessors!(get_str, get_str_mut, str_or_create, Str, StrValue);
    typed_accessors!(get_hash, get_hash_mut, hash_or_create, Hash, HashValue);
    typed_accessors!(get_list, get_list_mut, list_or_create, List, ListValue);

    // ----- whole-database operations (the caller holds every shard) -----

    /// Number of keys in database `db` (expired ones not yet reclaimed
    /// included, as in Redis).
    pub fn db_size(&mut self, db: usize) -> usize {
        self.locked_shards().map(|s| s.dbs[db].keys.len()).sum()
    }

    /// Number of volatile keys in database `db`.
    pub fn db_expires(&mut self, db: usize) -> usize {
        self.locked_shards().map(|s| s.dbs[db].expires.len()).sum()
    }

    /// Empties database `db`; returns the number of keys removed and the
    /// removed data, which the caller may drop on another thread.
    pub fn flush_db(&mut self, db: usize) -> (usize, Vec<ShardDb>) {
        let mut removed = 0;
        let mut old = Vec::new();
        let now = self.now_ms;
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(db, None, now);
            // A background save keeps what it has not written yet.
            shard.dbs[db].finish_snapshot_walk();
            let mut taken = std::mem::take(&mut shard.dbs[db]);
            shard.dbs[db].snapshot = taken.snapshot.take();
            removed += taken.keys.len();
            old.push(taken);
        }
        self.dirty += removed as u64;
        (removed, old)
    }

    /// Swaps databases `a` and `b`.
    pub fn swap_db(&mut self, a: usize, b: usize) {
        let now = self.now_ms;
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(a, Some(b), now);
            shard.touch_all_watchers_in_db(b, Some(a), now);
            shard.dbs.swap(a, b);
        }
        self.dirty += 1;
    }

    /// One step of SCAN over database `db`: visits buckets from `cursor`
    /// until at least `count` keys were seen (or ten times as many buckets
    /// were visited), calling `f` for every live key. Returns the next cursor.
    ///
    /// The cursor packs the shard index in its low bits and the shard's
    /// dictionary cursor above them.
    pub fn scan(
        &mut self,
        db: usize,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&[u8], &Value),
    ) -> u64 {
        let now = self.now_ms;
        let shard_bits = SHARD_COUNT.trailing_zeros();
        let mut shard_idx = (cursor as usize) & (SHARD_COUNT - 1);
        let mut dict_cursor = cursor >> shard_bits;
        let mut seen = 0usize;
        let mut steps = 0usize;
        let max_steps = count.saturating_mul(10).max(1);
        loop {
            let shard = self.guards[shard_idx]
                .as_deref()
                .expect("SCAN runs with every shard locked");
            let sdb = &shard.dbs[db];
            dict_cursor = sdb.keys.scan_step(dict_cursor, |k, v| {
                seen += 1;
                let h = hash_key(k);
                let expired = !sdb.expires.is_empty()
                    && sdb.expires.get(h, k).is_some_and(|&when| when <= now);
                if !expired {
                    f(k, &v.value);
                }
            });
            // Empty shards cost nothing: only count visits that did work.
            if !sdb.keys.is_empty() {
                steps += 1;
            }
            if dict_cursor == 0 {
                shard_idx += 1;
                if shard_idx == SHARD_COUNT {
                    return 0;
                }
            }
            if seen >= count || steps >= max_steps {
                return (dict_cursor << shard_bits) | shard_idx as u64;
            }
        }
    }

    /// Starts a background save of every database at this instant
    /// (`now_ms`): from here on, writes preserve what the save has not
    /// written yet. Needs every shard locked.
    pub fn begin_snapshot(&mut self, compress: bool) {
        debug_assert!(self.holds_all(), "a snapshot starts under every lock");
        let now = self.now_ms;
        for shard in self.locked_shards() {
            for (label, sdb) in shard.dbs.iter_mut().enumerate() {
                sdb.snapshot = (!sdb.keys.is_empty()).then(|| {
                    Box::new(DbSnapshot {
                        label,
                        walked: 0,
                        preserved: vec![0; sdb.keys.bucket_count().div_ceil(64)],
                        out: crate::rdb::encode::Encoder::new(compress),
                        now_ms: now,
                    })
                });
            }
        }
    }

    /// Makes room for about `keys` more keys (and `expires` more TTLs) in
    /// database `db`, spread over the locked shards (loading a dump).
    pub fn reserve(&mut self, db: usize, keys: usize, expires: usize) {
        let shards = self.guards.iter().filter(|g| g.is_some()).count().max(1);
        for shard in self.locked_shards() {
            shard.dbs[db].keys.reserve(keys / shards + 1);
            shard.dbs[db].expires.reserve(expires / shards + 1);
        }
    }

    /// Adds a key loaded from a dump to the selected database, with its
    /// expiry; gives the key back if it exists already.
    /// `hash` must be [`hash_key`] of the key.
    pub fn load(
        &mut self,
        hash: u64,
        key: crate::dict::DictKey,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), crate::dict::DictKey> {
        let (db, lru) = (self.db, self.access.new_stamp(self.now_ms));
        let field_ttls = matches!(&value, Value::Hash(h) if h.has_field_ttls());
        let sdb = &mut self.shard(hash).dbs[db];
        // Side tables need their own copy of the name, taken only when used.
        let name: Option<Box<[u8]>> =
            (expire_ms.is_some() || field_ttls).then(|| key.as_bytes().into());
        sdb.keys
            .insert_unique_key(hash, key, Entry { value, lru })
            .map_err(|(key, _)| key)?;
        if let Some(name) = name {
            if let Some(when) = expire_ms {
                sdb.expires.insert_new(hash, name.clone(), when);
            }
            if field_ttls {
                sdb.hash_ttl_keys.insert_new(hash, name, ());
            }
        }
        Ok(())
    }

    /// Prefetches what [`DbView::load`] of a key with `hash` into `db` will
    /// read (see [`Dict::prefetch`]).
    #[inline]
    pub fn prefetch_for_load(&mut self, db: usize, hash: u64, depth: u8) {
        self.shard(hash).dbs[db].keys.prefetch(hash, depth);
    }

    /// Drops the background save states of the locked shards.
    pub fn end_snapshot(&mut self) {
        for shard in self.locked_shards() {
            for sdb in shard.dbs.iter_mut() {
                sdb.snapshot = None;
            }
        }
    }

    /// Calls `f` for every live key of database `db`.
    pub fn for_each_key(&mut self, db: usize, mut f: impl FnMut(&[u8], &Value)) {
        self.for_each_entry(db, |k, v, _| f(k, v));
    }

    /// Calls `f` for every live key of database `db` with its expiry time.
    pub fn for_each_entry(&mut self, db: usize, mut f: impl FnMut(&[u8], &Value, Option<i64>)) {
        let now = self.now_ms;
        for shard in self.locked_shards() {
            let sdb = &shard.dbs[db];
            for (k, e) in sdb.keys.iter() {
                let when = if sdb.expires.is_empty() {
                    None
                } else {
                    sdb.expires.get(hash_key(k), k).copied()
                };
                if when.is_none_or(|t| t > now) {
                    f(k, &e.value, when);
                }
            }
        }
    }

    /// True if some hash in the locked shards has fields with TTLs.
    pub fn has_field_ttls(&mut self) -> bool {
        // Every such hash is tracked; tracked names may be stale.
        self.locked_shards().any(|s| {
            s.dbs.iter().any(|d| {
                d.hash_ttl_keys.iter().any(|(k, _)| {
                    matches!(d.keys.get(hash_key(k), k),
                        Some(Entry { value: Value::Hash(h), .. }) if h.has_field_ttls())
                })
            })
        })
    }

    /// A random live key of database `db`.
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        let sizes: Vec<usize> = self
            .guards
            .iter()
            .map(|g| g.as_deref().map_or(0, |s| s.dbs[db].keys.len()))
            .collect();
        let total: usize = sizes.iter().sum();
        // Bounded retries: with many expired-but-unreclaimed keys, give up
        // like Redis does rather than loop forever.
        for _ in 0..100 {
            if total == 0 {
                return None;
            }
            let mut pick = (crate::util::rand_u64() as usize) % total;
            let mut idx = 0;
            while pick >= sizes[idx] {
                pick -= sizes[idx];
                idx += 1;
            }
            let shard = self.guards[idx].as_deref()?;
            let sdb = &shard.dbs[db];
            let (key, _) = sdb.keys.random_entry(crate::util::rand_u64)?;
            let key = key.to_vec();
            if self.get(&key).is_some() {
                return Some(key);
            }
        }
        None
    }
}

/// Drops `garbage` on a background thread so freeing large values (UNLINK,
/// FLUSHALL ASYNC) does not hold up the command path.
pub fn free_in_background<T: Send + 'static>(garbage: T) {
    use std::sync::mpsc::{channel, Sender};
    use std::sync::OnceLock;
    type Garbage = Box<dyn Send>;
    static FREER: OnceLock<Option<Mutex<Sender<Garbage>>>> = OnceLock::new();
    let freer = FREER.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for item in rx {
                    drop(item);
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    match freer {
        Some(tx) => {
            // If the thread is gone, the value comes back and is dropped here.
            let _ = tx.lock().send(Box::new(garbage));
        }
        None => drop(garbage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(ks: &Keyspace, db: usize, key: &[u8], expire_at: Option<i64>) {
        let mut v = ks.lock_all(db, 1_000);
        v.set(key, Value::Str(StrValue::from_bytes(b"v")));
        if let Some(when) = expire_at {
            v.set_expire(key, when);
        }
    }

    #[test]
    fn flush_fails_watchers_of_live_keys_only() {
        let ks = Keyspace::new(4);
        put(&ks, 0, b"live", None);
        put(&ks, 0, b"stale", Some(1_500));
        let live = Arc::new(WatchFlag::default());
        let stale = Arc::new(WatchFlag::default());
        let missing = Arc::new(WatchFlag::default());
        {
            // At t=2000 "stale" has expired but was not reclaimed.
            let mut v = ks.lock_all(0, 2_000);
            v.watch(b"live", &live);
            v.watch(b"stale", &stale);
            v.watch(b"missing", &missing);
            assert!(!v.watched_key_expired(0, b"stale", &stale));
            v.flush_db(0);
        }
        assert!(live.is_dirty());
        assert!(!stale.is_dirty(), "reclaiming a stale key is no change");
        assert!(!missing.is_dirty());
    }

    #[test]
    fn key_expiring_after_watch_is_detected_at_exec() {
        let ks = Keyspace::new(1);
        put(&ks, 0, b"k", Some(1_500));
        let flag = Arc::new(WatchFlag::default());
        ks.lock_all(0, 1_200).watch(b"k", &flag);
        let mut v = ks.lock_all(0, 1_600);
        assert!(v.watched_key_expired(0, b"k", &flag));
        // Reading it reclaims it, which touches the watcher too.
        assert!(v.get(b"k").is_none());
        assert!(flag.is_dirty());
    }

    #[test]
    fn swapdb_rules_for_stale_keys() {
        let ks = Keyspace::new(2);
        // db0: missing; db1: stale key. Swapping puts a stale key where a
        // missing one was: no logical change.
        put(&ks, 1, b"k", Some(1_500));
        let flag = Arc::new(WatchFlag::default());
        {
            let mut v = ks.lock_all(0, 2_000);
            v.watch(b"k", &flag);
            v.swap_db(0, 1);
        }
        assert!(!flag.is_dirty());
        // A live key swapped in does fail the transaction.
        put(&ks, 0, b"k", None);
        let flag2 = Arc::new(WatchFlag::default());
        {
            let mut v = ks.lock_all(1, 2_000);
            v.watch(b"k", &flag2);
            v.swap_db(0, 1);
        }
        assert!(flag2.is_dirty());
    }

    #[test]
    fn lfu_counter_grows_per_access_and_decays_per_period() {
        let lfu = AccessPolicy::Lfu {
            log_factor: 0,
            decay_minutes: 2,
        };
        let t0 = 1_700_000_000_000;
        let mut stamp = lfu.new_stamp(t0);
        assert_eq!(lfu.lfu_counter(stamp, t0), LFU_INIT);
        for _ in 0..3 {
            stamp = lfu.touched(stamp, t0);
        }
        assert_eq!(lfu.lfu_counter(stamp, t0), LFU_INIT + 3);
        // One period per two minutes passed since the last access.
        assert_eq!(lfu.lfu_counter(stamp, t0 + 5 * 60_000), LFU_INIT + 1);
        assert_eq!(lfu.lfu_counter(stamp, t0 + 600 * 60_000), 0);
        // The counter saturates at 255.
        let mut stamp = lfu.new_stamp(t0);
        for _ in 0..300 {
            stamp = lfu.touched(stamp, t0);
        }
        assert_eq!(lfu.lfu_counter(stamp, t0), 255);
        // With a log factor, growth slows down as the counter rises.
        let slow = AccessPolicy::Lfu {
            log_factor: 10,
            decay_minutes: 1,
        };
        let mut stamp = slow.new_stamp(t0);
        for _ in 0..1000 {
            stamp = slow.touched(stamp, t0);
        }
        let counter = slow.lfu_counter(stamp, t0);
        assert!((10..40).contains(&counter), "counter {counter}");
    }

    #[test]
    fn lookups_update_access_time_unless_no_touch() {
        let ks = Keyspace::new(1);
        put(&ks, 0, b"k", None);
        let mut v = ks.lock_all(0, 50_000);
        v.no_touch = true;
        assert!(v.get(b"k").is_some());
        assert_eq!(v.peek(b"k").map(|e| e.lru), Some(1));
        v.no_touch = false;
        assert!(v.get(b"k").is_some());
        assert_eq!(v.peek(b"k").map(|e| e.lru), Some(50));
        // TOUCH updates even under no-touch.
        v.now_ms = 90_000;
        v.no_touch = true;
        assert!(v.touch(b"k"));
        assert_eq!(v.peek(b"k").map(|e| e.lru), Some(90));
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn entry_overhead() {
        let v = std::mem::size_of::<crate::types::Value>();
        let e = std::mem::size_of::<super::Entry>();
        eprintln!("Value {v} bytes, Entry {e} bytes");
        assert!(e <= v + 8);
    }
}

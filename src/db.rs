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

/// One database's part of a shard.
#[derive(Default)]
pub struct ShardDb {
    /// Key → value.
    pub keys: Dict<Value>,
    /// Key → absolute expiry time in Unix milliseconds, for volatile keys.
    pub expires: Dict<i64>,
    /// Where active expiry resumes its sampling of `expires`.
    pub expire_cursor: u64,
    /// Keys of hashes that have fields with TTLs (may hold stale names:
    /// they are dropped when visited), for background field reclamation.
    pub hash_ttl_keys: Dict<()>,
    /// Where active expiry resumes its sampling of `hash_ttl_keys`.
    pub hash_ttl_cursor: u64,
}

impl ShardDb {
    /// Reclaims expired hash fields of up to `sample` tracked hashes, deleting
    /// hashes left empty. Returns the keys deleted.
    fn reclaim_hash_fields(&mut self, now_ms: i64, sample: usize) -> Vec<Box<[u8]>> {
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
            let keep_tracking = match self.keys.get_mut(h, &key) {
                Some(Value::Hash(hash)) => {
                    hash.purge_expired(now_ms);
                    if hash.is_empty() {
                        self.remove(h, &key);
                        deleted.push(key.clone());
                        false
                    } else {
                        hash.has_field_ttls()
                    }
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
        let value = self.keys.remove(hash, key)?;
        if !self.expires.is_empty() {
            self.expires.remove(hash, key);
        }
        Some(value)
    }
}

/// One shard: its part of every database and the WATCH registrations of its
/// keys.
pub struct Shard {
    /// One entry per database.
    pub dbs: Box<[ShardDb]>,
    /// (db, key) → flags of the clients watching it.
    watches: HashMap<(usize, Box<[u8]>), Vec<Arc<WatchFlag>>>,
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
            list.retain(|f| !Arc::ptr_eq(f, flag));
            if list.is_empty() {
                self.watches.remove(&entry);
            }
        }
    }

    fn touch_watchers(&self, db: usize, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some(flags) = self.watches.get(&(db, Box::<[u8]>::from(key))) {
            for f in flags {
                f.set_dirty();
            }
        }
    }

    fn touch_all_watchers_in_db(&self, db: usize) {
        for ((wdb, key), flags) in &self.watches {
            if *wdb == db && self.dbs[db].keys.contains(hash_key(key), key) {
                for f in flags {
                    f.set_dirty();
                }
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

    /// Deletes up to a bounded number of expired keys; returns how many were
    /// deleted. Called from the server's periodic task (Redis's active expire
    /// cycle): each shard is locked only briefly.
    pub fn active_expire_cycle(&self, now_ms: i64, deadline: std::time::Instant) -> u64 {
        const SAMPLE: usize = 20;
        let mut deleted = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let shard = &mut *shard;
            for db_index in 0..shard.dbs.len() {
                if !shard.dbs[db_index].hash_ttl_keys.is_empty() {
                    for key in shard.dbs[db_index].reclaim_hash_fields(now_ms, SAMPLE) {
                        shard.touch_watchers(db_index, &key);
                        deleted += 1;
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
                    while sampled < SAMPLE {
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
}

macro_rules! typed_accessors {
    ($get:ident, $get_mut:ident, $get_or_create:ident, $variant:ident, $ty:ty) => {
        /// The value at `key` if it has this type; `WRONGTYPE` if it has
        /// another; `None` if absent.
        pub fn $get(&mut self, key: &[u8]) -> Result<Option<&$ty>, CmdError> {
            match self.get(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// Mutable form of the typed getter.
        pub fn $get_mut(&mut self, key: &[u8]) -> Result<Option<&mut $ty>, CmdError> {
            match self.get_mut(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// The value at `key`, created empty if absent; `WRONGTYPE` if the key
        /// holds another type.
        pub fn $get_or_create(&mut self, key: &[u8]) -> Result<&mut $ty, CmdError> {
            let hash = hash_key(key);
            self.expire_if_needed(hash, key);
            let db = self.db;
            let value = self.shard(hash).dbs[db]
                .keys
                .get_or_insert_with(hash, key, || Value::$variant(Default::default()));
            match value {
                Value::$variant(v) => Ok(v),
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
                true
            }
            _ => false,
        }
    }

    /// The live value at `key`.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let db = self.db;
        self.shard(hash).dbs[db].keys.get(hash, key)
    }

    /// The live value at `key`, counting a keyspace hit or miss (for the read
    /// lookups INFO's `keyspace_hits`/`keyspace_misses` count).
    pub fn get_counted(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let db = self.db;
        let found = self.shard(hash).dbs[db].keys.contains(hash, key);
        if found {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        self.shard(hash).dbs[db].keys.get(hash, key)
    }

    /// The live value at `key`, mutable.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let db = self.db;
        self.shard(hash).dbs[db].keys.get_mut(hash, key)
    }

    /// True if `key` exists (and has not expired).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Stores `value` at `key`, discarding any previous value and TTL.
    pub fn set(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.keys.insert(hash, key, value);
        if !sdb.expires.is_empty() {
            sdb.expires.remove(hash, key);
        }
    }

    /// Stores `value` at `key`, keeping the key's TTL if it exists.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let db = self.db;
        self.shard(hash).dbs[db].keys.insert(hash, key, value);
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
        self.shard(hash).dbs[db].expires.remove(hash, key).is_some()
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
        let db = self.db;
        let list = self
            .shard(hash_key(key))
            .watches
            .entry((db, key.into()))
            .or_default();
        if !list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            list.push(flag.clone());
        }
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
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(db);
            let taken = std::mem::take(&mut shard.dbs[db]);
            removed += taken.keys.len();
            old.push(taken);
        }
        self.dirty += removed as u64;
        (removed, old)
    }

    /// Swaps databases `a` and `b`.
    pub fn swap_db(&mut self, a: usize, b: usize) {
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(a);
            shard.touch_all_watchers_in_db(b);
            shard.dbs.swap(a, b);
            shard.touch_all_watchers_in_db(a);
            shard.touch_all_watchers_in_db(b);
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
                    f(k, v);
                }
            });
            steps += 1;
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

    /// Calls `f` for every live key of database `db`.
    pub fn for_each_key(&mut self, db: usize, mut f: impl FnMut(&[u8], &Value)) {
        let now = self.now_ms;
        for shard in self.locked_shards() {
            let sdb = &shard.dbs[db];
            for (k, v) in sdb.keys.iter() {
                let expired = !sdb.expires.is_empty()
                    && sdb
                        .expires
                        .get(hash_key(k), k)
                        .is_some_and(|&when| when <= now);
                if !expired {
                    f(k, v);
                }
            }
        }
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

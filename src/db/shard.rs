//! A shard: its part of every database (keys, expiry times, hashes with
//! field TTLs), the WATCH registrations of its keys, how keys map to shards,
//! the copy-on-write hooks a background save needs from every write, and
//! the reclaiming of expired hash fields.

use super::access::Keys;
use super::blocking::ShardWaiters;
use super::snapshot::DbSnapshot;
use super::watch::{WatchFlag, Watcher};
use crate::dict::{hash_key, Dict};
use crate::types::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The set of shards that hold `keys`, one bit each.
pub fn shard_mask<'a, I: IntoIterator<Item = &'a [u8]>>(keys: I) -> u32 {
    let mut mask = 0u32;
    for key in keys {
        mask |= 1 << shard_of(hash_key(key));
    }
    mask
}

/// Number of keyspace shards (a power of two, at most 32: shard sets are
/// 32-bit masks).
pub const SHARD_COUNT: usize = 16;

/// Every shard's bit.
pub const ALL_SHARDS_MASK: u32 = u32::MAX >> (32 - SHARD_COUNT);

const SHARD_SHIFT: u32 = 64 - SHARD_COUNT.trailing_zeros();

/// The shard a key hash belongs to. Uses the top bits of the hash so the
/// dictionaries inside a shard (which use the low bits) stay uniform.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> SHARD_SHIFT) as usize
}

/// One database's part of a shard.
#[derive(Default)]
pub struct ShardDb {
    /// Key → value and access time.
    pub keys: Keys,
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
    pub(super) snapshot: Option<Box<DbSnapshot>>,
}

impl ShardDb {
    /// Removes a key and its expiry.
    pub(super) fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Value> {
        self.preserve_for_remove(hash);
        let value = self.keys.remove(hash, key)?;
        if !self.expires.is_empty() {
            self.expires.remove(hash, key);
        }
        Some(value)
    }

    /// True if `key` is present but its expiry time is `<= now`.
    pub(super) fn is_stale(&self, hash: u64, key: &[u8], now: i64) -> bool {
        !self.expires.is_empty() && self.expires.get(hash, key).is_some_and(|&when| when <= now)
    }
}

/// One shard: its part of every database and the WATCH registrations of its
/// keys.
pub struct Shard {
    /// One entry per database.
    pub dbs: Box<[ShardDb]>,
    /// (db, key) → flags of the clients watching it.
    pub(super) watches: HashMap<(usize, Box<[u8]>), Vec<Watcher>>,
    /// The clients blocked on its keys.
    pub(super) waiters: ShardWaiters,
}

impl Shard {
    pub(super) fn new(num_dbs: usize) -> Self {
        Shard {
            dbs: (0..num_dbs).map(|_| ShardDb::default()).collect(),
            watches: HashMap::new(),
            waiters: ShardWaiters::default(),
        }
    }

    pub(super) fn unwatch(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        let entry = (db, Box::<[u8]>::from(key));
        if let Some(list) = self.watches.get_mut(&entry) {
            list.retain(|w| !Arc::ptr_eq(&w.flag, flag));
            if list.is_empty() {
                self.watches.remove(&entry);
            }
        }
    }

    pub(super) fn touch_watchers(&mut self, db: usize, key: &[u8]) {
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
    pub(super) fn touch_all_watchers_in_db(
        &mut self,
        emptied: usize,
        replaced_with: Option<usize>,
        now: i64,
    ) {
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

impl ShardDb {
    /// Before the key with `hash` changes in place (value or TTL): if a
    /// background save has not written its bucket yet, write it now.
    #[inline]
    pub(super) fn preserve(&mut self, hash: u64) {
        if let Some(snap) = self.snapshot.as_deref_mut() {
            if let Some(idx) = self.keys.bucket_of(hash) {
                snap.write_bucket(idx, &self.keys, &self.expires);
            }
        }
    }

    /// [`ShardDb::preserve`] before inserting a key, which may resize.
    #[inline]
    pub(super) fn preserve_for_insert(&mut self, hash: u64) {
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
    pub(super) fn preserve_for_remove(&mut self, hash: u64) {
        if self.snapshot.is_some() {
            if self.keys.shrinks_on_remove() {
                self.finish_snapshot_walk();
            } else {
                self.preserve(hash);
            }
        }
    }

    /// Writes every bucket the background save has not reached yet.
    pub(super) fn finish_snapshot_walk(&mut self) {
        if let Some(snap) = self.snapshot.as_deref_mut() {
            snap.walk(usize::MAX, &self.keys, &self.expires);
        }
    }
}

/// A hash whose expired fields active expiry reclaimed: its key, the
/// fields, and whether the key was deleted (no field left).
pub(super) type ReclaimedFields = (Box<[u8]>, Vec<Box<[u8]>>, bool);

impl ShardDb {
    /// Reclaims expired hash fields of up to `sample` tracked hashes, deleting
    /// hashes left empty. Returns each hash's key, the fields reclaimed and
    /// whether the key was deleted.
    pub(super) fn reclaim_hash_fields(
        &mut self,
        now_ms: i64,
        sample: usize,
    ) -> Vec<ReclaimedFields> {
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
                Some(Value::Hash(hash)) => {
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

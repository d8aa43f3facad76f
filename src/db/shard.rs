//! A shard: its part of every database (keys, expiry times, hashes with
//! field TTLs) and the WATCH registrations of its keys.

use super::*;

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
    pub(super) snapshot: Option<Box<DbSnapshot>>,
}

impl ShardDb {
    /// Removes a key and its expiry.
    pub(super) fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Value> {
        self.preserve_for_remove(hash);
        let entry = self.keys.remove(hash, key)?;
        if !self.expires.is_empty() {
            self.expires.remove(hash, key);
        }
        Some(entry.value)
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
}

impl Shard {
    pub(super) fn new(num_dbs: usize) -> Self {
        Shard {
            dbs: (0..num_dbs).map(|_| ShardDb::default()).collect(),
            watches: HashMap::new(),
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

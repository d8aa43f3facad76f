//! A background save's state in one database of one shard and its walk;
//! the hooks every write calls (`ShardDb::preserve*`) are in `shard.rs`.

use super::access::Keys;
use crate::dict::{hash_key, Dict};

/// A background save's progress through one database of one shard.
///
/// The save captures the keyspace as it was at one instant without copying
/// it up front: the saver walks the key table bucket by bucket, and a write
/// to a bucket it has not reached yet first serialises that bucket as it
/// still is ("preserves" it). Every bucket is thus written exactly once, with
/// its content at the instant the save began. A table resize would move keys
/// between walked and unwalked buckets, so before one happens the rest of
/// the table is serialised at once.
pub(super) struct DbSnapshot {
    /// The database number the output belongs to (it travels with the data
    /// through SWAPDB).
    pub(super) label: usize,
    /// Buckets below this index have been walked; `usize::MAX` once the
    /// whole table is written.
    pub(super) walked: usize,
    /// Buckets at or past `walked` already preserved by a writer.
    pub(super) preserved: Vec<u64>,
    /// Serialised keys not yet handed to the saver.
    pub(super) out: crate::rdb::encode::Encoder,
    /// The instant of the save: keys expired by then are left out.
    pub(super) now_ms: i64,
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
    pub(super) fn write_bucket(&mut self, idx: usize, keys: &Keys, expires: &Dict<i64>) {
        if self.walked == usize::MAX || idx < self.walked || self.is_preserved(idx) {
            return;
        }
        if let Some(w) = self.preserved.get_mut(idx / 64) {
            *w |= 1 << (idx % 64);
        }
        for (key, value) in keys.bucket_entries(idx) {
            let when = if expires.is_empty() {
                None
            } else {
                expires.get(hash_key(key), key).copied()
            };
            if when.is_none_or(|t| t > self.now_ms) {
                self.out.key_value(key, value, when);
            }
        }
    }

    /// Walks up to `buckets` more buckets; true once the table is done.
    pub(super) fn walk(&mut self, buckets: usize, keys: &Keys, expires: &Dict<i64>) -> bool {
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

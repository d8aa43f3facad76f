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
//!
//! # Where things are
//!
//! This file holds the [`Keyspace`] (shards, locking, the exclusive gate,
//! the background save's walk). `view` is what a command sees (`DbView`),
//! `shard` one shard's databases, `access` the per-key LRU/LFU stamps,
//! `watch` WATCH bookkeeping, `snapshot` the copy-on-write hooks of a
//! background save, `expire` active expiry and `lazyfree` freeing on a
//! background thread.

use crate::dict::{hash_key, Dict};
use crate::error::{CmdError, WRONGTYPE};
use crate::gate::ExclusiveGate;
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value};
use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod access;
mod event;
mod expire;
mod lazyfree;
mod shard;
mod snapshot;
mod view;
mod watch;

pub use access::*;
pub use event::*;
pub use lazyfree::*;
pub use shard::*;
pub use snapshot::*;
pub use view::*;
pub use watch::*;

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

/// How long a connection's command waits on a contended shard before it
/// checks whether a long command has closed the gate.
const SHARD_WAIT_SLICE: std::time::Duration = std::time::Duration::from_micros(200);
const SHARD_SHIFT: u32 = 64 - SHARD_COUNT.trailing_zeros();

/// The shard a key hash belongs to. Uses the top bits of the hash so the
/// dictionaries inside a shard (which use the low bits) stay uniform.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> SHARD_SHIFT) as usize
}

/// All databases of the server.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    num_dbs: usize,
    /// Long commands that hold every shard enter through it (see
    /// [`crate::gate`]).
    gate: ExclusiveGate,
    /// Where the keyspace events of every change go.
    events: EventSink,
}

/// A view holding every shard for a long command, with the exclusive gate
/// closed; dropping it releases the shards, then opens the gate.
pub struct ExclusiveView<'a> {
    view: Option<DbView<'a>>,
    gate: &'a ExclusiveGate,
}

impl<'a> ExclusiveView<'a> {
    /// The view on the keyspace.
    pub fn view(&mut self) -> &mut DbView<'a> {
        self.view.as_mut().expect("present until dropped")
    }
}

impl Drop for ExclusiveView<'_> {
    fn drop(&mut self) {
        drop(self.view.take());
        self.gate.leave();
    }
}

impl Keyspace {
    /// A keyspace with `num_dbs` empty databases.
    pub fn new(num_dbs: usize) -> Self {
        Keyspace {
            shards: (0..SHARD_COUNT)
                .map(|_| Mutex::new(Shard::new(num_dbs)))
                .collect(),
            num_dbs,
            gate: ExclusiveGate::default(),
            events: EventSink::default(),
        }
    }

    /// The gate long commands enter through.
    pub fn gate(&self) -> &ExclusiveGate {
        &self.gate
    }

    /// The sink of the keyspace events.
    pub fn events(&self) -> &EventSink {
        &self.events
    }

    /// Locks every shard for a long command, closing the gate first; `None`
    /// if another long command holds it.
    pub fn enter_exclusive(&self, db: usize, now_ms: i64) -> Option<ExclusiveView<'_>> {
        if !self.gate.try_enter() {
            return None;
        }
        // New commands see the closed gate and keep off the locks; the ones
        // holding some now either finish or give theirs back.
        Some(ExclusiveView {
            view: Some(self.lock_all(db, now_ms)),
            gate: &self.gate,
        })
    }

    /// A view on database `db` holding no shard yet, for
    /// [`Keyspace::try_lock_into`].
    #[inline]
    pub fn unlocked_view(&self, db: usize, now_ms: i64) -> DbView<'_> {
        DbView::empty(db, now_ms)
    }

    /// Locks the shards in `mask` into `view` (which holds none), unless a
    /// long command holds the gate: then `view` is left holding nothing and
    /// the answer is false. (Filling the caller's view, rather than
    /// returning one, saves copying it on every command.)
    #[inline]
    pub fn try_lock_into<'a>(&'a self, mask: u32, view: &mut DbView<'a>) -> bool {
        // A command without keys locks nothing and may run beside a long
        // command (SHUTDOWN NOSAVE must reach one).
        if mask != 0 && self.gate.is_held() {
            return false;
        }
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            // Contended: another command's (short) hold, or a long command
            // that closed the gate after the check above.
            let locked = self.shards[i]
                .try_lock()
                .or_else(|| self.try_lock_shard(&self.shards[i]));
            let Some(guard) = locked else {
                view.guards.iter_mut().for_each(|g| *g = None);
                return false;
            };
            view.guards[i] = Some(guard);
            bits &= bits - 1;
        }
        // Read under the locks: a consumer that starts under every lock
        // sees all the events of the commands that lock after it.
        view.event_mask = self.events.wanted();
        true
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
        self.lock_mask(shard_mask(keys), db, now_ms)
    }

    /// Locks every shard: for whole-keyspace commands and transactions.
    pub fn lock_all(&self, db: usize, now_ms: i64) -> DbView<'_> {
        self.lock_mask(ALL_SHARDS_MASK, db, now_ms)
    }

    /// Locks the shards in `mask`, lowest first (the global lock order),
    /// waiting as long as it takes: for threads that may wait out a long
    /// command (loading, saving), not for connection workers.
    pub fn lock_mask(&self, mask: u32, db: usize, now_ms: i64) -> DbView<'_> {
        let mut view = DbView::empty(db, now_ms);
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            view.guards[i] = Some(self.shards[i].lock());
            bits &= bits - 1;
        }
        view.event_mask = self.events.wanted();
        view
    }

    /// One shard's lock, unless a long command holds the gate.
    fn try_lock_shard<'a>(&self, shard: &'a Mutex<Shard>) -> Option<MutexGuard<'a, Shard>> {
        loop {
            if self.gate.is_held() {
                return None;
            }
            if let Some(g) = shard.try_lock_for(SHARD_WAIT_SLICE) {
                return Some(g);
            }
        }
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

    /// The events `ks` recorded since the last call, as (db, name, key).
    fn recorded(ks: &Keyspace) -> Vec<(usize, &'static str, String)> {
        ks.events()
            .take_recorded()
            .unwrap_or_default()
            .events
            .into_iter()
            .map(|r| {
                (
                    r.db,
                    r.event.name,
                    String::from_utf8_lossy(&r.key).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn views_record_events_only_when_wanted_and_in_order() {
        let ks = Keyspace::new(2);
        let string = |s: &[u8]| Value::Str(StrValue::from_bytes(s));
        {
            // Nobody wants events: nothing is recorded.
            let mut v = ks.lock_all(0, 1_000);
            v.set(b"quiet", string(b"v"));
            v.modified(b"quiet", KeyEvent::SET);
            assert!(v.events.is_empty());
        }
        ks.events().start_recording();
        {
            let mut v = ks.lock_all(0, 1_000);
            v.set(b"a", string(b"1"));
            v.modified(b"a", KeyEvent::SET);
            v.set(b"a", string(b"2"));
            v.modified(b"a", KeyEvent::SET);
            v.set_expire(b"a", 1_500);
            v.also(b"a", KeyEvent::EXPIRE);
            assert_eq!(v.dirty, 2, "one change per modified, none per also");
            v.list_or_create(b"l").map(|_| ()).expect("a list");
            v.db = 1;
            v.hash_or_create(b"h").map(|_| ()).expect("a hash");
            v.modified(b"h", KeyEvent::NONE);
            v.deliver_events(ks.events());
        }
        assert_eq!(
            recorded(&ks),
            [
                (0, "new", "a".into()),
                (0, "set", "a".into()),
                (0, "set", "a".into()),
                (0, "expire", "a".into()),
                (0, "new", "l".into()),
                (1, "new", "h".into()),
            ]
        );
        {
            // Past its time: a lookup expires it, a SET over it too.
            let mut v = ks.lock_all(0, 2_000);
            v.set(b"b", string(b"1"));
            v.set_expire(b"b", 1_500);
            assert!(v.get(b"a").is_none());
            v.set(b"b", string(b"2"));
            v.deliver_events(ks.events());
            assert!(v.events.is_empty());
        }
        assert_eq!(
            recorded(&ks),
            [
                (0, "new", "b".into()),
                (0, "expired", "a".into()),
                (0, "expired", "b".into()),
                (0, "new", "b".into()),
            ]
        );
        ks.events().stop_recording();
        let mut v = ks.lock_all(0, 2_000);
        v.set(b"c", string(b"1"));
        assert!(v.events.is_empty());
    }

    #[test]
    fn active_expiry_reports_expired_keys() {
        let ks = Keyspace::new(1);
        put(&ks, 0, b"gone", Some(1_500));
        put(&ks, 0, b"kept", Some(9_000));
        ks.events().start_recording();
        let aof = crate::aof::Aof::default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        assert_eq!(ks.active_expire_cycle(2_000, deadline, 20, &aof), 1);
        assert_eq!(recorded(&ks), [(0, "expired", "gone".into())]);
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

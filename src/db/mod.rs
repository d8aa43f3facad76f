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
//! The files depend on each other one way, each only on those listed
//! before it: `access` (the per-key LRU/LFU stamps and the keyspace
//! entry), `watch` (WATCH bookkeeping), `tracking` (client tracking's
//! table of keys and its invalidations), `event` (keyspace events and their
//! sink, which feeds the tracking), `lazyfree` (freeing on a background thread), `snapshot` (a
//! background save's state and walk), `shard` (one shard's databases, key
//! placement, the copy-on-write hooks), `view` (what a command sees:
//! `DbView`), `keyspace` (the [`Keyspace`]: shards, locking, the exclusive
//! gate) and `expire` (active expiry). This file only names them.

mod access;
mod blocking;
mod event;
mod expire;
mod keyspace;
mod lazyfree;
mod serve;
mod shard;
mod snapshot;
mod tracking;
mod view;
mod watch;

pub use access::*;
pub use blocking::*;
pub use event::*;
pub use keyspace::*;
pub use lazyfree::*;
pub use serve::*;
pub use shard::*;
pub use snapshot::*;
pub use tracking::*;
pub use view::*;
pub use watch::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StrValue, Value};
    use std::sync::Arc;

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
        let node = super::Keys::node_size(11);
        eprintln!("Value {v} bytes, node of an 11-byte key {node} bytes");
        assert!(node <= 48);
    }
}

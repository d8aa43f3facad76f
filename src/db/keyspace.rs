//! The [`Keyspace`]: every database's shards behind their locks, the
//! exclusive gate long commands enter through, the sink of keyspace events,
//! and the steps of a background save's walk.

use super::blocking::{BlockingMasks, Waiter};
use super::event::EventSink;
use super::shard::{shard_mask, shard_of, Shard, ALL_SHARDS_MASK, SHARD_COUNT};
use super::snapshot::SnapshotChunk;
use super::view::DbView;
use super::watch::WatchFlag;
use crate::dict::hash_key;
use crate::gate::ExclusiveGate;
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// How long a connection's command waits on a contended shard before it
/// checks whether a long command has closed the gate.
const SHARD_WAIT_SLICE: std::time::Duration = std::time::Duration::from_micros(200);

/// All databases of the server.
pub struct Keyspace {
    pub(super) shards: Box<[Mutex<Shard>]>,
    num_dbs: usize,
    /// Long commands that hold every shard enter through it (see
    /// [`crate::gate`]).
    gate: ExclusiveGate,
    /// Where the keyspace events of every change go.
    pub(super) events: EventSink,
    /// What writers need to know of blocked clients without a lock.
    blocking: BlockingMasks,
    /// Unix ms until which expiry is held (CLIENT PAUSE); 0 when not.
    expiry_held_until: AtomicI64,
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
            blocking: BlockingMasks::default(),
            expiry_held_until: AtomicI64::new(0),
        }
    }

    /// Holds expiry, lazy and active, until Unix ms `until_ms` (0: not at
    /// all): during CLIENT PAUSE the data set must not change.
    pub fn hold_expiry(&self, until_ms: i64) {
        self.expiry_held_until.store(until_ms, Ordering::Relaxed);
    }

    /// True while expiry is held at Unix ms `now_ms`.
    #[inline]
    pub fn expiry_held(&self, now_ms: i64) -> bool {
        now_ms < self.expiry_held_until.load(Ordering::Relaxed)
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
        let mut view = DbView::empty(db, now_ms);
        view.hold_expiry = self.expiry_held(now_ms);
        view
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

    /// The blocked clients' lock-free state.
    pub fn blocking(&self) -> &BlockingMasks {
        &self.blocking
    }

    /// [`Keyspace::try_lock_into`] for a write command: also locks the
    /// shards that serving the blocked clients of `mask`'s keys may write
    /// (BLMOVE destinations), re-checked under the locks in case a waiter
    /// joined meanwhile.
    #[inline]
    pub fn try_lock_for_write<'a>(&'a self, mask: u32, view: &mut DbView<'a>) -> bool {
        let mut want = self.blocking.with_serve_needs(mask);
        loop {
            if !self.try_lock_into(want, view) {
                return false;
            }
            let needed = self.blocking.with_serve_needs(want);
            if needed & !want == 0 {
                return true;
            }
            view.guards.iter_mut().for_each(|g| *g = None);
            want = needed;
        }
    }

    /// Removes answered waiter `waiter` from its keys' FIFOs, unless a
    /// long command holds the gate: then the removal is left for
    /// [`Keyspace::remove_stale_waiters`], so that a connection never
    /// waits on a shard mutex for it.
    pub fn remove_waiter(&self, waiter: &Arc<Waiter>, now_ms: i64) {
        let mask = shard_mask(waiter.keys.iter().map(|k| &k[..]));
        if mask == 0 {
            return;
        }
        let mut view = self.unlocked_view(waiter.db, now_ms);
        if self.try_lock_into(mask, &mut view) {
            view.unblock(waiter, &self.blocking);
        } else {
            self.blocking.defer_removal(waiter.clone());
        }
    }

    /// Removes the waiters whose removal was deferred (see
    /// [`Keyspace::remove_waiter`]) where their shards can be had without
    /// waiting for a long command; the others stay for the next call (the
    /// periodic task's).
    pub fn remove_stale_waiters(&self, now_ms: i64) {
        for waiter in self.blocking.take_stale() {
            self.remove_waiter(&waiter, now_ms);
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
        view.hold_expiry = self.expiry_held(now_ms);
        view
    }

    /// One shard's lock, unless a long command holds the gate.
    pub(super) fn try_lock_shard<'a>(
        &self,
        shard: &'a Mutex<Shard>,
    ) -> Option<MutexGuard<'a, Shard>> {
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

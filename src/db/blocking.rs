//! Blocked clients: per shard, per database, per key, a FIFO of the
//! clients waiting for the key to hold something they can pop (BLPOP,
//! BLMOVE, BZPOPMIN, ...), and the serving of them under a writer's locks.
//!
//! A waiter blocked on several keys is in each key's FIFO. Whoever takes
//! it first — a writer serving it, its own connection timing out, CLIENT
//! UNBLOCK, a disconnect — claims it (a compare-and-set), so exactly one of
//! them answers the client; the FIFO entries left behind are dropped when
//! met, and the connection removes them once it is answered.
//!
//! A write reports its changes through `DbView::modified`; a change to a
//! key that has waiters marks the key ready in the view. Before the
//! command's locks drop, `cmd::execute` calls `DbView::serve_ready`
//! (`db/serve.rs`): the
//! longest-waiting client whose pop the key can satisfy is served, then the
//! next, while the key has data. Nobody can touch the key between the push
//! and the serve, on either worker, since the writer holds its shard.
//!
//! A waiter whose serve writes another key (BLMOVE's destination) needs
//! that key's shard as well: each shard counts, per shard, the waiters
//! needing it, and publishes the set as an atomic mask
//! ([`BlockingMasks`]) that writers add to their lock set.

use crate::outbox::Outbox;
use bytes::Bytes;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

/// How CLIENT UNBLOCK asked a waiter to stop.
pub mod unblock {
    /// Not asked.
    pub const NONE: u8 = 0;
    /// Answer as if the timeout passed.
    pub const TIMEOUT: u8 = 1;
    /// Answer with the UNBLOCKED error.
    pub const ERROR: u8 = 2;
}

/// One blocked client.
pub struct Waiter {
    /// The client's id.
    pub client: u64,
    /// The database of its keys.
    pub db: usize,
    /// The keys it waits on, in the command's order (duplicates removed).
    pub keys: Vec<Bytes>,
    /// The protocol of its reply (2 or 3).
    pub resp: u8,
    /// The pop to run when served: a `Box<dyn BlockedOp>` (see
    /// `db/serve.rs`; held opaquely here, below the view it runs on).
    pub op: Box<dyn Any + Send + Sync>,
    /// The key the serve writes besides the popped one (BLMOVE's
    /// destination), if any.
    pub dest: Option<Bytes>,
    /// The shard of `dest`.
    dest_shard: Option<usize>,
    /// Where its reply goes when a writer serves it.
    pub outbox: Arc<Outbox>,
    /// Taken: by a writer, a timeout, CLIENT UNBLOCK or a disconnect.
    claimed: AtomicBool,
    /// A writer's reply is in the outbox.
    delivered: AtomicBool,
    /// CLIENT UNBLOCK's request ([`unblock`]).
    pub unblock: AtomicU8,
    /// It has a timeout (counted in INFO's `clients_in_timeout_table`).
    pub timed: bool,
    /// It no longer counts as blocked in INFO's figures: taken out by the
    /// writer that served it (before its reply can reach the client) or
    /// by its connection when it finishes waiting, whichever comes first.
    counts_released: AtomicBool,
}

impl Waiter {
    /// A waiter not in any FIFO yet.
    pub fn new(
        client: u64,
        db: usize,
        keys: Vec<Bytes>,
        resp: u8,
        op: Box<dyn Any + Send + Sync>,
        dest: Option<(Bytes, usize)>,
        outbox: Arc<Outbox>,
    ) -> Waiter {
        let (dest, dest_shard) = match dest {
            Some((key, shard)) => (Some(key), Some(shard)),
            None => (None, None),
        };
        let mut unique: Vec<Bytes> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        Waiter {
            client,
            db,
            keys: unique,
            resp,
            op,
            dest,
            dest_shard,
            outbox,
            claimed: AtomicBool::new(false),
            delivered: AtomicBool::new(false),
            unblock: AtomicU8::new(unblock::NONE),
            timed: false,
            counts_released: AtomicBool::new(false),
        }
    }

    /// The waiter, marked as having a timeout when `timed`.
    pub fn with_timeout(mut self, timed: bool) -> Waiter {
        self.timed = timed;
        self
    }

    /// Takes the waiter out of INFO's blocked-client counts, once whoever
    /// calls it first.
    pub fn release_counts(&self, masks: &BlockingMasks) {
        if !self.counts_released.swap(true, Ordering::AcqRel) {
            masks.blocked.fetch_sub(1, Ordering::Relaxed);
            if self.timed {
                masks.with_timeout.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// True while it counts as blocked (CLIENT LIST's `b` flag).
    pub fn counts_as_blocked(&self) -> bool {
        !self.counts_released.load(Ordering::Acquire)
    }

    /// Takes the waiter; false if someone took it first.
    pub fn claim(&self) -> bool {
        self.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// True once taken by anyone.
    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// True once a writer's reply is in the outbox.
    pub fn is_delivered(&self) -> bool {
        self.delivered.load(Ordering::Acquire)
    }

    /// Records that a writer's reply is in the outbox.
    pub(super) fn set_delivered(&self) {
        self.delivered.store(true, Ordering::Release);
    }

    /// The shard the serve writes besides the popped key's, if any.
    pub(super) fn extra_shard(&self) -> Option<usize> {
        self.dest_shard
    }
}

/// Shard sets are 32-bit masks, so there are at most this many shards.
const MAX_SHARDS: usize = 32;

/// A key's waiters, longest-waiting first.
type Fifo = VecDeque<Arc<Waiter>>;

/// A shard's blocked clients.
#[derive(Default)]
pub struct ShardWaiters {
    /// (db, key) → waiters, longest-waiting first.
    fifos: HashMap<(usize, Box<[u8]>), Fifo>,
    /// Per shard, the FIFO entries here whose serve writes a key there.
    needs: [u32; MAX_SHARDS],
}

impl ShardWaiters {
    /// True if no client waits on a key of this shard.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.fifos.is_empty()
    }

    /// True if a client waits on `key` in `db`.
    pub fn has(&self, db: usize, key: &[u8]) -> bool {
        self.fifos.contains_key(&(db, Box::from(key)))
    }

    /// The keys of `db` that clients wait on.
    pub(super) fn keys_in(&self, db: usize) -> impl Iterator<Item = &[u8]> {
        self.fifos
            .keys()
            .filter(move |(d, _)| *d == db)
            .map(|(_, k)| &k[..])
    }

    /// The mask of shards this shard's waiters' serves write.
    fn needs_mask(&self) -> u32 {
        let mut mask = 0;
        for (i, n) in self.needs.iter().enumerate() {
            if *n > 0 {
                mask |= 1 << i;
            }
        }
        mask
    }

    fn count(&mut self, w: &Waiter, up: bool) {
        if let Some(s) = w.extra_shard() {
            if up {
                self.needs[s] += 1;
            } else {
                self.needs[s] -= 1;
            }
        }
    }

    pub(super) fn push(&mut self, key: &[u8], w: &Arc<Waiter>) {
        self.count(w, true);
        self.fifos
            .entry((w.db, Box::from(key)))
            .or_default()
            .push_back(w.clone());
    }

    pub(super) fn remove(&mut self, key: &[u8], w: &Arc<Waiter>) {
        let entry = (w.db, Box::<[u8]>::from(key));
        let Some(fifo) = self.fifos.get_mut(&entry) else {
            return;
        };
        let before = fifo.len();
        fifo.retain(|x| !Arc::ptr_eq(x, w));
        let removed = before - fifo.len();
        if fifo.is_empty() {
            self.fifos.remove(&entry);
        }
        for _ in 0..removed {
            self.count(w, false);
        }
    }

    /// The waiters of `key`, longest-waiting first.
    pub(super) fn snapshot(&self, db: usize, key: &[u8]) -> Vec<Arc<Waiter>> {
        self.fifos
            .get(&(db, Box::from(key)))
            .map(|f| f.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Blocking state readable without a shard lock: each shard's mask of the
/// shards its waiters' serves write, and the number of blocked clients.
#[derive(Default)]
pub struct BlockingMasks {
    masks: [AtomicU32; MAX_SHARDS],
    /// Clients blocked now (INFO `blocked_clients`).
    pub blocked: AtomicUsize,
    /// Of those, the ones with a timeout (INFO `clients_in_timeout_table`).
    pub with_timeout: AtomicUsize,
    /// Answered waiters whose FIFO entries are still to be removed: their
    /// connection found a shard held by a long command and did not wait
    /// for it (see [`BlockingMasks::defer_removal`]).
    stale: parking_lot::Mutex<Vec<Arc<Waiter>>>,
    /// `stale` is not empty.
    has_stale: AtomicBool,
}

impl BlockingMasks {
    /// `mask` plus the shards the waiters of its shards' keys may write
    /// when served: a writer locking `mask` locks these too.
    #[inline]
    pub fn with_serve_needs(&self, mask: u32) -> u32 {
        let mut all = mask;
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            all |= self.masks[i].load(Ordering::Acquire);
            bits &= bits - 1;
        }
        all
    }

    /// Leaves the removal of an answered (claimed) waiter's FIFO entries to
    /// [`crate::db::Keyspace::remove_stale_waiters`]: a connection does
    /// not wait for a shard a long command holds. Until then writers skip
    /// the entries (the waiter is claimed) and drop those they meet.
    pub fn defer_removal(&self, waiter: Arc<Waiter>) {
        self.stale.lock().push(waiter);
        self.has_stale.store(true, Ordering::Release);
    }

    /// Takes the waiters left for later removal (none: no lock taken).
    pub(super) fn take_stale(&self) -> Vec<Arc<Waiter>> {
        if !self.has_stale.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.stale.lock())
    }

    pub(super) fn publish(&self, shard: usize, waiters: &ShardWaiters) {
        self.masks[shard].store(waiters.needs_mask(), Ordering::Release);
    }
}

/// A ready key whose next waiter needs a shard the view does not hold:
/// served afterwards under a lock set that includes it.
pub struct Deferred {
    /// The database of the key.
    pub db: usize,
    /// The key.
    pub key: Box<[u8]>,
    /// The shards the serve needs: the key's and the destination's.
    pub mask: u32,
}

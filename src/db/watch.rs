//! WATCH bookkeeping: the per-client flag that a change to a watched key
//! sets, and the per-key list of watchers each shard keeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// One client's registration on a watched key.
pub(super) struct Watcher {
    pub(super) flag: Arc<WatchFlag>,
    /// The key was already logically expired (but not yet reclaimed) when
    /// WATCH ran: reclaiming it later is no change.
    pub(super) expired: bool,
}

//! Serving blocked clients under a writer's locks (see `db/blocking.rs`):
//! the pop a blocked command runs ([`BlockedOp`]), registering and removing
//! waiters, and [`DbView::serve_ready`].

use super::blocking::{BlockingMasks, Deferred, Waiter};
use super::shard::shard_of;
use super::view::DbView;
use crate::dict::hash_key;
use crate::reply::Reply;
use std::sync::Arc;

/// What a blocked command does when one of its keys becomes ready: the
/// family's pop, written against the view (see `cmd/lists.rs`,
/// `cmd/zsets.rs`).
pub trait BlockedOp: Send + Sync {
    /// True if `key` now holds what the pop takes (a non-empty value of its
    /// type). Changes nothing.
    fn ready(&self, view: &mut DbView<'_>, key: &[u8]) -> bool;
    /// Pops from `key` (which [`BlockedOp::ready`] accepted) and writes the
    /// client's reply into `out`, reporting the changes through the view
    /// and logging the effect (the equivalent non-blocking command).
    fn serve(&self, view: &mut DbView<'_>, key: &[u8], out: &mut Reply);
    /// Writes the reply of a wait that timed out (or that CLIENT UNBLOCK
    /// ended as a timeout): the null array, as Redis answers every
    /// blocking pop, BLMOVE's too.
    fn timed_out(&self, out: &mut Reply) {
        out.null_array();
    }
}

/// Writes `waiter`'s timeout reply (see [`BlockedOp::timed_out`]).
pub fn timeout_reply(waiter: &Waiter, out: &mut Reply) {
    op_of(waiter).timed_out(out);
}

/// The waiter's pop.
fn op_of(w: &Waiter) -> &dyn BlockedOp {
    match w.op.downcast_ref::<Box<dyn BlockedOp>>() {
        Some(op) => &**op,
        None => panic!("a waiter's op is a Box<dyn BlockedOp>"),
    }
}

/// Wraps a pop for [`Waiter::new`].
pub fn blocked_op(op: Box<dyn BlockedOp>) -> Box<dyn std::any::Any + Send + Sync> {
    Box::new(op)
}

impl DbView<'_> {
    /// Adds `waiter` to the FIFO of each of its keys (the view holds their
    /// shards, and the destination's for a waiter that writes one).
    pub fn block(&mut self, waiter: &Arc<Waiter>, masks: &BlockingMasks) {
        for key in &waiter.keys {
            let idx = shard_of(hash_key(key));
            let shard = self.shard_at(idx);
            shard.waiters.push(key, waiter);
            masks.publish(idx, &shard.waiters);
        }
    }

    /// Removes `waiter` from every FIFO it is in (the view holds its keys'
    /// shards).
    pub fn unblock(&mut self, waiter: &Arc<Waiter>, masks: &BlockingMasks) {
        for key in &waiter.keys {
            let idx = shard_of(hash_key(key));
            let shard = self.shard_at(idx);
            shard.waiters.remove(key, waiter);
            masks.publish(idx, &shard.waiters);
        }
    }

    /// Marks `key` of `db` ready to serve (a deferred serve, see
    /// [`Deferred`]).
    pub fn mark_ready_key(&mut self, db: usize, key: &[u8]) {
        self.ready.push((db, Box::from(key)));
    }

    /// True if a change marked a key with waiters ready.
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Serves the waiters of the keys marked ready, longest-waiting first,
    /// while each key has what they pop; keys a serve makes ready (BLMOVE's
    /// destination) are served in turn. Returns the keys whose next waiter
    /// needs a shard this view does not hold.
    pub fn serve_ready(&mut self, masks: &BlockingMasks) -> Vec<Deferred> {
        // Redis serves blocked clients once the command has replied.
        self.reply_written();
        let mut deferred = Vec::new();
        let saved_db = self.db;
        while !self.ready.is_empty() {
            let (db, key) = self.ready.remove(0);
            self.db = db;
            let idx = shard_of(hash_key(&key));
            // In order; a waiter whose pop the key cannot satisfy (a list
            // waiter on a key that is now a sorted set) stays for later.
            for w in self.shard_at(idx).waiters.snapshot(db, &key) {
                if w.is_claimed() {
                    self.shard_at(idx).waiters.remove(&key, &w);
                    continue;
                }
                if let Some(extra) = w.extra_shard() {
                    if self.guards[extra].is_none() {
                        deferred.push(Deferred {
                            db,
                            key: key.clone(),
                            mask: (1 << idx) | (1 << extra),
                        });
                        break;
                    }
                }
                if !op_of(&w).ready(self, &key) {
                    continue;
                }
                self.shard_at(idx).waiters.remove(&key, &w);
                if !w.claim() {
                    continue;
                }
                // Not blocked any more by the time its reply can arrive.
                w.release_counts(masks);
                let mut out = Reply::new(w.resp);
                op_of(&w).serve(self, &key, &mut out);
                // Straight to the client's socket when it lent it.
                w.outbox.push_reply(out.buf.into());
                w.set_delivered();
                // The connection may have drained the frame before
                // `delivered` was set: wake it again.
                w.outbox.wake();
            }
            masks.publish(idx, &self.shard_at(idx).waiters);
        }
        self.db = saved_db;
        deferred
    }
}

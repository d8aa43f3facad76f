//! A client's outbound queue and the output-buffer limits.
//!
//! Any thread may push an encoded frame (a MONITOR line; later pub/sub
//! messages, RESP3 pushes and the replies of a blocked client that another
//! worker served) to a client's [`Outbox`]. The first frame pushed onto an
//! empty queue wakes the client's connection task, which appends every
//! queued frame to its output after the replies it has produced so far and
//! writes them. Nothing here is touched on the request path while the
//! queue is empty and the connection's writes complete.
//!
//! The same structure carries what `client-output-buffer-limit` needs: the
//! bytes queued, the reply bytes the connection has not managed to write
//! yet (published by the connection only while a write is incomplete or
//! its output is large), and when the soft limit was first exceeded. The
//! check is Redis 7.0's (`checkClientOutputBufferLimits`): a hard limit
//! closes the client as soon as its unsent output reaches it; a soft limit
//! closes it once exceeded for more than its seconds.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Redis keeps a client's first 16 KB of replies in a fixed buffer that
/// the limits never count; output up to this size is not checked.
pub const FIXED_BUFFER: usize = 16 * 1024;

/// The class whose output limits apply to a client (Redis's
/// `getClientType`; a MONITOR client is `Normal`, as in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    /// Every client that is none of the others.
    Normal = 0,
    /// A replica (none yet: replication does not exist).
    Replica = 1,
    /// A client subscribed to at least one channel or pattern.
    Pubsub = 2,
}

/// One class's limits, in bytes and seconds; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limit {
    /// Close the client once its unsent output reaches this.
    pub hard: u64,
    /// Close the client once its unsent output stays at or above this ...
    pub soft: u64,
    /// ... for more than this many seconds.
    pub soft_seconds: u64,
}

impl Limit {
    /// True when neither limit is set: the client's output is not limited.
    pub fn is_off(&self) -> bool {
        self.hard == 0 && self.soft == 0
    }
}

/// The limits of the three classes as last configured, readable by any
/// thread without a lock.
#[derive(Default)]
pub struct OutputLimits {
    /// hard, soft, seconds for normal, replica, pubsub.
    values: [[AtomicU64; 3]; 3],
}

impl OutputLimits {
    /// The limits of `class`.
    pub fn get(&self, class: ClientClass) -> Limit {
        let [hard, soft, seconds] = &self.values[class as usize];
        Limit {
            hard: hard.load(Ordering::Relaxed),
            soft: soft.load(Ordering::Relaxed),
            soft_seconds: seconds.load(Ordering::Relaxed),
        }
    }

    /// Replaces the limits of `class`.
    pub fn set(&self, class: ClientClass, limit: Limit) {
        let [hard, soft, seconds] = &self.values[class as usize];
        hard.store(limit.hard, Ordering::Relaxed);
        soft.store(limit.soft, Ordering::Relaxed);
        seconds.store(limit.soft_seconds, Ordering::Relaxed);
    }
}

/// A client's outbound queue (see the module docs).
#[derive(Default)]
pub struct Outbox {
    frames: Mutex<VecDeque<Bytes>>,
    /// Bytes of the frames in `frames`.
    queued: AtomicUsize,
    /// Frames in `frames` (CLIENT LIST `oll`).
    queued_frames: AtomicUsize,
    /// Reply bytes the connection holds unwritten, as it last published.
    unsent: AtomicUsize,
    /// Unix seconds when the soft limit was first seen exceeded (0: not).
    soft_since: AtomicI64,
    /// Set once the client is being closed: frames pushed are dropped.
    closed: AtomicBool,
    /// Wakes the connection task: a frame arrived or the client was killed.
    wake: Notify,
}

impl Outbox {
    /// Queues `frame`; wakes the connection if the queue was empty (a
    /// non-empty queue has a wake-up pending already). Dropped once the
    /// client is closing.
    pub fn push(&self, frame: Bytes) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let was_empty = {
            let mut frames = self.frames.lock();
            let was_empty = frames.is_empty();
            self.queued.fetch_add(frame.len(), Ordering::Relaxed);
            self.queued_frames.fetch_add(1, Ordering::Relaxed);
            frames.push_back(frame);
            was_empty
        };
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Moves every queued frame, in order, to the end of `out`.
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut frames = self.frames.lock();
        for frame in frames.drain(..) {
            out.extend_from_slice(&frame);
        }
        self.queued.store(0, Ordering::Relaxed);
        self.queued_frames.store(0, Ordering::Relaxed);
    }

    /// Resolves when a frame was queued or the client was killed (a
    /// wake-up that came while nobody waited is kept for the next wait).
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// Wakes the connection task.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The connection publishes how many reply bytes it holds unwritten.
    pub fn set_unsent(&self, bytes: usize) {
        self.unsent.store(bytes, Ordering::Relaxed);
    }

    /// The connection wrote everything it held: nothing is unsent, and the
    /// soft limit, which counts only while exceeded without a break,
    /// starts over.
    pub fn written_all(&self) {
        self.unsent.store(0, Ordering::Relaxed);
        self.soft_since.store(0, Ordering::Relaxed);
    }

    /// Bytes queued and not yet handed to the connection.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Frames queued and not yet handed to the connection.
    pub fn queued_frames(&self) -> usize {
        self.queued_frames.load(Ordering::Relaxed)
    }

    /// Reply bytes the connection holds unwritten, as last published.
    pub fn unsent_bytes(&self) -> usize {
        self.unsent.load(Ordering::Relaxed)
    }

    /// What the limits count: queued plus unsent bytes (CLIENT LIST `omem`).
    pub fn usage(&self) -> usize {
        self.queued_bytes() + self.unsent_bytes()
    }

    /// Redis's `checkClientOutputBufferLimits`: true when `limit` is
    /// reached, the hard one at once, the soft one once it has been
    /// exceeded for more than its seconds (`now_secs` is Unix seconds).
    /// Output that fits the fixed buffer is not checked (the soft limit's
    /// start is reset by [`Outbox::written_all`] instead).
    pub fn over_limit(&self, limit: Limit, now_secs: i64) -> bool {
        let used = self.usage();
        if used <= FIXED_BUFFER || limit.is_off() {
            return false;
        }
        let used = used as u64;
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = limit.soft > 0 && used >= limit.soft;
        if soft {
            let since = self.soft_since.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since.store(now_secs.max(1), Ordering::Relaxed);
                soft = false;
            } else if now_secs - since <= limit.soft_seconds as i64 {
                soft = false;
            }
        } else {
            self.soft_since.store(0, Ordering::Relaxed);
        }
        hard || soft
    }

    /// Marks the client as closing and frees what is queued; false if it
    /// was already closing (the caller then has nothing to report).
    pub fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        let dropped = std::mem::take(&mut *self.frames.lock());
        self.queued.store(0, Ordering::Relaxed);
        self.queued_frames.store(0, Ordering::Relaxed);
        drop(dropped);
        true
    }

    /// True once [`Outbox::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn frames_drain_in_order_and_counts_follow() {
        let o = Outbox::default();
        o.push(Bytes::from_static(b"a"));
        o.push(Bytes::from_static(b"bc"));
        assert_eq!((o.queued_bytes(), o.queued_frames()), (3, 2));
        let mut out = b"reply;".to_vec();
        o.drain_into(&mut out);
        assert_eq!(out, b"reply;abc");
        assert_eq!((o.queued_bytes(), o.queued_frames()), (0, 0));
    }

    #[test]
    fn hard_limit_counts_queue_and_unsent_and_skips_the_fixed_buffer() {
        let o = Outbox::default();
        let limit = Limit {
            hard: 1000,
            soft: 0,
            soft_seconds: 0,
        };
        o.push(frame(FIXED_BUFFER));
        assert!(!o.over_limit(limit, 100), "the fixed buffer is not counted");
        o.set_unsent(10);
        assert!(o.over_limit(limit, 100));
        assert!(!o.over_limit(Limit::default(), 100), "0 means no limit");
    }

    #[test]
    fn soft_limit_needs_more_than_its_seconds() {
        let o = Outbox::default();
        let limit = Limit {
            hard: 0,
            soft: 20_000,
            soft_seconds: 2,
        };
        o.set_unsent(30_000);
        assert!(!o.over_limit(limit, 100), "first seen");
        assert!(!o.over_limit(limit, 102), "2 s is not more than 2 s");
        assert!(o.over_limit(limit, 103));
        // Dropping below the soft limit (but above the fixed buffer)
        // restarts the clock.
        o.set_unsent(FIXED_BUFFER + 1);
        assert!(!o.over_limit(limit, 104));
        o.set_unsent(30_000);
        assert!(!o.over_limit(limit, 105));
        assert!(!o.over_limit(limit, 107));
        assert!(o.over_limit(limit, 108));
        // So does writing everything out.
        o.written_all();
        o.set_unsent(30_000);
        assert!(!o.over_limit(limit, 109));
        assert!(!o.over_limit(limit, 111));
        assert!(o.over_limit(limit, 112));
    }

    #[test]
    fn closing_frees_the_queue_and_drops_later_frames() {
        let o = Outbox::default();
        o.push(frame(100));
        assert!(o.close());
        assert!(!o.close(), "reported once");
        assert_eq!(o.queued_bytes(), 0);
        o.push(frame(100));
        assert_eq!(o.queued_frames(), 0);
    }
}

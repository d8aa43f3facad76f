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
//! A blocked client's reply can skip the hand-off: while its connection
//! waits with nothing unsent and nothing queued, it lends its socket's
//! descriptor to the outbox ([`Outbox::lend_socket`]), and the writer that
//! serves it writes the reply straight to the socket
//! ([`Outbox::push_reply`]) instead of waking the other worker to do it.
//! The client then has its reply as soon as it would from Redis; the
//! owning connection, woken as before, only does the bookkeeping. The
//! descriptor is lent for one reply and taken back before the connection
//! writes or closes anything itself, so writes never interleave and the
//! descriptor is never used after it is closed.
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
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering};
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
    /// The socket descriptor lent for one direct reply, or [`NOT_LENT`] /
    /// [`WRITING`].
    lent_fd: AtomicI32,
    /// Bytes written straight to the socket since the connection last
    /// asked ([`Outbox::take_direct_written`]).
    direct_written: AtomicUsize,
}

/// `lent_fd` when no descriptor is lent.
const NOT_LENT: i32 = -1;
/// `lent_fd` while a writer writes through the lent descriptor.
const WRITING: i32 = -2;

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            frames: Mutex::default(),
            queued: AtomicUsize::new(0),
            queued_frames: AtomicUsize::new(0),
            unsent: AtomicUsize::new(0),
            soft_since: AtomicI64::new(0),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            lent_fd: AtomicI32::new(NOT_LENT),
            direct_written: AtomicUsize::new(0),
        }
    }
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

    /// Queues a blocked client's reply, or writes it straight to the socket
    /// when one is lent and nothing is queued before it (see the module
    /// docs). An error reply always goes through the queue, so that the
    /// connection can count it. Wakes the connection either way.
    pub fn push_reply(&self, frame: Bytes) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let fd = self.lent_fd.load(Ordering::Acquire);
        if fd < 0
            || frame.first() == Some(&b'-')
            || self
                .lent_fd
                .compare_exchange(fd, WRITING, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return self.push(frame);
        }
        let mut rest = frame;
        // Checked after taking the descriptor: a frame queued before this
        // point must go out first.
        if self.queued_frames.load(Ordering::Acquire) == 0 {
            let written = write_nonblocking(fd, &rest);
            self.direct_written.fetch_add(written, Ordering::Relaxed);
            rest = rest.slice(written..);
        }
        // One reply per loan: the connection lends again if it waits again.
        self.lent_fd.store(NOT_LENT, Ordering::Release);
        if rest.is_empty() {
            self.wake.notify_one();
        } else {
            self.push(rest);
        }
    }

    /// Lends the socket descriptor `fd` for one direct reply. The caller
    /// must have nothing unsent and must call [`Outbox::take_back_socket`]
    /// before it writes to or closes the socket.
    pub fn lend_socket(&self, fd: i32) {
        if fd >= 0 {
            self.lent_fd.store(fd, Ordering::Release);
        }
    }

    /// Ends a loan: afterwards no other thread writes to the socket. Waits
    /// out a direct write in progress (a single non-blocking write).
    pub fn take_back_socket(&self) {
        loop {
            let current = self.lent_fd.load(Ordering::Acquire);
            if current == NOT_LENT {
                return;
            }
            if current == WRITING {
                std::hint::spin_loop();
                continue;
            }
            if self
                .lent_fd
                .compare_exchange(current, NOT_LENT, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Bytes written straight to the socket since the last call.
    pub fn take_direct_written(&self) -> usize {
        self.direct_written.swap(0, Ordering::Relaxed)
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

/// Writes what a non-blocking socket takes of `data` now; 0 on any error
/// (the owning connection then writes the rest, or sees the error itself).
fn write_nonblocking(fd: i32, data: &[u8]) -> usize {
    let mut written = 0;
    while written < data.len() {
        // SAFETY: `fd` is a socket its owner keeps open for the duration
        // of the loan (see `take_back_socket`); the buffer is live and its
        // length is passed with it. MSG_NOSIGNAL: a closed peer is an
        // error here, never a signal.
        let n = unsafe {
            libc::send(
                fd,
                data[written..].as_ptr().cast(),
                data.len() - written,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n > 0 {
            written += n as usize;
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break;
        }
    }
    written
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

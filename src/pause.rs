//! CLIENT PAUSE's state: until when clients are held, whether all their
//! commands or only those that may change data, and the queue of held
//! clients, which resume in the order they were held (as Redis's single
//! thread replays its paused clients), whichever worker serves them.
//!
//! Admission (`cmd::admit`) decides that a request is held; its connection
//! then takes a [`Ticket`] and waits in [`Pause::wait`]. CLIENT UNPAUSE (or
//! a new pause) wakes every waiter; once the pause is over, each waits its
//! turn: only the oldest ticket's client re-admits its request, and
//! dropping that ticket (the request ran, or the connection went) passes
//! the turn on.

use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// The pause in force, if any, and its held clients.
#[derive(Default)]
pub struct Pause {
    /// Unix ms the pause ends (0: none).
    until_ms: AtomicI64,
    /// ALL holds every command; otherwise only those that may change data.
    all: AtomicBool,
    /// The tickets of the held clients, oldest first.
    queue: Mutex<BTreeSet<u64>>,
    /// The next ticket's number.
    next_ticket: AtomicU64,
    /// Signalled when the pause changes or a ticket is dropped.
    changed: Notify,
}

/// A held client's place in the queue; dropping it leaves the queue.
pub struct Ticket<'a> {
    pause: &'a Pause,
    number: u64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.pause.queue.lock().remove(&self.number);
        self.pause.changed.notify_waiters();
    }
}

impl Pause {
    /// Starts (or extends) a pause until Unix ms `until_ms`, of every
    /// command if `all`. As in Redis, a pause in force is never shortened
    /// or weakened by a new one.
    pub fn start(&self, until_ms: i64, all: bool, now_ms: i64) {
        let current = self.until_ms.load(Ordering::Relaxed);
        let in_force = current > now_ms;
        let was_all = in_force && self.all.load(Ordering::Relaxed);
        self.all.store(all || was_all, Ordering::Relaxed);
        let until = if in_force {
            current.max(until_ms)
        } else {
            until_ms
        };
        self.until_ms.store(until, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Ends the pause (CLIENT UNPAUSE).
    pub fn end(&self) {
        self.until_ms.store(0, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Unix ms the pause ends, 0 when there is none (it may have passed).
    pub fn until_ms(&self) -> i64 {
        self.until_ms.load(Ordering::Relaxed)
    }

    /// How long the pause in force lasts still, if one is.
    #[inline]
    pub fn left(&self, now_ms: i64) -> Option<Duration> {
        let until = self.until_ms.load(Ordering::Relaxed);
        if until == 0 || until <= now_ms {
            return None;
        }
        Some(Duration::from_millis((until - now_ms) as u64))
    }

    /// True if the pause holds every command (ALL), not only writes.
    pub fn holds_all(&self) -> bool {
        self.all.load(Ordering::Relaxed)
    }

    /// How many clients are held (counted in INFO's `blocked_clients`, as
    /// Redis counts its paused clients).
    pub fn held(&self) -> usize {
        self.queue.lock().len()
    }

    /// A place in the queue for a client being held.
    pub fn ticket(&self) -> Ticket<'_> {
        let number = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.queue.lock().insert(number);
        Ticket {
            pause: self,
            number,
        }
    }

    /// Waits until the pause that held `ticket`'s client may be over: the
    /// pause ended (or changed) and every client held before it has
    /// resumed. The caller re-admits its request then, and may be held
    /// again.
    pub async fn wait(&self, ticket: &Ticket<'_>) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the checks: no signal is lost in between.
            changed.as_mut().enable();
            match self.left(crate::util::now_ms()) {
                Some(left) => {
                    // The pause's end passing is signalled by nobody.
                    let _ = tokio::time::timeout(left, changed).await;
                }
                None => {
                    let first = self.queue.lock().first().copied();
                    if first.is_none_or(|n| n == ticket.number) {
                        return;
                    }
                    changed.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_never_shortened_or_weakened() {
        let p = Pause::default();
        p.start(10_000, true, 1_000);
        p.start(5_000, false, 1_000);
        assert_eq!(p.until_ms(), 10_000);
        assert!(p.holds_all());
        // Once over, a new pause replaces it.
        p.start(30_000, false, 20_000);
        assert_eq!(p.until_ms(), 30_000);
        assert!(!p.holds_all());
        assert_eq!(p.left(29_000), Some(Duration::from_millis(1_000)));
        p.end();
        assert_eq!(p.left(29_000), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn held_clients_resume_in_order() {
        let p = Pause::default();
        p.start(crate::util::now_ms() + 60_000, true, crate::util::now_ms());
        let first = p.ticket();
        let second = p.ticket();
        assert_eq!(p.held(), 2);
        p.end();
        // The second waits for the first to resume.
        let waited = tokio::time::timeout(Duration::from_millis(50), p.wait(&second)).await;
        assert!(waited.is_err());
        p.wait(&first).await;
        drop(first);
        p.wait(&second).await;
        drop(second);
        assert_eq!(p.held(), 0);
    }
}

//! Adaptive polling before a worker sleeps.
//!
//! When a worker runs out of work it would block in the poller, and the
//! next client request then has to wake its thread. On a virtual machine
//! whose idle cores halt at once, that wake-up is an inter-processor
//! interrupt paid by the *sender* — the client — and it costs more than the
//! request itself. So a worker that has just been busy keeps polling its
//! sockets without blocking for a short window before it sleeps, in the
//! spirit of the kernel's halt-polling: if the next request arrives inside
//! the window, nobody is woken.
//!
//! The window adapts per worker, as halt-polling's does: it grows when an
//! idle stretch turned out short (a longer poll would have caught the next
//! request) and shrinks when it was longer than the largest window (polling
//! would only have burnt the core). The periodic task sets that largest
//! window ([`IdlePollStats::max_window_us`], from `idle-poll-usec`) and sets
//! it to zero while the machine has no idle core to spend on polling or the
//! worker is not busy enough for wake-ups to matter, so polling never takes
//! time from the clients or other work on the same cores.
//!
//! The mechanism is the future each worker thread blocks on: while polling
//! it wakes itself, which makes the runtime check its sockets without
//! blocking (a "yield" park) and come back to it; once the window has
//! passed it stops waking itself, and the runtime sleeps until a connection
//! reports new input through [`note_activity`].

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The first window after polling was off, at most the largest window.
const GROW_START: Duration = Duration::from_micros(10);
/// A gap between two polls longer than this means the thread was not
/// polling but descheduled (it yields on every poll), so it is not counted
/// as time spent polling.
const MAX_POLL_GAP: Duration = Duration::from_micros(50);

thread_local! {
    /// Requests read on this thread so far (wrapping).
    static ACTIVITY: Cell<u64> = const { Cell::new(0) };
    /// The sleeping poller of this thread, if it sleeps.
    static PARKED: Cell<Option<Waker>> = const { Cell::new(None) };
}

/// Records that a connection on this thread has read input, waking the
/// thread's poller if it was sleeping so that it starts polling again.
pub fn note_activity() {
    ACTIVITY.with(|a| a.set(a.get().wrapping_add(1)));
    PARKED.with(|p| {
        if let Some(waker) = p.take() {
            waker.wake();
        }
    });
}

/// What a worker's poller shares with the periodic task.
#[derive(Default)]
pub struct IdlePollStats {
    /// Nanoseconds spent polling with nothing to do (counted in the
    /// thread's CPU time, but idle time as far as load is concerned).
    pub polled_ns: AtomicU64,
    /// The largest window, in microseconds; 0 turns polling off.
    pub max_window_us: AtomicU64,
    /// Polls made with nothing to do (for tests and diagnostics).
    pub idle_polls: AtomicU64,
    /// Reads by this worker's connections so far (wrapping), as of its
    /// last poll: what the periodic task sizes the polling budget by.
    pub reads: AtomicU64,
}

/// The future a worker thread blocks on; it never completes.
pub struct IdlePoller {
    stats: Arc<IdlePollStats>,
    window: Duration,
    /// The activity count at the last poll.
    seen: u64,
    /// When the current stretch without input began.
    idle_since: Instant,
    /// Whether the poller gave up and let the thread sleep.
    parked: bool,
    last_poll: Instant,
}

impl IdlePoller {
    /// A poller reporting to `stats`.
    pub fn new(stats: Arc<IdlePollStats>) -> IdlePoller {
        let now = Instant::now();
        IdlePoller {
            stats,
            window: Duration::ZERO,
            seen: ACTIVITY.with(Cell::get),
            idle_since: now,
            parked: true,
            last_poll: now,
        }
    }

    /// Adapts the window to an idle stretch of `idle` that input ended,
    /// with `max` the largest window.
    fn adapt(&mut self, idle: Duration, max: Duration) {
        if idle <= max {
            self.window = (self.window * 2).max(GROW_START).min(max);
        } else {
            self.window /= 2;
            if self.window < GROW_START {
                self.window = Duration::ZERO;
            }
        }
    }
}

impl Future for IdlePoller {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        let activity = ACTIVITY.with(Cell::get);
        // Only this thread writes it: a plain store, no contention.
        self.stats.reads.store(activity, Ordering::Relaxed);
        let max = Duration::from_micros(self.stats.max_window_us.load(Ordering::Relaxed));
        if self.parked && activity == self.seen {
            // Polled without new input (not by `note_activity`): go on
            // sleeping.
            PARKED.with(|p| p.set(Some(cx.waker().clone())));
            return Poll::Pending;
        }
        if std::mem::take(&mut self.parked) {
            // Input ended a sleep: would a longer poll have caught it?
            let idle = now.saturating_duration_since(self.idle_since);
            self.adapt(idle, max);
            self.idle_since = now;
        } else if activity != self.seen {
            self.idle_since = now;
        } else {
            self.stats.idle_polls.fetch_add(1, Ordering::Relaxed);
            let polled = now.saturating_duration_since(self.last_poll);
            if polled <= MAX_POLL_GAP {
                self.stats
                    .polled_ns
                    .fetch_add(polled.as_nanos() as u64, Ordering::Relaxed);
            }
        }
        self.seen = activity;
        self.last_poll = now;
        if now.saturating_duration_since(self.idle_since) < self.window.min(max) {
            // Keep polling: the runtime checks its sockets without blocking
            // and polls this future again. Yielding first lets anything else
            // runnable on this core go before the poll.
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
            cx.waker().wake_by_ref();
        } else {
            self.parked = true;
            PARKED.with(|p| p.set(Some(cx.waker().clone())));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poller() -> IdlePoller {
        IdlePoller::new(Arc::new(IdlePollStats::default()))
    }

    #[test]
    fn the_window_grows_after_short_idle_stretches_and_shrinks_after_long_ones() {
        let max = Duration::from_micros(100);
        let mut p = poller();
        assert_eq!(p.window, Duration::ZERO);
        p.adapt(Duration::from_micros(30), max);
        assert_eq!(p.window, GROW_START);
        for _ in 0..10 {
            p.adapt(Duration::from_micros(30), max);
        }
        assert_eq!(p.window, max, "capped at the largest window");
        p.adapt(Duration::from_millis(5), max);
        assert_eq!(p.window, max / 2);
        for _ in 0..5 {
            p.adapt(Duration::from_millis(5), max);
        }
        assert_eq!(
            p.window,
            Duration::ZERO,
            "long idle stretches turn polling off"
        );
        p.adapt(Duration::from_micros(1), Duration::ZERO);
        assert_eq!(
            p.window,
            Duration::ZERO,
            "a zero largest window never polls"
        );
    }

    #[test]
    fn a_worker_polls_after_input_and_sleeps_once_the_window_has_passed() {
        // Counts polls rather than timing them, so a loaded machine (tests
        // run in parallel) cannot make it fail: the window is wide enough
        // for timer-driven gaps to grow it, and long idle time must end in
        // a sleep, after which the count stops moving.
        let stats = Arc::new(IdlePollStats::default());
        stats.max_window_us.store(20_000, Ordering::Relaxed);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = stats.clone();
        runtime.block_on(async move {
            let poller = IdlePoller::new(local.clone());
            let traffic = async {
                for _ in 0..20 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    note_activity();
                }
                let polls = |s: &IdlePollStats| s.idle_polls.load(Ordering::Relaxed);
                let at_last_input = polls(&local);
                tokio::time::sleep(Duration::from_millis(300)).await;
                let after_idle = polls(&local);
                tokio::time::sleep(Duration::from_millis(100)).await;
                (at_last_input, after_idle, polls(&local))
            };
            tokio::select! {
                () = poller => unreachable!("the poller never completes"),
                (at_last_input, after_idle, later) = traffic => {
                    assert!(after_idle > at_last_input, "no poll after the last input");
                    assert_eq!(later, after_idle, "still polling long after the window");
                }
            }
        });
    }
}

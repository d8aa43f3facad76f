//! Statistics counters that both cores can bump without sharing a cache line.
//!
//! Every command bumps several server-wide counters (commands processed,
//! keyspace hits, per-command calls and time). A single `AtomicU64` per
//! counter would bounce its cache line between the cores on every command,
//! which costs more than the command itself on a fast path. A
//! [`StripedCounter`] keeps one padded cell per stripe; each thread adds to
//! its own stripe and readers (INFO, the rate sampler) sum the stripes.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter. Threads beyond this share stripes, which is still
/// correct, only slower.
pub const STRIPES: usize = 4;

/// One stripe of `N` counters, alone on its cache line(s).
#[repr(align(64))]
struct Stripe<const N: usize>([AtomicU64; N]);

/// `N` counters kept together, split into per-thread stripes; see the
/// module docs. Counters that are bumped together (a command's calls and
/// time) share a stripe so one command touches one line.
pub struct StripedGroup<const N: usize> {
    stripes: [Stripe<N>; STRIPES],
}

/// A single striped counter.
pub type StripedCounter = StripedGroup<1>;

impl<const N: usize> Default for StripedGroup<N> {
    fn default() -> Self {
        StripedGroup {
            stripes: std::array::from_fn(|_| Stripe(std::array::from_fn(|_| AtomicU64::new(0)))),
        }
    }
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's stripe, assigned on first use round-robin.
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The calling thread's stripe index.
#[inline]
pub fn stripe() -> usize {
    STRIPE.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(i);
        }
        i
    })
}

impl<const N: usize> StripedGroup<N> {
    /// Adds `n` to counter `field` in the calling thread's stripe.
    #[inline]
    pub fn add_to(&self, field: usize, n: u64) {
        self.stripes[stripe()].0[field].fetch_add(n, Ordering::Relaxed);
    }

    /// Counter `field` summed over all stripes.
    pub fn get_of(&self, field: usize) -> u64 {
        self.stripes.iter().fold(0u64, |acc, s| {
            acc.wrapping_add(s.0[field].load(Ordering::Relaxed))
        })
    }

    /// Sets every counter back to zero (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for s in &self.stripes {
            for c in &s.0 {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

impl StripedCounter {
    /// Adds `n` to the calling thread's stripe.
    #[inline]
    pub fn add(&self, n: u64) {
        self.add_to(0, n);
    }

    /// The sum over all stripes.
    pub fn get(&self) -> u64 {
        self.get_of(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sums_adds_from_many_threads_and_resets() {
        let c = Arc::new(StripedCounter::default());
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.add(2);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("adder thread");
        }
        assert_eq!(c.get(), 12_000);
        c.reset();
        assert_eq!(c.get(), 0);
        c.add(5);
        assert_eq!(c.get(), 5);
    }

    #[test]
    fn group_fields_are_independent() {
        let g = StripedGroup::<3>::default();
        g.add_to(0, 1);
        g.add_to(2, 7);
        g.add_to(2, 1);
        assert_eq!((g.get_of(0), g.get_of(1), g.get_of(2)), (1, 0, 8));
    }
}

//! Redis's partial quicksort (`pqsort`): Bentley and McIlroy's quicksort
//! ("Engineering a Sort Function") that skips the partitions holding no
//! position of a wanted range. SORT with BY and LIMIT and the geo searches
//! with COUNT use it because the order of ties depends on its exact steps:
//! a median of three (of three medians past 40 elements) as pivot, a
//! three-way partition gathering the pivot's equals at both ends and
//! swapping them into the middle, insertion sort below 7 elements.

use std::cmp::Ordering;

/// Sorts so that positions `lo..=hi` of `v` hold what a full sort would put
/// there, by the algorithm of Redis's `pqsort` (Bentley and McIlroy's
/// quicksort, which leaves alone the partitions entirely outside the
/// range); ties end up where Redis's do. `hi < lo` is allowed.
pub fn partial_sort<T>(v: &mut [T], lo: i64, hi: i64, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let n = v.len();
    quick(v, 0, n, lo, hi, &mut cmp);
}

/// True if the partition `base..base + n` holds none of `lo..=hi` (both
/// ends of the range lie before it, or both after it).
fn outside(base: usize, n: usize, lo: i64, hi: i64) -> bool {
    let (first, past) = (base as i64, (base + n) as i64);
    (lo < first && hi < first) || (lo >= past && hi >= past)
}

/// The median of three positions, as the algorithm picks it.
fn median3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b` (disjoint runs).
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// One partitioning step on `base..base + n`, then the smaller side by
/// recursion and the larger by looping, each only if it meets the range.
fn quick<T>(
    v: &mut [T],
    mut base: usize,
    mut n: usize,
    lo: i64,
    hi: i64,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) {
    loop {
        if n < 7 {
            for m in base + 1..base + n {
                let mut p = m;
                while p > base && cmp(&v[p - 1], &v[p]) == Ordering::Greater {
                    v.swap(p, p - 1);
                    p -= 1;
                }
            }
            return;
        }
        let mut pivot = base + n / 2;
        if n > 7 {
            let mut first = base;
            let mut last = base + n - 1;
            if n > 40 {
                let d = n / 8;
                first = median3(v, first, first + d, first + 2 * d, cmp);
                pivot = median3(v, pivot - d, pivot, pivot + d, cmp);
                last = median3(v, last - 2 * d, last - d, last, cmp);
            }
            pivot = median3(v, first, pivot, last, cmp);
        }
        v.swap(base, pivot);
        // Equal keys gather at both ends ([base+1, pa) and (pd, end]),
        // smaller ones after the first group, larger ones before the last.
        let (mut pa, mut pb) = (base + 1, base + 1);
        let (mut pc, mut pd) = (base + n - 1, base + n - 1);
        loop {
            while pb <= pc {
                match cmp(&v[pb], &v[base]) {
                    Ordering::Greater => break,
                    Ordering::Equal => {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    Ordering::Less => {}
                }
                pb += 1;
            }
            while pb <= pc {
                match cmp(&v[pc], &v[base]) {
                    Ordering::Less => break,
                    Ordering::Equal => {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    Ordering::Greater => {}
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let past = base + n;
        let r = (pa - base).min(pb - pa);
        swap_runs(v, base, pb - r, r);
        let r = (pd - pc).min(past - pd - 1);
        swap_runs(v, pb, past - r, r);
        let smaller = pb - pa;
        if smaller > 1 && !outside(base, smaller, lo, hi) {
            quick(v, base, smaller, lo, hi, cmp);
        }
        let larger = pd - pc;
        if larger <= 1 {
            return;
        }
        base = past - larger;
        n = larger;
        if outside(base, n, lo, hi) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sort_orders_the_range() {
        // Ties keyed by value only: the range holds a full sort's keys.
        let mut seed = 7u64;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 1000] {
            for (lo, hi) in [(0i64, 9i64), (3, 3), (n as i64 / 2, n as i64 - 1), (0, -1)] {
                let mut v: Vec<(u32, usize)> = (0..n)
                    .map(|i| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((seed >> 33) as u32 % 50, i)
                    })
                    .collect();
                let mut full = v.clone();
                full.sort_by_key(|p| p.0);
                partial_sort(&mut v, lo, hi, |a, b| a.0.cmp(&b.0));
                let (lo, hi) = (
                    lo.max(0) as usize,
                    (hi.min(n as i64 - 1) + 1).max(0) as usize,
                );
                if lo < hi {
                    let got: Vec<u32> = v[lo..hi].iter().map(|p| p.0).collect();
                    let want: Vec<u32> = full[lo..hi].iter().map(|p| p.0).collect();
                    assert_eq!(got, want, "n {n} range {lo}..{hi}");
                }
            }
        }
    }
}

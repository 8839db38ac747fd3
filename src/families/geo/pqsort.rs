//! The partial sort behind GEOSEARCH/GEORADIUS with COUNT (and without ANY).
//!
//! When only the first `count` of more hits are returned, Redis does not sort them all:
//! it runs a Bentley–McIlroy three-way quicksort ("Engineering a Sort Function", 1993)
//! that skips every partition lying wholly outside the wanted ranks. Which of several
//! hits at exactly the same distance come first then follows from that algorithm's
//! swaps, not from scan order. So that such ties come out as redis-server returns
//! them, this is the same algorithm step for step: insertion sort below 7 elements,
//! median of three (of three medians above 40) as the pivot, pivot-equal elements
//! gathered at both ends and swapped into the middle, recursion on the lower part and
//! iteration on the upper.

use std::cmp::Ordering;

/// Reorder `v` so that ranks `lo..=hi` hold what a full sort by `cmp` would put there
/// (everything before `lo` is no greater, everything after `hi` no smaller). Other
/// positions are left partly sorted.
pub fn partial_sort<T>(
    v: &mut [T],
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
    lo: usize,
    hi: usize,
) {
    sort_range(v, 0, v.len(), cmp, lo, hi);
}

/// Whether `start..end` holds any of the ranks `lo..=hi`.
fn wanted(start: usize, end: usize, lo: usize, hi: usize) -> bool {
    !(hi < start || lo >= end)
}

fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) -> usize {
    if cmp(&v[a], &v[b]).is_lt() {
        if cmp(&v[b], &v[c]).is_lt() {
            b
        } else if cmp(&v[a], &v[c]).is_lt() {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]).is_gt() {
        b
    } else if cmp(&v[a], &v[c]).is_lt() {
        a
    } else {
        c
    }
}

/// Swap `v[a + i]` with `v[b + i]` for `i < n` (the two runs do not overlap).
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

fn sort_range<T>(
    v: &mut [T],
    mut base: usize,
    mut n: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
    lo: usize,
    hi: usize,
) {
    loop {
        if n < 7 {
            for m in base + 1..base + n {
                let mut l = m;
                while l > base && cmp(&v[l - 1], &v[l]).is_gt() {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = base + n / 2;
        if n > 7 {
            let mut pl = base;
            let mut pn = base + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        // The pivot sits at `base`. Partition the rest into
        // [= pivot | < pivot | unseen | > pivot | = pivot].
        v.swap(base, pm);
        let (mut pa, mut pb) = (base + 1, base + 1);
        let (mut pc, mut pd) = (base + n - 1, base + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[base]);
                if c.is_gt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[base]);
                if c.is_lt() {
                    break;
                }
                if c.is_eq() {
                    v.swap(pc, pd);
                    pd -= 1;
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
        // Move the pivot-equal runs from both ends into the middle.
        let end = base + n;
        let r = (pa - base).min(pb - pa);
        swap_runs(v, base, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        swap_runs(v, pb, end - r, r);
        let below = pb - pa;
        if below > 1 && wanted(base, base + below, lo, hi) {
            sort_range(v, base, below, cmp, lo, hi);
        }
        let above = pd - pc;
        if above <= 1 {
            return;
        }
        base = end - above;
        n = above;
        if !wanted(base, end, lo, hi) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The wanted ranks hold exactly what a full sort puts there, for keys with
        /// many ties and any wanted prefix or window.
        #[test]
        fn wanted_ranks_match_a_full_sort(
            keys in prop::collection::vec(0u8..12, 0..200),
            a in 0usize..200,
            b in 0usize..200,
        ) {
            let mut items: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            let mut full = items.clone();
            full.sort_by_key(|x| x.0);
            if items.is_empty() {
                partial_sort(&mut items, &mut |x, y| x.0.cmp(&y.0), 0, 0);
                prop_assert!(items.is_empty());
                return Ok(());
            }
            let lo = a.min(b) % items.len();
            let hi = (a.max(b) % items.len()).max(lo);
            partial_sort(&mut items, &mut |x, y| x.0.cmp(&y.0), lo, hi);
            // Same elements, only moved.
            let mut ids: Vec<usize> = items.iter().map(|x| x.1).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..keys.len()).collect::<Vec<_>>());
            for i in lo..=hi {
                prop_assert_eq!(items[i].0, full[i].0, "rank {}", i);
            }
            prop_assert!(items[..lo].iter().all(|x| x.0 <= full[lo].0));
            prop_assert!(items[hi + 1..].iter().all(|x| x.0 >= full[hi].0));
        }

        /// Asked for every rank, it is a complete sort.
        #[test]
        fn all_ranks_sort_fully(keys in prop::collection::vec(any::<i16>(), 1..300)) {
            let mut v = keys.clone();
            let n = v.len();
            partial_sort(&mut v, &mut |x, y| x.cmp(y), 0, n - 1);
            let mut want = keys;
            want.sort_unstable();
            prop_assert_eq!(v, want);
        }
    }

    /// Ties are not kept in input order: with ten equal keys the median of three is the
    /// last element, which the partition swaps to the front (and the first to its place).
    #[test]
    fn ties_follow_the_partition_swaps() {
        let mut v: Vec<(u8, char)> = "abcdefghij".chars().map(|c| (0, c)).collect();
        partial_sort(&mut v, &mut |x, y| x.0.cmp(&y.0), 0, 2);
        let order: String = v.iter().map(|x| x.1).collect();
        assert_eq!(order, "jbcdefghia");
    }
}

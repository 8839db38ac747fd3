//! A Fenwick (binary indexed) tree of counts: prefix sums, point updates and "which
//! slot holds item k" in O(log n), stored in one `Vec<u32>` of n words.
//!
//! The sorted set's skiplist encoding keeps one over its chunk lengths, to turn a global
//! rank into (chunk, offset) and back without summing every chunk before it.

/// Counts of `len()` slots. The node of slot `i` (1-based `j = i + 1`) holds the sum of
/// the `lowbit(j)` slots ending at `i`.
///
/// Sums are `u32`: a sorted set of 4G members would need well over 100 GB first.
#[derive(Clone, Default, Debug, PartialEq)]
pub struct Fenwick {
    tree: Vec<u32>,
}

impl Fenwick {
    /// The tree over `counts`, built in O(n): each node adds its sum to its parent once.
    pub fn from_counts(counts: impl IntoIterator<Item = u32>) -> Fenwick {
        let mut tree: Vec<u32> = counts.into_iter().collect();
        let n = tree.len();
        for i in 0..n {
            // 0-based parent of j = i + 1 is j + lowbit(j) - 1, which is i | (i + 1).
            let parent = i | (i + 1);
            if parent < n {
                tree[parent] = tree[parent].wrapping_add(tree[i]);
            }
        }
        tree.shrink_to_fit();
        Fenwick { tree }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Heap bytes (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        self.tree.capacity() * std::mem::size_of::<u32>()
    }

    /// Add `delta` to slot `i` (< len); the slot's count must stay >= 0.
    pub fn add(&mut self, i: usize, delta: i32) {
        debug_assert!(i < self.tree.len());
        let mut j = i + 1;
        while j <= self.tree.len() {
            self.tree[j - 1] = self.tree[j - 1].wrapping_add_signed(delta);
            j += j & j.wrapping_neg();
        }
    }

    /// Sum of the counts of slots `0..k` (k <= len).
    pub fn prefix(&self, k: usize) -> usize {
        debug_assert!(k <= self.tree.len());
        let mut sum = 0usize;
        let mut j = k.min(self.tree.len());
        while j > 0 {
            sum += self.tree[j - 1] as usize;
            j &= j - 1;
        }
        sum
    }

    /// Sum of all counts.
    pub fn total(&self) -> usize {
        self.prefix(self.tree.len())
    }

    /// The slot holding item `k` (0-based, items numbered across slots in order) and
    /// k's index inside it; None when k >= total. Empty slots are never returned.
    pub fn find(&self, k: usize) -> Option<(usize, usize)> {
        let n = self.tree.len();
        if n == 0 {
            return None;
        }
        // Descend from the largest power of two <= n: `pos` ends as the largest count of
        // whole slots whose items all come before k.
        let mut pos = 0;
        let mut rem = k;
        let mut step = 1usize << (usize::BITS - 1 - n.leading_zeros());
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.tree[next - 1] as usize) <= rem {
                pos = next;
                rem -= self.tree[next - 1] as usize;
            }
            step >>= 1;
        }
        (pos < n).then_some((pos, rem))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// (slot, offset) of item k by a linear walk.
    fn naive_find(counts: &[u32], mut k: usize) -> Option<(usize, usize)> {
        for (i, &c) in counts.iter().enumerate() {
            if k < c as usize {
                return Some((i, k));
            }
            k -= c as usize;
        }
        None
    }

    fn check(f: &Fenwick, counts: &[u32]) {
        assert_eq!(f.len(), counts.len());
        assert_eq!(*f, Fenwick::from_counts(counts.iter().copied()));
        let mut sum = 0;
        for k in 0..=counts.len() {
            assert_eq!(f.prefix(k), sum, "prefix({k}) of {counts:?}");
            if k < counts.len() {
                sum += counts[k] as usize;
            }
        }
        assert_eq!(f.total(), sum);
        for k in 0..sum + 3 {
            assert_eq!(f.find(k), naive_find(counts, k), "find({k}) of {counts:?}");
        }
    }

    #[test]
    fn empty() {
        let f = Fenwick::default();
        assert!(f.is_empty());
        assert_eq!(f.total(), 0);
        assert_eq!(f.prefix(0), 0);
        assert_eq!(f.find(0), None);
        assert_eq!(Fenwick::from_counts([]), f);
        let zeros = Fenwick::from_counts([0, 0, 0]);
        assert_eq!(zeros.find(0), None);
        check(&zeros, &[0, 0, 0]);
    }

    #[test]
    fn find_at_slot_boundaries() {
        let counts = [3, 1, 4, 1, 5, 9, 2];
        let f = Fenwick::from_counts(counts);
        check(&f, &counts);
        assert_eq!(f.find(0), Some((0, 0)));
        assert_eq!(f.find(2), Some((0, 2)));
        assert_eq!(f.find(3), Some((1, 0)));
        assert_eq!(f.find(4), Some((2, 0)));
        assert_eq!(f.find(24), Some((6, 1)));
        assert_eq!(f.find(25), None);
    }

    #[test]
    fn zero_slots_are_skipped() {
        // Powers of two and their neighbours as lengths, zeros at both ends and inside.
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17] {
            let mut counts = vec![0u32; n];
            counts[n - 1] = 2;
            check(&Fenwick::from_counts(counts.iter().copied()), &counts);
            counts[0] = 1;
            check(&Fenwick::from_counts(counts.iter().copied()), &counts);
        }
    }

    #[test]
    fn updates_to_and_from_zero() {
        let mut counts = vec![2u32; 13];
        let mut f = Fenwick::from_counts(counts.iter().copied());
        for i in [0, 12, 7, 8] {
            f.add(i, -2);
            counts[i] = 0;
            check(&f, &counts);
        }
        f.add(12, 5);
        counts[12] = 5;
        check(&f, &counts);
    }

    proptest! {
        #[test]
        fn matches_naive(
            counts in proptest::collection::vec(0u32..6, 0..70),
            updates in proptest::collection::vec((any::<usize>(), -3i32..4), 0..30),
        ) {
            let mut counts = counts;
            let mut f = Fenwick::from_counts(counts.iter().copied());
            check(&f, &counts);
            if counts.is_empty() {
                return Ok(());
            }
            for (i, d) in updates {
                let i = i % counts.len();
                let d = d.max(-(counts[i] as i32));
                counts[i] = (counts[i] as i32 + d) as u32;
                f.add(i, d);
            }
            check(&f, &counts);
        }
    }
}

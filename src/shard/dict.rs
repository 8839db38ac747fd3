//! The keyspace dictionary: extendible hashing over small hashbrown tables.
//!
//! Tables hold one pointer per entry (the key and value live in one boxed node), so the
//! slack of a half-empty table costs 9 bytes a slot, not a whole entry.
//!
//! Keys are split by the top bits of a stable 64-bit hash into segments of at most
//! `SEG_MAX` entries; a full segment splits in two instead of the whole table doubling.
//! Every segment covers one contiguous range of the hash space, which gives SCAN a
//! stateless cursor (a hash-space position) that returns every key present for the whole
//! iteration at least once, whatever splits happen in between, and lets active expiry
//! and eviction walk the keyspace a segment at a time.

use std::sync::OnceLock;

use super::cbytes::CBytes;
use hashbrown::HashTable;
use rand::Rng;

/// Entries per segment before it splits.
const SEG_MAX: usize = 896;

fn hasher() -> &'static ahash::RandomState {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new)
}

/// The stable (per process) hash of a key.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

struct Seg<V> {
    depth: u32,
    /// The segment's prefix: its hash range starts at `prefix << (64 - depth)`.
    prefix: u64,
    table: HashTable<Box<(CBytes, V)>>,
}

impl<V> Seg<V> {
    fn start(&self) -> u64 {
        if self.depth == 0 {
            0
        } else {
            self.prefix << (64 - self.depth)
        }
    }

    /// First hash position after this segment, None at the end of the hash space.
    fn end(&self) -> Option<u64> {
        if self.depth == 0 {
            return None;
        }
        let span = 1u64 << (64 - self.depth);
        self.start().checked_add(span)
    }
}

pub struct Dict<V> {
    dir: Vec<u32>,
    global_depth: u32,
    segs: Vec<Seg<V>>,
    len: usize,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Dict {
            dir: vec![0],
            global_depth: 0,
            segs: vec![Seg {
                depth: 0,
                prefix: 0,
                table: HashTable::new(),
            }],
            len: 0,
        }
    }

    #[inline]
    fn seg_index(&self, hash: u64) -> usize {
        let i = if self.global_depth == 0 {
            0
        } else {
            (hash >> (64 - self.global_depth)) as usize
        };
        self.dir[i] as usize
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        *self = Dict::new();
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let h = hash_key(key);
        let seg = &self.segs[self.seg_index(h)];
        seg.table.find(h, |e| e.0.as_ref() == key).map(|e| &e.1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let h = hash_key(key);
        let i = self.seg_index(h);
        self.segs[i]
            .table
            .find_mut(h, |e| e.0.as_ref() == key)
            .map(|e| &mut e.1)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&CBytes, &V)> {
        let h = hash_key(key);
        let seg = &self.segs[self.seg_index(h)];
        seg.table
            .find(h, |e| e.0.as_ref() == key)
            .map(|e| (&e.0, &e.1))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Insert or replace; returns the previous value.
    pub fn insert(&mut self, key: CBytes, value: V) -> Option<V> {
        let h = hash_key(&key);
        let mut i = self.seg_index(h);
        if let Some(e) = self.segs[i]
            .table
            .find_mut(h, |e| e.0.as_slice() == key.as_slice())
        {
            return Some(std::mem::replace(&mut e.1, value));
        }
        if self.segs[i].table.len() >= SEG_MAX && self.segs[i].depth < 48 {
            self.split(i);
            i = self.seg_index(h);
        }
        self.segs[i]
            .table
            .insert_unique(h, Box::new((key, value)), |e| hash_key(&e.0));
        self.len += 1;
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<(CBytes, V)> {
        let h = hash_key(key);
        let i = self.seg_index(h);
        match self.segs[i].table.find_entry(h, |e| e.0.as_ref() == key) {
            Ok(entry) => {
                let (kv, _) = entry.remove();
                self.len -= 1;
                Some(*kv)
            }
            Err(_) => None,
        }
    }

    fn split(&mut self, i: usize) {
        let depth = self.segs[i].depth;
        if depth == self.global_depth {
            // Double the directory: every slot appears twice.
            let mut dir = Vec::with_capacity(self.dir.len() * 2);
            for &s in &self.dir {
                dir.push(s);
                dir.push(s);
            }
            self.dir = dir;
            self.global_depth += 1;
        }
        let new_depth = depth + 1;
        let low_prefix = self.segs[i].prefix << 1;
        let high_prefix = low_prefix | 1;
        let shift = 64 - new_depth;
        let old = std::mem::replace(&mut self.segs[i].table, HashTable::new());
        let mut low = HashTable::with_capacity(SEG_MAX / 2);
        let mut high = HashTable::with_capacity(SEG_MAX / 2);
        for node in old {
            let h = hash_key(&node.0);
            if (h >> shift) & 1 == 1 {
                high.insert_unique(h, node, |e| hash_key(&e.0));
            } else {
                low.insert_unique(h, node, |e| hash_key(&e.0));
            }
        }
        let seg = &mut self.segs[i];
        seg.depth = new_depth;
        seg.prefix = low_prefix;
        seg.table = low;
        let new_idx = self.segs.len() as u32;
        self.segs.push(Seg {
            depth: new_depth,
            prefix: high_prefix,
            table: high,
        });
        // Directory slots of the high half now point at the new segment.
        let span = 1usize << (self.global_depth - new_depth);
        let first = (high_prefix as usize) << (self.global_depth - new_depth);
        for slot in &mut self.dir[first..first + span] {
            *slot = new_idx;
        }
    }

    /// Visit whole segments from hash position `cursor` until at least `count` entries
    /// were visited; returns the next cursor, 0 when the walk is complete.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&CBytes, &V)) -> u64 {
        let mut pos = cursor;
        let mut seen = 0;
        loop {
            let seg = &self.segs[self.seg_index(pos)];
            for node in seg.table.iter() {
                let (k, v) = &**node;
                f(k, v);
            }
            seen += seg.table.len();
            match seg.end() {
                None => return 0,
                Some(end) => pos = end,
            }
            if seen >= count {
                return pos;
            }
        }
    }

    /// Number of segments (for incremental walks by segment index).
    pub fn segments(&self) -> usize {
        self.segs.len()
    }

    /// Remove, from segment `seg`, the entries `pred` selects (used by active expiry);
    /// returns them.
    pub fn drain_seg_where(
        &mut self,
        seg: usize,
        mut pred: impl FnMut(&CBytes, &V) -> bool,
    ) -> Vec<(CBytes, V)> {
        let mut out = Vec::new();
        if let Some(s) = self.segs.get_mut(seg) {
            for kv in s.table.extract_if(|e| pred(&e.0, &e.1)) {
                out.push(*kv);
            }
        }
        self.len -= out.len();
        out
    }

    /// A uniformly chosen segment, then a uniformly chosen entry in it.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(&CBytes, &V)> {
        if self.len == 0 {
            return None;
        }
        // Segments are nearly equal in size; retry empty ones a bounded number of times.
        for _ in 0..64 {
            let seg = &self.segs[rng.gen_range(0..self.segs.len())];
            let n = seg.table.len();
            if n == 0 {
                continue;
            }
            let skip = rng.gen_range(0..n);
            return seg.table.iter().nth(skip).map(|e| (&e.0, &e.1));
        }
        self.iter().next()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&CBytes, &V)> {
        self.segs
            .iter()
            .flat_map(|s| s.table.iter().map(|e| (&e.0, &e.1)))
    }

    /// Iterate one segment (by index), for incremental walks.
    pub fn seg_iter(&self, seg: usize) -> impl Iterator<Item = (&CBytes, &V)> {
        self.segs
            .get(seg)
            .into_iter()
            .flat_map(|s| s.table.iter().map(|e| (&e.0, &e.1)))
    }

    /// CBytes of table memory (approximate, for INFO).
    pub fn table_bytes(&self) -> usize {
        self.segs
            .iter()
            .map(|s| {
                s.table.capacity() * (std::mem::size_of::<usize>() + 1)
                    + s.table.len() * std::mem::size_of::<(CBytes, V)>()
            })
            .sum::<usize>()
            + self.dir.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(i: usize) -> CBytes {
        CBytes::from_slice(format!("key:{i}").as_bytes())
    }

    #[test]
    fn insert_get_remove_across_splits() {
        let mut d = Dict::new();
        for i in 0..20_000 {
            assert!(d.insert(key(i), i).is_none());
        }
        assert_eq!(d.len(), 20_000);
        assert!(d.segments() > 10);
        for i in 0..20_000 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        assert_eq!(d.insert(key(5), 55), Some(5));
        for i in (0..20_000).step_by(2) {
            assert!(d.remove(&key(i)).is_some());
        }
        assert_eq!(d.len(), 10_000);
        assert_eq!(d.get(&key(2)), None);
        assert_eq!(d.get(&key(3)), Some(&3));
        assert_eq!(d.iter().count(), 10_000);
    }

    #[test]
    fn scan_returns_every_stable_key_despite_growth() {
        let mut d = Dict::new();
        for i in 0..3000 {
            d.insert(key(i), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut next_new = 3000;
        loop {
            cursor = d.scan(cursor, 10, |k, _| {
                seen.insert(k.clone());
            });
            // Grow the dict while scanning: forces splits mid-iteration.
            for _ in 0..200 {
                d.insert(key(next_new), ());
                next_new += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..3000 {
            assert!(seen.contains(&key(i)), "missed key {i}");
        }
    }

    #[test]
    fn drain_and_random() {
        let mut d = Dict::new();
        for i in 0..5000 {
            d.insert(key(i), i);
        }
        use rand::SeedableRng;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        assert!(d.random(&mut rng).is_some());
        let mut drained = 0;
        for s in 0..d.segments() {
            drained += d.drain_seg_where(s, |_, v| v % 2 == 0).len();
        }
        assert_eq!(drained, 2500);
        assert_eq!(d.len(), 2500);
        assert_eq!(d.iter().filter(|(_, v)| *v % 2 == 0).count(), 0);
    }
}

#[cfg(test)]
mod occupancy {
    use super::*;

    #[test]
    fn table_memory_per_key() {
        let mut d: Dict<[u64; 4]> = Dict::new();
        for i in 0..1_000_000u32 {
            d.insert(CBytes::from_slice(format!("key:{i}").as_bytes()), [0; 4]);
        }
        let per_key = d.table_bytes() as f64 / d.len() as f64;
        let node = std::mem::size_of::<(CBytes, [u64; 4])>() as f64;
        let slots = per_key - node;
        eprintln!(
            "segments={} bytes/key={per_key:.1} table bytes/key={slots:.1} occupancy={:.2}",
            d.segments(),
            9.0 / slots
        );
        assert!(slots < 9.0 / 0.4, "occupancy below 40%");
    }
}

//! Sorted-set values and their two encodings.
//!
//! Entries are ordered by (score, member), scores compared as numbers (so `-0` equals
//! `0`), ties by memcmp of the members. Both encodings keep entries in packed
//! [`Chunk`]s: one buffer of `[varint member len][member][score]` entries in order.
//!
//! * `listpack`: one chunk, no index. Lookups by member are linear scans, as in a Redis
//!   listpack; used while the set has at most `zset-max-listpack-entries` members and no
//!   member is longer than `zset-max-listpack-value` bytes.
//! * `skiplist` (Redis's name; reported for OBJECT ENCODING): a segmented [`Dict`]
//!   member -> score (O(1) ZSCORE, stable ZSCAN cursors) plus an ordered vector of
//!   chunks of at most [`CHUNK_MAX`] entries, with a [`Fenwick`] tree of the chunk
//!   lengths beside them. A key is located by binary search over the chunks' first
//!   entries and then a short scan inside one chunk; the tree turns a chunk index into a
//!   global rank and a rank into (chunk, offset), so inserts, deletes, range starts,
//!   ZRANK and rank lookups cost O(log n + CHUNK_MAX). Members cost their bytes twice
//!   (dict node and chunk) but no per-entry pointers or levels, which keeps it under
//!   Redis's skiplist in memory; the tree adds 4 bytes per chunk.
//!
//! Conversions follow Redis: listpack -> skiplist when an insert crosses a threshold;
//! never back, except that stored results (ZUNIONSTORE, ZRANGESTORE...) are built in
//! whichever encoding their final size calls for ([`ZSet::from_pairs`]).
//!
//! Scores are stored compactly: integers of magnitude below 2^53 as a zigzag varint
//! (shifted left once, so the first byte's low bit is 0), anything else as the byte
//! `0x01` followed by the 8 bytes of the f64.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;
use rand::Rng;

pub use self::chunk::{Chunk, ChunkIter};
use super::fenwick::Fenwick;
use crate::shard::dict::Dict;
use crate::shard::value::CBytes;

/// Entries per chunk of the skiplist encoding before it splits in two.
pub const CHUNK_MAX: usize = 128;
/// A chunk whose buffer grows past this many bytes splits too (big members).
const CHUNK_MAX_BYTES: usize = 4096;
/// Neighbouring chunks merge after a removal when both together hold at most this many.
const CHUNK_MERGE: usize = CHUNK_MAX / 2;

/// The conversion thresholds (`zset-max-listpack-entries`, `zset-max-listpack-value`).
pub use super::ListpackLimits as Limits;

/// Order of two entries: by score (numerically, -0 == 0), then by member bytes.
#[inline]
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

#[path = "zset_chunk.rs"]
mod chunk;

// ---- chunk sequences -----------------------------------------------------------------

/// Entries from index `i` of chunk `ci` to the end, in order.
fn iter_at(chunks: &[Chunk], ci: usize, i: usize) -> impl Iterator<Item = (&[u8], f64)> + '_ {
    let first = chunks.get(ci).map(|c| ChunkIter {
        buf: &c.buf,
        pos: c.offset_of(i),
    });
    first
        .into_iter()
        .flatten()
        .chain(chunks.iter().skip(ci + 1).flat_map(Chunk::iter))
}

/// The skiplist encoding: a member index plus ordered chunks.
#[derive(Default)]
pub struct Big {
    dict: Dict<f64>,
    chunks: Vec<Chunk>,
    /// `chunks[i].len()` for every i, for rank <-> (chunk, offset) in O(log n). Entries
    /// added to or removed from a chunk are point updates. A split, merge or dropped
    /// chunk shifts the chunk indices, and the tree is rebuilt in O(chunks): that is the
    /// cost of the `Vec<Chunk>` insert or remove it goes with, and with small members it
    /// comes at most once per ~CHUNK_MAX/2 inserts or removals in that part of the set
    /// (a split leaves two half-full chunks, a merge needs them down to CHUNK_MERGE).
    counts: Fenwick,
}

impl Big {
    /// Recount after the chunk vector's layout changed.
    fn recount(&mut self) {
        self.counts = Fenwick::from_counts(self.chunks.iter().map(|c| c.n));
    }

    /// Rank of the first entry for which `before` is false.
    fn partition(&self, before: &impl Fn(&[u8], f64) -> bool) -> usize {
        let ci = self
            .chunks
            .partition_point(|c| c.first().is_some_and(|(m, s)| before(m, s)));
        if ci == 0 {
            return 0;
        }
        self.counts.prefix(ci - 1) + self.chunks[ci - 1].position(before).0
    }

    /// The chunk a new entry (s, m) belongs in.
    fn chunk_for(&self, m: &[u8], s: f64) -> usize {
        let ci = self.chunks.partition_point(|c| {
            c.first()
                .is_some_and(|(em, es)| cmp_entry(es, em, s, m) != Ordering::Greater)
        });
        ci.saturating_sub(1)
    }

    fn insert_entry(&mut self, m: &[u8], s: f64) {
        if self.chunks.is_empty() {
            self.chunks.push(Chunk::default());
            self.recount();
        }
        let ci = self.chunk_for(m, s);
        let c = &mut self.chunks[ci];
        c.insert_sorted(m, s);
        if c.len() > CHUNK_MAX || (c.buf.len() > CHUNK_MAX_BYTES && c.len() > 1) {
            let right = c.split();
            self.chunks.insert(ci + 1, right);
            self.recount();
        } else {
            self.counts.add(ci, 1);
        }
    }

    fn remove_entry(&mut self, m: &[u8], s: f64) {
        let ci = self.chunk_for(m, s);
        let Some(c) = self.chunks.get_mut(ci) else {
            return;
        };
        if !c.remove_entry(m, s) {
            return;
        }
        if c.len() == 0 {
            self.chunks.remove(ci);
            self.recount();
        } else if !self.merge_next(ci) {
            self.counts.add(ci, -1);
        }
    }

    /// Merge chunk `ci` with the next when both are small, so deletions do not leave a
    /// long tail of nearly empty chunks. True if it merged (and recounted).
    fn merge_next(&mut self, ci: usize) -> bool {
        let (Some(c), Some(next)) = (self.chunks.get(ci), self.chunks.get(ci + 1)) else {
            return false;
        };
        if c.len() + next.len() > CHUNK_MERGE || c.buf.len() + next.buf.len() > CHUNK_MAX_BYTES {
            return false;
        }
        let next = self.chunks.remove(ci + 1);
        self.chunks[ci].append(&next);
        self.recount();
        true
    }

    /// Remove the entries of ranks `lo..hi` (lo < hi <= len) in O(log n + (hi - lo) +
    /// chunks): whole chunks in between go at once, the two ends are cut.
    fn remove_ranks(&mut self, lo: usize, hi: usize) {
        let (Some((c0, i0)), Some((c1, i1))) = (self.counts.find(lo), self.counts.find(hi - 1))
        else {
            return;
        };
        for (m, _) in iter_at(&self.chunks, c0, i0).take(hi - lo) {
            self.dict.remove(m);
        }
        if c0 == c1 {
            self.chunks[c0].remove_span(i0, i1 + 1);
        } else {
            self.chunks[c1].remove_span(0, i1 + 1);
            let end = self.chunks[c0].len();
            self.chunks[c0].remove_span(i0, end);
            self.chunks.drain(c0 + 1..c1);
        }
        // The cut ends are now chunks c0 and c0 + 1.
        if self.chunks.get(c0 + 1).is_some_and(|c| c.len() == 0) {
            self.chunks.remove(c0 + 1);
        }
        if self.chunks[c0].len() == 0 {
            self.chunks.remove(c0);
        } else if self.merge_next(c0) {
            return;
        }
        self.recount();
    }
}

/// A sorted set.
pub enum ZSet {
    Pack(Chunk),
    Big(Box<Big>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZSet")
            .field("encoding", &self.encoding())
            .field("entries", &self.to_vec())
            .finish()
    }
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        match self {
            ZSet::Pack(c) => ZSet::Pack(c.clone()),
            ZSet::Big(b) => {
                let mut dict = Dict::new();
                for (k, v) in b.dict.iter() {
                    dict.insert(k.clone(), *v);
                }
                ZSet::Big(Box::new(Big {
                    dict,
                    chunks: b.chunks.clone(),
                    counts: b.counts.clone(),
                }))
            }
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Bounds of a score range (`(1` is exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_excl: bool,
    pub max_excl: bool,
}

/// One end of a lex range: `-`, `+`, `[x` or `(x`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Bytes),
    Excl(Bytes),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::Pack(Chunk::default())
    }

    /// An empty set in the skiplist encoding (a zero entries threshold asks for it).
    pub fn new_big() -> ZSet {
        ZSet::Big(Box::default())
    }

    /// The empty set a first member of `first_len` bytes calls for (Redis's ZADD).
    pub fn new_for(first_len: usize, lim: &Limits) -> ZSet {
        if lim.entries == 0 || first_len > lim.value {
            ZSet::new_big()
        } else {
            ZSet::new()
        }
    }

    /// A set of `pairs` (members distinct), in the encoding its size calls for.
    pub fn from_pairs(mut pairs: Vec<(Bytes, f64)>, lim: &Limits) -> ZSet {
        pairs.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        let maxlen = pairs.iter().map(|p| p.0.len()).max().unwrap_or(0);
        if pairs.len() <= lim.entries && maxlen <= lim.value {
            let zero = |s: f64| if s == 0.0 { 0.0 } else { s };
            return ZSet::Pack(Chunk::from_sorted(
                pairs.iter().map(|(m, s)| (&m[..], zero(*s))),
            ));
        }
        let mut big = Big::default();
        for (m, s) in &pairs {
            big.dict.insert(CBytes::from_slice(m), *s);
        }
        for part in pairs.chunks(CHUNK_MAX / 2) {
            big.chunks
                .push(Chunk::from_sorted(part.iter().map(|(m, s)| (&m[..], *s))));
        }
        big.recount();
        ZSet::Big(Box::new(big))
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Big(_) => "skiplist",
        }
    }

    /// Approximate heap bytes (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                ZSet::Pack(c) => c.buf.len(),
                ZSet::Big(b) => {
                    b.dict.table_bytes()
                        + b.dict
                            .iter()
                            .map(|(k, _)| 24 + k.heap_size())
                            .sum::<usize>()
                        + b.chunks
                            .iter()
                            .map(|c| std::mem::size_of::<Chunk>() + c.buf.len())
                            .sum::<usize>()
                        + b.counts.heap_bytes()
                }
            }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(c) => c.len(),
            ZSet::Big(b) => b.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn chunks(&self) -> &[Chunk] {
        match self {
            ZSet::Pack(c) => std::slice::from_ref(c),
            ZSet::Big(b) => &b.chunks,
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(c) => c.find_member(member).map(|(_, s)| s),
            ZSet::Big(b) => b.dict.get(member).copied(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Add `member` or update its score; true when it is new. `score` must not be NaN.
    /// Converts to the skiplist encoding when a new member crosses a threshold.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: &Limits) -> bool {
        match self {
            ZSet::Pack(c) => {
                // A listpack keeps scores as text and reads "-0" back as 0.
                let norm = if score == 0.0 { 0.0 } else { score };
                if let Some((pos, old)) = c.find_member(member) {
                    if old != norm {
                        c.remove_at(pos);
                        c.insert_sorted(member, norm);
                    }
                    return false;
                }
                if c.len() < lim.entries && member.len() <= lim.value {
                    c.insert_sorted(member, norm);
                    return true;
                }
                self.convert();
                self.insert(member, score, lim)
            }
            ZSet::Big(b) => match b.dict.get_mut(member) {
                Some(old) => {
                    let prev = *old;
                    if prev != score {
                        *old = score;
                        b.remove_entry(member, prev);
                        b.insert_entry(member, score);
                    }
                    false
                }
                None => {
                    b.dict.insert(CBytes::from_slice(member), score);
                    b.insert_entry(member, score);
                    true
                }
            },
        }
    }

    /// Switch a listpack to the skiplist encoding.
    fn convert(&mut self) {
        if let ZSet::Pack(c) = self {
            let mut big = Big::default();
            for (m, s) in c.iter() {
                big.dict.insert(CBytes::from_slice(m), s);
            }
            big.chunks.push(std::mem::take(c));
            if big.chunks[0].len() > CHUNK_MAX / 2 {
                let right = big.chunks[0].split();
                big.chunks.push(right);
            }
            big.recount();
            *self = ZSet::Big(Box::new(big));
        }
    }

    /// Remove `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Pack(c) => match c.find_member(member) {
                Some((pos, _)) => {
                    c.remove_at(pos);
                    true
                }
                None => false,
            },
            ZSet::Big(b) => match b.dict.remove(member) {
                Some((_, s)) => {
                    b.remove_entry(member, s);
                    true
                }
                None => false,
            },
        }
    }

    /// All entries in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.chunks().iter().flat_map(Chunk::iter)
    }

    /// Owned copies of all entries, ascending.
    pub fn to_vec(&self) -> Vec<(Bytes, f64)> {
        self.range(0, self.len())
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let s = self.score(member)?;
        Some(self.partition(|em, es| cmp_entry(es, em, s, member) == Ordering::Less))
    }

    /// The chunk holding rank `r` and the index inside it.
    fn locate(&self, r: usize) -> Option<(usize, usize)> {
        match self {
            ZSet::Pack(c) => (r < c.len()).then_some((0, r)),
            ZSet::Big(b) => b.counts.find(r),
        }
    }

    /// Entries of ranks `lo..`, in order.
    fn iter_from(&self, lo: usize) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let chunks = self.chunks();
        let (ci, i) = self.locate(lo).unwrap_or((chunks.len(), 0));
        iter_at(chunks, ci, i)
    }

    /// Entries of ranks `lo..hi` (ascending; clamped to the set).
    pub fn range(&self, lo: usize, hi: usize) -> Vec<(Bytes, f64)> {
        let hi = hi.min(self.len());
        if lo >= hi {
            return Vec::new();
        }
        self.iter_from(lo)
            .take(hi - lo)
            .map(|(m, s)| (Bytes::copy_from_slice(m), s))
            .collect()
    }

    /// Visit entries of ranks `lo..` in ascending order until `f` returns false.
    pub fn each_from(&self, lo: usize, mut f: impl FnMut(&[u8], f64) -> bool) {
        for (m, s) in self.iter_from(lo) {
            if !f(m, s) {
                break;
            }
        }
    }

    /// The entry of rank `r`.
    pub fn nth(&self, r: usize) -> Option<(Bytes, f64)> {
        self.range(r, r + 1).pop()
    }

    /// Rank of the first entry for which `before(member, score)` is false; `before`
    /// must be true for a prefix of the order.
    pub fn partition(&self, before: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            ZSet::Pack(c) => c.position(&before).0,
            ZSet::Big(b) => b.partition(&before),
        }
    }

    /// The ranks `start..end` of the entries inside a score range.
    pub fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        let (min, max) = (r.min, r.max);
        let start = if r.min_excl {
            self.partition(|_, s| s <= min)
        } else {
            self.partition(|_, s| s < min)
        };
        let end = if r.max_excl {
            self.partition(|_, s| s < max)
        } else {
            self.partition(|_, s| s <= max)
        };
        (start, end.max(start))
    }

    /// The ranks `start..end` of the entries inside a lex range (meaningful when all
    /// scores are equal, as in Redis).
    pub fn lex_ranks(&self, r: &LexRange) -> (usize, usize) {
        let start = match &r.min {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(x) => self.partition(|m, _| m < &x[..]),
            LexBound::Excl(x) => self.partition(|m, _| m <= &x[..]),
        };
        let end = match &r.max {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(x) => self.partition(|m, _| m <= &x[..]),
            LexBound::Excl(x) => self.partition(|m, _| m < &x[..]),
        };
        (start, end.max(start))
    }

    /// Remove the entries of ranks `lo..hi`; returns how many went.
    pub fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        let hi = hi.min(self.len());
        if lo >= hi {
            return 0;
        }
        match self {
            ZSet::Pack(c) => c.remove_span(lo, hi),
            ZSet::Big(b) => b.remove_ranks(lo, hi),
        }
        hi - lo
    }

    /// Remove and return up to `count` entries from the low end (or the high end when
    /// `max`), in pop order.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Bytes, f64)> {
        let n = self.len();
        let count = count.min(n);
        let mut out = if max {
            let mut v = self.range(n - count, n);
            v.reverse();
            v
        } else {
            self.range(0, count)
        };
        if count == n {
            *self = ZSet::new();
        } else if max {
            self.remove_ranks(n - count, n);
        } else {
            self.remove_ranks(0, count);
        }
        out.shrink_to_fit();
        out
    }

    /// A uniformly random entry.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(Bytes, f64)> {
        if self.is_empty() {
            return None;
        }
        self.nth(rng.gen_range(0..self.len()))
    }

    /// ZSCAN step: a listpack returns everything with cursor 0 (as Redis does); the
    /// skiplist walks the dict's hash ranges, so members present throughout are seen.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Big(b) => b.dict.scan(cursor, count, |k, v| f(k.as_slice(), *v)),
            ZSet::Pack(c) => {
                for (m, s) in c.iter() {
                    f(m, s);
                }
                0
            }
        }
    }
}

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;

//! List values: a quicklist, i.e. a sequence of compact nodes, each one contiguous byte
//! buffer of entries `[varint len][bytes][back-length]` (our own "listpack"). The
//! back-length (header plus payload size, readable from its last byte) lets the tail
//! be reached from the end: RPUSH/RPOP cost the same as LPUSH/LPOP on a full node.
//!
//! Redis 7.0 reports every list as `quicklist` (the single-listpack encoding for small
//! lists arrived in 7.2), so OBJECT ENCODING is always `quicklist`; what
//! `list-max-listpack-size` (the "fill") decides is how big each node may grow.
//! A small list is one node: three allocations (the box, the node table, the buffer).

use bytes::Bytes;

use super::varint;

/// Node byte limits for fill -1..-5 (4, 8, 16, 32, 64 KB), as Redis's quicklist.
const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a positive fill (entry count), a node still stays under this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;

/// One node: entries as `varint(len) bytes`, back to back.
#[derive(Debug, Clone, PartialEq, Default)]
struct Node {
    buf: Vec<u8>,
    count: u32,
}

/// Bytes the entry for a `len`-byte element takes.
fn entry_size(len: usize) -> usize {
    let body = varint::len(len) + len;
    body + varint::len(body)
}

/// Append the entry for `v`.
fn encode_into(out: &mut Vec<u8>, v: &[u8]) {
    let start = out.len();
    varint::put(out, v.len());
    out.extend_from_slice(v);
    let body = out.len() - start;
    // The back-length: most significant group first, every later byte flagged, so a
    // reader starting at the last byte knows when to stop.
    let k = varint::len(body);
    for g in (0..k).rev() {
        let b = ((body >> (7 * g)) & 0x7f) as u8;
        out.push(if g == k - 1 { b } else { b | 0x80 });
    }
}

/// The encoded entry `v`.
fn encode(v: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(entry_size(v.len()));
    encode_into(&mut e, v);
    e
}

impl Node {
    fn from_entry(v: &[u8]) -> Node {
        Node {
            buf: encode(v),
            count: 1,
        }
    }

    /// The entry at byte offset `off`: (payload start, payload end, next entry's
    /// offset). Offsets come from our own encoder, so they are always in bounds.
    #[inline]
    fn entry_at(&self, off: usize) -> (usize, usize, usize) {
        let (n, p) = varint::read(&self.buf, off);
        let end = p + n;
        (p, end, end + varint::len(end - off))
    }

    /// Offset of the entry that ends at `end` (its back-length is the last bytes).
    #[inline]
    fn entry_before(&self, end: usize) -> usize {
        let (mut n, mut shift, mut p) = (0usize, 0, end);
        loop {
            p -= 1;
            let b = self.buf[p];
            n |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        p - n
    }

    /// Byte offset of entry `i` (`i == count` gives the end), walked from the nearer
    /// end of the node.
    fn offset_of(&self, i: usize) -> usize {
        let count = self.count as usize;
        if i > count / 2 {
            let mut off = self.buf.len();
            for _ in i..count {
                off = self.entry_before(off);
            }
            return off;
        }
        let mut off = 0;
        for _ in 0..i {
            off = self.entry_at(off).2;
        }
        off
    }

    fn get(&self, i: usize) -> &[u8] {
        let (s, e, _) = self.entry_at(self.offset_of(i));
        &self.buf[s..e]
    }

    fn iter(&self) -> NodeIter<'_> {
        NodeIter { node: self, off: 0 }
    }

    fn insert(&mut self, i: usize, v: &[u8]) {
        let off = self.offset_of(i);
        if off == self.buf.len() {
            self.buf.reserve_exact(entry_size(v.len()));
            encode_into(&mut self.buf, v);
        } else {
            let e = encode(v);
            self.buf.reserve_exact(e.len());
            self.buf.splice(off..off, e);
        }
        self.count += 1;
    }

    fn remove(&mut self, i: usize) -> Bytes {
        let off = self.offset_of(i);
        let (s, e, next) = self.entry_at(off);
        let v = Bytes::copy_from_slice(&self.buf[s..e]);
        self.buf.drain(off..next);
        self.count -= 1;
        v
    }

    /// Drop entries `[from, to)`.
    fn remove_range(&mut self, from: usize, to: usize) {
        let a = self.offset_of(from);
        let mut b = a;
        for _ in from..to {
            b = self.entry_at(b).2;
        }
        self.buf.drain(a..b);
        self.count -= (to - from) as u32;
    }

    fn replace(&mut self, i: usize, v: &[u8]) {
        let off = self.offset_of(i);
        let (_, _, next) = self.entry_at(off);
        self.buf.splice(off..next, encode(v));
    }

    /// Split off entries `[at, count)` into a new node.
    fn split_off(&mut self, at: usize) -> Node {
        let off = self.offset_of(at);
        let tail = self.buf.split_off(off);
        let n = Node {
            buf: tail,
            count: self.count - at as u32,
        };
        self.count = at as u32;
        self.buf.shrink_to_fit();
        n
    }

    fn shrink(&mut self) {
        if self.buf.capacity() > self.buf.len() + 64 {
            self.buf.shrink_to_fit();
        }
    }
}

struct NodeIter<'a> {
    node: &'a Node,
    off: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.off >= self.node.buf.len() {
            return None;
        }
        let (s, e, next) = self.node.entry_at(self.off);
        self.off = next;
        Some(&self.node.buf[s..e])
    }
}

/// Whether a node of `bytes` bytes and `count` entries is within the fill.
fn fits(fill: i64, bytes: usize, count: usize) -> bool {
    if fill >= 0 {
        count <= (fill.max(1) as usize) && bytes <= SIZE_SAFETY_LIMIT
    } else {
        let i = ((-fill) as usize).min(5) - 1;
        bytes <= SIZE_LIMITS[i]
    }
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    nodes: Vec<Node>,
    len: usize,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// OBJECT ENCODING: Redis 7.0 lists are always quicklists.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .nodes
                .iter()
                .map(|n| std::mem::size_of::<Node>() + n.buf.capacity())
                .sum::<usize>()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of nodes (tests and debugging).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn push(&mut self, end: End, v: &[u8], fill: i64) {
        match end {
            End::Left => self.insert(0, v, fill),
            End::Right => self.insert(self.len, v, fill),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Bytes> {
        if self.len == 0 {
            return None;
        }
        let (ni, i) = match end {
            End::Left => (0, 0),
            End::Right => {
                let ni = self.nodes.len() - 1;
                (ni, self.nodes[ni].count as usize - 1)
            }
        };
        let v = self.nodes[ni].remove(i);
        self.len -= 1;
        if self.nodes[ni].count == 0 {
            self.nodes.remove(ni);
        }
        Some(v)
    }

    /// (node, index in node) of list index `i < len`, walking from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut i = i;
            for (ni, n) in self.nodes.iter().enumerate() {
                if i < n.count as usize {
                    return (ni, i);
                }
                i -= n.count as usize;
            }
        } else {
            let mut back = self.len - 1 - i;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if back < n.count as usize {
                    return (ni, n.count as usize - 1 - back);
                }
                back -= n.count as usize;
            }
        }
        unreachable!("index checked against len")
    }

    /// Redis-style index (negative from the tail) to a position, if in range.
    pub fn index(&self, i: i64) -> Option<usize> {
        let i = if i < 0 {
            i.checked_add(self.len as i64)?
        } else {
            i
        };
        (i >= 0 && (i as usize) < self.len).then_some(i as usize)
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (ni, j) = self.locate(i);
        Some(self.nodes[ni].get(j))
    }

    /// Replace element `i`; false if out of range.
    pub fn set(&mut self, i: usize, v: &[u8], fill: i64) -> bool {
        if i >= self.len {
            return false;
        }
        let (ni, j) = self.locate(i);
        self.nodes[ni].replace(j, v);
        self.split_if_needed(ni, fill);
        true
    }

    /// Insert `v` so that it becomes element `i` (`i <= len`).
    pub fn insert(&mut self, i: usize, v: &[u8], fill: i64) {
        let add = entry_size(v.len());
        if self.nodes.is_empty() {
            self.len = 1;
            self.nodes.reserve_exact(1);
            self.nodes.push(Node::from_entry(v));
            return;
        }
        // Position (node, index): at a node boundary prefer a node with room.
        let (ni, j) = if i == self.len {
            let ni = self.nodes.len() - 1;
            (ni, self.nodes[ni].count as usize)
        } else {
            self.locate(i)
        };
        self.len += 1;
        let room = |n: &Node| fits(fill, n.buf.len() + add, n.count as usize + 1);
        if room(&self.nodes[ni]) {
            self.nodes[ni].insert(j, v);
        } else if j == 0 && ni > 0 && room(&self.nodes[ni - 1]) {
            let c = self.nodes[ni - 1].count as usize;
            self.nodes[ni - 1].insert(c, v);
        } else if j == 0 {
            self.nodes.insert(ni, Node::from_entry(v));
        } else if j == self.nodes[ni].count as usize {
            if ni + 1 < self.nodes.len() && room(&self.nodes[ni + 1]) {
                self.nodes[ni + 1].insert(0, v);
            } else {
                self.nodes.insert(ni + 1, Node::from_entry(v));
            }
        } else {
            self.nodes[ni].insert(j, v);
            self.split_if_needed(ni, fill);
        }
    }

    /// Split node `ni` in halves while it is over the fill (after an insert or replace
    /// in the middle of a full node).
    fn split_if_needed(&mut self, ni: usize, fill: i64) {
        let n = &self.nodes[ni];
        if n.count <= 1 || fits(fill, n.buf.len(), n.count as usize) {
            return;
        }
        let at = n.count as usize / 2;
        let tail = self.nodes[ni].split_off(at);
        self.nodes.insert(ni + 1, tail);
        self.split_if_needed(ni + 1, fill);
        self.split_if_needed(ni, fill);
    }

    /// Remove element `i`, merging its node with a neighbour when both fit in one.
    pub fn remove(&mut self, i: usize, fill: i64) -> Option<Bytes> {
        if i >= self.len {
            return None;
        }
        let (ni, j) = self.locate(i);
        let v = self.nodes[ni].remove(j);
        self.len -= 1;
        if self.nodes[ni].count == 0 {
            self.nodes.remove(ni);
        } else {
            self.try_merge(ni, fill);
        }
        Some(v)
    }

    /// Merge node `ni` into a neighbour if the two fit the fill together.
    fn try_merge(&mut self, ni: usize, fill: i64) {
        let fit = |a: &Node, b: &Node| {
            fits(
                fill,
                a.buf.len() + b.buf.len(),
                (a.count + b.count) as usize,
            )
        };
        if ni + 1 < self.nodes.len() && fit(&self.nodes[ni], &self.nodes[ni + 1]) {
            let next = self.nodes.remove(ni + 1);
            let n = &mut self.nodes[ni];
            n.buf.extend_from_slice(&next.buf);
            n.count += next.count;
        } else if ni > 0 && fit(&self.nodes[ni - 1], &self.nodes[ni]) {
            let cur = self.nodes.remove(ni);
            let p = &mut self.nodes[ni - 1];
            p.buf.extend_from_slice(&cur.buf);
            p.count += cur.count;
        } else {
            self.nodes[ni].shrink();
        }
    }

    /// Keep only elements `[start, end)` (LTRIM), dropping whole nodes where possible.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.len);
        if start >= end {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        // Tail first so the head indexes stay valid.
        let mut drop_tail = self.len - end;
        while drop_tail > 0 {
            let last = self.nodes.len() - 1;
            let c = self.nodes[last].count as usize;
            if c <= drop_tail {
                self.nodes.pop();
                drop_tail -= c;
            } else {
                self.nodes[last].remove_range(c - drop_tail, c);
                self.nodes[last].shrink();
                drop_tail = 0;
            }
        }
        let mut drop_head = start;
        while drop_head > 0 {
            let c = self.nodes[0].count as usize;
            if c <= drop_head {
                self.nodes.remove(0);
                drop_head -= c;
            } else {
                self.nodes[0].remove_range(0, drop_head);
                self.nodes[0].shrink();
                drop_head = 0;
            }
        }
        self.len = end - start;
        self.nodes.shrink_to_fit();
    }

    /// Elements from the head.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        // Nodes are iterated forward only; reversing collects one node at a time.
        self.nodes.iter().flat_map(|n| n.iter().collect::<Vec<_>>())
    }

    /// Elements `[start, end]` (inclusive, already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(end + 1 - start);
        self.range_each(start, end, |v| out.push(Bytes::copy_from_slice(v)));
        out
    }

    /// Visit the elements `start..=end` in order (clamped to the list).
    pub fn range_each(&self, start: usize, end: usize, mut f: impl FnMut(&[u8])) {
        if start >= self.len || end < start {
            return;
        }
        let (mut ni, mut j) = self.locate(start);
        let mut left = end + 1 - start;
        while left > 0 && ni < self.nodes.len() {
            for v in self.nodes[ni].iter().skip(j) {
                f(v);
                left -= 1;
                if left == 0 {
                    break;
                }
            }
            ni += 1;
            j = 0;
        }
    }

    /// Rebuild from the elements for which `keep` returns true (LREM); returns the number
    /// removed.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, &[u8]) -> bool, fill: i64) -> usize {
        let mut out = List::new();
        for (i, v) in self.iter().enumerate() {
            if keep(i, v) {
                out.push(End::Right, v, fill);
            }
        }
        let removed = self.len - out.len;
        if removed > 0 {
            out.nodes.shrink_to_fit();
            *self = out;
        }
        removed
    }

    pub fn from_iter<'a>(items: impl IntoIterator<Item = &'a [u8]>, fill: i64) -> List {
        let mut l = List::new();
        for v in items {
            l.push(End::Right, v, fill);
        }
        l
    }

    /// Every node within the fill (or a single oversized entry) and counts consistent.
    #[cfg(test)]
    pub fn check(&self, fill: i64) {
        let total: usize = self.nodes.iter().map(|n| n.count as usize).sum();
        assert_eq!(total, self.len);
        for n in &self.nodes {
            assert!(n.count > 0);
            assert_eq!(n.iter().count(), n.count as usize);
            assert!(
                n.count == 1 || fits(fill, n.buf.len(), n.count as usize),
                "node over fill"
            );
        }
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;

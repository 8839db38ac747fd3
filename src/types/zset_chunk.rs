//! The packed entry format of sorted sets and the [`Chunk`]s both encodings keep their
//! entries in: `[varint member len][member][score]`, in (score, member) order.

use std::cmp::Ordering;

use super::cmp_entry;
use crate::types::varint;

// ---- entry codec ---------------------------------------------------------------------

/// Scores exactly representable as small integers (and not -0, whose sign matters).
fn score_as_int(s: f64) -> Option<i64> {
    if s.fract() == 0.0 && s.abs() < 9.0e15 && !(s == 0.0 && s.is_sign_negative()) {
        Some(s as i64)
    } else {
        None
    }
}

fn put_score(buf: &mut Vec<u8>, s: f64) {
    match score_as_int(s) {
        Some(i) => {
            let z = ((i << 1) ^ (i >> 63)) as u64;
            varint::put(buf, (z << 1) as usize);
        }
        None => {
            buf.push(1);
            buf.extend_from_slice(&s.to_le_bytes());
        }
    }
}

#[inline]
fn read_score(buf: &[u8], pos: usize) -> (f64, usize) {
    if buf[pos] == 1 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&buf[pos + 1..pos + 9]);
        (f64::from_le_bytes(a), pos + 9)
    } else {
        let (v, next) = varint::read(buf, pos);
        let z = v as u64 >> 1;
        let i = ((z >> 1) as i64) ^ -((z & 1) as i64);
        (i as f64, next)
    }
}

fn encode_entry(buf: &mut Vec<u8>, m: &[u8], s: f64) {
    varint::put(buf, m.len());
    buf.extend_from_slice(m);
    put_score(buf, s);
}

/// The entry at `pos`: (member, score, position of the next entry).
#[inline]
fn read_entry(buf: &[u8], pos: usize) -> (&[u8], f64, usize) {
    let (ml, mp) = varint::read(buf, pos);
    let end = mp + ml as usize;
    let (s, next) = read_score(buf, end);
    (&buf[mp..end], s, next)
}

// ---- chunks --------------------------------------------------------------------------

/// Entries in (score, member) order, packed in one exactly-sized buffer.
#[derive(Clone, Default, PartialEq)]
pub struct Chunk {
    pub(super) buf: Box<[u8]>,
    pub(super) n: u32,
}

pub struct ChunkIter<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (m, s, next) = read_entry(self.buf, self.pos);
        self.pos = next;
        Some((m, s))
    }
}

impl Chunk {
    pub(super) fn len(&self) -> usize {
        self.n as usize
    }

    pub(super) fn iter(&self) -> ChunkIter<'_> {
        ChunkIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    pub(super) fn first(&self) -> Option<(&[u8], f64)> {
        self.iter().next()
    }

    /// Index and offset of the first entry for which `before` is false (`before` must
    /// hold for a prefix of the entries).
    pub(super) fn position(&self, before: &impl Fn(&[u8], f64) -> bool) -> (usize, usize) {
        let mut pos = 0;
        let mut i = 0;
        while pos < self.buf.len() {
            let (m, s, next) = read_entry(&self.buf, pos);
            if !before(m, s) {
                break;
            }
            pos = next;
            i += 1;
        }
        (i, pos)
    }

    /// Offset of entry `i` (the buffer's end for i == len).
    pub(super) fn offset_of(&self, i: usize) -> usize {
        let mut pos = 0;
        for _ in 0..i {
            pos = read_entry(&self.buf, pos).2;
        }
        pos
    }

    /// (offset, score) of `m` by a linear scan.
    pub(super) fn find_member(&self, m: &[u8]) -> Option<(usize, f64)> {
        let mut pos = 0;
        while pos < self.buf.len() {
            let (em, s, next) = read_entry(&self.buf, pos);
            if em == m {
                return Some((pos, s));
            }
            pos = next;
        }
        None
    }

    pub(super) fn insert_at(&mut self, pos: usize, m: &[u8], s: f64) {
        let mut enc = Vec::with_capacity(m.len() + 12);
        encode_entry(&mut enc, m, s);
        let mut v = Vec::with_capacity(self.buf.len() + enc.len());
        v.extend_from_slice(&self.buf[..pos]);
        v.extend_from_slice(&enc);
        v.extend_from_slice(&self.buf[pos..]);
        self.buf = v.into_boxed_slice();
        self.n += 1;
    }

    pub(super) fn remove_at(&mut self, pos: usize) {
        let next = read_entry(&self.buf, pos).2;
        self.cut(pos, next, 1);
    }

    /// Remove entries `i..j` (j <= len).
    pub(super) fn remove_span(&mut self, i: usize, j: usize) {
        let from = self.offset_of(i);
        let mut to = from;
        for _ in i..j {
            to = read_entry(&self.buf, to).2;
        }
        self.cut(from, to, j - i);
    }

    /// Drop the bytes `from..to`, which hold `n` whole entries.
    fn cut(&mut self, from: usize, to: usize, n: usize) {
        let mut v = Vec::with_capacity(self.buf.len() - (to - from));
        v.extend_from_slice(&self.buf[..from]);
        v.extend_from_slice(&self.buf[to..]);
        self.buf = v.into_boxed_slice();
        self.n -= n as u32;
    }

    /// Insert keeping the order (the entry must not be present).
    pub(super) fn insert_sorted(&mut self, m: &[u8], s: f64) {
        let (_, pos) = self.position(&|em, es| cmp_entry(es, em, s, m) == Ordering::Less);
        self.insert_at(pos, m, s);
    }

    /// Remove the entry (score, member) if present.
    pub(super) fn remove_entry(&mut self, m: &[u8], s: f64) -> bool {
        let (_, pos) = self.position(&|em, es| cmp_entry(es, em, s, m) == Ordering::Less);
        if pos < self.buf.len() && read_entry(&self.buf, pos).0 == m {
            self.remove_at(pos);
            true
        } else {
            false
        }
    }

    /// Keep the first half, return the second.
    pub(super) fn split(&mut self) -> Chunk {
        let half = self.len() / 2;
        let at = self.offset_of(half);
        let right = Chunk {
            buf: self.buf[at..].into(),
            n: self.n - half as u32,
        };
        self.buf = self.buf[..at].into();
        self.n = half as u32;
        right
    }

    pub(super) fn append(&mut self, other: &Chunk) {
        let mut v = Vec::with_capacity(self.buf.len() + other.buf.len());
        v.extend_from_slice(&self.buf);
        v.extend_from_slice(&other.buf);
        self.buf = v.into_boxed_slice();
        self.n += other.n;
    }

    pub(super) fn from_sorted<'a>(entries: impl Iterator<Item = (&'a [u8], f64)>) -> Chunk {
        let mut v = Vec::new();
        let mut n = 0;
        for (m, s) in entries {
            encode_entry(&mut v, m, s);
            n += 1;
        }
        Chunk {
            buf: v.into_boxed_slice(),
            n,
        }
    }
}

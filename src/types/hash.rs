//! Hash values: Redis's two encodings.
//!
//! * `listpack`: one contiguous byte buffer of length-prefixed entries, field then value,
//!   in insertion order. Small hashes are the common case (100k hashes of 10 fields), so
//!   they cost one allocation plus the box, as a Redis listpack does.
//! * `hashtable`: the keyspace [`Dict`] (boxed nodes, stateless SCAN cursors), used once
//!   the hash has more than `hash-max-listpack-entries` fields or any field or value is
//!   longer than `hash-max-listpack-value` bytes. Like Redis, it never converts back.

use std::fmt;

use rand::Rng;

use super::varint;
use crate::shard::dict::Dict;
use crate::shard::value::CBytes;

/// The conversion thresholds (`hash-max-listpack-entries`, `hash-max-listpack-value`).
pub use super::ListpackLimits as Limits;

/// Small hashes: `[len field][len value]...` in one buffer.
#[derive(Clone, Default, PartialEq)]
pub struct Listpack {
    buf: Vec<u8>,
    len: u32,
}

/// Where a field's entry sits in the buffer.
struct Found {
    /// Start of the value's length prefix.
    val_hdr: usize,
    val: (usize, usize),
    /// Start of the field's length prefix.
    start: usize,
}

impl Listpack {
    pub fn iter(&self) -> LpIter<'_> {
        LpIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    fn find(&self, field: &[u8]) -> Option<Found> {
        let mut pos = 0;
        while pos < self.buf.len() {
            let start = pos;
            let (fl, fp) = varint::read(&self.buf, pos);
            let val_hdr = fp + fl;
            let (vl, vp) = varint::read(&self.buf, val_hdr);
            pos = vp + vl;
            if &self.buf[fp..fp + fl] == field {
                return Some(Found {
                    val_hdr,
                    val: (vp, vp + vl),
                    start,
                });
            }
        }
        None
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|f| &self.buf[f.val.0..f.val.1])
    }

    /// Set a field; true when it is new.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(f) => {
                let mut enc = Vec::with_capacity(value.len() + 2);
                varint::put(&mut enc, value.len());
                enc.extend_from_slice(value);
                self.buf.splice(f.val_hdr..f.val.1, enc);
                false
            }
            None => {
                // Grow exactly: small hashes are many, slack would add up.
                self.buf.reserve_exact(
                    varint::len(field.len()) + field.len() + varint::len(value.len()) + value.len(),
                );
                varint::put(&mut self.buf, field.len());
                self.buf.extend_from_slice(field);
                varint::put(&mut self.buf, value.len());
                self.buf.extend_from_slice(value);
                self.len += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(f) => {
                self.buf.drain(f.start..f.val.1);
                self.len -= 1;
                true
            }
            None => false,
        }
    }
}

/// Iterator over a listpack's (field, value) pairs.
pub struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (fl, fp) = varint::read(self.buf, self.pos);
        let (vl, vp) = varint::read(self.buf, fp + fl);
        self.pos = vp + vl;
        Some((&self.buf[fp..fp + fl], &self.buf[vp..vp + vl]))
    }
}

pub enum Hash {
    Listpack(Listpack),
    Table(Box<Dict<CBytes>>),
}

/// Iterator over either encoding's (field, value) pairs.
pub enum Iter<'a> {
    Lp(LpIter<'a>),
    Table(Box<dyn Iterator<Item = (&'a CBytes, &'a CBytes)> + 'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Lp(it) => it.next(),
            Iter::Table(it) => it.next().map(|(k, v)| (k.as_slice(), v.as_slice())),
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Listpack::default())
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Listpack(lp) => Hash::Listpack(lp.clone()),
            Hash::Table(t) => {
                let mut d = Dict::new();
                for (k, v) in t.iter() {
                    d.insert(k.clone(), v.clone());
                }
                Hash::Table(Box::new(d))
            }
        }
    }
}

impl PartialEq for Hash {
    /// Same fields and values, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Hash::Listpack(lp) => lp.buf.capacity(),
                Hash::Table(t) => {
                    std::mem::size_of::<Dict<CBytes>>()
                        + t.table_bytes()
                        + t.iter()
                            .map(|(k, v)| k.heap_size() + v.heap_size())
                            .sum::<usize>()
                }
            }
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len as usize,
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            Hash::Listpack(lp) => Iter::Lp(lp.iter()),
            Hash::Table(t) => Iter::Table(Box::new(t.iter())),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => lp.get(field),
            Hash::Table(t) => t.get(field).map(|v| v.as_slice()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Move every pair into a hash table (Redis's hashTypeConvert).
    fn convert(&mut self) {
        if let Hash::Listpack(lp) = self {
            let mut d = Dict::new();
            for (f, v) in lp.iter() {
                d.insert(CBytes::from_slice(f), CBytes::from_slice(v));
            }
            *self = Hash::Table(Box::new(d));
        }
    }

    /// Before a multi-field HSET on a listpack: grow the buffer once, to the exact size
    /// if every field is new, instead of once per pair (each realloc would move the
    /// buffer through every allocator size class on the way).
    pub fn reserve<B: AsRef<[u8]>>(&mut self, args: &[B]) {
        if let Hash::Listpack(lp) = self {
            let bytes: usize = args
                .iter()
                .map(|a| varint::len(a.as_ref().len()) + a.as_ref().len())
                .sum();
            lp.buf.reserve_exact(bytes);
        }
    }

    /// Give back buffer slack left by [`Hash::reserve`] when fields were overwritten.
    pub fn shrink(&mut self) {
        if let Hash::Listpack(lp) = self {
            if lp.buf.capacity() > lp.buf.len() + 16 {
                lp.buf.shrink_to_fit();
            }
        }
    }

    /// Set `field` to `value`; true when the field is new. Converts to a hash table, as
    /// Redis's hashTypeSet does, when the pair is too long for a listpack or the listpack
    /// gets more than `lim.entries` fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if matches!(self, Hash::Listpack(_)) && (field.len() > lim.value || value.len() > lim.value)
        {
            self.convert();
        }
        let new = match self {
            Hash::Listpack(lp) => lp.set(field, value),
            Hash::Table(t) => match t.get_mut(field) {
                Some(v) => {
                    *v = CBytes::from_slice(value);
                    false
                }
                None => {
                    t.insert(CBytes::from_slice(field), CBytes::from_slice(value));
                    true
                }
            },
        };
        if matches!(self, Hash::Listpack(_)) && self.len() > lim.entries {
            self.convert();
        }
        new
    }

    /// Remove `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.remove(field),
            Hash::Table(t) => t.remove(field).is_some(),
        }
    }

    /// A uniformly random pair, None when empty.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) if lp.len > 0 => lp.iter().nth(rng.gen_range(0..lp.len as usize)),
            Hash::Listpack(_) => None,
            Hash::Table(t) => t.random(rng).map(|(k, v)| (k.as_slice(), v.as_slice())),
        }
    }

    /// One HSCAN step from `cursor`: a listpack is returned whole with cursor 0 (as
    /// Redis does); a table walks hash-space ranges, so every pair present for the whole
    /// scan is returned at least once. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(lp) => {
                for (k, v) in lp.iter() {
                    f(k, v);
                }
                0
            }
            Hash::Table(t) => t.scan(cursor, count, |k, v| f(k.as_slice(), v.as_slice())),
        }
    }
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;

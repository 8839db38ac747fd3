//! Set values and their encodings.
//!
//! Redis 7.0 has two set encodings: `intset` (sorted integers) while every member is an
//! integer and the set is small, `hashtable` otherwise. We keep a third, internal one:
//! small non-integer sets live in one packed buffer (length-prefixed members), which
//! Redis would store as a dict of sds strings. It reports `hashtable` (Redis's name for
//! it) and its order is free, as Redis's hashtable order is. Conversions only go
//! upwards, as in Redis: intset -> packed or dict, packed -> dict.

use bytes::Bytes;
use rand::Rng;

use crate::shard::dict::Dict;
use crate::shard::value::CBytes;

/// Members of the packed form must be at most this long (one length byte).
const PACK_MAX_VALUE: usize = 64;
/// The packed form holds at most this many members (lookups are linear scans).
const PACK_MAX_ENTRIES: usize = 128;

/// Conversion thresholds; `intset_max` is `set-max-intset-entries`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub intset_max: usize,
    pub pack_max_entries: usize,
    pub pack_max_value: usize,
}

impl Limits {
    pub fn new(intset_max: i64) -> Limits {
        Limits {
            intset_max: intset_max.max(0) as usize,
            pack_max_entries: PACK_MAX_ENTRIES,
            pack_max_value: PACK_MAX_VALUE,
        }
    }
}

/// A set. `Int` is `[width, ints ascending, little endian...]`; `Pack` is
/// `[len, bytes...]*` in insertion order; `Big` a segmented dict (stable SSCAN cursors).
pub enum Set {
    Int(Box<[u8]>),
    Pack(Box<[u8]>),
    Big(Box<Dict<()>>),
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set")
            .field("encoding", &self.encoding())
            .field("members", &self.members())
            .finish()
    }
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Int(b) => Set::Int(b.clone()),
            Set::Pack(b) => Set::Pack(b.clone()),
            Set::Big(d) => {
                let mut n = Dict::new();
                for (k, _) in d.iter() {
                    n.insert(k.clone(), ());
                }
                Set::Big(Box::new(n))
            }
        }
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.members().iter().all(|m| other.contains(m))
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

/// The smallest intset width (bytes) that holds `v`.
fn width_of(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn read_int(b: &[u8], w: usize, i: usize) -> i64 {
    let at = 1 + i * w;
    match w {
        2 => i16::from_le_bytes([b[at], b[at + 1]]) as i64,
        4 => i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as i64,
        _ => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            i64::from_le_bytes(a)
        }
    }
}

fn int_len(b: &[u8]) -> usize {
    (b.len() - 1) / b[0] as usize
}

/// Binary search in an intset buffer: Ok(index) if present, Err(insertion point).
fn int_search(b: &[u8], v: i64) -> Result<usize, usize> {
    let w = b[0] as usize;
    let (mut lo, mut hi) = (0usize, int_len(b));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match read_int(b, w, mid).cmp(&v) {
            std::cmp::Ordering::Equal => return Ok(mid),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Err(lo)
}

fn int_values(b: &[u8]) -> impl Iterator<Item = i64> + '_ {
    let w = b[0] as usize;
    (0..int_len(b)).map(move |i| read_int(b, w, i))
}

/// The members of a packed buffer, in order.
fn pack_iter(b: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= b.len() {
            return None;
        }
        let n = b[at] as usize;
        let m = &b[at + 1..at + 1 + n];
        at += 1 + n;
        Some(m)
    })
}

/// Offset of `m`'s length byte in a packed buffer.
fn pack_find(b: &[u8], m: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    while at < b.len() {
        let n = b[at] as usize;
        if &b[at + 1..at + 1 + n] == m {
            return Some(at);
        }
        at += 1 + n;
    }
    None
}

fn int_text(v: i64) -> Bytes {
    Bytes::from(v.to_string())
}

impl Set {
    /// An empty intset (SINTERSTORE and friends start from one, as Redis does).
    pub fn new_intset() -> Set {
        Set::Int(vec![2u8].into_boxed_slice())
    }

    /// The empty set a first member `m` calls for (Redis's `setTypeCreate`).
    pub fn new_for(m: &[u8]) -> Set {
        if crate::families::numbers::string2ll(m).is_some() {
            Set::new_intset()
        } else {
            Set::Pack(Box::default())
        }
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Int(_) => "intset",
            Set::Pack(_) | Set::Big(_) => "hashtable",
        }
    }

    /// Approximate heap bytes (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Set::Int(b) | Set::Pack(b) => b.len(),
                Set::Big(d) => {
                    d.table_bytes() + d.iter().map(|(k, _)| 16 + k.heap_size()).sum::<usize>()
                }
            }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Int(b) => int_len(b),
            Set::Pack(b) => pack_iter(b).count(),
            Set::Big(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Set::Int(b) => b.len() <= 1,
            Set::Pack(b) => b.is_empty(),
            Set::Big(d) => d.is_empty(),
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self, Set::Int(_))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Int(b) => {
                crate::families::numbers::string2ll(m).is_some_and(|v| int_search(b, v).is_ok())
            }
            Set::Pack(b) => pack_find(b, m).is_some(),
            Set::Big(d) => d.contains_key(m),
        }
    }

    /// Add `m`; true if it was new. Converts the encoding the way Redis's `setTypeAdd`
    /// does: a non-integer or the `intset_max`+1-th member leaves the intset.
    pub fn add(&mut self, m: &[u8], lim: &Limits) -> bool {
        match self {
            Set::Int(b) => {
                let Some(v) = crate::families::numbers::string2ll(m) else {
                    self.grow(lim, m.len());
                    return self.add(m, lim);
                };
                let at = match int_search(b, v) {
                    Ok(_) => return false,
                    Err(at) => at,
                };
                let w = b[0];
                let nw = w.max(width_of(v));
                let mut out = Vec::with_capacity(b.len() + nw as usize);
                out.push(nw);
                let n = int_len(b);
                for i in 0..n {
                    if i == at {
                        out.extend_from_slice(&v.to_le_bytes()[..nw as usize]);
                    }
                    out.extend_from_slice(&read_int(b, w as usize, i).to_le_bytes()[..nw as usize]);
                }
                if at == n {
                    out.extend_from_slice(&v.to_le_bytes()[..nw as usize]);
                }
                *b = out.into_boxed_slice();
                if n + 1 > lim.intset_max {
                    self.grow(lim, 0);
                }
                true
            }
            Set::Pack(b) => {
                if pack_find(b, m).is_some() {
                    return false;
                }
                if m.len() > lim.pack_max_value.min(255)
                    || pack_iter(b).count() + 1 > lim.pack_max_entries
                {
                    self.promote();
                    return self.add(m, lim);
                }
                let mut out = Vec::with_capacity(b.len() + 1 + m.len());
                out.extend_from_slice(b);
                out.push(m.len() as u8);
                out.extend_from_slice(m);
                *b = out.into_boxed_slice();
                true
            }
            Set::Big(d) => d.insert(CBytes::from_slice(m), ()).is_none(),
        }
    }

    /// Leave the intset encoding, for a set about to hold a member of `incoming` bytes
    /// (0: none) beyond its current ones.
    fn grow(&mut self, lim: &Limits, incoming: usize) {
        let Set::Int(b) = self else { return };
        let n = int_len(b);
        let fits = n + usize::from(incoming > 0) <= lim.pack_max_entries
            && incoming <= lim.pack_max_value.min(255)
            && lim.pack_max_value >= 20;
        if fits {
            let mut out = Vec::new();
            for v in int_values(b) {
                let t = v.to_string();
                out.push(t.len() as u8);
                out.extend_from_slice(t.as_bytes());
            }
            *self = Set::Pack(out.into_boxed_slice());
        } else {
            self.promote();
        }
    }

    /// Move every member into the dict encoding (past the small forms' limits).
    fn promote(&mut self) {
        let mut d = Dict::new();
        for m in self.members() {
            d.insert(CBytes::from_bytes(&m), ());
        }
        *self = Set::Big(Box::new(d));
    }

    /// Remove `m`; true if it was there. The encoding never goes back down.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Int(b) => {
                let Some(v) = crate::families::numbers::string2ll(m) else {
                    return false;
                };
                let Ok(i) = int_search(b, v) else {
                    return false;
                };
                let w = b[0] as usize;
                let mut out = b.to_vec();
                out.drain(1 + i * w..1 + (i + 1) * w);
                *b = out.into_boxed_slice();
                true
            }
            Set::Pack(b) => {
                let Some(at) = pack_find(b, m) else {
                    return false;
                };
                let mut out = b.to_vec();
                out.drain(at..at + 1 + m.len());
                *b = out.into_boxed_slice();
                true
            }
            Set::Big(d) => d.remove(m).is_some(),
        }
    }

    /// Every member: ascending for an intset, storage order otherwise.
    pub fn members(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(Bytes::copy_from_slice(m)));
        out
    }

    /// Visit every member (integers as their decimal text).
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Int(b) => {
                for v in int_values(b) {
                    f(v.to_string().as_bytes())
                }
            }
            Set::Pack(b) => pack_iter(b).for_each(f),
            Set::Big(d) => d.iter().for_each(|(k, _)| f(k.as_slice())),
        }
    }

    /// One member chosen at random (None when empty).
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<Bytes> {
        if self.is_empty() {
            return None;
        }
        match self {
            Set::Int(b) => Some(int_text(read_int(
                b,
                b[0] as usize,
                rng.gen_range(0..int_len(b)),
            ))),
            Set::Pack(b) => {
                let n = rng.gen_range(0..self.len());
                pack_iter(b).nth(n).map(Bytes::copy_from_slice)
            }
            Set::Big(d) => d.random(rng).map(|(k, _)| k.to_bytes()),
        }
    }

    /// Remove and return a random member.
    pub fn pop_random<R: Rng>(&mut self, rng: &mut R) -> Option<Bytes> {
        let m = self.random(rng)?;
        self.remove(&m);
        Some(m)
    }

    /// SSCAN step: small encodings return everything with cursor 0 (as Redis does for
    /// intsets); the dict walks hash ranges, so members present throughout are seen.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Big(d) => d.scan(cursor, count, |k, _| f(k.as_slice())),
            _ => {
                self.for_each(f);
                0
            }
        }
    }
}

/// SINTER over `sets` (None: a missing key, which empties the result). Visits the
/// smallest set's members in its order, as Redis does, stopping after `limit` (0: all).
pub fn inter_each(sets: &[Option<&Set>], limit: usize, mut f: impl FnMut(&[u8])) {
    if sets.iter().any(|s| s.is_none_or(|s| s.is_empty())) {
        return;
    }
    let mut order: Vec<&Set> = sets.iter().flatten().copied().collect();
    order.sort_by_key(|s| s.len());
    let mut found = 0usize;
    let mut done = false;
    order[0].for_each(|m| {
        if done {
            return;
        }
        if order[1..]
            .iter()
            .all(|s| std::ptr::eq(*s, order[0]) || s.contains(m))
        {
            f(m);
            found += 1;
            done = limit != 0 && found >= limit;
        }
    });
}

/// SINTERSTORE's result: built up from an empty intset, so its encoding is what Redis's.
pub fn inter(sets: &[Option<&Set>], lim: &Limits) -> Set {
    let mut out = Set::new_intset();
    inter_each(sets, 0, |m| {
        out.add(m, lim);
    });
    out
}

/// SUNION's result, built from an empty intset like Redis's.
pub fn union(sets: &[Option<&Set>], lim: &Limits) -> Set {
    let mut out = Set::new_intset();
    for s in sets.iter().flatten() {
        s.for_each(|m| {
            out.add(m, lim);
        });
    }
    out
}

/// SDIFF's result. Redis picks one of two algorithms by estimated work, and the second
/// (add all of the first set, then remove the others) can leave a different encoding,
/// so the same choice is made here.
pub fn diff(sets: &[Option<&Set>], lim: &Limits) -> Set {
    let mut out = Set::new_intset();
    let Some(Some(first)) = sets.first() else {
        return out;
    };
    let (mut one, mut two) = (0usize, 0usize);
    for s in sets.iter().flatten() {
        one += first.len();
        two += s.len();
    }
    if one / 2 <= two {
        first.for_each(|m| {
            if !sets[1..]
                .iter()
                .flatten()
                .any(|s| std::ptr::eq(*s, *first) || s.contains(m))
            {
                out.add(m, lim);
            }
        });
    } else {
        first.for_each(|m| {
            out.add(m, lim);
        });
        for s in sets[1..].iter().flatten() {
            s.for_each(|m| {
                out.remove(m);
            });
            if out.is_empty() {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;

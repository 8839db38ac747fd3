//! One logical database of one shard: keys, values, expiry and per-slot bookkeeping.

use bytes::Bytes;

use super::cbytes::CBytes;
use super::dict::Dict;
use super::value::{Enc, Value};
use crate::slot::{key_slot, SLOTS};

#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in unix milliseconds; 0 = no expiry.
    pub expire_at: u64,
    /// Last access (see `access`): LRU seconds clock or LFU minutes + counter.
    pub access: u32,
    /// How OBJECT ENCODING reports a string.
    pub enc: Enc,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            expire_at: 0,
            access: lru_clock(),
            enc: Enc::Auto,
        }
    }

    pub fn encoding(&self) -> &'static str {
        self.value.encoding(self.enc)
    }

    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

pub use super::access::lru_clock;

#[derive(Default)]
pub struct Db {
    pub dict: Dict<Entry>,
    /// Keys with an expiry set.
    pub expires: usize,
    /// Keys per hash slot (cluster COUNTKEYSINSLOT, migration).
    slot_counts: Option<Box<[u32]>>,
    /// Keys per hash slot, kept only when enabled (cluster mode): GETKEYSINSLOT.
    slot_index: Option<Vec<hashbrown::HashSet<CBytes>>>,
    /// Average TTL sampled by active expiry (INFO keyspace avg_ttl).
    pub avg_ttl: u64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn enable_slot_index(&mut self) {
        if self.slot_index.is_none() {
            let mut idx = vec![hashbrown::HashSet::new(); SLOTS];
            for (k, _) in self.dict.iter() {
                idx[key_slot(k) as usize].insert(k.clone());
            }
            self.slot_index = Some(idx);
        }
    }

    /// Raw lookup, ignoring expiry.
    pub fn get_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.dict.get(key)
    }

    pub fn get_raw_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.dict.get_mut(key)
    }

    /// Insert or replace an entry, keeping counts right. Returns the previous entry.
    pub fn insert(&mut self, key: CBytes, entry: Entry) -> Option<Entry> {
        let has_exp = entry.expire_at != 0;
        let slot = key_slot(&key) as usize;
        let index_key = self.slot_index.as_ref().map(|_| key.clone());
        let old = self.dict.insert(key, entry);
        match &old {
            Some(o) => {
                if o.expire_at != 0 {
                    self.expires -= 1;
                }
            }
            None => {
                let counts = self
                    .slot_counts
                    .get_or_insert_with(|| vec![0u32; SLOTS].into_boxed_slice());
                counts[slot] += 1;
                if let (Some(idx), Some(k)) = (self.slot_index.as_mut(), index_key) {
                    idx[slot].insert(k);
                }
            }
        }
        if has_exp {
            self.expires += 1;
        }
        old
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (k, e) = self.dict.remove(key)?;
        self.after_remove(&k, &e);
        Some(e)
    }

    /// Bookkeeping for an entry that left the dict by any path.
    pub fn after_remove(&mut self, key: &[u8], e: &Entry) {
        if e.expire_at != 0 {
            self.expires -= 1;
        }
        let slot = key_slot(key) as usize;
        if let Some(c) = self.slot_counts.as_mut() {
            c[slot] = c[slot].saturating_sub(1);
        }
        if let Some(idx) = self.slot_index.as_mut() {
            idx[slot].remove(key);
        }
    }

    /// Change the expiry of an existing key; false if missing.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some(e) = self.dict.get_mut(key) else {
            return false;
        };
        let before = e.expire_at != 0;
        e.expire_at = at;
        match (before, at != 0) {
            (false, true) => self.expires += 1,
            (true, false) => self.expires -= 1,
            _ => {}
        }
        true
    }

    pub fn clear(&mut self) {
        let indexed = self.slot_index.is_some();
        *self = Db::default();
        if indexed {
            self.enable_slot_index();
        }
    }

    pub fn count_keys_in_slot(&self, slot: u16) -> u32 {
        self.slot_counts.as_ref().map_or(0, |c| c[slot as usize])
    }

    /// Up to `count` keys of `slot`: from the index when kept, else by a walk.
    pub fn keys_in_slot(&self, slot: u16, count: usize) -> Vec<Bytes> {
        match &self.slot_index {
            Some(idx) => idx[slot as usize]
                .iter()
                .take(count)
                .map(|k| k.to_bytes())
                .collect(),
            None => self
                .dict
                .iter()
                .filter(|(k, _)| key_slot(k) == slot)
                .take(count)
                .map(|(k, _)| k.to_bytes())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_inserts_and_removes() {
        let mut db = Db::default();
        let k = CBytes::from_slice(b"foo");
        let slot = key_slot(b"foo");
        let mut e = Entry::new(Value::str(&Bytes::from_static(b"v")));
        e.expire_at = 10;
        db.insert(k.clone(), e.clone());
        assert_eq!(db.expires, 1);
        assert_eq!(db.count_keys_in_slot(slot), 1);
        db.insert(k.clone(), Entry::new(Value::str(&Bytes::from_static(b"w"))));
        assert_eq!(db.expires, 0);
        assert_eq!(db.count_keys_in_slot(slot), 1);
        db.enable_slot_index();
        assert_eq!(db.keys_in_slot(slot, 10), vec![Bytes::from_static(b"foo")]);
        db.remove(b"foo");
        assert_eq!(db.count_keys_in_slot(slot), 0);
        assert!(db.keys_in_slot(slot, 10).is_empty());
    }
}

//! The context a keyed command runs in: one shard, one database, one instant.

use bytes::Bytes;

use crate::error::CmdError;
use crate::shard::access;
use crate::shard::db::{Db, Entry};
use crate::shard::expire::expired_key;
use crate::shard::value::{CBytes, Enc, Value};
use crate::shard::Shard;
use crate::util::now_ms;

pub struct ExecCtx<'a> {
    pub shard: &'a mut Shard,
    pub db: u16,
    /// The command's clock: every expiry check in one command sees the same instant.
    pub now: u64,
    /// Number of changes made; non-zero means the effect is journaled.
    pub dirty: u32,
    /// The effect to journal instead of the command itself (e.g. EXPIRE -> PEXPIREAT).
    pub propagate: Option<Vec<Bytes>>,
}

impl<'a> ExecCtx<'a> {
    pub fn new(shard: &'a mut Shard, db: u16) -> ExecCtx<'a> {
        Self::at(shard, db, now_ms())
    }

    /// With the caller's clock reading (unix ms), saving a clock call per command.
    pub fn at(shard: &'a mut Shard, db: u16, now: u64) -> ExecCtx<'a> {
        ExecCtx {
            shard,
            db,
            now,
            dirty: 0,
            propagate: None,
        }
    }

    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.shard.dbs[self.db as usize]
    }

    /// Remove `key` if it is logically expired. Returns true when it was.
    fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let now = self.now;
        let expired = matches!(self.db().get_raw(key), Some(e) if e.is_expired(now));
        if expired {
            let db = self.db;
            if let Some(e) = self.db().remove(key) {
                drop(e);
                expired_key(self.shard, db, Bytes::copy_from_slice(key));
            }
        }
        expired
    }

    /// Look a key up without touching its access time or the stats (TYPE, TTL,
    /// OBJECT); expired keys are removed first.
    pub fn peek(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.expire_if_needed(key);
        self.db().get_raw_mut(key)
    }

    /// Look a key up for writing: records the access, no hit/miss stats.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.lookup(key, true, false)
    }

    /// Look a key up for reading: lazy expiry, hit/miss stats, access time.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.lookup(key, true, true)
    }

    /// EXISTS-style lookup: hit/miss stats but no access-time update.
    pub fn lookup_notouch(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.lookup(key, false, true)
    }

    fn lookup(&mut self, key: &[u8], touch: bool, stats: bool) -> Option<&mut Entry> {
        self.expire_if_needed(key);
        let Shard {
            dbs,
            rng,
            tun,
            stats: st,
            ..
        } = &mut *self.shard;
        match dbs[self.db as usize].get_raw_mut(key) {
            Some(e) => {
                if touch {
                    access::touch(
                        &mut e.access,
                        tun.lfu,
                        tun.lfu_log_factor,
                        tun.lfu_decay_time,
                        rng,
                    );
                }
                if stats {
                    st.keyspace_hits += 1;
                }
                Some(e)
            }
            None => {
                if stats {
                    st.keyspace_misses += 1;
                    let flags = tun.notify;
                    if flags & crate::pubsub::notify::class::KEY_MISS != 0 {
                        let class = crate::pubsub::notify::class::KEY_MISS;
                        crate::pubsub::notify::emit(flags, class, "keymiss", self.db, key);
                    }
                }
                None
            }
        }
    }

    /// Existence check without touching stats or access time (EXISTS-like internals).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed(key);
        self.db().get_raw(key).is_some()
    }

    /// The string at `key` for reading: None if missing, WRONGTYPE if not a string.
    pub fn get_str(&mut self, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s.to_bytes())),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// The string at `key` without stats (internal reads before a write); WRONGTYPE if
    /// another type.
    pub fn peek_str(&mut self, key: &[u8]) -> Result<Option<&CBytes>, CmdError> {
        match self.lookup_write(key) {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s)),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// Replace the string at `key` (created if missing) keeping its TTL; `raw` marks an
    /// in-place style modification (APPEND, SETRANGE, SETBIT...).
    pub fn put_str(&mut self, key: &Bytes, data: CBytes, raw: bool) {
        self.set_value_ext(
            key,
            Value::Str(data),
            0,
            true,
            if raw { Enc::Raw } else { Enc::Auto },
        );
    }

    /// Store a value, replacing whatever was there (and its TTL unless `keep_ttl`).
    pub fn set_value(&mut self, key: &Bytes, value: Value, expire_at: u64, keep_ttl: bool) {
        self.set_value_ext(key, value, expire_at, keep_ttl, Enc::Auto)
    }

    pub fn set_value_ext(
        &mut self,
        key: &Bytes,
        value: Value,
        expire_at: u64,
        keep_ttl: bool,
        enc: Enc,
    ) {
        let db = self.db;
        let now = self.now;
        let dbm = &mut self.shard.dbs[db as usize];
        let expire_at = if keep_ttl {
            match dbm.get_raw(key) {
                Some(e) if !e.is_expired(now) => e.expire_at,
                _ => 0,
            }
        } else {
            expire_at
        };
        let lfu = self.shard.tun.lfu;
        let dbm = &mut self.shard.dbs[db as usize];
        let mut entry = Entry {
            value,
            expire_at,
            access: access::initial(lfu),
            enc,
        };
        match dbm.get_raw_mut(key) {
            Some(existing) if !existing.is_expired(now) => {
                if lfu {
                    // Redis keeps the frequency of a key that is overwritten.
                    entry.access = existing.access;
                }
                // Keep the key allocation; adjust the expires count through the Db.
                let had = existing.expire_at != 0;
                *existing = entry;
                let has = expire_at != 0;
                if had != has {
                    if has {
                        dbm.expires += 1;
                    } else {
                        dbm.expires -= 1;
                    }
                }
            }
            found => {
                if found.is_some() {
                    // Logically gone: like Redis's write lookup, expire it (`expired`),
                    // then the key is added anew.
                    self.expire_if_needed(key);
                }
                let dbm = &mut self.shard.dbs[db as usize];
                dbm.insert(CBytes::from_bytes(key), entry);
                self.notify(crate::pubsub::notify::class::NEW, "new", key);
            }
        }
        self.modified(key);
    }

    /// Delete a key; true if it existed (and was not logically expired).
    pub fn delete(&mut self, key: &[u8]) -> bool {
        if self.expire_if_needed(key) {
            return false;
        }
        if self.db().remove(key).is_some() {
            self.modified(key);
            true
        } else {
            false
        }
    }

    /// Remove the destination of a STORE command whose result is empty, as Redis does
    /// with `dbDelete`: whatever its TTL (a key that expired but is still held goes the
    /// same way and sends `del`, not `expired`).
    pub fn delete_store_target(&mut self, key: &Bytes) {
        if self.db().remove(key).is_some() {
            self.modified(key);
            self.notify(crate::pubsub::notify::class::GENERIC, "del", key);
        }
    }

    /// Mark a key changed: WATCH invalidation and the journal.
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.dirty += 1;
        let db = self.db;
        self.shard.touch_key(db, key);
        self.shard.blocking.signal(db, key);
    }

    /// Publish keyspace notification `event` (Redis's name, e.g. "set", "lpush") of
    /// `class` (`pubsub::notify::class::*`) for `key` in this database. With
    /// notifications off this is one flag test.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let flags = self.shard.tun.notify;
        if flags & class != 0 {
            crate::pubsub::notify::emit(flags, class, event, self.db, key);
        }
    }

    /// `notify` for a key of another database (MOVE's `move_to`).
    #[inline]
    pub fn notify_db(&mut self, class: u32, event: &'static str, db: u16, key: &[u8]) {
        let flags = self.shard.tun.notify;
        if flags & class != 0 {
            crate::pubsub::notify::emit(flags, class, event, db, key);
        }
    }

    /// Journal `effect` instead of the command's own arguments.
    pub fn propagate_as(&mut self, effect: Vec<Bytes>) {
        self.propagate = Some(effect);
    }
}

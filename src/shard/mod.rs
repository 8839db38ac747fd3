//! The shard: everything one core owns, touched only by its own thread.

pub mod access;
pub mod blocking;
pub mod cbytes;
pub mod db;
pub mod dict;
pub mod evict;
pub mod expire;
pub mod locks;
pub mod mesh;
pub mod value;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hashbrown::HashMap;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::config::Config;
pub use db::{Db, Entry};
use locks::LockTable;
pub use value::Value;

/// A watcher's flag, set by whichever shard modifies a watched key.
pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default, Debug, Clone)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub total_commands: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub dirty: u64,
    pub expire_cycle_cpu_ms: u64,
}

#[derive(Default, Debug, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// The seam every write goes through: later the replication journal and the AOF hang
/// off `Journal::record`.
#[derive(Default)]
pub struct Journal {
    /// Shard-local offset: number of effects recorded.
    pub offset: u64,
}

impl Journal {
    pub fn record(&mut self, _db: u16, _effect: &[Bytes]) {
        self.offset += 1;
    }
}

/// Config values read on hot paths, decoded once per CONFIG change.
#[derive(Debug, Clone, Copy)]
pub struct Tunables {
    pub max_bulk_len: u64,
    pub query_buffer_limit: usize,
    pub maxmemory: u64,
    pub slowlog_slower_than: i64,
    pub slowlog_max_len: usize,
    pub lfu: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    /// `notify-keyspace-events` classes (bits of `config::notify`).
    pub notify: u32,
    /// `client-output-buffer-limit` (hard, soft, soft seconds) for normal, replica and
    /// pubsub clients.
    pub obl: [(u64, u64, i64); 3],
    /// Encoding thresholds, read on every write of their type (a config lookup by name
    /// costs more than a small ZADD itself).
    pub hash_limits: crate::types::ListpackLimits,
    pub zset_limits: crate::types::ListpackLimits,
    pub set_limits: crate::types::set::Limits,
    /// `list-max-listpack-size`
    pub list_fill: i64,
    /// `hll-sparse-max-bytes`
    pub hll_sparse_max: usize,
}

impl Tunables {
    pub fn from_config(cfg: &Config) -> Tunables {
        Tunables {
            max_bulk_len: cfg.get_i64("proto-max-bulk-len").max(1) as u64,
            query_buffer_limit: cfg.get_i64("client-query-buffer-limit").max(1024 * 1024) as usize,
            maxmemory: cfg.maxmemory(),
            slowlog_slower_than: cfg.get_i64("slowlog-log-slower-than"),
            slowlog_max_len: cfg.get_i64("slowlog-max-len").max(0) as usize,
            lfu: cfg.maxmemory_policy().ends_with("-lfu"),
            lfu_log_factor: cfg.get_i64("lfu-log-factor"),
            lfu_decay_time: cfg.get_i64("lfu-decay-time"),
            notify: cfg.get_i64("notify-keyspace-events") as u32,
            obl: crate::config::cobl_limits(cfg.get_str("client-output-buffer-limit")),
            hash_limits: crate::types::ListpackLimits::new(
                cfg.get_i64("hash-max-listpack-entries"),
                cfg.get_i64("hash-max-listpack-value"),
            ),
            zset_limits: crate::types::ListpackLimits::new(
                cfg.get_i64("zset-max-listpack-entries"),
                cfg.get_i64("zset-max-listpack-value"),
            ),
            set_limits: crate::types::set::Limits::new(cfg.get_i64("set-max-intset-entries")),
            list_fill: cfg.get_i64("list-max-listpack-size"),
            hll_sparse_max: cfg.get_i64("hll-sparse-max-bytes").max(0) as usize,
        }
    }
}

pub struct Shard {
    pub id: usize,
    pub nshards: usize,
    pub dbs: Vec<Db>,
    pub locks: LockTable,
    /// Clients blocked on this shard's keys (BLPOP...).
    pub blocking: blocking::Blocking,
    /// WATCHed keys: each watcher's flag, and whether the key was already logically
    /// expired when watched (its deletion by expiry is then no change, as in Redis).
    pub watches: HashMap<(u16, Bytes), Vec<(WatchFlag, bool)>>,
    pub journal: Journal,
    pub stats: ShardStats,
    /// Per-command statistics, indexed by `Command::id`.
    pub cmdstats: Vec<CmdStat>,
    pub errorstats: HashMap<String, u64>,
    pub cfg: Arc<Config>,
    pub tun: Tunables,
    cfg_version: u64,
    pub rng: SmallRng,
    /// Active-expiry cursor: (db, segment).
    pub expire_cursor: (usize, usize),
}

thread_local! {
    static SHARD: RefCell<Option<Shard>> = const { RefCell::new(None) };
}

/// Install this thread's shard.
pub fn install(shard: Shard) {
    SHARD.with(|s| *s.borrow_mut() = Some(shard));
}

/// Run `f` on this thread's shard. Must not be nested: shard functions are plain
/// synchronous code and never call back into `with_shard`.
#[inline]
pub fn with_shard<R>(f: impl FnOnce(&mut Shard) -> R) -> R {
    SHARD.with(|s| {
        let mut guard = s.borrow_mut();
        let shard = guard
            .as_mut()
            .expect("shard installed on every shard thread");
        f(shard)
    })
}

impl Shard {
    pub fn new(id: usize, nshards: usize, cfg: Arc<Config>, cfg_version: u64) -> Shard {
        let ndb = cfg.databases().max(1);
        // Cluster mode lists a slot's keys (GETKEYSINSLOT, migration): keep the index
        // for database 0, the only one a cluster uses.
        let indexed = cfg.get_bool("cluster-enabled");
        Shard {
            id,
            nshards,
            dbs: (0..ndb)
                .map(|i| {
                    let mut db = Db::default();
                    if indexed && i == 0 {
                        db.enable_slot_index();
                    }
                    db
                })
                .collect(),
            locks: LockTable::default(),
            blocking: blocking::Blocking::default(),
            watches: HashMap::new(),
            journal: Journal::default(),
            stats: ShardStats::default(),
            cmdstats: Vec::new(),
            errorstats: HashMap::new(),
            tun: Tunables::from_config(&cfg),
            cfg,
            cfg_version,
            rng: SmallRng::from_entropy(),
            expire_cursor: (0, 0),
        }
    }

    /// Release a transaction's locks, then serve the clients blocked on keys it readied.
    pub fn unlock(&mut self, req: &locks::LockReq) {
        self.locks.unlock(req);
        self.serve_ready();
    }

    /// Pick up a CONFIG SET made on any shard.
    #[inline]
    pub fn refresh_config(&mut self) {
        if crate::server::initialised() {
            let srv = crate::server::server();
            let v = srv.config_version();
            if v != self.cfg_version {
                self.cfg = srv.config();
                self.tun = Tunables::from_config(&self.cfg);
                self.cfg_version = v;
            }
        }
    }

    /// Record a write's effect (the single journal/AOF seam).
    pub fn record_effect(&mut self, db: u16, effect: &[Bytes]) {
        self.stats.dirty += 1;
        self.journal.record(db, effect);
    }

    /// A key was modified: invalidate WATCHes on it.
    #[inline]
    pub fn touch_key(&mut self, db: u16, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some(flags) = self.watches.get_mut(&(db, Bytes::copy_from_slice(key))) {
            for (f, expired) in flags {
                *expired = false;
                f.store(true, Ordering::Release);
            }
        }
    }

    /// A key was deleted because it expired: watchers that saw it already expired
    /// when they watched see no change; the others are invalidated.
    pub fn touch_expired(&mut self, db: u16, key: &[u8]) {
        if self.watches.is_empty() {
            return;
        }
        if let Some(flags) = self.watches.get_mut(&(db, Bytes::copy_from_slice(key))) {
            for (f, expired) in flags {
                if *expired {
                    *expired = false;
                } else {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }

    /// FLUSHDB/FLUSHALL/SWAPDB: invalidate watches on keys of `db` that exist there (or,
    /// for SWAPDB, in the database it is swapped with). Call before the change.
    pub fn touch_existing(&mut self, db: u16, other: Option<u16>) {
        for ((d, key), flags) in self.watches.iter() {
            if *d != db {
                continue;
            }
            let exists = self.dbs[db as usize].get_raw(key).is_some()
                || other.is_some_and(|o| self.dbs[o as usize].get_raw(key).is_some());
            if exists {
                for (f, _) in flags {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }

    pub fn watch(&mut self, db: u16, key: Bytes, flag: WatchFlag, expired: bool) {
        self.watches
            .entry((db, key))
            .or_default()
            .push((flag, expired));
    }

    pub fn unwatch(&mut self, db: u16, key: &Bytes, flag: &WatchFlag) {
        let k = (db, key.clone());
        if let Some(v) = self.watches.get_mut(&k) {
            v.retain(|(f, _)| !Arc::ptr_eq(f, flag));
            if v.is_empty() {
                self.watches.remove(&k);
            }
        }
    }

    /// The statistics slot of a command.
    #[inline]
    pub fn cmdstat(&mut self, id: usize) -> &mut CmdStat {
        if id >= self.cmdstats.len() {
            self.cmdstats.resize(id + 1, CmdStat::default());
        }
        &mut self.cmdstats[id]
    }

    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }
}

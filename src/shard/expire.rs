//! Active expiry: each tick walks a few segments of the keyspace, deleting expired keys,
//! within a time budget; the cursor resumes where the last tick stopped.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Shard;
use crate::util::now_ms;

/// Off after `DEBUG SET-ACTIVE-EXPIRE 0`: keys then expire only when looked up, as Redis's
/// `server.active_expire_enabled` (tests use it to see lazy expiry without races).
pub static ACTIVE_EXPIRE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// One active-expiry pass; returns how many keys it removed.
pub fn active_expire_cycle(shard: &mut Shard, budget: Duration) -> usize {
    let start = Instant::now();
    let now = now_ms();
    let mut removed = 0;
    let ndb = shard.dbs.len();
    let mut visited = 0;
    let total_segs: usize = shard.dbs.iter().map(|d| d.dict.segments()).sum();
    while visited < total_segs {
        let (mut db, mut seg) = shard.expire_cursor;
        if db >= ndb {
            db = 0;
            seg = 0;
        }
        if shard.dbs[db].expires == 0 || seg >= shard.dbs[db].dict.segments() {
            visited += shard.dbs[db].dict.segments().saturating_sub(seg).max(1);
            shard.expire_cursor = (db + 1, 0);
            continue;
        }
        let gone = shard.dbs[db]
            .dict
            .drain_seg_where(seg, |_, e| e.is_expired(now));
        for (k, e) in &gone {
            shard.dbs[db].after_remove(k, e);
        }
        removed += gone.len();
        for (k, _) in gone {
            expired_key(shard, db as u16, k.to_bytes());
        }
        shard.expire_cursor = (db, seg + 1);
        visited += 1;
        if start.elapsed() >= budget {
            break;
        }
    }
    removed
}

/// Bookkeeping for a key removed because it expired (lazily or actively): the journal
/// gets a DEL so replicas and the AOF stay in step, and WATCHers are told.
pub fn expired_key(shard: &mut Shard, db: u16, key: Bytes) {
    shard.stats.expired_keys += 1;
    shard.touch_expired(db, &key);
    crate::pubsub::notify::shard_event(
        shard,
        crate::pubsub::notify::class::EXPIRED,
        "expired",
        db,
        &key,
    );
    shard.record_effect(db, &[Bytes::from_static(b"DEL"), key]);
}

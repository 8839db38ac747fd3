//! maxmemory: each shard keeps itself under its share of the limit by evicting keys
//! with Redis's policies, approximated by sampling.

use bytes::Bytes;

use super::Shard;
use crate::util::now_ms;

/// Make room before a denyoom command. False: still over the limit (OOM error).
pub fn make_room(shard: &mut Shard) -> bool {
    let maxmemory = shard.tun.maxmemory as usize;
    if maxmemory == 0 {
        return true;
    }
    let budget = maxmemory / shard.nshards.max(1);
    let policy = shard.cfg.maxmemory_policy().to_string();
    let samples = (shard.cfg.get_i64("maxmemory-samples").max(1)) as usize;
    let mut guard = 0;
    while crate::alloc::shard_used(shard.id) > budget {
        if policy == "noeviction" || guard > 10_000 {
            return false;
        }
        guard += 1;
        if !evict_one(shard, &policy, samples) {
            return false;
        }
    }
    true
}

/// Evict the best of `samples` random candidates under `policy`; false if none.
fn evict_one(shard: &mut Shard, policy: &str, samples: usize) -> bool {
    let volatile = policy.starts_with("volatile");
    let now = now_ms();
    let mut best: Option<(usize, Bytes, u64)> = None; // (db, key, score: higher evicts first)
    for db in 0..shard.dbs.len() {
        if shard.dbs[db].is_empty() || (volatile && shard.dbs[db].expires == 0) {
            continue;
        }
        for _ in 0..samples {
            let Some((k, e)) = shard.dbs[db].dict.random(&mut shard.rng) else { break };
            if volatile && e.expire_at == 0 {
                continue;
            }
            let score = match policy {
                "allkeys-lru" | "volatile-lru" => (now / 1000).saturating_sub(e.access as u64),
                "allkeys-lfu" | "volatile-lfu" => u64::MAX - (e.access >> 24) as u64,
                "volatile-ttl" => u64::MAX - e.expire_at,
                _ => 0, // random policies: the first sample wins
            };
            if best.as_ref().is_none_or(|b| score > b.2) {
                best = Some((db, k.to_bytes(), score));
            }
        }
    }
    let Some((db, key, _)) = best else { return false };
    if shard.dbs[db].remove(&key).is_some() {
        shard.stats.evicted_keys += 1;
        shard.touch_key(db as u16, &key);
        shard.record_effect(db as u16, &[Bytes::from_static(b"DEL"), key]);
    }
    true
}

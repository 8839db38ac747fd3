//! maxmemory: each shard keeps itself under its share of the limit by evicting keys
//! with Redis's policies, approximated by sampling.

use bytes::Bytes;

use super::Shard;

/// Make room before a denyoom command. False: still over the limit (OOM error).
///
/// The limit is checked against the process total (exact); each shard evicts from its
/// own keys, so under pressure every shard sheds its part.
pub fn make_room(shard: &mut Shard) -> bool {
    let maxmemory = shard.tun.maxmemory as usize;
    if maxmemory == 0 {
        return true;
    }
    let policy = shard.cfg.maxmemory_policy().to_string();
    let samples = (shard.cfg.get_i64("maxmemory-samples").max(1)) as usize;
    let mut guard = 0;
    while crate::alloc::used_memory_of(shard.nshards) > maxmemory {
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
                "allkeys-lru" | "volatile-lru" => super::access::idle_secs(e.access),
                "allkeys-lfu" | "volatile-lfu" => 255 - super::access::lfu_decayed(e.access, shard.tun.lfu_decay_time) as u64,
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

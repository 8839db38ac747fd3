//! maxmemory with Redis's eviction policies, approximated by sampling.
//!
//! The limit is checked against the process total (exact). Before a denyoom command the
//! coordinator asks every shard to shed keys while the total is over the limit
//! (`evict_everywhere`); on the executing shard `make_room` is the last check. Writes
//! batched behind the first one to a remote shard had no such pre-check: one that finds
//! its shard over the limit with nothing left to evict there returns to the
//! coordinator's queue (`room_here`) instead of failing.

use bytes::Bytes;
use rand::Rng;

use super::mesh::call_all;
use super::{with_shard, Shard};

fn over_limit(shard: &Shard) -> bool {
    over(shard, 0)
}

/// Used memory above `maxmemory` minus `headroom` sixteenths of it.
fn over(shard: &Shard, headroom: usize) -> bool {
    let max = shard.tun.maxmemory as usize;
    max != 0 && crate::alloc::used_memory_of(shard.nshards) > max - max / 16 * headroom
}

/// True when maxmemory is set, the process is over it, and the policy may evict.
pub fn should_evict_everywhere() -> bool {
    with_shard(|s| over_limit(s) && s.cfg.maxmemory_policy() != "noeviction")
}

/// Every shard evicts in small rounds until the process is a little under maxmemory
/// (so allocations racing the write do not push it back over) or no shard has
/// anything left to evict under the policy.
pub async fn evict_everywhere() {
    for _ in 0..1024 {
        let evicted: usize = call_all(|s| {
            let mut n = 0;
            while n < 16 && over(s, 1) && evict_one(s) {
                n += 1;
            }
            n
        })
        .await
        .into_iter()
        .sum();
        if evicted == 0 || !with_shard(|s| over(s, 1)) {
            break;
        }
    }
}

/// Make room before a denyoom command. False: still over the limit (OOM error). Must
/// not yield: it evicts this shard's keys. The coordinator made room on every shard
/// before the command was sent (`evict_everywhere`); memory may have grown since (other
/// connections' writes), so with nothing left here the others are asked again and a
/// bounded overshoot is allowed meanwhile.
pub fn make_room(shard: &mut Shard) -> bool {
    if shard.tun.maxmemory == 0 {
        return true;
    }
    if evict_here(shard) {
        return true;
    }
    if shard.cfg.maxmemory_policy() == "noeviction" {
        return false;
    }
    ask_others_to_evict(shard);
    let max = shard.tun.maxmemory as usize;
    crate::alloc::used_memory_of(shard.nshards) <= max + max / 8
}

/// Whether a denyoom command batched behind another can run here now without needing
/// the other shards to evict first: its coordinator did not make room everywhere for
/// it, so when this is false it goes back to the coordinator's queue. Always true
/// under noeviction, whose OOM does not depend on other shards.
pub fn room_here(shard: &mut Shard) -> bool {
    shard.tun.maxmemory == 0 || shard.cfg.maxmemory_policy() == "noeviction" || evict_here(shard)
}

/// Evict this shard's keys while the process is over the limit. False: still over.
fn evict_here(shard: &mut Shard) -> bool {
    let mut guard = 0;
    while over_limit(shard) {
        if guard > 10_000 || shard.cfg.maxmemory_policy() == "noeviction" || !evict_one(shard) {
            return false;
        }
        guard += 1;
    }
    true
}

thread_local! {
    /// When this shard last asked the others to evict (at most once a millisecond).
    static ASKED: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// Have every other shard shed keys until the process is a little under maxmemory.
fn ask_others_to_evict(shard: &Shard) {
    let now = std::time::Instant::now();
    if ASKED
        .with(|a| a.get())
        .is_some_and(|t| now.duration_since(t) < std::time::Duration::from_millis(1))
    {
        return;
    }
    ASKED.with(|a| a.set(Some(now)));
    for i in (0..shard.nshards).filter(|&i| i != shard.id) {
        super::mesh::post(
            i,
            Box::new(|| {
                with_shard(|s| {
                    let mut n = 0;
                    while n < 256 && over(s, 1) && evict_one(s) {
                        n += 1;
                    }
                })
            }),
        );
    }
}

/// Evict the best of `maxmemory-samples` candidates under the policy; false if none.
/// Volatile policies draw their candidates only from keys with a TTL.
fn evict_one(shard: &mut Shard) -> bool {
    let policy = shard.cfg.maxmemory_policy().to_string();
    let samples = shard.cfg.get_i64("maxmemory-samples").max(1) as usize;
    let volatile = policy.starts_with("volatile");
    let decay = shard.tun.lfu_decay_time;
    let score = |e: &super::Entry| -> u64 {
        match policy.as_str() {
            "allkeys-lru" | "volatile-lru" => super::access::idle_secs(e.access),
            "allkeys-lfu" | "volatile-lfu" => {
                255 - super::access::lfu_decayed(e.access, decay) as u64
            }
            "volatile-ttl" => u64::MAX - e.expire_at,
            _ => 0, // random policies: the first candidate wins
        }
    };
    let mut best: Option<(usize, Bytes, u64)> = None; // (db, key, score: higher evicts first)
    let Shard { dbs, rng, .. } = &mut *shard;
    for (db, d) in dbs.iter().enumerate() {
        if d.is_empty() || (volatile && d.expires == 0) {
            continue;
        }
        if volatile {
            // Walk whole segments from a random one until enough keys with a TTL are
            // seen: sampling the keyspace blindly could miss them all.
            let segs = d.dict.segments();
            let start = rng.gen_range(0..segs);
            let mut found = 0;
            for i in 0..segs {
                for (k, e) in d.dict.seg_iter((start + i) % segs) {
                    if e.expire_at == 0 {
                        continue;
                    }
                    let sc = score(e);
                    if best.as_ref().is_none_or(|b| sc > b.2) {
                        best = Some((db, k.to_bytes(), sc));
                    }
                    found += 1;
                    if found >= samples {
                        break;
                    }
                }
                if found >= samples {
                    break;
                }
            }
        } else {
            for _ in 0..samples {
                let Some((k, e)) = d.dict.random(rng) else {
                    break;
                };
                let sc = score(e);
                if best.as_ref().is_none_or(|b| sc > b.2) {
                    best = Some((db, k.to_bytes(), sc));
                }
            }
        }
    }
    let Some((db, key, _)) = best else {
        return false;
    };
    if shard.dbs[db].remove(&key).is_some() {
        shard.stats.evicted_keys += 1;
        shard.touch_key(db as u16, &key);
        crate::pubsub::notify::shard_event(
            shard,
            crate::pubsub::notify::class::EVICTED,
            "evicted",
            db as u16,
            &key,
        );
        shard.record_effect(db as u16, &[Bytes::from_static(b"DEL"), key]);
    }
    true
}

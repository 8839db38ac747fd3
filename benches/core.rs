//! Micro-benchmarks of the core data paths: slot hashing, the keyspace dictionary and
//! sorted-set rank lookups.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tessera::shard::cbytes::CBytes;
use tessera::shard::dict::Dict;
use tessera::slot::{key_slot, shard_of_key};
use tessera::types::zset::{Limits, ZSet};

fn slots(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect();
    c.bench_function("key_slot 1000 keys", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| key_slot(black_box(k)) as u64)
                .sum::<u64>()
        })
    });
    c.bench_function("key_slot hash tag", |b| {
        b.iter(|| key_slot(black_box(b"{user1000}.following")))
    });
    c.bench_function("shard_of_key 1000 keys / 4 shards", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| shard_of_key(black_box(k), 4))
                .sum::<usize>()
        })
    });
}

fn dict(c: &mut Criterion) {
    let n = 100_000;
    let keys: Vec<Bytes> = (0..n).map(|i| Bytes::from(format!("key:{i}"))).collect();
    c.bench_function("dict insert 100k", |b| {
        b.iter(|| {
            let mut d: Dict<u64> = Dict::new();
            for (i, k) in keys.iter().enumerate() {
                d.insert(CBytes::from_bytes(k), i as u64);
            }
            d.len()
        })
    });
    let mut d: Dict<u64> = Dict::new();
    for (i, k) in keys.iter().enumerate() {
        d.insert(CBytes::from_bytes(k), i as u64);
    }
    c.bench_function("dict get 100k hits", |b| {
        b.iter(|| {
            keys.iter()
                .filter(|k| d.get(black_box(k)).is_some())
                .count()
        })
    });
    c.bench_function("dict scan full", |b| {
        b.iter(|| {
            let mut cursor = 0;
            let mut seen = 0usize;
            loop {
                cursor = d.scan(cursor, 100, |_, _| seen += 1);
                if cursor == 0 {
                    break seen;
                }
            }
        })
    });
}

/// ZRANK and rank -> entry (ZRANGE start, ZRANDMEMBER) on skiplist-encoded sets of
/// growing size: both should grow with log n, not n.
fn zset_rank(c: &mut Criterion) {
    let mut group = c.benchmark_group("zset");
    group.measurement_time(std::time::Duration::from_secs(3));
    for n in [1_000usize, 100_000, 1_000_000] {
        let mut rng = SmallRng::seed_from_u64(7);
        let pairs: Vec<(Bytes, f64)> = (0..n)
            .map(|i| {
                let s = rng.gen_range(0..n as i64) as f64;
                (Bytes::from(format!("member:{i}")), s)
            })
            .collect();
        let probes: Vec<Bytes> = (0..1024)
            .map(|_| pairs[rng.gen_range(0..n)].0.clone())
            .collect();
        let ranks: Vec<usize> = (0..1024).map(|_| rng.gen_range(0..n)).collect();
        let z = ZSet::from_pairs(pairs, &Limits::default());
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("rank", n), &z, |b, z| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                z.rank(black_box(&probes[i]))
            })
        });
        group.bench_with_input(BenchmarkId::new("nth", n), &z, |b, z| {
            b.iter(|| {
                i = (i + 1) % ranks.len();
                z.nth(black_box(ranks[i]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, slots, dict, zset_rank);
criterion_main!(benches);

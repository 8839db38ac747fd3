//! Micro-benchmarks of the core data paths: slot hashing and the keyspace dictionary.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tessera::shard::cbytes::CBytes;
use tessera::shard::dict::Dict;
use tessera::slot::{key_slot, shard_of_key};

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

criterion_group!(benches, slots, dict);
criterion_main!(benches);

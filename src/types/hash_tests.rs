//! Hash representation tests: both encodings against a `BTreeMap` model.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::*;

const SMALL: Limits = Limits {
    entries: 4,
    value: 8,
};

#[test]
fn varint_lengths_round_trip() {
    let lim = Limits {
        entries: 128,
        value: 100_000,
    };
    let mut h = Hash::new();
    for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
        let f = format!("f{n}");
        h.set(f.as_bytes(), &vec![b'x'; n], lim);
    }
    assert_eq!(h.encoding(), "listpack");
    for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
        assert_eq!(h.get(format!("f{n}").as_bytes()).map(<[u8]>::len), Some(n));
    }
    // Replacing a value with one of another length keeps its neighbours intact.
    h.set(b"f128", b"short", lim);
    assert_eq!(h.get(b"f128"), Some(&b"short"[..]));
    assert_eq!(h.get(b"f300").map(<[u8]>::len), Some(300));
    assert_eq!(h.iter().count(), 8);
}

#[test]
fn converts_on_entries_and_length_and_never_back() {
    let mut h = Hash::new();
    for i in 0..4 {
        assert!(h.set(format!("f{i}").as_bytes(), b"v", SMALL));
    }
    assert_eq!(h.encoding(), "listpack");
    assert!(h.set(b"f4", b"v", SMALL));
    assert_eq!(h.encoding(), "hashtable");
    for i in 0..5 {
        assert!(h.remove(format!("f{i}").as_bytes()));
    }
    assert!(h.is_empty());
    assert_eq!(h.encoding(), "hashtable");

    let mut h = Hash::new();
    h.set(b"a", b"12345678", SMALL);
    assert_eq!(h.encoding(), "listpack");
    h.set(b"a", b"123456789", SMALL);
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.get(b"a"), Some(&b"123456789"[..]));
}

#[test]
fn clone_and_eq_ignore_encoding() {
    let mut a = Hash::new();
    let mut b = Hash::new();
    for i in 0..6 {
        a.set(format!("f{i}").as_bytes(), b"v", SMALL);
        b.set(
            format!("f{}", 5 - i).as_bytes(),
            b"v",
            Limits {
                entries: 128,
                value: 64,
            },
        );
    }
    assert_eq!(a.encoding(), "hashtable");
    assert_eq!(b.encoding(), "listpack");
    assert_eq!(a, b);
    assert_eq!(a.clone(), a);
    assert_eq!(a.clone().encoding(), "hashtable");
    b.set(b"f0", b"other", SMALL);
    assert_ne!(a, b);
}

#[test]
fn scan_of_a_big_table_sees_every_field() {
    let lim = Limits {
        entries: 128,
        value: 64,
    };
    let mut h = Hash::new();
    for i in 0..5000 {
        h.set(format!("f{i}").as_bytes(), b"v", lim);
    }
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut steps = 0;
    loop {
        cursor = h.scan(cursor, 10, |f, _| {
            seen.insert(f.to_vec());
        });
        steps += 1;
        if cursor == 0 {
            break;
        }
    }
    assert!(steps > 1);
    assert_eq!(seen.len(), 5000);
}

#[test]
fn random_covers_both_encodings() {
    let mut rng = SmallRng::seed_from_u64(7);
    for n in [3usize, 200] {
        let mut h = Hash::new();
        for i in 0..n {
            h.set(
                format!("f{i}").as_bytes(),
                b"v",
                Limits {
                    entries: 128,
                    value: 64,
                },
            );
        }
        let mut seen = HashSet::new();
        for _ in 0..n * 50 {
            let (f, v) = h.random(&mut rng).expect("non-empty");
            assert_eq!(v, b"v");
            seen.insert(f.to_vec());
        }
        assert_eq!(seen.len(), n);
    }
    assert!(Hash::new().random(&mut rng).is_none());
}

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    Remove(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..8, proptest::collection::vec(any::<u8>(), 0..11)).prop_map(|(f, v)| Op::Set(f, v)),
        2 => (0u8..8).prop_map(Op::Remove),
    ]
}

/// Field names, one of them longer than SMALL.value.
fn field(i: u8) -> Vec<u8> {
    if i == 7 {
        b"a-long-field".to_vec()
    } else {
        vec![b'f', i]
    }
}

proptest! {
    #[test]
    fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..60)) {
        let mut h = Hash::new();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut converted = false;
        for op in ops {
            match op {
                Op::Set(f, v) => {
                    let f = field(f);
                    converted |= f.len() > SMALL.value || v.len() > SMALL.value;
                    let new = model.insert(f.clone(), v.clone()).is_none();
                    converted |= model.len() > SMALL.entries;
                    prop_assert_eq!(h.set(&f, &v, SMALL), new);
                }
                Op::Remove(f) => {
                    let f = field(f);
                    prop_assert_eq!(h.remove(&f), model.remove(&f).is_some());
                }
            }
            prop_assert_eq!(h.len(), model.len());
            prop_assert_eq!(h.encoding(), if converted { "hashtable" } else { "listpack" });
            let got: BTreeMap<Vec<u8>, Vec<u8>> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            prop_assert_eq!(&got, &model);
            for i in 0..8 {
                let f = field(i);
                prop_assert_eq!(h.get(&f), model.get(&f).map(Vec::as_slice));
            }
            let mut scanned = BTreeMap::new();
            let mut cursor = 0;
            loop {
                cursor = h.scan(cursor, 1, |f, v| {
                    scanned.insert(f.to_vec(), v.to_vec());
                });
                if cursor == 0 {
                    break;
                }
            }
            prop_assert_eq!(&scanned, &model);
        }
    }
}

#[test]
fn hash_header_is_small() {
    // Box<Hash> is allocated per key: keep it within one 32-byte size class.
    assert!(
        std::mem::size_of::<Hash>() <= 32,
        "{}",
        std::mem::size_of::<Hash>()
    );
}

#[test]
fn reserve_is_exact_for_new_fields() {
    let lim = Limits {
        entries: 128,
        value: 1000,
    };
    let args: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![b'x'; 200], b"bb".to_vec(), b"".to_vec()];
    let mut h = Hash::new();
    h.reserve(&args);
    for fv in args.chunks_exact(2) {
        h.set(&fv[0], &fv[1], lim);
    }
    let Hash::Listpack(lp) = &h else {
        panic!("listpack expected")
    };
    assert_eq!(lp.buf.len(), 1 + 1 + 2 + 200 + 1 + 2 + 1);
    assert_eq!(lp.buf.capacity(), lp.buf.len());
    for n in [0usize, 127, 128, 16_383, 16_384] {
        let mut v = Vec::new();
        varint::put(&mut v, n);
        assert_eq!(v.len(), varint::len(n));
    }
}

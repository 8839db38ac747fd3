//! Unit and model tests for the sorted-set representation: random operation sequences
//! against a plain sorted `Vec`, with small thresholds so the conversion is crossed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

const LIM: Limits = Limits {
    entries: 8,
    value: 12,
};

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, f64),
    Remove(Vec<u8>),
    Pop(bool, usize),
    RemoveRanks(usize, usize),
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-f]{0,3}".prop_map(|s| s.into_bytes()),
        "[x]{10,14}".prop_map(|s| s.into_bytes()),
        (0u8..=255).prop_map(|b| vec![b, 0]),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-5i64..5).prop_map(|v| v as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e308),
        Just(-2.5),
        Just(9.0e15),
        Just(-(2f64.powi(53))),
        any::<f64>().prop_filter("no NaN", |v| !v.is_nan()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (member(), score()).prop_map(|(m, s)| Op::Insert(m, s)),
        2 => member().prop_map(Op::Remove),
        1 => (any::<bool>(), 0usize..4).prop_map(|(m, c)| Op::Pop(m, c)),
        1 => (0usize..6, 0usize..6).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
    ]
}

/// The model's entries in (score, member) order.
fn sorted(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    v
}

fn same_score(a: f64, b: f64) -> bool {
    a == b && a.is_sign_negative() == b.is_sign_negative()
}

fn check(z: &ZSet, model: &BTreeMap<Vec<u8>, f64>, big: bool) {
    let want = sorted(model);
    assert_eq!(z.len(), want.len());
    let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!(same_score(g.1, w.1), "{} vs {}", g.1, w.1);
    }
    for (i, (m, s)) in want.iter().enumerate() {
        assert!(same_score(z.score(m).unwrap(), *s));
        assert_eq!(z.rank(m), Some(i));
    }
    assert_eq!(z.encoding(), if big { "skiplist" } else { "listpack" });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn zset_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut z = ZSet::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut big = false;
        for op in ops {
            match op {
                Op::Insert(m, s) => {
                    let new = !model.contains_key(&m);
                    if new && (model.len() + 1 > LIM.entries || m.len() > LIM.value) {
                        big = true;
                    }
                    // An equal score (0 vs -0) leaves the stored one, as in Redis.
                    if model.get(&m).is_none_or(|old| *old != s) {
                        model.insert(m.clone(), s);
                    }
                    prop_assert_eq!(z.insert(&m, s, &LIM), new);
                }
                Op::Remove(m) => prop_assert_eq!(z.remove(&m), model.remove(&m).is_some()),
                Op::Pop(max, count) => {
                    let mut want = sorted(&model);
                    if max {
                        want.reverse();
                    }
                    want.truncate(count);
                    let got = z.pop(max, count);
                    prop_assert_eq!(got.len(), want.len());
                    for (g, w) in got.iter().zip(&want) {
                        prop_assert_eq!(&g.0[..], &w.0[..]);
                        model.remove(&w.0);
                    }
                    if model.is_empty() {
                        big = false;
                    }
                }
                Op::RemoveRanks(a, b) => {
                    let want = sorted(&model);
                    let hi = b.min(want.len());
                    let n = z.remove_ranks(a, b);
                    prop_assert_eq!(n, hi.saturating_sub(a));
                    for (m, _) in want.iter().take(hi).skip(a) {
                        model.remove(m);
                    }
                }
            }
            check(&z, &model, big);
        }
        let c = z.clone();
        prop_assert!(c == z);
        prop_assert_eq!(c.encoding(), z.encoding());
    }

    #[test]
    fn ranges_match_model(
        entries in proptest::collection::btree_map(member(), -4i64..4, 0..20),
        min in -5i64..5, max in -5i64..5, min_excl in any::<bool>(), max_excl in any::<bool>(),
    ) {
        let mut z = ZSet::new();
        for (m, s) in &entries {
            z.insert(m, *s as f64, &LIM);
        }
        let model: BTreeMap<Vec<u8>, f64> = entries.iter().map(|(m, s)| (m.clone(), *s as f64)).collect();
        let want = sorted(&model);
        let r = ScoreRange { min: min as f64, max: max as f64, min_excl, max_excl };
        let inside = |s: f64| {
            (if min_excl { s > r.min } else { s >= r.min }) && (if max_excl { s < r.max } else { s <= r.max })
        };
        let expect: Vec<&Vec<u8>> = want.iter().filter(|e| inside(e.1)).map(|e| &e.0).collect();
        let (a, b) = z.score_ranks(&r);
        let got = z.range(a, b);
        prop_assert_eq!(got.iter().map(|e| e.0.to_vec()).collect::<Vec<_>>(), expect.into_iter().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn lex_ranges_match_model(
        members in proptest::collection::btree_set("[a-e]{0,3}", 0..30),
        lo in "[a-e]{0,2}", hi in "[a-e]{0,2}", lo_kind in 0u8..4, hi_kind in 0u8..4,
    ) {
        let mut z = ZSet::new();
        for m in &members {
            z.insert(m.as_bytes(), 0.0, &LIM);
        }
        let bound = |k: u8, v: &str| match k {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 => LexBound::Incl(Bytes::copy_from_slice(v.as_bytes())),
            _ => LexBound::Excl(Bytes::copy_from_slice(v.as_bytes())),
        };
        let r = LexRange { min: bound(lo_kind, &lo), max: bound(hi_kind, &hi) };
        let above_min = |m: &str| match &r.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(x) => m.as_bytes() >= &x[..],
            LexBound::Excl(x) => m.as_bytes() > &x[..],
        };
        let below_max = |m: &str| match &r.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m.as_bytes() <= &x[..],
            LexBound::Excl(x) => m.as_bytes() < &x[..],
        };
        let expect: Vec<Vec<u8>> = members.iter().filter(|m| above_min(m) && below_max(m)).map(|m| m.as_bytes().to_vec()).collect();
        let (a, b) = z.lex_ranks(&r);
        prop_assert_eq!(z.range(a, b).iter().map(|e| e.0.to_vec()).collect::<Vec<_>>(), expect);
    }
}

/// Many members: chunk splits and merges in the skiplist encoding, against the model.
#[test]
fn big_random_ops_match_model() {
    let mut rng = SmallRng::seed_from_u64(11);
    let mut z = ZSet::new();
    let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    let lim = Limits::default();
    for round in 0..20_000 {
        let m = format!("m{}", rng.gen_range(0..1500)).into_bytes();
        if rng.gen_range(0..3) == 0 {
            assert_eq!(z.remove(&m), model.remove(&m).is_some());
        } else {
            let s = rng.gen_range(-50..50) as f64 / 4.0;
            assert_eq!(z.insert(&m, s, &lim), model.insert(m.clone(), s).is_none());
        }
        if round % 997 == 0 {
            check(&z, &model, z.encoding() == "skiplist");
        }
    }
    check(&z, &model, true);
    let want = sorted(&model);
    let n = want.len();
    let got = z.range(n / 3, n / 3 + 100);
    for (g, w) in got.iter().zip(&want[n / 3..]) {
        assert_eq!(&g.0[..], &w.0[..]);
    }
    let from = ZSet::from_pairs(z.to_vec(), &lim);
    assert!(from == z);
    let small = ZSet::from_pairs(z.range(0, 128), &lim);
    assert_eq!(small.encoding(), "listpack");
    let small = ZSet::from_pairs(z.range(0, 129), &lim);
    assert_eq!(small.encoding(), "skiplist");
}

#[test]
fn conversion_thresholds() {
    let lim = Limits::default();
    let mut z = ZSet::new();
    for i in 0..128 {
        z.insert(format!("{i}").as_bytes(), i as f64, &lim);
    }
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"0", 5.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"new", 5.0, &lim);
    assert_eq!(z.encoding(), "skiplist");
    let mut z = ZSet::new();
    z.insert(&[b'a'; 64], 1.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(&[b'a'; 65], 1.0, &lim);
    assert_eq!(z.encoding(), "skiplist");
    assert_eq!(ZSet::new_for(65, &lim).encoding(), "skiplist");
    assert_eq!(ZSet::new_for(1, &Limits::new(0, 64)).encoding(), "skiplist");
}

#[test]
fn scores_round_trip() {
    let lim = Limits::default();
    let mut z = ZSet::new();
    let vals = [
        0.0,
        -0.0,
        1.5,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e308,
        -1e308,
        5e-324,
        8_999_999_999_999_999.0,
        9.0e15,
        4_503_599_627_370_497.0,
        -123456789.0,
    ];
    for (i, v) in vals.iter().enumerate() {
        z.insert(format!("m{i}").as_bytes(), *v, &lim);
    }
    for (i, v) in vals.iter().enumerate() {
        let got = z.score(format!("m{i}").as_bytes()).unwrap();
        assert!(same_score(got, *v), "{v} -> {got}");
    }
}
